"""The loaders: each data set read from its file in the data home (fetched first when absent) and checked."""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import pandas as pd

from invimpute.datasets import fetching
from invimpute.datasets.idx import read_idx_gz
from invimpute.datasets.sources import (MNIST_PREFIX, MUSHROOM, MUSHROOM_COLUMNS, UCI_REMOTES, UCI_SHAPES, UCI_TABLES,
                                        check_shape, mnist_remotes)


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
    path = fetching.ensure(MUSHROOM, fetching.data_home(data_home), download, verify)
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
    if split not in MNIST_PREFIX:
        raise ValueError(f"split must be one of {sorted(MNIST_PREFIX)}, got {split!r}")
    home = fetching.data_home(data_home)
    remotes = mnist_remotes(split)
    images = read_idx_gz(fetching.ensure(remotes["images"], home, download, verify), "images")
    labels = read_idx_gz(fetching.ensure(remotes["labels"], home, download, verify), "labels")
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
    if name not in UCI_REMOTES:
        raise ValueError(f"unknown UCI table {name!r}; valid names: {', '.join(UCI_TABLES)}")
    remote = UCI_REMOTES[name]
    path = fetching.ensure(remote, fetching.data_home(data_home), download, verify)
    frame = pd.read_csv(path, encoding="utf-8-sig")
    try:
        check_shape(frame, UCI_SHAPES[name], str(path))
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
    home = fetching.data_home(data_home)
    present = {"mushroom": (home / MUSHROOM.relpath).is_file()}
    for split in ("test", "train"):
        present[f"mnist_{split}"] = all(
            (home / remote.relpath).is_file() for remote in mnist_remotes(split).values()
        )
    for name in UCI_TABLES:
        present[name] = (home / UCI_REMOTES[name].relpath).is_file()
    return present


__all__ = ["available", "load_digits_table", "load_mnist", "load_mushroom", "load_uci"]
