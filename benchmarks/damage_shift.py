"""Damage shift: a model trained once repairs damage it never saw, by one pass and by reverse training.

For each data set, one autoencoder is trained per kind of *training damage* (none, random cells, and for
images random pixel rows, for tables whole groups of related columns) with the library's defaults
(``ModelConfig(skip=False)`` so reverse training reads the same network through its bottleneck), then
repairs test samples under each kind of *test damage*, by every method:

- one pass (the masked forward pass: ``method="ae"``),
- reverse training at the default :class:`~invimpute.InversionConfig` (the masked objective with its
  proximal pull to the one pass), the same with the cleaning pass, in latent mode (the bottleneck code
  optimised), and in the study's regime (:data:`STUDY`: the observed entries' reconstruction, 100
  steps, then the cleaning pass),
- reverse training validated on the batch (:func:`~invimpute.inversion.validated.invert_validated`: the one pass,
  input mode and latent mode at their defaults scored on pseudo-damage copied from the batch's own
  damage, chosen or blended per column; the choice depends on the batch, not on the sample alone),
- reverse training and latent mode started from KNN's fill instead of the one pass (``init="fill"`` with
  that fill in the missing entries, as ``Imputer`` does on images under ``InversionConfig(init="auto")``),
- KNN (k=5, the library's compiled KNN; donors: the training rows with their damage) and mean fill.

A cell whose test damage differs from the training damage is a *mismatch* (damage the model never saw).
MNIST digits are scored by binarised pixel accuracy (whole digit with observed pixels kept, and on the
missing pixels); tables by RMSE over the missing cells after min-max scaling. Every cell gives the cost
per 1,000 samples (warm: compilation excluded, paid once per shape). ``--curve`` adds accuracy after 10,
30, 100 and 300 inversion steps, without and with the per-sample early stop, on the cells of the model
trained on undamaged rows.

    python benchmarks/damage_shift.py --curve --out benchmarks/results/damage_shift.md \
        --jsonl benchmarks/results/damage_shift.jsonl --figure benchmarks/figures/damage_shift.png

../shared/data holds only the 10,000 MNIST test digits: they are split 8,000 to train and 2,000 to test
(seeded), as in ``mnist_reverse.py``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace

import jax
import numpy as np

import invimpute as ii
from invimpute.config import ModelConfig
from invimpute.runtime.files import publish, write_atomic
from invimpute.inversion.batch import column_means
from invimpute.methods.registry import Autoencoding
from invimpute.peers.neighbours import knn_fill
from invimpute.inversion.validated import invert_validated

TABLE_GROUPS = {
    # breast_diagnostic: ten measurements, each as mean (0-9), standard error (10-19) and worst (20-29)
    "breast_diagnostic": [[i, i + 10, i + 20] for i in range(10)],
    # letter: box geometry, pixel count and means, second moments, cross moments, x edges, y edges
    "letter": [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11], [12, 13], [14, 15]],
}
DATA = ("mnist", "breast_diagnostic", "letter")
"""The data sets, in the order that gives each its keys (``--data`` may run any of them alone, on the same keys)."""
STEPS_CURVE = (10, 30, 100, 300)
STUDY = ii.InversionConfig(objective="observed", proximal=0.0, clean=True, steps=100, learning_rate=0.1)
"""Study 2's inversion: the sample presented as complete, its observed entries' reconstruction, a cleaning pass."""
EARLY_STOP_TOL = 1e-3
VERDICTS = ("reverse", "reverse, validated", "reverse from KNN", "latent mode from KNN")
"""The methods whose win over the one pass each matrix row states."""


def load(name: str, args) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) rows of ``name`` in [0, 1]."""
    if name == "mnist":
        x, _ = ii.datasets.load_mnist(args.data_home, split="test")
        x = x.reshape(len(x), -1).astype(np.float32) / 255.0
        n_train, n_test = args.n_train or 8000, args.n_test or 2000
    else:
        x = ii.datasets.load_uci(name, args.data_home).to_numpy(np.float32)
        lo, hi = x.min(0), x.max(0)
        x = (x - lo) / np.where(hi > lo, hi - lo, 1.0)
        n_test = args.n_test or len(x) // 5
        n_train = args.n_train or len(x) - n_test
    perm = np.random.default_rng(args.seed).permutation(len(x))
    return x[perm[:n_train]], x[perm[n_train:n_train + n_test]]


def damage(name: str, kind: str, n: int, d: int, key: jax.Array) -> np.ndarray:
    """A (n, d) ``missing`` mask of one kind of damage."""
    if kind == "none":
        return np.zeros((n, d), bool)
    if kind == "cells":
        return np.asarray(ii.mcar_mask(key, (n, d), 0.2 if name != "mnist" else 0.36))
    if kind in ("rows", "band"):
        return ii.row_mask(key, n, 28, 28, 10, contiguous=(kind == "band")).reshape(n, d)
    if kind == "patch":
        return ii.patch_mask(key, n, 28, 28, (14, 14)).reshape(n, d)
    if kind == "groups":
        return ii.group_mask(key, n, TABLE_GROUPS[name], n_lost=2)
    raise ValueError(f"unknown damage {kind!r}")


def damages(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(training damage, test damage) kinds for a data set."""
    if name == "mnist":
        return ("none", "cells", "rows"), ("rows", "band", "patch")
    return ("none", "cells", "groups"), ("cells", "groups")


def score(name: str, truth: np.ndarray, filled: np.ndarray, missing: np.ndarray) -> dict:
    """The figure of merit of one fill (observed entries are kept by every method)."""
    filled = np.where(missing, filled, truth)
    if name == "mnist":
        return {"whole": ii.metrics.binarized_accuracy(truth, filled),
                "missing": ii.metrics.binarized_accuracy(truth, filled, missing)}
    return {"rmse": float(np.sqrt(np.mean((filled - truth)[missing] ** 2)))}


def timed(fn, warm) -> tuple[np.ndarray, float]:
    """``fn()``'s result and its seconds, after one call of ``warm()`` that pays compilation."""
    warm()
    t = time.perf_counter()
    out = np.asarray(fn())
    return out, time.perf_counter() - t


def methods(model, layout, x_in, observed, donors, donor_obs, mean, key, config):
    """Method name -> (fill, warm-up) thunks for one test set."""
    n_warm = min(len(x_in), config.batch_size)
    missing = ~observed

    def inv(cfg, rows=slice(None)):
        return lambda: ii.invert(model, x_in[rows], observed[rows], layout, cfg, key, mean=mean).x

    def one(rows=slice(None)):
        return lambda: ii.predict(model, np.where(observed[rows], x_in[rows], 0.0), missing[rows], layout)

    def validated(rows=slice(None)):
        return lambda: invert_validated(model, x_in[rows], observed[rows], layout, key=key).x

    def knn(rows=slice(None)):
        return lambda: knn_fill(donors, donor_obs, x_in[rows], observed[rows])

    def from_knn(cfg, rows=slice(None)):  # reverse training started from KNN's fill (as the Imputer's init="knn")
        def run():
            start = np.where(observed[rows], x_in[rows], knn_fill(donors, donor_obs, x_in[rows], observed[rows]))
            return ii.invert(model, start.astype(np.float32), observed[rows], layout, replace(cfg, init="fill"), key,
                             mean=mean).x
        return run

    warm = slice(0, n_warm)
    return {
        "mean fill": (lambda: np.broadcast_to(mean, x_in.shape), lambda: None),
        "KNN (k=5)": (knn(), knn(warm)),
        "one pass": (one(), one(warm)),
        "reverse": (inv(config), inv(config, warm)),
        "reverse + cleaning": (inv(replace(config, clean=True)), inv(replace(config, clean=True), warm)),
        "reverse, study objective": (inv(STUDY), inv(STUDY, warm)),
        "latent mode": (inv(replace(config, mode="latent")), inv(replace(config, mode="latent"), warm)),
        "reverse, validated": (validated(), validated(warm)),
        "reverse from KNN": (from_knn(config), from_knn(config, warm)),
        "latent mode from KNN": (from_knn(replace(config, mode="latent")), from_knn(replace(config, mode="latent"), warm)),
    }


def run_dataset(name: str, args, key: jax.Array, records: list[dict]) -> None:
    xtr, xte = load(name, args)
    d = xtr.shape[1]
    layout = ii.Layout.uniform(d)
    train_kinds, test_kinds = damages(name)
    config = ii.InversionConfig()
    for i, train_kind in enumerate(train_kinds):
        k_train, k_fit = jax.random.split(jax.random.fold_in(key, i))
        donor_obs = ~damage(name, train_kind, len(xtr), d, k_train)
        t = time.perf_counter()
        method = Autoencoding("ae", model=ModelConfig(skip=False), progress=False).fit(xtr, donor_obs, layout, k_fit)
        fit_s = time.perf_counter() - t
        model = method.models_[0]
        mean = column_means(xtr, donor_obs)
        for j, test_kind in enumerate(test_kinds):
            k_test, k_inv = jax.random.split(jax.random.fold_in(key, 100 + j))
            missing = damage(name, test_kind, len(xte), d, k_test)
            observed = ~missing
            x_in = np.where(observed, xte, 0.0).astype(np.float32)
            cell = {"data": name, "train_damage": train_kind, "test_damage": test_kind,
                    "mismatch": train_kind != test_kind, "n_train": len(xtr), "n_test": len(xte),
                    "fit_s": round(fit_s, 1), "missing_share": float(missing.mean())}
            for label, (fn, warm) in methods(model, layout, x_in, observed, xtr, donor_obs, mean, k_inv, config).items():
                filled, seconds = timed(fn, warm)
                records.append({**cell, "method": label, **score(name, xte, filled, missing),
                                "ms_per_1000": 1e6 * seconds / len(xte)})
                print(json.dumps(records[-1]), flush=True)
            if args.curve and cell["mismatch"] and train_kind == "none":
                curve(name, model, layout, xte, x_in, observed, mean, k_inv, config, cell, records)


def curve(name, model, layout, xte, x_in, observed, mean, key, config, cell, records) -> None:
    """Accuracy and cost after each step budget, without and with the per-sample early stop."""
    for steps in STEPS_CURVE:
        for tol in (0.0, EARLY_STOP_TOL):
            cfg = replace(config, steps=steps, tol=tol)
            fn = lambda: ii.invert(model, x_in, observed, layout, cfg, key, mean=mean)  # noqa: E731
            warm = lambda: ii.invert(model, x_in[:cfg.batch_size], observed[:cfg.batch_size], layout, cfg, key, mean=mean)  # noqa: E731
            warm()
            t = time.perf_counter()
            res = fn()
            seconds = time.perf_counter() - t
            records.append({**cell, "method": f"curve: {steps} steps" + (f", tol {tol:g}" if tol else ""),
                            "steps": steps, "tol": tol, "mean_steps": float(np.mean(res.steps)),
                            **score(name, xte, res.x, ~observed), "ms_per_1000": 1e6 * seconds / len(xte)})
            print(json.dumps(records[-1]), flush=True)


def beats(name: str, ours: dict, base: dict) -> str:
    """'yes' where ``ours`` scores strictly better than ``base`` (missing-pixel accuracy, or RMSE), else 'no'."""
    wins = (ours["missing"] > base["missing"]) if name == "mnist" else (ours["rmse"] < base["rmse"])
    return "yes" if wins else "no"


def tally(name: str, rows: list[dict]) -> str:
    """One line: in how many mismatch cells each of :data:`VERDICTS` beats the one pass."""
    cells = {}
    for r in rows:
        if r["mismatch"]:
            cells.setdefault((r["train_damage"], r["test_damage"]), {})[r["method"]] = r
    counts = [f"{v} {sum(beats(name, c[v], c['one pass']) == 'yes' for c in cells.values())} of {len(cells)}"
              for v in VERDICTS if all(v in c for c in cells.values())]
    both = [f"{v} {sum(beats(name, c[v], c['one pass']) == beats(name, c[v], c['KNN (k=5)']) == 'yes' for c in cells.values())}"
            f" of {len(cells)}" for v in VERDICTS if all(v in c and "KNN (k=5)" in c for c in cells.values())]
    line = "Mismatch cells where the method beats the same model's one pass: " + "; ".join(counts) + "."
    return line + (" Where it beats both the one pass and KNN: " + "; ".join(both) + "." if both else "")


def report(records: list[dict], header: str) -> str:
    """Markdown: per data set, a matrix of (training damage x test damage) by method, then the step curves."""
    out = [header]
    for name in dict.fromkeys(r["data"] for r in records):
        rows = [r for r in records if r["data"] == name and not r["method"].startswith("curve")]
        measure = (lambda r: f"{r['whole']:.2%} / {r['missing']:.2%}") if name == "mnist" else (lambda r: f"{r['rmse']:.4f}")
        what = "binarised accuracy, whole digit / missing pixels (higher is better)" if name == "mnist" else "RMSE over the missing cells (lower is better)"
        names = list(dict.fromkeys(r["method"] for r in rows))
        out += ["", f"#### {name}: {what}; ms per 1,000 samples in brackets", "",
                "| training damage | test damage | mismatch | " + " | ".join(names) + " | " + " | ".join(f"{v} beats one pass" for v in VERDICTS) + " |",
                "|---" * (len(names) + 3 + len(VERDICTS)) + "|"]
        for key in dict.fromkeys((r["train_damage"], r["test_damage"]) for r in rows):
            cell = {r["method"]: r for r in rows if (r["train_damage"], r["test_damage"]) == key}
            first = next(iter(cell.values()))
            wins = [beats(name, cell[v], cell["one pass"]) if v in cell else "-" for v in VERDICTS]
            out.append(f"| {key[0]} | {key[1]} | {'yes' if first['mismatch'] else 'no'} | "
                       + " | ".join(f"{measure(cell[m])} ({cell[m]['ms_per_1000']:.0f})" for m in names)
                       + " | " + " | ".join(wins) + " |")
        out += ["", tally(name, rows)]
        curves = [r for r in records if r["data"] == name and r["method"].startswith("curve")]
        if curves:
            out += ["", f"Step budget against accuracy ({name}, model trained on undamaged rows; reverse training at the default objective):", "",
                    "| training damage | test damage | steps | early stop | mean steps taken | accuracy | ms per 1,000 |",
                    "|---|---|---|---|---|---|---|"]
            out += [f"| {r['train_damage']} | {r['test_damage']} | {r['steps']} | {'tol ' + format(r['tol'], 'g') if r['tol'] else 'off'} | "
                    f"{r['mean_steps']:.0f} | {measure(r)} | {r['ms_per_1000']:.0f} |" for r in curves]
    return "\n".join(out) + "\n"


def figure(records: list[dict], path: str) -> None:
    """Per data set, each method's gain over the same model's one pass in every (training, test damage) cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["data"] for r in records))
    methods = ["reverse", "reverse + cleaning", "reverse, study objective", "latent mode", "reverse, validated",
               "reverse from KNN", "latent mode from KNN", "KNN (k=5)"]
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        rows = [r for r in records if r["data"] == name and not r["method"].startswith("curve")]
        cells = list(dict.fromkeys((r["train_damage"], r["test_damage"]) for r in rows))
        value = (lambda r: 100 * r["missing"]) if name == "mnist" else (lambda r: -r["rmse"])
        width = 0.8 / len(methods)
        for i, method in enumerate(methods):
            gains = []
            for cell in cells:
                by = {r["method"]: r for r in rows if (r["train_damage"], r["test_damage"]) == cell}
                gains.append(value(by[method]) - value(by["one pass"]))
            ax.bar(np.arange(len(cells)) + i * width, gains, width, label=method)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(np.arange(len(cells)) + 0.4 - width / 2)
        ax.set_xticklabels([f"{a}\n-> {b}" for a, b in cells], fontsize=7)
        ax.set_title(name)
        ax.set_ylabel("points of missing-pixel accuracy over one pass" if name == "mnist" else "RMSE reduction over one pass")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Gain over the same model's one pass (training damage -> test damage); above 0 is better")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=",".join(DATA))
    p.add_argument("--data-home", default=None)
    p.add_argument("--n-train", type=int, default=0, help="training rows (0: 8,000 digits, or 80%% of a table)")
    p.add_argument("--n-test", type=int, default=0, help="test rows (0: 2,000 digits, or 20%% of a table)")
    p.add_argument("--curve", action="store_true", help="also the step-budget curve on the mismatch cells")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="markdown report")
    p.add_argument("--jsonl", default=None, help="one JSON record per cell and method")
    p.add_argument("--figure", default=None, help="PNG of every method's gain over the one pass")
    p.add_argument("--report-only", action="store_true", help="rebuild the report and figure from --jsonl")
    args = p.parse_args(argv)
    key = jax.random.key(args.seed)
    records: list[dict] = []
    if args.report_only:
        records = [json.loads(line) for line in open(args.jsonl)]
    for name in args.data.split(",") if not args.report_only else []:
        run_dataset(name, args, jax.random.fold_in(key, DATA.index(name) if name in DATA else len(DATA)), records)
    header = (f"Defaults throughout: `ModelConfig(skip=False)`, `TrainConfig()`, `InversionConfig()` "
              f"({ii.InversionConfig().steps} steps). Machine: {platform.machine()} CPU x{jax.local_device_count()}, "
              f"jax {jax.__version__}; seed {args.seed}.")
    text = report(records, header)
    if args.jsonl and not args.report_only:
        write_atomic(args.jsonl, "".join(json.dumps(r) + "\n" for r in records))
    if args.figure:
        figure(records, args.figure)
    return publish(text, args.out)


if __name__ == "__main__":
    main()
