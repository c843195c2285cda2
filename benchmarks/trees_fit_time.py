"""Seconds of the boosted trees' fit (:func:`invimpute.peers.boosting.fit_trees`, one pass) on random tables,
best of ``--reps`` calls after one that compiles; run it with two library versions on ``PYTHONPATH`` to
compare them (``benchmarks/results/rich_trees_dev.md``).

    python benchmarks/trees_fit_time.py 683:9:lite:0.2 1600:37:rich:0.3

Each case is ``ROWS:COLUMNS:SETTINGS:MISSING``: SETTINGS ``lite`` (auto's ``TREES``), ``rich`` (auto's
``RICH_TREES``) or ``peer`` (the ``boosted`` peer's), one pass; MISSING the share of cells removed at random.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from invimpute.methods.auto_trees import RICH_TREES, TREES
from invimpute.peers import boosting

def _shape(settings: dict) -> tuple[int, int, float, int]:
    return settings["rounds"], settings["depth"], settings["rate"], settings["max_features"]


SETTINGS = {"lite": _shape(TREES), "rich": _shape(RICH_TREES), "C": _shape(RICH_TREES),
            "peer": (boosting.ROUNDS, boosting.DEPTH, boosting.RATE, boosting.MAX_FEATURES)}
"""(rounds, depth, rate, columns per tree) by name, read from where the library keeps them (``C``: the
development run's name for ``rich``)."""


def seconds(rows: int, columns: int, shape: tuple, missing: float, reps: int) -> float:
    """Best wall seconds of ``reps`` fits of every column of a random table (after one that compiles)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, columns)).astype(np.float32)
    observed = rng.random((rows, columns)) > missing
    bins = boosting.to_bins(X, observed, boosting.bin_edges(X, observed))
    args = (shape, bins, X, observed.astype(np.float32), np.arange(columns), jax.random.key(0))
    boosting.fit_trees(*args)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        boosting.fit_trees(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", metavar="ROWS:COLUMNS:SETTINGS:MISSING")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    out = []
    for case in args.cases:
        rows, columns, name, missing = case.split(":")
        out.append(f"{case} {seconds(int(rows), int(columns), SETTINGS[name], float(missing), args.reps):.3f}")
    print(" | ".join(out))


if __name__ == "__main__":
    main()
