"""Streaming, resumable imputation of files larger than memory (see :mod:`invimpute.job.run`).

The job is split by idea: :mod:`~invimpute.job.readers` (chunked CSV / Parquet / ``.npy`` input),
:mod:`~invimpute.job.checks` (the model fits the file; every imputed chunk is checked),
:mod:`~invimpute.job.workdir` (the work folder: claimed, locked, proven the job's own),
:mod:`~invimpute.job.parts` (part files with their SHA-256, joined into the output) and
:mod:`~invimpute.job.run` (the job itself).
"""

from invimpute.job.checks import JobError
from invimpute.job.readers import FORMATS, file_format, read_table
from invimpute.job.run import JobSummary, impute_file

__all__ = ["impute_file", "read_table", "file_format", "JobSummary", "JobError", "FORMATS"]
