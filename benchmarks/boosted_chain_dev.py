"""How many chained passes the ``boosted`` peer should make (:data:`invimpute.peers.boosting.CHAIN`), on
development tables.

The first pass reads a missing input as a bin of its own; each further pass is fitted on the table as the
previous pass filled it, reading every entry as a value (as MissForest's rounds do). For each table and
seed, the passes are run one after another with the peer's other defaults (the program of
:func:`~invimpute.peers.boosting.fit_trees`) and the RMSE over the removed cells is recorded after each
(min-max scaled values, 2,000-row samples, MCAR at ``--rate``). Appends JSON lines to ``--out`` and prints
a markdown table.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/boosted_chain_dev.py \\
        --tables letter california magic breast breast_diagnostic spam --seeds 3 4 --out /tmp/chain.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tree_candidate_dev import load  # noqa: E402

from invimpute.peers.boosting import DEPTH, MAX_FEATURES, RATE, ROUNDS, bin_edges, fit_trees, predict_trees, to_bins  # noqa: E402


def passes(truth: np.ndarray, missing: np.ndarray, n_passes: int) -> list[float]:
    """RMSE over the ``missing`` cells of ``truth`` after each of ``n_passes`` chained passes."""
    observed = ~missing
    fill = np.where(observed, truth, np.where(observed, truth, 0).sum(0) / np.maximum(observed.sum(0), 1)).astype(np.float32)
    edges = bin_edges(truth, observed)
    targets = jnp.arange(truth.shape[1], dtype=jnp.int32)
    out = []
    for c in range(n_passes):
        bins = to_bins(fill, observed if c == 0 else np.ones_like(observed), edges)
        base, trees = fit_trees((ROUNDS, DEPTH, RATE, MAX_FEATURES), jnp.asarray(bins), jnp.asarray(fill),
                                jnp.asarray(observed, jnp.float32), targets, jax.random.key(c))
        pred = predict_trees(bins, np.asarray(base), tuple(np.asarray(a) for a in trees))
        fill = np.where(observed, truth, pred).astype(np.float32)
        out.append(float(np.sqrt(np.mean((fill - truth)[missing] ** 2))))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=["letter", "california", "magic", "breast", "breast_diagnostic", "spam"])
    p.add_argument("--seeds", nargs="+", type=int, default=[3, 4])
    p.add_argument("--rate", type=float, default=0.3)
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--max-rows", type=int, default=2000)
    p.add_argument("--out", default="benchmarks/results/boosted_chain_dev.jsonl")
    args = p.parse_args(argv)
    print("| table | seed | " + " | ".join(f"after pass {c + 1}" for c in range(args.passes)) + " | seconds |")
    print("|---|---|" + "---|" * (args.passes + 1))
    for name in args.tables:
        truth = load(name, args.max_rows).to_numpy(np.float32)
        lo, hi = truth.min(0), truth.max(0)
        truth = (truth - lo) / np.where(hi > lo, hi - lo, 1.0)
        for seed in args.seeds:
            missing = np.random.default_rng(seed).random(truth.shape) < args.rate
            start = time.perf_counter()
            rmse = passes(truth, missing, args.passes)
            seconds = time.perf_counter() - start
            with open(args.out, "a") as f:
                f.write(json.dumps({"table": name, "seed": seed, "rate": args.rate, "rows": len(truth),
                                    "rmse_after_pass": rmse, "seconds": seconds}) + "\n")
            print(f"| {name} | {seed} | " + " | ".join(f"{r:.5f}" for r in rmse) + f" | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
