"""The frontier report's PNG figures (matplotlib, Agg): each method's rank per table, and seconds against error.

Nothing is drawn when matplotlib is not installed.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


def write_frontier_figures(
    folder: pathlib.Path, prefix: str, groups: Sequence[tuple[str, str]], datasets: Sequence[str],
    methods: Sequence[str], score: Callable[[str, str, str, str], float | None],
    seconds: Mapping[tuple[str, str], float],
) -> list[tuple[str, pathlib.Path]]:
    """For each (mechanism, split) in ``groups``: a heat map of each method's rank per table by
    ``score(mechanism, split, dataset, method)`` (lower is better; None where it did not run), and a
    scatter of median seconds per cell against the mean score over the tables. Returns ``(title, path)``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for mechanism, split in groups:
        where = "in-sample" if split == "in" else "out-of-sample"
        grid = np.array([[np.nan if (v := score(mechanism, split, d, m)) is None else v for m in methods]
                         for d in datasets], dtype=float)
        if np.isnan(grid).all():
            continue
        path = folder / f"{prefix}-{mechanism}-{split}-rank.png"
        _rank_figure(plt, grid, datasets, methods, f"{mechanism.upper()} 30%, {where}: rank by z-RMSE", path)
        out.append((f"{mechanism.upper()} {where}: rank per table", path))
        path = folder / f"{prefix}-{mechanism}-{split}-time.png"
        if _time_figure(plt, grid, methods, seconds, datasets, f"{mechanism.upper()} 30%, {where}", path):
            out.append((f"{mechanism.upper()} {where}: seconds against z-RMSE", path))
    return out


def _ranks(grid: np.ndarray) -> np.ndarray:
    """Each row's ranks (1 = lowest), ties averaged, NaN where the score is missing."""
    ranks = np.full(grid.shape, np.nan)
    for i, row in enumerate(grid):
        ok = ~np.isnan(row)
        order = row[ok].argsort().argsort().astype(float) + 1.0
        for value in np.unique(row[ok]):
            order[row[ok] == value] = order[row[ok] == value].mean()
        ranks[i, ok] = order
    return ranks


def _rank_figure(plt: Any, grid: np.ndarray, datasets: Sequence[str], methods: Sequence[str], title: str,
                 path: pathlib.Path) -> None:
    """A tables x methods heat map of ranks, each cell labelled."""
    ranks = _ranks(grid)
    fig, ax = plt.subplots(figsize=(1.0 * len(methods) + 2.5, 0.45 * len(datasets) + 1.6))
    ax.imshow(np.nan_to_num(ranks, nan=len(methods) + 1), cmap="RdYlGn_r", aspect="auto")
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right")
    ax.set_yticks(range(len(datasets)), datasets)
    for (i, j), r in np.ndenumerate(ranks):
        ax.text(j, i, "—" if np.isnan(r) else f"{r:g}", ha="center", va="center", color="black", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _time_figure(plt: Any, grid: np.ndarray, methods: Sequence[str], seconds: Mapping[tuple[str, str], float],
                 datasets: Sequence[str], title: str, path: pathlib.Path) -> bool:
    """Median seconds per cell (over tables) against mean z-RMSE, one point per method; False when empty."""
    points = []
    for j, m in enumerate(methods):
        times = [seconds[(d, m)] for d in datasets if (d, m) in seconds]
        if times and not np.isnan(grid[:, j]).all():
            points.append((m, float(np.median(times)), float(np.nanmean(grid[:, j]))))
    if not points:
        return False
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    for m, t, e in points:
        ax.scatter(t, e)
        ax.annotate(m, (t, e), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("median seconds per cell (fit + both fills)")
    ax.set_ylabel("mean z-RMSE over the tables it ran on")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


__all__ = ["write_frontier_figures"]
