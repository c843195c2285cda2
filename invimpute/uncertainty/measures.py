"""Measuring and calibrating the uncertainty of imputed cells: pure functions of arrays.

Calibration is measured, not assumed. For categorical cells a *confidence* (the probability given to the
chosen category) is calibrated when, among cells imputed with confidence ``c``, a fraction ``c`` is right:
:func:`expected_calibration_error`, :func:`brier_score` and :func:`selective_accuracy_curve` measure it,
and :func:`fit_temperature` repairs it by temperature scaling (one scalar ``T``, ``softmax(logits / T)``,
fitted by likelihood on held-out cells whose truth is known). For numeric cells an interval is calibrated
when it covers the truth as often as its nominal level says: :func:`coverage` measures it and
:func:`fit_interval_scale` repairs it, split-conformal style, by the factor the standard deviations must be
scaled by to reach the nominal coverage on held-out cells.

:func:`rubin_pool` pools an estimate computed on each of M multiply-imputed tables with Rubin's rules, and
:func:`gumbel_max_groups` draws one category per one-hot group (the sampling step of multiple imputation).

Everything here takes and returns NumPy arrays; :func:`gumbel_max_groups` is a pure JAX function of a
key, and :func:`apply_temperature` computes with the package's one grouped softmax
(:func:`invimpute.models.heads.group_softmax`) in double precision.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np

from invimpute.models.heads import group_softmax
from invimpute.runtime.rows import map_rows

_TINY = 1e-12
_SOFTMAX_ROWS = 4096
_LOG_T_RANGE = (math.log(0.05), math.log(20.0))


def normal_quantile(level: float) -> float:
    """``z`` such that ``mean ± z * sd`` is the central ``level`` interval of a normal distribution."""
    _check_level(level)
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _flat_pair(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(confidence, dtype=np.float64).ravel()
    y = np.asarray(correct, dtype=np.float64).ravel()
    if c.shape != y.shape:
        raise ValueError(f"confidence has {c.size} entries, correct has {y.size}; they must match")
    keep = np.isfinite(c) & np.isfinite(y)
    c, y = c[keep], y[keep]
    if c.size == 0:
        raise ValueError("no finite (confidence, correct) pair to score")
    if c.min() < 0.0 or c.max() > 1.0:
        raise ValueError(f"confidence must lie in [0, 1], got values in [{c.min()}, {c.max()}]")
    return c, y


def expected_calibration_error(confidence, correct, n_bins: int = 15) -> float:
    """Expected calibration error: ``sum_b (n_b / N) |accuracy_b - mean confidence_b|``.

    ``confidence`` and ``correct`` (0/1 or bool) are paired per cell, any shape; non-finite pairs are
    ignored (so NaN on observed cells can be passed as is). Bins are ``n_bins`` equal-width intervals of
    [0, 1]. 0 for perfectly calibrated confidences; large when confidence outruns accuracy.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    c, y = _flat_pair(confidence, correct)
    b = np.minimum((c * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    gap = np.abs(np.bincount(b, weights=y, minlength=n_bins) - np.bincount(b, weights=c, minlength=n_bins))
    return float(gap.sum() / c.size) if count.sum() else 0.0


def _one_hot(truth, k: int) -> np.ndarray:
    t = np.asarray(truth)
    if t.ndim == 1:
        if t.size and (t.min() < 0 or t.max() >= k):
            raise ValueError(f"integer labels must lie in [0, {k}), got values in [{t.min()}, {t.max()}]")
        return np.eye(k)[t.astype(np.int64)]
    return t.astype(np.float64)


def brier_score(probabilities, truth) -> float:
    """Multi-class Brier score: the mean over cells of ``sum_k (p_k - y_k)^2`` (0 is perfect, 2 the worst).

    ``probabilities`` is an (n, k) array of one categorical variable's predicted distributions and
    ``truth`` its (n,) integer labels or (n, k) one-hot rows; or both are sequences of such pairs (one per
    column, category counts may differ), scored together as one set of cells.
    """
    if isinstance(probabilities, (list, tuple)):
        if not isinstance(truth, (list, tuple)) or len(truth) != len(probabilities):
            raise ValueError("give truth as a sequence of the same length as probabilities")
        per = [_brier_cells(p, t) for p, t in zip(probabilities, truth)]
        cells = np.concatenate(per) if per else np.zeros(0)
    else:
        cells = _brier_cells(probabilities, truth)
    if cells.size == 0:
        raise ValueError("no cell to score")
    return float(cells.mean())


def _brier_cells(probabilities, truth) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be (n, k), got shape {p.shape}")
    y = _one_hot(truth, p.shape[1])
    if y.shape != p.shape:
        raise ValueError(f"truth has shape {y.shape}, probabilities have shape {p.shape}")
    return np.square(p - y).sum(axis=1)


def coverage(truth, lower, upper, mask=None) -> float:
    """Fraction of cells with ``lower <= truth <= upper``, over ``mask`` (default: every finite triple)."""
    t, lo, hi = (np.asarray(a, dtype=np.float64) for a in (truth, lower, upper))
    if not t.shape == lo.shape == hi.shape:
        raise ValueError(f"truth, lower and upper must share one shape, got {t.shape}, {lo.shape}, {hi.shape}")
    keep = np.isfinite(t) & np.isfinite(lo) & np.isfinite(hi)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != t.shape:
            raise ValueError(f"mask has shape {m.shape}, the data has shape {t.shape}")
        keep &= m
    if not keep.any():
        raise ValueError("no cell to score: every (truth, lower, upper) triple is masked out or non-finite")
    return float(np.mean((lo[keep] <= t[keep]) & (t[keep] <= hi[keep])))


def selective_accuracy_curve(
    confidence, correct, coverages: Sequence[float] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy of the most confident cells, as a function of the fraction of cells kept.

    For each coverage ``q`` (default 0.1, 0.2, ..., 1.0) the ``ceil(q * N)`` cells with the highest
    confidence are kept (ties broken by position) and their accuracy reported. Returns
    ``(coverages, accuracies)``. A useful confidence gives a curve that falls as coverage grows.
    """
    c, y = _flat_pair(confidence, correct)
    q = np.round(np.arange(1, 11) / 10.0, 10) if coverages is None else np.asarray(coverages, dtype=np.float64)
    if q.size == 0 or q.min() <= 0.0 or q.max() > 1.0:
        raise ValueError("coverages must lie in (0, 1]")
    order = np.argsort(-c, kind="stable")
    hits = np.cumsum(y[order])
    keep = np.maximum(np.ceil(q * c.size - 1e-9).astype(np.int64), 1)
    return q, hits[keep - 1] / keep


def _group_blocks(scores: np.ndarray, truth: np.ndarray, groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group: the (rows, k) scores and one-hot truth of the rows whose truth marks exactly one class."""
    blocks = []
    for g in np.unique(groups):
        cols = np.flatnonzero(groups == g)
        y = truth[:, cols]
        rows = np.isclose(y.sum(axis=1), 1.0) & np.all(np.isfinite(scores[:, cols]), axis=1)
        if rows.any():
            blocks.append((scores[rows][:, cols], y[rows]))
    return blocks


def _nll(blocks: list[tuple[np.ndarray, np.ndarray]], temperature: float) -> float:
    total = 0.0
    for s, y in blocks:
        z = s / temperature
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        total += float((lse - (z * y).sum(axis=1)).sum())
    return total


def fit_temperature(
    scores, labels, groups=None, *, probabilities: bool = False
) -> float:
    """The temperature ``T`` minimising the negative log-likelihood of ``softmax(scores / T)``.

    ``scores`` are logits (or, with ``probabilities=True``, probabilities, whose logs are used) of held-out
    cells whose true category is known. Either one categorical variable: ``scores`` (n, k) and ``labels``
    (n,) integer classes or (n, k) one-hot; or several at once: ``scores`` (n, d) over the one-hot columns
    of many variables, ``labels`` (n, d) one-hot truth, and ``groups`` (d,) naming each column's variable
    (only cells whose truth marks exactly one class are counted, so zero rows in ``labels`` drop cells).
    One ``T`` is shared by every variable. ``T > 1`` softens over-confident predictions. Searched on a log
    grid over [0.05, 20] then refined; returns 1.0 when no cell is counted.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D, got shape {s.shape}")
    if probabilities:
        s = np.log(np.clip(s, _TINY, 1.0))
    if groups is None:
        y = _one_hot(labels, s.shape[1])
        g = np.zeros(s.shape[1], dtype=np.int64)
    else:
        y = np.asarray(labels, dtype=np.float64)
        g = np.asarray(groups)
        if g.shape != (s.shape[1],):
            raise ValueError(f"groups must have one entry per column ({s.shape[1]}), got shape {g.shape}")
    if y.shape != s.shape:
        raise ValueError(f"labels have shape {y.shape}, scores have shape {s.shape}")
    blocks = _group_blocks(s, y, g)
    if not blocks:
        return 1.0
    lo, hi = _LOG_T_RANGE
    grid = np.linspace(lo, hi, 61)
    best = grid[int(np.argmin([_nll(blocks, math.exp(t)) for t in grid]))]
    step = grid[1] - grid[0]
    fine = np.linspace(max(lo, best - step), min(hi, best + step), 41)
    return float(math.exp(fine[int(np.argmin([_nll(blocks, math.exp(t)) for t in fine]))]))


def apply_temperature(scores, temperature: float, groups=None, *, probabilities: bool = False) -> np.ndarray:
    """``softmax(scores / T)`` within each group of columns (one group when ``groups`` is None), in float64.

    ``scores`` (..., d) are logits, or with ``probabilities=True`` probabilities (whose logs are used);
    ``groups`` (d,) names each column's group. Computed by :func:`invimpute.models.heads.group_softmax` in
    double precision, over padded row chunks so that tables of any length reuse one compiled program.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    s = np.asarray(scores, dtype=np.float64)
    if probabilities:
        s = np.log(np.clip(s, _TINY, 1.0))
    if s.size == 0:
        return s.copy()
    g = np.zeros(s.shape[-1], dtype=np.int64) if groups is None else np.asarray(groups)
    if g.shape != (s.shape[-1],):
        raise ValueError(f"groups must have one entry per column ({s.shape[-1]}), got shape {g.shape}")
    codes = np.unique(g, return_inverse=True)[1].reshape(-1)
    with jax.enable_x64(True):
        program = functools.partial(_softmax_chunk, int(codes.max()) + 1, jnp.asarray(codes),
                                    jnp.asarray(temperature, jnp.float64))
        out = np.asarray(map_rows(program, (s.reshape(-1, s.shape[-1]),), _SOFTMAX_ROWS))
    return out.reshape(s.shape)


@functools.partial(jax.jit, static_argnums=0)
def _softmax_chunk(n_groups: int, group: jax.Array, temperature: jax.Array, s: jax.Array) -> jax.Array:
    return group_softmax(s, group, n_groups, temperature)


def fit_interval_scale(residuals, std, level: float = 0.9) -> float:
    """The factor ``a`` such that ``mean ± z_level * a * std`` covers ``level`` of the held-out residuals.

    ``residuals`` (truth - mean) and ``std`` (the predicted standard deviations, an array of the same
    shape or one scalar) come from held-out cells; non-finite pairs are ignored. Split-conformal: with
    scores ``|r| / std``, ``a`` is their ``ceil((N + 1) level) / N`` empirical quantile divided by
    ``z_level``, so the intervals reach the nominal coverage on exchangeable new cells. ``a = 1`` when the
    standard deviations were already right for a normal distribution; returns 1.0 when no cell is given.
    """
    z = normal_quantile(level)
    r = np.asarray(residuals, dtype=np.float64)
    sd = np.broadcast_to(np.asarray(std, dtype=np.float64), r.shape)
    keep = np.isfinite(r) & np.isfinite(sd) & (sd > 0)
    if not keep.any():
        return 1.0
    scores = np.sort(np.abs(r[keep]) / sd[keep])
    n = scores.size
    rank = min(n, math.ceil((n + 1) * level))
    return float(max(scores[rank - 1], _TINY) / z)


@dataclass(frozen=True)
class PooledEstimate:
    """Rubin's rules applied to M estimates (:func:`rubin_pool`): the pooled estimate and its variance
    decomposition; ``std_error`` is ``sqrt(total_variance)``.

    Attributes:
      estimate: the mean of the M estimates.
      within: the mean of their variances.
      between: the variance of the estimates across imputations (ddof 1).
      total_variance: ``within + (1 + 1/M) between``.
      df: the degrees of freedom of the t reference distribution (``inf`` where the imputations agree).
      fraction_missing_info: the fraction of missing information ``(1 + 1/M) between / total_variance``.
      m: the number of imputations.
    """

    estimate: np.ndarray
    within: np.ndarray
    between: np.ndarray
    total_variance: np.ndarray
    df: np.ndarray
    fraction_missing_info: np.ndarray
    m: int

    @property
    def std_error(self) -> np.ndarray:
        return np.sqrt(self.total_variance)


def rubin_pool(estimates, variances, complete_df: float | None = None) -> PooledEstimate:
    """Pool M per-imputation estimates and their (squared standard error) variances with Rubin's rules.

    ``estimates`` and ``variances`` are sequences of M arrays (or scalars) of one shape, or arrays with the
    imputation axis first. ``df`` is Rubin's (1987) ``(M - 1) (1 + W / ((1 + 1/M) B))^2``; with
    ``complete_df`` it is the Barnard-Rubin (1999) small-sample correction instead.

    Args:
      estimates: M estimates of one shape (scalars or arrays), or an array with the imputation axis first.
      variances: their variances (squared standard errors), in the same form.
      complete_df: the degrees of freedom the analysis would have on complete data; None for Rubin's df.

    Returns:
      A :class:`PooledEstimate`.

    Raises:
      ValueError: when M < 2, the shapes differ, a variance is negative or ``complete_df`` <= 0.
    """
    q = _stack("estimates", estimates)
    u = _stack("variances", variances)
    m = q.shape[0]
    if m < 2:
        raise ValueError(f"Rubin's rules need at least 2 imputations, got {m}")
    if u.shape != q.shape:
        raise ValueError(f"variances have shape {u.shape[1:]} per imputation, estimates {q.shape[1:]}; they must match")
    if np.any(u < 0):
        raise ValueError("variances must be >= 0")
    qbar = q.mean(axis=0)
    w = u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = w + (1.0 + 1.0 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(t > 0, (1.0 + 1.0 / m) * b / t, 0.0)
        df = np.where(b > 0, (m - 1) / np.square(np.maximum(lam, _TINY)), np.inf)
        if complete_df is not None:
            if complete_df <= 0:
                raise ValueError(f"complete_df must be > 0, got {complete_df}")
            df_obs = (complete_df + 1.0) / (complete_df + 3.0) * complete_df * (1.0 - lam)
            df = np.where(b > 0, 1.0 / (1.0 / df + 1.0 / df_obs), df_obs)
    return PooledEstimate(estimate=qbar, within=w, between=b, total_variance=t, df=df,
                          fraction_missing_info=lam, m=m)


def _stack(name: str, values) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    if not arrays:
        raise ValueError(f"{name}: no imputation given")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"{name} have different shapes across imputations: {sorted(shapes)}; pool one quantity at a time")
    return np.stack(arrays)


def gumbel_max_groups(key: jax.Array, log_probs: jax.Array, group: jax.Array, n_groups: int) -> jax.Array:
    """One category drawn per one-hot group by the Gumbel-max trick, as one-hot rows (..., d).

    ``log_probs`` (..., d) are log-probabilities (or logits) of the one-hot columns, ``group`` (d,) each
    column's group index in ``0..n_groups-1``. ``argmax(log_probs + Gumbel noise)`` within a group is a
    draw from ``softmax(log_probs)`` over it.
    """
    gumbel = jax.random.gumbel(key, log_probs.shape, dtype=jnp.float32)
    y = log_probs + gumbel

    def one(row: jax.Array) -> jax.Array:
        top = jax.ops.segment_max(row, group, num_segments=n_groups)
        return (row >= top[group]).astype(jnp.float32)

    flat = y.reshape(-1, y.shape[-1])
    return jax.vmap(one)(flat).reshape(y.shape)


__all__ = [
    "expected_calibration_error", "brier_score", "coverage", "selective_accuracy_curve",
    "fit_temperature", "apply_temperature", "fit_interval_scale", "normal_quantile",
    "PooledEstimate", "rubin_pool", "gumbel_max_groups",
]
