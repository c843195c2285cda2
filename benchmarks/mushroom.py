"""Study 1 reproduced: UCI Mushroom, 22 columns (``stalk-root`` dropped), 10% of cells removed (MCAR).

For each seed the same mask is given to every method; accuracy is counted over the removed cells only.
Methods: mode fill, KNN (k=5 on the one-hot encoding), IterativeImputer (BayesianRidge) and its
ExtraTrees variant (a MissForest stand-in), the faithful study-1 configuration (reference masked MLP,
sigmoid output, masked MSE, recurrent refill, 300 epochs, batch 256) and the library's best
configuration. Writes a markdown table (mean ± sd over seeds, fit time) to ``--out``.

    python benchmarks/mushroom.py --only "mode,KNN,BayesianRidge,faithful,best" --out benchmarks/results/mushroom.md

(``--only`` leaves out the ExtraTrees variant, which takes many minutes per seed on two CPU cores.)
"""

from __future__ import annotations

import argparse
import platform
import time

import jax
import numpy as np

import invimpute as ii
from invimpute.bench.presets import PRESETS, imputer_params
from invimpute.runtime.files import publish

BEST = dict(PRESETS["invimpute-reference"])
"""The library's best Mushroom configuration (the bench's ``invimpute-reference`` preset)."""

FAITHFUL = dict(
    method="recurrent", model="reference", dropout=0.5, loss="mse", head="sigmoid", recurrent_weight=0.5,
    epochs=300, batch_size=256, calibrate=False,
)
"""Study 1 as described: masked MLP on values ‖ mask, sigmoid output, masked MSE, recurrent refill."""


def methods(args) -> dict[str, dict]:
    out = {
        "mode": dict(method="mean"),
        "KNN (k=5, one-hot)": dict(method="knn"),
        "IterativeImputer (BayesianRidge)": dict(method="iterative"),
        "IterativeImputer (ExtraTrees, MissForest-like)": dict(
            method="missforest", method_options=dict(max_iter=3, n_estimators=30, n_jobs=2)
        ),
        f"study 1, faithful (recurrent, MSE, {args.faithful_epochs} epochs)": {**FAITHFUL, "epochs": args.faithful_epochs},
        "invimpute best (masked-prediction autoencoder, typed loss)": {**BEST, "epochs": args.epochs},
    }
    if args.only:
        keep = [k for k in out if any(s in k for s in args.only.split(","))]
        out = {k: out[k] for k in keep}
    return out


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-home", default=None)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--rate", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=BEST["epochs"])
    p.add_argument("--faithful-epochs", type=int, default=300)
    p.add_argument("--only", default="", help="comma-separated substrings of method names to run")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)

    df = ii.datasets.load_mushroom(args.data_home, drop_stalk_root=True)
    rows: dict[str, list[tuple[float, float]]] = {}
    failures: dict[str, list[str]] = {}
    for seed in range(args.seeds):
        missing = ii.mcar_mask(seed, df.shape, args.rate)
        damaged = ii.apply_mask(df, missing)
        for name, params in methods(args).items():
            t = time.perf_counter()
            try:
                filled = ii.Imputer(**imputer_params(params, len(df)), seed=seed).fit_transform(damaged)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
                failures.setdefault(name, []).append(f"seed {seed}: {type(err).__name__}: {err}")
                print(f"seed {seed}  {name:55s} FAILED: {err}", flush=True)
                continue
            seconds = time.perf_counter() - t
            acc = ii.metrics.categorical_accuracy(df, filled, missing)
            rows.setdefault(name, []).append((acc, seconds))
            print(f"seed {seed}  {name:55s} accuracy {acc:.4f}  {seconds:6.1f} s", flush=True)

    best = max(np.mean([a for a, _ in v]) for v in rows.values())
    lines = [
        f"Mushroom (8124 rows, 22 columns, `stalk-root` dropped), {args.rate:.0%} MCAR, {args.seeds} seeds "
        f"(masks seeded 0..{args.seeds - 1}, the same for every method); accuracy over removed cells. "
        f"Machine: {platform.machine()} CPU ({jax.devices()[0].platform}), jax {jax.__version__}.",
        "",
        "| method | accuracy (mean ± sd) | seeds scored | fit + impute time (s, mean) |",
        "|---|---|---|---|",
    ]
    for name, v in rows.items():
        accs = np.array([a for a, _ in v])
        mark = " **(best)**" if accs.mean() == best else ""
        lines.append(
            f"| {name}{mark} | {accs.mean():.2%} ± {accs.std():.2%} | {len(accs)} | {np.mean([s for _, s in v]):.1f} |"
        )
    for name, errors in failures.items():
        lines.append(f"\n{name} failed on {len(errors)} seed(s): " + "; ".join(errors))
    text = "\n".join(lines) + "\n"
    return publish(text, args.out)


if __name__ == "__main__":
    main()
