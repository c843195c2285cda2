"""Durable file writes: nothing half-written is ever left under a final name, nothing is clobbered by accident.

Every writer in the library (checkpoints, the streaming job, benchmark reports through :func:`publish`)
goes through this module. Data is written to a fresh temporary sibling with an unpredictable name,
created exclusively (``O_EXCL``: a symlink or file planted there is never followed or reused), flushed
and fsynced; the finished file reaches its final name in one atomic step, :func:`place`. Without
``overwrite`` that step is a hard link, which fails when the name exists, so the existence check and the
publication are one operation and a file that appeared meanwhile (another job's output) is never
replaced. With ``overwrite`` it is :func:`os.replace`, which replaces a symlink itself, never its target.
A folder of parts (the Ray engine's output) is fsynced with :func:`sync_tree` and moved into place with
:func:`replace_dir`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import pathlib
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

PathLike = str | os.PathLike


def temp_sibling(path: PathLike, *, directory: bool = False, scratch: PathLike | None = None) -> pathlib.Path:
    """Create (exclusively) and return an empty temporary file or folder named after ``path``.

    It lies next to ``path``, or in the folder ``scratch`` (on the same file system) when given.
    """
    path = pathlib.Path(path)
    prefix, suffix = f".{path.name}.", ".tmp"
    where = path.parent if scratch is None else pathlib.Path(scratch)
    if directory:
        return pathlib.Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=where))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=where)
    try:
        os.fchmod(fd, 0o644)
    except (AttributeError, OSError):
        pass
    os.close(fd)
    return pathlib.Path(name)


def sync_dir(path: PathLike) -> None:
    """fsync the folder ``path``, so a rename or link inside it survives a power cut."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def place(tmp: PathLike, final: PathLike, *, overwrite: bool) -> pathlib.Path:
    """Move the finished file ``tmp`` to ``final`` in one atomic step.

    Without ``overwrite``, raise ``FileExistsError`` naming ``final`` when anything (a file, a folder,
    a symlink, even a dangling one) is already there, checked and published in one system call.
    """
    tmp, final = pathlib.Path(tmp), pathlib.Path(final)
    if overwrite:
        os.replace(tmp, final)
    else:
        try:
            os.link(tmp, final, follow_symlinks=False)
        except FileExistsError:
            raise FileExistsError(
                f"{final} already exists (it appeared while this was being written); pass overwrite=True "
                f"(--overwrite) to replace it, or choose another name"
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if os.path.lexists(final):  # no hard links here (some network or FAT file systems)
                raise FileExistsError(f"{final} already exists; pass overwrite=True (--overwrite) to replace it") from None
            os.replace(tmp, final)
        else:
            os.unlink(tmp)
    sync_dir(final.parent)
    return final


@contextlib.contextmanager
def atomic_file(path: PathLike, *, overwrite: bool = True, scratch: PathLike | None = None,
                before_publish: Callable[[pathlib.Path], None] | None = None) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into; published by :func:`place` on success.

    The temporary file lies next to ``path`` or in ``scratch``; ``before_publish`` is called with its path
    once it is complete and on disk, just before it is published. On any error (a full disk included) it
    is removed and ``path`` is left as it was.
    """
    path = pathlib.Path(path)
    tmp = temp_sibling(path, scratch=scratch)
    try:
        with open(tmp, "r+b") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if before_publish is not None:
            before_publish(tmp)
        place(tmp, path, overwrite=overwrite)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_file(path: PathLike) -> str:
    """The SHA-256 of the file ``path``, read in blocks (hex)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_synced(path: PathLike, data: bytes) -> None:
    """Write ``data`` to the new file ``path`` (never an existing one, never through a symlink) and fsync it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path: PathLike, data: str | bytes, *, overwrite: bool = True,
                 scratch: PathLike | None = None) -> pathlib.Path:
    """Write ``data`` to ``path`` through a temporary file (see :func:`atomic_file`), moved into place in one step."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, overwrite=overwrite, scratch=scratch) as f:
        f.write(data.encode() if isinstance(data, str) else data)
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
        sync_dir(root)


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


def publish(text: str, path: PathLike | None = None) -> str:
    """Print a benchmark's report and, when ``path`` is given, write it there with :func:`write_atomic`
    (an interrupted run never leaves a half-written report); returns ``text``."""
    print(text)
    if path:
        write_atomic(path, text)
    return text


__all__ = ["temp_sibling", "sync_dir", "place", "atomic_file", "write_synced", "write_atomic", "sync_tree",
           "replace_dir", "publish"]
