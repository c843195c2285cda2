"""The categorical network recipe's step budget on small, mostly categorical tables, development masks
only: how :data:`~invimpute.methods.auto.CATEGORICAL_EPOCHS` and
:data:`~invimpute.methods.auto.CATEGORICAL_FLOOR` were chosen (issue 28).

For each budget, ``Imputer()`` runs with the recipe's steps fixed to it (every other setting at its
default) on Housing (546 rows, 6 of 12 columns yes/no; 20% MCAR, masks of seeds 3-8, the published
figures use 0-2) and on 600-row samples of Mushroom (10% MCAR, seeds 10-12, the seeds the recipe itself
was chosen on). Prints one JSON line per run, then a table of the means.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/categorical_budget_dev.py --steps 4800 450 900 1800 \\
        --out benchmarks/results/categorical_budget_dev.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax
import numpy as np
import pandas as pd

import invimpute as ii
from invimpute.methods import auto
from invimpute.runtime.files import publish

from mixed_tables import load, score

HOUSING_SEEDS, MUSHROOM_SEEDS, MUSHROOM_ROWS = (3, 4, 5, 6, 7, 8), (10, 11, 12), 600


def runs(steps: int) -> list[dict]:
    """Every development table and seed with the recipe's budget fixed to ``steps``."""
    auto.CATEGORICAL_TRAIN = dataclasses.replace(auto.CATEGORICAL_TRAIN, steps=steps)
    auto.CATEGORICAL_FLOOR = steps  # categorical_steps then gives exactly ``steps`` on these sizes
    out = []
    housing = load("Housing")
    for seed in HOUSING_SEEDS:
        missing = np.asarray(ii.mcar_mask(jax.random.key(1000 + seed), housing.shape, 0.2))
        start = time.perf_counter()
        filled = ii.Imputer(seed=seed).fit_transform(ii.apply_mask(housing, missing))
        out.append({"table": "Housing", "steps": steps, "seed": seed, **score(housing, filled, missing),
                    "seconds": time.perf_counter() - start})
        print(json.dumps(out[-1]), flush=True)
    mushroom = ii.datasets.load_mushroom(None, drop_stalk_root=True)
    for seed in MUSHROOM_SEEDS:
        sample = mushroom.sample(n=MUSHROOM_ROWS, random_state=seed).reset_index(drop=True)
        missing = np.asarray(ii.mcar_mask(seed, sample.shape, 0.1))
        start = time.perf_counter()
        filled = ii.Imputer(seed=seed).fit_transform(ii.apply_mask(sample, missing))
        out.append({"table": f"Mushroom {MUSHROOM_ROWS}", "steps": steps, "seed": seed,
                    "categorical_accuracy": ii.metrics.categorical_accuracy(sample, filled, missing),
                    "seconds": time.perf_counter() - start})
        print(json.dumps(out[-1]), flush=True)
    return out


def report(records: list[dict], command: str) -> str:
    frame = pd.DataFrame(records)
    lines = ["# The categorical recipe's budget on development masks (issue 28)", "", "```bash", command, "```", "",
             "Mean over seeds (Housing 3-8, 20% MCAR; Mushroom samples 10-12, 10% MCAR); seconds per "
             "`Imputer().fit_transform`.", "",
             "| table | steps | numeric RMSE | categorical accuracy | seconds |", "|---|---|---|---|---|"]
    for (table, steps), group in frame.groupby(["table", "steps"], sort=False):
        rmse = group["numeric_rmse"].mean() if "numeric_rmse" in group and group["numeric_rmse"].notna().any() else None
        lines.append(f"| {table} | {steps} | {'–' if rmse is None else f'{rmse:.4f}'} | "
                     f"{group['categorical_accuracy'].mean():.2%} | {group['seconds'].mean():.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, nargs="+", default=[4800, 450, 900, 1800])
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    records = [r for steps in args.steps for r in runs(steps)]
    command = "python benchmarks/categorical_budget_dev.py --steps " + " ".join(map(str, args.steps))
    return publish(report(records, command), args.out)


if __name__ == "__main__":
    main()
