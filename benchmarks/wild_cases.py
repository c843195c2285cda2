"""The cases of benchmarks/wild_tables.py, each run in its own process: one corpus table through ``Imputer()`` or
through the CLI (part a), and the base table with one wild column (parts b and c)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

import invimpute as ii
from invimpute.datasets import wild
from invimpute.datasets import wild_real as wr


def key(record: dict) -> tuple:
    """What makes a case the same case when a run is resumed."""
    return (record["part"], record.get("table"), record.get("wild"), record["runner"], record.get("rows"),
            record.get("max_rows"), record.get("base_rows"), record["seed"], record.get("method", "auto"))


def table_case(case: dict) -> dict:
    table = wr.table(case["table"], case["rows"], case["max_rows"], case["seed"])
    frame = wr.to_pandas(table.frame)
    meta = {"source": table.source, "shape": f"{frame.shape[0]} x {frame.shape[1]}",
            "missing_cells": int(wr.missing_cells(table).to_numpy().sum())}
    try:
        run = _imputer if case["runner"] == "imputer" else _cli
        return {**meta, **run(table), "ok": True}
    except Exception as err:  # recorded as a failed case; the run goes on
        return {**meta, "ok": False, "error": f"{type(err).__name__}: {str(err)[:500]}"}


def _imputer(table: wild.WildTable) -> dict:
    start = time.perf_counter()
    imp = ii.Imputer(seed=0)
    out = imp.fit_transform(table.frame)
    seconds = time.perf_counter() - start
    changed = wr.changed_observed(table, out)
    return {"seconds": seconds, "changed": len(changed), "changed_examples": changed[:5],
            "unfilled": wr.unfilled(table, out, wr.passed_through(table, imp)), "treatments": wr.treatments(imp)}


def _cli(table: wild.WildTable) -> dict:
    frame = wr.to_pandas(table.frame)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "data.csv"), os.path.join(tmp, "out.csv")
        frame.to_csv(src, index=False)
        cli = [sys.executable, "-c", "import sys; from invimpute.cli import main; sys.exit(main())"]
        start = time.perf_counter()
        fit = subprocess.run([*cli, "fit", src, "--out", os.path.join(tmp, "model"), "--no-progress", "--seed", "0"],
                             capture_output=True, text=True)
        if fit.returncode:
            raise RuntimeError(f"invimpute fit: {fit.stderr.strip()[-500:]}")
        imp = subprocess.run([*cli, "impute", src, "--model", os.path.join(tmp, "model"), "--out", out,
                              "--no-progress"], capture_output=True, text=True)
        if imp.returncode:
            raise RuntimeError(f"invimpute impute: {imp.stderr.strip()[-500:]}")
        seconds = time.perf_counter() - start
        before = pd.read_csv(src, dtype=str, keep_default_na=False)
        after = pd.read_csv(out, dtype=str, keep_default_na=False)
    missing = wr.missing_cells(table, before.replace("", np.nan))
    changed = [f"{c}[{i}]: {before[c][i]!r} -> {after[c][i]!r}" for c in before.columns
               for i in np.flatnonzero(~missing[c].to_numpy() & (before[c] != after[c]).to_numpy())]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "changed": len(changed), "changed_examples": changed[:5],
            "fit_output": fit.stdout.strip()[-1500:]}


# ---- parts b and c ---------------------------------------------------------------------------------------------

def base_case(case: dict) -> dict:
    """The base table (with the wild column ``case["wild"]``), 20% MCAR, through ``Imputer()`` (or, for a peer's
    row, ``Imputer(method=case["method"])``: the peer's learner behind the same column treatments)."""
    truth = wild.base_table(case["base_rows"], case["seed"])
    damaged, removed = wild.damage(truth, 0.2, case["seed"])
    kind, name, wild_truth, wild_removed = case["wild"], None, None, None
    frame = damaged
    if kind is not None:
        name, wild_truth = wild.wild_column(kind, truth, case["seed"])
        keep = (lambda s: s.abs() >= 999999) if kind == "outlier" else (lambda s: np.zeros(len(s), bool))
        col, wild_removed = wild.damage(pd.DataFrame({name: wild_truth}), 0.2, case["seed"] + 1, keep)
        frame = damaged.assign(**{name: col[name]})
    given = frame
    if kind == "polars_date":
        import polars as pl

        given = pl.from_pandas(frame).with_columns(pl.col(name).cast(pl.Date))
    start = time.perf_counter()
    imp = ii.Imputer(method=case.get("method", "auto"), seed=case["seed"])
    out = imp.fit_transform(given)
    seconds = time.perf_counter() - start
    table = wild.WildTable("base", given, {})
    changed = wr.changed_observed(table, out)
    out = wr.to_pandas(out)
    result = {"seconds": seconds, "changed": len(changed), "changed_examples": changed[:5],
              "treatments": wr.treatments(imp), **score(truth, out, removed)}
    if kind is not None:
        result.update(wild_fills(kind, wild_truth, frame[name], out[name], wild_removed[:, 0]))
    return result


def score(truth: pd.DataFrame, out: pd.DataFrame, removed: np.ndarray) -> dict:
    """Range-scaled RMSE over the base's removed numeric cells, accuracy over its removed categorical cells, and
    the mean absolute error in days of ``signup``."""
    sq, n_num, hits, n_cat = 0.0, 0, 0, 0
    for col in wild.BASE_NUMERIC:
        rows = removed[:, truth.columns.get_loc(col)]
        span = float(truth[col].max() - truth[col].min()) or 1.0
        diff = (pd.to_numeric(out[col][rows]).to_numpy(float) - truth[col][rows].to_numpy(float)) / span
        sq, n_num = sq + float(np.sum(diff ** 2)), n_num + int(rows.sum())
    for col in wild.BASE_CATEGORICAL:
        rows = removed[:, truth.columns.get_loc(col)]
        hits += int((out[col][rows].astype(str).to_numpy() == truth[col][rows].astype(str).to_numpy()).sum())
        n_cat += int(rows.sum())
    rows = removed[:, truth.columns.get_loc("signup")]
    days = (pd.to_datetime(out["signup"][rows]) - truth["signup"][rows]).dt.days.abs().mean()
    return {"rmse": float(np.sqrt(sq / n_num)), "accuracy": hits / n_cat, "signup_mae_days": float(days)}


def wild_fills(kind: str, truth: pd.Series, given: pd.Series, out: pd.Series, removed: np.ndarray) -> dict:
    """Part (c): how the wild column itself came back."""
    fills = out[removed]
    if kind in ("text_date", "arrow_date", "polars_date"):
        parsed = pd.to_datetime(fills.astype(str), format="%Y-%m-%d", errors="coerce")
        days = (parsed - pd.to_datetime(truth[removed].astype(str))).dt.days.abs()
        in_format = bool(parsed.notna().all()) and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(v)) for v in fills)
        return {"wild_filled": f"{int(fills.notna().sum())} of {int(removed.sum())}",
                "wild_check": f"mean |error| {days.mean():.0f} days (the truth's own spread: "
                              f"{_spread(truth):.0f} days); every fill written YYYY-MM-DD: {in_format}",
                "wild_mae_days": float(days.mean())}
    if kind in ("identifier", "free_text"):
        untouched = given.equals(out) or (given.isna().equals(out.isna()) and (given.dropna() == out.dropna()).all())
        return {"wild_filled": f"{int(fills.notna().sum())} of {int(removed.sum())}",
                "wild_check": f"column given back untouched (missing cells included): {bool(untouched)}",
                "wild_untouched": bool(untouched)}
    if kind == "code800_digits":
        seen = set(given.dropna().astype(str))
        inside = float(np.mean([str(v) in seen for v in fills.dropna()])) if fills.notna().any() else float("nan")
        hits = float(np.mean(fills.astype(str).to_numpy() == truth[removed].astype(str).to_numpy()))
        return {"wild_filled": f"{int(fills.notna().sum())} of {int(removed.sum())}",
                "wild_check": f"{inside:.1%} of fills are levels seen in the column ({len(seen)} seen); "
                              f"accuracy {hits:.1%}", "wild_levels_seen": inside}
    if kind == "outlier":
        err = np.abs(pd.to_numeric(fills).to_numpy(float) - truth[removed].to_numpy(float))
        typical, largest = truth[truth.abs() < 999999].median(), np.nanmax(pd.to_numeric(fills))
        return {"wild_filled": f"{int(fills.notna().sum())} of {int(removed.sum())}",
                "wild_check": f"median abs error of the balance fills {np.median(err):.3g} (values ~"
                              f"{typical:.3g}); largest fill {largest:.3g}"}
    return {"wild_filled": f"{int(fills.notna().sum())} of {int(removed.sum())}", "wild_check": "-"}


def _spread(truth: pd.Series) -> float:
    when = pd.to_datetime(truth.astype(str))
    return float((when - when.mean()).dt.days.abs().mean())
