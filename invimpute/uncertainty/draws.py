"""Multiple imputation for the autoencoding methods: M completed encoded tables from one fitted method.

Spread comes from switchable sources: restarts of reverse training from perturbed starts with distinct
input-dropout keys (one compiled program over the M axis, :func:`~invimpute.inversion.draws.invert_draws`),
Monte-Carlo dropout in the model (:func:`dropout_passes`), sampling each categorical / boolean cell from
its temperature-scaled distribution (Gumbel-max), and sampling numeric cells from
``N(mean, calibrated sd)``.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from invimpute.uncertainty.calibration import Calibration
from invimpute.uncertainty.classes import class_probabilities, class_view, numeric_columns
from invimpute.models.heads import apply_head
from invimpute.inversion.draws import invert_draws
from invimpute.encoding.layout import BINARY, UNIT, Layout
from invimpute.runtime.rows import map_rows
from invimpute.uncertainty.measures import gumbel_max_groups

START_NOISE = 1.0
"""Scale of the Gaussian perturbation of reverse training's start (in the solver's coordinates)."""
DROPOUT_ROWS = 4096
"""Rows times draws per compiled chunk of :func:`dropout_passes`."""


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

    def chunk(xc, mc, keys):
        return jnp.swapaxes(_dropout_chunk(graphdef, layout, params, xc, mc, jnp.swapaxes(keys, 0, 1)), 0, 1)

    rows = (np.asarray(x, np.float32), np.asarray(missing, np.float32))
    out = map_rows(chunk, rows, max(1, DROPOUT_ROWS // n_draws), key=key, key_shape=(n_draws,))
    return np.swapaxes(np.asarray(out), 0, 1)


def _spread(method, X: np.ndarray, observed: np.ndarray, key: jax.Array, n_imputations: int, *, point_key: jax.Array,
            restarts: bool, dropout: bool, start_noise: float) -> np.ndarray:
    """The M draws of the fitted method before any cell sampling, averaged over its ensemble members."""
    use_restarts = restarts and method.algorithm == "reverse"
    use_dropout = dropout and method.model_config.dropout > 0.0
    if use_restarts or (use_dropout and method.algorithm == "reverse"):
        draws = []
        start, config = method.inversion_start(X, observed, point_key)
        for i, model in enumerate(method.models_):
            cfg = replace(config, radius=method.radii_[i])
            draws.append(invert_draws(
                model, start, observed, method.layout_, cfg, jax.random.fold_in(key, i), n_imputations,
                mean=method.mean_, start_noise=start_noise if use_restarts else 0.0, model_dropout=use_dropout))
        return np.mean(draws, axis=0)
    if use_dropout:
        inp = np.where(observed, X, 0.0) if method.algorithm == "ae" else method.impute(X, observed, point_key)
        draws = [dropout_passes(model, inp, ~observed, method.layout_, jax.random.fold_in(key, i), n_imputations)
                 for i, model in enumerate(method.models_)]
        return np.mean(draws, axis=0)
    return np.broadcast_to(method.impute(X, observed, point_key), (n_imputations,) + X.shape).copy()


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
    """M completed encoded tables (M, n, d) from a fitted :class:`~invimpute.methods.registry.Autoencoding`.

    ``layout`` is the table's own layout (categorical groups, booleans, numbers); ``point_key`` the key of
    the method's single imputation, which the draws start from when neither ``restarts`` (``reverse``
    only) nor ``dropout`` (models with dropout only) applies. Each ensemble member makes M draws and the
    members are averaged draw by draw. Then ``sample_categorical`` draws every categorical and boolean
    cell from its temperature-scaled distribution, and ``sample_numeric`` adds ``N(0, calibrated sd)``
    to numeric cells (bounded columns are clipped to [0, 1]). Observed entries equal ``X`` in every draw.
    """
    if sample_numeric and calibration is None:
        raise ValueError("uncertainty.sample_numeric needs a calibrated Imputer: fit it with uncertainty={\"calibrate\": True}")
    k_base, k_cat, k_num = jax.random.split(key, 3)
    observed = np.asarray(observed, dtype=bool)
    out = _spread(method, X, observed, k_base, n_imputations, point_key=point_key, restarts=restarts,
                  dropout=dropout, start_noise=start_noise)
    out = np.where(observed, X, out).astype(np.float64)
    temperature = 1.0 if calibration is None else calibration.temperature
    if sample_categorical:
        out = sample_classes(out, layout, temperature, k_cat)
    if sample_numeric:
        num = numeric_columns(layout)
        noise = np.asarray(jax.random.normal(k_num, out.shape[:-1] + (len(num),)))
        std = np.nan_to_num(calibration.std[num])
        vals = out[..., num] + noise * std
        bounded = layout.kind_array[num] == UNIT
        out[..., num] = np.where(bounded, np.clip(vals, 0.0, 1.0), vals)
    return np.where(observed, X, out).astype(np.float32)


def sample_classes(values: np.ndarray, layout: Layout, temperature: float, key: jax.Array) -> np.ndarray:
    """Every categorical group and boolean entry of ``values`` (..., d) replaced by a draw from it."""
    view, groups, source = class_view(values, layout)
    if not view.shape[-1]:
        return values
    probs = class_probabilities(view, groups, temperature)
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


__all__ = ["START_NOISE", "dropout_passes", "draw_imputations", "sample_classes"]
