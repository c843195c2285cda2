"""Tests for invimpute.datasets: loaders on the shared data folder, data-home resolution, and the
download path (offline errors, atomic writes, rewriting of upstream formats) with the network faked."""

from __future__ import annotations

import gzip
import os
import pathlib
from typing import BinaryIO

import numpy as np
import pandas as pd
import pytest

from invimpute import datasets

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
UCI_SHAPES = {
    "letter": (20000, 16),
    "spam": (4601, 57),
    "breast": (699, 9),
    "breast_diagnostic": (569, 30),
    "credit": (30000, 23),
    "wine": (178, 13),
}


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    path = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data folder not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _no_env_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datasets.DATA_ENV_VAR, raising=False)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every network fetch fail, recording the URLs that were tried."""
    tried: list[str] = []

    def offline(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
        tried.append(url)
        raise OSError("network is unreachable")

    monkeypatch.setattr(datasets, "_fetch_url", offline)
    return tried


def serve(monkeypatch: pytest.MonkeyPatch, bodies: dict[str, bytes]) -> None:
    """Fake the network: each URL ending with a key of ``bodies`` returns that body."""

    def fetch(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
        for suffix, body in bodies.items():
            if url.endswith(suffix):
                out.write(body)
                return
        raise OSError(f"unexpected URL {url}")

    monkeypatch.setattr(datasets, "_fetch_url", fetch)


# ----------------------------------------------------------------------------- loaders on shared data


def test_mushroom(shared_data: pathlib.Path) -> None:
    frame = datasets.load_mushroom(shared_data, download=False)
    assert frame.shape == (8124, 23)
    assert tuple(frame.columns) == datasets.MUSHROOM_COLUMNS
    assert frame.columns[0] == "class"
    assert all(dtype == object for dtype in frame.dtypes)
    assert int((frame["stalk-root"] == "?").sum()) == 2480
    assert not frame.isna().any().any()
    assert set(frame["class"]) == {"e", "p"}


def test_mushroom_drop_stalk_root(shared_data: pathlib.Path) -> None:
    frame = datasets.load_mushroom(shared_data, drop_stalk_root=True, download=False)
    assert frame.shape == (8124, 22)
    assert "stalk-root" not in frame.columns
    assert not (frame == "?").any().any()


def test_mnist_test_split(shared_data: pathlib.Path) -> None:
    images, labels = datasets.load_mnist(shared_data, split="test", download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert images.max() == 255 and images.min() == 0


def test_mnist_bad_split(shared_data: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="split"):
        datasets.load_mnist(shared_data, split="validation")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", datasets.UCI_TABLES)
def test_uci_shapes(shared_data: pathlib.Path, name: str) -> None:
    frame = datasets.load_uci(name, shared_data, download=False)
    assert frame.shape == UCI_SHAPES[name]
    assert all(pd.api.types.is_numeric_dtype(dtype) for dtype in frame.dtypes)


def test_uci_table_names() -> None:
    assert set(datasets.UCI_TABLES) == set(UCI_SHAPES)


def test_uci_unknown_name_lists_valid_names(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError) as info:
        datasets.load_uci("iris", tmp_path)
    message = str(info.value)
    assert "iris" in message
    for name in datasets.UCI_TABLES:
        assert name in message


def test_digits_table() -> None:
    pytest.importorskip("sklearn")
    images, labels = datasets.load_digits_table()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() == pytest.approx(1.0)
    assert labels.shape == (1797,) and set(np.unique(labels).tolist()) == set(range(10))


def test_available(shared_data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    present = datasets.available(shared_data)
    assert present["mushroom"] and present["mnist_test"]
    assert all(present[name] for name in datasets.UCI_TABLES)
    assert not any(datasets.available(tmp_path).values())
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- data home resolution


def test_data_home_argument_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv(datasets.DATA_ENV_VAR, str(tmp_path / "from-env"))
    assert datasets.data_home(tmp_path / "explicit") == (tmp_path / "explicit").resolve()


def test_data_home_env_var(monkeypatch: pytest.MonkeyPatch, shared_data: pathlib.Path) -> None:
    monkeypatch.setenv(datasets.DATA_ENV_VAR, str(shared_data))
    assert datasets.data_home() == shared_data.resolve()
    assert datasets.load_uci("wine").shape == UCI_SHAPES["wine"]
    assert datasets.available()["mushroom"]


def test_data_home_env_var_relative(monkeypatch: pytest.MonkeyPatch, shared_data: pathlib.Path) -> None:
    monkeypatch.chdir(pathlib.Path(__file__).resolve().parents[1])
    monkeypatch.setenv(datasets.DATA_ENV_VAR, os.path.join("..", "shared", "data"))
    assert datasets.data_home() == shared_data.resolve()


def test_data_home_default(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(datasets.DATA_ENV_VAR, "")
    assert datasets.data_home() == (tmp_path / ".invimpute" / "data").resolve()


# ----------------------------------------------------------------------------- offline / download paths


def test_offline_error_names_path_and_env_var(tmp_path: pathlib.Path, no_network: list[str]) -> None:
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_mushroom(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mushrooms.csv") in message
    assert datasets.DATA_ENV_VAR in message
    assert no_network and no_network[0].startswith("https://")
    assert not (tmp_path / "mushrooms.csv").exists()


@pytest.mark.parametrize("name", datasets.UCI_TABLES)
def test_offline_error_uci(tmp_path: pathlib.Path, no_network: list[str], name: str) -> None:
    with pytest.raises(OSError) as info:
        datasets.load_uci(name, tmp_path)
    assert str(tmp_path / "uci" / f"{name}.csv") in str(info.value)
    assert datasets.DATA_ENV_VAR in str(info.value)


def test_offline_error_mnist_train(tmp_path: pathlib.Path, no_network: list[str]) -> None:
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_mnist(tmp_path, split="train")
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") in str(info.value)
    assert datasets.DATA_ENV_VAR in str(info.value)


def test_download_false_does_not_fetch(tmp_path: pathlib.Path, no_network: list[str]) -> None:
    with pytest.raises(FileNotFoundError, match="download=False"):
        datasets.load_uci("wine", tmp_path, download=False)
    assert no_network == []


def test_atomic_download_leaves_nothing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def partial(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
        out.write(b"\x1f\x8b partial bytes")
        out.flush()
        raise ConnectionResetError("connection reset mid-transfer")

    monkeypatch.setattr(datasets, "_fetch_url", partial)
    with pytest.raises(FileNotFoundError, match="connection reset"):
        datasets.load_mnist(tmp_path, split="test")
    final = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    assert not final.exists()
    assert list((tmp_path / "mnist").iterdir()) == []


def test_download_rejects_bad_content(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, {"wine.data": b"<html>Service unavailable</html>\n"})
    with pytest.raises(FileNotFoundError, match="expected format"):
        datasets.load_uci("wine", tmp_path)
    assert list((tmp_path / "uci").iterdir()) == []


def test_download_rewrites_mushroom(shared_data: pathlib.Path, tmp_path: pathlib.Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (shared_data / "mushrooms.csv").read_bytes().splitlines(keepends=True)
    serve(monkeypatch, {"agaricus-lepiota.data": b"".join(lines[1:])})
    downloaded = datasets.load_mushroom(tmp_path)
    pd.testing.assert_frame_equal(downloaded, datasets.load_mushroom(shared_data, download=False))
    assert datasets.available(tmp_path)["mushroom"]


def test_download_rewrites_uci_tables(shared_data: pathlib.Path, tmp_path: pathlib.Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    local = {name: datasets.load_uci(name, shared_data, download=False) for name in datasets.UCI_TABLES}
    wine = local["wine"].copy()
    wine.insert(0, "class", 1)
    diagnostic = local["breast_diagnostic"].copy()
    diagnostic.insert(0, "diagnosis", "M")
    diagnostic.insert(0, "id", 842302)
    breast = local["breast"].copy()
    breast.insert(0, "col_1", 1000025)
    credit = local["credit"].copy()
    credit.columns = [f"X{i}" for i in range(1, 24)]
    serve(monkeypatch, {
        "GAIN/master/data/letter.csv": (shared_data / "uci" / "letter.csv").read_bytes(),
        "GAIN/master/data/spam.csv": (shared_data / "uci" / "spam.csv").read_bytes(),
        "wine.data": wine.to_csv(index=False, header=False).encode(),
        "wdbc.data": diagnostic.to_csv(index=False, header=False).encode(),
        "gain_data/HEAD/data/breast.csv": breast.to_csv(index=False).encode(),
        "gain_data/HEAD/data/credit.csv": b"\xef\xbb\xbf" + credit.to_csv(index=False).encode(),
    })
    for name in datasets.UCI_TABLES:
        downloaded = datasets.load_uci(name, tmp_path)
        pd.testing.assert_frame_equal(downloaded, local[name], check_dtype=False)
    assert all(datasets.available(tmp_path)[name] for name in datasets.UCI_TABLES)


def test_download_mnist_checks_and_keeps_bytes(shared_data: pathlib.Path, tmp_path: pathlib.Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mnist = shared_data / "mnist"
    serve(monkeypatch, {
        "t10k-images-idx3-ubyte.gz": (mnist / "t10k-images-idx3-ubyte.gz").read_bytes(),
        "t10k-labels-idx1-ubyte.gz": (mnist / "t10k-labels-idx1-ubyte.gz").read_bytes(),
    })
    images, labels = datasets.load_mnist(tmp_path, split="test")
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == MNIST_TEST_COUNTS
    assert (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == (
        mnist / "t10k-labels-idx1-ubyte.gz").read_bytes()


# ----------------------------------------------------------------------------- corrupted files


def _labels_idx(labels: list[int], magic: int = 2049) -> bytes:
    return magic.to_bytes(4, "big") + len(labels).to_bytes(4, "big") + bytes(labels)


def _write_mnist(home: pathlib.Path, images: bytes, labels: bytes) -> None:
    (home / "mnist").mkdir(parents=True)
    (home / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(images)
    (home / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(labels)


def _images_idx(n: int, magic: int = 2051) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
    return header + bytes(n * 28 * 28)


def test_small_valid_idx_roundtrip(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, gzip.compress(_images_idx(3)), gzip.compress(_labels_idx([7, 0, 9])))
    images, labels = datasets.load_mnist(tmp_path, download=False)
    assert images.shape == (3, 28, 28) and labels.tolist() == [7, 0, 9]


def test_corrupted_gzip_names_file(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, b"this is not gzip data", gzip.compress(_labels_idx([1])))
    with pytest.raises(ValueError, match="gzip") as info:
        datasets.load_mnist(tmp_path, download=False)
    assert str(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz") in str(info.value)


def test_truncated_gzip_names_file(tmp_path: pathlib.Path) -> None:
    truncated = gzip.compress(_images_idx(2))[:-12]
    _write_mnist(tmp_path, truncated, gzip.compress(_labels_idx([1, 2])))
    with pytest.raises(ValueError) as info:
        datasets.load_mnist(tmp_path, download=False)
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)


def test_bad_magic_number_names_file(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, gzip.compress(_images_idx(2)), gzip.compress(_labels_idx([1, 2], magic=2051)))
    with pytest.raises(ValueError, match="magic number") as info:
        datasets.load_mnist(tmp_path, download=False)
    assert str(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz") in str(info.value)


def test_size_mismatch_is_reported(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, gzip.compress(_images_idx(2)[:-5]), gzip.compress(_labels_idx([1, 2])))
    with pytest.raises(ValueError, match="truncated or corrupted"):
        datasets.load_mnist(tmp_path, download=False)


def test_mismatched_image_and_label_counts(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, gzip.compress(_images_idx(2)), gzip.compress(_labels_idx([1, 2, 3])))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        datasets.load_mnist(tmp_path, download=False)


def test_wrong_uci_shape_is_reported(tmp_path: pathlib.Path) -> None:
    (tmp_path / "uci").mkdir()
    (tmp_path / "uci" / "wine.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="178 rows x 13 columns"):
        datasets.load_uci("wine", tmp_path, download=False)
