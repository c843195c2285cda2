"""Belief and multiple imputation for ``method="auto"``: from the candidates it chose, per column.

:class:`~invimpute.methods.auto.Auto` already holds cells out to choose each column's fill; the same cells
calibrate the belief of that fill (:func:`auto_calibration`): each candidate's fill of the held-out cells
is blended with the column's weights, exactly as the final fill is, and
:func:`~invimpute.uncertainty.calibration.calibrate` fits on them the temperature of the categorical and
boolean distributions (the network's softmax, KNN's donor frequencies, the Gaussian model's conditional
means, blended) and each numeric column's residual sd with its split-conformal interval scale. The
candidates are fitted without those cells, so the belief is slightly conservative for the refitted fill.

:func:`auto_draws` makes proper multiple imputations: draw ``m`` is auto's fill plus the deviation of a
joint draw of the Gaussian model (:meth:`~invimpute.peers.gaussian.GaussianEM.posterior_draws`: the model
refitted on a Bayesian-bootstrap reweighting of the rows, then each row's missing block drawn from its
conditional normal), so that draws carry the model's own uncertainty and cells of one row move together
as the model's covariance says. Where the Gaussian model fills a column about as well as auto's blend
(within :data:`TOLERANCE` on held-out cells) the column's draws are the Gaussian model's own, as in
Amelia II's EMB; elsewhere the deviation of each numeric column is scaled by how much closer auto's
fill came to the held-out cells than the Gaussian model's did (``1`` where auto chose the Gaussian
model). Categorical and boolean cells are then filled by auto again, given the row's observed and drawn
numbers (a chained step, so a class moves with the numbers drawn in its row), shifted by the refitted
Gaussian model's change of their probabilities, and drawn from the calibrated distribution. A boolean
column the Gaussian model fills about as well as auto (within :data:`TOLERANCE`) is then drawn again by a
logistic regression on the row's drawn entries, refitted per imputation on a Bayesian bootstrap
(:func:`~invimpute.uncertainty.logistic.logistic_draws`): a linear fill of a class, flattened by the
calibration, attenuates the relations a pooled analysis estimates. Entries the Gaussian model does not cover (wide categorical
groups) are drawn cell by cell from their calibrated distributions.
"""

from __future__ import annotations

from dataclasses import replace

import jax
import numpy as np

from invimpute.encoding.layout import BINARY, UNIT, Layout
from invimpute.uncertainty.calibration import MIN_COLUMN_CELLS, Calibration, calibrate
from invimpute.uncertainty.classes import numeric_columns
from invimpute.uncertainty.draws import sample_classes
from invimpute.uncertainty.logistic import logistic_draws

GAUSSIAN = "gaussian"
"""The candidate of :class:`~invimpute.methods.auto.Auto` whose joint draws give the spread."""
MIN_RATIO, MAX_RATIO = 0.2, 2.0
"""Bounds on the factor scaling the Gaussian model's deviations per column (a column where one of the
two fills has almost no held-out error would otherwise get no spread, or an absurd one)."""

TOLERANCE = 0.1
"""Where the Gaussian model's held-out error is within this share of auto's, a column's draws are the
Gaussian model's own (centred on its conditional means, not on auto's fill): auto's blend trades bias for
variance per cell (it shrinks towards the mean where KNN or mean/mode carry weight), which a pooled
analysis reads as attenuated relations, while the Gaussian draws are unbiased where the model holds."""


def held_out_fill(auto, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(filled, held)``: ``X`` with auto's blended fill of its held-out cells in place, and the (n, d)
    mask of those cells.

    Args:
      auto: a fitted :class:`~invimpute.methods.auto.Auto`.
      X: (n, d) the encoded table it was fitted on.
    """
    held, fills = auto.holdout_
    filled = np.nan_to_num(np.array(X, dtype=np.float32))
    weights = auto.weights_[:, np.nonzero(held)[1]]  # (candidates, held cells)
    filled[held] = np.einsum("ic,ci->i", fills.astype(np.float64), weights.astype(np.float64))
    return filled, held


def auto_calibration(auto, X: np.ndarray, layout: Layout, level: float = 0.9) -> Calibration:
    """The :class:`~invimpute.uncertainty.calibration.Calibration` of auto's blended fill, fitted on its
    held-out cells.

    Args:
      auto: a fitted :class:`~invimpute.methods.auto.Auto`.
      X: (n, d) the encoded table it was fitted on.
      layout: the table's encoded layout.
      level: the coverage the numeric intervals are fitted for.

    Returns:
      The calibration (temperature, per-column sd and interval scale).
    """
    filled, held = held_out_fill(auto, X)
    calibration = calibrate(filled, X, held, layout, level)
    return replace(calibration, scale=calibration.scale * pattern_ratio(auto, X, layout))


def pattern_ratio(auto, X: np.ndarray, layout: Layout) -> np.ndarray:
    """(d,) per numeric encoded column the Gaussian model covers: the root of its mean conditional variance
    on the table's missing cells (given their rows' observed cells) over that on the held-out cells (given
    their rows' cells left after the hold-out), within [:data:`MIN_RATIO`, :data:`MAX_RATIO`]; 1 elsewhere.

    A held-out cell is imputed from a row that lost its other held-out cells too, so its residual is
    larger than a truly missing cell's will be (on letter the 90% intervals covered 93-94%); the Gaussian
    model measures by how much the row's remaining cells pin each down, and the calibrated sd is
    rescaled by it.

    Args:
      auto: a fitted :class:`~invimpute.methods.auto.Auto`.
      X: (n, d) the encoded table it was fitted on.
      layout: its encoded layout.

    Returns:
      (d,) the factors (1 where auto has no Gaussian candidate or a column has too few cells).
    """
    ratio = np.ones(layout.width)
    if GAUSSIAN not in getattr(auto, "methods_", {}) or not hasattr(auto, "holdout_"):
        return ratio
    gauss = auto.methods_[GAUSSIAN]
    observed = np.asarray(auto.fit_data_[1], bool)
    held = np.asarray(auto.holdout_[0], bool)
    cover = np.flatnonzero(gauss.covers_)
    v_held = gauss.conditional_variance(X, observed & ~held)
    v_miss = gauss.conditional_variance(X, observed)
    for i, j in enumerate(cover):
        h, m = held[:, j], ~observed[:, j]
        if j in numeric_columns(layout) and h.sum() >= MIN_COLUMN_CELLS and m.sum() >= MIN_COLUMN_CELLS:
            a, b = v_miss[m, i].mean(), v_held[h, i].mean()
            ratio[j] = np.clip(np.sqrt(a / b), MIN_RATIO, MAX_RATIO) if a > 0 and b > 0 else 1.0
    return ratio


def gaussian_ratio(auto, X: np.ndarray) -> np.ndarray:
    """(d,) per encoded column: auto's held-out root mean square error over the Gaussian model's, within
    [:data:`MIN_RATIO`, :data:`MAX_RATIO`] (1 where either has no held-out cell)."""
    if not hasattr(auto, "holdout_") or GAUSSIAN not in auto.names_:
        return np.ones(np.shape(X)[1])
    held, fills = auto.holdout_
    ratio = np.ones(held.shape[1])
    filled, _ = held_out_fill(auto, X)
    col = np.nonzero(held)[1]
    truth = np.asarray(X, np.float64)[held]
    blend_sq = np.bincount(col, np.square(filled[held] - truth), minlength=held.shape[1])
    gauss_sq = np.bincount(col, np.square(fills[:, auto.names_.index(GAUSSIAN)] - truth), minlength=held.shape[1])
    ok = (blend_sq > 0) & (gauss_sq > 0)
    ratio[ok] = np.sqrt(blend_sq[ok] / gauss_sq[ok])
    return np.clip(ratio, MIN_RATIO, MAX_RATIO)


def auto_draws(
    auto,
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    key: jax.Array,
    n_imputations: int,
    *,
    point_key: jax.Array,
    calibration: Calibration | None,
    sample_categorical: bool = True,
) -> np.ndarray:
    """M completed encoded tables (M, n, d) from a fitted :class:`~invimpute.methods.auto.Auto`.

    Args:
      auto: the fitted method (with its Gaussian candidate fitted, as at the defaults).
      X, observed: (n, d) the encoded table to impute and its observed mask.
      layout: its encoded layout.
      key: the key of the draws; ``point_key`` the key of auto's single imputation they start from.
      n_imputations: M.
      calibration: :func:`auto_calibration`'s; without one, numeric cells the Gaussian model does not
        cover get no spread and class temperatures are 1.
      sample_categorical: draw categorical and boolean cells (else they keep their probabilities).

    Returns:
      (M, n, d) float32; observed entries equal ``X`` in every draw.

    Raises:
      ValueError: when auto was fitted without its Gaussian candidate (no joint model to draw from).
    """
    if GAUSSIAN not in auto.methods_:
        raise ValueError("multiple imputations of method 'auto' draw from its Gaussian candidate; fit it with "
                         f"'{GAUSSIAN}' among its candidates")
    observed = np.asarray(observed, bool)
    X = np.asarray(X, np.float32)
    k_gauss, k_cat, k_num = jax.random.split(key, 3)
    point = auto.impute(X, observed, point_key).astype(np.float64)
    gauss = auto.methods_[GAUSSIAN]
    fit_x, fit_obs = getattr(auto, "fit_data_", (X, observed))  # restored from a checkpoint: the rows given
    draws, means = gauss.posterior_draws(fit_x, fit_obs, X, observed, k_gauss, n_imputations)
    cover = gauss.covers_
    centre = gauss.impute(X, observed, point_key)[:, cover].astype(np.float64)
    ratio = gaussian_ratio(auto, fit_x)
    numeric = np.zeros(layout.width, bool)
    numeric[numeric_columns(layout)] = True
    shift = (draws - centre) * ratio[cover]
    out = np.broadcast_to(point, (n_imputations,) + point.shape).copy()
    num = numeric[cover]
    own = ratio[cover] >= 1.0 / (1.0 + TOLERANCE)
    out[..., np.flatnonzero(cover)[num]] = np.where(own[num], draws[..., num], out[..., cover][..., num] + shift[..., num])
    loose = numeric & ~cover
    if loose.any() and calibration is not None:
        noise = np.asarray(jax.random.normal(k_num, out.shape[:-1] + (int(loose.sum()),)))
        out[..., loose] += noise * np.nan_to_num(calibration.std[loose])
    bounded = layout.kind_array == UNIT
    out[..., bounded] = np.clip(out[..., bounded], 0.0, 1.0)
    classes = ~numeric
    class_shift = shift_of(cover, classes, means - centre, ratio)
    if classes.any() and numeric.any():
        out = _classes_given_numbers(auto, X, observed, out, numeric, class_shift, point_key)
    else:
        out += class_shift
    out[..., classes] = np.clip(out[..., classes], 0.0, 1.0)
    if sample_categorical:
        out = sample_classes(out, layout, 1.0 if calibration is None else calibration.temperature, k_cat)
    linear = (layout.kind_array == BINARY) & cover & (ratio >= 1.0 / (1.0 + TOLERANCE)) & ~observed.all(axis=0)
    if linear.any():  # booleans the linear model fills as well as auto: chained logistic draws instead
        out = logistic_draws(out, observed, np.flatnonzero(linear), np.flatnonzero(cover),
                             jax.random.fold_in(key, 3), sample_categorical)
    return np.where(observed, X, out).astype(np.float32)


def shift_of(cover: np.ndarray, keep: np.ndarray, shift: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """(M, n, d) the Gaussian refits' ``shift`` (M, n, covered entries) of their conditional means, scaled by
    ``ratio``, on the covered entries that ``keep`` marks; 0 elsewhere."""
    full = np.zeros(shift.shape[:-1] + (cover.size,))
    full[..., np.flatnonzero(cover)] = shift * ratio[cover]
    return np.where(keep, full, 0.0)


def _classes_given_numbers(auto, X: np.ndarray, observed: np.ndarray, out: np.ndarray, numeric: np.ndarray,
                           shift: np.ndarray, key: jax.Array) -> np.ndarray:
    """Each draw's categorical and boolean entries refilled by auto given the row's observed and drawn
    numbers (a chained step: a class drawn where a number was drawn too moves with that number, as the
    fill's relation between them says), plus the Gaussian refit's ``shift`` of their probabilities. The M
    draws are stacked into one table, so auto imputes once, not once per draw."""
    m, n, d = out.shape
    stacked = np.where(observed, X, out).reshape(m * n, d).astype(np.float32)  # the M draws as one table
    given = np.broadcast_to(observed | numeric[None, :], (m, n, d)).reshape(m * n, d)
    refill = auto.impute(stacked, given, key).reshape(m, n, d)  # rows are imputed independently
    classes = ~numeric
    out = out.copy()
    out[..., classes] = refill[..., classes] + shift[..., classes]
    return out

__all__ = ["auto_calibration", "auto_draws", "gaussian_ratio", "held_out_fill", "pattern_ratio", "shift_of", "GAUSSIAN", "MIN_RATIO", "MAX_RATIO", "TOLERANCE"]
