"""Posterior draws by noisy reverse training (:mod:`invimpute.inversion.langevin`) on GAIN tables: how
often the 90% intervals of the draws cover the removed cells, and the RMSE of the draws' mean.

For each table and seed: the bench protocol's MCAR mask, the table standardised on its observed cells, a
denoiser (``symmetric_mlp`` with mask input and skip path) trained by ``fit_denoiser`` on the observed
cells (``DENOISER_HIDDEN``), ``n_draws`` Langevin draws of every row; the interval of a removed cell is its draws' 5th to 95th
percentile. Prints a markdown row per run and appends JSON lines to ``--out``.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/langevin_coverage.py \\
        --datasets breast_diagnostic spam --seeds 5 --max-rows 2000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from invimpute import symmetric_mlp
from invimpute.bench.masks import draw_mask, load_table
from invimpute.encoding.layout import NUMERIC, Layout
from invimpute.inversion.langevin import LangevinConfig, fit_denoiser, langevin_draws

DENOISER_HIDDEN, DENOISER_LATENT = (128, 64), 16
"""The denoiser's widths (chosen with the LangevinConfig defaults on breast_diagnostic, seed 5)."""


def run(dataset: str, seed: int, rate: float, max_rows: int | None, n_draws: int, config: LangevinConfig) -> dict:
    frame = load_table(dataset, max_rows=max_rows)
    truth = frame.to_numpy(np.float64)
    missing = draw_mask(frame, dataset, "mcar", rate, seed)
    observed = ~missing
    mu = np.nanmean(np.where(observed, truth, np.nan), axis=0)
    sd = np.nanstd(np.where(observed, truth, np.nan), axis=0) + 1e-9
    X = ((truth - mu) / sd).astype(np.float32)
    damaged = np.where(observed, X, 0.0).astype(np.float32)
    d = X.shape[1]
    layout = Layout.uniform(d, NUMERIC)
    model = symmetric_mlp(d, hidden=DENOISER_HIDDEN, latent=DENOISER_LATENT, seed=seed, mask_input=True, skip=True)
    t = time.perf_counter()
    losses = fit_denoiser(model, damaged, observed, layout, config, key=seed)
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    draws = langevin_draws(model, damaged, observed, layout, config, key=seed, n_draws=n_draws)
    draw_s = time.perf_counter() - t
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    fill = draws.mean(axis=0)
    cover = float(np.mean(((lo <= X) & (X <= hi))[missing]))
    width = float(np.mean((hi - lo)[missing]))
    rmse = float(np.sqrt(np.mean((fill - X)[missing] ** 2)))
    mean_rmse = float(np.sqrt(np.mean(X[missing] ** 2)))
    return {"dataset": dataset, "seed": seed, "rows": len(X), "rate": rate, "n_draws": n_draws,
            "coverage90": cover, "width90": width, "rmse_mean_of_draws": rmse, "rmse_column_means": mean_rmse,
            "final_train_loss": float(losses[-100:].mean()), "train_s": train_s, "draw_s": draw_s,
            "config": {k: getattr(config, k) for k in config.__dataclass_fields__}}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["breast_diagnostic", "spam"])
    p.add_argument("--seeds", nargs="+", type=int, default=[5])
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--max-rows", type=int, default=None)
    p.add_argument("--draws", type=int, default=50)
    p.add_argument("--config", default="{}", help="LangevinConfig fields as JSON")
    p.add_argument("--out", default="benchmarks/results/langevin_coverage.jsonl")
    args = p.parse_args(argv)
    config = LangevinConfig(**json.loads(args.config))
    print("| data set | seed | rows | coverage90 | width90 | RMSE mean of draws | RMSE column means | train s | draw s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for seed in args.seeds:
            r = run(dataset, seed, args.rate, args.max_rows, args.draws, config)
            with open(args.out, "a") as f:
                f.write(json.dumps(r | {"max_rows": args.max_rows}) + "\n")
            print(f"| {dataset} | {seed} | {r['rows']} | {r['coverage90']:.3f} | {r['width90']:.3f} | "
                  f"{r['rmse_mean_of_draws']:.4f} | {r['rmse_column_means']:.4f} | {r['train_s']:.1f} | {r['draw_s']:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
