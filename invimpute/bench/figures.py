"""The report's PNG figures (matplotlib, Agg): the metric against the missing rate per data set, and time
against rows. Nothing is drawn when matplotlib is not installed."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from invimpute.bench.grid import MECHANISMS
from invimpute.bench.results import label, order
from invimpute.bench.scoring import HIGHER_IS_BETTER


def write_figures(
    records: Sequence[Mapping[str, Any]],
    figures_dir: pathlib.Path,
    prefix: str,
    labels: Sequence[str],
    methods: Sequence[str],
    primary: Mapping[str, str],
) -> list[tuple[str, pathlib.Path]]:
    """PNG figures: the metric against the missing rate per data set, and time against rows.

    Returns ``(title, path)`` pairs; none when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    figures_dir.mkdir(parents=True, exist_ok=True)
    palette = plt.get_cmap("tab20").colors
    style = {m: {"color": palette[(2 * i) % 20 + (i // 10) % 2], "marker": "osD^v<>px*h"[i % 11]}
             for i, m in enumerate(methods)}
    out: list[tuple[str, pathlib.Path]] = []
    for lab in labels:
        recs = [r for r in records if label(r) == lab and r["metric"] == primary[lab] and r.get("status") == "ok"]
        path = figures_dir / f"{prefix}-{_slug(lab)}-{primary[lab]}-vs-rate.png"
        if _rate_figure(plt, recs, lab, primary[lab], methods, style, path):
            out.append((f"{lab}: {primary[lab]} against the missing rate", path))
    path = figures_dir / f"{prefix}-time-vs-rows.png"
    if _time_figure(plt, records, methods, primary, style, path):
        out.append(("time against rows", path))
    return out


def _rate_figure(plt: Any, recs: Sequence[Mapping[str, Any]], lab: str, metric: str, methods: Sequence[str],
                 style: Mapping[str, Mapping[str, Any]], path: pathlib.Path) -> bool:
    """One data set's figure: a panel per mechanism, the metric against the rate; False when it has no points."""
    mechs = order({r["mechanism"] for r in recs}, MECHANISMS)
    if not mechs:
        return False
    rates = sorted({float(r["rate"]) for r in recs})
    gap = min((b - a for a, b in zip(rates, rates[1:])), default=0.1)
    fig, axes = plt.subplots(1, len(mechs), figsize=(3.6 * len(mechs) + 1.8, 3.6), squeeze=False, sharey=True)
    for ax, mech in zip(axes[0], mechs):
        shown = [m for m in methods if any(r["mechanism"] == mech and r["method"] == m for r in recs)]
        for i, m in enumerate(shown):
            pts: dict[float, list[float]] = {}
            for r in recs:
                if r["mechanism"] == mech and r["method"] == m:
                    pts.setdefault(float(r["rate"]), []).append(r["value"])
            xs = sorted(pts)
            dodge = 0.5 * gap * ((i + 0.5) / len(shown) - 0.5)  # side by side, so error bars stay readable
            ys = [float(np.mean(pts[x])) for x in xs]
            es = [float(np.std(pts[x], ddof=1)) if len(pts[x]) > 1 else 0.0 for x in xs]
            ax.errorbar([x + dodge for x in xs], ys, yerr=es, capsize=2, markersize=4, label=m, **style[m])
        ax.set_title(f"{lab}: {mech.upper()}")
        ax.set_xlabel("missing rate")
        ax.set_xticks(rates, [f"{r:.0%}" for r in rates])
        ax.set_xlim(rates[0] - 0.5 * gap, rates[-1] + 0.5 * gap)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{metric} ({'higher' if metric in HIGHER_IS_BETTER else 'lower'} is better)")
    handles = {}  # every method of every panel, in the methods' order (a method may run under one mechanism only)
    for ax in axes[0]:
        for h, name in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(name, h)
    names = [m for m in methods if m in handles]
    axes[0][-1].legend([handles[m] for m in names], names, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _time_figure(plt: Any, records: Sequence[Mapping[str, Any]], methods: Sequence[str], primary: Mapping[str, str],
                 style: Mapping[str, Mapping[str, Any]], path: pathlib.Path) -> bool:
    """Median fit + transform seconds against rows, log-log; False when no record has a time."""
    from matplotlib.ticker import NullFormatter

    times: dict[str, dict[int, list[float]]] = {}
    names: dict[int, str] = {}
    for r in records:
        if r.get("status") == "ok" and r.get("fit_seconds") is not None and r["metric"] == primary[label(r)]:
            times.setdefault(r["method"], {}).setdefault(int(r["rows"]), []).append(
                r["fit_seconds"] + (r.get("impute_seconds") or 0.0))
            names[int(r["rows"])] = f"{r['dataset']}\n{r['rows']}×{r.get('cols', '?')}"
    if not times:
        return False
    fig, ax = plt.subplots(figsize=(8.0, 4.6))
    for m in methods:
        if m in times:
            xs = sorted(times[m])
            ax.plot(xs, [float(np.median(times[m][x])) for x in xs], label=m, markersize=5, **style[m])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = sorted(names)
    low = [False] * len(ticks)  # drop a label a line lower when it would overlap the previous one
    for i in range(1, len(ticks)):
        low[i] = ticks[i] < 1.6 * ticks[i - 1] and not low[i - 1]
    ax.set_xticks(ticks, [("\n\n" if lo else "") + names[x] for x, lo in zip(ticks, low)], fontsize=7)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("rows (data set, rows × columns)")
    ax.set_ylabel("fit + transform seconds (median)")
    ax.set_title("time against rows (fit includes JAX compilation)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _slug(text: str) -> str:
    """``text`` made safe for a file name."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text).strip("_")


__all__ = ["write_figures"]
