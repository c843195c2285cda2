"""The frontier protocol's split, masks and scores (ReMasker ICLR 2024, DiffPuter ICLR 2025, CACTI ICML 2025).

**Split.** A seeded 80/20 permutation of the rows: the model is fitted on the damaged 80% (training rows)
and scored *in-sample* on the masked cells of those rows, and *out-of-sample* on the masked cells of the
held-out 20%, which it imputes after fitting, never having seen them (DiffPuter's and CACTI's protocol).

**Masks** are drawn on the whole table, then split (as CACTI's ``createsplits_ucidata.py`` does), by
HyperImpute's ``simulate_nan`` definitions (``hyperimpute.plugins.utils.simulate``, from Muzellec et al.'s
MissingDataOT code), which ReMasker's and CACTI's code call, with ``p = rate`` and ``p_obs = 0.5``:

- ``mcar``: each cell missing independently with probability ``p``.
- ``mar``: ``max(int(0.5 d), 1)`` columns drawn at random stay fully observed; every other column ``j``
  goes missing with probability ``sigmoid(x_obs . w_j + b_j)``, ``w_j`` uniform in [0, 1) per observed
  column, rescaled so that ``x_obs . w_j`` has unit standard deviation, ``b_j`` solved (bisection) so that
  column's mean probability is ``p``. So about ``p (1 - 0.5)`` of all cells go missing (15% at 30%).
- ``mnar``: the same logistic model from ``max(int(0.5 d), 1)`` input columns to the others, after which the
  input columns themselves are masked MCAR with probability ``p``: a column's missingness depends on
  input values that may be missing (HyperImpute's default ``MNAR`` with ``opt="logistic"``).

The library's own :func:`~invimpute.encoding.missingness.mar_mask` (30% driver columns, normal weights,
overall rate matched) and :func:`~invimpute.encoding.missingness.mnar_mask` (self-masking, high values
removed) are different mechanisms, so they are not used here. The masks are computed on each column
standardised by the whole table; a categorical column enters as the frequency rank of its category.
Every method of a (table, mechanism, seed) cell is scored on the same rows and masks.

**Scores**, over the masked cells of a split (numeric columns scaled by the *training split's* complete
values, which no method sees):

- ``rmse_z``, ``mae_z``: RMSE and MAE over all masked numeric cells after z-scoring each column by the
  training split's mean and standard deviation (DiffPuter).
- ``rmse_minmax``: RMSE after min-max scaling each column by the training split's range (ReMasker).
- ``r2``: CACTI's per-column R² (its ``tools/uci_scoreeval.py``): for each numeric column ``j`` with at least
  two masked cells, ``R²_j = corr(x̂_j, x_j)²``, the squared Pearson correlation of imputed and true values
  over the column's masked cells, averaged over those columns. Where the correlation is undefined (a
  constant fill, as mean imputation gives) ``R²_j`` counts as 0, which is how the paper reports mean
  imputation; CACTI's script instead skips such columns (``nanmean``) and averages over all columns,
  label-encoded categorical ones included, where this averages over numeric columns only.
- ``r2_cod``: the coefficient of determination, ``1 - Σ(x̂ - x)² / Σ(x - x̄_train)²`` per numeric column
  over its masked cells (``x̄_train`` the training split's mean), averaged over numeric columns.
- ``accuracy``: the fraction of masked categorical cells imputed with their true category.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

MECHANISMS: tuple[str, ...] = ("mcar", "mar", "mnar")
RATE = 0.3
TEST_FRACTION = 0.2
P_OBS = 0.5
"""HyperImpute's ``p_obs``: the fraction of columns that drive the MAR and MNAR logistic models."""

NUMERIC_SCORES: tuple[str, ...] = ("rmse_z", "mae_z", "rmse_minmax", "r2", "r2_cod")
CATEGORICAL_SCORES: tuple[str, ...] = ("accuracy",)
HIGHER_IS_BETTER: frozenset[str] = frozenset({"r2", "r2_cod", "accuracy"})
SPLITS: tuple[str, ...] = ("in", "out")


def cell_rng(table: str, mechanism: str, seed: int, what: str) -> np.random.Generator:
    """A NumPy generator for one (table, mechanism, seed) and purpose, stable across machines and runs."""
    return np.random.default_rng([int(seed), zlib.crc32(f"{table}/{mechanism}/{what}".encode())])


def split_rows(n: int, table: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted training and held-out row indices of a seeded 80/20 split (the same for every mechanism)."""
    order = cell_rng(table, "split", seed, "rows").permutation(n)
    n_test = max(1, int(round(TEST_FRACTION * n)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def mask_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The numeric matrix the masks are drawn on: numeric columns, and categorical ones as frequency ranks,
    each standardised over the table."""
    out = np.empty(frame.shape, dtype=np.float64)
    for j, col in enumerate(frame.columns):
        s = frame[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            ranks = {v: i for i, v in enumerate(s.astype(str).value_counts(sort=True).index)}
            out[:, j] = s.astype(str).map(ranks).to_numpy(dtype=np.float64)
        else:
            out[:, j] = s.to_numpy(dtype=np.float64)
    sd = out.std(axis=0)
    return (out - out.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _logistic_probs(rng: np.random.Generator, inputs: np.ndarray, n_targets: int, rate: float) -> np.ndarray:
    """Missing probabilities of ``n_targets`` columns from a logistic model of ``inputs`` with uniform random
    weights (the linear predictor rescaled to unit sd) and per-column intercepts giving mean ``rate``."""
    coeffs = rng.random((inputs.shape[1], n_targets))
    linear = inputs @ coeffs
    sd = linear.std(axis=0)
    linear = linear / np.where(sd > 0, sd, 1.0)
    probs = np.empty_like(linear)
    for j in range(n_targets):
        b = optimize.bisect(lambda c, col=linear[:, j]: expit(col + c).mean() - rate, -50.0, 50.0)
        probs[:, j] = expit(linear[:, j] + b)
    return probs


def draw_missing(frame: pd.DataFrame, table: str, mechanism: str, seed: int, rate: float = RATE) -> np.ndarray:
    """The ``missing`` mask (True where removed) of one (table, mechanism, seed) cell, over the whole table."""
    rng = cell_rng(table, mechanism, seed, "mask")
    n, d = frame.shape
    if mechanism == "mcar":
        return rng.random((n, d)) < rate
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown mechanism {mechanism!r}; valid mechanisms: {', '.join(MECHANISMS)}")
    x = mask_matrix(frame)
    n_inputs = max(int(P_OBS * d), 1)
    if n_inputs >= d:
        raise ValueError(f"{mechanism} masks need at least 2 columns; {table!r} has {d}")
    inputs = rng.choice(d, n_inputs, replace=False)
    targets = np.setdiff1d(np.arange(d), inputs)
    probs = _logistic_probs(rng, x[:, inputs], targets.size, rate)
    missing = np.zeros((n, d), dtype=bool)
    missing[:, targets] = rng.random((n, targets.size)) < probs
    if mechanism == "mnar":
        missing[:, inputs] = rng.random((n, n_inputs)) < rate
    return missing


@dataclasses.dataclass(frozen=True)
class Scaling:
    """Per numeric column: the training split's mean, standard deviation, minimum and maximum."""

    columns: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, train_truth: pd.DataFrame, numeric: list[str]) -> "Scaling":
        """The scaling of ``numeric`` columns by the complete training rows."""
        v = train_truth[numeric].to_numpy(dtype=np.float64)
        sd = v.std(axis=0)
        return cls(tuple(numeric), v.mean(axis=0), np.where(sd > 0, sd, 1.0), v.min(axis=0), v.max(axis=0))


def score_split(truth: pd.DataFrame, filled: pd.DataFrame, missing: np.ndarray, scaling: Scaling,
                categorical: list[str]) -> dict[str, float]:
    """Every score of one split's imputation over its masked cells (see the module's docstring)."""
    out: dict[str, float] = {}
    numeric = list(scaling.columns)
    if numeric:
        idx = [truth.columns.get_loc(c) for c in numeric]
        m = missing[:, idx]
        t = truth[numeric].to_numpy(dtype=np.float64)
        p = filled[numeric].to_numpy(dtype=np.float64)
        if m.any():
            z = ((p - t) / scaling.sd)[m]
            span = np.where(scaling.high > scaling.low, scaling.high - scaling.low, 1.0)
            out["rmse_z"] = float(np.sqrt(np.mean(z ** 2)))
            out["mae_z"] = float(np.mean(np.abs(z)))
            out["rmse_minmax"] = float(np.sqrt(np.mean((((p - t) / span)[m]) ** 2)))
            out["r2"], out["r2_cod"] = _r2(t, p, m, scaling.mean)
    if categorical:
        idx = [truth.columns.get_loc(c) for c in categorical]
        m = missing[:, idx]
        if m.any():
            same = truth[categorical].astype(str).to_numpy() == filled[categorical].astype(str).to_numpy()
            out["accuracy"] = float(same[m].mean())
    return out


def _r2(t: np.ndarray, p: np.ndarray, m: np.ndarray, train_mean: np.ndarray) -> tuple[float, float]:
    """CACTI's mean per-column squared correlation, and the mean per-column coefficient of determination."""
    corr2, cod = [], []
    for j in range(t.shape[1]):
        tj, pj = t[m[:, j], j], p[m[:, j], j]
        if tj.size < 2:
            continue
        defined = tj.std() > 0 and pj.std() > 0
        corr2.append(float(np.corrcoef(pj, tj)[0, 1] ** 2) if defined else 0.0)
        total = float(np.sum((tj - train_mean[j]) ** 2))
        cod.append(1.0 - float(np.sum((pj - tj) ** 2)) / total if total > 0 else 0.0)
    if not corr2:
        return float("nan"), float("nan")
    return float(np.mean(corr2)), float(np.mean(cod))


__all__ = [
    "MECHANISMS", "RATE", "TEST_FRACTION", "P_OBS", "NUMERIC_SCORES", "CATEGORICAL_SCORES", "HIGHER_IS_BETTER",
    "SPLITS", "cell_rng", "split_rows", "mask_matrix", "draw_missing", "Scaling", "score_split",
]
