"""Tests for invimpute.datasets: loaders on the shared data folder, data-home resolution, and the
download path (offline errors, atomic writes, rewriting of upstream formats) with the network faked."""

from __future__ import annotations

import gzip
import os
import pathlib
import re
from typing import BinaryIO

import numpy as np
import pandas as pd
import pytest

from invimpute import datasets
from invimpute.datasets import fetching, sources

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
UCI_SHAPES = {
    "letter": (20000, 16),
    "spam": (4601, 57),
    "breast": (699, 9),
    "breast_diagnostic": (569, 30),
    "credit": (30000, 23),
    "wine": (178, 13),
}


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

    monkeypatch.setattr(fetching, "_fetch_url", offline)
    return tried


def serve(monkeypatch: pytest.MonkeyPatch, bodies: dict[str, bytes]) -> None:
    """Fake the network: each URL ending with a key of ``bodies`` returns that body."""

    def fetch(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
        for suffix, body in bodies.items():
            if url.endswith(suffix):
                out.write(body)
                return
        raise OSError(f"unexpected URL {url}")

    monkeypatch.setattr(fetching, "_fetch_url", fetch)


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
    root = pathlib.Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    monkeypatch.setenv(datasets.DATA_ENV_VAR, os.path.relpath(shared_data, root))
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


@pytest.mark.parametrize("name", [n for n in datasets.UCI_TABLES if n != "breast_diagnostic"])
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

    monkeypatch.setattr(fetching, "_fetch_url", partial)
    with pytest.raises(FileNotFoundError, match="connection reset"):
        datasets.load_mnist(tmp_path, split="test")
    final = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    assert not final.exists()
    assert list((tmp_path / "mnist").iterdir()) == []


def test_download_rejects_bad_content(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, {"wine.csv": b"<html>Service unavailable</html>\n"})
    with pytest.raises(FileNotFoundError, match="expected format"):
        datasets.load_uci("wine", tmp_path)
    assert list((tmp_path / "uci").iterdir()) == []


def test_every_source_is_pinned() -> None:
    remotes = [sources.MUSHROOM, *sources.UCI_REMOTES.values(),
               *sources.mnist_remotes("test").values(), *sources.mnist_remotes("train").values()]
    for remote in remotes:
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in remote.stored), remote.relpath
        if remote.build is not None:
            continue
        assert len(remote.sha256) == 64, remote.relpath
        if "githubusercontent" in remote.url:
            assert re.search(r"/[0-9a-f]{40}/", remote.url), f"{remote.url} is not at a fixed commit"
            assert "/HEAD/" not in remote.url and "/master/" not in remote.url


def test_download_with_the_pinned_bytes_is_stored(shared_data: pathlib.Path, tmp_path: pathlib.Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []
    bodies = {name: (shared_data / "uci" / f"{name}.csv").read_bytes() for name in ("letter", "spam", "breast")}

    def fetch(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
        tried.append(url)
        out.write(bodies[url.rsplit("/", 1)[1][:-4]])

    monkeypatch.setattr(fetching, "_fetch_url", fetch)
    for name in bodies:
        pd.testing.assert_frame_equal(datasets.load_uci(name, tmp_path), datasets.load_uci(name, shared_data))
    assert all(re.search(r"/[0-9a-f]{40}/data/", url) for url in tried)


def test_download_with_other_bytes_is_refused(shared_data: pathlib.Path, tmp_path: pathlib.Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 10: well-formed bytes of the right shape that are not the pinned file are never stored."""
    text = (shared_data / "uci" / "letter.csv").read_text().splitlines(keepends=True)
    text[5] = "9" + text[5][1:] if not text[5].startswith("9") else "8" + text[5][1:]
    serve(monkeypatch, {"letter.csv": "".join(text).encode()})
    with pytest.raises(FileNotFoundError, match="SHA-256"):
        datasets.load_uci("letter", tmp_path)
    assert list((tmp_path / "uci").iterdir()) == []
    mnist = shared_data / "mnist"
    serve(monkeypatch, {"t10k-images-idx3-ubyte.gz": gzip.compress(gzip.decompress((mnist / "t10k-images-idx3-ubyte.gz").read_bytes())[:-1] + b"\x01"),
                        "t10k-labels-idx1-ubyte.gz": (mnist / "t10k-labels-idx1-ubyte.gz").read_bytes()})
    with pytest.raises(FileNotFoundError, match="SHA-256"):
        datasets.load_mnist(tmp_path, split="test")
    assert not (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").exists()


def test_a_changed_stored_file_is_refused_before_use(shared_data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    (tmp_path / "uci").mkdir()
    lines = (shared_data / "uci" / "wine.csv").read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("14.23", "14.24", 1)
    (tmp_path / "uci" / "wine.csv").write_text("".join(lines))
    with pytest.raises(ValueError, match="SHA-256") as info:
        datasets.load_uci("wine", tmp_path, download=False)
    assert str(tmp_path / "uci" / "wine.csv") in str(info.value) and "verify=False" in str(info.value)
    assert datasets.load_uci("wine", tmp_path, download=False, verify=False).iloc[0, 0] == 14.24


def test_diagnostic_table_is_built_offline_from_scikit_learn(shared_data: pathlib.Path, tmp_path: pathlib.Path,
                                                           no_network: list[str]) -> None:
    built = datasets.load_uci("breast_diagnostic", tmp_path)
    pd.testing.assert_frame_equal(built, datasets.load_uci("breast_diagnostic", shared_data))
    assert no_network == []


def test_download_rewrites_mushroom(shared_data: pathlib.Path, tmp_path: pathlib.Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    local = datasets.load_mushroom(shared_data)
    copy = local[[c for c in local.columns if c != "class"] + ["class"]].copy()
    copy.insert(0, "id", range(1, len(copy) + 1))
    upstream = copy.to_csv(lineterminator="\n").encode()  # the public copy's layout, byte for byte
    assert fetching.sha256(upstream) == sources.MUSHROOM.sha256
    serve(monkeypatch, {"mushrooms.csv": upstream})
    pd.testing.assert_frame_equal(datasets.load_mushroom(tmp_path), local)


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
    images, labels = datasets.load_mnist(tmp_path, download=False, verify=False)
    assert images.shape == (3, 28, 28) and labels.tolist() == [7, 0, 9]


def test_corrupted_gzip_names_file(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, b"this is not gzip data", gzip.compress(_labels_idx([1])))
    with pytest.raises(ValueError, match="gzip") as info:
        datasets.load_mnist(tmp_path, download=False, verify=False)
    assert str(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz") in str(info.value)


def test_truncated_gzip_names_file(tmp_path: pathlib.Path) -> None:
    truncated = gzip.compress(_images_idx(2))[:-12]
    _write_mnist(tmp_path, truncated, gzip.compress(_labels_idx([1, 2])))
    with pytest.raises(ValueError) as info:
        datasets.load_mnist(tmp_path, download=False, verify=False)
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)


def test_bad_magic_number_names_file(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, gzip.compress(_images_idx(2)), gzip.compress(_labels_idx([1, 2], magic=2051)))
    with pytest.raises(ValueError, match="magic number") as info:
        datasets.load_mnist(tmp_path, download=False, verify=False)
    assert str(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz") in str(info.value)


def test_size_mismatch_is_reported(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, gzip.compress(_images_idx(2)[:-5]), gzip.compress(_labels_idx([1, 2])))
    with pytest.raises(ValueError, match="truncated or corrupted"):
        datasets.load_mnist(tmp_path, download=False, verify=False)


def test_mismatched_image_and_label_counts(tmp_path: pathlib.Path) -> None:
    _write_mnist(tmp_path, gzip.compress(_images_idx(2)), gzip.compress(_labels_idx([1, 2, 3])))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        datasets.load_mnist(tmp_path, download=False, verify=False)


def test_wrong_uci_shape_is_reported(tmp_path: pathlib.Path) -> None:
    (tmp_path / "uci").mkdir()
    (tmp_path / "uci" / "wine.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="178 rows x 13 columns"):
        datasets.load_uci("wine", tmp_path, download=False, verify=False)
