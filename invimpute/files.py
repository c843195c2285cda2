"""Durable file writes: nothing half-written is ever left under a final name.

Every writer in the library (checkpoints, the streaming job, benchmark reports through :func:`publish`)
writes through :func:`write_synced` and :func:`write_atomic`: data goes to a file that is flushed and
fsynced, and a finished file reaches its final name only by an atomic ``os.replace``. A folder of parts
(the Ray engine's output) is fsynced with :func:`sync_tree` and moved into place with :func:`replace_dir`.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import uuid


def write_synced(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it, so it is on disk before anything refers to it."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path: str | os.PathLike, data: str | bytes) -> pathlib.Path:
    """Write ``data`` to a temporary sibling of ``path`` and move it into place in one step."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write_synced(tmp, data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)
    return path


def sync_tree(path: str | os.PathLike) -> None:
    """Fsync every file under the folder ``path`` and the folders themselves (files written by others,
    such as Ray's Parquet writers, are then on disk before the folder is renamed into place)."""
    for root, _, names in os.walk(path):
        for name in names:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_dir(src: str | os.PathLike, dst: str | os.PathLike) -> pathlib.Path:
    """Move the finished folder ``src`` to ``dst`` by renames only; an existing ``dst`` (which the caller
    has checked may go) is moved aside first and deleted after, so ``dst`` is never half-written."""
    src, dst = pathlib.Path(src), pathlib.Path(dst)
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{uuid.uuid4().hex}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
    return dst


def publish(text: str, path: str | os.PathLike | None = None) -> str:
    """Print a benchmark's report and, when ``path`` is given, write it there with :func:`write_atomic`
    (an interrupted run never leaves a half-written report); returns ``text``."""
    print(text)
    if path:
        write_atomic(path, text)
    return text


__all__ = ["write_synced", "write_atomic", "sync_tree", "replace_dir", "publish"]
