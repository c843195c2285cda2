"""Part files: one finished chunk each, written atomically, recorded with its size and SHA-256, verified
byte for byte before it is reused on resume and again when the parts are joined into the output."""

from __future__ import annotations

import hashlib
import io
import pathlib

import numpy as np
import pandas as pd

from invimpute.runtime.files import atomic_file, write_atomic
from invimpute.job.checks import JobError
from invimpute.job.workdir import WorkDir, part_name

_BLOCK = 1 << 22


def encode_part(fmt: str, data) -> bytes:
    """A finished chunk as the bytes of its part file (CSV rows without header, Parquet, or ``.npy``)."""
    if fmt == "csv":
        buf = io.StringIO()
        data.to_csv(buf, index=False, header=False, lineterminator="\n")
        return buf.getvalue().encode("utf-8")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), sink)
        return sink.getvalue().to_pybytes()
    buf = io.BytesIO()
    np.save(buf, data, allow_pickle=False)
    return buf.getvalue()


def write_part(work: WorkDir, index: int, fmt: str, data) -> dict:
    """Write one finished chunk atomically; return its record (size and SHA-256 of the file)."""
    raw = encode_part(fmt, data)
    write_atomic(work.path / part_name(index, fmt), raw, scratch=work.path)
    return {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


def read_verified(work: WorkDir, index: int, fmt: str) -> bytes:
    """The bytes of a recorded part; raise :class:`JobError` when they are not the bytes recorded."""
    path = work.path / part_name(index, fmt)
    rec = work.parts[index]
    try:
        raw = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        raw = None
    if raw is None or len(raw) != rec.get("bytes") or hashlib.sha256(raw).hexdigest() != rec.get("sha256"):
        raise JobError(f"{path} is missing or changed since this job wrote it; rerun the same command to recompute it")
    return raw


def valid_parts(work: WorkDir, fmt: str) -> dict[int, dict]:
    """The recorded parts whose files still hold exactly the recorded bytes; the others are dropped."""
    good = {}
    for i in sorted(work.parts):
        try:
            read_verified(work, i, fmt)
        except JobError:
            continue
        good[i] = work.parts[i]
    return good


def assemble(work: WorkDir, fmt: str, columns: list, output: pathlib.Path, overwrite: bool, rows: int) -> None:
    """Join the verified parts in order into ``output``, published atomically only if it holds ``rows`` rows;
    its SHA-256 is recorded first, so a rerun after a stop between publishing and cleaning up can tell it
    is this job's output (:func:`invimpute.job.run.impute_file`)."""
    order = sorted(work.parts)
    with atomic_file(output, overwrite=overwrite, scratch=work.path, before_publish=work.mark_published) as out:
        if fmt == "csv":
            out.write(pd.DataFrame(columns=columns).to_csv(index=False, lineterminator="\n").encode("utf-8"))
            for i in order:
                out.write(read_verified(work, i, fmt))
            written = sum(work.parts[i]["rows"] for i in order)
        elif fmt == "parquet":
            written = _join_parquet(work, order, out)
        else:
            written = _join_npy(work, order, out)
        if written != rows:
            raise JobError(f"{output}: the parts hold {written} rows for {rows} input rows; the output was not published")


def _join_parquet(work: WorkDir, order: list[int], out) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    writer = None
    try:
        for i in order:
            table = pq.read_table(pa.BufferReader(read_verified(work, i, "parquet")))
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema)
            elif not table.schema.equals(writer.schema, check_metadata=False):
                table = table.cast(writer.schema)
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _join_npy(work: WorkDir, order: list[int], out) -> int:
    arrays = (np.load(io.BytesIO(read_verified(work, i, "npy")), allow_pickle=False) for i in order)
    first = np.load(io.BytesIO(read_verified(work, order[0], "npy")), allow_pickle=False)
    total = sum(work.parts[i]["rows"] for i in order)
    header = {"descr": np.lib.format.dtype_to_descr(first.dtype), "fortran_order": False,
              "shape": (total, *first.shape[1:])}
    try:
        np.lib.format.write_array_header_1_0(out, header)
    except ValueError:
        np.lib.format.write_array_header_2_0(out, header)
    rows = 0
    for part in arrays:
        if part.dtype != first.dtype or part.shape[1:] != first.shape[1:]:
            raise JobError(f"{work.path}: a part has dtype {part.dtype} and shape {part.shape}, the first {first.dtype} {first.shape}")
        out.write(np.ascontiguousarray(part).tobytes())
        rows += part.shape[0]
    return rows


__all__ = ["write_part", "read_verified", "valid_parts", "assemble", "encode_part"]
