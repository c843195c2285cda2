"""JAX's persistent compilation cache, so a second process does not compile the same programs again.

Every new process (a command-line run, a Ray worker) pays XLA compilation of the inversion and training
programs on its first call. JAX can keep compiled programs on disk, keyed by the program, its shapes and
the backend, and load them in any later process; :func:`enable` points it at the platform's per-user
cache folder (:func:`default_dir`: ``$XDG_CACHE_HOME/invimpute/jax`` or ``~/.cache/invimpute/jax`` on Linux,
``~/Library/Caches/invimpute/jax`` on macOS, ``%LOCALAPPDATA%/invimpute/jax`` on Windows), never the data
folder, which may be read-only or shared. The environment variable ``INVIMPUTE_COMPILE_CACHE`` switches it:
unset, ``1`` or ``on`` for that folder, ``0`` or ``off`` for no cache, any other value for a folder of its own. The cache only saves time: an unwritable folder gives a
warning and the process compiles as usual.

The command line and the Ray actors call :func:`enable`; the Python API calls :func:`ensure` at the
:class:`~invimpute.Imputer`'s first fit or transform, which enables the cache once per process as the
environment variable says, unless :func:`enable` was already called (call ``enable(False)`` or
``enable("/some/folder")`` before the first fit to turn it off or move it from Python).
"""

from __future__ import annotations

import logging
import os
import pathlib
import sys
import tempfile

LOG = logging.getLogger("invimpute.runtime.compile_cache")

ENV_VAR = "INVIMPUTE_COMPILE_CACHE"
FOLDER = ("invimpute", "jax")
OFF = ("0", "off", "false", "no")
ON = ("", "1", "on", "true", "yes")

Setting = bool | str | os.PathLike | None

_STATE: dict[str, object] = {}
"""Whether :func:`enable` ran in this process (``"set"``) and the folder it chose (``"path"``)."""


def default_dir() -> pathlib.Path:
    """The platform's per-user cache folder for compiled programs."""
    if sys.platform == "win32":
        base = pathlib.Path(os.environ.get("LOCALAPPDATA") or pathlib.Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = pathlib.Path.home() / "Library" / "Caches"
    else:
        base = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    return base.joinpath(*FOLDER)


def cache_dir(setting: Setting = None) -> pathlib.Path | None:
    """The cache folder that ``setting`` asks for, or None for no cache.

    ``setting`` is True (the default folder), False (off), a folder, or None to follow
    ``INVIMPUTE_COMPILE_CACHE`` (default: on, in :func:`default_dir`).
    """
    if setting is None:
        setting = os.environ.get(ENV_VAR, "")
    if isinstance(setting, bool):
        setting = "on" if setting else "off"
    text = os.fspath(setting).strip()
    if text.lower() in OFF:
        return None
    if text.lower() in ON:
        return default_dir()
    return pathlib.Path(text).expanduser().resolve()


def _writable(path: pathlib.Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def enable(setting: Setting = None) -> pathlib.Path | None:
    """Store and look up this process's compiled programs in :func:`cache_dir` (``setting``).

    Call it before the first compilation (JAX reads the setting once). Every program is cached, however
    quickly it compiled. Returns the folder in use, or None when the cache is off or the folder cannot
    be written (a warning says which).
    """
    path = cache_dir(setting)
    _STATE.update(set=True, path=None)
    if path is None:
        return None
    if not _writable(path):
        LOG.warning("compilation cache folder %s cannot be written; compiling without a cache (set %s=off "
                    "to silence this, or to a writable folder)", path, ENV_VAR)
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _STATE["path"] = path
    return path


def ensure() -> pathlib.Path | None:
    """:func:`enable` as ``INVIMPUTE_COMPILE_CACHE`` says, once per process; a no-op once :func:`enable`
    has run (the caller's choice stands). Returns the folder in use, or None."""
    if not _STATE.get("set"):
        enable(None)
    return _STATE.get("path")


__all__ = ["enable", "ensure", "cache_dir", "default_dir", "ENV_VAR"]
