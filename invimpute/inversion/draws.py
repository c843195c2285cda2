"""Multiple reverse trainings of every sample: M draws as a second ``vmap`` in one compiled program.

The multiple-imputation form of :func:`invimpute.inversion.batch.invert`: each draw starts from a perturbed
starting point, uses its own input-dropout key and, optionally, its own Monte-Carlo dropout network.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from invimpute.inversion.batch import prepare_inputs, solver_rows, start_chunk
from invimpute.encoding.layout import Layout
from invimpute.runtime.rows import map_rows
from invimpute.inversion.solver import InversionConfig, param, solve_one, unparam


class _DropoutModel:
    """``model`` with dropout switched on under fixed keys: one network drawn by Monte-Carlo dropout.

    Calling, encoding and decoding all use keys derived from ``key`` (split as the MLP's own call splits
    it), so every step of one sample's reverse training sees the same thinned network.
    """

    def __init__(self, model: nnx.Module, key: jax.Array) -> None:
        self.model = model
        self.key = key

    def __call__(self, x: jax.Array, missing: jax.Array | None = None) -> jax.Array:
        return self.model(x, missing, key=self.key)

    def encode(self, x: jax.Array, missing: jax.Array | None = None) -> jax.Array:
        return self.model.encode(x, missing, key=jax.random.split(self.key)[0])

    def decode(self, code: jax.Array) -> jax.Array:
        return self.model.decode(code, key=jax.random.split(self.key)[1])


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _invert_draws_chunk(graphdef, layout, config, model_dropout, params, x, obs, x0, keys, noise, radius):
    """Reverse training of a chunk, ``keys.shape[0]`` times: ``vmap`` over draws of a ``vmap`` over samples."""
    model = nnx.merge(graphdef, params)

    def one(xi, oi, x0i, ki):
        k_start, k_net, k_solve = jax.random.split(ki, 3)
        z0 = unparam(x0i, layout, config) + noise * jax.random.normal(k_start, xi.shape)
        start = jnp.where(oi, xi, param(z0, layout, config))
        net = _DropoutModel(model, k_net) if model_dropout else model
        return solve_one(net, layout, config, xi, oi, start, k_solve, radius)[0]

    return jax.vmap(jax.vmap(one), in_axes=(None, None, None, 0))(x, obs, x0, keys)


def invert_draws(
    model: nnx.Module,
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    config: InversionConfig = InversionConfig(),
    key: jax.Array | int = 0,
    n_draws: int = 2,
    *,
    mean: np.ndarray | None = None,
    start_noise: float = 1.0,
    model_dropout: bool = False,
) -> np.ndarray:
    """``n_draws`` independent reverse trainings of every row of ``X``: an (n_draws, n, d) array.

    The multiple-imputation form of :func:`~invimpute.inversion.batch.invert`. Draw ``m`` of sample ``i`` starts from the usual
    starting point (``config.init``) perturbed by Gaussian noise of scale ``start_noise`` in the solver's
    own coordinates (logits for bounded and categorical entries, values for unbounded numbers), runs with
    its own input-dropout key and, with ``model_dropout``, through its own Monte-Carlo dropout network
    (the model's dropout on, under a key fixed for the whole optimisation). The draw axis is a second
    ``vmap`` around the sample ``vmap``, so M draws are one compiled program; chunks hold about
    ``config.batch_size / n_draws`` samples each. Observed entries are
    bit-identical to ``X`` in every draw; the same key gives the same draws.

    Args:
      model, X, observed, layout, config, mean: as for :func:`~invimpute.inversion.batch.invert`.
      key: a PRNG key or an int seed that determines every draw.
      n_draws: the number of draws, at least 1.
      start_noise: the scale of the Gaussian noise added to each draw's starting point, >= 0.
      model_dropout: run each draw through its own Monte-Carlo dropout network.

    Returns:
      An (n_draws, n, d) float32 array of repaired rows.
    """
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be an integer >= 1, got {n_draws!r}")
    if not start_noise >= 0.0:
        raise ValueError(f"start_noise must be >= 0, got {start_noise}")
    X, observed, key, mean, radius = prepare_inputs(model, X, observed, layout, config, key, mean)
    noise = jnp.asarray(start_noise, jnp.float32)
    graphdef, params = nnx.split(model)

    def chunk(x, obs, keys):
        x0 = start_chunk(graphdef, layout, config.init, params, x, obs, mean)
        draws = _invert_draws_chunk(
            graphdef, layout, config, bool(model_dropout), params, x, obs, x0, jnp.swapaxes(keys, 0, 1), noise, radius)
        return jnp.swapaxes(draws, 0, 1)

    x_hat = map_rows(chunk, (solver_rows(X, observed, config), observed),
                     max(1, config.batch_size // int(n_draws)), key=key, key_shape=(int(n_draws),))
    return np.where(observed, X, np.swapaxes(np.asarray(x_hat), 0, 1)).astype(np.float32)


__all__ = ["invert_draws"]
