"""What every peer imputation method shares: input checks, fit-time column state and the output rules.

The peers (:mod:`invimpute.peers.baselines`, :mod:`invimpute.peers.gain`, :mod:`invimpute.peers.miwae`) follow the backend
protocol of :class:`invimpute.Imputer` on encoded matrices. :class:`Fitted` stores the layout, the
observed column means and the columns with nothing observed at fit time; :func:`as_inputs` checks and
cleans ``(X, observed)``; :func:`finish` turns a method's raw fill into a valid output: no NaN, a
fallback in columns that were empty at fit time, bounded kinds clipped to [0, 1], observed entries
copied back.
"""

from __future__ import annotations

import numpy as np

from invimpute.encoding.layout import BINARY, CATEGORICAL, UNIT, Layout


def as_inputs(X: np.ndarray, observed: np.ndarray, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validated float32 / bool copies of ``X`` and ``observed``, with missing entries set to 0."""
    X = np.asarray(X, dtype=np.float32)
    observed = np.asarray(observed, dtype=bool)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d (n, d) matrix, got shape {X.shape}")
    if observed.shape != X.shape:
        raise ValueError(f"observed has shape {observed.shape}, X has shape {X.shape}")
    if width is not None and X.shape[1] != width:
        raise ValueError(f"X has {X.shape[1]} columns, the method was fitted on {width}")
    observed = observed & np.isfinite(X)
    return np.where(observed, X, np.float32(0.0)), observed


def bounded_columns(layout: Layout) -> np.ndarray:
    """Boolean (d,): True where the column's values live in [0, 1]."""
    kind = layout.kind_array
    return (kind == UNIT) | (kind == BINARY) | (kind == CATEGORICAL)


def _fallback(layout: Layout) -> np.ndarray:
    """Value (d,) for a column with nothing observed: 0, or 1/k inside a k-way categorical group."""
    out = np.zeros(layout.width, dtype=np.float32)
    kind, group = layout.kind_array, layout.group_array
    for g in np.unique(group[kind == CATEGORICAL]):
        cols = group == g
        out[cols] = 1.0 / cols.sum()
    return out


def _observed_mean(X: np.ndarray, observed: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean over observed entries (the fallback where none), and the mask of empty columns."""
    count = observed.sum(axis=0)
    total = np.where(observed, X, 0.0).sum(axis=0, dtype=np.float64)
    empty = count == 0
    mean = np.where(empty, _fallback(layout), total / np.maximum(count, 1)).astype(np.float32)
    return mean, empty


def finish(X: np.ndarray, observed: np.ndarray, imputed: np.ndarray, layout: Layout, empty: np.ndarray) -> np.ndarray:
    """Final output: no NaN, fallback in columns empty at fit time, bounded kinds clipped, observed copied back."""
    fallback = _fallback(layout)
    out = np.asarray(imputed, dtype=np.float32).copy()
    out = np.where(np.isfinite(out), out, fallback[None, :])
    out[:, empty] = fallback[empty]
    bounded = bounded_columns(layout)
    out[:, bounded] = np.clip(out[:, bounded], 0.0, 1.0)
    return np.where(observed, X, out).astype(np.float32)


class Fitted:
    """Common state and checks of a peer: the layout, column means and the columns empty at fit time.

    Subclasses call ``self._start_fit`` first in ``fit`` and ``self._start_impute`` first in ``impute``.
    """

    layout_: Layout
    mean_: np.ndarray
    empty_: np.ndarray

    def _check_fitted(self) -> None:
        """Raise when ``impute`` is called before ``fit``."""
        if not hasattr(self, "layout_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(X, observed, layout, key)")

    def _start_impute(self, X: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Check that ``fit`` ran and return clean inputs of the fitted width."""
        self._check_fitted()
        return as_inputs(X, observed, self.layout_.width)

    def _start_fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
        """Validate the fit inputs, store the layout, column means and empty columns; return clean inputs."""
        if layout.width != np.shape(X)[1]:
            raise ValueError(f"layout has {layout.width} columns, X has {np.shape(X)[1]}")
        X, observed = as_inputs(X, observed)
        self.layout_ = layout
        self.mean_, self.empty_ = _observed_mean(X, observed, layout)
        return X, observed


__all__ = ["Fitted", "as_inputs", "bounded_columns", "finish"]
