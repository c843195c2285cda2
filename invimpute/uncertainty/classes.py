"""Categorical and boolean cells of an encoded matrix as class distributions.

Calibration, multiple-imputation draws and belief frames all read the same thing from an encoded fill:
each categorical one-hot group as a distribution over its categories and each boolean entry as the
two-class distribution ``[1 - v, v]``, temperature-scaled by the calibration. :func:`class_view` builds
that view and :func:`class_probabilities` normalises and tempers it with the package's one grouped
softmax (through :func:`invimpute.uncertainty.measures.apply_temperature`).
"""

from __future__ import annotations

import numpy as np

from invimpute.encoding.layout import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout
from invimpute.uncertainty.measures import apply_temperature

EPS = 1e-6
"""Smallest class probability read from a fill (a sigmoid head's entries can reach 0)."""


def class_view(values: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Categorical groups as they are and each boolean entry as a two-class group ``[1 - v, v]``.

    Returns ``(view (..., k), group (k,), source (k,))``: the class columns, their group index (0..) and
    the encoded column each class column is read from.
    """
    kind = layout.kind_array
    cols, groups, source = [], [], []
    g = 0
    for s in layout.group_slices():
        k = kind[s.start]
        if k == CATEGORICAL:
            idx = np.arange(s.start, s.stop)
            cols.append(values[..., idx])
            groups += [g] * len(idx)
            source += list(idx)
            g += 1
        elif k == BINARY:
            v = values[..., s.start:s.start + 1]
            cols.append(np.concatenate([1.0 - v, v], axis=-1))
            groups += [g, g]
            source += [s.start, s.start]
            g += 1
    if not cols:
        shape = values.shape[:-1] + (0,)
        return np.zeros(shape, values.dtype), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(cols, axis=-1), np.asarray(groups), np.asarray(source)


def class_probabilities(view: np.ndarray, groups: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(log p / T)`` within each group of a class view: with ``T = 1`` the view normalised.

    Entries are first clipped to at least :data:`EPS` (a sigmoid head's one-hot entries need not sum to
    1, nor stay off 0).
    """
    return apply_temperature(np.clip(view.astype(np.float64), EPS, 1.0), temperature, groups, probabilities=True)


def numeric_columns(layout: Layout) -> np.ndarray:
    """The encoded columns holding numbers (unbounded or in [0, 1])."""
    kind = layout.kind_array
    return np.flatnonzero((kind == NUMERIC) | (kind == UNIT))


__all__ = ["EPS", "class_view", "class_probabilities", "numeric_columns"]
