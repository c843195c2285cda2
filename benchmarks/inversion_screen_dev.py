"""How well the inverted candidate's screen (:data:`invimpute.methods.auto.SCREEN_ROWS` scored rows) predicts
the held-out gain measured on every scored row, on development masks.

Each table and seed is fitted once by ``Imputer(seed=seed)`` with the screen told never to drop the
candidate (``SCREEN_MARGIN`` set to minus infinity), so both gains are computed on the same fit: the
screen's (on its sample of rows) and the whole scored set's (which :data:`~invimpute.methods.auto.INVERSION_GAIN`
judges). Prints a markdown table and appends JSON lines to ``--out``.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/inversion_screen_dev.py \\
        --datasets letter spam credit --seeds 5 6 7 8 --out /tmp/inversion_screen_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import time

import invimpute.methods.auto as auto_module
from invimpute import Imputer
from invimpute.bench.masks import draw_mask, load_table


def run_one(dataset: str, seed: int, rate: float) -> dict:
    """One auto fit with the screen never dropping; the gains on the screen's rows and on every scored row."""
    gains: list[tuple[int, float]] = []
    measure = auto_module.Auto._inversion_gain

    def recorded(self, names, preds, X, *args):
        out = measure(self, names, preds, X, *args)
        gains.append((len(X), out[0]))
        return out

    auto_module.Auto._inversion_gain = recorded
    try:
        truth = load_table(dataset)
        damaged = truth.mask(draw_mask(truth, dataset, "mcar", rate, seed))
        start = time.perf_counter()
        Imputer(seed=seed).fit(damaged)
        seconds = time.perf_counter() - start
    finally:
        auto_module.Auto._inversion_gain = measure
    return {"dataset": dataset, "seed": seed, "rate": rate, "rows": len(truth),  # no gains: the candidate did not run
            "scored_rows": gains[-1][0] if gains else None, "screen_gain": gains[0][1] if len(gains) == 2 else None,
            "gain": gains[-1][1] if gains else None, "seconds": seconds, "screen_rows": auto_module.SCREEN_ROWS}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["letter", "spam", "credit"])
    p.add_argument("--seeds", nargs="+", type=int, default=[5, 6, 7, 8])
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--out", default="benchmarks/results/inversion_screen_dev.jsonl")
    args = p.parse_args(argv)
    auto_module.SCREEN_MARGIN = float("-inf")
    print("| data set | seed | scored rows | gain on the screen's rows | gain on every scored row | seconds |")
    print("|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for seed in args.seeds:
            r = run_one(dataset, seed, args.rate)
            with open(args.out, "a") as f:
                f.write(json.dumps(r) + "\n")
            screen, gain = ("–" if g is None else f"{g:.3%}" for g in (r["screen_gain"], r["gain"]))
            print(f"| {dataset} | {seed} | {r['scored_rows'] or '–'} | {screen} | {gain} | {r['seconds']:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
