"""``auto`` with and without its ``inverted`` candidate (reverse training through its own network), paired.

For each table and seed, the same MCAR mask is imputed twice by ``Imputer(method="auto", seed=seed)``:
once with every default candidate and once without ``inverted``; the other candidates' fits are identical
(their keys do not depend on it), so the difference is the inverted candidate's alone. Records per run the
RMSE over removed cells (the bench protocol's min-max scaled RMSE), fit+impute seconds (the run without
the candidate goes first, so the one with it reuses the compiled training and pays only for the
inversion, its compilation included), whether the
inverted candidate ran (:func:`invimpute.methods.auto.inversion_affordable`) and the columns where it got
weight. ``--init knn`` starts the inverted candidate's reverse training from KNN's fill instead of the
network's one pass. Appends JSON lines to ``--out`` and prints a markdown table.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/auto_inverted.py \\
        --datasets breast breast_diagnostic spam letter credit --seeds 5 6 --max-rows 2000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import invimpute.methods.auto as auto_module
from invimpute import Imputer
from invimpute.bench.masks import draw_mask, load_table
from invimpute.bench.scoring import score
from invimpute.methods.auto import CANDIDATES, INVERTED


def run_one(dataset: str, seed: int, rate: float, max_rows: int | None, with_inverted: bool, init: str = "auto") -> dict:
    """One auto fit on one damaged table; its score, time and where the inverted candidate weighed."""
    truth = load_table(dataset, max_rows=max_rows)
    missing = draw_mask(truth, dataset, "mcar", rate, seed)
    damaged = truth.mask(missing)
    candidates = [c for c in CANDIDATES if with_inverted or c != INVERTED]
    start = time.perf_counter()
    imp = Imputer(method="auto", seed=seed, options={"candidates": candidates}, inversion={"init": init})
    filled = imp.fit_transform(damaged)
    seconds = time.perf_counter() - start
    sel = imp.selection_
    ran = f"{INVERTED}_weight" in sel.columns
    won = [str(c) for c in sel.index[sel[f"{INVERTED}_weight"] > 0]] if ran else []
    rmse = score(truth, filled.to_numpy(np.float64), missing, categorical=False)["rmse"]
    gain = getattr(imp.method_, "inversion_gain_", None)
    return {"inversion_gain": gain, "dataset": dataset, "seed": seed, "rate": rate, "rows": len(truth), "variant":
            "auto" if with_inverted else "auto-without-inverted", "rmse": rmse, "seconds": seconds,
            "inverted_ran": ran, "inverted_weighted_columns": won, "init": init}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["breast", "breast_diagnostic", "spam", "letter", "credit"])
    p.add_argument("--seeds", nargs="+", type=int, default=[5, 6])
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--max-rows", type=int, default=None)
    p.add_argument("--share", type=float, default=None,
                   help="an experiment: INVERSION_SHARE set to this (default: the library's)")
    p.add_argument("--gain", type=float, default=None,
                   help="an experiment: INVERSION_GAIN set to this (default: the library's; -1 keeps the "
                        "candidate wherever it ran)")
    p.add_argument("--init", default="auto", choices=["auto", "model", "knn"],
                   help="where the inverted candidate's reverse training starts (InversionConfig.init)")
    p.add_argument("--out", default="benchmarks/results/auto_inverted.jsonl")
    args = p.parse_args(argv)
    if args.share is not None:
        auto_module.INVERSION_SHARE = args.share
    if args.gain is not None:
        auto_module.INVERSION_GAIN = args.gain
    print("| data set | seed | rows | auto | without inverted | difference | inverted ran | weighted columns | held-out gain | seconds (with / without) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for seed in args.seeds:
            b, a = (run_one(dataset, seed, args.rate, args.max_rows, w, args.init) for w in (False, True))
            with open(args.out, "a") as f:
                for r in (a, b):
                    f.write(json.dumps(r | {"max_rows": args.max_rows, "share": auto_module.INVERSION_SHARE,
                                            "gain_threshold": auto_module.INVERSION_GAIN}) + "\n")
            print(f"| {dataset} | {seed} | {a['rows']} | {a['rmse']:.5f} | {b['rmse']:.5f} | {a['rmse'] - b['rmse']:+.5f} "
                  f"| {a['inverted_ran']} | {len(a['inverted_weighted_columns'])} | "
                  f"{'–' if a['inversion_gain'] is None else format(a['inversion_gain'], '.4%')} "
                  f"| {a['seconds']:.1f} / {b['seconds']:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
