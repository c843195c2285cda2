"""Save a fitted :class:`~invimpute.Imputer` to a versioned directory and load it back.

A checkpoint is a directory holding two files:

* ``manifest.json``: the format name and version, the library version, the Imputer's constructor
  parameters, the encoder's :class:`~invimpute.encoding.schema.Schema`, the layout, the image shape, the key
  implementation, the method's small state (training histories, or for the peer methods their fitted
  attributes as tagged JSON, see :mod:`invimpute.checkpoint.state`) and the calibration's scalars, the name, shape
  and dtype of every array, and one integrity record: the SHA-256 of the array file and of the
  manifest itself (its canonical JSON without that record);
* ``arrays.npz``: every array, as a plain NumPy ``.npz`` (no pickles): each trained model's parameters
  as flattened leaves named by their path, the column means, the per-model code radii, the calibration's
  per-column arrays, the peers' fitted arrays (a scikit-learn estimator as ``skops`` bytes) and the raw
  data of the imputation key.

Every method can be saved; nothing in a checkpoint is code (no pickle), so loading one runs nothing
it holds. A loaded checkpoint is checked before use: any edit of either file fails the integrity
record, and the content is then checked again for consistency (shapes against the schema), so a
damaged checkpoint raises :class:`CheckpointError` naming the path, never another exception.

Model parameters are restored by building a fresh model of the saved configuration
(:meth:`~invimpute.methods.registry.ModelConfig.build`) and writing the saved leaves into it with
``nnx.update``, so the file needs no pickled tree structure and a shape mismatch is caught leaf by leaf.
The imputation key is saved too, so a loaded Imputer returns bit-identical fills on the same machine.
A ``"recurrent"`` checkpoint also holds its training table and the fills refined during training,
which it returns for that table (as the original does); ``"knn"`` and ``"softimpute"`` hold their
training rows too (their donors / reference rows), so these checkpoints contain the training data.
Saving is atomic: the files are written into a temporary directory next to the target, which is then
renamed into place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pathlib
import shutil
import uuid
import zipfile
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from invimpute.encoding.encoder import TableEncoder
from invimpute.encoding.schema import Schema
from invimpute.encoding.treatment import Plan
from invimpute.estimator.imputer import CONFIGS, METHODS, Imputer
from invimpute.encoding.layout import Layout
from invimpute.checkpoint import methods as saved_methods
from invimpute.runtime.files import sync_dir, temp_sibling, write_synced

FORMAT = "invimpute-checkpoint"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
INTEGRITY = "integrity"
SUPPORTED = METHODS

PathLike = str | os.PathLike


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be read: wrong format version, missing or corrupted files."""


def check_supported(method: str) -> None:
    """Raise a ValueError naming ``method`` when checkpoints cannot hold it."""
    if method not in SUPPORTED:
        raise ValueError(f"saving method {method!r} is not supported; supported: {', '.join(SUPPORTED)}")


# ---- parameters as JSON ------------------------------------------------------------------------------
_CONFIG_TAGS = {cls: name for name, cls in CONFIGS.items()}


def _to_json(value: Any, where: str) -> Any:
    """``value`` as JSON data, with tuples, non-string-keyed mappings and configs tagged to round-trip."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if type(value) in _CONFIG_TAGS:
        return {"__config__": [_CONFIG_TAGS[type(value)], _to_json(dataclasses.asdict(value), where)]}
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v, where) for v in value]}
    if isinstance(value, list):
        return [_to_json(v, where) for v in value]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _to_json(v, where) for k, v in value.items()}
        return {"__items__": [[_to_json(k, where), _to_json(v, where)] for k, v in value.items()]}
    raise ValueError(f"cannot save {where}: a {type(value).__name__} is not JSON-serialisable")


def _from_json(value: Any) -> Any:
    """Inverse of :func:`_to_json`."""
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_from_json(v) for v in value["__tuple__"])
        if set(value) == {"__items__"}:
            return {_hashable(_from_json(k)): _from_json(v) for k, v in value["__items__"]}
        if set(value) == {"__config__"}:
            tag, fields = value["__config__"]
            return CONFIGS[tag](**_from_json(fields))
        return {k: _from_json(v) for k, v in value.items()}
    return value


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _plain(value: Any) -> Any:
    """NumPy scalars inside a schema dict as Python scalars (``json.dumps`` default hook)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


# ---- collecting state --------------------------------------------------------------------------------
def collect(imputer: Imputer) -> tuple[dict, dict[str, np.ndarray]]:
    """The manifest (without file checksums) and the arrays a checkpoint of ``imputer`` holds."""
    if not isinstance(imputer, Imputer):
        raise TypeError(f"expected a fitted invimpute.Imputer, got {type(imputer).__name__}")
    check_supported(imputer.method)
    if not hasattr(imputer, "method_"):
        raise ValueError("this Imputer is not fitted yet: call fit(X) before saving it")
    import invimpute

    params = {name: _to_json(value, f"Imputer parameter {name!r}") for name, value in imputer.get_params(deep=False).items()}
    schema = imputer.encoder_.schema
    key = imputer.key_impute_
    arrays: dict[str, np.ndarray] = {"key_impute": np.asarray(jax.random.key_data(key))}
    state, method_arrays = saved_methods.dump(imputer.method_)
    arrays.update(method_arrays)
    calibration = getattr(imputer, "calibration_", None)
    calibration_info = None
    if calibration is not None:
        calibration_info = {}
        for field in dataclasses.fields(calibration):
            value = getattr(calibration, field.name)
            if isinstance(value, np.ndarray):
                arrays[f"calibration/{field.name}"] = value
            else:
                calibration_info[field.name] = _to_json(value, f"calibration field {field.name!r}")
    layout = imputer.layout_
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": invimpute.__version__,
        "params": params,
        "encoder": {"scaling": imputer.encoder_.scaling, "categorical": _to_json(imputer.encoder_.categorical, "categorical"),
                    "fill": imputer.encoder_.fill},
        "schema": schema.to_dict(),
        "treatments": imputer.plan_.to_dict(),
        "layout": {"kind": list(layout.kind), "group": list(layout.group)},
        "image_shape": None if imputer.image_shape_ is None else list(imputer.image_shape_),
        "key_impl": str(jax.random.key_impl(key)),
        "method_state": state,
        "calibration": calibration_info,
        "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in sorted(arrays.items())},
    }
    json.dumps(manifest, default=_plain)
    return manifest, arrays


def _canonical(manifest: dict) -> bytes:
    """The manifest without its integrity record, as canonical JSON (what the record's hash covers)."""
    body = {k: v for k, v in manifest.items() if k != INTEGRITY}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=_plain).encode()


def fingerprint(imputer: Imputer) -> str:
    """A SHA-256 over everything a checkpoint of ``imputer`` holds: equal fingerprints, equal fills."""
    manifest, arrays = collect(imputer)
    h = hashlib.sha256(_canonical(json.loads(json.dumps(manifest, default=_plain))))
    opaque = set(manifest["method_state"].get("opaque", ()))
    for name in sorted(set(arrays) - opaque):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(a.dtype.str.encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ---- saving ------------------------------------------------------------------------------------------
def _is_checkpoint(path: pathlib.Path) -> bool:
    try:
        return json.loads((path / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save(imputer: Imputer, path: PathLike, *, overwrite: bool = False) -> pathlib.Path:
    """Write the fitted ``imputer`` to the checkpoint directory ``path`` (atomically) and return it.

    An existing ``path`` is replaced only with ``overwrite=True`` and only when it is itself a
    checkpoint, so a mistyped path never deletes unrelated files.
    """
    path = pathlib.Path(path)
    manifest, arrays = collect(imputer)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True (--overwrite) to replace it")
        if not (path.is_dir() and _is_checkpoint(path)):
            raise FileExistsError(f"{path} exists and is not an invimpute checkpoint; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path, directory=True)
    try:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        data = buf.getvalue()
        write_synced(tmp / ARRAYS, data)
        manifest = json.loads(json.dumps(manifest, default=_plain))
        manifest[INTEGRITY] = {"algorithm": "sha256", "arrays": hashlib.sha256(data).hexdigest(),
                               "manifest": hashlib.sha256(_canonical(manifest)).hexdigest()}
        write_synced(tmp / MANIFEST, json.dumps(manifest, indent=1).encode())
        if path.exists():
            old = path.parent / f".{path.name}.old-{uuid.uuid4().hex}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        sync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# ---- loading -----------------------------------------------------------------------------------------
def read_manifest(path: PathLike) -> dict:
    """The parsed, format-checked manifest of the checkpoint at ``path``."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a checkpoint directory (expected a folder holding {MANIFEST})")
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise CheckpointError(f"{path}: {MANIFEST} is missing; this is not an invimpute checkpoint or it is incomplete")
    try:
        manifest = json.loads(mpath.read_bytes())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{mpath} is not valid JSON ({type(exc).__name__}: {exc}); the checkpoint is corrupted") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{mpath} is not an invimpute checkpoint manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} (written by invimpute "
            f"{manifest.get('library_version', '?')}) cannot be read by invimpute with format version "
            f"{FORMAT_VERSION}; refit the model or load it with the version that wrote it"
        )
    record = manifest.get(INTEGRITY)
    if not isinstance(record, dict) or record.get("algorithm") != "sha256":
        raise CheckpointError(f"{mpath} has no integrity record; the checkpoint is corrupted or was edited")
    if hashlib.sha256(_canonical(manifest)).hexdigest() != record.get("manifest"):
        raise CheckpointError(
            f"{mpath} was changed after it was saved (its checksum does not match its integrity record); "
            f"the checkpoint is corrupted or was edited: save the model again"
        )
    return manifest


def _read_arrays(path: pathlib.Path, manifest: dict) -> dict[str, np.ndarray]:
    apath = path / ARRAYS
    if not apath.is_file():
        raise CheckpointError(f"{path}: {ARRAYS} is missing; the checkpoint is incomplete")
    data = apath.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest[INTEGRITY]["arrays"]:
        raise CheckpointError(f"{apath} is corrupted: its checksum does not match the manifest")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{apath} cannot be read ({exc}); the checkpoint is corrupted") from exc
    for name, spec in manifest["arrays"].items():
        if name not in arrays:
            raise CheckpointError(f"{apath}: array {name!r} listed in the manifest is missing")
        a = arrays[name]
        if list(a.shape) != spec["shape"] or a.dtype.str != spec["dtype"]:
            raise CheckpointError(
                f"{apath}: array {name!r} has shape {a.shape} and dtype {a.dtype.str}, "
                f"the manifest says {tuple(spec['shape'])} and {spec['dtype']}"
            )
    return arrays


def load(path: PathLike) -> Imputer:
    """The fitted Imputer saved at ``path``; raises :class:`CheckpointError` naming the path if unreadable."""
    path = pathlib.Path(path)
    manifest = read_manifest(path)
    try:
        return _load(path, manifest)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError, OverflowError) as exc:
        raise CheckpointError(f"{path}: the checkpoint is corrupted or inconsistent ({type(exc).__name__}: {exc})") from exc


def _load(path: pathlib.Path, manifest: dict) -> Imputer:
    params = {name: _from_json(value) for name, value in manifest["params"].items()}
    check_supported(params["method"])
    arrays = _read_arrays(path, manifest)
    schema = Schema.from_dict(manifest["schema"])
    enc_info = manifest["encoder"]
    encoder = TableEncoder(scaling=enc_info["scaling"], categorical=_from_json(enc_info["categorical"]), fill=enc_info["fill"])
    encoder.schema_ = schema
    layout = Layout(kind=tuple(manifest["layout"]["kind"]), group=tuple(manifest["layout"]["group"]))
    if layout != schema.layout:
        raise CheckpointError(f"{path}: the saved layout does not match the saved schema")
    image_shape = None if manifest["image_shape"] is None else tuple(manifest["image_shape"])
    key = jax.random.wrap_key_data(arrays["key_impute"], impl=manifest["key_impl"])
    imputer = Imputer(**params)
    plan = Plan.from_dict(manifest["treatments"]) if manifest.get("treatments") is not None else None
    if plan is not None and plan.encoded != schema.names:
        raise CheckpointError(f"{path}: the saved treatments model columns {plan.encoded}, the schema has {schema.names}")
    method = imputer.restore_fitted(encoder, image_shape, key, plan)
    state = manifest["method_state"]
    width = schema.width
    saved_methods.restore(method, state, arrays, layout, width)
    table = getattr(method, "selection_table", None)
    imputer.selection_ = table(schema) if table is not None else None
    if manifest["calibration"] is not None:
        from invimpute.uncertainty.belief import Calibration

        values = {k: _from_json(v) for k, v in manifest["calibration"].items()}
        values.update({name.split("/", 1)[1]: a for name, a in arrays.items() if name.startswith("calibration/")})
        for name in ("sd", "scale"):
            if np.shape(values.get(name)) != (width,):
                raise CheckpointError(f"{path}: the calibration's {name!r} has shape {np.shape(values.get(name))}, the schema has {width} encoded columns")
        imputer.calibration_ = Calibration(**values)
    if hasattr(method, "mean_") and np.shape(method.mean_) != (width,):
        raise CheckpointError(f"{path}: the saved column means have shape {np.shape(method.mean_)}, the schema has {width} columns")
    return imputer


__all__ = ["save", "load", "fingerprint", "collect", "read_manifest", "check_supported", "CheckpointError",
           "FORMAT_VERSION", "SUPPORTED"]
