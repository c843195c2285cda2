"""Per-cell belief for the autoencoding methods (``ae``, ``recurrent``, ``reverse``), as DataFrames.

:func:`belief_frames` turns one imputation's encoded fill into a :class:`Belief`: for categorical and
boolean cells the probability of every category and of the chosen one, for numeric cells a mean,
standard deviation and central interval in the data's own units. The calibration it applies comes from
:mod:`invimpute.uncertainty.calibration` and multiple imputation lives in :mod:`invimpute.uncertainty.draws`; both are
re-exported here, where :class:`~invimpute.Imputer` and the benchmarks import them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from invimpute.uncertainty.calibration import MIN_COLUMN_CELLS, MIN_HALF_WIDTH, Calibration, calibrate, fit_calibrated
from invimpute.uncertainty.classes import class_probabilities, class_view
from invimpute.uncertainty.draws import START_NOISE, draw_imputations, dropout_passes
from invimpute.encoding.schema import Schema
from invimpute.uncertainty.measures import normal_quantile


@dataclass(frozen=True)
class Belief:
    """A degree of belief for every imputed cell, as DataFrames aligned with the input table.

    Every frame has the input's index and columns (flattened pixels for images) and holds NaN on observed
    cells: belief is about imputed cells only.

    Attributes:
      confidence: for categorical and boolean columns, the probability of the category the imputation
        chose (its arg-max); NaN in numeric columns.
      probabilities: for each categorical / boolean column, an (n, categories) frame of the probability of
        each category (columns ``False, True`` for booleans); rows sum to 1 on imputed cells.
      mean, std, lower, upper: for numeric columns, the imputed value, its standard deviation and the
        central ``level`` interval ``mean ± z * std``, in the original units; NaN in other columns.
      level: the interval's nominal coverage.
      calibrated: whether a fitted calibration was applied (temperature and interval scale).
    """

    confidence: pd.DataFrame
    probabilities: dict
    mean: pd.DataFrame
    std: pd.DataFrame
    lower: pd.DataFrame
    upper: pd.DataFrame
    level: float
    calibrated: bool


def _column_probabilities(filled: np.ndarray, schema: Schema, temperature: float) -> dict[int, np.ndarray]:
    """For each categorical / boolean column ``j`` of ``schema``, its (n, categories) tempered probabilities."""
    view, groups, source = class_view(filled, schema.layout)
    if not view.shape[-1]:
        return {}
    probs = class_probabilities(view, groups, temperature)
    column = np.asarray(schema.layout.group)[source]  # the table column each class column belongs to
    return {int(j): probs[:, column == j] for j in np.unique(column)}


def belief_frames(
    filled: np.ndarray,
    missing: np.ndarray,
    schema: Schema,
    index: pd.Index,
    columns: pd.Index,
    calibration: Calibration | None,
    level: float = 0.9,
) -> Belief:
    """A :class:`Belief` from one imputation's encoded fill ``filled`` (n, d).

    ``missing`` (n, n_columns) marks the imputed cells of the table (True where missing); ``schema`` is
    the fitted encoder's; ``index`` and ``columns`` are the input's. Categorical groups are normalised
    and temperature-scaled; numeric intervals are ``mean ± z_level * std`` with the calibrated std, exact
    at the calibration's level and extrapolated with normal quantiles at others. Without a calibration,
    categorical probabilities are the model's own and numeric std / intervals are NaN (with a warning).
    """
    z = normal_quantile(level)
    filled = np.asarray(filled, dtype=np.float64)
    missing = np.asarray(missing, dtype=bool)
    n = filled.shape[0]
    temperature = 1.0 if calibration is None else calibration.temperature
    class_probs = _column_probabilities(filled, schema, temperature)
    nan = np.full((n, len(columns)), np.nan)
    confidence, mean, std, lower, upper = nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy()
    probabilities: dict = {}
    warn = False
    for j, (spec, col) in enumerate(zip(schema.columns, columns)):
        m = missing[:, j]
        if spec.kind in ("categorical", "boolean"):
            cats = list(spec.slots) if spec.kind == "categorical" else [False, True]
            p = class_probs[j]
            confidence[:, j] = np.where(m, p.max(axis=1), np.nan)
            p[~m] = np.nan
            probabilities[col] = pd.DataFrame(p, index=index, columns=pd.Index(cats, dtype=object))
        else:
            mu = filled[:, spec.start] * spec.scale + spec.offset
            mean[:, j] = np.where(m, mu, np.nan)
            if calibration is None or not np.isfinite(calibration.std[spec.start]):
                warn = warn or bool(m.any())
                continue
            s = calibration.std[spec.start] * spec.scale
            std[:, j] = np.where(m, s, np.nan)
            lower[:, j] = np.where(m, mu - z * s, np.nan)
            upper[:, j] = np.where(m, mu + z * s, np.nan)
    if warn:
        warnings.warn(
            "numeric std and intervals are NaN: this Imputer has no calibration of numeric columns (fitted with "
            "calibrate=False, loaded from a checkpoint, or too few held cells); refit with calibrate=True",
            stacklevel=3,
        )

    def frame(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=index, columns=columns)

    return Belief(confidence=frame(confidence), probabilities=probabilities, mean=frame(mean), std=frame(std),
                  lower=frame(lower), upper=frame(upper), level=float(level), calibrated=calibration is not None)


def widened(belief: Belief, columns: pd.Index, constants: Mapping, missing: np.ndarray) -> Belief:
    """``belief`` (over the modelled columns) over every column of the table, in its order.

    Args:
      belief: the belief of the modelled columns.
      columns: the table's columns; those ``belief`` lacks (passed through, constant) are added.
      constants: column -> its one value, for the constant columns: their missing cells get that value
        with certainty (confidence 1, or an interval of width 0).
      missing: (n, len(columns)) the cells that are filled.

    Returns:
      A :class:`Belief` whose frames have ``columns``; passed-through columns hold NaN (they get no fill).
    """
    frames = {name: getattr(belief, name).reindex(columns=columns)
              for name in ("confidence", "mean", "std", "lower", "upper")}
    probabilities = dict(belief.probabilities)
    for j, col in enumerate(columns):
        if col not in constants or not missing[:, j].any():
            continue
        m, value = missing[:, j], constants[col]
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
            for name, v in (("mean", value), ("lower", value), ("upper", value), ("std", 0.0)):
                frames[name].iloc[m, j] = float(v)
        else:
            frames["confidence"].iloc[m, j] = 1.0
            probabilities[col] = pd.DataFrame(np.where(m, 1.0, np.nan)[:, None], index=frames["confidence"].index,
                                              columns=pd.Index([value], dtype=object))
    return replace(belief, probabilities=probabilities, **frames)


def masked_probabilities(truth: pd.DataFrame, belief: Belief, missing: np.ndarray) -> tuple[list, list]:
    """Per categorical column, the belief's probabilities on the ``missing`` cells and the one-hot truth.

    The pair of lists is what :func:`invimpute.uncertainty.measures.brier_score` scores; a true label the belief
    has no column for gets an all-zero row.
    """
    probs, onehot = [], []
    for j, col in enumerate(truth.columns):
        m = missing[:, j]
        if not m.any() or col not in belief.probabilities:
            continue
        p = belief.probabilities[col][m]
        index = {c: i for i, c in enumerate(p.columns)}
        y = np.zeros(p.shape)
        for r, v in enumerate(truth[col].to_numpy()[m]):
            if v in index:
                y[r, index[v]] = 1.0
        probs.append(p.to_numpy(dtype=np.float64))
        onehot.append(y)
    return probs, onehot


__all__ = [
    "Belief", "belief_frames", "widened", "masked_probabilities",
    "Calibration", "calibrate", "fit_calibrated", "MIN_COLUMN_CELLS", "MIN_HALF_WIDTH",
    "draw_imputations", "dropout_passes", "START_NOISE",
]
