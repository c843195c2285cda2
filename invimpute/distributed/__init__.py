"""Batch repair of tables too large for one host, on a Ray cluster (optional extra ``[distributed]``).

:func:`impute_dataset` takes a Ray Dataset (or the paths of Parquet or CSV files) and a model directory
written by :func:`invimpute.checkpoint.store.save`, and returns a Ray Dataset with every missing cell filled.
The work runs in a pool of Ray actors (:class:`Repairer`, passed to ``map_batches``): each actor loads the
model once, from a copy of the model directory shipped with the job (so the workers need no shared
storage for it), and fills batches of rows (Arrow tables as read from the files, or pandas DataFrames).
Every batch goes through the single-host job :func:`invimpute.job.impute_file` in a scratch folder
of its own (in memory where the machine has ``/dev/shm``), removed when the batch is done, so a batch is
read into pandas, checked (observed cells unchanged, nothing left missing) and given the same column types
as the single-host job gives the same rows, and its rows are padded to a whole number of inversion chunks
so each actor compiles its program once. With the persistent compilation cache
(:mod:`invimpute.runtime.compile_cache`) a second actor, or a second job, loads the compiled program instead of
compiling it.

The model is loaded and the table's columns are checked against its schema on the driver, before any
worker starts. Rows keep their order (the returned Dataset preserves block order). Ray restarts an actor
whose process dies and runs its batch again; a batch's fills depend only on its rows (the inversion draws
no random numbers unless ``input_dropout`` is set), so a retried batch gives the same output.

The package is split by the data flow: :mod:`~invimpute.distributed.actor` (the model shipped to each
actor, one batch filled per call), :mod:`~invimpute.distributed.data` (the input Dataset and its columns),
:mod:`~invimpute.distributed.engine` (the options and the actor pool) and
:mod:`~invimpute.distributed.parquet` (the checked Parquet folder).
"""

from invimpute.distributed.actor import INSTALL_HINT, Repairer, inversion_chunk, read_model_files, require_ray
from invimpute.distributed.data import check_columns, read_dataset
from invimpute.distributed.engine import BATCH_CHUNKS, RayOptions, connect, impute_dataset
from invimpute.distributed.parquet import MARKER, MARKER_FORMAT, PartsSummary, impute_to_parquet

__all__ = ["impute_dataset", "impute_to_parquet", "RayOptions", "PartsSummary", "read_dataset", "check_columns", "connect",
           "read_model_files", "inversion_chunk", "require_ray", "Repairer", "INSTALL_HINT",
           "BATCH_CHUNKS", "MARKER", "MARKER_FORMAT"]
