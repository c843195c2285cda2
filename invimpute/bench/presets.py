"""The methods the bench can run, as plain data: each preset is a dict of :class:`~invimpute.Imputer` keyword
arguments (or, for the peers outside the library, the peer's own options), and one function that turns a
preset into the arguments of one fit.

A preset may give ``steps`` (with ``batch_size``) instead of ``epochs``: the neural presets then train for
about that many optimiser steps whatever the table's size. :func:`imputer_params` is the one place that
turns a preset into Imputer arguments, so a change of the Imputer's settings is translated here alone.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from invimpute.bench.grid import BenchError
from invimpute.estimator.imputer import Imputer
from invimpute.methods.registry import NEURAL

_INVIMPUTE_NET: dict[str, Any] = {
    "hidden": [256, 128], "latent": 64, "dropout": 0.0, "corruption": 0.25, "target": "hidden",
    "scaling": "standard", "batch_size": 128, "steps": 10_000, "schedule": "cosine", "weight_decay": 1e-4,
    "skip": True, "calibrate": False,
}
"""The library's denoising autoencoder for numeric tables: masked-prediction target on 25% hidden cells,
about 10,000 AdamW steps with a cosine-decayed step size, and a linear skip path beside the bottleneck
(for the part of each column that is linear in the others). Standard scaling (identity head, squared
error) trains more easily than min-max scaling with a sigmoid head on heavy-tailed columns.
``calibrate=False``: the bench scores point imputations, so no observed cell is held out for calibration."""

_INVIMPUTE_REFERENCE: dict[str, Any] = {
    "method": "ae", "model": "reference", "dropout": 0.2, "loss": "typed", "corruption": 0.5, "target": "hidden",
    "epochs": 150, "calibrate": False,
}
"""The library's Mushroom configuration: study 1's masked MLP trained on the masked-prediction target with a
cross-entropy head per column (chosen on seed 0 of the development runs)."""

_REMASKER: dict[str, Any] = {"embed_dim": 64, "depth": 8, "decoder_depth": 6, "num_heads": 4, "mask_ratio": 0.5,
                              "epochs": 600, "batch_size": 64}
"""ReMasker's published settings (:mod:`invimpute.peers.remasker`): embedding 64, encoder depth 8, decoder
depth 6, mask ratio 0.5, 600 epochs of batch 64, AdamW."""

PEERS: dict[str, tuple[str, ...]] = {
    "miceforest": ("options",),
    "hyperimpute": ("options", "timeout_s"),
}
"""The peers run outside :class:`~invimpute.Imputer` (see :mod:`invimpute.bench.peers`), with the preset
keys each accepts besides ``method``."""

PRESETS: dict[str, dict[str, Any]] = {
    "mean": {"method": "mean"},
    "knn": {"method": "knn", "method_options": {"n_neighbors": 5}},
    "iterative": {"method": "iterative", "method_options": {"estimator": "bayesian_ridge", "max_iter": 10}},
    "missforest": {"method": "missforest", "method_options": {"max_iter": 10, "n_estimators": 100}},
    "missforest-light": {"method": "missforest", "method_options": {"max_iter": 5, "n_estimators": 30}},
    "miceforest": {"method": "miceforest", "options": {"iterations": 5, "lightgbm": {"num_threads": 1}}},
    "softimpute": {"method": "softimpute"},
    "gaussian": {"method": "gaussian"},
    "boosted": {"method": "boosted"},
    "gain": {"method": "gain", "method_options": {"iterations": 10_000, "batch_size": 128, "hint_rate": 0.9,
                                                  "alpha": 100.0}},
    "miwae": {"method": "miwae", "method_options": {"hidden": 128, "k": 20, "n_steps": 5000, "n_samples": 1000}},
    "hyperimpute": {"method": "hyperimpute", "options": {}, "timeout_s": 4 * 3600},
    "remasker": {"method": "remasker", "method_options": _REMASKER},
    "remasker-cpu": {"method": "remasker", "method_options": {**_REMASKER, "embed_dim": 32, "depth": 4,
                                                              "decoder_depth": 2, "max_steps": 2000}},
    "invimpute-dae": {"method": "ae", **_INVIMPUTE_NET},
    "invimpute-dae-large": {"method": "ae", **_INVIMPUTE_NET, "hidden": [512, 256], "steps": 30_000},
    "invimpute-dae-ensemble": {"method": "ae", **_INVIMPUTE_NET, "hidden": [512, 256], "ensemble": 5},
    "invimpute-recurrent": {"method": "recurrent", **_INVIMPUTE_NET, "recurrent_weight": 0.5},
    "invimpute-reference": _INVIMPUTE_REFERENCE,
    "invimpute-reverse": {"method": "reverse", **_INVIMPUTE_NET, "skip": False, "inversion": {
        "steps": 100, "learning_rate": 0.05, "code_penalty": "sphere", "code_weight": 1e-3, "input_dropout": 0.1}},
    "auto": {"method": "auto"},
    "auto-trees": {"method": "auto", "method_options": {"trees": {
        "rounds": 100, "depth": 6, "rate": 0.1, "max_features": 16}}},
    "auto-chain2": {"method": "auto", "method_options": {"trees": {"chain": 2}}},
    "auto-chain3": {"method": "auto", "method_options": {"trees": {"chain": 3}}},
    "auto-trees3": {"method": "auto", "method_options": {"trees": {
        "rounds": 100, "depth": 6, "rate": 0.1, "max_features": 16, "chain": 3}}},
    "auto-notrees": {"method": "auto", "method_options": {"candidates": [
        "mean", "knn", "gaussian", "network", "inverted"]}},
    "ae": {"method": "ae"},
    "ae-bottleneck": {"method": "ae", "model": {"skip": False}},
    "recurrent": {"method": "recurrent"},
    "reverse": {"method": "reverse"},
}
"""Every method the bench can run, by name.

The peers use their published or library defaults: KNN k=5; IterativeImputer with BayesianRidge, 10
rounds; MissForest's own settings, 100 trees and up to 10 rounds (the library's ``missforest``, an
IterativeImputer of extra trees), and ``missforest-light``, 30 trees for at most 5 rounds, for grids where
the full setting does not fit the time; ``miceforest``, LightGBM chained equations with the package's
defaults for 5 rounds on one LightGBM thread (the optional ``bench`` extra; one thread, like the
single-threaded trees of ``missforest``, because LightGBM's spinning worker threads slow it many times
over on a CPU shared with other work, for the same fills); GAIN's reference settings; MIWAE's defaults;
``hyperimpute``, HyperImpute's automatic selection at its defaults, run in its own environment
(``benchmarks/hyperimpute_env.sh``) with a time limit of ``timeout_s`` seconds; ``remasker``, ReMasker at
its published settings (600 epochs: a GPU's budget), and ``remasker-cpu``, the small end of the published
settings (embedding 32, encoder depth 4, decoder depth 2) capped at 2,000 AdamW steps, the CPU budget
chosen on the development table (``benchmarks/results/frontier_dev.md``); ``boosted``, the library's
gradient-boosted oblivious trees per column (:mod:`invimpute.peers.boosting`) at its defaults.

The ``invimpute-*`` presets are the library's tuned configurations: ``invimpute-dae-large`` is
``invimpute-dae`` at twice the width and three times the steps, for the larger tables, where capacity and
training length pay; ``invimpute-dae-ensemble`` averages five fits of it at twice the width from split
keys, which removes the variance that dominates the error of small tables. ``auto`` (``Imputer()`` with
no argument), ``ae``, ``recurrent`` and ``reverse`` are the library's methods at Imputer defaults
(``auto-trees``: ``auto`` with its ``trees`` candidate at the ``boosted`` peer's settings, 100 rounds of
depth-6 trees reading 16 columns, as its published figures before the candidate became a default were
run; ``auto-trees3``: the same in three chained passes, the ``boosted`` peer's whole model, and
``auto-chain2``, ``auto-chain3``: the default candidate in two or three chained passes, development variants
of issue 27; ``auto-notrees``: ``auto`` without the ``trees`` candidate, the defaults before it joined them);
``ae-bottleneck`` is ``ae`` with the network ``reverse`` trains (no skip path), its one-pass fill, the
comparison that says what reverse training adds to the same model.
"""

DEFAULT_METHODS: tuple[str, ...] = (
    "mean", "knn", "iterative", "missforest", "miceforest", "softimpute", "gain", "miwae", "hyperimpute",
    "invimpute-dae", "invimpute-dae-large", "invimpute-dae-ensemble", "invimpute-recurrent", "invimpute-reverse",
)
"""The methods of a full run (``missforest-light`` and the bare ``ae``/``recurrent``/``reverse`` presets run
only when named)."""

QUICK_DATASETS: tuple[str, ...] = ("wine", "breast")
QUICK_METHODS: tuple[str, ...] = (
    "mean", "knn", "iterative", "softimpute", "gain", "miwae", "invimpute-dae", "invimpute-reverse",
)
QUICK_OVERRIDES: dict[str, dict[str, Any]] = {
    "gain": {"method_options": {"iterations": 1000}},
    "miwae": {"method_options": {"n_steps": 500, "n_samples": 100}},
    "invimpute-dae": {"epochs": 30},
    "invimpute-dae-large": {"epochs": 30},
    "invimpute-dae-ensemble": {"epochs": 30, "ensemble": 2},
    "invimpute-recurrent": {"epochs": 30},
    "invimpute-reverse": {"epochs": 30, "inversion": {"steps": 30}},
}
"""``--quick``: fewer GAIN iterations and MIWAE steps, tiny-epoch neural presets."""

_MERGED_KEYS = ("method_options", "inversion", "options")


def merge(spec: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` updated by ``override``; option dicts merge one level deep; ``epochs`` replaces ``steps``."""
    out = dict(spec)
    for key, value in override.items():
        if key in _MERGED_KEYS and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    if "epochs" in override and "steps" not in override:
        out.pop("steps", None)
    return out


def resolve_specs(
    methods: Sequence[str],
    base: Mapping[str, Mapping[str, Any]] | None = None,
    epochs_override: int | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The preset of each method after ``base`` (``--quick``'s), ``epochs_override``, then ``overrides``.

    ``epochs_override`` sets ``epochs`` (dropping ``steps``) on every neural preset; ``overrides`` (the
    user's ``--preset-overrides``) come last, so a per-preset setting wins. Unknown method names, override
    targets and Imputer arguments raise :class:`~invimpute.bench.grid.BenchError` naming the valid ones.
    """
    unknown = [m for m in methods if m not in PRESETS]
    if unknown:
        raise BenchError(f"unknown method(s) {unknown}; valid methods: {', '.join(PRESETS)}")
    if epochs_override is not None and epochs_override < 1:
        raise BenchError(f"--epochs-override must be >= 1, got {epochs_override}")
    specs = _apply({m: dict(PRESETS[m]) for m in methods}, base or {})
    if epochs_override is not None:
        specs = {m: merge(s, {"epochs": epochs_override}) if s["method"] in NEURAL else s for m, s in specs.items()}
    specs = _apply(specs, overrides or {})
    for name, spec in specs.items():
        _check_arguments(name, spec)
    return specs


def _apply(specs: dict[str, dict[str, Any]], layer: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``specs`` with one layer of ``{method: {argument: value}}`` overrides merged in (after checks)."""
    if not isinstance(layer, Mapping):
        raise BenchError(f"preset overrides must be a JSON object of {{method: {{argument: value}}}}, got {layer!r}")
    bad = [m for m in layer if m not in PRESETS]
    if bad:
        raise BenchError(f"preset overrides name unknown method(s) {bad}; valid methods: {', '.join(PRESETS)}")
    out = dict(specs)
    for name, override in layer.items():
        if not isinstance(override, Mapping):
            raise BenchError(f"the override of {name!r} must be a JSON object, got {override!r}")
        if name in out:
            out[name] = merge(out[name], override)
        else:  # an override of a method not run now is still checked
            _check_arguments(name, merge(PRESETS[name], override))
    return out


def _check_arguments(name: str, spec: Mapping[str, Any]) -> None:
    """Raise :class:`BenchError` when ``spec`` holds an argument its method does not take."""
    method = spec.get("method")
    if method in PEERS:
        wrong = [k for k in spec if k != "method" and k not in PEERS[method]]
        if wrong:
            raise BenchError(f"{name} takes only {', '.join(PEERS[method])} (its own keyword arguments), got {wrong}")
        return
    try:
        Imputer(**imputer_params(spec, 1)).settings()
    except (TypeError, ValueError) as exc:  # an unknown keyword argument: the Imputer's own message names it
        raise BenchError(f"unknown Imputer argument in the preset {name!r} after overrides: {exc}") from exc


def config_hash(spec: Mapping[str, Any]) -> str:
    """A short stable hash of a resolved preset: the ``config`` part of every record's key."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


FLAT_KEYS: dict[str, tuple[str, str]] = {
    **{k: ("model", k) for k in ("hidden", "latent", "dropout", "mask_input", "skip", "activation", "dtype", "head")},
    "model": ("model", "architecture"),
    **{k: ("train", k) for k in ("steps", "epochs", "batch_size", "learning_rate", "schedule", "weight_decay", "loss",
                                 "l1", "l2", "recurrent_weight", "corruption", "corruption_by", "corruption_spread",
                                 "target", "validation_fraction", "patience")},
    "ensemble": ("train", "members"),
    "calibrate": ("uncertainty", "calibrate"), "calibration_fraction": ("uncertainty", "fraction"),
    "mi_restarts": ("uncertainty", "restarts"), "mi_dropout": ("uncertainty", "dropout"),
    "mi_sample_categorical": ("uncertainty", "sample_categorical"),
    "mi_sample_numeric": ("uncertainty", "sample_numeric"),
    **{k: ("encoding", k) for k in ("scaling", "categorical", "tokens", "sentinels")},
}
"""Preset keys (flat, as presets are written) -> (Imputer config, field)."""

LEGACY_DEFAULTS: dict[str, Any] = {
    "dropout": 0.5, "skip": False, "epochs": 100, "batch_size": 256, "schedule": "constant", "weight_decay": 0.0,
    "corruption": 0.0, "target": "observed", "validation_fraction": 0.0, "patience": 20, "scaling": "minmax",
}
"""The defaults the tuned ``invimpute-*`` presets were written against (the library's first settings):
a neural preset that sets any model or training key keeps these for the keys it leaves out, so its
published figures stay reproducible; a preset that sets none (``ae``, ``auto``...) gets today's defaults."""

LEGACY_INVERSION: dict[str, Any] = {"steps": 100, "learning_rate": 0.1, "objective": "observed", "proximal": 0.0,
                                    "clean": True}
"""The inversion defaults a preset that sets any ``inversion`` key was written against (as :data:`LEGACY_DEFAULTS`)."""

_CONFIG_NAMES = ("model", "train", "uncertainty", "encoding")


def imputer_params(spec: Mapping[str, Any], n_rows: int) -> dict[str, Any]:
    """The :class:`~invimpute.Imputer` arguments of ``spec`` for a table of ``n_rows`` rows.

    Flat preset keys go to their config (:data:`FLAT_KEYS`). ``steps`` becomes ``epochs = ceil(steps /
    ceil(n_rows / batch_size))`` (one evaluation per epoch, as the presets were tuned); a preset that gives
    ``steps`` gives its ``batch_size`` too. ``method_options`` become the peer's ``options``.
    """
    flat = {k: v for k, v in spec.items() if k in FLAT_KEYS and not (k == "model" and isinstance(v, Mapping))}
    if spec.get("method") in NEURAL and any(FLAT_KEYS[k][0] in ("model", "train") for k in flat):
        flat = {**{k: v for k, v in LEGACY_DEFAULTS.items() if k not in flat}, **flat}
        if "steps" in spec:
            flat.pop("epochs", None)
    if "steps" in flat:
        if "batch_size" not in spec:
            raise BenchError(f"a preset that gives steps ({spec['steps']}) must give batch_size too: {dict(spec)}")
        per_epoch = max(1, math.ceil(n_rows / int(spec["batch_size"])))
        flat["epochs"] = max(1, math.ceil(int(flat.pop("steps")) / per_epoch))
    params: dict[str, Any] = {k: v for k, v in spec.items() if k not in flat and k not in FLAT_KEYS
                              and k != "method_options"}
    for name in _CONFIG_NAMES:
        given = spec.get(name) if isinstance(spec.get(name), Mapping) else {}
        fields = {FLAT_KEYS[k][1]: v for k, v in flat.items() if FLAT_KEYS[k][0] == name}
        if given or fields:
            params[name] = {**given, **fields}
    if spec.get("method") in NEURAL and isinstance(spec.get("inversion"), Mapping):
        params["inversion"] = {**LEGACY_INVERSION, **spec["inversion"]}
    if params.get("model", {}).get("hidden") is not None:
        params["model"]["hidden"] = tuple(params["model"]["hidden"])
    if spec.get("method_options"):
        params["options"] = dict(spec["method_options"])
    return params


def has_belief(spec: Mapping[str, Any]) -> bool:
    """Whether a preset's imputer gives per-cell belief (the neural methods), so ``--uncertainty`` scores it."""
    return spec["method"] in NEURAL


__all__ = [
    "PRESETS", "PEERS", "DEFAULT_METHODS", "QUICK_DATASETS", "QUICK_METHODS", "QUICK_OVERRIDES", "merge",
    "resolve_specs", "config_hash", "imputer_params", "has_belief",
]
