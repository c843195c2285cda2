"""The benchmark suite: every imputer on the standard tables, side by side, with the numbers published.

``invimpute bench`` runs a grid of data sets x missingness mechanisms x missing rates x seeds x methods
and appends one JSON line per (dataset, mechanism, rate, seed, method, metric) to a results file;
``invimpute bench --report`` turns that file, and nothing else, into a markdown report and PNG figures.

How a cell is run, and why:

- **One mask per (dataset, mechanism, rate, seed), shared by every method.** The mask's key is
  ``fold_in(key(seed), crc32("dataset/mechanism/rate"))``: derived from the seed alone (reproducible on
  any machine, independent of which methods run or in what order), and different across data sets and
  rates. Each record carries the mask's SHA-256 (``mask_sha256``) so anyone can check that the methods
  of a row were scored on the same cells.
- **Mechanisms.** ``mcar``: exactly ``round(rate * cells)`` cells uniformly
  (:func:`~invimpute.missingness.mcar_mask`). ``mar``: a logistic model of always-observed driver
  columns (:func:`~invimpute.missingness.mar_mask`). ``mnar``: self-masking, high values more likely
  missing (:func:`~invimpute.missingness.mnar_mask`). MAR and MNAR masks are computed on the numeric
  matrix of the complete table. For a categorical table (``mushroom``) that matrix holds each cell's
  **frequency rank code** within its column (0 = the most common category), so MNAR removes rare
  categories more often, and MAR's drivers are rank-coded columns kept fully observed.
- **Tables.** Numeric tables are given to every method as float64 (integer-valued columns are not
  rounded afterwards, unlike the GAIN reference code's rounding step), so every method is scored on the
  same continuous scale. ``mushroom`` is the 22-column table of study 1 (``stalk-root`` dropped).
  ``--max-rows N`` keeps N rows drawn once per data set (the same rows for every cell).
- **Methods** are named presets (:data:`PRESETS`), each a set of :class:`~invimpute.Imputer` arguments;
  every method is run as ``Imputer(**preset, seed=seed).fit(damaged)`` then ``.transform(damaged)``, and
  both calls are timed (``fit_seconds`` includes JAX compilation: it is what a user waits for). A
  preset may give ``steps`` instead of ``epochs``: the neural presets then train for about that many
  optimiser steps whatever the table's size (``epochs = ceil(steps / ceil(rows / batch_size))``).
- **Metrics.** Numeric tables: RMSE and MAE over the removed cells after min-max scaling by the true
  complete table's per-column range (the GAIN paper's normalisation). Categorical tables: accuracy over
  the removed cells.
- **Calibration** (opt-in, ``--uncertainty``). Each neural preset (Imputer method ``ae``, ``recurrent``
  or ``reverse``) is fitted a second time with ``calibrate=True`` on the same damaged table, and its
  :meth:`~invimpute.Imputer.belief` is scored on the same removed cells: categorical tables get ``ece``
  (expected calibration error, 15 bins), ``brier`` (multi-class Brier score) and
  ``selective_acc_25/50/75/90`` (accuracy of the 25/50/75/90% most confident imputed cells: the
  accuracy-vs-coverage curve) of the calibrated imputation; numeric tables get
  ``coverage90`` (fraction of removed cells whose true value lies in the 90% interval). These are
  records of their own metric names (so they resume separately), carrying the calibrated fit's times;
  methods without belief get none.
- **Resume.** Records are keyed by (dataset, rows, mechanism, rate, seed, method, config, metric), where
  ``config`` hashes the method's preset after overrides, so retuning a preset never reuses old numbers.
  A cell whose records are all present is skipped; each cell's records are written with one
  ``write`` + flush + fsync, so a kill loses at most the cell in progress. ``--retry`` reruns cells
  recorded as errors or skips. A method that raises is recorded as ``status: "error: ..."`` and the
  grid goes on.
- **Report.** For each (dataset, method) only the records of the latest config in the file are used
  (the last one written wins where a key repeats). Tables show mean ± sd over seeds, best per data set in
  bold; figures show the metric against the missing rate per data set, and time against rows.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import inspect
import itertools
import json
import math
import os
import pathlib
import platform
import shlex
import sys
import time
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import jax
import numpy as np
import pandas as pd

import invimpute
from invimpute import datasets, metrics
from invimpute.belief import Belief
from invimpute.imputer import Imputer
from invimpute.methods import NEURAL
from invimpute.missingness import apply_mask, mar_mask, mcar_mask, mnar_mask
from invimpute.uncertainty import brier_score, coverage, expected_calibration_error, selective_accuracy_curve
from invimpute.belief import masked_probabilities

DATASETS: tuple[str, ...] = ("wine", "breast", "breast_diagnostic", "spam", "letter", "credit", "mushroom")
"""Every data set the suite knows: the numeric UCI tables of the GAIN benchmarks and the Mushroom table."""

CATEGORICAL_DATASETS: tuple[str, ...] = ("mushroom",)
"""Data sets scored by accuracy (all others by scaled RMSE and MAE)."""

MECHANISMS: tuple[str, ...] = ("mcar", "mar", "mnar")
DEFAULT_RATES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)

NUMERIC_METRICS: tuple[str, ...] = ("rmse", "mae")
CATEGORICAL_METRICS: tuple[str, ...] = ("accuracy",)
HIGHER_IS_BETTER: frozenset[str] = frozenset({"accuracy"})
SELECTIVE_COVERAGES: tuple[int, ...] = (25, 50, 75, 90)
"""Percentages of the most confident imputed cells whose accuracy ``--uncertainty`` records (the
accuracy-vs-coverage curve; 100% is the plain accuracy)."""
UNCERTAINTY_CATEGORICAL_METRICS: tuple[str, ...] = ("ece", "brier") + tuple(
    f"selective_acc_{c}" for c in SELECTIVE_COVERAGES)
UNCERTAINTY_NUMERIC_METRICS: tuple[str, ...] = ("coverage90",)
UNCERTAINTY_METRICS: tuple[str, ...] = UNCERTAINTY_CATEGORICAL_METRICS + UNCERTAINTY_NUMERIC_METRICS
"""``--uncertainty``'s metrics of calibrated beliefs (see the module docstring)."""
UNCERTAINTY_LEVEL = 0.9
"""Nominal coverage of the numeric intervals scored by ``coverage90``."""

_INVIMPUTE_NET: dict[str, Any] = {
    "hidden": [256, 128], "latent": 64, "dropout": 0.0, "corruption": 0.25, "target": "hidden",
    "scaling": "standard", "batch_size": 128, "steps": 10_000, "schedule": "cosine", "weight_decay": 1e-4,
    "skip": True, "calibrate": False,
}
"""The library's denoising autoencoder: masked-prediction target on 25% hidden cells, ~10,000 AdamW steps
with a cosine-decayed step size, and a linear skip path beside the bottleneck (for the part of each column
that is linear in the others). Against ~3000 constant-step Adam steps without the skip, it lowered 20% MCAR
RMSE on every table tried in development (seeds 0-1 or 0-2): breast_diagnostic 0.0619 -> 0.0580, letter
(5000 rows) 0.0884 -> 0.0810, spam 0.0474 -> 0.0470, credit (5000 rows) 0.1266 -> 0.1255.

Standard scaling (identity head, squared error): on heavy-tailed columns such as spam's it trains more
easily than min-max scaling with a sigmoid head. ``calibrate=False``: the bench scores point
imputations, so no observed cell is held out of training for calibration.
"""

_INVIMPUTE_REFERENCE: dict[str, Any] = {
    "method": "ae", "model": "reference", "dropout": 0.2, "loss": "typed", "corruption": 0.5, "target": "hidden",
    "epochs": 150, "calibrate": False,
}
"""The library's best Mushroom configuration (study 1's masked MLP trained on the masked-prediction target
with a cross-entropy head per column); chosen on seed 0 of the development runs."""

PRESETS: dict[str, dict[str, Any]] = {
    "mean": {"method": "mean"},
    "knn": {"method": "knn", "method_options": {"n_neighbors": 5}},
    "iterative": {"method": "iterative", "method_options": {"estimator": "bayesian_ridge", "max_iter": 10}},
    "missforest": {"method": "missforest", "method_options": {"max_iter": 5, "n_estimators": 30}},
    "softimpute": {"method": "softimpute"},
    "gain": {"method": "gain", "method_options": {"iterations": 10_000, "batch_size": 128, "hint_rate": 0.9,
                                                  "alpha": 100.0}},
    "miwae": {"method": "miwae", "method_options": {"hidden": 128, "k": 20, "n_steps": 5000, "n_samples": 1000}},
    "hyperimpute": {"method": "hyperimpute", "options": {}},
    "invimpute-dae": {"method": "ae", **_INVIMPUTE_NET},
    "invimpute-dae-large": {"method": "ae", **_INVIMPUTE_NET, "hidden": [512, 256], "steps": 30_000},
    "invimpute-dae-ensemble": {"method": "ae", **_INVIMPUTE_NET, "hidden": [512, 256], "ensemble": 5},
    "invimpute-recurrent": {"method": "recurrent", **_INVIMPUTE_NET, "recurrent_weight": 0.5},
    "invimpute-reference": _INVIMPUTE_REFERENCE,
    "invimpute-reverse": {"method": "reverse", **_INVIMPUTE_NET, "skip": False, "inversion": {
        "steps": 100, "learning_rate": 0.05, "code_penalty": "sphere", "code_weight": 1e-3, "input_dropout": 0.1}},
    "ae": {"method": "ae", "calibrate": False},
    "recurrent": {"method": "recurrent", "calibrate": False},
    "reverse": {"method": "reverse", "calibrate": False},
}
"""Every method the bench can run, by name: :class:`~invimpute.Imputer` arguments (plus ``steps``).

``invimpute-dae-large`` is ``invimpute-dae`` with twice the width and three times the steps: on the
larger tables (letter, full size, seed 0: 0.0615 against 0.0750) capacity and training length pay; on
small ones they buy nothing (breast_diagnostic, seed 0: 0.0608 against 0.0604) at four times the time.
``invimpute-dae-ensemble`` averages five fits of ``invimpute-dae`` at twice the width from split keys: on
small tables the variance it removes is most of the error (breast_diagnostic, seeds 0-2, five fits at
the base width: 0.0538 against 0.0580), and averaging lets the wider members pay where one would overfit
(development seed 3, kept out of the published seeds 0-2: breast_diagnostic 0.0536 -> 0.0526, spam
0.0463 -> 0.0459 against the base width; 0.0533 at four times the base width).

The peers use their published or library defaults (KNN k=5; IterativeImputer with BayesianRidge, 10
rounds; GAIN's reference settings; MIWAE's defaults), except MissForest, run as IterativeImputer with 30
extra trees for at most 5 rounds (MissForest's own defaults, 100 trees and 10 rounds, take hours per
grid on a 2-core CPU); ``hyperimpute`` runs the optional ``hyperimpute`` package when it is importable. The
``invimpute-*`` presets are the library's tuned configurations; ``ae``, ``recurrent`` and ``reverse`` are
the library's methods at Imputer defaults.
"""

DEFAULT_METHODS: tuple[str, ...] = (
    "mean", "knn", "iterative", "missforest", "softimpute", "gain", "miwae", "hyperimpute",
    "invimpute-dae", "invimpute-dae-large", "invimpute-dae-ensemble", "invimpute-recurrent", "invimpute-reverse",
)
"""The methods of a full run (the bare ``ae``/``recurrent``/``reverse`` presets run only when named)."""

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

DEFAULT_OUT = "benchmarks/results/bench.jsonl"
QUICK_OUT = "benchmarks/results/bench_quick.jsonl"
DEFAULT_REPORT = "benchmarks/RESULTS_bench.md"
DEFAULT_FIGURES = "benchmarks/figures"

_MERGED_KEYS = ("method_options", "inversion", "options")
_EXTERNAL = ("hyperimpute",)


class BenchError(ValueError):
    """A bad benchmark request (unknown data set, method, mechanism, override); the message lists valid values."""


class _Skip(Exception):
    """A method that cannot run here (for example an optional package that is not installed)."""


# ---- configuration -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """One benchmark request: the grid, where the results go, and the method presets after overrides."""

    datasets: tuple[str, ...]
    mechanisms: tuple[str, ...]
    rates: tuple[float, ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    out: pathlib.Path
    specs: Mapping[str, Mapping[str, Any]]
    max_rows: int | None = None
    data_home: str | None = None
    retry: bool = False
    command: str | None = None
    uncertainty: bool = False


def _valid_imputer_params() -> list[str]:
    """The Imputer arguments a preset may set (all but ``seed``, which the grid sets)."""
    return [p for p in Imputer().get_params() if p != "seed"]


def _merge(spec: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
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
    targets and Imputer arguments raise :class:`BenchError` naming the valid ones.
    """
    unknown = [m for m in methods if m not in PRESETS]
    if unknown:
        raise BenchError(f"unknown method(s) {unknown}; valid methods: {', '.join(PRESETS)}")
    if epochs_override is not None and epochs_override < 1:
        raise BenchError(f"--epochs-override must be >= 1, got {epochs_override}")
    specs = _apply({m: dict(PRESETS[m]) for m in methods}, base or {})
    if epochs_override is not None:
        specs = {m: _merge(s, {"epochs": epochs_override}) if s["method"] in NEURAL else s for m, s in specs.items()}
    return _apply(specs, overrides or {})


def _apply(specs: dict[str, dict[str, Any]], layer: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``specs`` with one layer of ``{method: {argument: value}}`` overrides merged in (after checks)."""
    if not isinstance(layer, Mapping):
        raise BenchError(f"preset overrides must be a JSON object of {{method: {{argument: value}}}}, got {layer!r}")
    bad = [m for m in layer if m not in PRESETS]
    if bad:
        raise BenchError(f"preset overrides name unknown method(s) {bad}; valid methods: {', '.join(PRESETS)}")
    valid_params = set(_valid_imputer_params()) | {"method", "steps"}
    out = dict(specs)
    for name, override in layer.items():
        if not isinstance(override, Mapping):
            raise BenchError(f"the override of {name!r} must be a JSON object, got {override!r}")
        if name in _EXTERNAL:
            wrong = [k for k in override if k != "options"]
            if wrong:
                raise BenchError(f"{name} takes only 'options' (its package's keyword arguments), got {wrong}")
        else:
            wrong = [k for k in override if k not in valid_params]
            if wrong:
                raise BenchError(
                    f"unknown Imputer argument(s) {wrong} in the override of {name!r}; "
                    f"valid: {', '.join(sorted(valid_params))}"
                )
        if name in out:
            out[name] = _merge(out[name], override)
    return out


def config_hash(spec: Mapping[str, Any]) -> str:
    """A short stable hash of a resolved preset: the ``config`` part of every record's key."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def imputer_params(spec: Mapping[str, Any], n_rows: int) -> dict[str, Any]:
    """The :class:`~invimpute.Imputer` arguments of ``spec`` for a table of ``n_rows`` rows.

    ``steps`` becomes ``epochs = ceil(steps / ceil(n_rows / batch_size))``, so a preset trains for about
    the same number of optimiser steps on a 178-row table as on a 20000-row one.
    """
    params = {k: v for k, v in spec.items() if k != "steps"}
    if "steps" in spec:
        batch = int(params.get("batch_size", 256))
        per_epoch = max(1, math.ceil(n_rows / batch))
        params["epochs"] = max(1, math.ceil(int(spec["steps"]) / per_epoch))
    if "hidden" in params and params["hidden"] is not None:
        params["hidden"] = tuple(params["hidden"])
    return params


# ---- data and masks ------------------------------------------------------------------------------


def load_table(dataset: str, data_home: str | None = None, max_rows: int | None = None) -> pd.DataFrame:
    """The complete table of ``dataset`` (numeric tables as float64), optionally subsampled to ``max_rows``.

    The kept rows are the first ``max_rows`` of a permutation seeded by the data set's name, so every
    seed, mechanism, rate and method sees the same rows.
    """
    return _load(dataset, data_home, max_rows)[0]


def _load(dataset: str, data_home: str | None, max_rows: int | None) -> tuple[pd.DataFrame, bool]:
    """:func:`load_table`, and whether rows were dropped."""
    if dataset not in DATASETS:
        raise BenchError(f"unknown dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    if dataset == "mushroom":
        frame = datasets.load_mushroom(data_home, drop_stalk_root=True)
    else:
        frame = datasets.load_uci(dataset, data_home).astype("float64")
    if max_rows is not None and max_rows < len(frame):
        rng = np.random.default_rng(zlib.crc32(dataset.encode()))
        rows = np.sort(rng.permutation(len(frame))[:max_rows])
        return frame.iloc[rows].reset_index(drop=True), True
    return frame, False


def rank_codes(frame: pd.DataFrame) -> np.ndarray:
    """Each cell's frequency rank within its column (0 = most common value): a numeric view of labels."""
    out = np.empty(frame.shape, dtype=np.float64)
    for j, col in enumerate(frame.columns):
        values = frame[col].astype(str)
        order = values.value_counts(sort=True)
        ranks = {v: i for i, v in enumerate(order.index)}
        out[:, j] = values.map(ranks).to_numpy(dtype=np.float64)
    return out


def mask_key(seed: int, dataset: str, mechanism: str, rate: float) -> jax.Array:
    """The mask's PRNG key: the seed's key folded with a stable hash of (dataset, mechanism, rate)."""
    salt = zlib.crc32(f"{dataset}/{mechanism}/{float(rate)!r}".encode()) & 0x7FFFFFFF
    return jax.random.fold_in(jax.random.key(int(seed)), salt)


def draw_mask(truth: pd.DataFrame, dataset: str, mechanism: str, rate: float, seed: int) -> np.ndarray:
    """The ``missing`` mask (True where removed) of one (dataset, mechanism, rate, seed) cell."""
    key = mask_key(seed, dataset, mechanism, rate)
    if mechanism == "mcar":
        return mcar_mask(key, truth.shape, rate)
    matrix = rank_codes(truth) if dataset in CATEGORICAL_DATASETS else truth.to_numpy(dtype=np.float64)
    if mechanism == "mar":
        return mar_mask(key, matrix, rate)
    if mechanism == "mnar":
        return mnar_mask(key, matrix, rate)
    raise BenchError(f"unknown mechanism {mechanism!r}; valid mechanisms: {', '.join(MECHANISMS)}")


def mask_checksum(missing: np.ndarray) -> str:
    """SHA-256 of a mask (shape and bits): equal across the methods of one cell by construction."""
    m = np.asarray(missing, dtype=bool)
    digest = hashlib.sha256(np.asarray(m.shape, dtype=np.int64).tobytes() + np.packbits(m).tobytes())
    return digest.hexdigest()[:16]


def score(truth: pd.DataFrame, filled: pd.DataFrame, missing: np.ndarray, categorical: bool) -> dict[str, float]:
    """The metrics of one imputation over the removed cells (see the module docstring)."""
    if categorical:
        return {"accuracy": metrics.categorical_accuracy(truth, filled, missing)}
    t = truth.to_numpy(dtype=np.float64)
    p = np.asarray(filled, dtype=np.float64)
    lo, hi = t.min(axis=0), t.max(axis=0)
    return {
        "rmse": metrics.rmse(t, p, missing, lo=lo, hi=hi),
        "mae": metrics.mae(t, p, missing, lo=lo, hi=hi),
    }


def score_uncertainty(
    truth: pd.DataFrame, filled: pd.DataFrame | None, belief: Belief, missing: np.ndarray, categorical: bool
) -> dict[str, float]:
    """The calibration metrics of one calibrated imputation's ``belief`` over the removed cells.

    Categorical tables: ``ece``, ``brier`` and ``selective_acc_<c>`` (for each of
    :data:`SELECTIVE_COVERAGES`) of the per-cell confidence against
    whether ``filled`` (the same imputer's ``transform``) got the cell right. Numeric tables:
    ``coverage90``, the fraction of removed cells whose true value lies in ``[lower, upper]``.
    """
    missing = np.asarray(missing, dtype=bool)
    if not categorical:
        t = truth.to_numpy(dtype=np.float64)
        return {"coverage90": coverage(t, belief.lower.to_numpy(dtype=np.float64),
                                       belief.upper.to_numpy(dtype=np.float64), mask=missing)}
    correct = (np.asarray(truth, dtype=object) == np.asarray(filled, dtype=object))[missing]
    confidence = belief.confidence.to_numpy(dtype=np.float64)[missing]
    probs, onehot = masked_probabilities(truth, belief, missing)
    _, selective = selective_accuracy_curve(confidence, correct, [c / 100 for c in SELECTIVE_COVERAGES])
    return {
        "ece": expected_calibration_error(confidence, correct),
        "brier": brier_score(probs, onehot),
        **{f"selective_acc_{c}": float(a) for c, a in zip(SELECTIVE_COVERAGES, selective)},
    }


# ---- methods -------------------------------------------------------------------------------------


class _HyperImpute:
    """The optional ``hyperimpute`` package's HyperImpute plugin behind ``fit`` / ``transform``."""

    def __init__(self, seed: int, options: Mapping[str, Any]) -> None:
        self.seed = seed
        self.options = dict(options)

    def fit(self, frame: pd.DataFrame) -> "_HyperImpute":
        """Fit the plugin on the damaged table."""
        from hyperimpute.plugins.imputers import Imputers

        self.plugin_ = Imputers().get("hyperimpute", random_state=self.seed, **self.options)
        self.plugin_.fit(frame)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The plugin's fills in the missing cells; observed cells are kept as given."""
        out = pd.DataFrame(np.asarray(self.plugin_.transform(frame), dtype=np.float64),
                           index=frame.index, columns=frame.columns)
        return frame.where(frame.notna(), out)


def _build(spec: Mapping[str, Any], seed: int, n_rows: int, categorical: bool) -> Any:
    """An unfitted imputer for ``spec`` (raises :class:`_Skip` where it cannot run here)."""
    if spec["method"] == "hyperimpute":
        try:
            import hyperimpute  # noqa: F401
        except ImportError as exc:
            raise _Skip("hyperimpute not installed") from exc
        if categorical:
            raise _Skip("hyperimpute runs on numeric tables only here")
        return _HyperImpute(seed, spec.get("options", {}))
    return Imputer(**imputer_params(spec, n_rows), seed=seed)


def run_method(
    spec: Mapping[str, Any], damaged: pd.DataFrame, seed: int, categorical: bool
) -> tuple[pd.DataFrame, float, float]:
    """Fit ``spec`` on ``damaged``, then fill it: ``(filled, fit_seconds, impute_seconds)``."""
    imputer = _build(spec, seed, len(damaged), categorical)
    start = time.perf_counter()
    imputer.fit(damaged)
    fitted = time.perf_counter()
    filled = imputer.transform(damaged)
    return filled, fitted - start, time.perf_counter() - fitted


def has_belief(spec: Mapping[str, Any]) -> bool:
    """Whether a preset's imputer gives per-cell belief (the neural methods), so ``--uncertainty`` scores it."""
    return spec["method"] in NEURAL


def run_calibrated(
    spec: Mapping[str, Any], truth: pd.DataFrame, damaged: pd.DataFrame, missing: np.ndarray, seed: int,
    categorical: bool,
) -> tuple[dict[str, float], float, float]:
    """Fit a ``calibrate=True`` copy of the neural preset ``spec`` on ``damaged`` and score its belief.

    Returns ``(calibration metrics, fit_seconds, impute_seconds)``; impute time covers ``belief`` (and
    ``transform`` on categorical tables, whose imputed labels decide which cells are correct).
    """
    imputer = Imputer(**{**imputer_params(spec, len(damaged)), "calibrate": True}, seed=seed)
    start = time.perf_counter()
    imputer.fit(damaged)
    fitted = time.perf_counter()
    belief = imputer.belief(damaged, level=UNCERTAINTY_LEVEL)
    filled = imputer.transform(damaged) if categorical else None
    values = score_uncertainty(truth, filled, belief, missing, categorical)
    return values, fitted - start, time.perf_counter() - fitted


# ---- results file --------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """Where the numbers come from: CPU, OS, Python, JAX backend and devices, library versions."""
    devices = jax.devices()
    return {
        "host": platform.node(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": f"{len(devices)} x {devices[0].device_kind}",
        "invimpute": invimpute.__version__,
    }


def record_key(record: Mapping[str, Any]) -> tuple:
    """The configuration a record belongs to: one record per key in a results file."""
    return (
        record["dataset"], record.get("rows"), record["mechanism"], float(record["rate"]), int(record["seed"]),
        record["method"], record.get("config"), record["metric"],
    )


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of a results file, in file order; a torn last line (a kill) is ignored."""
    path = pathlib.Path(path)
    if not path.is_file():
        return []
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and {"dataset", "mechanism", "rate", "seed", "method", "metric"} <= rec.keys():
                records.append(rec)
    return records


def append_records(path: pathlib.Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Append ``records`` as JSON lines in one write, then flush and fsync.

    A file whose last line was torn by a kill gets a newline first, so the new records start on a line of
    their own.
    """
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, allow_nan=False, default=str) + "\n" for r in records)
    with path.open("a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                text = "\n" + text
        fh.write(text.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _finite(value: float | None) -> float | None:
    """``value`` as a JSON-safe float, None when missing or not finite."""
    return None if value is None or not math.isfinite(value) else float(value)


def _one_line(exc: BaseException, limit: int = 400) -> str:
    """An exception as one bounded line, ``Type: message``, for a record's status."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---- the run -------------------------------------------------------------------------------------


@dataclasses.dataclass
class RunSummary:
    """What one run did: cells run now, cells found already done, and how the cells run now ended."""

    ran: int = 0
    existing: int = 0
    ok: int = 0
    skipped: int = 0
    errors: int = 0

    def count(self, status: str) -> None:
        """Count one cell run now, by how it ended."""
        self.ran += 1
        if status == "ok":
            self.ok += 1
        elif status.startswith("skipped"):
            self.skipped += 1
        else:
            self.errors += 1


def _validate(config: BenchConfig) -> None:
    """Raise :class:`BenchError` for an unknown name or an empty or out-of-range grid axis."""
    bad = [d for d in config.datasets if d not in DATASETS]
    if bad:
        raise BenchError(f"unknown dataset(s) {bad}; valid datasets: {', '.join(DATASETS)}")
    bad = [m for m in config.mechanisms if m not in MECHANISMS]
    if bad:
        raise BenchError(f"unknown mechanism(s) {bad}; valid mechanisms: {', '.join(MECHANISMS)}")
    bad = [m for m in config.methods if m not in config.specs]
    if bad:
        raise BenchError(f"unknown method(s) {bad}; valid methods: {', '.join(PRESETS)}")
    bad_rates = [r for r in config.rates if not 0.0 < r < 1.0]
    if bad_rates:
        raise BenchError(f"missing rates must be in (0, 1), got {bad_rates}")
    if config.max_rows is not None and config.max_rows < 10:
        raise BenchError(f"--max-rows must be at least 10, got {config.max_rows}")
    for name in (config.datasets, config.mechanisms, config.rates, config.seeds, config.methods):
        if not name:
            raise BenchError("every grid axis (datasets, mechanisms, rates, seeds, methods) needs a value")


def run(config: BenchConfig, log: TextIO | None = None) -> RunSummary:
    """Run every cell of the grid that the results file does not hold yet, appending its records.

    Progress goes to ``log`` (default: the current ``sys.stderr``), one line per cell run.
    """
    _validate(config)
    stream = sys.stderr if log is None else log
    done = {record_key(r) for r in read_results(config.out) if r.get("status") == "ok" or not config.retry}
    configs = {m: config_hash(config.specs[m]) for m in config.methods}
    machine = machine_info()
    summary = RunSummary()
    cells = list(itertools.product(config.datasets, config.mechanisms, config.rates, config.seeds, config.methods))
    table: tuple[str, pd.DataFrame, bool] | None = None
    damage: tuple[tuple, np.ndarray, pd.DataFrame, str] | None = None
    for index, (dataset, mechanism, rate, seed, method) in enumerate(cells, 1):
        if table is None or table[0] != dataset:
            table = (dataset, *_load(dataset, config.data_home, config.max_rows))
        _, truth, subsampled = table
        categorical = dataset in CATEGORICAL_DATASETS
        spec = config.specs[method]
        base = {"dataset": dataset, "rows": int(truth.shape[0]), "mechanism": mechanism, "rate": float(rate),
                "seed": int(seed), "method": method, "config": configs[method]}
        todo = [m for m in (CATEGORICAL_METRICS if categorical else NUMERIC_METRICS)
                if record_key({**base, "metric": m}) not in done]
        extra = (UNCERTAINTY_CATEGORICAL_METRICS if categorical else UNCERTAINTY_NUMERIC_METRICS) \
            if config.uncertainty and has_belief(spec) else ()
        todo_calibrated = [m for m in extra if record_key({**base, "metric": m}) not in done]
        if not todo and not todo_calibrated:
            summary.existing += 1
            continue
        if summary.ran == 0:
            _warm_up()
        if damage is None or damage[0] != (dataset, mechanism, rate, seed):
            missing = draw_mask(truth, dataset, mechanism, rate, seed)
            damage = ((dataset, mechanism, rate, seed), missing, apply_mask(truth, missing), mask_checksum(missing))
        _, missing, damaged, checksum = damage
        records, texts, counted = [], [], False
        for metrics_todo, calibrated in ((todo, False), (todo_calibrated, True)):
            if not metrics_todo:
                continue
            outcome = _run_cell(spec, truth, damaged, missing, seed, categorical, calibrated=calibrated)
            values, status, fit_s, imp_s = outcome.values, outcome.status, outcome.fit_seconds, outcome.impute_seconds
            if not counted:  # a cell counts once, by its point imputation when that ran
                summary.count(status)
                counted = True
            shared = {
                "fit_seconds": fit_s, "impute_seconds": imp_s, "status": status, "warnings": outcome.warnings,
                "cols": int(truth.shape[1]),
                "subsampled": subsampled, "missing_fraction": float(np.mean(missing)), "mask_sha256": checksum,
                "params": spec, "epochs": _epochs_of(spec, len(truth)), "machine": machine, "command": config.command,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            if calibrated:
                shared.update(calibrate=True, level=UNCERTAINTY_LEVEL)
            records += [{**base, "metric": m, "value": _finite(values.get(m)), **shared} for m in metrics_todo]
            shown = ", ".join(f"{m} {v:.4f}" for m, v in values.items()) or status
            timing = f" (fit {fit_s:.1f} s, impute {imp_s:.1f} s)" if fit_s is not None else ""
            texts.append(("calibrated: " if calibrated else "") + shown + timing)
        append_records(config.out, records)
        done.update(record_key(r) for r in records)
        print(f"[{index}/{len(cells)}] {dataset} {mechanism} {rate:g} seed {seed} {method}: {'; '.join(texts)}",
              file=stream, flush=True)
    print(f"{summary.ran} cells run ({summary.ok} ok, {summary.skipped} skipped, {summary.errors} errors), "
          f"{summary.existing} already in {config.out}", file=stream, flush=True)
    return summary


def _epochs_of(spec: Mapping[str, Any], n_rows: int) -> int | None:
    """The training epochs a neural preset runs for on ``n_rows`` rows (None for the other methods)."""
    if spec["method"] not in NEURAL:
        return None
    default = inspect.signature(Imputer).parameters["epochs"].default
    return int(imputer_params(spec, n_rows).get("epochs", default))


def _warm_up() -> None:
    """Import the peers' dependencies and run one tiny imputation, so no cell is charged for start-up."""
    with contextlib.suppress(ImportError):
        from sklearn.ensemble import ExtraTreesRegressor  # noqa: F401
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer, KNNImputer  # noqa: F401
        from sklearn.linear_model import BayesianRidge  # noqa: F401
    tiny = pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": [np.nan, 1.0, 3.0]})
    Imputer("mean").fit(tiny).transform(tiny)


@dataclasses.dataclass
class _Outcome:
    """How one method did on one damaged table."""

    values: dict[str, float]
    status: str
    fit_seconds: float | None = None
    impute_seconds: float | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


def _run_cell(
    spec: Mapping[str, Any], truth: pd.DataFrame, damaged: pd.DataFrame, missing: np.ndarray, seed: int,
    categorical: bool, calibrated: bool = False,
) -> _Outcome:
    """Run one method on one damaged table; its warnings are kept for the record instead of printed.

    ``calibrated``: fit the preset's calibrated copy and score its belief (:func:`run_calibrated`).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if calibrated:
                values, fit_s, imp_s = run_calibrated(spec, truth, damaged, missing, seed, categorical)
            else:
                filled, fit_s, imp_s = run_method(spec, damaged, seed, categorical)
                values = score(truth, filled, missing, categorical)
        except _Skip as why:
            return _Outcome({}, f"skipped: {why}")
        except Exception as exc:  # noqa: BLE001 - a failing method is a result, recorded, and the grid goes on
            return _Outcome({}, f"error: {_one_line(exc)}", warnings=_distinct(caught))
    if not all(math.isfinite(v) for v in values.values()):
        return _Outcome({}, "error: non-finite metric value", fit_s, imp_s, _distinct(caught))
    return _Outcome(values, "ok", fit_s, imp_s, _distinct(caught))


def _distinct(caught: Sequence[warnings.WarningMessage], limit: int = 5) -> list[str]:
    """The first ``limit`` distinct warnings, as ``Category: message`` lines."""
    texts = dict.fromkeys(f"{w.category.__name__}: {' '.join(str(w.message).split())}"[:300] for w in caught)
    return list(texts)[:limit]


# ---- the report ----------------------------------------------------------------------------------


def _label(rec: Mapping[str, Any]) -> str:
    """A report row's name: the data set, with its row count when it was subsampled."""
    return f"{rec['dataset']} ({rec['rows']} rows)" if rec.get("subsampled") else str(rec["dataset"])


def select_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records a report uses: per (dataset, method) the latest config only, the last record per key."""
    records = [dict(r) for r in records]
    latest: dict[tuple[str, str], Any] = {}
    for rec in records:
        latest[(_label(rec), rec["method"])] = rec.get("config")
    kept: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        if rec.get("config") == latest[(_label(rec), rec["method"])]:
            kept[record_key(rec)] = rec
    return list(kept.values())


def _order(names: Iterable[str], known: Sequence[str]) -> list[str]:
    """``names`` without repeats, in the order of ``known`` (a label's first word decides), others last."""
    names = list(dict.fromkeys(names))

    def rank(name: str) -> tuple[int, str]:
        head = name.split(" ")[0]
        return (known.index(head) if head in known else len(known), name)

    return sorted(names, key=rank)


def _primary(recs: Sequence[Mapping[str, Any]]) -> str:
    """The metric a data set's table row shows: accuracy for categorical tables, else RMSE."""
    return "accuracy" if any(r["metric"] == "accuracy" for r in recs) else "rmse"


def _fmt(values: Sequence[float], n: int) -> str:
    """``mean ± sd`` of the successful seeds, noting how many of ``n`` succeeded when not all did."""
    mean = float(np.mean(values))
    text = f"{mean:.4f}" if len(values) == 1 else f"{mean:.4f} ± {float(np.std(values, ddof=1)):.4f}"
    return text if len(values) == n else f"{text} ({len(values)}/{n} seeds)"


def _summary_cell(recs: Sequence[Mapping[str, Any]]) -> tuple[str, float | None]:
    """Text of one table cell and its mean (None when no seed succeeded)."""
    ok = [r["value"] for r in recs if r.get("status") == "ok" and r.get("value") is not None]
    if ok:
        return _fmt(ok, len(recs)), float(np.mean(ok))
    statuses = {str(r.get("status", "")).split(":")[0] for r in recs}
    return ("error" if "error" in statuses else "skipped"), None


def _machine_line(m: Mapping[str, Any]) -> str:
    """One line describing a record's machine."""
    return (f"{m.get('cpus')}-CPU {m.get('machine')} host `{m.get('host')}`, {m.get('platform')}, Python "
            f"{m.get('python')}, JAX {m.get('jax')} on {m.get('backend')} ({m.get('devices')}), "
            f"invimpute {m.get('invimpute')}")


def write_report(
    results_path: str | os.PathLike[str] = DEFAULT_OUT,
    out_md: str | os.PathLike[str] = DEFAULT_REPORT,
    figures_dir: str | os.PathLike[str] | None = DEFAULT_FIGURES,
) -> str:
    """Write the markdown report (and PNG figures under ``figures_dir``) from the results file alone.

    One table per (mechanism, rate): data sets as rows, methods as columns, the primary metric (scaled
    RMSE, or accuracy for categorical tables) as mean ± sd over seeds, the best mean per data set in
    bold; then, when ``--uncertainty`` records exist, a Calibration section (one table per metric);
    then a timing table, the figures, each method's configuration, and the commands and machines
    that produced the records. Returns the markdown text. ``figures_dir=None`` writes no figures.
    """
    results_path = pathlib.Path(results_path)
    out_md = pathlib.Path(out_md)
    all_records = read_results(results_path)
    if not all_records:
        raise BenchError(f"no benchmark records in {results_path}; run `invimpute bench --out {results_path}` first")
    records = select_records(all_records)
    labels = _order((_label(r) for r in records), DATASETS)
    methods = _order((r["method"] for r in records), list(PRESETS))
    primary = {lab: _primary([r for r in records if _label(r) == lab]) for lab in labels}
    groups = sorted({(r["mechanism"], float(r["rate"])) for r in records},
                    key=lambda g: (MECHANISMS.index(g[0]) if g[0] in MECHANISMS else 99, g[1]))
    index: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        if r["metric"] == primary[_label(r)]:
            index.setdefault((r["mechanism"], float(r["rate"]), _label(r), r["method"]), []).append(r)

    lines = [
        "# invimpute benchmark results",
        "",
        f"Generated by `invimpute bench --report` from `{results_path.name}` ({len(records)} records used of "
        f"{len(all_records)}); do not edit by hand. Numeric tables: RMSE over the removed cells after min-max "
        "scaling by the complete table's per-column range (lower is better); categorical tables: accuracy over "
        "the removed cells (higher is better). Mean ± sd (ddof=1) over seeds; the best mean of each row in "
        "bold. Every method of a row was scored on the same mask (`mask_sha256` in the results file).",
        "",
    ]
    for mechanism, rate in groups:
        cols = [m for m in methods if any(k[:2] == (mechanism, rate) and k[3] == m for k in index)]
        rows = [lab for lab in labels if any(k[:3] == (mechanism, rate, lab) for k in index)]
        lines += [f"## {mechanism.upper()}, {rate:.0%} missing", "",
                  "| dataset | metric | " + " | ".join(cols) + " |",
                  "|---|---|" + "---|" * len(cols)]
        for lab in rows:
            metric = primary[lab]
            cells = {m: _summary_cell(index.get((mechanism, rate, lab, m), [])) for m in cols}
            means = [v for _, v in cells.values() if v is not None]
            best = (max(means) if metric in HIGHER_IS_BETTER else min(means)) if means else None
            texts = []
            for m in cols:
                if not index.get((mechanism, rate, lab, m)):
                    texts.append("—")
                    continue
                text, mean = cells[m]
                texts.append(f"**{text}**" if mean is not None and mean == best else text)
            arrow = "↑" if metric in HIGHER_IS_BETTER else "↓"
            lines.append(f"| {lab} | {metric} {arrow} | " + " | ".join(texts) + " |")
        lines.append("")

    lines += _calibration_tables(records, labels, methods)
    lines += _timing_table(records, labels, methods)
    if figures_dir is not None:
        figures = write_figures(records, pathlib.Path(figures_dir), out_md.stem, labels, methods, primary)
        if figures:
            lines += ["## Figures", ""]
            for title, path in figures:
                rel = os.path.relpath(path, out_md.parent.resolve() if out_md.parent.exists() else out_md.parent)
                lines += [f"![{title}]({pathlib.Path(rel).as_posix()})", ""]
    lines += _provenance(records, methods)
    text = "\n".join(lines).rstrip() + "\n"
    out_md.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_md.with_name(out_md.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out_md)
    return text


_CALIBRATION_TITLES = {
    "ece": "expected calibration error of categorical beliefs (15 bins, lower is better)",
    "brier": "Brier score of categorical beliefs (lower is better)",
    **{f"selective_acc_{c}": f"accuracy of the {c}% most confident imputed cells (higher is better)"
       for c in SELECTIVE_COVERAGES},
    "coverage90": "coverage of the numeric 90% intervals (target 0.90)",
}


def _calibration_tables(
    records: Sequence[Mapping[str, Any]], labels: Sequence[str], methods: Sequence[str]
) -> list[str]:
    """``--uncertainty``'s section: one table per calibration metric, (data set, mechanism, rate) x methods."""
    index: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in records:
        if r["metric"] in UNCERTAINTY_METRICS:
            index.setdefault((r["metric"], _label(r), r["mechanism"], float(r["rate"]), r["method"]), []).append(r)
    if not index:
        return []
    lines = ["## Calibration", "",
             "Beliefs of each neural preset refitted with `calibrate=True` (`Imputer.belief`), scored on the same "
             "removed cells as the tables above. Mean ± sd (ddof=1) over seeds.", ""]
    for metric in UNCERTAINTY_METRICS:
        keys = [k for k in index if k[0] == metric]
        if not keys:
            continue
        cols = [m for m in methods if any(k[4] == m for k in keys)]
        rows = sorted({k[1:4] for k in keys}, key=lambda g: (
            labels.index(g[0]) if g[0] in labels else len(labels),
            MECHANISMS.index(g[1]) if g[1] in MECHANISMS else 99, g[2]))
        lines += [f"### {metric}: {_CALIBRATION_TITLES[metric]}", "",
                  "| dataset | mechanism | rate | " + " | ".join(cols) + " |", "|---|---|---|" + "---|" * len(cols)]
        for lab, mech, rate in rows:
            texts = [_summary_cell(index[(metric, lab, mech, rate, m)])[0] if (metric, lab, mech, rate, m) in index
                     else "—" for m in cols]
            lines.append(f"| {lab} | {mech} | {rate:.0%} | " + " | ".join(texts) + " |")
        lines.append("")
    return lines


def _timing_table(records: Sequence[Mapping[str, Any]], labels: Sequence[str], methods: Sequence[str]) -> list[str]:
    """Median fit + impute seconds per (data set, method) over the successful cells."""
    seconds: dict[tuple[str, str], dict[tuple, float]] = {}
    for r in records:
        if r.get("status") == "ok" and r.get("fit_seconds") is not None and r["metric"] not in UNCERTAINTY_METRICS:
            cell = (r["mechanism"], float(r["rate"]), r["seed"])
            seconds.setdefault((_label(r), r["method"]), {})[cell] = r["fit_seconds"] + (r.get("impute_seconds") or 0.0)
    if not seconds:
        return []
    cols = [m for m in methods if any(k[1] == m for k in seconds)]
    lines = ["## Time", "", "Median seconds of `fit` + `transform` per cell (fit includes JAX compilation).", "",
             "| dataset | rows × cols | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    shapes = {_label(r): f"{r['rows']} × {r.get('cols', '?')}" for r in records}
    for lab in labels:
        texts = [f"{np.median(list(seconds[(lab, m)].values())):.2f}" if (lab, m) in seconds else "—" for m in cols]
        lines.append(f"| {lab} | {shapes[lab]} | " + " | ".join(texts) + " |")
    return lines + [""]


def _provenance(records: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> list[str]:
    """Each method's configuration(s), and the commands and machines behind the records."""
    lines = ["## Method configurations", "", "| method | config | Imputer arguments (before `steps` → `epochs`) |",
             "|---|---|---|"]
    seen: set[tuple[str, str]] = set()
    for m in methods:
        for r in records:
            key = (m, r.get("config"))
            if r["method"] == m and key not in seen:
                seen.add(key)
                lines.append(f"| {m} | `{r.get('config')}` | `{json.dumps(r.get('params'), sort_keys=True)}` |")
    commands = list(dict.fromkeys(r.get("command") or "(invimpute.bench.run from Python)" for r in records))
    machines = list(dict.fromkeys(
        _machine_line(r["machine"]) for r in records if isinstance(r.get("machine"), Mapping)))
    lines += ["", "## Provenance", "", "Produced by:", ""]
    lines += [f"    {c}" for c in commands]
    lines += ["", "on:", ""] + [f"- {m}" for m in machines] + [""]
    return lines


def write_figures(
    records: Sequence[Mapping[str, Any]],
    figures_dir: pathlib.Path,
    prefix: str,
    labels: Sequence[str],
    methods: Sequence[str],
    primary: Mapping[str, str],
) -> list[tuple[str, pathlib.Path]]:
    """PNG figures (matplotlib, Agg): the metric against the missing rate per data set, and time against rows.

    Returns ``(title, path)`` pairs; none when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return []
    figures_dir.mkdir(parents=True, exist_ok=True)
    palette = plt.get_cmap("tab20").colors
    style = {m: {"color": palette[(2 * i) % 20 + (i // 10) % 2], "marker": "osD^v<>px*h"[i % 11]}
             for i, m in enumerate(methods)}
    out: list[tuple[str, pathlib.Path]] = []
    for lab in labels:
        metric = primary[lab]
        recs = [r for r in records if _label(r) == lab and r["metric"] == metric and r.get("status") == "ok"]
        mechs = _order({r["mechanism"] for r in recs}, MECHANISMS)
        if not mechs:
            continue
        rates = sorted({float(r["rate"]) for r in recs})
        gap = min((b - a for a, b in zip(rates, rates[1:])), default=0.1)
        fig, axes = plt.subplots(1, len(mechs), figsize=(3.6 * len(mechs) + 1.8, 3.6), squeeze=False, sharey=True)
        for ax, mech in zip(axes[0], mechs):
            shown = [m for m in methods if any(r["mechanism"] == mech and r["method"] == m for r in recs)]
            for i, m in enumerate(shown):
                pts: dict[float, list[float]] = {}
                for r in recs:
                    if r["mechanism"] == mech and r["method"] == m:
                        pts.setdefault(float(r["rate"]), []).append(r["value"])
                xs = sorted(pts)
                dodge = 0.5 * gap * ((i + 0.5) / len(shown) - 0.5)  # side by side, so error bars stay readable
                ys = [float(np.mean(pts[x])) for x in xs]
                es = [float(np.std(pts[x], ddof=1)) if len(pts[x]) > 1 else 0.0 for x in xs]
                ax.errorbar([x + dodge for x in xs], ys, yerr=es, capsize=2, markersize=4, label=m, **style[m])
            ax.set_title(f"{lab}: {mech.upper()}")
            ax.set_xlabel("missing rate")
            ax.set_xticks(rates, [f"{r:.0%}" for r in rates])
            ax.set_xlim(rates[0] - 0.5 * gap, rates[-1] + 0.5 * gap)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel(f"{metric} ({'higher' if metric in HIGHER_IS_BETTER else 'lower'} is better)")
        handles = {}  # every method of every panel, in the methods' order (a method may run under one mechanism only)
        for ax in axes[0]:
            for h, name in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(name, h)
        names = [m for m in methods if m in handles]
        axes[0][-1].legend([handles[m] for m in names], names, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        fig.tight_layout()
        path = figures_dir / f"{prefix}-{_slug(lab)}-{metric}-vs-rate.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out.append((f"{lab}: {metric} against the missing rate", path))

    times: dict[str, dict[int, list[float]]] = {}
    names: dict[int, str] = {}
    for r in records:
        if r.get("status") == "ok" and r.get("fit_seconds") is not None and r["metric"] == primary[_label(r)]:
            times.setdefault(r["method"], {}).setdefault(int(r["rows"]), []).append(
                r["fit_seconds"] + (r.get("impute_seconds") or 0.0))
            names[int(r["rows"])] = f"{r['dataset']}\n{r['rows']}×{r.get('cols', '?')}"
    if times:
        fig, ax = plt.subplots(figsize=(8.0, 4.6))
        for m in methods:
            if m in times:
                xs = sorted(times[m])
                ax.plot(xs, [float(np.median(times[m][x])) for x in xs], label=m, markersize=5, **style[m])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted(names)
        low = [False] * len(ticks)  # drop a label a line lower when it would overlap the previous one
        for i in range(1, len(ticks)):
            low[i] = ticks[i] < 1.6 * ticks[i - 1] and not low[i - 1]
        ax.set_xticks(ticks, [("\n\n" if lo else "") + names[x] for x, lo in zip(ticks, low)], fontsize=7)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("rows (data set, rows × columns)")
        ax.set_ylabel("fit + transform seconds (median)")
        ax.set_title("time against rows (fit includes JAX compilation)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        fig.tight_layout()
        path = figures_dir / f"{prefix}-time-vs-rows.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out.append(("time against rows", path))
    return out


def _slug(text: str) -> str:
    """``text`` made safe for a file name."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text).strip("_")


# ---- command line --------------------------------------------------------------------------------


def _split(values: Sequence[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (the grid options take spaces or commas)."""
    if values is None:
        return None
    return [v for item in values for v in item.split(",") if v]


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``invimpute bench`` (also what ``--help`` prints)."""
    parser = argparse.ArgumentParser(
        prog="invimpute bench",
        description="Run imputers on the standard tables over a grid of missingness mechanisms, rates and "
                    "seeds; append the scores to a JSON-lines results file (resumable); write a markdown "
                    "report and figures from it.",
        epilog=f"datasets: {', '.join(DATASETS)}. methods: {', '.join(PRESETS)}. "
               f"Grid options take several values, separated by spaces or commas.",
    )
    grid = parser.add_argument_group("grid")
    grid.add_argument("--datasets", nargs="+", metavar="NAME", help=f"default: all ({', '.join(DATASETS)})")
    grid.add_argument("--mechanisms", nargs="+", metavar="NAME", help="mcar, mar, mnar (default: all)")
    grid.add_argument("--rates", nargs="+", metavar="RATE",
                      help=f"missing rates (default: {' '.join(map(str, DEFAULT_RATES))})")
    grid.add_argument("--seeds", nargs="+", metavar="SEED",
                      help=f"seeds (default: {' '.join(map(str, DEFAULT_SEEDS))})")
    grid.add_argument("--methods", nargs="+", metavar="NAME", help=f"presets (default: {', '.join(DEFAULT_METHODS)})")
    grid.add_argument("--max-rows", type=int, metavar="N", help="keep N rows of each table (a fixed random subset)")
    grid.add_argument("--quick", action="store_true",
                      help=f"a few-minute check: {' and '.join(QUICK_DATASETS)}, MCAR 20%%, seed 0, fast methods, "
                           f"tiny-epoch neural presets (other grid options still apply); results go to {QUICK_OUT}")
    tune = parser.add_argument_group("presets")
    tune.add_argument("--epochs-override", type=int, metavar="N",
                      help="train every neural preset for N epochs (replaces its step budget)")
    tune.add_argument("--uncertainty", action="store_true",
                      help="also fit each neural preset with calibrate=True and record the calibration of its "
                           "beliefs: ece, brier, selective_acc_25/50/75/90 (categorical tables), coverage90 (numeric)")
    tune.add_argument("--preset-overrides", metavar="JSON",
                      help='a JSON object (or a path to a JSON file) {"method": {"argument": value}}; '
                           "method_options and inversion merge with the preset's")
    files = parser.add_argument_group("files")
    files.add_argument("--out", metavar="PATH", help=f"results file, appended to (default: {DEFAULT_OUT})")
    files.add_argument("--data-home", metavar="DIR", help="data folder (default: $INVIMPUTE_DATA or ~/.invimpute/data)")
    files.add_argument("--retry", action="store_true", help="rerun cells recorded as errors or skips")
    files.add_argument("--report", nargs="?", const=DEFAULT_REPORT, metavar="MD",
                       help=f"write the markdown report after the run (default path: {DEFAULT_REPORT})")
    files.add_argument("--figures", default=DEFAULT_FIGURES, metavar="DIR",
                       help=f"folder of the report's PNG figures (default: {DEFAULT_FIGURES})")
    files.add_argument("--report-only", action="store_true", help="write the report from the results file, run nothing")
    files.add_argument("--list", action="store_true", help="print the data sets and method presets, then exit")
    return parser


def _load_overrides(text: str) -> Any:
    """``--preset-overrides``: inline JSON, or the path of a JSON file."""
    candidate = pathlib.Path(text)
    if not text.lstrip().startswith("{") and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"--preset-overrides is not valid JSON (nor a JSON file): {exc}") from exc


def config_from_args(args: argparse.Namespace, command: str | None = None) -> BenchConfig:
    """The :class:`BenchConfig` of parsed arguments (``--quick`` fills the axes it was not given)."""
    quick = args.quick
    datasets = _split(args.datasets) or list(QUICK_DATASETS if quick else DATASETS)
    mechanisms = _split(args.mechanisms) or (["mcar"] if quick else list(MECHANISMS))
    methods = _split(args.methods) or list(QUICK_METHODS if quick else DEFAULT_METHODS)
    try:
        rates = [float(r) for r in _split(args.rates) or ([0.2] if quick else DEFAULT_RATES)]
        seeds = [int(s) for s in _split(args.seeds) or ([0] if quick else DEFAULT_SEEDS)]
    except ValueError as exc:
        raise BenchError(f"--rates takes numbers and --seeds integers: {exc}") from exc
    unknown = [m for m in methods if m not in PRESETS]
    if unknown:
        raise BenchError(f"unknown method(s) {unknown}; valid methods: {', '.join(PRESETS)}")
    user = _load_overrides(args.preset_overrides) if args.preset_overrides else None
    specs = resolve_specs(methods, QUICK_OVERRIDES if quick else None, args.epochs_override, user)
    config = BenchConfig(
        datasets=tuple(dict.fromkeys(datasets)), mechanisms=tuple(dict.fromkeys(mechanisms)),
        rates=tuple(dict.fromkeys(rates)), seeds=tuple(dict.fromkeys(seeds)), methods=tuple(dict.fromkeys(methods)),
        out=pathlib.Path(args.out or (QUICK_OUT if quick else DEFAULT_OUT)), specs=specs, max_rows=args.max_rows,
        data_home=args.data_home, retry=args.retry, command=command, uncertainty=args.uncertainty,
    )
    _validate(config)
    return config


def _listing() -> str:
    """What ``--list`` prints: the data sets, mechanisms and every preset."""
    lines = ["datasets: " + ", ".join(DATASETS) + f" (categorical: {', '.join(CATEGORICAL_DATASETS)})",
             "mechanisms: " + ", ".join(MECHANISMS), "methods:"]
    lines += [f"  {name:22s} {json.dumps(spec, sort_keys=True)}" for name, spec in PRESETS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``invimpute bench``: parse ``argv`` (default ``sys.argv[1:]``), run the grid and/or write the report.

    Returns 0 on success (failing methods are results, recorded in the file) and 2 for a bad request
    (unknown data set, method, mechanism or override), after printing one error line.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        print(_listing())
        return 0
    try:
        config = config_from_args(args, command="invimpute bench " + shlex.join(argv))
        if not args.report_only:
            run(config)
        if args.report or args.report_only:
            md = pathlib.Path(args.report or DEFAULT_REPORT)
            write_report(config.out, md, args.figures)
            print(f"report written to {md} (figures in {args.figures})", file=sys.stderr)
    except BenchError as exc:
        print(f"invimpute bench: error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = [
    "DATASETS", "CATEGORICAL_DATASETS", "MECHANISMS", "PRESETS", "DEFAULT_METHODS", "QUICK_OVERRIDES",
    "BenchConfig", "BenchError", "RunSummary", "resolve_specs", "config_hash", "imputer_params", "load_table",
    "rank_codes", "mask_key", "draw_mask", "mask_checksum", "score", "score_uncertainty", "run_method",
    "run_calibrated", "has_belief", "UNCERTAINTY_METRICS", "machine_info",
    "read_results", "append_records", "select_records", "run", "write_report", "write_figures",
    "build_parser", "config_from_args", "main",
]


if __name__ == "__main__":
    sys.exit(main())
