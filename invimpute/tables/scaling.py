"""Numeric scaling of one column: min-max, standard or none, fitted and applied without overflow."""

from __future__ import annotations

import numpy as np

SCALINGS = ("minmax", "standard", "none")
"""The numeric scalings an encoder may use."""

FENCE = 3.0
"""How far beyond the bulk a value must lie to be an outlier, in widths of the bulk: the bulk is the
central 98% of the observed values (from the 1st to the 99th percentile), so the fences are
``q01 - FENCE * (q99 - q01)`` and ``q99 + FENCE * (q99 - q01)``."""
OUTLIER_SHARE = 0.001
"""Most values (as a share of the observed ones, at least one value) that may lie beyond the fences and
still be outliers; a column with more has a real long tail, and none of its values is an outlier."""


def fences(v: np.ndarray) -> tuple[float, float, np.ndarray]:
    """``(low, high, outlier)``: the fences of one numeric column and the mask of its outliers.

    The rule: a value is an outlier when it lies beyond the fences (:data:`FENCE` widths of the central
    98% of the values beyond its ends) and at most :data:`OUTLIER_SHARE` of the values (at least one) do.
    One absurd value (``1e308``, ``-999999`` among incomes) is caught; a real tail (a top-coded
    ``99999`` held by 0.5% of the rows) is not. Percentiles are taken as order statistics on the inner
    side, so on a small column a single extreme value does not widen its own fence. A column whose bulk
    has no width (q01 == q99, for example mostly zeros) has no outliers: there is nothing to judge them
    by (its fences are then its observed range). When a column has no outliers its fences are widened to
    take in its observed range, so nothing it holds lies beyond them.
    """
    v = np.asarray(v, np.float64)
    if v.size == 0:
        return -np.inf, np.inf, np.zeros(0, bool)
    lo_q = float(np.quantile(v, 0.01, method="higher"))
    hi_q = float(np.quantile(v, 0.99, method="lower"))
    with np.errstate(over="ignore", invalid="ignore"):
        width = hi_q - lo_q
        low, high = lo_q - FENCE * width, hi_q + FENCE * width
    outlier = (v < low) | (v > high)
    count = int(outlier.sum())
    none = np.zeros(v.size, bool)
    if not (np.isfinite(width) and width > 0 and np.isfinite(low) and np.isfinite(high)):
        return float(v.min()), float(v.max()), none
    if count == 0 or count > max(1, OUTLIER_SHARE * v.size):
        return min(float(low), float(v.min())), max(float(high), float(v.max())), none
    return float(low), float(high), outlier


def fit_scaling(v: np.ndarray, scaling: str) -> tuple[float, float, bool]:
    """``(offset, scale, bounded)`` of one numeric column, finite for any finite values.

    A min-max range wider than the float64 range (``hi - lo`` overflows) is encoded around its
    midpoint on [-1, 1] instead, and the column is then not bounded; a standard deviation that
    overflows is computed on the values divided by their largest magnitude.
    """
    if scaling == "minmax":
        lo, hi = float(v.min()), float(v.max())
        if np.isfinite(hi - lo):
            return lo, (hi - lo) if hi > lo else 1.0, True
        return lo / 2 + hi / 2, hi / 2 - lo / 2, False
    if scaling == "standard":
        with np.errstate(over="ignore", invalid="ignore"):
            mu, sd = float(v.mean()), float(v.std())
        if not (np.isfinite(mu) and np.isfinite(sd)):
            m = float(np.abs(v).max())
            mu, sd = m * float((v / m).mean()), m * float((v / m).std())
        return mu, sd if sd > 0 else 1.0, False
    return 0.0, 1.0, bool(v.min() >= 0.0 and v.max() <= 1.0)


def scale(v: np.ndarray, offset: float, scale: float) -> np.ndarray:
    """``(v - offset) / scale`` without overflow (halving is exact, so ordinary values are unchanged)."""
    return (v / 2 - offset / 2) / (scale / 2)


def unscale(z: np.ndarray, offset: float, scale: float) -> np.ndarray:
    """``z * scale + offset``, computed halved and clipped to the float64 range so it never overflows."""
    big = np.finfo(np.float64).max
    with np.errstate(over="ignore"):
        half = z * (scale / 2) + offset / 2
    return np.clip(half, -big / 2, big / 2) * 2


__all__ = ["SCALINGS", "FENCE", "OUTLIER_SHARE", "fences", "fit_scaling", "scale", "unscale"]
