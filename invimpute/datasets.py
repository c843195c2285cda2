"""Loaders for the real data sets used in invimpute's tests, benchmarks and examples.

Every loader reads plain files from one *data home* folder, laid out as::

    mushrooms.csv
    mnist/t10k-images-idx3-ubyte.gz      mnist/t10k-labels-idx1-ubyte.gz
    mnist/train-images-idx3-ubyte.gz     mnist/train-labels-idx1-ubyte.gz
    uci/letter.csv  uci/spam.csv  uci/breast.csv  uci/breast_diagnostic.csv
    uci/credit.csv  uci/wine.csv

The data home is the ``data_home`` argument, else the ``INVIMPUTE_DATA`` environment variable, else
``~/.invimpute/data``. A file that is absent is downloaded from its public source into that
folder (when ``download=True``), written under a temporary name and moved into place only once it is
complete and checked, so an interrupted download never leaves a truncated file behind. Every source
is pinned: a fixed commit for files kept in third-party repositories, and the SHA-256 of the bytes
served, checked before anything is done with them; the stored file's SHA-256 is pinned too and
checked every time a loader reads it (``verify=False`` reads a file of your own anyway). The
diagnostic breast table is written from the copy scikit-learn ships, with no download. Files that come
in another shape upstream (the UCI mushroom file has no header, the UCI wine file carries its class
label, ...) are rewritten into the layout above before they are stored, so a downloaded cache and a
prepared copy of the folder read the same.

Missing values are left exactly as the files write them (for example the mushroom ``?``); finding them is
the job of :mod:`invimpute.missingness`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import pathlib
import shutil
import tempfile
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import pandas as pd

__all__ = [
    "DATA_ENV_VAR",
    "MUSHROOM_COLUMNS",
    "UCI_TABLES",
    "available",
    "data_home",
    "load_digits_table",
    "load_mnist",
    "load_mushroom",
    "load_uci",
]

DATA_ENV_VAR = "INVIMPUTE_DATA"
"""Environment variable naming the data home folder."""

_DEFAULT_HOME = pathlib.Path("~") / ".invimpute" / "data"

MUSHROOM_COLUMNS: tuple[str, ...] = (
    "class", "cap-shape", "cap-surface", "cap-color", "bruises", "odor", "gill-attachment",
    "gill-spacing", "gill-size", "gill-color", "stalk-shape", "stalk-root",
    "stalk-surface-above-ring", "stalk-surface-below-ring", "stalk-color-above-ring",
    "stalk-color-below-ring", "veil-type", "veil-color", "ring-number", "ring-type",
    "spore-print-color", "population", "habitat",
)
"""Columns of the mushroom table: ``class`` (e/p), then the 22 UCI attributes in UCI order."""

UCI_TABLES: tuple[str, ...] = ("letter", "spam", "breast", "breast_diagnostic", "credit", "wine")
"""Names accepted by :func:`load_uci`."""

_UCI_SHAPES: dict[str, tuple[int, int]] = {
    "letter": (20000, 16),
    "spam": (4601, 57),
    "breast": (699, 9),
    "breast_diagnostic": (569, 30),
    "credit": (30000, 23),
    "wine": (178, 13),
}

_BREAST_COLUMNS = tuple(f"col_{i}" for i in range(2, 11))
_CREDIT_COLUMNS = (
    "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE",
    "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
    "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
    "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6",
)
_WINE_COLUMNS = (
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
    "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
    "od280_od315", "proline",
)
_DIAGNOSTIC_FEATURES = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave_points", "symmetry", "fractal_dimension",
)
_DIAGNOSTIC_COLUMNS = (
    tuple(f"mean_{f}" for f in _DIAGNOSTIC_FEATURES)
    + tuple(f"{f}_error" for f in _DIAGNOSTIC_FEATURES)
    + tuple(f"worst_{f}" for f in _DIAGNOSTIC_FEATURES)
)

_MNIST_BASE = "https://storage.googleapis.com/cvdf-datasets/mnist"
_RAW = "https://raw.githubusercontent.com"
_GAIN_RAW = f"{_RAW}/jsyoon0823/GAIN/ed53e6d0be14a8d4ce35eff46449d4047bcb483e/data"
_GAIN_DATA_RAW = f"{_RAW}/tommyngx/gain_data/319d5296fa728bd1c1c5d9232d1be6596248c5ce/data"
_MUSHROOM_RAW = f"{_RAW}/gburlew/mushrooms/92567a3602aa23cc8acaab8e97c009cdef99be08/mushrooms.csv"
_WINE_RAW = f"{_RAW}/guaiyoui/NOMI/547e5577ab82c3c95b991852d1564d1604f0fc8e/data/wine.csv"

_MNIST_MAGIC = {"images": 2051, "labels": 2049}
_MNIST_PREFIX = {"test": "t10k", "train": "train"}
_MNIST_COUNT = {"test": 10000, "train": 60000}

_USER_AGENT = "invimpute-datasets"
_CHUNK = 1 << 16


# ----------------------------------------------------------------------------- data home


def data_home(data_home: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Return the folder the loaders read from and download into.

    Resolution order: the ``data_home`` argument, else the ``INVIMPUTE_DATA`` environment variable (when
    set and non-empty), else ``~/.invimpute/data``. The folder is not created here.
    """
    return _resolve_home(data_home)


def _resolve_home(data_home: str | os.PathLike[str] | None) -> pathlib.Path:
    if data_home is not None:
        chosen = pathlib.Path(data_home)
    elif os.environ.get(DATA_ENV_VAR, "").strip():
        chosen = pathlib.Path(os.environ[DATA_ENV_VAR].strip())
    else:
        chosen = _DEFAULT_HOME
    return chosen.expanduser().resolve()


# ----------------------------------------------------------------------------- downloading


def _fetch_url(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
    """Stream the body of ``url`` into ``out`` (the only function here that touches the network)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        shutil.copyfileobj(response, out, _CHUNK)


def _download(url: str, dest: pathlib.Path, transform: Callable[[bytes], bytes] | None = None) -> None:
    """Download ``url`` to ``dest`` atomically, rewriting the bytes with ``transform`` first.

    The body goes to a temporary file in ``dest``'s folder and is moved onto ``dest`` with
    :func:`os.replace` only after the download and the transform succeeded; on any failure the temporary
    file is removed, so nothing ever appears under ``dest`` half-written. A transform that rejects the
    content raises ``OSError`` naming the URL.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = pathlib.Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch_url(url, out)
        if transform is not None:
            raw = tmp.read_bytes()
            try:
                converted = transform(raw)
            except (ValueError, KeyError, pd.errors.ParserError) as exc:
                raise OSError(f"the file served at {url} is not in the expected format: {exc}") from exc
            tmp.write_bytes(converted)
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@dataclass(frozen=True)
class _Remote:
    """One file of the data home: where it lives, where it comes from, how to rewrite it, and the
    pinned SHA-256 of the bytes served (``sha256``) and of the stored file (``stored``: the hashes of
    the known good copies). ``build`` makes the file locally instead of downloading it."""

    relpath: str
    url: str
    sha256: str
    stored: tuple[str, ...]
    transform: Callable[[bytes], bytes] | None = None
    build: Callable[[], bytes] | None = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify_stored(remote: _Remote, path: pathlib.Path) -> None:
    """Raise ValueError naming ``path`` when its bytes are not those of a known good copy."""
    digest = _sha256(path.read_bytes())
    if digest not in remote.stored:
        raise ValueError(
            f"{path}: its SHA-256 is {digest}, not that of the known copy ({remote.stored[0]}); the file is "
            f"damaged or another version. Delete it to have it downloaded again, or pass verify=False to "
            f"read a file of your own"
        )


def _ensure(remote: _Remote, home: pathlib.Path, download: bool, verify: bool = True) -> pathlib.Path:
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


def _pinned(remote: _Remote) -> Callable[[bytes], bytes]:
    """The transform for a download of ``remote``, checking the served and the stored SHA-256 around it."""

    def transform(raw: bytes) -> bytes:
        if _sha256(raw) != remote.sha256:
            raise ValueError(f"the bytes served have SHA-256 {_sha256(raw)}, the pinned one is {remote.sha256}")
        out = raw if remote.transform is None else remote.transform(raw)
        if _sha256(out) not in remote.stored:
            raise ValueError(f"the rewritten file has SHA-256 {_sha256(out)}, the pinned one is {remote.stored[0]}")
        return out

    return transform


def _store_built(remote: _Remote, path: pathlib.Path) -> None:
    from invimpute.files import write_atomic

    data = remote.build()
    if _sha256(data) not in remote.stored:
        raise OSError(f"the file built for {path} has SHA-256 {_sha256(data)}, the pinned one is {remote.stored[0]}")
    write_atomic(path, data)


# ----------------------------------------------------------------------------- rewriting upstream files


def _read_upstream_csv(raw: bytes, header: bool) -> pd.DataFrame:
    """Parse an upstream CSV body (dropping a byte-order mark) without guessing missing values."""
    text = raw.decode("utf-8-sig")
    return pd.read_csv(
        io.StringIO(text), header=0 if header else None, dtype=object, keep_default_na=False,
        skipinitialspace=True,
    )


def _to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _check_shape(frame: pd.DataFrame, shape: tuple[int, int], what: str) -> None:
    if frame.shape != shape:
        raise ValueError(f"{what}: expected {shape[0]} rows x {shape[1]} columns, got {frame.shape}")


def _mushroom_from_copy(raw: bytes) -> bytes:
    """The public copy's ``mushrooms.csv`` (index and ``id`` columns, ``class`` last) -> ``mushrooms.csv``."""
    frame = _read_upstream_csv(raw, header=True)
    frame = frame.drop(columns=[frame.columns[0], "id"])
    frame = frame[["class"] + [c for c in frame.columns if c != "class"]]
    _check_shape(frame, (8124, len(MUSHROOM_COLUMNS)), "mushroom")
    frame.columns = list(MUSHROOM_COLUMNS)
    return _to_csv_bytes(frame)


def _wine_from_copy(raw: bytes) -> bytes:
    """The public copy's ``wine.csv`` (a class column the header does not name) -> ``uci/wine.csv``."""
    frame = pd.read_csv(io.BytesIO(raw), header=None, skiprows=1).iloc[:, 1:]
    _check_shape(frame, _UCI_SHAPES["wine"], "wine")
    frame.columns = list(_WINE_COLUMNS)
    return _to_csv_bytes(frame)


def _diagnostic_from_sklearn() -> bytes:
    """``uci/breast_diagnostic.csv`` from the copy of the table that scikit-learn ships (6 significant digits)."""
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError as exc:
        raise OSError("the diagnostic breast table is written from scikit-learn's copy: pip install scikit-learn") from exc
    frame = pd.DataFrame(load_breast_cancer().data, columns=list(_DIAGNOSTIC_COLUMNS))
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.6g").encode("utf-8")


def _drop_leading_columns(frame: pd.DataFrame, n_features: int) -> pd.DataFrame:
    """Drop leading identifier/label columns so that exactly ``n_features`` remain."""
    extra = frame.shape[1] - n_features
    if extra < 0:
        raise ValueError(f"expected at least {n_features} columns, got {frame.shape[1]}")
    return frame.iloc[:, extra:]


def _uci_table(name: str, header: bool, columns: tuple[str, ...] | None,
               leading: int | None = None) -> Callable[[bytes], bytes]:
    """Build the transform that rewrites an upstream table into ``uci/<name>.csv``.

    ``leading`` columns (identifiers, class labels) are dropped when given; otherwise any surplus
    leading columns are; ``columns`` renames the result when given, else upstream names are kept.
    """
    shape = _UCI_SHAPES[name]

    def transform(raw: bytes) -> bytes:
        frame = _read_upstream_csv(raw, header=header)
        if leading is not None:
            frame = frame.iloc[:, leading:]
        frame = _drop_leading_columns(frame, shape[1])
        _check_shape(frame, shape, name)
        if columns is not None:
            frame.columns = list(columns)
        return _to_csv_bytes(frame)

    return transform


_MUSHROOM = _Remote(
    "mushrooms.csv", _MUSHROOM_RAW,
    "1153aafa043081550f244c33297b5768709f910bca9c07ce054c3b5658675eec",
    ("7204d38399e2c7c84d85e7a2019081724bb943613e82be5d3523156cfbcf9f64",), _mushroom_from_copy,
)

_UCI_REMOTES: dict[str, _Remote] = {
    "letter": _Remote(
        "uci/letter.csv", f"{_GAIN_RAW}/letter.csv",
        "42835dcd77d1ca6f9cd57b32062683ea836d2fac741be629a76f926396280465",
        ("42835dcd77d1ca6f9cd57b32062683ea836d2fac741be629a76f926396280465",),
    ),
    "spam": _Remote(
        "uci/spam.csv", f"{_GAIN_RAW}/spam.csv",
        "0097a29db5e48ecb268afd175d4f0b603f3cd16d000ca43328ca8ce739070938",
        ("0097a29db5e48ecb268afd175d4f0b603f3cd16d000ca43328ca8ce739070938",),
    ),
    "breast": _Remote(
        "uci/breast.csv", f"{_GAIN_DATA_RAW}/breast.csv",
        "031a0a163603c4c458686cde2ffb768bcf1aeb321a1fd052e98cb16303569ee1",
        ("031a0a163603c4c458686cde2ffb768bcf1aeb321a1fd052e98cb16303569ee1",),
    ),
    "breast_diagnostic": _Remote(
        "uci/breast_diagnostic.csv", "scikit-learn's bundled copy (sklearn.datasets.load_breast_cancer)", "",
        ("ae64e5b7766be9401e88c4d2e35945964704ef24276119bf78546ec9847361b2",), build=_diagnostic_from_sklearn,
    ),
    "credit": _Remote(
        "uci/credit.csv", f"{_GAIN_DATA_RAW}/credit.csv",
        "f8a55ab060d4d0dfda2002ca9792bbb0afb88baf6fdd241f30915af7ec00d908",
        ("96afd8cbfb790ec9b17e509391ee848fe80f719bf3ed77ea07e0d3fcfa90116e",),
        _uci_table("credit", header=True, columns=_CREDIT_COLUMNS),
    ),
    "wine": _Remote(
        "uci/wine.csv", _WINE_RAW,
        "7d96f0ebe08f2c830a0702542b71c6b628aaa7817ded56ef9eaf4931b4fef499",
        ("98c6bc7b102ca0eea74083939c5956c9053dad07cf65671325e99fbdbde15eb3",), _wine_from_copy,
    ),
}


# ----------------------------------------------------------------------------- MNIST (IDX format)


def _parse_idx(raw: bytes, kind: Literal["images", "labels"], source: str) -> np.ndarray:
    """Parse an (already decompressed) IDX body, checking its magic number and its size."""
    ndim = 3 if kind == "images" else 1
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(f"{source}: file too short for an IDX {kind} header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != _MNIST_MAGIC[kind]:
        raise ValueError(
            f"{source}: bad magic number {magic:#010x}, expected {_MNIST_MAGIC[kind]:#010x} for MNIST "
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


def _gunzip(raw: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{source}: not a valid gzip file ({exc}); the file is corrupted") from exc


def _read_idx_gz(path: pathlib.Path, kind: Literal["images", "labels"]) -> np.ndarray:
    """Read a gzipped IDX file, with errors that name the file and how to recover."""
    try:
        return _parse_idx(_gunzip(path.read_bytes(), str(path)), kind, str(path))
    except ValueError as exc:
        raise ValueError(f"{exc}. Delete it to have it downloaded again, or replace it by hand.") from exc


def _mnist_check(kind: Literal["images", "labels"], split: str) -> Callable[[bytes], bytes]:
    """Transform that keeps a downloaded MNIST file unchanged after checking it decodes."""

    def transform(raw: bytes) -> bytes:
        array = _parse_idx(_gunzip(raw, f"MNIST {split} {kind}"), kind, f"MNIST {split} {kind}")
        if array.shape[0] != _MNIST_COUNT[split]:
            raise ValueError(f"expected {_MNIST_COUNT[split]} {kind}, got {array.shape[0]}")
        return raw

    return transform


_MNIST_SHA256 = {  # the canonical files, then the project's prepared copy (another gzip container, same bytes inside)
    "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
    "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
    "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                                  "167310007f03058885c7e95e6c0b19c20de5c7fd3031f4cbdadc9014a523d80b"),
    "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                                  "fc607395669ec21321ea83e4b82c0544b7e8e63ff5b34337c06bc0a17cc0da3c"),
}


def _mnist_remotes(split: str) -> dict[str, _Remote]:
    prefix = _MNIST_PREFIX[split]
    remotes = {}
    for kind, ndim in (("images", 3), ("labels", 1)):
        name = f"{prefix}-{kind}-idx{ndim}-ubyte.gz"
        known = _MNIST_SHA256[name]
        remotes[kind] = _Remote(f"mnist/{name}", f"{_MNIST_BASE}/{name}", known[0], known, _mnist_check(kind, split))
    return remotes


# ----------------------------------------------------------------------------- public loaders


def load_mushroom(
    data_home: str | os.PathLike[str] | None = None,
    drop_stalk_root: bool = False,
    download: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Load the UCI Mushroom table: 8124 rows, ``class`` then the 22 categorical attributes.

    All cells are strings (object dtype) exactly as written, so ``stalk-root`` keeps its 2480 ``?``
    markers for missingness detection downstream. ``drop_stalk_root=True`` drops that column, giving the
    22-column table of the reference study.
    """
    path = _ensure(_MUSHROOM, _resolve_home(data_home), download, verify)
    frame = pd.read_csv(path, dtype=object, keep_default_na=False, na_filter=False)
    if tuple(frame.columns) != MUSHROOM_COLUMNS:
        raise ValueError(
            f"{path}: unexpected columns {list(frame.columns)}; expected {list(MUSHROOM_COLUMNS)}"
        )
    if drop_stalk_root:
        frame = frame.drop(columns="stalk-root")
    return frame


def load_mnist(
    data_home: str | os.PathLike[str] | None = None,
    split: Literal["test", "train"] = "test",
    download: bool = True,
    verify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load one MNIST split from its gzipped IDX files.

    Returns ``(images, labels)``: uint8 arrays shaped ``(n, 28, 28)`` and ``(n,)`` (n = 10000 for
    ``"test"``, 60000 for ``"train"``). Magic numbers and sizes are checked, and a corrupted file raises
    ``ValueError`` naming it.
    """
    if split not in _MNIST_PREFIX:
        raise ValueError(f"split must be one of {sorted(_MNIST_PREFIX)}, got {split!r}")
    home = _resolve_home(data_home)
    remotes = _mnist_remotes(split)
    images = _read_idx_gz(_ensure(remotes["images"], home, download, verify), "images")
    labels = _read_idx_gz(_ensure(remotes["labels"], home, download, verify), "labels")
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{home / remotes['images'].relpath}: images are {images.shape[1:]}, not 28x28")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST {split}: {images.shape[0]} images but {labels.shape[0]} labels under {home / 'mnist'}"
        )
    return images, labels


def load_uci(
    name: str,
    data_home: str | os.PathLike[str] | None = None,
    download: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Load one of the numeric UCI tables of the GAIN benchmarks (see :data:`UCI_TABLES`).

    Only features are returned (class labels are not part of these files), with the column names of
    ``uci/<name>.csv``; the shape is checked against the known size of each table.
    """
    if name not in _UCI_REMOTES:
        raise ValueError(f"unknown UCI table {name!r}; valid names: {', '.join(UCI_TABLES)}")
    remote = _UCI_REMOTES[name]
    path = _ensure(remote, _resolve_home(data_home), download, verify)
    frame = pd.read_csv(path, encoding="utf-8-sig")
    try:
        _check_shape(frame, _UCI_SHAPES[name], str(path))
    except ValueError as exc:
        raise ValueError(f"{exc}. Delete the file to have it downloaded again.") from exc
    return frame


def load_digits_table() -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's bundled 8x8 digits: an offline image set needing no data folder.

    Returns ``(images, labels)``: float32 images in [0, 1] shaped ``(1797, 8, 8)`` and uint8 labels.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits_table needs scikit-learn: pip install invimpute[baselines]"
        ) from exc
    digits = load_digits()
    images = (np.asarray(digits.images, dtype=np.float32) / np.float32(16.0)).reshape(-1, 8, 8)
    labels = np.asarray(digits.target, dtype=np.uint8)
    return images, labels


def available(data_home: str | os.PathLike[str] | None = None) -> dict[str, bool]:
    """Report which data sets are present under the data home, without downloading anything.

    Keys are ``"mushroom"``, ``"mnist_test"``, ``"mnist_train"`` and the :data:`UCI_TABLES` names; an
    MNIST split counts as present when both its image and label files are.
    """
    home = _resolve_home(data_home)
    present = {"mushroom": (home / _MUSHROOM.relpath).is_file()}
    for split in ("test", "train"):
        present[f"mnist_{split}"] = all(
            (home / remote.relpath).is_file() for remote in _mnist_remotes(split).values()
        )
    for name in UCI_TABLES:
        present[name] = (home / _UCI_REMOTES[name].relpath).is_file()
    return present
