"""Scores of an imputation against the truth, counted over the cells that were removed.

``mask`` arguments are ``missing``-style masks: True on the cells whose imputed value is scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _mask(mask, shape) -> np.ndarray:
    m = np.asarray(mask, dtype=bool)
    if m.shape != tuple(shape):
        raise ValueError(f"mask has shape {m.shape}, the data has shape {tuple(shape)}; they must match")
    if not m.any():
        raise ValueError("mask selects no cell; there is nothing to score")
    return m


def categorical_accuracy(truth: pd.DataFrame | np.ndarray, imputed: pd.DataFrame | np.ndarray, mask) -> float:
    """Fraction of the masked cells whose imputed label equals the true label."""
    t, p = np.asarray(truth, dtype=object), np.asarray(imputed, dtype=object)
    if t.shape != p.shape:
        raise ValueError(f"truth has shape {t.shape}, imputed has shape {p.shape}")
    m = _mask(mask, t.shape)
    return float(np.mean(t[m] == p[m]))


def per_column_accuracy(truth: pd.DataFrame, imputed: pd.DataFrame, mask) -> pd.Series:
    """Accuracy on the masked cells of each column (NaN for a column with no masked cell)."""
    m = _mask(mask, truth.shape)
    out = {}
    for j, col in enumerate(truth.columns):
        mj = m[:, j]
        out[col] = float(np.mean(truth[col].to_numpy()[mj] == imputed[col].to_numpy()[mj])) if mj.any() else np.nan
    return pd.Series(out, name="accuracy")


def _scale(truth: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    lo = np.nanmin(truth, axis=0) if lo is None else np.asarray(lo, dtype=np.float64)
    hi = np.nanmax(truth, axis=0) if hi is None else np.asarray(hi, dtype=np.float64)
    rng = np.where(hi > lo, hi - lo, 1.0)
    return lo, rng


def _errors(truth, imputed, mask, scaled: bool, lo, hi) -> np.ndarray:
    """``truth - imputed`` on the masked cells, min-max scaled per column when ``scaled``."""
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(imputed, dtype=np.float64)
    m = _mask(mask, t.shape)
    if scaled:
        lo_, rng = _scale(t, lo, hi)
        t, p = (t - lo_) / rng, (p - lo_) / rng
    return t[m] - p[m]


def rmse(truth, imputed, mask, scaled: bool = True, lo=None, hi=None) -> float:
    """Root mean squared error over the masked cells.

    With ``scaled=True`` (the GAIN / HyperImpute convention) both tables are first min-max scaled per
    column with the truth's range (or ``lo``/``hi`` when given), so columns weigh alike; with
    ``scaled=False`` the error is in the data's own units.
    """
    return float(np.sqrt(np.mean(np.square(_errors(truth, imputed, mask, scaled, lo, hi)))))


def mae(truth, imputed, mask, scaled: bool = True, lo=None, hi=None) -> float:
    """Mean absolute error over the masked cells (scaled as in :func:`rmse`)."""
    return float(np.mean(np.abs(_errors(truth, imputed, mask, scaled, lo, hi))))


def binarized_accuracy(truth: np.ndarray, imputed: np.ndarray, mask=None, threshold: float = 0.5) -> float:
    """Pixel accuracy after rounding intensities in [0, 1] to 0/1.

    Over the masked pixels when ``mask`` is given, else over every pixel of every image (the whole-digit
    figure of study 2).
    """
    t = np.asarray(truth, dtype=np.float64) >= threshold
    p = np.asarray(imputed, dtype=np.float64) >= threshold
    if t.shape != p.shape:
        raise ValueError(f"truth has shape {t.shape}, imputed has shape {p.shape}")
    if mask is None:
        return float(np.mean(t == p))
    m = _mask(mask, t.shape)
    return float(np.mean(t[m] == p[m]))


__all__ = ["categorical_accuracy", "per_column_accuracy", "rmse", "mae", "binarized_accuracy"]
