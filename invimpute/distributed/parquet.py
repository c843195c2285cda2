"""The Parquet job: the filled rows written as parts into a work folder, counted, and published in one rename."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import time
from dataclasses import dataclass

from invimpute.distributed.actor import require_ray
from invimpute.distributed.engine import load_source, parse_options, repair
from invimpute.runtime.files import replace_dir, sync_tree, write_atomic
from invimpute.job import JobError
from invimpute.job.workdir import WorkDir, open_locked

PathLike = str | os.PathLike
MARKER = "_invimpute.json"
"""The record an output folder of :func:`impute_to_parquet` holds (readers skip names starting with _)."""
MARKER_FORMAT = "invimpute-ray-parts"


@dataclass(frozen=True)
class PartsSummary:
    """What :func:`impute_to_parquet` wrote: rows, part files, wall time and the output folder."""

    rows: int
    parts: int
    seconds: float
    output: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@contextlib.contextmanager
def _locked(work: pathlib.Path, output: pathlib.Path):
    """The work folder held under the job's exclusive lock (:func:`~invimpute.job.workdir.open_locked`)."""
    fd = open_locked(work, output)
    if fd is None:
        raise JobError(f"{work} was replaced while this job opened it (another job on {output}?); rerun when it has finished")
    try:
        yield
    finally:
        os.close(fd)


def _write_parts(repaired, work: pathlib.Path) -> None:
    """Write each block of ``repaired`` to ``work/part-<block index>.parquet``, the index the block's place in
    row order. Ray Data's own ``write_parquet`` numbers files by write task, and with an actor pool
    upstream those numbers did not always follow row order (a part of later rows could sort first);
    the blocks' references, taken in the Dataset's order (``preserve_order``), do. Each part is written
    by a Ray task, so no block passes through the driver; the repaired blocks are all held in Ray's object
    store until written (Ray spills them to disk when they do not fit in memory)."""
    import ray

    @ray.remote
    def write(table, path: str) -> int:
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        return table.num_rows

    refs = repaired.to_arrow_refs()
    ray.get([write.remote(ref, str(work / f"part-{i:06d}.parquet")) for i, ref in enumerate(refs)])


def _check_output(output: pathlib.Path, overwrite: bool) -> None:
    if output.exists() or output.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{output} already exists; pass overwrite=True (--overwrite) to replace it")
        if not (output.is_dir() and (output / MARKER).is_file()):
            raise FileExistsError(f"{output} exists and is not a folder written by the Ray engine; refusing to replace it")


def _count_parts(work: pathlib.Path) -> tuple[int, int]:
    import pyarrow.parquet as pq

    parts = sorted(work.glob("*.parquet"))
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts), len(parts)


def impute_to_parquet(data, model_dir: PathLike, output: PathLike, *, overwrite: bool = False,
                      **options) -> PartsSummary:
    """Fill ``data`` on the cluster and write it as Parquet parts to the folder ``output``.

    The parts are written into ``<output>.partial/`` (on storage every node sees), their row total is
    checked against the input's, and the folder is renamed to ``output`` only then, so a folder under
    that name is always complete. Reading the parts in name order gives the input's row order. An
    existing ``output`` is replaced only with ``overwrite=True`` and only when this function wrote it.
    ``options`` as in :func:`impute_dataset` (:class:`RayOptions`).
    """
    options = parse_options(options)
    start = time.perf_counter()
    require_ray()
    output = pathlib.Path(output)
    _check_output(output, overwrite)
    imputer, files, source = load_source(data, model_dir, options.address)
    repaired = repair(source, imputer, files, options)
    expected = source.count()
    work = WorkDir.path_for(output)
    if work.exists() and not work.is_dir():
        raise FileExistsError(f"{work} exists and is not a work folder; remove it")
    output.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(exist_ok=True)
    with _locked(work, output):
        for entry in work.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        _write_parts(repaired, work)
        rows, parts = _count_parts(work)
        if rows != expected:
            raise JobError(f"{work}: the parts hold {rows} rows for {expected} input rows; the output was not published")
        write_atomic(work / MARKER, json.dumps({"format": MARKER_FORMAT, "rows": rows, "parts": parts,
                                                "model": str(pathlib.Path(model_dir).resolve())}, indent=1))
        sync_tree(work)
        _check_output(output, overwrite)
        replace_dir(work, output)
    return PartsSummary(rows=rows, parts=parts, seconds=time.perf_counter() - start, output=str(output))


__all__ = ["MARKER", "MARKER_FORMAT", "PartsSummary", "impute_to_parquet"]
