"""Reverse training against the same network's one pass, under several inversion settings (development masks).

For each table and seed: the bench protocol's MCAR mask (``invimpute.bench.masks.draw_mask``), the table
standardised on its observed cells, ``auto``'s network candidate (``Autoencoding("ae")`` at the defaults,
skip path included) trained on the observed cells, then its one pass and :func:`invimpute.invert` under
each setting below repair the removed cells; prints the RMSE of each over the removed cells (standardised
units) and appends JSON lines to ``--out``. Used to choose the inverted candidate's settings on
development seeds (5, 6), not the published ones.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/inversion_settings.py \\
        --datasets breast_diagnostic spam letter --seeds 5 --max-rows 2000
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from invimpute import InversionConfig, invert
from invimpute.bench.masks import draw_mask, load_table
from invimpute.encoding.layout import NUMERIC, Layout
from invimpute.methods.registry import Autoencoding
from invimpute.training.loop import one_pass

SETTINGS = {
    "default": InversionConfig(),
    "steps100": InversionConfig(steps=100),
    "lr0.01": InversionConfig(learning_rate=0.01),
    "lr0.2": InversionConfig(learning_rate=0.2),
    "proximal0.1": InversionConfig(proximal=0.1),
    "proximal0": InversionConfig(proximal=0.0, steps=100),
    "observed": InversionConfig(objective="observed"),
    "init_mean": InversionConfig(init="mean", steps=100),
    "latent": InversionConfig(mode="latent", steps=100),
}


def run(dataset: str, seed: int, rate: float, max_rows: int | None) -> dict:
    truth = load_table(dataset, max_rows=max_rows).to_numpy(np.float64)
    missing = draw_mask(load_table(dataset, max_rows=max_rows), dataset, "mcar", rate, seed)
    observed = ~missing
    mu = np.nanmean(np.where(observed, truth, np.nan), axis=0)
    sd = np.nanstd(np.where(observed, truth, np.nan), axis=0) + 1e-9
    X = ((truth - mu) / sd).astype(np.float32)
    damaged = np.where(observed, X, 0.0).astype(np.float32)
    layout = Layout.uniform(X.shape[1], NUMERIC)
    start = time.perf_counter()
    net = Autoencoding("ae").fit(damaged, observed, layout, jax.random.key(seed))
    out = {"dataset": dataset, "seed": seed, "rows": len(X), "train_s": time.perf_counter() - start}
    model = net.models_[0]

    def rmse(fill):
        return float(np.sqrt(np.mean((np.asarray(fill) - X)[missing] ** 2)))

    out["one_pass"] = rmse(one_pass(model, damaged, observed, layout))
    for name, config in SETTINGS.items():
        t = time.perf_counter()
        out[name] = rmse(invert(model, damaged, observed, layout, config, key=seed, mean=net.mean_).x)
        out[f"{name}_s"] = time.perf_counter() - t
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["breast_diagnostic", "spam", "letter"])
    p.add_argument("--seeds", nargs="+", type=int, default=[5])
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--max-rows", type=int, default=None)
    p.add_argument("--out", default="benchmarks/results/inversion_settings.jsonl")
    args = p.parse_args(argv)
    names = ["one_pass", *SETTINGS]
    print("| data set | seed | rows | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 3) + "|")
    for dataset in args.datasets:
        for seed in args.seeds:
            r = run(dataset, seed, args.rate, args.max_rows)
            with open(args.out, "a") as f:
                f.write(json.dumps(r | {"max_rows": args.max_rows, "rate": args.rate}) + "\n")
            print(f"| {dataset} | {seed} | {r['rows']} | " + " | ".join(f"{r[n]:.4f}" for n in names) + " |", flush=True)


if __name__ == "__main__":
    main()
