"""The job's work folder ``<output>.partial/``: claimed, locked, and proven the job's own by its record.

A job creates the folder itself (``mkdir``, which fails if anything is there), locks it with an
exclusive ``flock`` and writes its progress record ``progress.json`` at once. That record is the proof of
ownership: a folder at that name without it (made by someone else), a symlink, or a file is refused and
left untouched, never followed, cleared or deleted. Inside a folder it owns, the job only ever removes
the files it names: the parts listed in its record, part files and temporary files under its own naming
patterns, and the record itself; the folder is removed at the end only if nothing else is left in it.
The lock is checked against the folder at the path after it is taken, so a job never works in a folder
that another job has just removed.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import re

from invimpute.runtime.files import sha256_file, write_atomic
from invimpute.job.checks import JobError

LOG = logging.getLogger("invimpute.job")

RECORD = "progress.json"
JOB_FORMAT = "invimpute-job"
JOB_VERSION = 3  # 3: a CSV written to a CSV keeps each observed cell's text
_OWN = re.compile(r"^(part-\d{6}\.(csv|parquet|npy)|\..+\.[a-z0-9_]{8}\.tmp)$")  # parts; files.temp_sibling names


def part_name(index: int, fmt: str) -> str:
    return f"part-{index:06d}.{fmt}"


class WorkDir:
    """A locked work folder this job owns; ``parts`` maps chunk index to its record."""

    def __init__(self, path: pathlib.Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd
        self.identity: dict | None = None
        self.parts: dict[int, dict] = {}
        self.published: str | None = None
        """SHA-256 of the output this job is publishing or has published (None before it assembles one)."""

    # ---- claiming --------------------------------------------------------------------------------
    @staticmethod
    def path_for(output: pathlib.Path) -> pathlib.Path:
        """The work folder of a job writing ``output``: ``<output>.partial``."""
        return output.with_name(output.name + ".partial")

    @classmethod
    def claim(cls, output: pathlib.Path) -> "WorkDir":
        """Create or reopen ``<output>.partial`` and lock it; refuse anything the job did not create."""
        work = cls.path_for(output)
        for _ in range(5):
            if work.is_symlink():
                raise JobError(f"{work} is a symbolic link; the job never follows or deletes it: remove it, or choose another output name")
            created = False
            if not work.exists():
                try:
                    os.mkdir(work, 0o755)
                    created = True
                except FileExistsError:
                    continue
            elif not work.is_dir():
                raise JobError(f"{work} exists and is not a work folder of invimpute; it is left untouched: remove or rename it, or choose another output name")
            fd = open_locked(work, output)
            if fd is None:
                continue
            wd = cls(work, fd)
            if created:
                wd.save()
            elif not wd._load_record():
                wd.release()
                raise JobError(
                    f"{work} exists but holds no invimpute progress record, so this job did not create it; it is "
                    f"left untouched: remove or rename it, or choose another output name"
                )
            return wd
        raise JobError(f"{work} keeps appearing and disappearing (another job on {output}?); rerun when it has finished")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ---- the record ------------------------------------------------------------------------------
    def _load_record(self) -> bool:
        """Read the record; False when there is none or it is not a job record (the folder is not ours)."""
        try:
            record = json.loads((self.path / RECORD).read_text())
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            return False
        if not isinstance(record, dict) or record.get("format") != JOB_FORMAT:
            return False
        try:
            self.identity = record["identity"] if record.get("version") == JOB_VERSION else None
            self.parts = {int(k): dict(v) for k, v in record.get("parts", {}).items()}
            self.published = record.get("published") if isinstance(record.get("published"), str) else None
        except (ValueError, TypeError, AttributeError):
            self.identity, self.parts, self.published = None, {}, None
        return True

    def save(self) -> None:
        record = {"format": JOB_FORMAT, "version": JOB_VERSION, "identity": self.identity,
                  "parts": {str(i): self.parts[i] for i in sorted(self.parts)}, "published": self.published}
        write_atomic(self.path / RECORD, json.dumps(record, indent=1).encode(), scratch=self.path)

    def start(self, identity: dict) -> None:
        """Keep the recorded parts when they belong to this exact job; otherwise remove them and start over."""
        if self.identity != identity:
            if self.parts or self.identity is not None:
                LOG.warning("%s: the input, chunk size or model changed since the interrupted run (or its record is unreadable); starting over", self.path)
            self.clear()
            self.identity, self.published = identity, None
            self.save()
        else:
            LOG.info("%s: resuming, %d finished chunks recorded", self.path, len(self.parts))

    def mark_published(self, assembled: pathlib.Path) -> None:
        """Record the SHA-256 of the assembled output ``assembled`` just before it is published."""
        self.published = sha256_file(assembled)
        self.save()

    # ---- cleaning --------------------------------------------------------------------------------
    def clear(self) -> None:
        """Remove the job's own files (never folders, never symlinks' targets); keep the record."""
        for entry in self.path.iterdir():
            if entry.name != RECORD and _OWN.match(entry.name) and (entry.is_symlink() or entry.is_file()):
                entry.unlink()
        self.parts = {}

    def remove(self) -> None:
        """Remove the job's files and then the folder, unless something the job did not write is in it."""
        self.clear()
        (self.path / RECORD).unlink(missing_ok=True)
        try:
            os.rmdir(self.path)
        except OSError:
            left = sorted(p.name for p in self.path.iterdir())
            LOG.warning("%s holds files this job did not write (%s); it is kept", self.path, ", ".join(left[:5]))


def open_locked(work: pathlib.Path, output: pathlib.Path) -> int | None:
    """An fd holding an exclusive lock on the folder ``work``; None when the folder was replaced meanwhile."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(work, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JobError(f"{work} cannot be opened as a work folder ({exc.strerror}); it is left untouched: remove it, or choose another output name") from exc
    try:
        import fcntl
    except ImportError:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise JobError(f"another invimpute job is writing {output} (its work folder {work} is locked); wait for it to finish, or choose another output") from exc
    try:
        same = os.path.samestat(os.fstat(fd), os.stat(work, follow_symlinks=False))
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


__all__ = ["WorkDir", "open_locked", "part_name", "RECORD", "JOB_FORMAT", "JOB_VERSION"]
