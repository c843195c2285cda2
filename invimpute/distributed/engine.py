"""The job on the cluster: its options checked against what the cluster holds, and the actor pool mapped over the rows."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

import numpy as np

from invimpute import checkpoint

from invimpute.runtime import compile_cache
from invimpute.distributed.actor import Repairer, inversion_chunk, read_model_files, require_ray
from invimpute.distributed.data import check_columns, read_dataset

PathLike = str | os.PathLike
BATCH_CHUNKS = 16
"""Default rows per batch, in inversion chunks (16 x 1024 rows with the default inversion batch size)."""


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


def load_source(data, model_dir: PathLike, address: str | None):
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


def parse_options(given: dict) -> RayOptions:
    """The keyword options of a job as :class:`RayOptions`; an unknown name raises, naming the valid ones."""
    valid = [f.name for f in fields(RayOptions)]
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise TypeError(f"unknown Ray option(s) {unknown}; valid: {valid}")
    return RayOptions(**given)


def repair(ds, imputer, files, options: RayOptions):
    """``ds`` mapped through a pool of :class:`Repairer` actors, after checking the pool fits the cluster."""
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
      model_dir: a directory written by :func:`invimpute.checkpoint.store.save`.
      options: the fields of :class:`RayOptions` (``workers``, ``gpus_per_worker``, ``cpus_per_worker``,
        ``batch_rows``, ``address``, ``compile_cache_setting``).

    The model and the columns are checked here, before any worker starts; the work runs when the
    returned Dataset is consumed (``write_parquet``, ``iter_batches``, ...). Its blocks are Arrow tables
    typed as the single-host job's Parquet output, in the input's row order.
    """
    options = parse_options(options)
    require_ray()
    imputer, files, ds = load_source(data, model_dir, options.address)
    return repair(ds, imputer, files, options)


__all__ = ["BATCH_CHUNKS", "RayOptions", "connect", "impute_dataset", "parse_options", "load_source", "repair"]
