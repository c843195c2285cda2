"""How much of Mushroom can be recovered at all, and how close the best configuration comes.

Study 1's table (``benchmarks/mushroom.py``) fits each imputer on the damaged table and scores the cells
it removed. This script puts two references beside that score, on the same masks.

The ceiling. Any imputer that fills a cell from the observed cells of its own row acts as a rule
*(observed cells) -> value*. Given the complete table, the best such rule picks, for a removed cell, the
most frequent value of its column among the specimens that agree with the row on the row's observed
cells, and is right on a share ``max count / group size`` of that group (every specimen in Mushroom is
unique, so when one cell of a row is missing its group holds one specimen per value). Averaged over the
removed cells this is the *expected* ceiling (``ceiling, expected``); ``ceiling, first-listed tie``
scores one fixed tie-breaking rule (the alphabetically first of the tied values) on the realised mask,
which luck can move either way.

Perfect training data. The rows are split into ``--folds`` folds (a permutation drawn from the seed), and
each fold's damaged rows are imputed by the library's best configuration fitted on the *complete* rows of
the other folds, so no model ever sees the true value of a cell it is scored on. Beside it, in the same
run:

- ``cross-fit, damaged`` (``--arms complete,damaged,whole``): the same folds, the model fitted on the
  other folds' *damaged* rows (the data regime of the main table, with the scored rows unseen);
- ``fit on the whole damaged table``: the main table's protocol (scored rows are in the training data,
  their removed cells are not).

This complete-rows arm is a reference point, not a proof of a ceiling: it trains on 80% of the rows (5
folds), and a better model could exceed it. It tells how much of the gap to a target is due to the
missing training cells rather than to the ambiguity left in a row once one of its cells is removed.

    python benchmarks/mushroom_ceiling.py --out benchmarks/results/mushroom_ceiling.md
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
ARMS = ("complete", "damaged", "whole")
DEFAULT_ARMS = ("complete", "whole")
ARM_NAMES = {
    "ceiling": "ceiling, expected: best rule from the row's observed cells, complete table known",
    "tie": "ceiling, first-listed tie: the same rule, ties broken by the first-listed value",
    "complete": "cross-fit, trained on complete rows of the other folds",
    "damaged": "cross-fit, trained on damaged rows of the other folds",
    "whole": "fit on the whole damaged table (the main table's protocol)",
}


def folds(seed: int, n: int, k: int) -> list[np.ndarray]:
    """``k`` disjoint row-index folds covering ``range(n)``, from a permutation keyed by ``seed``."""
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(jax.random.key(seed), 7), n))
    return np.array_split(perm, k)


def ceiling(codes: np.ndarray, missing: np.ndarray, chunk: int = 512) -> tuple[float, float]:
    """(expected, first-listed tie) accuracy of the best rule *(row's observed cells) -> value* that
    knows the complete table ``codes`` (integer category codes, (n, d)), over the cells ``missing``."""
    onehot = (codes[..., None] == np.arange(int(codes.max()) + 1)).astype(np.float32)  # (n, d, values)
    expected, first = [], []
    rows = np.flatnonzero(missing.any(axis=1))
    for start in range(0, len(rows), chunk):
        block = rows[start:start + chunk]
        agree = ~((codes[block][:, None, :] != codes[None]) & ~missing[block][:, None, :]).any(axis=-1)
        counts = np.einsum("bn,ndv->bdv", agree.astype(np.float32), onehot)[missing[block]]  # per removed cell
        expected.append(counts.max(axis=-1) / counts.sum(axis=-1))
        first.append(counts.argmax(axis=-1) == codes[block][missing[block]])
    return float(np.concatenate(expected).mean()), float(np.concatenate(first).mean())


def score_seed(df, seed: int, rate: float, k: int, arms: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Accuracy over the removed cells and total fit + impute seconds of each arm, for one mask."""
    missing = np.asarray(ii.mcar_mask(seed, df.shape, rate))
    damaged = ii.apply_mask(df, missing)
    truth = df.to_numpy()
    codes = np.stack([df[c].astype("category").cat.codes.to_numpy() for c in df.columns], axis=1)
    t = time.perf_counter()
    expected, first = ceiling(codes, missing)
    seconds = time.perf_counter() - t
    out = {"ceiling": (expected, seconds), "tie": (first, seconds)}
    print(f"seed {seed}  ceiling: expected {expected:.4f}, first-listed tie {first:.4f}", flush=True)
    for arm in arms:
        t = time.perf_counter()
        if arm == "whole":
            filled = ii.Imputer(**imputer_params(BEST, len(df)), seed=seed).fit_transform(damaged).to_numpy()
            hits = filled[missing] == truth[missing]
        else:
            source = df if arm == "complete" else damaged
            hits_parts = []
            for i, test in enumerate(folds(seed, len(df), k)):
                train = np.setdiff1d(np.arange(len(df)), test)
                imp = ii.Imputer(**imputer_params(BEST, len(train)), seed=seed * 100 + i).fit(source.iloc[train])
                filled = imp.transform(damaged.iloc[test]).to_numpy()
                m = missing[test]
                hits_parts.append(filled[m] == truth[test][m])
            hits = np.concatenate(hits_parts)
        out[arm] = (float(hits.mean()), time.perf_counter() - t)
        print(f"seed {seed}  {ARM_NAMES[arm]:60s} accuracy {out[arm][0]:.4f}  {out[arm][1]:6.1f} s", flush=True)
    return out


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-home", default=None)
    p.add_argument("--seeds", type=int, default=5, help="masks seeded 0..seeds-1")
    p.add_argument("--rate", type=float, default=0.1)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--arms", default=",".join(DEFAULT_ARMS), help=f"comma-separated subset of {ARMS}")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        p.error(f"--arms: unknown {unknown or 'empty list'}; choose from {', '.join(ARMS)}")
    if args.folds < 2:
        p.error(f"--folds must be at least 2, got {args.folds}")

    df = ii.datasets.load_mushroom(args.data_home, drop_stalk_root=True)
    per_seed = [score_seed(df, seed, args.rate, args.folds, arms) for seed in range(args.seeds)]
    lines = [
        f"Mushroom, {args.rate:.0%} MCAR, masks seeded 0..{args.seeds - 1} (the masks of the main table), the "
        f"library's best configuration (`invimpute-reference`) in every arm; {args.folds} folds of rows. "
        f"Machine: {platform.machine()} CPU ({jax.devices()[0].platform}), jax {jax.__version__}.",
        "",
        "| training data | accuracy over removed cells (mean ± sd) | per seed | time per seed (s) |",
        "|---|---|---|---|",
    ]
    for arm in ("ceiling", "tie", *arms):
        accs = np.array([s[arm][0] for s in per_seed])
        secs = np.mean([s[arm][1] for s in per_seed])
        each = ", ".join(f"{a:.2%}" for a in accs)
        lines.append(f"| {ARM_NAMES[arm]} | {accs.mean():.2%} ± {accs.std():.2%} | {each} | {secs:.0f} |")
    text = "\n".join(lines) + "\n"
    return publish(text, args.out)


if __name__ == "__main__":
    main()
