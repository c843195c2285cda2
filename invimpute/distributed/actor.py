"""The Ray actor: the model shipped as its files, loaded once per actor, and one batch of rows filled per call.

Every batch goes through the single-host job :func:`invimpute.job.impute_file` in a scratch folder of its
own (in memory where the machine has ``/dev/shm``), removed when the batch is done, so a batch is checked
and typed as the single-host job gives the same rows; its rows are padded to a whole number of inversion
chunks so each actor compiles its program once.
"""

from __future__ import annotations

import math
import os
import pathlib
import tempfile

import numpy as np

from invimpute import checkpoint

from invimpute.runtime import compile_cache
from invimpute.job import impute_file

PathLike = str | os.PathLike
INSTALL_HINT = "the Ray engine needs Ray: pip install 'invimpute[distributed]'"


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
      compile_cache_setting: the persistent compilation cache (see :func:`invimpute.runtime.compile_cache.cache_dir`).
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



__all__ = ["INSTALL_HINT", "require_ray", "read_model_files", "inversion_chunk", "Repairer"]
