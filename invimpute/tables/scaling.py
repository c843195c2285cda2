"""Numeric scaling of one column: min-max, standard or none, fitted and applied without overflow."""

from __future__ import annotations

import numpy as np

SCALINGS = ("minmax", "standard", "none")
"""The numeric scalings an encoder may use."""


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


__all__ = ["SCALINGS", "fit_scaling", "scale", "unscale"]
