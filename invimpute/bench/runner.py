"""The grid runner: every (dataset, mechanism, rate, seed, method) cell the results file lacks, run and recorded.

Each method is run as ``Imputer(**preset, seed=seed).fit(damaged)`` then ``.transform(damaged)`` (or
through its peer adapter, :mod:`invimpute.bench.peers`), both calls timed; ``fit_seconds`` includes JAX
compilation, since it is what a user waits for. With ``--uncertainty`` each neural preset is fitted a
second time with ``calibrate=True`` and its beliefs scored (:mod:`invimpute.bench.scoring`); those
records carry the calibrated fit's times. A method that raises is recorded as ``status: "error: ..."``
and the grid goes on; ``--retry`` reruns cells recorded as errors or skips.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import numpy as np
import pandas as pd

from invimpute.bench.grid import CATEGORICAL_DATASETS, BenchConfig, validate
from invimpute.bench.masks import draw_mask, load_table_subsampled, mask_checksum
from invimpute.bench.peers import Skip, run_peer
from invimpute.bench.presets import PEERS, config_hash, has_belief, imputer_params
from invimpute.bench.results import append_records, machine_info, read_results, record_key
from invimpute.bench.scoring import UNCERTAINTY_LEVEL, belief_metrics, point_metrics, score, score_uncertainty
from invimpute.estimator.imputer import Imputer
from invimpute.encoding.missingness import apply_mask


def run_method(
    spec: Mapping[str, Any], damaged: pd.DataFrame, seed: int, categorical: bool
) -> tuple[pd.DataFrame, float, float]:
    """Fit ``spec`` on ``damaged``, then fill it: ``(filled, fit_seconds, impute_seconds)``."""
    if spec["method"] in PEERS:
        return run_peer(spec, damaged, seed, categorical)
    imputer = Imputer(**imputer_params(spec, len(damaged)), seed=seed)
    start = time.perf_counter()
    imputer.fit(damaged)
    fitted = time.perf_counter()
    filled = imputer.transform(damaged)
    return filled, fitted - start, time.perf_counter() - fitted


def run_calibrated(
    spec: Mapping[str, Any], truth: pd.DataFrame, damaged: pd.DataFrame, missing: np.ndarray, seed: int,
    categorical: bool,
) -> tuple[dict[str, float], float, float]:
    """Fit a ``calibrate=True`` copy of the neural preset ``spec`` on ``damaged`` and score its belief.

    Returns ``(calibration metrics, fit_seconds, impute_seconds)``; impute time covers ``belief`` (and
    ``transform`` on categorical tables, whose imputed labels decide which cells are correct).
    """
    params = imputer_params(spec, len(damaged))
    params["uncertainty"] = {**params.get("uncertainty", {}), "calibrate": True}
    imputer = Imputer(**params, seed=seed)
    start = time.perf_counter()
    imputer.fit(damaged)
    fitted = time.perf_counter()
    belief = imputer.belief(damaged, level=UNCERTAINTY_LEVEL)
    filled = imputer.transform(damaged) if categorical else None
    values = score_uncertainty(truth, filled, belief, missing, categorical)
    return values, fitted - start, time.perf_counter() - fitted


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


@dataclasses.dataclass
class _Outcome:
    """How one method did on one damaged table."""

    values: dict[str, float]
    status: str
    fit_seconds: float | None = None
    impute_seconds: float | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Damage:
    """One (dataset, mechanism, rate, seed) cell's complete table, mask and damaged table."""

    truth: pd.DataFrame
    subsampled: bool
    missing: np.ndarray
    damaged: pd.DataFrame
    checksum: str


class _Cells:
    """Loads each table once and draws each mask once while the grid walks over methods."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self._table: tuple[str, pd.DataFrame, bool] | None = None
        self._damage: tuple[tuple, _Damage] | None = None

    def table(self, dataset: str) -> tuple[pd.DataFrame, bool]:
        """The complete table of ``dataset`` and whether it was subsampled."""
        if self._table is None or self._table[0] != dataset:
            self._table = (dataset, *load_table_subsampled(dataset, self.config.data_home, self.config.max_rows))
        return self._table[1], self._table[2]

    def damage(self, dataset: str, mechanism: str, rate: float, seed: int) -> _Damage:
        """The shared mask of one cell and the table it damages."""
        key = (dataset, mechanism, rate, seed)
        if self._damage is None or self._damage[0] != key:
            truth, subsampled = self.table(dataset)
            missing = draw_mask(truth, dataset, mechanism, rate, seed)
            self._damage = (key, _Damage(truth, subsampled, missing, apply_mask(truth, missing),
                                         mask_checksum(missing)))
        return self._damage[1]


def run(config: BenchConfig, log: TextIO | None = None) -> RunSummary:
    """Run every cell of the grid that the results file does not hold yet, appending its records.

    Progress goes to ``log`` (default: the current ``sys.stderr``), one line per cell run.
    """
    validate(config)
    stream = sys.stderr if log is None else log
    done = {record_key(r) for r in read_results(config.out) if r.get("status") == "ok" or not config.retry}
    configs = {m: config_hash(config.specs[m]) for m in config.methods}
    machine = machine_info()
    summary = RunSummary()
    cells = _Cells(config)
    grid = list(itertools.product(config.datasets, config.mechanisms, config.rates, config.seeds, config.methods))
    for index, (dataset, mechanism, rate, seed, method) in enumerate(grid, 1):
        truth, _ = cells.table(dataset)
        base = {"dataset": dataset, "rows": int(truth.shape[0]), "mechanism": mechanism, "rate": float(rate),
                "seed": int(seed), "method": method, "config": configs[method]}
        todo = _pending(config, base, done)
        if not any(todo):
            summary.existing += 1
            continue
        if summary.ran == 0:
            _warm_up()
        damage = cells.damage(dataset, mechanism, rate, seed)
        records, texts = _run_pending(config, base, damage, todo, machine, summary)
        append_records(config.out, records)
        done.update(record_key(r) for r in records)
        print(f"[{index}/{len(grid)}] {dataset} {mechanism} {rate:g} seed {seed} {method}: {'; '.join(texts)}",
              file=stream, flush=True)
    print(f"{summary.ran} cells run ({summary.ok} ok, {summary.skipped} skipped, {summary.errors} errors), "
          f"{summary.existing} already in {config.out}", file=stream, flush=True)
    return summary


def _pending(config: BenchConfig, base: Mapping[str, Any], done: set[tuple]) -> tuple[list[str], list[str]]:
    """The point metrics and the calibration metrics of one cell that the results file lacks."""
    categorical = base["dataset"] in CATEGORICAL_DATASETS
    calibrated = belief_metrics(categorical) if config.uncertainty and has_belief(config.specs[base["method"]]) else ()
    return ([m for m in point_metrics(categorical) if record_key({**base, "metric": m}) not in done],
            [m for m in calibrated if record_key({**base, "metric": m}) not in done])


def _run_pending(
    config: BenchConfig, base: Mapping[str, Any], damage: _Damage, todo: tuple[list[str], list[str]],
    machine: Mapping[str, Any], summary: RunSummary,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run one cell's pending point and calibrated fits: its records and its progress texts."""
    spec = config.specs[base["method"]]
    categorical = base["dataset"] in CATEGORICAL_DATASETS
    records: list[dict[str, Any]] = []
    texts: list[str] = []
    for metrics_todo, calibrated in ((todo[0], False), (todo[1], True)):
        if not metrics_todo:
            continue
        outcome = _run_cell(spec, damage, base["seed"], categorical, calibrated=calibrated)
        if not texts:  # a cell counts once, by its point imputation when that ran
            summary.count(outcome.status)
        shared = {
            "fit_seconds": outcome.fit_seconds, "impute_seconds": outcome.impute_seconds, "status": outcome.status,
            "warnings": outcome.warnings, "cols": int(damage.truth.shape[1]), "subsampled": damage.subsampled,
            "missing_fraction": float(np.mean(damage.missing)), "mask_sha256": damage.checksum, "params": spec,
            "epochs": imputer_params(spec, len(damage.truth)).get("train", {}).get("epochs"), "machine": machine,
            "command": config.command, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if calibrated:
            shared.update(calibrate=True, level=UNCERTAINTY_LEVEL)
        records += [{**base, "metric": m, "value": _finite(outcome.values.get(m)), **shared} for m in metrics_todo]
        texts.append(("calibrated: " if calibrated else "") + _progress_text(outcome))
    return records, texts


def _progress_text(outcome: _Outcome) -> str:
    """One outcome as the progress line shows it: its metrics (or status) and its times."""
    shown = ", ".join(f"{m} {v:.4f}" for m, v in outcome.values.items()) or outcome.status
    if outcome.fit_seconds is None:
        return shown
    return f"{shown} (fit {outcome.fit_seconds:.1f} s, impute {outcome.impute_seconds:.1f} s)"


def _warm_up() -> None:
    """Import the peers' dependencies and run one tiny imputation, so no cell is charged for start-up."""
    with contextlib.suppress(ImportError):
        from sklearn.ensemble import ExtraTreesRegressor  # noqa: F401
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer, KNNImputer  # noqa: F401
        from sklearn.linear_model import BayesianRidge  # noqa: F401
    with contextlib.suppress(ImportError):
        import miceforest  # noqa: F401
    tiny = pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": [np.nan, 1.0, 3.0]})
    Imputer("mean").fit(tiny).transform(tiny)


def _run_cell(spec: Mapping[str, Any], damage: _Damage, seed: int, categorical: bool, calibrated: bool = False
              ) -> _Outcome:
    """Run one method on one damaged table; its warnings are kept for the record instead of printed.

    ``calibrated``: fit the preset's calibrated copy and score its belief (:func:`run_calibrated`).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if calibrated:
                values, fit_s, imp_s = run_calibrated(spec, damage.truth, damage.damaged, damage.missing, seed,
                                                      categorical)
            else:
                filled, fit_s, imp_s = run_method(spec, damage.damaged, seed, categorical)
                values = score(damage.truth, filled, damage.missing, categorical)
        except Skip as why:
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


def _finite(value: float | None) -> float | None:
    """``value`` as a JSON-safe float, None when missing or not finite."""
    return None if value is None or not math.isfinite(value) else float(value)


def _one_line(exc: BaseException, limit: int = 400) -> str:
    """An exception as one bounded line, ``Type: message``, for a record's status."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["run_method", "run_calibrated", "RunSummary", "run"]
