"""Reverse training over rows: every sample of a table repaired by :func:`invimpute.inversion.solver.solve_one`.

``jax.vmap`` runs the per-sample solver over a chunk of samples, each with its own optimiser state, and
``jax.jit`` compiles it once per (chunk size, model structure, configuration). :func:`invimpute.runtime.rows.map_rows`
cuts the inputs into fixed-size chunks (the last one padded), so repeated calls never recompile, and shards
each chunk's sample axis over all local devices. The settings are :class:`~invimpute.inversion.solver.InversionConfig`
(importable from here too); multiple draws per sample are :func:`invimpute.inversion.draws.invert_draws`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from invimpute.models.heads import apply_head
from invimpute.encoding.layout import Layout
from invimpute.runtime.arrays import to_device
from invimpute.runtime.rows import chunk_size, map_rows
from invimpute.inversion.protocol import check_model
from invimpute.inversion.solver import InversionConfig, solve_one


@dataclass
class InversionResult:
    """Repaired samples and per-sample diagnostics (all NumPy, one row per input sample), as :func:`invert`
    returns them.

    Attributes:
      x: the repaired data, (n, d); observed entries bit-identical to the input.
      loss: the final objective of each sample, (n,).
      steps: the optimiser steps each sample took, (n,).
      converged: whether each sample's early stop fired, (n,).
      all_missing: the samples with no observed entry (they get the model's unconditional fill), (n,).
      trace: the objective at every step, (n, steps), when ``InversionConfig.trace`` asks for it; else None.
    """

    x: np.ndarray
    loss: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    all_missing: np.ndarray
    trace: np.ndarray | None = None


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _invert_chunk(graphdef, layout, config, params, x, obs, x0, keys, radius):
    model = nnx.merge(graphdef, params)
    solve = functools.partial(solve_one, model, layout, config)
    return jax.vmap(solve, in_axes=(0, 0, 0, 0, None))(x, obs, x0, keys, radius)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def start_chunk(graphdef, layout, init, params, x, obs, mean):
    """Starting values for the missing entries: the model's one-pass fill (``init="auto"`` too), column means
    or the fill."""
    if init in ("auto", "model"):
        model = nnx.merge(graphdef, params)
        guess = apply_head(model(jnp.where(obs, x, 0.0), (~obs).astype(jnp.float32)), layout)
    elif init == "mean":
        guess = jnp.broadcast_to(mean, x.shape)
    else:
        guess = x
    return jnp.where(obs, x, guess)


def solver_rows(X: np.ndarray, observed: np.ndarray, config: InversionConfig) -> np.ndarray:
    """The rows the solver starts from: the missing entries zeroed, or, under ``init="fill"``, kept where
    they are finite (the fill given to start from; NaN and inf become 0)."""
    keep = observed | (np.isfinite(X) if config.init == "fill" else False)
    return np.where(keep, X, 0.0).astype(np.float32)


def column_means(X: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Mean of the observed entries of each column (0 for a column with none)."""
    counts = observed.sum(0)
    return np.where(counts > 0, np.where(observed, X, 0.0).sum(0) / np.maximum(counts, 1), 0.0)


def check_inputs(model: nnx.Module, X: np.ndarray, observed: np.ndarray, layout: Layout, config: InversionConfig) -> None:
    """Raise a clear error for inputs the solver cannot take."""
    config.validate()
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, d), got shape {X.shape}")
    if observed.shape != X.shape:
        raise ValueError(f"observed has shape {observed.shape}, X has shape {X.shape}; they must match")
    if X.shape[1] != layout.width:
        raise ValueError(f"layout describes {layout.width} columns, X has {X.shape[1]}")
    bad = observed & ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"X has NaN/inf in {int(bad.sum())} observed entries (first at row {r}, column {c}); "
            f"mark them as missing in `observed` or fix the data"
        )
    if config.init == "knn":
        raise ValueError("InversionConfig(init='knn') starts from a nearest-neighbour fill of the rows a method was "
                         "fitted on, which this function does not have: fit Imputer('reverse', inversion="
                         "{'init': 'knn'}), or put that fill in X's missing entries and use init='fill'")
    latent = config.mode == "latent" or config.code_penalty != "none"
    if latent and not (hasattr(model, "encode") and hasattr(model, "decode")):
        need = "latent mode" if config.mode == "latent" else f"code_penalty={config.code_penalty!r}"
        raise TypeError(f"{need} needs a model with encode/decode methods; {type(model).__name__} has none")
    check_model(model, X.shape[1], latent)
    if config.code_penalty == "sphere" and config.radius is None:
        raise ValueError("code_penalty='sphere' needs a radius: set InversionConfig.radius (Imputer sets it from training codes)")


def prepare_inputs(model, X, observed, layout, config, key, mean):
    """Checked float32/bool inputs, a PRNG key, column means and the sphere radius as device arrays."""
    X = np.asarray(X, dtype=np.float32)
    observed = np.asarray(observed, dtype=bool)
    check_inputs(model, X, observed, layout, config)
    key = jax.random.key(key) if isinstance(key, (int, np.integer)) else key
    mean = to_device(column_means(X, observed) if mean is None else mean, np.float32)
    radius = to_device(config.radius if config.radius is not None else 0.0, np.float32)
    return X, observed, key, mean, radius


def invert(
    model: nnx.Module,
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    config: InversionConfig = InversionConfig(),
    key: jax.Array | int = 0,
    *,
    mean: np.ndarray | None = None,
) -> InversionResult:
    """Repair every row of ``X`` (n, d) by reverse training through the frozen ``model``.

    ``observed`` (n, d) is True where a value is present; only the other entries are optimised and
    observed entries of the result are bit-identical to ``X``. Rows are solved in compiled chunks of
    ``config.batch_size``, each a ``vmap`` of the per-sample solver.

    Args:
      model: a trained model: the library's (:class:`~invimpute.models.networks.MLPAutoencoder`,
        :class:`~invimpute.models.networks.ConvAutoencoder`) or any Flax NNX module that follows the
        protocol of :mod:`invimpute.inversion.protocol` (``model(x, missing) -> scores``; ``encode`` and
        ``decode`` too for latent mode); it is not changed.
      X: the encoded rows, (n, d) float; missing entries may hold anything (under ``init="fill"``, the
        values to start from).
      observed: (n, d) bool, True where a value is present.
      layout: each encoded column's kind and group (:class:`~invimpute.encoding.layout.Layout`).
      config: the solver's settings (:class:`~invimpute.inversion.solver.InversionConfig`).
      key: a PRNG key or an int seed that determines every random draw: sample ``i`` uses the ``i``-th
        key split from it, whatever the chunking.
      mean: the column means for ``init="mean"`` (default: means of the observed entries).

    Returns:
      An :class:`InversionResult`: the repaired rows and per-sample diagnostics.
    """
    X, observed, key, mean, radius = prepare_inputs(model, X, observed, layout, config, key, mean)
    graphdef, params = nnx.split(model)

    def chunk(x, obs, keys):
        x0 = start_chunk(graphdef, layout, config.init, params, x, obs, mean)
        return _invert_chunk(graphdef, layout, config, params, x, obs, x0, keys, radius)

    outs = map_rows(chunk, (solver_rows(X, observed, config), observed), config.batch_size, key=key)
    x_hat, loss, steps, done, trace = (np.asarray(o) for o in outs)
    return InversionResult(
        x=np.where(observed, X, x_hat).astype(np.float32), loss=loss, steps=steps, converged=done,
        all_missing=~observed.any(axis=1), trace=trace if config.trace else None,
    )


def code_radius(model: nnx.Module, X: np.ndarray, observed: np.ndarray, batch_size: int = 4096) -> float:
    """Mean norm of the bottleneck codes of the (zero-filled) training rows: the radius of the sphere that
    ``InversionConfig(code_penalty="sphere")`` keeps latent codes near.

    Args:
      model: a trained autoencoder with an ``encode`` method.
      X: the encoded rows, (n, d).
      observed: (n, d) bool, True where a value is present (the others are zero-filled and flagged).
      batch_size: rows per compiled chunk.

    Returns:
      The mean Euclidean norm of the rows' codes.
    """
    graphdef, params = nnx.split(model)
    observed = np.asarray(observed, dtype=bool)
    x = np.where(observed, X, 0.0).astype(np.float32)
    norms = map_rows(functools.partial(_code_norms, graphdef, params), (x, observed), batch_size)
    return float(np.asarray(norms).mean())


@functools.partial(jax.jit, static_argnums=(0,))
def _code_norms(graphdef, params, x, obs):
    model = nnx.merge(graphdef, params)
    return jnp.linalg.norm(model.encode(x, (~obs).astype(jnp.float32)), axis=-1)


__all__ = [
    "InversionConfig", "InversionResult", "invert", "code_radius", "column_means", "chunk_size", "check_inputs",
    "prepare_inputs", "solver_rows", "start_chunk",
]
