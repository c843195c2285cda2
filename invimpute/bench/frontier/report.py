"""The frontier report, written from the results file alone: scores per table, ranks, seconds, CACTI's means.

For each (mechanism, split): z-scored RMSE (DiffPuter), CACTI's R² and categorical accuracy per table
(mean over seeds, the number of seeds beside it when not all ran), the best of a row in bold; every
method's mean rank over the tables by z-scored RMSE; then the seconds of each method per table, the
cells marked over budget, skipped or failed, and the mean R² over CACTI's ten tables beside the means
its paper publishes (marked published, not run here). Row counts are written beside every table name.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from invimpute.bench.frontier.figures import write_frontier_figures
from invimpute.bench.frontier.protocol import HIGHER_IS_BETTER, MECHANISMS, SPLITS
from invimpute.bench.frontier.tables import CACTI_TABLES, TABLES
from invimpute.bench.results import read_results, select_records
from invimpute.runtime.files import write_atomic

CACTI_PUBLISHED: dict[tuple[str, str], dict[str, float]] = {
    ("mcar", "in"): {"CACTI": 0.46, "ReMasker": 0.44, "DiffPuter": 0.40, "HyperImpute": 0.41, "MissForest": 0.35,
                     "GAIN": 0.19, "mean": 0.0},
    ("mcar", "out"): {"CACTI": 0.46, "ReMasker": 0.44, "DiffPuter": 0.42, "MissForest": 0.34, "GAIN": 0.21},
    ("mar", "in"): {"CACTI": 0.47, "ReMasker": 0.44, "HyperImpute": 0.44, "MissForest": 0.38},
    ("mar", "out"): {"CACTI": 0.47, "ReMasker": 0.44, "MissForest": 0.36},
    ("mnar", "in"): {"CACTI": 0.46, "ReMasker": 0.40, "HyperImpute": 0.39, "MissForest": 0.34},
    ("mnar", "out"): {"CACTI": 0.46, "ReMasker": 0.40, "MissForest": 0.32},
}
"""Mean R² over CACTI's ten tables at 30% missing, as issue 27 quotes the CACTI paper (ICML 2025); published
figures, not run here."""

_TITLES = {"rmse_z": "RMSE after z-scoring by the training split (lower is better)",
           "r2": "CACTI's R²: mean over numeric columns of corr(imputed, true)² on masked cells (higher is better)",
           "accuracy": "accuracy on masked categorical cells (higher is better)"}


def _index(records: Sequence[Mapping[str, Any]]) -> dict[tuple, list[Mapping[str, Any]]]:
    """Records by (mechanism, split, score, dataset, method)."""
    out: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in records:
        split, _, score = r["metric"].partition("_")
        out.setdefault((r["mechanism"], split, score, r["dataset"], r["method"]), []).append(r)
    return out


def _mean(recs: Sequence[Mapping[str, Any]]) -> float | None:
    """The mean value of the successful records, None when none succeeded."""
    ok = [r["value"] for r in recs if r.get("status") == "ok" and r.get("value") is not None]
    return float(np.mean(ok)) if ok else None


def method_names(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each method's column name: with its optimiser steps beside it where its records give them (the budget
    of a method trained for a fixed number of steps, such as ReMasker)."""
    steps: dict[str, set[int]] = {}
    for r in records:
        steps.setdefault(r["method"], set())
        if r.get("steps") is not None:
            steps[r["method"]].add(int(r["steps"]))
    return {m: f"{m} ({'/'.join(f'{n:,}' for n in sorted(s))} steps)" if s else m for m, s in steps.items()}


def _cell_text(recs: Sequence[Mapping[str, Any]], best: bool) -> str:
    """A table cell: the mean, the seeds it covers when not all, or the status when none succeeded."""
    value = _mean(recs)
    if value is None:
        statuses = {str(r.get("status", "")).split(":")[0] for r in recs}
        over = any("over budget" in str(r.get("status")) for r in recs)
        return "over budget" if over else ("error" if "error" in statuses else "skipped")
    n_ok = sum(r.get("status") == "ok" for r in recs)
    text = f"**{value:.4f}**" if best else f"{value:.4f}"
    flag = " ⏱" if any(r.get("over_budget") for r in recs) else ""
    return text + (f" ({n_ok}/{len(recs)})" if n_ok < len(recs) else "") + flag


def _labels(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each table's row label: its name and rows (of its full count when subsampled)."""
    out = {}
    for r in records:
        total = r.get("rows_total", r["rows"])
        out[r["dataset"]] = f"{r['dataset']} ({r['rows']} of {total} rows)" if total > r["rows"] else \
            f"{r['dataset']} ({r['rows']} rows)"
    return out


def _score_table(index, mechanism: str, split: str, score: str, datasets: Sequence[str], methods: Sequence[str],
                 labels: Mapping[str, str], names: Mapping[str, str]) -> list[str]:
    """One (mechanism, split, score) table: tables as rows, methods as columns."""
    rows = [d for d in datasets if any((mechanism, split, score, d, m) in index for m in methods)]
    if not rows:
        return []
    lines = [f"#### {score}: {_TITLES.get(score, score)}", "",
             "| table | " + " | ".join(names[m] for m in methods) + " |",
             "|---|" + "---|" * len(methods)]
    for d in rows:
        means = {m: _mean(index.get((mechanism, split, score, d, m), [])) for m in methods}
        valid = [v for v in means.values() if v is not None]
        best = (max(valid) if score in HIGHER_IS_BETTER else min(valid)) if valid else None
        cells = [_cell_text(index[(mechanism, split, score, d, m)], means[m] is not None and means[m] == best)
                 if (mechanism, split, score, d, m) in index else "—" for m in methods]
        lines.append(f"| {labels[d]} | " + " | ".join(cells) + " |")
    return lines + [""]


def mean_ranks(index, mechanism: str, split: str, datasets: Sequence[str], methods: Sequence[str],
               score: str = "rmse_z") -> dict[str, tuple[float, int]]:
    """Each method's mean rank (1 = best, ties averaged) over the tables where every method in ``methods`` has
    a score, and the number of those tables."""
    ranks: dict[str, list[float]] = {m: [] for m in methods}
    for d in datasets:
        means = {m: _mean(index.get((mechanism, split, score, d, m), [])) for m in methods}
        if any(v is None for v in means.values()):
            continue
        sign = -1.0 if score in HIGHER_IS_BETTER else 1.0
        values = np.array([sign * means[m] for m in methods])
        order = values.argsort().argsort().astype(float)
        for value in np.unique(values):  # ties share the mean of their ranks
            order[values == value] = order[values == value].mean()
        for m, r in zip(methods, order + 1.0):
            ranks[m].append(float(r))
    return {m: (float(np.mean(r)) if r else float("nan"), len(r)) for m, r in ranks.items()}


def median_seconds(records: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], float]:
    """Median seconds per cell (fit + in-sample fill + out-of-sample fill) per (table, method)."""
    seconds: dict[tuple[str, str], dict[tuple, float]] = {}
    for r in records:
        if r.get("fit_seconds") is not None:
            total = r["fit_seconds"] + (r.get("impute_seconds") or 0.0) + (r.get("impute_out_seconds") or 0.0)
            seconds.setdefault((r["dataset"], r["method"]), {})[(r["mechanism"], r["seed"])] = total
    return {k: float(np.median(list(v.values()))) for k, v in seconds.items()}


def _seconds_table(seconds: Mapping[tuple[str, str], float], datasets: Sequence[str], methods: Sequence[str],
                   labels: Mapping[str, str], names: Mapping[str, str]) -> list[str]:
    """The table of :func:`median_seconds`."""
    lines = ["## Seconds", "", "Median seconds per cell: fit on the training rows, fill them, fill the held-out rows "
             "(fit includes JAX compilation). ⏱ marks a cell past its budget.", "",
             "| table | " + " | ".join(names[m] for m in methods) + " |", "|---|" + "---|" * len(methods)]
    for d in datasets:
        cells = [f"{seconds[(d, m)]:.1f}" if (d, m) in seconds else "—" for m in methods]
        lines.append(f"| {labels[d]} | " + " | ".join(cells) + " |")
    return lines + [""]


def _cacti_section(index, methods: Sequence[str], names: Mapping[str, str]) -> list[str]:
    """Mean R² over CACTI's ten tables per (mechanism, split), beside the CACTI paper's published means."""
    lines = ["## CACTI's ten tables: mean R² at 30% missing", "",
             "Ours: the mean over CACTI's tables of each table's mean R² over seeds (the definition above; the number "
             "of its ten tables a method ran on beside it). Published: the CACTI paper's means as issue 27 quotes "
             "them, **published, not run here** (its protocol differs in the details the protocol module lists).", "",
             "| mechanism | split | " + " | ".join(names[m] for m in methods) + " | published (CACTI paper) |",
             "|---|---|" + "---|" * (len(methods) + 1)]
    for mechanism in MECHANISMS:
        for split in SPLITS:
            cells = []
            for m in methods:
                vals = [v for d in CACTI_TABLES if (v := _mean(index.get((mechanism, split, "r2", d, m), [])))
                        is not None]
                cells.append(f"{np.mean(vals):.3f} ({len(vals)}/10)" if vals else "—")
            published = ", ".join(f"{k} {v:.2f}" for k, v in CACTI_PUBLISHED.get((mechanism, split), {}).items())
            lines.append(f"| {mechanism} | {split} | " + " | ".join(cells) + f" | {published} |")
    return lines + [""]


def _figures(index, folder: pathlib.Path, out_md: pathlib.Path, datasets: Sequence[str], methods: Sequence[str],
             seconds: Mapping[tuple[str, str], float]) -> list[str]:
    """The Figures section: rank per table and seconds against error, linked relative to the report."""
    groups = [(mech, split) for mech in MECHANISMS for split in SPLITS]
    figures = write_frontier_figures(
        folder, out_md.stem, groups, datasets, methods,
        lambda mech, split, d, m: _mean(index.get((mech, split, "rmse_z", d, m), [])), seconds)
    lines = ["## Figures", ""] if figures else []
    for title, path in figures:
        rel = os.path.relpath(path.resolve(), out_md.parent.resolve())
        lines += [f"![{title}]({pathlib.Path(rel).as_posix()})", ""]
    return lines


def write_frontier_report(results_path: str | os.PathLike[str], out_md: str | os.PathLike[str],
                          title: str = "Frontier benchmark", preamble: Sequence[str] = (),
                          figures_dir: str | os.PathLike[str] | None = None) -> str:
    """Write the markdown report of a frontier results file to ``out_md`` (and its PNG figures into
    ``figures_dir``, when given and matplotlib is installed); returns its text."""
    all_records = [r for r in read_results(results_path) if r.get("protocol") == "frontier"]
    if not all_records:
        raise ValueError(f"no frontier records in {results_path}; run `invimpute bench --protocol frontier` first")
    records = select_records(all_records)
    index = _index(records)
    datasets = [d for d in TABLES if any(r["dataset"] == d for r in records)]
    methods = list(dict.fromkeys(r["method"] for r in records))
    labels = _labels(records)
    names = method_names(records)
    lines = [f"# {title}", "", *preamble,
             f"Generated from `{pathlib.Path(results_path).name}` ({len(records)} records); "
             "protocol: `invimpute.bench.frontier.protocol` (80/20 split, HyperImpute's MCAR/MAR/MNAR at 30%, "
             "scores on the masked cells). Mean over seeds; the best of each row in bold.", ""]
    for mechanism in MECHANISMS:
        for split in SPLITS:
            body = []
            for score in ("rmse_z", "r2", "accuracy"):
                body += _score_table(index, mechanism, split, score, datasets, methods, labels, names)
            if not body:
                continue
            name = "in-sample" if split == "in" else "out-of-sample"
            lines += [f"## {mechanism.upper()} 30%, {name}", "", *body]
            scored = [m for m in methods
                      if any(_mean(index.get((mechanism, split, "rmse_z", d, m), [])) is not None for d in datasets)]
            ranks = mean_ranks(index, mechanism, split, datasets, scored)
            unranked = [m for m in methods if m not in scored]  # e.g. miceforest, which fills no new rows
            lines += ["Mean rank by z-scored RMSE (1 = best; tables where every method ranked scored): " + ", ".join(
                f"{m} {r:.2f} ({n})" for m, (r, n) in sorted(ranks.items(), key=lambda kv: (np.nan_to_num(
                    kv[1][0], nan=1e9), kv[0])))
                + (f"; not ranked (no score in this split): {', '.join(unranked)}" if unranked else ""), ""]
    seconds = median_seconds(records)
    lines += _seconds_table(seconds, datasets, methods, labels, names)
    lines += _cacti_section(index, methods, names)
    if figures_dir is not None:
        lines += _figures(index, pathlib.Path(figures_dir), pathlib.Path(out_md), datasets, methods, seconds)
    commands = list(dict.fromkeys(r.get("command") or "(from Python)" for r in records))
    lines += ["## Commands", ""] + [f"    {c}" for c in commands] + [""]
    text = "\n".join(lines)
    write_atomic(pathlib.Path(out_md), text)
    return text


__all__ = ["CACTI_PUBLISHED", "method_names", "mean_ranks", "median_seconds", "write_frontier_report"]
