"""Per-cell belief and multiple imputation for the autoencoding methods (``ae``, ``recurrent``, ``reverse``).

Three pieces, each a function of encoded arrays that :class:`~invimpute.Imputer` wires to tables:

- :func:`fit_calibrated` fits a method with a random ``fraction`` of the observed cells held out of
  training (whole categorical groups at a time, the same cells for every ensemble member), imputes those
  cells as if they were missing, and fits on them (:func:`calibrate`) a temperature for the categorical
  and boolean probabilities and, per numeric column, a standard deviation and a split-conformal interval
  scale (:mod:`invimpute.uncertainty`).
- :func:`draw_imputations` makes M completed encoded tables. Spread comes from switchable sources:
  restarts of reverse training from perturbed starts with distinct input-dropout keys (one compiled
  program over the M axis, :func:`~invimpute.inversion.invert_draws`), Monte-Carlo dropout in the model,
  sampling each categorical / boolean cell from its temperature-scaled distribution (Gumbel-max), and
  sampling numeric cells from ``N(mean, calibrated sd)``.
- :func:`belief_frames` turns one imputation's encoded fill into a :class:`Belief`: for categorical and
  boolean cells the probability of every category and of the chosen one, for numeric cells a mean,
  standard deviation and central interval in the data's own units.

Numeric standard deviations are the held-out residual spread per column (root mean square of
``truth - imputation`` on held cells), scaled by the split-conformal factor fitted on the same cells; this
is what gives calibrated intervals on MCAR data. The Monte-Carlo dropout spread of the imputations is
not used for intervals: measured on the UCI tables (``benchmarks/uncertainty.py``) it covers far less
than its nominal level, because dropout spreads the network's guess, not the cell's own variability.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from flax import nnx

from invimpute.encoding import Schema
from invimpute.heads import apply_head
from invimpute.inversion import chunk_size, invert_draws
from invimpute.layout import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout
from invimpute.training import hide_cells
from invimpute.uncertainty import fit_interval_scale, fit_temperature, gumbel_max_groups, normal_quantile

_EPS = 1e-6
MIN_COLUMN_CELLS = 20
"""Held cells a numeric column needs for its own sd and scale; columns with fewer use the pooled ones."""
START_NOISE = 1.0
"""Scale of the Gaussian perturbation of reverse training's start (in the solver's coordinates)."""
MIN_HALF_WIDTH = 1e-3
"""Smallest interval half-width, in encoded units (a thousandth of a min-max scaled column's range).

Without it a column that is almost always one value (spam's zero-inflated word frequencies) gets held-out
residuals at float-rounding level, a conformal quantile of ~1e-8 and zero-width intervals whose coverage
of new cells is decided by rounding noise.
"""


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` fitted on held-out observed cells, in the encoded domain.

    ``temperature`` scales every categorical and boolean distribution (``softmax(log p / T)``); ``sd``
    (d,) is, for numeric encoded columns, the root mean square residual on held cells (NaN for other
    columns); ``scale`` (d,) the split-conformal factor for intervals at ``level`` (1 for other columns),
    so the calibrated standard deviation is ``sd * scale``. ``n_categorical`` and ``n_numeric`` count the
    held cells each part was fitted on.
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


# ---- class views ---------------------------------------------------------------------------------
def _class_view(values: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _normalise(view: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Probabilities within each group (a sigmoid head's one-hot entries need not sum to 1)."""
    out = np.clip(view.astype(np.float64), _EPS, None)
    for g in np.unique(groups):
        cols = np.flatnonzero(groups == g)
        out[..., cols] /= out[..., cols].sum(axis=-1, keepdims=True)
    return out


def _tempered(view: np.ndarray, groups: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)`` within each group of a class view."""
    logp = np.log(_normalise(view, groups)) / temperature
    out = np.empty_like(logp)
    for g in np.unique(groups):
        cols = np.flatnonzero(groups == g)
        z = np.exp(logp[..., cols] - logp[..., cols].max(axis=-1, keepdims=True))
        out[..., cols] = z / z.sum(axis=-1, keepdims=True)
    return out


def _numeric(layout: Layout) -> np.ndarray:
    kind = layout.kind_array
    return np.flatnonzero((kind == NUMERIC) | (kind == UNIT))


# ---- calibration ---------------------------------------------------------------------------------
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
    view, groups, source = _class_view(filled, layout)
    temperature, n_cat = 1.0, 0
    if view.shape[-1]:
        tview, _, _ = _class_view(truth, layout)
        counted = held[:, source]
        labels = np.where(counted, tview, 0.0)
        logp = np.log(_normalise(view, groups))
        temperature = fit_temperature(logp, labels, groups)
        first = source[np.unique(groups, return_index=True)[1]]
        n_cat = int(held[:, first].sum())
    d = layout.width
    sd = np.full(d, np.nan)
    scale = np.ones(d)
    num = _numeric(layout)
    residuals = {j: (truth - filled)[held[:, j], j] for j in num}
    pooled = np.concatenate([r for r in residuals.values()]) if residuals else np.zeros(0)
    n_num = int(pooled.size)
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
    return Calibration(temperature=float(temperature), sd=sd, scale=scale, level=float(level),
                       n_categorical=n_cat, n_numeric=n_num)


def fit_calibrated(
    method, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array,
    fraction: float = 0.1, level: float = 0.9,
) -> Calibration:
    """Fit ``method`` (an :class:`~invimpute.methods.Autoencoding`) with held-out cells, then calibrate.

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


# ---- multiple imputation -------------------------------------------------------------------------
@functools.partial(jax.jit, static_argnums=(0, 1))
def _dropout_chunk(graphdef, layout, params, x, missing, keys):
    """Monte-Carlo dropout passes: ``keys`` (M, rows) give each draw and row its own dropout mask."""
    model = nnx.merge(graphdef, params)

    def one(xi, mi, ki):
        return apply_head(model(xi, mi, key=ki), layout)

    return jax.vmap(jax.vmap(one), in_axes=(None, None, 0))(x, missing, keys)


def dropout_passes(model: nnx.Module, x: np.ndarray, missing: np.ndarray, layout: Layout, key: jax.Array, n_draws: int) -> np.ndarray:
    """``n_draws`` passes of ``model`` with dropout on over the rows of ``x``: (n_draws, n, d) values."""
    graphdef, params = nnx.split(model)
    n, d = x.shape
    size = chunk_size(n, max(1, 4096 // n_draws))
    n_pad = -(-n // size) * size
    xp = np.pad(np.asarray(x, np.float32), ((0, n_pad - n), (0, 0)))
    mp = np.pad(np.asarray(missing, np.float32), ((0, n_pad - n), (0, 0)))
    keys = jax.random.split(key, (n_draws, n_pad))
    outs = [np.asarray(_dropout_chunk(graphdef, layout, params, xp[s:s + size], mp[s:s + size], keys[:, s:s + size]))
            for s in range(0, n_pad, size)]
    return np.concatenate(outs, axis=1)[:, :n]


def _has_dropout(method) -> bool:
    return method.model_config.dropout > 0.0


def draw_imputations(
    method,
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    key: jax.Array,
    n_imputations: int,
    *,
    point_key: jax.Array,
    calibration: Calibration | None,
    restarts: bool = True,
    dropout: bool = True,
    sample_categorical: bool = True,
    sample_numeric: bool = False,
    start_noise: float = START_NOISE,
) -> np.ndarray:
    """M completed encoded tables (M, n, d) from a fitted :class:`~invimpute.methods.Autoencoding`.

    ``layout`` is the table's own layout (categorical groups, booleans, numbers); ``point_key`` the key of
    the method's single imputation, which the draws start from when neither ``restarts`` (``reverse``
    only) nor ``dropout`` (models with dropout only) applies. Each ensemble member makes M draws and the
    members are averaged draw by draw. Then ``sample_categorical`` draws every categorical and boolean
    cell from its temperature-scaled distribution, and ``sample_numeric`` adds ``N(0, calibrated sd)``
    to numeric cells (bounded columns are clipped to [0, 1]). Observed entries equal ``X`` in every draw.
    """
    if sample_numeric and calibration is None:
        raise ValueError("mi_sample_numeric needs a calibrated Imputer: fit it with calibrate=True")
    k_base, k_cat, k_num = jax.random.split(key, 3)
    observed = np.asarray(observed, dtype=bool)
    use_restarts = restarts and method.algorithm == "reverse"
    use_dropout = dropout and _has_dropout(method)
    if use_restarts or (use_dropout and method.algorithm == "reverse"):
        draws = []
        for i, model in enumerate(method.models_):
            cfg = replace(method.inversion_config, radius=method.radii_[i])
            draws.append(invert_draws(
                model, X, observed, method.layout_, cfg, jax.random.fold_in(k_base, i), n_imputations,
                mean=method.mean_, start_noise=start_noise if use_restarts else 0.0, model_dropout=use_dropout))
        out = np.mean(draws, axis=0)
    elif use_dropout:
        inp = np.where(observed, X, 0.0) if method.algorithm == "ae" else method.impute(X, observed, point_key)
        draws = [dropout_passes(model, inp, ~observed, method.layout_, jax.random.fold_in(k_base, i), n_imputations)
                 for i, model in enumerate(method.models_)]
        out = np.mean(draws, axis=0)
    else:
        out = np.broadcast_to(method.impute(X, observed, point_key), (n_imputations,) + X.shape).copy()
    out = np.where(observed, X, out).astype(np.float64)
    temperature = 1.0 if calibration is None else calibration.temperature
    if sample_categorical:
        out = _sample_classes(out, layout, temperature, k_cat)
    if sample_numeric:
        num = _numeric(layout)
        noise = np.asarray(jax.random.normal(k_num, out.shape[:-1] + (len(num),)))
        std = np.nan_to_num(calibration.std[num])
        vals = out[..., num] + noise * std
        bounded = layout.kind_array[num] == UNIT
        out[..., num] = np.where(bounded, np.clip(vals, 0.0, 1.0), vals)
    return np.where(observed, X, out).astype(np.float32)


def _sample_classes(values: np.ndarray, layout: Layout, temperature: float, key: jax.Array) -> np.ndarray:
    """Every categorical group and boolean entry of ``values`` (..., d) replaced by a draw from it."""
    view, groups, source = _class_view(values, layout)
    if not view.shape[-1]:
        return values
    probs = _tempered(view, groups, temperature)
    logp = jnp.asarray(np.log(np.clip(probs, 1e-30, None)), jnp.float32)
    one_hot = np.asarray(gumbel_max_groups(key, logp, jnp.asarray(groups), int(groups.max()) + 1))
    out = values.copy()
    kind = layout.kind_array
    for g in np.unique(groups):
        cols = np.flatnonzero(groups == g)
        src = source[cols]
        if kind[src[0]] == BINARY:
            out[..., src[0]] = one_hot[..., cols[1]]
        else:
            out[..., src] = one_hot[..., cols]
    return out


# ---- belief --------------------------------------------------------------------------------------
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
    nan = np.full((n, len(columns)), np.nan)
    confidence, mean, std, lower, upper = nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy()
    probabilities: dict = {}
    warn = False
    for j, (spec, col) in enumerate(zip(schema.columns, columns)):
        m = missing[:, j]
        if spec.kind in ("categorical", "boolean"):
            if spec.kind == "categorical":
                block = filled[:, spec.start:spec.stop]
                cats = list(spec.categories)
            else:
                v = filled[:, spec.start:spec.start + 1]
                block = np.concatenate([1.0 - v, v], axis=1)
                cats = [False, True]
            p = _tempered(block, np.zeros(block.shape[1], np.int64), temperature)
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


__all__ = [
    "masked_probabilities","Belief", "Calibration", "calibrate", "fit_calibrated", "draw_imputations", "dropout_passes",
           "belief_frames", "MIN_COLUMN_CELLS", "MIN_HALF_WIDTH", "START_NOISE"]


def masked_probabilities(truth: pd.DataFrame, belief: "Belief", missing: np.ndarray) -> tuple[list, list]:
    """Per categorical column, the belief's probabilities on the ``missing`` cells and the one-hot truth.

    The pair of lists is what :func:`invimpute.uncertainty.brier_score` scores; a true label the belief
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
