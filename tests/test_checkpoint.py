"""Tests for invimpute.checkpoint.store: bit-identical save/load round trips, atomic saving, and clear errors for
unsupported methods, other format versions and corrupted checkpoints. Models are tiny (2 epochs, 5
inversion steps) so the module runs in seconds."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer, InversionConfig, checkpoint
from invimpute.checkpoint import store
from invimpute.checkpoint.store import CheckpointError

TINY = dict(model={"hidden": [16], "latent": 4}, train={"epochs": 2, "batch_size": 32}, inversion={"steps": 5}, seed=3)


def _table(n: int, seed: int) -> pd.DataFrame:
    """A mixed table with missing cells in every column."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    df = pd.DataFrame({
        "size": 2.0 * z + 0.1 * rng.normal(size=n),
        "count": np.rint(3 * z + 10),
        "color": np.where(z > 0.4, "red", np.where(z < -0.4, "blue", "green")).astype(object),
        "flag": (z + 0.3 * rng.normal(size=n) > 0).astype(object),
    })
    return df.mask(rng.random(df.shape) < 0.2)


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return _table(120, 0)


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    """New rows, as many as ``train`` so the compiled inversion is reused."""
    return _table(120, 1)


@pytest.fixture(scope="module")
def models(train) -> dict[str, Imputer]:
    """Tiny fitted models by method, each fitted once for the whole module."""
    return {method: Imputer(method, **TINY).fit(train) for method in ("ae", "reverse", "auto")}


@pytest.fixture(scope="module", params=["ae", "reverse", "auto"])
def fitted(request, models) -> Imputer:
    return models[request.param]


@pytest.fixture(scope="module")
def saved(tmp_path_factory, models) -> pathlib.Path:
    """A saved reverse model, for the corruption tests to copy and damage."""
    return checkpoint.save(models["reverse"], tmp_path_factory.mktemp("ck") / "model")


def resign(manifest: dict) -> dict:
    """``manifest`` with its integrity record recomputed, as a deliberate forger would: the content
    checks behind the record must still catch what it no longer does."""
    manifest = dict(manifest)
    manifest["integrity"] = dict(manifest["integrity"])
    manifest["integrity"]["manifest"] = hashlib.sha256(store._canonical(manifest)).hexdigest()
    return manifest


def _copy(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_round_trip_is_bit_identical(fitted, train, fresh, tmp_path):
    path = checkpoint.save(fitted, tmp_path / "model")
    assert sorted(os.listdir(path)) == ["arrays.npz", "manifest.json"]
    loaded = checkpoint.load(path)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.encoder_.schema == fitted.encoder_.schema
    assert checkpoint.fingerprint(loaded) == checkpoint.fingerprint(fitted)
    cal, cal_loaded = getattr(fitted, "calibration_", None), getattr(loaded, "calibration_", None)
    assert (cal is None) == (cal_loaded is None)
    if cal is not None:
        for name, value in vars(cal).items():
            np.testing.assert_array_equal(getattr(cal_loaded, name), value)
    for data in (train, fresh):
        a, b = fitted.transform(data), loaded.transform(data)
        assert a.equals(b)
        assert list(a.dtypes) == list(b.dtypes)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["params"]["method"] == fitted.method
    assert manifest["schema"]["columns"][0]["name"] == "size"


def test_ensemble_round_trip(train, fresh, tmp_path):
    """Two recurrent members trained together save and load one by one, with their histories and the fills
    the recurrent method returns on its training table."""
    imp = Imputer("recurrent", **{**TINY, "train": {**TINY["train"], "members": 2}}).fit(train)
    loaded = checkpoint.load(checkpoint.save(imp, tmp_path / "ens"))
    assert len(loaded.method_.models_) == 2
    assert loaded.method_.histories_ == imp.method_.histories_
    for a, b in zip(loaded.method_.fills_, imp.method_.fills_):
        np.testing.assert_array_equal(a, b)
    for data in (train, fresh):
        assert imp.transform(data).equals(loaded.transform(data))

def test_mean_method_and_tagged_params_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((30, 3))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[0, 1] = -999.0
    imp = Imputer("mean", encoding={"sentinels": {1: [-999.0]}, "categorical": (), "tokens": ("?",)},
                  inversion=InversionConfig(steps=7)).fit(x)
    loaded = checkpoint.load(checkpoint.save(imp, tmp_path / "m"))
    assert loaded.get_params() == imp.get_params()
    assert loaded.encoding["sentinels"] == {1: [-999.0]} and loaded.encoding["tokens"] == ("?",)
    assert loaded.inversion == InversionConfig(steps=7)
    np.testing.assert_array_equal(loaded.transform(x), imp.transform(x))


def test_save_is_atomic_and_refuses_to_clobber(fitted, tmp_path, monkeypatch):
    target = tmp_path / "model"
    checkpoint.save(fitted, target)
    with pytest.raises(FileExistsError, match="already exists"):
        checkpoint.save(fitted, target)
    checkpoint.save(fitted, target, overwrite=True)
    other = tmp_path / "not_a_model"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not an invimpute checkpoint"):
        checkpoint.save(fitted, other, overwrite=True)
    assert (other / "keep.txt").read_text() == "precious"

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(fitted, tmp_path / "never")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "not_a_model"]


def test_unknown_and_unfitted():
    with pytest.raises(ValueError, match=r"saving method 'nope' is not supported; supported: auto, ae, recurrent, reverse, mean, knn"):
        checkpoint.check_supported("nope")
    with pytest.raises(ValueError, match="not fitted"):
        checkpoint.save(Imputer("reverse"), "unused")
    with pytest.raises(TypeError, match="Imputer"):
        checkpoint.save(object(), "unused")


def test_version_mismatch(saved, tmp_path):
    path = _copy(saved, tmp_path / "old")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match=r"format version 99.*cannot be read") as err:
        checkpoint.load(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("damage, message", [
    ("no_manifest", "manifest.json is missing"),
    ("no_arrays", "arrays.npz is missing"),
    ("bad_json", "not valid JSON"),
    ("flipped_bytes", "checksum does not match"),
    ("other_shape", r"parameter 'model_0/.*' is saved with shape"),
    ("missing_field", "corrupted or inconsistent"),
])
def test_corrupted_checkpoints(saved, tmp_path, damage, message):
    path = _copy(saved, tmp_path / "broken")
    manifest_path, arrays_path = path / "manifest.json", path / "arrays.npz"
    manifest = json.loads(manifest_path.read_text())
    if damage == "no_manifest":
        manifest_path.unlink()
    elif damage == "no_arrays":
        arrays_path.unlink()
    elif damage == "bad_json":
        manifest_path.write_text(manifest_path.read_text()[:-20])
    elif damage == "flipped_bytes":
        data = bytearray(arrays_path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        arrays_path.write_bytes(bytes(data))
    elif damage == "other_shape":
        manifest["params"]["model"]["hidden"] = [8]
        manifest_path.write_text(json.dumps(resign(manifest)))
    else:
        del manifest["schema"]
        manifest_path.write_text(json.dumps(resign(manifest)))
    with pytest.raises(CheckpointError, match=message) as err:
        checkpoint.load(path)
    assert str(path) in str(err.value)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        checkpoint.load(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        checkpoint.load(tmp_path / "file")


def test_auto_on_a_mostly_categorical_table_uses_the_categorical_network_and_round_trips(tmp_path, monkeypatch):
    """At its defaults auto gives a mostly categorical table study 1's network recipe; a checkpoint
    rebuilds that network (not the default one), with the budget sized to the fitted rows, and transforms
    identically. The recipe's step budget is shrunk for the test (the recipe is read when the network is
    made, so the wiring is the same)."""
    from dataclasses import replace

    from invimpute.methods import auto

    monkeypatch.setattr(auto, "CATEGORICAL_TRAIN", replace(auto.CATEGORICAL_TRAIN, steps=300))
    monkeypatch.setattr(auto, "CATEGORICAL_FLOOR", 100)  # 150 rows: 150 passes of one batch, under the 300 steps
    CATEGORICAL_MODEL, CATEGORICAL_TRAIN = auto.CATEGORICAL_MODEL, replace(auto.CATEGORICAL_TRAIN, steps=150)

    rng = np.random.default_rng(4)
    z = rng.normal(size=150)
    df = pd.DataFrame({
        "a": np.where(z > 0, "hi", "lo").astype(object),
        "b": np.where(z + 0.3 * rng.normal(size=150) > 0.5, "x", np.where(z < -0.5, "y", "z")).astype(object),
        "c": np.where(rng.random(150) < 0.5, "p", "q").astype(object),
        "v": z + 0.1 * rng.normal(size=150),
    }).mask(rng.random((150, 4)) < 0.15)
    imp = Imputer(seed=1).fit(df)
    network = imp.method_.methods_["network"]
    assert network.model_config == CATEGORICAL_MODEL and network.train_config == CATEGORICAL_TRAIN
    loaded = checkpoint.load(checkpoint.save(imp, tmp_path / "auto_cat"))
    assert loaded.method_.methods_["network"].model_config == CATEGORICAL_MODEL
    assert loaded.method_.methods_["network"].train_config == network.train_config  # the budget sized at fit
    assert imp.transform(df).equals(loaded.transform(df))
    custom = Imputer(train={"steps": 300}, seed=1).fit(df).method_.methods_["network"]
    assert custom.train_config.steps == 300 and custom.model_config.architecture != "reference"
