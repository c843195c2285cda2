"""Checkpoint tampering: every field of the manifest, edited, is refused with a CheckpointError naming
the path; edits made consistent again by re-signing the integrity record (as a deliberate forger would)
still never raise anything but a CheckpointError; a damaged array file, a deeply nested manifest and
calibration arrays of the wrong shape are refused. Models are tiny (one ae with calibration, one mean)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import pathlib
import zipfile

import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer, checkpoint
from invimpute.checkpoint import store
from invimpute.checkpoint.store import CheckpointError


def _table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    df = pd.DataFrame({"size": 2 * z + 0.1 * rng.normal(size=n), "count": np.rint(3 * z + 10),
                       "color": np.where(z > 0, "red", "blue").astype(object)})
    return df.mask(rng.random(df.shape) < 0.2)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, pathlib.Path]:
    base = tmp_path_factory.mktemp("tamper")
    df = _table()
    return {
        "ae": checkpoint.save(Imputer("ae", model={"hidden": [8], "latent": 4}, train={"epochs": 2}, seed=1).fit(df), base / "ae"),
        "mean": checkpoint.save(Imputer("mean").fit(df), base / "mean"),
    }


def _copy(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _leaves(value, path=()):
    """Every (path, value) of a JSON tree's leaves (empty lists and dicts count as leaves)."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1000
    if isinstance(value, str):
        return value + "x"
    if value is None:
        return 0
    return [*value, 1] if isinstance(value, list) else {**value, "extra": 1}


def _set(tree, path, value):
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _resign(manifest: dict) -> dict:
    """Recompute the integrity record (or the old array checksum) so only the content checks remain."""
    manifest = copy.deepcopy(manifest)
    if "integrity" in manifest:
        manifest["integrity"]["manifest"] = hashlib.sha256(store._canonical(manifest)).hexdigest()
    return manifest


def _set_arrays_hash(manifest: dict, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    if "integrity" in manifest:
        manifest["integrity"]["arrays"] = digest
    else:
        manifest["arrays_sha256"] = digest
    return _resign(manifest)


@pytest.mark.parametrize("method", ["ae", "mean"])
def test_every_manifest_field_edited_is_refused(saved, tmp_path, method):
    src = saved[method]
    manifest = json.loads((src / "manifest.json").read_text())
    leaves = [(p, v) for p, v in _leaves(manifest) if p and p[0] != "integrity"]
    assert len(leaves) > 30
    for n, (path, value) in enumerate(leaves):
        for resign in (False, True):
            target = _copy(src, tmp_path / f"{n}-{int(resign)}")
            edited = copy.deepcopy(manifest)
            _set(edited, path, _changed(value))
            (target / "manifest.json").write_text(json.dumps(_resign(edited) if resign else edited))
            if not resign:
                with pytest.raises(CheckpointError) as err:
                    checkpoint.load(target)
                assert str(target) in str(err.value), path
            else:
                try:
                    checkpoint.load(target)
                except CheckpointError as exc:
                    assert str(target) in str(exc), path
                except Exception as exc:  # anything else is a crash on hostile input
                    pytest.fail(f"editing {path} raised {type(exc).__name__}: {exc}")


def test_an_edited_offset_is_refused(saved, tmp_path):
    """Finding 8: editing a numeric column's offset used to load and shift every fill."""
    target = _copy(saved["mean"], tmp_path / "offset")
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["schema"]["columns"][0]["offset"] += 1000.0
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="changed|corrupted"):
        checkpoint.load(target)


def test_a_corrupt_array_file_with_a_matching_hash_is_a_checkpoint_error(saved, tmp_path):
    """Finding 8: a damaged .npz whose checksum was updated raised BadZipFile."""
    target = _copy(saved["mean"], tmp_path / "zip")
    data = b"PK\x03\x04" + b"\x00" * 64
    (target / "arrays.npz").write_bytes(data)
    manifest = _set_arrays_hash(json.loads((target / "manifest.json").read_text()), data)
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="cannot be read|corrupted"):
        checkpoint.load(target)


def test_a_deeply_nested_manifest_is_a_checkpoint_error(saved, tmp_path):
    """Finding 8: a deeply nested manifest raised RecursionError."""
    target = _copy(saved["mean"], tmp_path / "deep")
    text = (target / "manifest.json").read_text()
    deep = "[" * 100_000 + "]" * 100_000
    (target / "manifest.json").write_text(text.replace('"library_version"', f'"deep": {deep}, "library_version"', 1))
    with pytest.raises(CheckpointError):
        checkpoint.load(target)


def test_calibration_arrays_of_the_wrong_shape_are_refused(saved, tmp_path):
    """Finding 8: calibration arrays of the wrong shape were accepted."""
    target = _copy(saved["ae"], tmp_path / "calibration")
    with np.load(target / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert "calibration/sd" in arrays
    arrays["calibration/sd"] = np.concatenate([arrays["calibration/sd"], [1.0, 2.0]])
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (target / "arrays.npz").write_bytes(buf.getvalue())
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["arrays"]["calibration/sd"]["shape"] = list(arrays["calibration/sd"].shape)
    (target / "manifest.json").write_text(json.dumps(_set_arrays_hash(manifest, buf.getvalue())))
    with pytest.raises(CheckpointError, match="calibration"):
        checkpoint.load(target)


def test_an_untrusted_type_in_saved_estimator_state_is_refused(tmp_path):
    """A scikit-learn state is loaded with skops only when every type it names is scikit-learn's or NumPy's."""
    df = _table()
    path = checkpoint.save(Imputer("knn").fit(df), tmp_path / "knn")
    with np.load(path / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    name = next(k for k, a in arrays.items() if a.dtype == np.uint8)
    raw = io.BytesIO(arrays[name].tobytes())
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.namelist():
            body = zin.read(item)
            if item == "schema.json":
                body = body.replace(b'"sklearn.impute._knn"', b'"os"').replace(b'"KNNImputer"', b'"system"')
            zout.writestr(item, body)
    arrays[name] = np.frombuffer(out.getvalue(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (path / "arrays.npz").write_bytes(buf.getvalue())
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["arrays"][name]["shape"] = [arrays[name].size]
    (path / "manifest.json").write_text(json.dumps(_set_arrays_hash(manifest, buf.getvalue())))
    with pytest.raises(CheckpointError, match="outside scikit-learn|cannot be"):
        checkpoint.load(path)
