"""The frontier grid walk: every (table, mechanism, seed, method) cell the results file lacks, run and recorded.

One cell: load the table (subsampled, :mod:`~invimpute.bench.frontier.tables`), split it 80/20 and draw its
mask (:mod:`~invimpute.bench.frontier.protocol`), fit the method on the damaged training rows, fill them
(in-sample) and then the damaged held-out rows (out-of-sample), and append one record per
``<split>_<score>`` metric to the JSON-lines results file (:mod:`invimpute.bench.results`: resumable, a
kill loses at most the cell in progress). Peers run outside the Imputer (miceforest, HyperImpute) have no
separate transform in their protocol: they are scored in-sample only, their out-of-sample records marked
skipped (CACTI reports HyperImpute in-sample only, too).

Time budgets: each method has ``budget_s`` seconds per cell (:data:`BUDGETS`, default
:data:`DEFAULT_BUDGET_S`). A cell that runs past its budget is recorded with ``over_budget: true`` (its
scores kept), and the method's later cells on that table are recorded as ``skipped: over budget``,
so a peer that does not fit is marked in the results, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import pathlib
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import numpy as np
import pandas as pd

from invimpute.bench.frontier.protocol import (
    CATEGORICAL_SCORES, MECHANISMS, NUMERIC_SCORES, RATE, SPLITS, Scaling, draw_missing, score_split, split_rows,
)
from invimpute.bench.frontier.tables import MAX_ROWS, TABLES, categorical_columns, load_frontier_table
from invimpute.bench.peers import Skip, run_peer
from invimpute.bench.presets import PEERS, config_hash, imputer_params
from invimpute.bench.results import append_records, machine_info, read_results, record_key
from invimpute.estimator.imputer import Imputer

DEFAULT_OUT = "benchmarks/results/frontier.jsonl"
DEFAULT_REPORT = "benchmarks/RESULTS_frontier.md"
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2)
DEFAULT_METHODS: tuple[str, ...] = (
    "auto", "mean", "knn", "iterative", "missforest", "miceforest", "hyperimpute", "gain", "miwae", "remasker-cpu",
)
"""The methods of a full frontier run: the default Imputer, the peers at their published or library settings,
and ReMasker at its CPU budget (``remasker``, its published 600 epochs, where a GPU is lent)."""
DEFAULT_BUDGET_S = 1800.0
BUDGETS: dict[str, float] = {"mean": 300.0, "hyperimpute": 3600.0, "remasker": 3600.0}
"""Seconds one cell (fit + both fills) may take before the method's later cells on that table are skipped."""


@dataclasses.dataclass(frozen=True)
class FrontierConfig:
    """One frontier request: tables, mechanisms, seeds, methods (resolved presets), rows kept, where to write."""

    datasets: tuple[str, ...]
    mechanisms: tuple[str, ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    specs: Mapping[str, Mapping[str, Any]]
    out: pathlib.Path = pathlib.Path(DEFAULT_OUT)
    max_rows: int | None = MAX_ROWS
    data_home: str | None = None
    retry: bool = False
    command: str | None = None
    budgets: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(BUDGETS))

    def budget(self, method: str) -> float:
        """The per-cell budget of ``method`` in seconds."""
        return float(self.budgets.get(method, DEFAULT_BUDGET_S))


def validate(config: FrontierConfig) -> None:
    """Raise ValueError naming an unknown table, mechanism or method, or an empty axis."""
    for axis, valid, name in ((config.datasets, TABLES, "table"), (config.mechanisms, MECHANISMS, "mechanism"),
                              (config.methods, config.specs, "method")):
        bad = [v for v in axis if v not in valid]
        if bad:
            raise ValueError(f"unknown {name}(s) {bad}; valid: {', '.join(valid)}")
        if not axis:
            raise ValueError(f"the frontier grid needs at least one {name}")
    if not config.seeds:
        raise ValueError("the frontier grid needs at least one seed")


@dataclasses.dataclass
class Cell:
    """One (table, mechanism, seed) cell: the complete rows and masks of both splits, shared by every method."""

    truth: tuple[pd.DataFrame, pd.DataFrame]
    missing: tuple[np.ndarray, np.ndarray]
    damaged: tuple[pd.DataFrame, pd.DataFrame]
    scaling: Scaling
    categorical: list[str]
    checksum: str


def make_cell(frame: pd.DataFrame, table: str, mechanism: str, seed: int) -> Cell:
    """Split ``frame``, draw its mask and damage both splits (the caller's frame is not modified)."""
    train, test = split_rows(len(frame), table, seed)
    missing = draw_missing(frame, table, mechanism, seed)
    truths = (frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True))
    masks = (missing[train], missing[test])
    damaged = tuple(t.mask(m) for t, m in zip(truths, masks))
    categorical = categorical_columns(frame)
    numeric = [c for c in frame.columns if c not in categorical]
    digest = hashlib.sha256(np.packbits(missing).tobytes() + train.tobytes()).hexdigest()[:16]
    return Cell(truths, masks, damaged, Scaling.of(truths[0], numeric), categorical, digest)


def metric_names(cell: Cell) -> list[str]:
    """The ``<split>_<score>`` metrics a cell's table gets."""
    scores = (NUMERIC_SCORES if cell.scaling.columns else ()) + (CATEGORICAL_SCORES if cell.categorical else ())
    return [f"{split}_{score}" for split in SPLITS for score in scores]


def run_cell(spec: Mapping[str, Any], cell: Cell, seed: int) -> dict[str, Any]:
    """Fit ``spec`` on the damaged training rows, fill both splits and score them.

    Returns ``values`` (metric -> value), ``status`` per split, the seconds of the fit and of each fill,
    and ``steps`` (the optimiser steps of a method that reports them, such as ReMasker).
    """
    train, test = cell.damaged
    if spec["method"] in PEERS:
        categorical = bool(cell.categorical)
        if spec["method"] == "miceforest" and categorical:  # its categorical mode makes every column a category
            train, categorical = train.astype({c: "category" for c in cell.categorical}), False
        filled_in, fit_s, in_s = run_peer(spec, train, seed, categorical)
        values = {f"in_{k}": v for k, v in score_split(cell.truth[0], filled_in, cell.missing[0], cell.scaling,
                                                        cell.categorical).items()}
        return {"values": values, "status": {"in": "ok", "out": "skipped: the peer has no separate transform"},
                "fit_seconds": fit_s, "impute_seconds": in_s, "impute_out_seconds": None, "steps": None}
    imputer = Imputer(**imputer_params(spec, len(train)), seed=seed)
    start = time.perf_counter()
    imputer.fit(train)
    fitted = time.perf_counter()
    filled_in = imputer.transform(train)
    done_in = time.perf_counter()
    filled_out = imputer.transform(test)
    done_out = time.perf_counter()
    values = {}
    for split, truth, filled, missing in (("in", cell.truth[0], filled_in, cell.missing[0]),
                                          ("out", cell.truth[1], filled_out, cell.missing[1])):
        values.update({f"{split}_{k}": v for k, v in score_split(truth, filled, missing, cell.scaling,
                                                                   cell.categorical).items()})
    return {"values": values, "status": {"in": "ok", "out": "ok"}, "fit_seconds": fitted - start,
            "impute_seconds": done_in - fitted, "impute_out_seconds": done_out - done_in,
            "steps": getattr(getattr(imputer, "method_", None), "steps_", None)}


def run_frontier(config: FrontierConfig, log: TextIO | None = None) -> dict[str, int]:
    """Run every cell of the grid the results file lacks; returns counts of cells run, ok, skipped, errors, done."""
    validate(config)
    stream = sys.stderr if log is None else log
    existing = read_results(config.out)
    done = {record_key(r) for r in existing if r.get("status") == "ok" or not config.retry}
    over = {(r["dataset"], r["method"]) for r in existing if r.get("over_budget")}
    machine = machine_info()
    counts = {"ran": 0, "ok": 0, "skipped": 0, "errors": 0, "existing": 0}
    grid = list(itertools.product(config.datasets, config.mechanisms, config.seeds, config.methods))
    table: tuple[str, pd.DataFrame, int] | None = None
    cell: tuple[tuple, Cell] | None = None
    for index, (dataset, mechanism, seed, method) in enumerate(grid, 1):
        if table is None or table[0] != dataset:
            table = (dataset, *load_frontier_table(dataset, config.data_home, config.max_rows))
        if cell is None or cell[0] != (dataset, mechanism, seed):
            cell = ((dataset, mechanism, seed), make_cell(table[1], dataset, mechanism, seed))
        spec = config.specs[method]
        base = {"dataset": dataset, "rows": int(len(table[1])), "mechanism": mechanism, "rate": RATE,
                "seed": int(seed), "method": method, "config": config_hash(spec)}
        todo = [m for m in metric_names(cell[1]) if record_key({**base, "metric": m}) not in done]
        if not todo:
            counts["existing"] += 1
            continue
        outcome = _outcome(config, spec, cell[1], seed, (dataset, method) in over, method)
        counts["ran"] += 1
        kind = outcome["status"]["in"].split(":")[0]
        counts["ok" if kind == "ok" else "skipped" if kind == "skipped" else "errors"] += 1
        records = _records(config, base, cell[1], table[2], outcome, todo, machine, method)
        append_records(config.out, records)
        done.update(record_key(r) for r in records)
        if outcome.get("over_budget"):
            over.add((dataset, method))
        print(f"[{index}/{len(grid)}] {dataset} ({base['rows']} rows) {mechanism} seed {seed} {method}: "
              f"{_progress(outcome)}", file=stream, flush=True)
    print(f"{counts['ran']} cells run ({counts['ok']} ok, {counts['skipped']} skipped, {counts['errors']} errors), "
          f"{counts['existing']} already in {config.out}", file=stream, flush=True)
    return counts


def _outcome(config: FrontierConfig, spec: Mapping[str, Any], cell: Cell, seed: int, over: bool, method: str
             ) -> dict[str, Any]:
    """Run one method on one cell (or mark it skipped when it ran past its budget before); errors are results."""
    budget = config.budget(method)
    if over:
        why = f"skipped: over budget (an earlier cell of this table took more than {budget:g} s)"
        return {"values": {}, "status": {"in": why, "out": why}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            outcome = run_cell(spec, cell, seed)
        except Skip as why:
            return {"values": {}, "status": {"in": f"skipped: {why}", "out": f"skipped: {why}"}}
        except Exception as exc:  # noqa: BLE001 - a failing method is a result, recorded, and the grid goes on
            text = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
            return {"values": {}, "status": {"in": f"error: {text}", "out": f"error: {text}"}}
        elapsed = time.perf_counter() - start
    outcome["over_budget"] = elapsed > budget
    outcome["warnings"] = list(dict.fromkeys(f"{w.category.__name__}: {w.message}"[:300] for w in caught))[:5]
    return outcome


def _records(config: FrontierConfig, base: Mapping[str, Any], cell: Cell, rows_total: int, outcome: Mapping[str, Any],
             todo: Sequence[str], machine: Mapping[str, Any], method: str) -> list[dict[str, Any]]:
    """One record per pending metric of a cell, with the cell's provenance, times, budget and status."""
    shared = {
        "protocol": "frontier", "rows_total": int(rows_total), "subsampled": rows_total > base["rows"],
        "train_rows": int(len(cell.truth[0])), "test_rows": int(len(cell.truth[1])),
        "cols": int(cell.truth[0].shape[1]),
        "missing_fraction": float(np.mean(np.concatenate(cell.missing))), "mask_sha256": cell.checksum,
        "fit_seconds": outcome.get("fit_seconds"), "impute_seconds": outcome.get("impute_seconds"),
        "impute_out_seconds": outcome.get("impute_out_seconds"), "steps": outcome.get("steps"),
        "budget_s": config.budget(method), "over_budget": bool(outcome.get("over_budget", False)),
        "warnings": outcome.get("warnings", []), "params": config.specs[method], "machine": machine,
        "command": config.command, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = []
    for metric in todo:
        split = metric.split("_")[0]
        value = outcome["values"].get(metric)
        status = outcome["status"][split]
        if status == "ok" and (value is None or not math.isfinite(value)):
            status, value = "error: no finite score", None
        out.append({**base, "metric": metric, "split": split, "value": value, "status": status, **shared})
    return out


def _progress(outcome: Mapping[str, Any]) -> str:
    """One cell's progress text: a few scores and the seconds, or its status."""
    values = outcome["values"]
    shown = [f"{m} {values[m]:.4f}" for m in ("in_rmse_z", "out_rmse_z", "in_r2", "in_accuracy") if m in values]
    if not shown:
        return outcome["status"]["in"]
    seconds = (outcome.get("fit_seconds") or 0.0) + (outcome.get("impute_seconds") or 0.0) + (
        outcome.get("impute_out_seconds") or 0.0)
    flag = " OVER BUDGET" if outcome.get("over_budget") else ""
    return ", ".join(shown) + f" ({seconds:.1f} s{flag})"


__all__ = [
    "DEFAULT_OUT", "DEFAULT_REPORT", "DEFAULT_SEEDS", "DEFAULT_METHODS", "DEFAULT_BUDGET_S", "BUDGETS",
    "FrontierConfig", "validate", "Cell", "make_cell", "metric_names", "run_cell", "run_frontier",
]
