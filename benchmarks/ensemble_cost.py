"""Ensemble cost: what K autoencoders trained together (one program ``vmap``ped over the members,
:func:`~invimpute.training.loop.fit_members`) cost against K separate fits in a Python loop.

For each K, on one table with cells removed (MCAR by default), two ways to get a K-member ensemble of
``Imputer(method="ae")`` at the library's defaults:

- joint: ``Imputer(method="ae", train={"members": K})``, one fit of all members;
- loop: K imputers with ``members=1`` and seeds split from the run's seed, fitted one after another,
  their repaired tables averaged (the way an ensemble was trained before members shared a program).

Each cell reports fit + transform seconds and the RMSE over the removed cells after min-max scaling by
the complete table's range (:func:`invimpute.bench.scoring.score`), as the mean over seeds. Seconds are
given for the first seed (compilation included: every K compiles its own joint program, the loop
reuses the one-member program) and as the median of the later seeds (warm), with the loop's warm
seconds over the joint's.

    python benchmarks/ensemble_cost.py --ks 1 2 4 --seeds 0 1 2 --out benchmarks/results/ensemble_cost.md
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time

import jax
import numpy as np
import pandas as pd

from invimpute import Imputer
from invimpute.bench.masks import draw_mask, load_table
from invimpute.bench.scoring import score
from invimpute.runtime.files import publish
from invimpute.encoding.missingness import apply_mask


def split_seeds(seed: int, k: int) -> list[int]:
    """``k`` seeds drawn from ``seed``: the members of the loop ensemble."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(k)]


def timed_repair(imputers: list[Imputer], damaged: pd.DataFrame) -> tuple[np.ndarray, float]:
    """The mean of the imputers' repaired tables (each fitted then applied to ``damaged``) and the seconds it took."""
    start = time.perf_counter()
    outs = [np.asarray(imp.fit(damaged).transform(damaged), dtype=np.float64) for imp in imputers]
    return np.mean(outs, axis=0), time.perf_counter() - start


def run(args) -> tuple[list[dict], int]:
    """One record per (K, way, seed), seconds and RMSE, and the table's row count."""
    truth = load_table(args.dataset, max_rows=args.max_rows)
    train = {} if args.steps is None else {"steps": args.steps}
    records = []
    for seed in args.seeds:
        missing = draw_mask(truth, args.dataset, args.mechanism, args.rate, seed)
        damaged = apply_mask(truth, missing)
        for k in args.ks:
            ways = {
                "joint": [Imputer("ae", train={**train, "members": k}, seed=seed)],
                "loop": [Imputer("ae", train={**train, "members": 1}, seed=s) for s in split_seeds(seed, k)],
            }
            for way, imputers in ways.items():
                filled, seconds = timed_repair(imputers, damaged)
                rmse = score(truth, filled, missing, categorical=False)["rmse"]
                records.append({"k": k, "way": way, "seed": seed, "seconds": seconds, "rmse": rmse})
                print(f"K={k} {way} seed={seed}: {seconds:.1f} s, RMSE {rmse:.4f}", file=sys.stderr, flush=True)
    return records, len(truth)


def report(records: list[dict], args, rows: int) -> str:
    """The markdown table of ``records``, under the command that produced it."""
    frame = pd.DataFrame(records)
    first = min(args.seeds)
    device = jax.devices()[0]
    lines = [
        f"Command: `python benchmarks/ensemble_cost.py {shlex.join(sys.argv[1:] if args.argv is None else args.argv)}`",
        "",
        f"{args.dataset} ({rows} rows), {args.mechanism.upper()} {args.rate:.0%}, seeds {list(args.seeds)}; "
        f"`Imputer(method=\"ae\")` at the defaults{'' if args.steps is None else f', {args.steps} steps'}. "
        f"Device: {device.device_kind} ({device.platform}); {platform.machine()}; jax {jax.__version__}.",
        "",
        "| K | joint s (first seed) | loop s (first seed) | joint s (warm) | loop s (warm) | loop / joint (warm) "
        "| joint RMSE | loop RMSE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for k in args.ks:
        cells = {way: frame[(frame.k == k) & (frame.way == way)] for way in ("joint", "loop")}
        cold = {way: c[c.seed == first].seconds.iloc[0] for way, c in cells.items()}
        later = {way: c[c.seed != first].seconds for way, c in cells.items()}
        warm = {way: float(s.median()) if len(s) else None for way, s in later.items()}
        shown = {way: "n/a" if v is None else f"{v:.1f}" for way, v in warm.items()}
        ratio = "n/a" if warm["joint"] is None else f"{warm['loop'] / warm['joint']:.2f}×"
        rmse = {way: f"{c.rmse.mean():.4f} ({c.rmse.std(ddof=0):.4f})" for way, c in cells.items()}
        lines.append(f"| {k} | {cold['joint']:.1f} | {cold['loop']:.1f} | {shown['joint']} | {shown['loop']} | "
                     f"{ratio} | {rmse['joint']} | {rmse['loop']} |")
    lines += ["", "Seconds: fit + transform of the whole ensemble; warm: median over the seeds after the first. "
              "RMSE: mean (sd) over seeds on the removed cells, min-max scaled by the complete table's range."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="spam")
    p.add_argument("--mechanism", default="mcar", choices=["mcar", "mar", "mnar"])
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8], help="ensemble sizes")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--max-rows", type=int, default=None, help="subsample the table (a quick check)")
    p.add_argument("--steps", type=int, default=None, help="training budget (default: sized from the table)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    args.argv = argv
    records, rows = run(args)
    return publish(report(records, args, rows), args.out)


if __name__ == "__main__":
    main()
