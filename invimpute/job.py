"""Streaming imputation of files larger than memory, resumable after a crash.

:func:`impute_file` reads a CSV, Parquet or ``.npy`` file in chunks of rows, fills each chunk with a
fitted :class:`~invimpute.Imputer` and writes it to a part file in a work directory
``<output>.partial/``, next to a small progress record. Running the same command again after an
interruption skips the finished chunks, provided the input file (size and modification time), the chunk
size and the model are unchanged; otherwise it starts over. When every chunk is done the parts are
joined into ``<output>.tmp``, which is then renamed to the output name, so a file under that name is
always complete. Each chunk is checked before it is written (observed cells unchanged, nothing left
missing) and the row total is checked before the rename. Memory use is bounded by the chunk size.

The Imputer's imputation key is the same for every chunk, so a chunk's fills depend only on its rows and
its position inside the chunk: a resumed job reproduces an uninterrupted one byte for byte.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pathlib
import shutil
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from invimpute import checkpoint
from invimpute.encoding import ColumnSpec, Schema
from invimpute.imputer import Imputer
from invimpute.files import write_synced

LOG = logging.getLogger("invimpute.job")

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}
TABLE_FORMATS = ("csv", "parquet")
PROGRESS = "progress.json"
JOB_FORMAT = "invimpute-job"
JOB_VERSION = 1

PathLike = str | os.PathLike


class JobError(RuntimeError):
    """A job that cannot finish correctly: a check on the imputed rows failed, or another job holds the output."""


@dataclass(frozen=True)
class JobSummary:
    """What a finished job did: rows written, cells filled, wall time, and how many chunks were reused."""

    rows: int
    cells_imputed: int
    seconds: float
    chunks: int = 0
    chunks_resumed: int = 0
    output: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def file_format(path: PathLike) -> str:
    """``"csv"``, ``"parquet"`` or ``"npy"`` from the file name's extension."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unsupported file type {suffix or '(no extension)'!r}; use one of {sorted(FORMATS)}")
    return FORMATS[suffix]


# ---- readers -----------------------------------------------------------------------------------------
def _require_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError("Parquet files need pyarrow: pip install 'invimpute[io]'") from exc
    return pq


def _check_csv_tail(path: pathlib.Path, n_columns: int) -> None:
    """Reject a CSV whose last line was cut off: no line ending and fewer fields than the header."""
    import csv

    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 65536))
        tail = f.read()
    if not tail or tail.endswith(b"\n"):
        return
    last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
    fields = next(csv.reader([last]), [])
    if len(fields) < n_columns:
        raise ValueError(
            f"{path} looks truncated: its last line has {len(fields)} of {n_columns} fields and no line "
            f"ending; restore the complete file"
        )


class _Source(ABC):
    """One input file read in chunks of ``chunk_rows`` rows; ``n_rows`` is None when unknown up front."""

    fmt: str
    n_rows: int | None
    columns: list
    shape: tuple[int, ...] | None = None
    dtype: np.dtype | None = None

    def __init__(self, path: pathlib.Path, chunk_rows: int) -> None:
        self.path = path
        self.chunk_rows = chunk_rows

    @abstractmethod
    def chunks(self) -> Iterator:
        """The file's rows, ``chunk_rows`` at a time, as DataFrames (tables) or arrays (``.npy``)."""


class _CsvSource(_Source):
    """A CSV file; ``text_columns`` are read as text so that per-chunk type guessing cannot turn labels
    such as ``"00123"`` into numbers in one chunk and leave them text in another."""

    fmt = "csv"

    def __init__(self, path: pathlib.Path, chunk_rows: int) -> None:
        super().__init__(path, chunk_rows)
        self.text_columns: list = []
        try:
            self.columns = list(pd.read_csv(path, nrows=0).columns)
        except pd.errors.EmptyDataError as exc:
            raise ValueError(f"{path}: the CSV file is empty") from exc
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the CSV header ({exc})") from exc
        _check_csv_tail(path, len(self.columns))
        self.n_rows = None

    def chunks(self) -> Iterator[pd.DataFrame]:
        done = 0
        try:
            dtype = {name: str for name in self.text_columns} or None
            with pd.read_csv(self.path, chunksize=self.chunk_rows, dtype=dtype) as reader:
                for chunk in reader:
                    done += len(chunk)
                    yield chunk
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise ValueError(f"{self.path}: the CSV file is corrupt after row {done} ({exc})") from exc


def _data_columns(schema) -> list[str]:
    meta = schema.pandas_metadata or {}
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    return [n for n in schema.names if n not in index]


class _ParquetSource(_Source):
    fmt = "parquet"

    def __init__(self, path: pathlib.Path, chunk_rows: int) -> None:
        super().__init__(path, chunk_rows)
        pq = _require_pyarrow()
        try:
            self._file = pq.ParquetFile(path)
        except (ValueError, OSError) as exc:
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc
        self.columns = _data_columns(self._file.schema_arrow)
        self.n_rows = self._file.metadata.num_rows

    def chunks(self) -> Iterator[pd.DataFrame]:
        import pyarrow as pa

        pending: list = []
        held = 0
        done = 0
        try:
            for batch in self._file.iter_batches(batch_size=self.chunk_rows, columns=self.columns):
                pending.append(batch)
                held += batch.num_rows
                while held >= self.chunk_rows:
                    table = pa.Table.from_batches(pending)
                    yield table.slice(0, self.chunk_rows).to_pandas()
                    done += self.chunk_rows
                    rest = table.slice(self.chunk_rows)
                    pending, held = rest.to_batches(), rest.num_rows
            if held:
                yield pa.Table.from_batches(pending).to_pandas()
        except (ValueError, OSError) as exc:
            raise ValueError(f"{self.path}: the Parquet file is corrupt after row {done} ({exc})") from exc


class _NpySource(_Source):
    fmt = "npy"

    def __init__(self, path: pathlib.Path, chunk_rows: int) -> None:
        super().__init__(path, chunk_rows)
        try:
            self._array = np.load(path, mmap_mode="r")
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a readable .npy file, or a truncated one ({exc})") from exc
        if not isinstance(self._array, np.ndarray) or self._array.ndim not in (2, 3):
            raise ValueError(f"{path}: expected a 2-D table (n, d) or an image stack (n, h, w), got shape {np.shape(self._array)}")
        self.shape = tuple(self._array.shape)
        self.dtype = self._array.dtype
        self.n_rows = self.shape[0]
        self.columns = list(range(self.shape[1])) if self._array.ndim == 2 else []

    def chunks(self) -> Iterator[np.ndarray]:
        for s in range(0, self.n_rows, self.chunk_rows):
            yield np.array(self._array[s:s + self.chunk_rows])


def _open_source(path: pathlib.Path, chunk_rows: int) -> _Source:
    fmt = file_format(path)
    return {"csv": _CsvSource, "parquet": _ParquetSource, "npy": _NpySource}[fmt](path, chunk_rows)


def read_table(path: PathLike) -> pd.DataFrame | np.ndarray:
    """A whole CSV, Parquet or ``.npy`` file, parsed the way :func:`impute_file` parses its chunks."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    source = _open_source(path, 1)
    if isinstance(source, _NpySource):
        data = np.array(source._array)
    elif isinstance(source, _ParquetSource):
        try:
            data = source._file.read(columns=source.columns).to_pandas()
        except (ValueError, OSError) as exc:
            raise ValueError(f"{path}: the Parquet file is corrupt ({exc})") from exc
    else:
        try:
            data = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: the CSV file is corrupt ({exc})") from exc
    if len(data) == 0:
        raise ValueError(f"{path}: the table has no rows")
    return data


# ---- checks ------------------------------------------------------------------------------------------
def _check_compatible(source: _Source, imputer: Imputer, out_fmt: str, output: pathlib.Path) -> None:
    """Raise before any output is written when the input or output cannot go with this model."""
    schema = imputer.encoder_.schema
    if imputer.image_shape_ is not None:
        shape = tuple(imputer.image_shape_)
        if source.fmt != "npy" or len(source.shape or ()) != 3 or source.shape[1:] != shape:
            got = f"shape {source.shape}" if source.fmt == "npy" else f"a {source.fmt.upper()} table"
            raise ValueError(f"{source.path}: the model was fitted on images of shape {shape}; give a .npy image stack (n, {shape[0]}, {shape[1]}), got {got}")
    elif source.fmt == "npy":
        if len(source.shape) != 2 or schema.names != source.columns:
            raise ValueError(
                f"{source.path}: shape {source.shape} does not fit the model, which was fitted on "
                + (f"a table of {len(schema.names)} columns from an array; give an (n, {len(schema.names)}) array"
                   if schema.names == list(range(len(schema.names))) else f"a table with columns {schema.names}; give a CSV or Parquet file")
            )
    elif source.columns != schema.names:
        missing = [c for c in schema.names if c not in source.columns]
        extra = [c for c in source.columns if c not in schema.names]
        hint = "same names, different order" if not (missing or extra) else f"missing {missing}, unexpected {extra}"
        raise ValueError(f"{source.path}: columns differ from the model's ({hint}); expected {schema.names}")
    if (source.fmt == "npy") != (out_fmt == "npy"):
        raise ValueError(f"{output}: a .npy input needs a .npy output and a table input a .csv or .parquet output")
    if source.dtype is not None and imputer.image_shape_ is not None and source.dtype.kind != "f":
        raise ValueError(f"{source.path}: image arrays must be floats in [0, 1], got dtype {source.dtype}")


def _numpy_dtype(name: str) -> np.dtype | None:
    try:
        dt = np.dtype(name)
    except TypeError:
        return None
    return dt if dt.kind in "iuf" else None


def _canonical(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    """A filled column in one dtype fixed by the schema, so every chunk writes it the same way."""
    if spec.kind == "boolean":
        return s.astype(bool)
    if spec.kind == "numeric":
        v = pd.to_numeric(s)
        dt = _numpy_dtype(spec.dtype)
        if dt is not None and dt.kind in "iu":
            if v.dtype.kind in "iu":
                return v.astype(dt)
            arr = v.to_numpy(dtype=np.float64)
            if np.all(np.isfinite(arr)) and np.all(arr == np.rint(arr)):
                return v.astype(dt)
            return v.astype(np.float64)
        return v.astype(dt if dt is not None and dt.kind == "f" else np.float64)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s
    cats = spec.categories
    if cats and all(isinstance(c, str) for c in cats):
        return s.astype(str)
    if cats and all(isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, (bool, np.bool_)) for c in cats):
        v = pd.to_numeric(s)
        if all(isinstance(c, (int, np.integer)) for c in cats) and v.dtype.kind == "f" and np.all(v == np.rint(v)):
            return v.astype(np.int64)
        return v
    return s.astype(object)


def _finish_frame(chunk: pd.DataFrame, out: pd.DataFrame, observed: np.ndarray, schema: Schema, where: str) -> pd.DataFrame:
    """``out`` in canonical dtypes, after checking rows, observed cells and that nothing is missing."""
    if len(out) != len(chunk) or list(out.columns) != list(chunk.columns):
        raise JobError(f"{where}: the imputed chunk has {len(out)} rows and columns {list(out.columns)}, expected {len(chunk)} and {list(chunk.columns)}")
    cols = {}
    for j, spec in enumerate(schema.columns):
        s = _canonical(out[spec.name], spec)
        if s.isna().any():
            raise JobError(f"{where}: column {spec.name!r} still has missing cells after imputation")
        o = observed[:, j]
        before = chunk[spec.name].to_numpy()[o]
        after = s.to_numpy()[o]
        if s.dtype.kind in "iuf":
            before = pd.to_numeric(pd.Series(before)).to_numpy()
            same = before == after
        else:
            same = before.astype(object) == after.astype(object)
        if not np.all(same):
            raise JobError(f"{where}: {int((~np.asarray(same)).sum())} observed cells of column {spec.name!r} changed during imputation")
        cols[spec.name] = s
    return pd.DataFrame(cols, index=out.index)


def _finish_array(chunk: np.ndarray, out: np.ndarray, observed: np.ndarray, dtype: np.dtype, where: str) -> np.ndarray:
    """``out`` cast to the output dtype, after checking its shape, observed cells and that nothing is missing."""
    out = np.asarray(out).astype(dtype, copy=False)
    if out.shape != chunk.shape:
        raise JobError(f"{where}: the imputed chunk has shape {out.shape}, expected {chunk.shape}")
    if out.dtype.kind in "fc" and not np.all(np.isfinite(out)):
        raise JobError(f"{where}: cells are still missing after imputation")
    if not np.array_equal(out[observed], chunk[observed].astype(dtype)):
        raise JobError(f"{where}: observed cells changed during imputation")
    return out


# ---- parts and progress ------------------------------------------------------------------------------
def _part_name(index: int, fmt: str) -> str:
    return f"part-{index:06d}.{fmt}"


def _write_part(work: pathlib.Path, index: int, fmt: str, data) -> int:
    """Write one finished chunk atomically; return the part file's size in bytes."""
    final = work / _part_name(index, fmt)
    tmp = work / (final.name + ".tmp")
    if fmt == "csv":
        buf = io.StringIO()
        data.to_csv(buf, index=False, header=False, lineterminator="\n")
        write_synced(tmp, buf.getvalue().encode("utf-8"))
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), sink)
        write_synced(tmp, sink.getvalue().to_pybytes())
    else:
        buf = io.BytesIO()
        np.save(buf, data, allow_pickle=False)
        write_synced(tmp, buf.getvalue())
    os.replace(tmp, final)
    return final.stat().st_size


def _save_progress(work: pathlib.Path, identity: dict, parts: dict[int, dict]) -> None:
    record = {"format": JOB_FORMAT, "version": JOB_VERSION, "identity": identity,
              "parts": {str(i): parts[i] for i in sorted(parts)}}
    tmp = work / (PROGRESS + ".tmp")
    write_synced(tmp, json.dumps(record, indent=1).encode())
    os.replace(tmp, work / PROGRESS)


def _clear(work: pathlib.Path) -> None:
    for entry in work.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _resume(work: pathlib.Path, identity: dict, fmt: str) -> dict[int, dict]:
    """The finished parts recorded in ``work`` for this exact job; anything else is cleared."""
    path = work / PROGRESS
    if not path.exists():
        _clear(work)
        return {}
    try:
        record = json.loads(path.read_text())
        same = (record.get("format") == JOB_FORMAT and record.get("version") == JOB_VERSION
                and record.get("identity") == identity and identity["model"] is not None)
        parts = {int(k): v for k, v in record.get("parts", {}).items()} if same else {}
    except (ValueError, AttributeError, TypeError):
        same, parts = False, {}
    if not same:
        LOG.warning("%s: the input, chunk size or model changed since the interrupted run (or its record is unreadable); starting over", work)
        _clear(work)
        return {}
    valid = {}
    for i, rec in parts.items():
        f = work / _part_name(i, fmt)
        if f.is_file() and f.stat().st_size == rec.get("bytes"):
            valid[i] = rec
    LOG.info("%s: resuming, %d finished chunks found", work, len(valid))
    return valid


def _assemble(work: pathlib.Path, parts: dict[int, dict], fmt: str, header: bytes, tmp: pathlib.Path) -> int:
    """Join the part files in order into ``tmp`` and return the number of rows written."""
    files = [work / _part_name(i, fmt) for i in sorted(parts)]
    if fmt == "csv":
        with open(tmp, "wb") as out:
            out.write(header)
            for f in files:
                with open(f, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
            out.flush()
            os.fsync(out.fileno())
        return sum(parts[i]["rows"] for i in parts)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(files[0])
        with pq.ParquetWriter(tmp, schema) as writer:
            for f in files:
                table = pq.read_table(f)
                if not table.schema.equals(schema, check_metadata=False):
                    table = table.cast(schema)
                writer.write_table(table)
        return pq.ParquetFile(tmp).metadata.num_rows
    first = np.load(files[0], mmap_mode="r")
    total = sum(parts[i]["rows"] for i in parts)
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=first.dtype, shape=(total, *first.shape[1:]))
    at = 0
    for f in files:
        part = np.load(f, mmap_mode="r")
        out[at:at + part.shape[0]] = part
        at += part.shape[0]
    out.flush()
    rows = out.shape[0]
    del out
    return rows


class _Lock:
    """An exclusive, non-blocking lock on the work directory, so two jobs never write the same parts."""

    def __init__(self, work: pathlib.Path, output: pathlib.Path) -> None:
        self.fd: int | None = None
        try:
            import fcntl
        except ImportError:
            return
        self.fd = os.open(work, os.O_RDONLY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self.fd)
            self.fd = None
            raise JobError(f"another invimpute job is writing {output} (its work directory {work} is locked)") from exc

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# ---- the job -----------------------------------------------------------------------------------------
def _as_imputer(model: Imputer | PathLike) -> Imputer:
    if isinstance(model, Imputer):
        if not hasattr(model, "method_"):
            raise ValueError("the Imputer is not fitted yet: call fit(X) first or pass a saved model directory")
        return model
    return checkpoint.load(model)


def _fingerprint(imputer: Imputer) -> str | None:
    try:
        return checkpoint.fingerprint(imputer)
    except ValueError:
        return None


def impute_file(
    model_dir_or_imputer: Imputer | PathLike,
    input_path: PathLike,
    output_path: PathLike,
    chunk_rows: int = 100_000,
    overwrite: bool = False,
    progress: bool = True,
) -> JobSummary:
    """Fill every missing cell of the file ``input_path`` and write the result to ``output_path``.

    Args:
      model_dir_or_imputer: a fitted Imputer, or a directory written by :func:`invimpute.checkpoint.save`.
      input_path: a ``.csv``, ``.parquet`` or ``.npy`` file (tables (n, d) or images (n, h, w)).
      output_path: ``.csv`` or ``.parquet`` for a table input, ``.npy`` for an array input.
      chunk_rows: rows read, imputed and written at a time; memory grows with it.
      overwrite: replace an existing output (only once the new one is complete).
      progress: show a progress bar with rows per second.

    Raises ValueError for unreadable, truncated or incompatible inputs and FileExistsError for an
    existing output, before anything is written; rerun the same call after an interruption to resume.
    """
    start = time.perf_counter()
    if not isinstance(chunk_rows, (int, np.integer)) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    chunk_rows = int(chunk_rows)
    src_path, output = pathlib.Path(input_path), pathlib.Path(output_path)
    out_fmt = file_format(output)
    if not src_path.is_file():
        raise FileNotFoundError(f"no such input file: {src_path}")
    if output.exists() and output.resolve() == src_path.resolve():
        raise ValueError(f"{output}: the output must not be the input file")
    if output.is_dir():
        raise ValueError(f"{output} is a directory; give a file name for the output")
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} already exists; pass overwrite=True (--overwrite) to replace it")
    imputer = _as_imputer(model_dir_or_imputer)
    source = _open_source(src_path, chunk_rows)
    _check_compatible(source, imputer, out_fmt, output)
    schema = imputer.encoder_.schema
    if isinstance(source, _CsvSource):
        source.text_columns = [c.name for c in schema.columns
                               if c.kind == "categorical" and c.categories and all(isinstance(v, str) for v in c.categories)]
    out_dtype = None
    if source.fmt == "npy":
        out_dtype = source.dtype if source.dtype.kind == "f" else np.dtype(np.float64)
    st = src_path.stat()
    identity = {
        "input": str(src_path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
        "chunk_rows": chunk_rows, "model": _fingerprint(imputer), "output_format": out_fmt,
    }
    work = output.with_name(output.name + ".partial")
    tmp = output.with_name(output.name + ".tmp")
    if work.exists() and not work.is_dir():
        raise FileExistsError(f"{work} exists and is not a work directory; remove it")
    output.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(exist_ok=True)
    lock = _Lock(work, output)
    try:
        return _run(imputer, source, schema, out_fmt, out_dtype, identity, work, tmp, output, progress, start)
    finally:
        lock.release()


def _run(imputer: Imputer, source: _Source, schema: Schema, out_fmt: str, out_dtype: np.dtype | None,
         identity: dict, work: pathlib.Path, tmp: pathlib.Path, output: pathlib.Path, progress: bool,
         start: float) -> JobSummary:
    """Impute the chunks not yet done, check the totals, publish the output and remove the work directory."""
    from tqdm import tqdm

    parts = _resume(work, identity, out_fmt)
    resumed = 0
    rows = cells = 0
    index = -1
    bar = tqdm(total=source.n_rows, unit="rows", unit_scale=True, desc=f"imputing {source.path.name}",
               disable=not progress, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    with bar:
        for index, chunk in enumerate(source.chunks()):
            n = len(chunk)
            where = f"{source.path}, rows {rows}..{rows + n - 1}"
            rows += n
            rec = parts.get(index)
            if rec is not None and rec.get("rows") == n:
                resumed += 1
                cells += rec["cells_imputed"]
                bar.update(n)
                continue
            out, observed = imputer.transform_with_mask(chunk)
            if isinstance(chunk, np.ndarray):
                observed = observed.reshape(chunk.shape)
                data = _finish_array(chunk, out, observed, out_dtype, where)
            else:
                data = _finish_frame(chunk, out, observed, schema, where)
            n_missing = int((~observed).sum())
            size = _write_part(work, index, out_fmt, data)
            parts[index] = {"rows": n, "cells_imputed": n_missing, "bytes": size}
            _save_progress(work, identity, parts)
            cells += n_missing
            bar.update(n)
            bar.set_postfix(cells=cells, refresh=False)
    n_chunks = index + 1
    if rows == 0:
        shutil.rmtree(work, ignore_errors=True)
        raise ValueError(f"{source.path}: the table has no rows")
    if source.n_rows is not None and rows != source.n_rows:
        raise JobError(f"{source.path}: read {rows} rows, the file says it holds {source.n_rows}")
    stale = [i for i in parts if i >= n_chunks]
    for i in stale:
        del parts[i]
    if sorted(parts) != list(range(n_chunks)) or sum(p["rows"] for p in parts.values()) != rows:
        raise JobError(f"{work}: the finished parts do not cover the {rows} input rows; delete {work} and rerun")
    header = pd.DataFrame(columns=schema.names).to_csv(index=False, lineterminator="\n").encode("utf-8") if out_fmt == "csv" else b""
    written = _assemble(work, parts, out_fmt, header, tmp)
    if written != rows:
        tmp.unlink(missing_ok=True)
        raise JobError(f"{tmp}: wrote {written} rows for {rows} input rows; the output was not published")
    os.replace(tmp, output)
    shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - start
    return JobSummary(rows=rows, cells_imputed=cells, seconds=seconds, chunks=n_chunks, chunks_resumed=resumed, output=str(output))


__all__ = ["impute_file", "read_table", "file_format", "JobSummary", "JobError", "FORMATS"]
