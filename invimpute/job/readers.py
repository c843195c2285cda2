"""Reading CSV, Parquet and ``.npy`` inputs in chunks of rows, with clear errors for damaged files."""

from __future__ import annotations

import os
import pathlib
from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np
import pandas as pd

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}
TABLE_FORMATS = ("csv", "parquet")

PathLike = str | os.PathLike


def file_format(path: PathLike) -> str:
    """``"csv"``, ``"parquet"`` or ``"npy"`` from the file name's extension."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unsupported file type {suffix or '(no extension)'!r}; use one of {sorted(FORMATS)}")
    return FORMATS[suffix]



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


class Source(ABC):
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


class CsvSource(Source):
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
        dtype = {name: str for name in self.text_columns} or None
        yield from self._read(dtype=dtype)

    def text_chunks(self) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        """Each chunk parsed (as :meth:`chunks`) with the raw text of its fields beside it (``""`` for an
        empty field): the same rows, read in step by two readers."""
        yield from zip(self.chunks(), self._read(dtype=str, keep_default_na=False), strict=True)

    def observed_text_chunks(self) -> Iterator[pd.DataFrame]:
        """Each chunk's fields as text, NaN where pandas reads a missing value (what column styles learn from)."""
        yield from self._read(dtype=str)

    def _read(self, **options) -> Iterator[pd.DataFrame]:
        done = 0
        try:
            with pd.read_csv(self.path, chunksize=self.chunk_rows, **options) as reader:
                for chunk in reader:
                    done += len(chunk)
                    yield chunk
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise ValueError(f"{self.path}: the CSV file is corrupt after row {done} ({exc})") from exc


def _data_columns(schema) -> list[str]:
    meta = schema.pandas_metadata or {}
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    return [n for n in schema.names if n not in index]


class _ParquetSource(Source):
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


class _NpySource(Source):
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


def open_source(path: pathlib.Path, chunk_rows: int) -> Source:
    fmt = file_format(path)
    return {"csv": CsvSource, "parquet": _ParquetSource, "npy": _NpySource}[fmt](path, chunk_rows)


def read_table(path: PathLike) -> pd.DataFrame | np.ndarray:
    """A whole CSV, Parquet or ``.npy`` file, parsed the way :func:`impute_file` parses its chunks."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    source = open_source(path, 1)
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


__all__ = ["FORMATS", "file_format", "read_table", "open_source"]
