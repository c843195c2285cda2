"""Batch repair of tables too large for one host, on a Ray cluster (optional extra ``[distributed]``).

:func:`impute_dataset` takes a Ray Dataset (or the paths of Parquet or CSV files) and a model directory
written by :func:`invimpute.checkpoint.save`, and returns a Ray Dataset with every missing cell filled.
The work runs in a pool of Ray actors (:class:`Repairer`, passed to ``map_batches``): each actor loads the
model once, from a copy of the model directory shipped with the job (so the workers need no shared
storage for it), and fills batches of rows (Arrow tables as read from the files, or pandas DataFrames).
Every batch goes through the single-host job :func:`invimpute.job.impute_file` in a scratch folder
of its own (in memory where the machine has ``/dev/shm``), removed when the batch is done, so a batch is read into pandas, checked (observed cells unchanged, nothing left
missing) and given the same column types as the single-host job gives the same rows, and its rows
are padded to a whole number of inversion chunks so each actor compiles its program once. With the persistent compilation cache (:mod:`invimpute.compile_cache`) a second actor, or a
second job, loads the compiled program instead of compiling it.

The model is loaded and the table's columns are checked against its schema on the driver, before any
worker starts. Rows keep their order (the returned Dataset preserves block order). Ray restarts an actor
whose process dies and runs its batch again; a batch's fills depend only on its rows (the inversion draws
no random numbers unless ``input_dropout`` is set), so a retried batch gives the same output.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from invimpute import checkpoint, compile_cache
from invimpute.files import replace_dir, sync_tree, write_atomic
from invimpute.job import JobError, impute_file

PathLike = str | os.PathLike
INSTALL_HINT = "the Ray engine needs Ray: pip install 'invimpute[distributed]'"
BATCH_CHUNKS = 16
"""Default rows per batch, in inversion chunks (16 x 1024 rows with the default inversion batch size)."""
MARKER = "_invimpute.json"
"""The record an output folder of :func:`impute_to_parquet` holds (readers skip names starting with _)."""
MARKER_FORMAT = "invimpute-ray-parts"
TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def require_ray():
    """The ``ray`` module with Ray Data, or an ImportError whose one line names the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return ray


# ---- the model ---------------------------------------------------------------------------------------
def read_model_files(model_dir: PathLike) -> dict[str, bytes]:
    """Every file of the model directory, by relative path: what each actor rebuilds the model from."""
    root = pathlib.Path(model_dir)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _write_model_files(files: dict[str, bytes], folder: pathlib.Path) -> pathlib.Path:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def inversion_chunk(imputer) -> int:
    """Rows per compiled inversion chunk of ``imputer`` (its inversion settings' ``batch_size``)."""
    return int(imputer.settings().inversion.batch_size)


def _scratch_root() -> str | None:
    """A memory-backed folder for the per-batch files when the machine has one."""
    shm = pathlib.Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


class Repairer:
    """The Ray actor that fills batches: loads the model once, then repairs one batch of rows per call.

    Args:
      model_files: the model directory's files (:func:`read_model_files`).
      batch_rows: the rows of a full batch; every batch is padded (with copies of its own rows) to a whole
        number of the inversion chunks a full batch uses, so one compiled program serves them all.
      compile_cache_setting: the persistent compilation cache (see :func:`invimpute.compile_cache.cache_dir`).
    """

    def __init__(self, model_files: dict[str, bytes], batch_rows: int,
                 compile_cache_setting: compile_cache.Setting = None) -> None:
        self.batch_rows = batch_rows
        compile_cache.enable(compile_cache_setting)
        with tempfile.TemporaryDirectory(prefix="invimpute-ray-model-", dir=_scratch_root()) as folder:
            self.imputer = checkpoint.load(_write_model_files(model_files, pathlib.Path(folder)))
        self.unit = inversion_chunk(self.imputer)

    def __call__(self, batch):
        """``batch`` (an Arrow table or a pandas DataFrame) with every missing cell filled, checked and
        typed as :func:`impute_file` writes it: an Arrow table like the single-host job's Parquet output."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = batch if isinstance(batch, pa.Table) else pa.Table.from_pandas(batch, preserve_index=False)
        n = table.num_rows
        if n == 0:
            return table
        unit = min(self.unit, 1 << (self.batch_rows - 1).bit_length())
        padded = table.take(np.arange(math.ceil(n / unit) * unit) % n)
        with tempfile.TemporaryDirectory(prefix="invimpute-ray-batch-", dir=_scratch_root()) as folder:
            source, target = pathlib.Path(folder) / "batch.parquet", pathlib.Path(folder) / "filled.parquet"
            pq.write_table(padded, source)
            impute_file(self.imputer, source, target, chunk_rows=padded.num_rows, overwrite=True, progress=False)
            return pq.read_table(target, memory_map=False).slice(0, n)


# ---- the data ----------------------------------------------------------------------------------------
def _table_format(paths: Sequence[str]) -> str:
    kinds = set()
    for p in paths:
        suffix = pathlib.PurePath(p).suffix.lower()
        if suffix in TABLE_SUFFIXES:
            kinds.add(TABLE_SUFFIXES[suffix])
        elif suffix == "" or p.endswith("/"):
            kinds.add("parquet")
        else:
            raise ValueError(f"{p}: unsupported file type {suffix!r}; the Ray engine reads .parquet, .pq and .csv "
                             f"files or folders of Parquet files")
    if len(kinds) != 1:
        raise ValueError(f"give Parquet or CSV files, not both: {list(paths)[:4]}")
    return kinds.pop()


def read_dataset(paths: PathLike | Sequence[PathLike], imputer=None):
    """A Ray Dataset over Parquet files, folders of them, or CSV files.

    CSV columns that the model's schema holds as text categories (``imputer``) are read as text, as the
    single-host job reads them, so labels like ``"007"`` are not turned into numbers.
    """
    ray = require_ray()
    items = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
    if not items:
        raise ValueError("no input paths given")
    if _table_format(items) == "parquet":
        return ray.data.read_parquet(items)
    import pyarrow as pa
    from pyarrow import csv

    text = {} if imputer is None else {c.name: pa.string() for c in imputer.encoder_.schema.columns
                                       if c.kind == "categorical" and c.categories
                                       and all(isinstance(v, str) for v in c.categories)}
    return ray.data.read_csv(items, convert_options=csv.ConvertOptions(column_types=text))


def _data_columns(ds) -> tuple[list[str], bool]:
    """The dataset's column names less any pandas index columns, and whether there were any."""
    schema = ds.schema()
    if schema is None:
        raise ValueError("the dataset has no rows and no schema")
    names = list(schema.names)
    base = getattr(schema, "base_schema", None)
    meta = getattr(base, "pandas_metadata", None) or {}
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    return [n for n in names if n not in index], bool(index & set(names))


def check_columns(ds, imputer) -> Any:
    """``ds`` limited to its data columns, after checking they are the model's, in the model's order."""
    if imputer.image_shape_ is not None:
        raise ValueError(f"the model was fitted on images of shape {tuple(imputer.image_shape_)}; the Ray engine "
                         f"repairs tables (use invimpute.job.impute_file for .npy image stacks)")
    columns, has_index = _data_columns(ds)
    expected = list(imputer.encoder_.schema.names)
    if columns != expected:
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        hint = "same names, different order" if not (missing or extra) else f"missing {missing}, unexpected {extra}"
        raise ValueError(f"the dataset's columns differ from the model's ({hint}); expected {expected}")
    return ds.select_columns(columns) if has_index else ds


# ---- the job -----------------------------------------------------------------------------------------
def _positive(name: str, value, kind=int, allow_zero: bool = False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and (kind is float or float(value).is_integer())
    if not ok or value < 0 or (value == 0 and not allow_zero):
        need = "a non-negative number" if allow_zero else f"a positive {'integer' if kind is int else 'number'}"
        raise ValueError(f"{name} must be {need}, got {value!r}")
    return kind(value)


def _check_resources(workers: int, cpus: float, gpus: float) -> None:
    """Refuse a pool the cluster cannot hold, which Ray would wait for without end: more GPUs than it has,
    or every CPU (leaving none for the tasks that read the rows)."""
    ray = require_ray()
    if not ray.is_initialized():
        return
    have = ray.cluster_resources()
    total = have.get("CPU", 0.0)
    if total and total - workers * cpus < 1:
        raise ValueError(f"{workers} workers x {cpus:g} CPUs each leave less than one of the cluster's {total:g} CPUs "
                         f"for reading the data, and the job would stall; lower workers or cpus_per_worker")
    if gpus and workers * gpus > have.get("GPU", 0.0):
        raise ValueError(f"{workers} workers x {gpus:g} GPUs each need {workers * gpus:g} GPUs; the cluster has "
                         f"{have.get('GPU', 0.0):g}; lower workers or gpus_per_worker")


def connect(address: str | None = None) -> None:
    """Join the Ray cluster at ``address`` (``"auto"``, ``"ray://host:10001"``, ...) unless this process
    already has; None follows ``RAY_ADDRESS``, else starts a local cluster."""
    ray = require_ray()
    if not ray.is_initialized():
        ray.init(address=address)


def _source(data, model_dir: PathLike, address: str | None):
    """The checked model, its files and the input Dataset limited to the model's columns."""
    imputer = checkpoint.load(model_dir)
    files = read_model_files(model_dir)
    connect(address)
    ds = data if hasattr(data, "map_batches") else read_dataset(data, imputer)
    return imputer, files, check_columns(ds, imputer)


@dataclass(frozen=True)
class RayOptions:
    """How a job runs on the cluster (the keyword arguments of :func:`impute_dataset` and
    :func:`impute_to_parquet`).

    Attributes:
      workers: actors in the pool, each holding the model once.
      gpus_per_worker: GPUs reserved per actor (0: CPU only; 1 for one actor per GPU).
      cpus_per_worker: CPUs reserved per actor.
      batch_rows: rows per batch (default: 16 inversion chunks); memory per actor grows with it.
      address: the cluster to join when this process has not joined one (see :func:`connect`).
      compile_cache_setting: the actors' persistent compilation cache (default: ``INVIMPUTE_COMPILE_CACHE``).
    """

    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    batch_rows: int | None = None
    address: str | None = None
    compile_cache_setting: compile_cache.Setting = None


def _options(given: dict) -> RayOptions:
    valid = [f.name for f in fields(RayOptions)]
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise TypeError(f"unknown Ray option(s) {unknown}; valid: {valid}")
    return RayOptions(**given)


def _repair(ds, imputer, files, options: RayOptions):
    workers = _positive("workers", options.workers)
    gpus = _positive("gpus_per_worker", options.gpus_per_worker, float, allow_zero=True)
    cpus = _positive("cpus_per_worker", options.cpus_per_worker, float, allow_zero=True)
    rows = (BATCH_CHUNKS * inversion_chunk(imputer) if options.batch_rows is None
            else _positive("batch_rows", options.batch_rows))
    _check_resources(workers, cpus, gpus)
    ds.context.execution_options.preserve_order = True
    import ray.data

    return ds.map_batches(
        Repairer, batch_size=rows, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers),
        fn_constructor_kwargs={"model_files": files, "batch_rows": rows,
                               "compile_cache_setting": options.compile_cache_setting},
        num_gpus=gpus or None, num_cpus=cpus,
    )


def impute_dataset(data, model_dir: PathLike, **options):
    """A Ray Dataset holding ``data`` with every missing cell filled by the model in ``model_dir``.

    Args:
      data: a Ray Dataset, or Parquet/CSV paths Ray Data can read (files, folders, object-store URIs).
      model_dir: a directory written by :func:`invimpute.checkpoint.save`.
      options: the fields of :class:`RayOptions` (``workers``, ``gpus_per_worker``, ``cpus_per_worker``,
        ``batch_rows``, ``address``, ``compile_cache_setting``).

    The model and the columns are checked here, before any worker starts; the work runs when the
    returned Dataset is consumed (``write_parquet``, ``iter_batches``, ...). Its blocks are Arrow tables
    typed as the single-host job's Parquet output, in the input's row order.
    """
    options = _options(options)
    require_ray()
    imputer, files, ds = _source(data, model_dir, options.address)
    return _repair(ds, imputer, files, options)


# ---- the Parquet job ---------------------------------------------------------------------------------
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


class _Locked:
    """An exclusive, non-blocking lock on the work folder, so two jobs never write the same parts."""

    def __init__(self, work: pathlib.Path, output: pathlib.Path) -> None:
        self.work, self.output, self.fd = work, output, None

    def __enter__(self) -> "_Locked":
        try:
            import fcntl
        except ImportError:
            return self
        self.fd = os.open(self.work, os.O_RDONLY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self.fd)
            raise JobError(f"another invimpute job is writing {self.output} (its work folder {self.work} is locked)") from exc
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _part_names():
    """Part file names that sort in row order: ``part-<write task>-<write id>.parquet``."""
    from ray.data.datasource import FilenameProvider

    class PartNames(FilenameProvider):
        def get_filename_for_task(self, write_uuid: str, task_index: int) -> str:
            return f"part-{task_index:06d}-{write_uuid}.parquet"

    return PartNames()


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
    options = _options(options)
    start = time.perf_counter()
    require_ray()
    output = pathlib.Path(output)
    _check_output(output, overwrite)
    imputer, files, source = _source(data, model_dir, options.address)
    repaired = _repair(source, imputer, files, options)
    expected = source.count()
    work = output.with_name(output.name + ".partial")
    if work.exists() and not work.is_dir():
        raise FileExistsError(f"{work} exists and is not a work folder; remove it")
    output.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(exist_ok=True)
    with _Locked(work, output):
        for entry in work.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        repaired.write_parquet(str(work), filename_provider=_part_names())
        rows, parts = _count_parts(work)
        if rows != expected:
            raise JobError(f"{work}: the parts hold {rows} rows for {expected} input rows; the output was not published")
        write_atomic(work / MARKER, json.dumps({"format": MARKER_FORMAT, "rows": rows, "parts": parts,
                                                "model": str(pathlib.Path(model_dir).resolve())}, indent=1))
        sync_tree(work)
        _check_output(output, overwrite)
        replace_dir(work, output)
    return PartsSummary(rows=rows, parts=parts, seconds=time.perf_counter() - start, output=str(output))


__all__ = ["impute_dataset", "impute_to_parquet", "RayOptions", "PartsSummary", "read_dataset", "check_columns", "connect",
           "read_model_files", "inversion_chunk", "require_ray", "Repairer", "INSTALL_HINT"]
