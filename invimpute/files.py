"""Durable file writes: nothing half-written is ever left under a final name.

Every writer in the library (checkpoints, the streaming job, benchmark reports through :func:`publish`)
writes through :func:`write_synced` and :func:`write_atomic`: data goes to a file that is flushed and
fsynced, and a finished file reaches its final name only by an atomic ``os.replace``.
"""

from __future__ import annotations

import os
import pathlib


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


def publish(text: str, path: str | os.PathLike | None = None) -> str:
    """Print a benchmark's report and, when ``path`` is given, write it there with :func:`write_atomic`
    (an interrupted run never leaves a half-written report); returns ``text``."""
    print(text)
    if path:
        write_atomic(path, text)
    return text


__all__ = ["write_synced", "write_atomic", "publish"]
