"""Calibrating the belief of the autoencoding methods on held-out observed cells.

:func:`fit_calibrated` fits a method with a random ``fraction`` of the observed cells held out of
training (whole categorical groups at a time, the same cells for every ensemble member), imputes those
cells as if they were missing, and :func:`calibrate` fits on them a temperature for the categorical and
boolean probabilities and, per numeric column, a standard deviation and a split-conformal interval
scale (:mod:`invimpute.uncertainty.measures`).

Numeric standard deviations are the held-out residual spread per column (root mean square of
``truth - imputation`` on held cells), scaled by the split-conformal factor fitted on the same cells; this
is what gives calibrated intervals on MCAR data. The Monte-Carlo dropout spread of the imputations is
not used for intervals: measured on the UCI tables (``benchmarks/uncertainty.py``) it covers far less
than its nominal level, because dropout spreads the network's guess, not the cell's own variability.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from invimpute.uncertainty.classes import class_probabilities, class_view, numeric_columns
from invimpute.encoding.layout import Layout
from invimpute.encoding.missingness import hide_cells
from invimpute.uncertainty.measures import fit_interval_scale, fit_temperature, normal_quantile

MIN_COLUMN_CELLS = 20
"""Held cells a numeric column needs for its own sd and scale; columns with fewer use the pooled ones."""
MIN_HALF_WIDTH = 1e-3
"""Smallest interval half-width, in encoded units (a thousandth of a min-max scaled column's range).

Without it a column that is almost always one value (spam's zero-inflated word frequencies) gets held-out
residuals at float-rounding level, a conformal quantile of ~1e-8 and zero-width intervals whose coverage
of new cells is decided by rounding noise.
"""


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` fitted on held-out observed cells, in the encoded domain; the calibrated
    standard deviation of each column is ``sd * scale`` (:attr:`std`).

    Attributes:
      temperature: scales every categorical and boolean distribution (``softmax(log p / T)``).
      sd: (d,) for numeric encoded columns, the root mean square residual on held cells (NaN for other
        columns).
      scale: (d,) the split-conformal factor for intervals at ``level`` (1 for other columns).
      level: the coverage the conformal factor was fitted for.
      n_categorical, n_numeric: the held cells the temperature and the numeric part were fitted on.
    """

    temperature: float
    sd: np.ndarray
    scale: np.ndarray
    level: float
    n_categorical: int
    n_numeric: int

    @property
    def std(self) -> np.ndarray:
        """The calibrated standard deviation of each encoded column (NaN where not numeric)."""
        return self.sd * self.scale


def _fit_class_temperature(filled: np.ndarray, truth: np.ndarray, held: np.ndarray, layout: Layout) -> tuple[float, int]:
    """The temperature fitted on held categorical and boolean cells, and how many cells it saw."""
    view, groups, source = class_view(filled, layout)
    if not view.shape[-1]:
        return 1.0, 0
    tview, _, _ = class_view(truth, layout)
    labels = np.where(held[:, source], tview, 0.0)
    temperature = fit_temperature(np.log(class_probabilities(view, groups)), labels, groups)
    first = source[np.unique(groups, return_index=True)[1]]
    return float(temperature), int(held[:, first].sum())


def calibrate(filled: np.ndarray, truth: np.ndarray, held: np.ndarray, layout: Layout, level: float = 0.9) -> Calibration:
    """Fit a :class:`Calibration` on held cells: ``filled`` is the imputation made with them hidden.

    ``filled`` and ``truth`` are (n, d) encoded matrices, ``held`` (n, d) marks the held-out cells (whole
    groups). The temperature is fitted by likelihood over categorical and boolean held cells; each numeric
    column's ``sd`` is its root mean square residual and its ``scale`` the split-conformal factor at
    ``level`` (columns with fewer than :data:`MIN_COLUMN_CELLS` held cells share the pooled values);
    intervals are never narrower than :data:`MIN_HALF_WIDTH`.
    """
    z = normal_quantile(level)
    filled, truth, held = np.asarray(filled, np.float64), np.asarray(truth, np.float64), np.asarray(held, bool)
    temperature, n_cat = _fit_class_temperature(filled, truth, held, layout)
    d = layout.width
    sd = np.full(d, np.nan)
    scale = np.ones(d)
    residuals = {j: (truth - filled)[held[:, j], j] for j in numeric_columns(layout)}
    pooled = np.concatenate([r for r in residuals.values()]) if residuals else np.zeros(0)
    if pooled.size:
        pooled_sd = float(np.sqrt(np.mean(np.square(pooled))))
        pooled_scale = fit_interval_scale(pooled, pooled_sd, level)
        for j, r in residuals.items():
            if r.size >= MIN_COLUMN_CELLS:
                sd[j] = float(np.sqrt(np.mean(np.square(r))))
                scale[j] = fit_interval_scale(r, sd[j], level)
            else:
                sd[j], scale[j] = pooled_sd, pooled_scale
            if not sd[j] * scale[j] * z >= MIN_HALF_WIDTH:
                sd[j], scale[j] = (sd[j], MIN_HALF_WIDTH / (z * sd[j])) if sd[j] > 0 else (MIN_HALF_WIDTH / z, 1.0)
    return Calibration(temperature=temperature, sd=sd, scale=scale, level=float(level),
                       n_categorical=n_cat, n_numeric=int(pooled.size))


def fit_calibrated(
    method, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array,
    fraction: float = 0.1, level: float = 0.9,
) -> Calibration:
    """Fit ``method`` (an :class:`~invimpute.methods.registry.Autoencoding`) with held-out cells, then calibrate.

    A ``fraction`` of the observed cells (drawn per source column, so one-hot groups go together) is
    hidden from training; the fitted method imputes them as missing cells and :func:`calibrate` fits on
    them. ``observed`` (n, d) is True where a value is present. The method is left fitted on the other
    cells and remembers the full table as its training table (so ``recurrent`` still returns the fills
    refined during training for it).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"calibration_fraction must be in (0, 1), got {fraction}")
    k_hold, k_fit, k_imp = jax.random.split(key, 3)
    observed = np.asarray(observed, dtype=bool)
    held = np.asarray(hide_cells(k_hold, jnp.asarray(observed), layout, fraction))
    train = observed & ~held
    method.fit(X, train, layout, k_fit)
    filled = method.impute(X, train, k_imp)
    if hasattr(method, "fit_data_"):
        method.fit_data_ = (X, observed)
    return calibrate(filled, X, held, layout, level)


__all__ = ["Calibration", "calibrate", "fit_calibrated", "MIN_COLUMN_CELLS", "MIN_HALF_WIDTH"]
