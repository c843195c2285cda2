"""How an imputation is scored over the removed cells: point metrics, and the calibration of beliefs.

Numeric tables: RMSE and MAE after min-max scaling by the true complete table's per-column range (the
GAIN paper's normalisation). Categorical tables: accuracy. ``--uncertainty`` adds, for calibrated beliefs,
``ece`` (15 bins), ``brier`` (multi-class) and ``selective_acc_<c>`` (accuracy of the c% most confident
imputed cells) on categorical tables, and ``coverage90`` (the 90% intervals' coverage) on numeric ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from invimpute.scoring import metrics
from invimpute.uncertainty.belief import Belief, masked_probabilities
from invimpute.uncertainty.measures import brier_score, coverage, expected_calibration_error, selective_accuracy_curve

NUMERIC_METRICS: tuple[str, ...] = ("rmse", "mae")
CATEGORICAL_METRICS: tuple[str, ...] = ("accuracy",)
HIGHER_IS_BETTER: frozenset[str] = frozenset({"accuracy"})
SELECTIVE_COVERAGES: tuple[int, ...] = (25, 50, 75, 90)
"""Percentages of the most confident imputed cells whose accuracy ``--uncertainty`` records (the
accuracy-vs-coverage curve; 100% is the plain accuracy)."""
UNCERTAINTY_CATEGORICAL_METRICS: tuple[str, ...] = ("ece", "brier") + tuple(
    f"selective_acc_{c}" for c in SELECTIVE_COVERAGES)
UNCERTAINTY_NUMERIC_METRICS: tuple[str, ...] = ("coverage90",)
UNCERTAINTY_METRICS: tuple[str, ...] = UNCERTAINTY_CATEGORICAL_METRICS + UNCERTAINTY_NUMERIC_METRICS
"""``--uncertainty``'s metrics of calibrated beliefs."""
UNCERTAINTY_LEVEL = 0.9
"""Nominal coverage of the numeric intervals scored by ``coverage90``."""


def point_metrics(categorical: bool) -> tuple[str, ...]:
    """The metrics of a point imputation of a categorical or a numeric table."""
    return CATEGORICAL_METRICS if categorical else NUMERIC_METRICS


def belief_metrics(categorical: bool) -> tuple[str, ...]:
    """The calibration metrics of a categorical or a numeric table's beliefs."""
    return UNCERTAINTY_CATEGORICAL_METRICS if categorical else UNCERTAINTY_NUMERIC_METRICS


def score(truth: pd.DataFrame, filled: pd.DataFrame, missing: np.ndarray, categorical: bool) -> dict[str, float]:
    """The point metrics of one imputation over the removed cells."""
    if categorical:
        return {"accuracy": metrics.categorical_accuracy(truth, filled, missing)}
    t = truth.to_numpy(dtype=np.float64)
    p = np.asarray(filled, dtype=np.float64)
    lo, hi = t.min(axis=0), t.max(axis=0)
    return {
        "rmse": metrics.rmse(t, p, missing, lo=lo, hi=hi),
        "mae": metrics.mae(t, p, missing, lo=lo, hi=hi),
    }


def score_uncertainty(
    truth: pd.DataFrame, filled: pd.DataFrame | None, belief: Belief, missing: np.ndarray, categorical: bool
) -> dict[str, float]:
    """The calibration metrics of one calibrated imputation's ``belief`` over the removed cells.

    Categorical tables: ``ece``, ``brier`` and ``selective_acc_<c>`` (for each of
    :data:`SELECTIVE_COVERAGES`) of the per-cell confidence against whether ``filled`` (the same
    imputer's ``transform``) got the cell right. Numeric tables: ``coverage90``, the fraction of removed
    cells whose true value lies in ``[lower, upper]``.
    """
    missing = np.asarray(missing, dtype=bool)
    if not categorical:
        t = truth.to_numpy(dtype=np.float64)
        return {"coverage90": coverage(t, belief.lower.to_numpy(dtype=np.float64),
                                       belief.upper.to_numpy(dtype=np.float64), mask=missing)}
    correct = (np.asarray(truth, dtype=object) == np.asarray(filled, dtype=object))[missing]
    confidence = belief.confidence.to_numpy(dtype=np.float64)[missing]
    probs, onehot = masked_probabilities(truth, belief, missing)
    _, selective = selective_accuracy_curve(confidence, correct, [c / 100 for c in SELECTIVE_COVERAGES])
    return {
        "ece": expected_calibration_error(confidence, correct),
        "brier": brier_score(probs, onehot),
        **{f"selective_acc_{c}": float(a) for c, a in zip(SELECTIVE_COVERAGES, selective)},
    }


__all__ = [
    "NUMERIC_METRICS", "CATEGORICAL_METRICS", "HIGHER_IS_BETTER", "SELECTIVE_COVERAGES",
    "UNCERTAINTY_CATEGORICAL_METRICS", "UNCERTAINTY_NUMERIC_METRICS", "UNCERTAINTY_METRICS", "UNCERTAINTY_LEVEL",
    "point_metrics", "belief_metrics", "score", "score_uncertainty",
]
