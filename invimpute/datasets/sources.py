"""Where each data set's files come from, pinned, and how an upstream file is rewritten into the data home's layout.

Files that come in another shape upstream (the UCI mushroom file has no header, the UCI wine file carries
its class label, ...) are rewritten before they are stored, so a downloaded cache and a prepared copy of
the folder read the same. The diagnostic breast table is written from the copy scikit-learn ships, with
no download. Every source is pinned: a fixed commit for files kept in third-party repositories, and the
SHA-256 of the bytes served and of the file stored (see :mod:`invimpute.datasets.fetching`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Literal

import pandas as pd

from invimpute.datasets.fetching import Remote
from invimpute.datasets.idx import gunzip, parse_idx

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

UCI_SHAPES: dict[str, tuple[int, int]] = {
    "letter": (20000, 16),
    "spam": (4601, 57),
    "breast": (699, 9),
    "breast_diagnostic": (569, 30),
    "credit": (30000, 23),
    "wine": (178, 13),
}
"""Rows and feature columns of each UCI table."""

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

MNIST_PREFIX = {"test": "t10k", "train": "train"}
"""The file-name prefix of each MNIST split."""
_MNIST_COUNT = {"test": 10000, "train": 60000}


def _read_upstream_csv(raw: bytes, header: bool) -> pd.DataFrame:
    """Parse an upstream CSV body (dropping a byte-order mark) without guessing missing values."""
    text = raw.decode("utf-8-sig")
    return pd.read_csv(
        io.StringIO(text), header=0 if header else None, dtype=object, keep_default_na=False,
        skipinitialspace=True,
    )


def _to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def check_shape(frame: pd.DataFrame, shape: tuple[int, int], what: str) -> None:
    """Raise ValueError naming ``what`` when ``frame`` is not ``shape`` (rows, columns)."""
    if frame.shape != shape:
        raise ValueError(f"{what}: expected {shape[0]} rows x {shape[1]} columns, got {frame.shape}")


def _mushroom_from_copy(raw: bytes) -> bytes:
    """The public copy's ``mushrooms.csv`` (index and ``id`` columns, ``class`` last) -> ``mushrooms.csv``."""
    frame = _read_upstream_csv(raw, header=True)
    frame = frame.drop(columns=[frame.columns[0], "id"])
    frame = frame[["class"] + [c for c in frame.columns if c != "class"]]
    check_shape(frame, (8124, len(MUSHROOM_COLUMNS)), "mushroom")
    frame.columns = list(MUSHROOM_COLUMNS)
    return _to_csv_bytes(frame)


def _wine_from_copy(raw: bytes) -> bytes:
    """The public copy's ``wine.csv`` (a class column the header does not name) -> ``uci/wine.csv``."""
    frame = pd.read_csv(io.BytesIO(raw), header=None, skiprows=1).iloc[:, 1:]
    check_shape(frame, UCI_SHAPES["wine"], "wine")
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
    shape = UCI_SHAPES[name]

    def transform(raw: bytes) -> bytes:
        frame = _read_upstream_csv(raw, header=header)
        if leading is not None:
            frame = frame.iloc[:, leading:]
        frame = _drop_leading_columns(frame, shape[1])
        check_shape(frame, shape, name)
        if columns is not None:
            frame.columns = list(columns)
        return _to_csv_bytes(frame)

    return transform


MUSHROOM = Remote(
    "mushrooms.csv", _MUSHROOM_RAW,
    "1153aafa043081550f244c33297b5768709f910bca9c07ce054c3b5658675eec",
    ("7204d38399e2c7c84d85e7a2019081724bb943613e82be5d3523156cfbcf9f64",), _mushroom_from_copy,
)

UCI_REMOTES: dict[str, Remote] = {
    "letter": Remote(
        "uci/letter.csv", f"{_GAIN_RAW}/letter.csv",
        "42835dcd77d1ca6f9cd57b32062683ea836d2fac741be629a76f926396280465",
        ("42835dcd77d1ca6f9cd57b32062683ea836d2fac741be629a76f926396280465",),
    ),
    "spam": Remote(
        "uci/spam.csv", f"{_GAIN_RAW}/spam.csv",
        "0097a29db5e48ecb268afd175d4f0b603f3cd16d000ca43328ca8ce739070938",
        ("0097a29db5e48ecb268afd175d4f0b603f3cd16d000ca43328ca8ce739070938",),
    ),
    "breast": Remote(
        "uci/breast.csv", f"{_GAIN_DATA_RAW}/breast.csv",
        "031a0a163603c4c458686cde2ffb768bcf1aeb321a1fd052e98cb16303569ee1",
        ("031a0a163603c4c458686cde2ffb768bcf1aeb321a1fd052e98cb16303569ee1",),
    ),
    "breast_diagnostic": Remote(
        "uci/breast_diagnostic.csv", "scikit-learn's bundled copy (sklearn.datasets.load_breast_cancer)", "",
        ("ae64e5b7766be9401e88c4d2e35945964704ef24276119bf78546ec9847361b2",), build=_diagnostic_from_sklearn,
    ),
    "credit": Remote(
        "uci/credit.csv", f"{_GAIN_DATA_RAW}/credit.csv",
        "f8a55ab060d4d0dfda2002ca9792bbb0afb88baf6fdd241f30915af7ec00d908",
        ("96afd8cbfb790ec9b17e509391ee848fe80f719bf3ed77ea07e0d3fcfa90116e",),
        _uci_table("credit", header=True, columns=_CREDIT_COLUMNS),
    ),
    "wine": Remote(
        "uci/wine.csv", _WINE_RAW,
        "7d96f0ebe08f2c830a0702542b71c6b628aaa7817ded56ef9eaf4931b4fef499",
        ("98c6bc7b102ca0eea74083939c5956c9053dad07cf65671325e99fbdbde15eb3",), _wine_from_copy,
    ),
}


def _mnist_check(kind: Literal["images", "labels"], split: str) -> Callable[[bytes], bytes]:
    """Transform that keeps a downloaded MNIST file unchanged after checking it decodes."""

    def transform(raw: bytes) -> bytes:
        array = parse_idx(gunzip(raw, f"MNIST {split} {kind}"), kind, f"MNIST {split} {kind}")
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


def mnist_remotes(split: str) -> dict[str, Remote]:
    """The pinned image and label files of one MNIST split, by ``"images"`` / ``"labels"``."""
    prefix = MNIST_PREFIX[split]
    remotes = {}
    for kind, ndim in (("images", 3), ("labels", 1)):
        name = f"{prefix}-{kind}-idx{ndim}-ubyte.gz"
        known = _MNIST_SHA256[name]
        remotes[kind] = Remote(f"mnist/{name}", f"{_MNIST_BASE}/{name}", known[0], known, _mnist_check(kind, split))
    return remotes


__all__ = ["MUSHROOM_COLUMNS", "UCI_TABLES", "UCI_SHAPES", "MNIST_PREFIX", "MUSHROOM", "UCI_REMOTES", "mnist_remotes",
           "check_shape"]
