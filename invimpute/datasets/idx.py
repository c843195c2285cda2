"""MNIST's IDX files: a gzipped header (magic number, dimensions) and a body of uint8 values, checked."""

from __future__ import annotations

import gzip
import pathlib
import zlib
from typing import Literal

import numpy as np

MAGIC = {"images": 2051, "labels": 2049}
"""The magic number of an IDX file of MNIST images and of labels."""


def parse_idx(raw: bytes, kind: Literal["images", "labels"], source: str) -> np.ndarray:
    """Parse an (already decompressed) IDX body, checking its magic number and its size."""
    ndim = 3 if kind == "images" else 1
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(f"{source}: file too short for an IDX {kind} header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != MAGIC[kind]:
        raise ValueError(
            f"{source}: bad magic number {magic:#010x}, expected {MAGIC[kind]:#010x} for MNIST "
            f"{kind}; the file is not an MNIST {kind} file"
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims))
    if len(raw) - header_len != expected:
        raise ValueError(
            f"{source}: header announces shape {dims} ({expected} bytes) but the body holds "
            f"{len(raw) - header_len} bytes; the file is truncated or corrupted"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def gunzip(raw: bytes, source: str) -> bytes:
    """``raw`` decompressed, or a ValueError naming ``source`` when it is not valid gzip."""
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{source}: not a valid gzip file ({exc}); the file is corrupted") from exc


def read_idx_gz(path: pathlib.Path, kind: Literal["images", "labels"]) -> np.ndarray:
    """Read a gzipped IDX file, with errors that name the file and how to recover."""
    try:
        return parse_idx(gunzip(path.read_bytes(), str(path)), kind, str(path))
    except ValueError as exc:
        raise ValueError(f"{exc}. Delete it to have it downloaded again, or replace it by hand.") from exc


__all__ = ["MAGIC", "gunzip", "parse_idx", "read_idx_gz"]
