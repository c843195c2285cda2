"""The time of ``auto``'s inverted candidate inside one ``auto`` fit: the fit's total, and the inversion
of every row once more in the same (warm) process, which is its compute without compilation.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/auto_inverted_cost.py --datasets spam letter --max-rows 1000 --share 4
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import invimpute.methods.auto as auto_module
from invimpute import Imputer
from invimpute.bench.masks import draw_mask, load_table


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["spam", "letter"])
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--max-rows", type=int, default=1000)
    p.add_argument("--share", type=float, default=None, help="an experiment: INVERSION_SHARE set to this")
    args = p.parse_args(argv)
    if args.share is not None:
        auto_module.INVERSION_SHARE = args.share
    print("| data set | rows | auto fit s | inverted ran | one inversion of every row, warm, s | rows the network's last fit passed (the refit, after auto's choice) | rows x steps of the two inversions |")
    print("|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        truth = load_table(dataset, max_rows=args.max_rows)
        damaged = truth.mask(draw_mask(truth, dataset, "mcar", 0.2, args.seed))
        imp = Imputer(method="auto", seed=args.seed)
        start = time.perf_counter()
        imp.fit(damaged)
        fit_s = time.perf_counter() - start
        auto = imp.method_
        network = auto.methods_["network"]
        X, observed = network.fit_data_
        ran = auto_module.INVERTED in auto.names_
        start = time.perf_counter()
        network.reverse_fill(X, observed, jax.random.key(0))
        inv_s = time.perf_counter() - start
        steps = imp.settings_.inversion.steps
        print(f"| {dataset} | {len(truth)} | {fit_s:.1f} | {ran} | {inv_s:.2f} | {network.trained_samples():,} | "
              f"{2 * len(truth) * steps:,} |", flush=True)


if __name__ == "__main__":
    main()
