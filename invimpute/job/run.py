"""Streaming imputation of files larger than memory, resumable after a crash.

:func:`impute_file` reads a CSV, Parquet or ``.npy`` file in chunks of rows, fills each chunk with a
fitted :class:`~invimpute.Imputer` and writes it to a part file in the job's work folder
``<output>.partial/`` (see :mod:`invimpute.job.workdir`), recorded with its SHA-256 in the progress
record. Running the same command again after an interruption reuses the finished chunks whose bytes
are still the recorded ones, provided the input file (size and modification time), the chunk size and
the model are unchanged; otherwise it starts over. When every chunk is done the verified parts are
joined into a temporary file inside the work folder, which is published under the output name in one
atomic step (:func:`invimpute.runtime.files.place`) that refuses to replace an output that appeared meanwhile
unless ``overwrite`` is set. Each chunk is checked before it is written (observed cells unchanged,
nothing left missing) and the row total before publishing. Memory use is bounded by the chunk size.

The Imputer's imputation key is the same for every chunk, so a chunk's fills depend only on its rows and
its position inside the chunk: a resumed job reproduces an uninterrupted one byte for byte.
"""

from __future__ import annotations

import errno
import logging
import os
import pathlib
import time
from dataclasses import dataclass

import numpy as np

from invimpute import checkpoint
from invimpute.encoding.schema import Schema
from invimpute.estimator.imputer import Imputer
from invimpute.job import parts
from invimpute.job.checks import JobError, check_compatible, finish_array, finish_frame
from invimpute.job.readers import CsvSource, Source, file_format, open_source
from invimpute.job.text import as_text, column_styles
from invimpute.runtime.files import sha256_file
from invimpute.runtime.progress import stage
from invimpute.job.workdir import WorkDir

LOG = logging.getLogger("invimpute.job")

PathLike = str | os.PathLike


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


@dataclass(frozen=True)
class _Plan:
    """Everything a checked job needs to run: the model, the input, the output and how to write it."""

    imputer: Imputer
    source: Source
    schema: Schema
    out_fmt: str
    out_dtype: np.dtype | None
    identity: dict
    output: pathlib.Path
    overwrite: bool
    progress: bool
    start: float
    finish_only: bool = False
    """The output exists beside this job's work folder: a run stopped after publishing, to clean up."""


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
      model_dir_or_imputer: a fitted Imputer, or a directory written by :func:`invimpute.checkpoint.store.save`.
      input_path: a ``.csv``, ``.parquet`` or ``.npy`` file (tables (n, d) or images (n, h, w)).
      output_path: ``.csv`` or ``.parquet`` for a table input, ``.npy`` for an array input.
      chunk_rows: rows read, imputed and written at a time; memory grows with it.
      overwrite: replace an existing output (only once the new one is complete).
      progress: show a progress bar with rows per second.

    Raises ValueError for unreadable, truncated or incompatible inputs and FileExistsError for an
    existing output, before anything is written; :class:`JobError` when the work folder is not the job's
    own, is locked by another job, or a check fails. Rerun the same call after an interruption to resume;
    after a stop between publishing the output and removing the work folder, the same call removes the
    folder once it has checked that the output is the one this job published.
    """
    plan = _plan(model_dir_or_imputer, input_path, output_path, chunk_rows, overwrite, progress)
    try:
        plan.output.parent.mkdir(parents=True, exist_ok=True)
        work = WorkDir.claim(plan.output)
    except OSError as exc:
        raise JobError(f"cannot create the work folder next to {plan.output} ({exc.strerror}); choose an output in a writable folder") from exc
    try:
        return _finish_published(plan, work) if plan.finish_only else _run(plan, work)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise JobError(
                f"{exc.filename or work.path}: no space left on the device; free some space and rerun the same "
                f"command: the finished chunks kept in {work.path} are reused"
            ) from exc
        raise
    finally:
        work.release()


def _plan(model, input_path: PathLike, output_path: PathLike, chunk_rows, overwrite: bool, progress: bool) -> _Plan:
    """Check the arguments, the model and the input against each other before anything is written."""
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
    finish_only = os.path.lexists(output) and not overwrite
    work_path = WorkDir.path_for(output)
    if finish_only and (work_path.is_symlink() or not work_path.is_dir()):
        raise _exists(output)
    imputer = _as_imputer(model)
    source = open_source(src_path, chunk_rows)
    check_compatible(source, imputer, out_fmt, output)
    schema = imputer.encoder_.schema
    if isinstance(source, CsvSource):
        source.text_columns = [c.name for c in schema.columns
                               if c.kind == "categorical" and c.categories and all(isinstance(v, str) for v in c.categories)]
        source.text_columns += [t.name for t in imputer.plan_.columns if t.format is not None]
    out_dtype = None
    if source.fmt == "npy":
        out_dtype = source.dtype if source.dtype.kind == "f" else np.dtype(np.float64)
    st = src_path.stat()
    identity = {
        "input": str(src_path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
        "chunk_rows": chunk_rows, "model": _fingerprint(imputer), "output_format": out_fmt,
    }
    if identity["model"] is None:  # a model without a fingerprint never resumes another run's parts
        identity["model"] = f"unfingerprinted-{os.urandom(8).hex()}"
    return _Plan(imputer, source, schema, out_fmt, out_dtype, identity, output, overwrite, progress, start, finish_only)


def _exists(output: pathlib.Path) -> FileExistsError:
    return FileExistsError(f"{output} already exists; pass overwrite=True (--overwrite) to replace it")


def _finish_published(plan: _Plan, work: WorkDir) -> JobSummary:
    """The same job run again after it published its output but was stopped before removing its work
    folder: remove the folder when the output is the one this job published, else refuse the existing
    output as any run does."""
    if work.identity != plan.identity or work.published is None or sha256_file(plan.output) != work.published:
        raise _exists(plan.output)
    chunks = len(work.parts)
    rows = sum(p["rows"] for p in work.parts.values())
    cells = sum(p["cells_imputed"] for p in work.parts.values())
    work.remove()
    return JobSummary(rows=rows, cells_imputed=cells, seconds=time.perf_counter() - plan.start, chunks=chunks,
                      chunks_resumed=chunks, output=str(plan.output))


def _impute_chunk(plan: _Plan, chunk, where: str, styles: dict | None = None):
    """One chunk filled and checked, in the dtypes it is written with, and its number of filled cells.

    With ``styles`` (a CSV written to a CSV) ``chunk`` is the pair (parsed rows, their raw text) and the
    result is text: observed cells as read, fills in their column's style (:mod:`invimpute.job.text`)."""
    raw = None
    if styles is not None:
        chunk, raw = chunk
    out, observed = plan.imputer.transform_with_mask(chunk)
    if isinstance(chunk, np.ndarray):
        observed = observed.reshape(chunk.shape)
        data = finish_array(chunk, out, observed, plan.out_dtype, where)
    else:
        data = finish_frame(chunk, out, observed, plan.schema, where, plan.imputer.plan_)
        if raw is not None:  # observed cells, and every cell of a passed-through column, as the file wrote them
            keep = ~plan.imputer.plan_.imputable(observed.reshape(chunk.shape))
            data = as_text(raw, data, keep, styles)
    return data, int((~observed).sum())


def _run(plan: _Plan, work: WorkDir) -> JobSummary:
    """Impute the chunks not yet done, check the totals, publish the output and remove the work folder."""
    work.start(plan.identity)
    done = parts.valid_parts(work, plan.out_fmt)
    source = plan.source
    resumed = rows = cells = 0
    index = -1
    styles = None
    if isinstance(source, CsvSource) and plan.out_fmt == "csv":
        with stage(f"reading how {source.path.name} writes its values", enabled=plan.progress):
            styles = column_styles(source)
    chunks = source.text_chunks() if styles is not None else source.chunks()
    with stage(f"imputing {source.path.name}", source.n_rows, enabled=plan.progress, unit="rows") as bar:
        for index, chunk in enumerate(chunks):
            n = len(chunk[0] if styles is not None else chunk)
            where = f"{source.path}, rows {rows}..{rows + n - 1}"
            rows += n
            rec = done.get(index)
            if rec is not None and rec.get("rows") == n:
                resumed += 1
                cells += rec["cells_imputed"]
                bar.update(n)
                continue
            data, n_missing = _impute_chunk(plan, chunk, where, styles)
            work.parts[index] = {"rows": n, "cells_imputed": n_missing, **parts.write_part(work, index, plan.out_fmt, data)}
            work.save()
            cells += n_missing
            bar.update(n)
            bar.set_postfix(cells=cells, refresh=False)
    n_chunks = index + 1
    if rows == 0:
        work.remove()
        raise ValueError(f"{source.path}: the table has no rows")
    if source.n_rows is not None and rows != source.n_rows:
        raise JobError(f"{source.path}: read {rows} rows, the file says it holds {source.n_rows}")
    for i in [i for i in work.parts if i >= n_chunks]:
        del work.parts[i]
    if sorted(work.parts) != list(range(n_chunks)) or sum(p["rows"] for p in work.parts.values()) != rows:
        raise JobError(f"{work.path}: the finished parts do not cover the {rows} input rows; rerun the same command")
    parts.assemble(work, plan.out_fmt, plan.imputer.plan_.names, plan.output, plan.overwrite, rows)
    work.remove()
    seconds = time.perf_counter() - plan.start
    return JobSummary(rows=rows, cells_imputed=cells, seconds=seconds, chunks=n_chunks, chunks_resumed=resumed,
                      output=str(plan.output))


__all__ = ["impute_file", "JobSummary", "JobError"]
