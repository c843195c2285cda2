"""A fitted method's state as a checkpoint holds it: a JSON tree and named arrays, for every method.

:func:`dump` and :func:`restore` cover the three shapes of method: :class:`~invimpute.methods.registry.Autoencoding`
(network parameters leaf by leaf, column means, code radii, the reverse method's column weights, the
recurrent method's training fills), :class:`~invimpute.methods.auto.Auto` (each candidate under its own prefix,
the column weights and the per-column choices), and the peers (their fitted attributes through
:mod:`invimpute.checkpoint.state`). Array names start with the prefix given, so one method's state can sit inside
another's (``auto``'s network under ``candidate/network/``). A state that does not fit the method built
from the saved settings raises :class:`~invimpute.checkpoint.state.StateError` naming the array.
"""

from __future__ import annotations

import jax
import numpy as np
from flax import nnx

from invimpute.checkpoint import state as method_state
from invimpute.methods.auto import INVERTED, Auto, InvertedFill
from invimpute.methods.registry import REVERSE_CANDIDATES, Autoencoding
from invimpute.peers.neighbours import NearestNeighbours
from invimpute.scoring.selection import ColumnChoice
from invimpute.checkpoint.state import StateError
from invimpute.training.loop import History


def leaf_name(path: tuple) -> str:
    """A stable name for one leaf of an NNX state (``encoder_layers/0/kernel``)."""
    parts = []
    for entry in path:
        for attr in ("key", "idx", "name"):
            if hasattr(entry, attr):
                parts.append(str(getattr(entry, attr)))
                break
        else:
            parts.append(str(entry))
    return "/".join(parts)


def _history_dict(h: History) -> dict:
    return {"loss": h.loss, "mae": h.mae, "val_loss": h.val_loss, "best_epoch": h.best_epoch,
            "stopped_early": h.stopped_early}


def dump(method, prefix: str = "") -> tuple[dict, dict[str, np.ndarray]]:
    """``(state, arrays)`` of a fitted method; ``state["opaque"]`` names arrays that differ between dumps."""
    if isinstance(method, Autoencoding):
        return _dump_network(method, prefix)
    if isinstance(method, Auto):
        return _dump_auto(method, prefix)
    if isinstance(method, InvertedFill):  # nothing of its own: it inverts the network candidate's model
        return {"kind": "inverted"}, {}
    tree, arrays, opaque = method_state.dump(method, f"{prefix}method/")
    return {"kind": "peer", "attributes": tree, "opaque": opaque}, arrays


def _dump_network(method: Autoencoding, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    for i, model in enumerate(method.models_):
        _, params = nnx.split(model)
        for p, leaf in jax.tree_util.tree_leaves_with_path(params):
            arrays[f"{prefix}model_{i}/{leaf_name(p)}"] = np.asarray(leaf)
    arrays[f"{prefix}mean"] = np.asarray(method.mean_)
    arrays[f"{prefix}radii"] = np.asarray([np.nan if r is None else r for r in method.radii_], dtype=np.float64)
    state = {"kind": method.algorithm, "n_models": len(method.models_),
             "histories": [_history_dict(h) for h in method.histories_],
             "steps_per_evaluation": method.steps_per_evaluation_, "opaque": []}
    if getattr(method, "weights_", None) is not None:
        arrays[f"{prefix}column_weights"] = np.asarray(method.weights_)
    if getattr(method, "neighbours_", None) is not None:  # the donors of reverse training's KNN start
        sub, sub_arrays = dump(method.neighbours_, f"{prefix}neighbours/")
        state["neighbours"] = sub
        state["opaque"] += sub["opaque"]
        arrays.update(sub_arrays)
    if method.algorithm == "recurrent":  # the fills refined in training, returned for the training table
        arrays[f"{prefix}fit_x"], arrays[f"{prefix}fit_observed"] = (np.asarray(a) for a in method.fit_data_)
        arrays.update({f"{prefix}fill_{i}": np.asarray(f) for i, f in enumerate(method.fills_)})
    return state, arrays


def _dump_auto(method: Auto, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    arrays = {f"{prefix}column_weights": np.asarray(method.weights_)}
    candidates, opaque = {}, []
    for name in method.names_:
        sub, sub_arrays = dump(method.methods_[name], f"{prefix}candidate/{name}/")
        candidates[name] = sub
        opaque += sub.get("opaque", [])
        arrays.update(sub_arrays)
    choices = [{"errors": c.errors, "weights": c.weights, "choice": c.choice, "cells": c.cells, "rule": c.rule}
               for c in method.choices_]
    return {"kind": "auto", "names": list(method.names_), "candidates": candidates, "choices": choices,
            "rows": getattr(method, "n_rows_", None), "inversion_gain": getattr(method, "inversion_gain_", None),
            "inversion_rows": getattr(method, "inversion_rows_", None), "opaque": opaque}, arrays


def restore(method, state: dict, arrays: dict[str, np.ndarray], layout, width: int, prefix: str = "") -> None:
    """Fill the fresh ``method`` (built from the saved settings) with a state saved by :func:`dump`."""
    if isinstance(method, Autoencoding):
        _restore_network(method, state, arrays, layout, width, prefix)
    elif isinstance(method, Auto):
        _restore_auto(method, state, arrays, layout, width, prefix)
    else:
        method_state.load(method, state["attributes"], arrays)
        if getattr(method, "layout_", None) != layout:
            raise StateError("the method's saved layout does not match the saved schema")


def _array(arrays: dict[str, np.ndarray], name: str, shape: tuple | None = None) -> np.ndarray:
    if name not in arrays:
        raise StateError(f"array {name!r} is missing from the checkpoint")
    if shape is not None and arrays[name].shape != shape:
        raise StateError(f"array {name!r} has shape {arrays[name].shape}, expected {shape}")
    return arrays[name]


def _restore_model(model: nnx.Module, arrays: dict[str, np.ndarray], prefix: str) -> None:
    _, params = nnx.split(model)
    leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(params)
    new = []
    for p, leaf in leaves_with_path:
        name = f"{prefix}{leaf_name(p)}"
        saved = _array(arrays, name)
        if saved.shape != leaf.shape or saved.dtype != leaf.dtype:
            raise StateError(f"parameter {name!r} is saved with shape {saved.shape} ({saved.dtype}), the model "
                             f"built from the manifest's parameters expects {tuple(leaf.shape)} ({leaf.dtype})")
        new.append(jax.numpy.asarray(saved))
    expected = {f"{prefix}{leaf_name(p)}" for p, _ in leaves_with_path}
    extra = sorted(n for n in arrays if n.startswith(prefix) and n not in expected)
    if extra:
        raise StateError(f"the checkpoint holds parameters the rebuilt model lacks: {extra[:3]}")
    nnx.update(model, jax.tree_util.tree_unflatten(treedef, new))


def _restore_network(method: Autoencoding, state: dict, arrays, layout, width: int, prefix: str) -> None:
    n_models = int(state["n_models"])
    method.layout_ = method.training_layout(layout)
    method.models_ = []
    for i in range(n_models):
        model = method.model_config.build(width, 0, method.image_shape)
        _restore_model(model, arrays, f"{prefix}model_{i}/")
        method.models_.append(model)
    method.histories_ = [History(**h) for h in state["histories"]]
    method.steps_per_evaluation_ = state.get("steps_per_evaluation")
    method.fills_ = [arrays[f"{prefix}fill_{i}"] for i in range(n_models) if f"{prefix}fill_{i}" in arrays]
    method.fit_data_ = (arrays.get(f"{prefix}fit_x", np.zeros((0, width), np.float32)),
                        arrays.get(f"{prefix}fit_observed", np.zeros((0, width), bool)))
    method.mean_ = _array(arrays, f"{prefix}mean", (width,))
    radii = _array(arrays, f"{prefix}radii", (n_models,))
    method.radii_ = [None if np.isnan(r) else float(r) for r in radii]
    method.neighbours_ = None
    if "neighbours" in state:
        method.neighbours_ = NearestNeighbours()
        method_state.load(method.neighbours_, state["neighbours"]["attributes"], arrays)
        if method.neighbours_.layout_ != method.layout_:
            raise StateError("the saved donors of reverse training's KNN start do not match the saved schema")
    elif method.resolved_inversion_config().init == "knn":
        raise StateError("the settings start reverse training from KNN (init='knn'), but the checkpoint holds no donor rows")
    method.weights_ = None
    if f"{prefix}column_weights" in arrays:
        method.weights_ = _array(arrays, f"{prefix}column_weights", (len(REVERSE_CANDIDATES), width))


def _restore_auto(method: Auto, state: dict, arrays, layout, width: int, prefix: str) -> None:
    names = list(state["names"])
    method.names_ = names
    method.layout_ = layout
    method.n_rows_ = state.get("rows")  # None in files written before it was saved
    method.methods_ = {}
    for name in names:
        if name == INVERTED:
            continue
        candidate = method.make_candidate(name, layout, method.n_rows_)  # sized as at fit
        restore(candidate, state["candidates"][name], arrays, layout, width, f"{prefix}candidate/{name}/")
        method.methods_[name] = candidate
    if INVERTED in names:
        if "network" not in method.methods_:
            raise StateError(f"the checkpoint's {INVERTED!r} candidate needs the 'network' candidate, which it lacks")
        method.methods_[INVERTED] = InvertedFill(method.methods_["network"])
    method.weights_ = _array(arrays, f"{prefix}column_weights", (len(names), width))
    method.choices_ = [ColumnChoice(**c) for c in state["choices"]]
    if state.get("inversion_gain") is not None:  # absent where the candidate did not run, or in older files
        method.inversion_gain_ = float(state["inversion_gain"])
        method.inversion_rows_ = state.get("inversion_rows")
    if len(method.choices_) != int(layout.group_array.max()) + 1:
        raise StateError(f"the checkpoint holds {len(method.choices_)} column choices for "
                         f"{int(layout.group_array.max()) + 1} columns")


__all__ = ["dump", "restore", "leaf_name"]
