"""Would a tree learner earn weight in ``auto``? A development experiment for issue 27 ("a fast non-linear
candidate where trees win").

``auto`` is run twice on the same mask: at its defaults, and with one more candidate, ``trees``, fitted per
single-column group of the encoded table on the other columns, scored on held-out cells and blended like
every other candidate (and refitted on every observed cell once chosen): ``--learner jax`` auto's optional
``trees`` candidate (:class:`~invimpute.peers.boosting.BoostedTrees`, boosted oblivious trees in JAX, with
:data:`~invimpute.methods.auto_trees.TREES` and ``--set`` changes), ``--learner sklearn``
scikit-learn's ``HistGradientBoostingRegressor`` at its defaults (100 rounds, native handling of missing
inputs; scikit-learn is an optional extra, so only as a reference). The question is whether the held-out
selection gives the candidate weight, whether that lowers the RMSE on the removed cells, and at what cost.
Numeric tables only (GAIN's and the frontier's), MCAR at ``--rate``, development seeds, rows subsampled
to ``--max-rows``. Appends JSON lines to ``--out`` and prints a markdown table.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/tree_candidate_dev.py \\
        --tables breast breast_diagnostic california magic bean gesture letter spam --seeds 3 4 5 --out /tmp/trees.jsonl
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

import invimpute.methods.auto as auto_module
import invimpute.methods.auto_trees as auto_trees
from invimpute import Imputer
from invimpute.bench.frontier.tables import TABLES as FRONTIER
from invimpute.bench.frontier.tables import load_frontier_table
from invimpute.bench.masks import load_table
from invimpute.bench.scoring import score


class SklearnTrees:
    """The reference ``trees`` candidate: one scikit-learn gradient-boosted regressor per single-column group."""

    covers_: np.ndarray

    def fit(self, X: np.ndarray, observed: np.ndarray, layout, key) -> "SklearnTrees":
        from sklearn.ensemble import HistGradientBoostingRegressor

        X, observed = np.asarray(X, np.float64), np.asarray(observed, bool)
        sizes = np.bincount(layout.group_array)
        self.covers_ = sizes[layout.group_array] == 1
        self.mean_ = np.where(observed, X, 0).sum(0) / np.maximum(observed.sum(0), 1)
        inputs = np.where(observed, X, np.nan)
        self.models_ = {}
        for j in np.flatnonzero(self.covers_):
            rows = observed[:, j]
            if rows.sum() < 20:
                continue
            others = np.delete(inputs, j, axis=1)
            self.models_[j] = HistGradientBoostingRegressor(random_state=0).fit(others[rows], X[rows, j])
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key) -> np.ndarray:
        X, observed = np.asarray(X, np.float64), np.asarray(observed, bool)
        out = np.where(observed, X, self.mean_)
        inputs = np.where(observed, X, np.nan)
        for j, model in self.models_.items():
            rows = ~observed[:, j]
            if rows.any():
                out[rows, j] = model.predict(np.delete(inputs, j, axis=1)[rows])
        return out.astype(np.float32)


def with_trees(learner: str, options: dict, refit: bool = True) -> None:
    """Set up auto's optional ``trees`` candidate for this process: ``learner`` ``"jax"`` is the library's
    (:data:`~invimpute.methods.auto_trees.TREES` updated with ``options``, on every table: the richer
    settings of larger tables too), ``"sklearn"`` the reference; ``refit``: refitted on every observed
    cell once chosen (the library's rule)."""
    auto_trees.TREES = auto_trees.RICH_TREES = {**auto_trees.TREES, **options}
    if not refit:
        auto_module.REFIT = tuple(c for c in auto_module.REFIT if c != "trees")
    if learner == "sklearn":
        make = auto_module.Auto.make_candidate

        def make_candidate(self, name, layout=None, n_rows=None):
            return SklearnTrees() if name == "trees" else make(self, name, layout, n_rows)

        auto_module.Auto.make_candidate = make_candidate


def load(name: str, max_rows: int) -> pd.DataFrame:
    if name in FRONTIER:
        frame, _ = load_frontier_table(name, max_rows=max_rows)
        if (frame.dtypes == object).any():
            raise SystemExit(f"{name} has categorical columns; this experiment takes numeric tables")
        return frame
    return load_table(name, max_rows=max_rows)


def summary(path: str) -> str:
    """Per table, the mean RMSE of auto and of auto with the candidate, the change, on how many masks it
    helped, its mean weight and the mean seconds of both, from a results file of this script."""
    runs = pd.read_json(path, lines=True)
    lines = ["| table | rows | masks | auto | auto + trees | change | lower on | trees' weight | seconds (auto / + trees) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, g in runs.groupby("table", sort=False):
        a, b = g["auto_rmse"].mean(), g["trees_rmse"].mean()
        lines.append(f"| {name} | {g['rows'].iloc[0]} | {len(g)} | {a:.5f} | {b:.5f} | {b / a - 1:+.1%} | "
                     f"{int((g['trees_rmse'] < g['auto_rmse']).sum())} of {len(g)} | {g['trees_weight'].mean():.2f} | "
                     f"{g['auto_seconds'].mean():.1f} / {g['trees_seconds'].mean():.1f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=["breast", "breast_diagnostic", "california", "magic", "bean", "gesture"])
    p.add_argument("--seeds", nargs="+", type=int, default=[3, 4, 5])
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--max-rows", type=int, default=2000)
    p.add_argument("--learner", choices=["jax", "sklearn"], default="jax")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=NUMBER",
                   help="BoostedTrees options (rounds, depth, rate, max_features, max_rows); default: its defaults")
    p.add_argument("--no-refit", action="store_true", help="keep the trees fitted without the held-out cells")
    p.add_argument("--out", default="benchmarks/results/tree_candidate_dev.jsonl")
    p.add_argument("--summary", default=None, metavar="JSONL", help="print the per-table means of a results file")
    args = p.parse_args(argv)
    if args.summary:
        print(summary(args.summary))
        return
    defaults = [c for c in auto_module.CANDIDATES if c != "trees"]
    options = {k: (float(v) if k == "rate" else int(v)) for k, _, v in (item.partition("=") for item in args.set)}
    with_trees(args.learner, options, refit=not args.no_refit)
    print("| table | seed | rows | auto | auto + trees | difference | trees' weight (mean over columns) | seconds (auto / + trees) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.tables:
        truth = load(name, args.max_rows)
        for seed in args.seeds:
            missing = np.random.default_rng(seed).random(truth.shape) < args.rate
            damaged = truth.mask(missing)
            row = {"table": name, "seed": seed, "rows": len(truth), "rate": args.rate, "learner": args.learner,
                   "options": options, "refit": not args.no_refit}
            for label, candidates in (("auto", defaults), ("trees", defaults + ["trees"])):
                start = time.perf_counter()
                imp = Imputer(seed=seed, options={"candidates": candidates})
                filled = imp.fit_transform(damaged)
                row[f"{label}_seconds"] = time.perf_counter() - start
                row[f"{label}_rmse"] = score(truth, filled.to_numpy(np.float64), missing, categorical=False)["rmse"]
                if label == "trees":
                    row["trees_weight"] = float(imp.selection_["trees_weight"].mean())
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"| {name} | {seed} | {row['rows']} | {row['auto_rmse']:.5f} | {row['trees_rmse']:.5f} | "
                  f"{row['trees_rmse'] - row['auto_rmse']:+.5f} | {row['trees_weight']:.2f} | "
                  f"{row['auto_seconds']:.1f} / {row['trees_seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
