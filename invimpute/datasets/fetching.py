"""The data home and its files: where they live, fetched once from a pinned source, checked every time.

A file that is absent is downloaded from its public source into the data home (when ``download=True``)
and stored through :func:`invimpute.runtime.files.write_atomic` only once it is complete and checked, so an
interrupted download never leaves a truncated file behind. Every source is pinned by the SHA-256 of the
bytes served, and the stored file's SHA-256 is pinned too and checked every time a loader reads it
(``verify=False`` reads a file of your own anyway). A file can also be *built* locally instead of
downloaded (``Remote.build``).
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import pandas as pd

from invimpute.runtime.files import write_atomic

DATA_ENV_VAR = "INVIMPUTE_DATA"
"""Environment variable naming the data home folder."""

_DEFAULT_HOME = pathlib.Path("~") / ".invimpute" / "data"
_USER_AGENT = "invimpute-datasets"
_CHUNK = 1 << 16


def data_home(data_home: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Return the folder the loaders read from and download into.

    Resolution order: the ``data_home`` argument, else the ``INVIMPUTE_DATA`` environment variable (when
    set and non-empty), else ``~/.invimpute/data``. The folder is not created here.
    """
    if data_home is not None:
        chosen = pathlib.Path(data_home)
    elif os.environ.get(DATA_ENV_VAR, "").strip():
        chosen = pathlib.Path(os.environ[DATA_ENV_VAR].strip())
    else:
        chosen = _DEFAULT_HOME
    return chosen.expanduser().resolve()


@dataclass(frozen=True)
class Remote:
    """One file of the data home: where it lives, where it comes from, how to rewrite it, and the
    pinned SHA-256 of the bytes served (``sha256``) and of the stored file (``stored``: the hashes of
    the known good copies). ``build`` makes the file locally instead of downloading it."""

    relpath: str
    url: str
    sha256: str
    stored: tuple[str, ...]
    transform: Callable[[bytes], bytes] | None = None
    build: Callable[[], bytes] | None = None


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``: what every source and stored file is pinned by."""
    return hashlib.sha256(data).hexdigest()


def _fetch_url(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
    """Stream the body of ``url`` into ``out`` (the only function here that touches the network)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        shutil.copyfileobj(response, out, _CHUNK)


def _download(url: str, dest: pathlib.Path, transform: Callable[[bytes], bytes]) -> None:
    """Download ``url``, rewrite the bytes with ``transform`` and store them at ``dest`` in one step.

    The body is held in memory until the download and the transform succeeded, so nothing ever appears
    under ``dest`` half-written. A transform that rejects the content raises ``OSError`` naming the URL.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    body = io.BytesIO()
    _fetch_url(url, body)
    try:
        converted = transform(body.getvalue())
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise OSError(f"the file served at {url} is not in the expected format: {exc}") from exc
    write_atomic(dest, converted)


def _verify_stored(remote: Remote, path: pathlib.Path) -> None:
    """Raise ValueError naming ``path`` when its bytes are not those of a known good copy."""
    digest = sha256(path.read_bytes())
    if digest not in remote.stored:
        raise ValueError(
            f"{path}: its SHA-256 is {digest}, not that of the known copy ({remote.stored[0]}); the file is "
            f"damaged or another version. Delete it to have it downloaded again, or pass verify=False to "
            f"read a file of your own"
        )


def ensure(remote: Remote, home: pathlib.Path, download: bool, verify: bool = True) -> pathlib.Path:
    """Return the local path of ``remote`` under ``home``, downloading it first if absent and allowed;
    with ``verify`` the file's SHA-256 is checked against the pinned one before it is used."""
    path = home / remote.relpath
    if path.is_file():
        if verify:
            _verify_stored(remote, path)
        return path
    how_to_fix = (
        f"To fix: set the {DATA_ENV_VAR} environment variable (or pass data_home=) to a folder that "
        f"holds '{remote.relpath}'"
    )
    if not download:
        raise FileNotFoundError(
            f"Data file not found: {path} (download=False). {how_to_fix}, or call again with "
            f"download=True to fetch it from {remote.url}."
        )
    try:
        if remote.build is not None:
            _store_built(remote, path)
        else:
            _download(remote.url, path, _pinned(remote))
    except OSError as exc:
        raise FileNotFoundError(
            f"Data file not found: {path}, and downloading it from {remote.url} failed ({exc}). "
            f"{how_to_fix}, or call again with network access and write access to {path.parent}."
        ) from exc
    return path


def _pinned(remote: Remote) -> Callable[[bytes], bytes]:
    """The transform for a download of ``remote``, checking the served and the stored SHA-256 around it."""

    def transform(raw: bytes) -> bytes:
        if sha256(raw) != remote.sha256:
            raise ValueError(f"the bytes served have SHA-256 {sha256(raw)}, the pinned one is {remote.sha256}")
        out = raw if remote.transform is None else remote.transform(raw)
        if sha256(out) not in remote.stored:
            raise ValueError(f"the rewritten file has SHA-256 {sha256(out)}, the pinned one is {remote.stored[0]}")
        return out

    return transform


def _store_built(remote: Remote, path: pathlib.Path) -> None:
    data = remote.build()
    if sha256(data) not in remote.stored:
        raise OSError(f"the file built for {path} has SHA-256 {sha256(data)}, the pinned one is {remote.stored[0]}")
    write_atomic(path, data)


__all__ = ["DATA_ENV_VAR", "Remote", "data_home", "ensure", "sha256"]
