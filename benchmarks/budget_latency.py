"""Repeated-call seconds of ``Imputer().fit_transform`` under several training budgets, alternated in one
process so that every budget sees the same machine load (on a shared, loaded CPU only such ratios mean
anything): per table, one round that compiles, then ``--reps`` timed rounds; the median and the RMSE
(range-scaled, over the removed cells of 20% MCAR, seed 0; :mod:`latency`'s mask and score) beside it.

    python benchmarks/budget_latency.py --tables diabetes breast synthetic_1000x20 --budgets MIN_STEPS=3000 MIN_STEPS=500
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import latency  # noqa: E402
from budget_dev import apply  # noqa: E402


def synthetic(n: int, d: int, seed: int = 0) -> pd.DataFrame:
    """A seeded numeric table of ``n`` rows and ``d`` columns driven by five latent factors, the last column
    a nonlinear function of the first two."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)) @ rng.normal(size=(5, d)) + 0.5 * rng.normal(size=(n, d))
    x[:, -1] = np.tanh(x[:, 0]) * x[:, 1]
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(d)])


def table(name: str) -> pd.DataFrame:
    """``synthetic_NxD`` or a table of :func:`latency.load`."""
    if name.startswith("synthetic_"):
        n, d = map(int, name.removeprefix("synthetic_").split("x"))
        return synthetic(n, d)
    return latency.load(name)


def main() -> None:
    import invimpute

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", required=True)
    parser.add_argument("--budgets", nargs="+", required=True, help="one per budget: NAME=INTEGER[,NAME=INTEGER]")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    for name in args.tables:
        truth = table(name)
        damaged, missing = latency.damage(truth, 0)
        times: dict[str, list[float]] = {b: [] for b in args.budgets}
        scores = {}
        for rep in range(args.reps + 1):  # round 0 compiles every budget's programs
            for b in args.budgets:
                apply(b.split(","))
                start = time.perf_counter()
                out = invimpute.Imputer(seed=0).fit_transform(damaged)
                if rep:
                    times[b].append(time.perf_counter() - start)
                scores[b] = latency.score(truth, out, missing)["rmse"]
        for b in args.budgets:
            print(json.dumps({"table": name, "shape": list(truth.shape), "budget": b,
                              "median_s": round(float(np.median(times[b])), 2), "times": [round(t, 2) for t in times[b]],
                              "rmse": round(scores[b], 4), "load": round(os.getloadavg()[0], 1)}), flush=True)


if __name__ == "__main__":
    main()
