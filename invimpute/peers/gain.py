"""GAIN: Generative Adversarial Imputation Nets (Yoon, Jordon & van der Schaar, ICML 2018), in JAX.

A generator ``G`` sees each row with its missing entries replaced by uniform noise in [0, 0.01],
concatenated with the mask, and proposes values for every entry (sigmoid outputs, data scaled into
[0, 1]). A discriminator ``D`` sees the row completed with the generator's proposals, concatenated with
a hint, and predicts for every entry whether it was observed. ``D`` minimises that cross-entropy; ``G``
minimises the cross-entropy of fooling ``D`` on the missing entries plus ``alpha`` times the squared
reconstruction error on the observed entries.

Defaults and details follow the authors' reference code (github.com/jsyoon0823/GAIN): batch size 128,
hint rate 0.9 with the hint ``H = M * B``, ``B ~ Bernoulli(hint_rate)``, ``alpha = 100``, 10 000
iterations, both networks 3-layer ReLU MLPs of hidden width ``d`` initialised with the reference's
"Xavier" normal (standard deviation ``sqrt(2 / fan_in)``, zero biases), Adam with learning rate 1e-3,
one discriminator step then one generator step (against the updated discriminator) on the same batch.
One difference: minibatches are drawn with replacement (the reference draws without), which also lets
tables smaller than the batch size train. Training runs as jit-compiled chunks of ``chunk_size`` steps,
each a ``lax.scan``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from invimpute.encoding.layout import NUMERIC, Layout
from invimpute.peers.base import Fitted, finish

__all__ = ["GAIN"]

Params = list[tuple[jax.Array, jax.Array]]
"""An MLP as a list of ``(weight, bias)`` pairs."""


def _init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> Params:
    """MLP weights with the reference code's initialiser: normal, std ``sqrt(2 / fan_in)``; zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (n_in, n_out), jnp.float32) * jnp.sqrt(2.0 / n_in), jnp.zeros(n_out, jnp.float32))
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:])
    ]


def _mlp_logits(params: Params, a: jax.Array, b: jax.Array) -> jax.Array:
    """Logits of a ReLU MLP applied to the concatenation ``[a, b]``."""
    h = jnp.concatenate([a, b], axis=-1)
    for W, bias in params[:-1]:
        h = jax.nn.relu(h @ W + bias)
    W, bias = params[-1]
    return h @ W + bias


def _losses(
    g_params: Params, d_params: Params, x: jax.Array, m: jax.Array, z: jax.Array, h: jax.Array, alpha: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Discriminator loss, generator adversarial loss and observed-entry MSE for one batch."""
    x_in = m * x + (1.0 - m) * z
    g = jax.nn.sigmoid(_mlp_logits(g_params, x_in, m))
    x_hat = m * x + (1.0 - m) * g
    logit = _mlp_logits(d_params, x_hat, h)
    d_loss = -jnp.mean(m * jax.nn.log_sigmoid(logit) + (1.0 - m) * jax.nn.log_sigmoid(-logit))
    g_adv = -jnp.mean((1.0 - m) * jax.nn.log_sigmoid(logit))
    mse = jnp.mean((m * x - m * g) ** 2) / jnp.maximum(jnp.mean(m), 1e-8)
    return d_loss, g_adv, mse


@partial(jax.jit, static_argnames=("n_steps", "batch_size"))
def _train_chunk(
    state: tuple,
    key: jax.Array,
    X: jax.Array,
    M: jax.Array,
    hint_rate: jax.Array,
    alpha: jax.Array,
    learning_rate: jax.Array,
    *,
    n_steps: int,
    batch_size: int,
) -> tuple[tuple, jax.Array]:
    """``n_steps`` alternating D/G Adam steps in one ``lax.scan``; returns the new state and mean losses."""
    optimizer = optax.adam(learning_rate)
    n, d = X.shape

    def step(carry: tuple, k: jax.Array) -> tuple[tuple, jax.Array]:
        g_params, d_params, g_opt, d_opt = carry
        k_idx, k_z, k_h = jax.random.split(k, 3)
        idx = jax.random.randint(k_idx, (batch_size,), 0, n)
        x, m = X[idx], M[idx]
        z = jax.random.uniform(k_z, (batch_size, d), maxval=0.01)
        h = m * jax.random.bernoulli(k_h, hint_rate, (batch_size, d)).astype(jnp.float32)

        d_grads = jax.grad(lambda p: _losses(g_params, p, x, m, z, h, alpha)[0])(d_params)
        d_updates, d_opt = optimizer.update(d_grads, d_opt, d_params)
        d_params = optax.apply_updates(d_params, d_updates)

        def g_objective(p: Params) -> tuple[jax.Array, jax.Array]:
            d_loss, g_adv, mse = _losses(p, d_params, x, m, z, h, alpha)
            return g_adv + alpha * mse, jnp.stack([d_loss, g_adv, mse])

        g_grads, record = jax.grad(g_objective, has_aux=True)(g_params)
        g_updates, g_opt = optimizer.update(g_grads, g_opt, g_params)
        g_params = optax.apply_updates(g_params, g_updates)
        return (g_params, d_params, g_opt, d_opt), record

    state, records = jax.lax.scan(step, state, jax.random.split(key, n_steps))
    return state, records.mean(axis=0)


@jax.jit
def _generate(g_params: Params, x: jax.Array, m: jax.Array, key: jax.Array) -> jax.Array:
    """Generator proposals for every entry of the scaled rows ``x`` (noise in the missing entries)."""
    z = jax.random.uniform(key, x.shape, maxval=0.01)
    return jax.nn.sigmoid(_mlp_logits(g_params, m * x + (1.0 - m) * z, m))


class GAIN(Fitted):
    """Generative Adversarial Imputation Nets with the reference code's defaults.

    Unit, binary and categorical columns are used as they are (already in [0, 1]); numeric columns are
    min-max scaled by their observed range inside ``fit`` and unscaled after imputation. Categorical
    one-hot entries are treated as independent [0, 1] numbers. After ``fit``, ``history_`` holds one row
    ``(discriminator loss, generator adversarial loss, observed MSE)`` per training chunk (chunk means).
    The generator works row by row, so new rows need no reference data.
    """

    def __init__(
        self,
        iterations: int = 10_000,
        batch_size: int = 128,
        hint_rate: float = 0.9,
        alpha: float = 100.0,
        learning_rate: float = 1e-3,
        chunk_size: int = 1000,
    ) -> None:
        self.iterations = iterations
        self.batch_size = batch_size
        self.hint_rate = hint_rate
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.chunk_size = chunk_size

    def _scale(self, X: np.ndarray) -> np.ndarray:
        """Numeric columns into [0, 1] by their observed fit range; other columns unchanged."""
        return (X - self.low_) / self.span_

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "GAIN":
        """Train generator and discriminator for ``iterations`` steps on the fit rows."""
        X, observed = self._start_fit(X, observed, layout)
        numeric = (layout.kind_array == NUMERIC) & ~self.empty_
        low = np.where(observed, X, np.inf).min(axis=0, initial=np.inf)
        high = np.where(observed, X, -np.inf).max(axis=0, initial=-np.inf)
        self.low_ = np.where(numeric, low, 0.0).astype(np.float32)
        self.span_ = np.where(numeric, high - self.low_ + 1e-6, 1.0).astype(np.float32)

        d = layout.width
        k_g, k_d, k_train = jax.random.split(key, 3)
        g_params = _init_mlp(k_g, (2 * d, d, d, d))
        d_params = _init_mlp(k_d, (2 * d, d, d, d))
        optimizer = optax.adam(self.learning_rate)
        state = (g_params, d_params, optimizer.init(g_params), optimizer.init(d_params))

        Xs = jnp.asarray(np.where(observed, self._scale(X), 0.0).astype(np.float32))
        M = jnp.asarray(observed, dtype=jnp.float32)
        args = (Xs, M, jnp.float32(self.hint_rate), jnp.float32(self.alpha), jnp.float32(self.learning_rate))
        history = []
        done = 0
        while done < self.iterations:
            n_steps = min(self.chunk_size, self.iterations - done)
            k_train, k_chunk = jax.random.split(k_train)
            state, record = _train_chunk(state, k_chunk, *args, n_steps=n_steps, batch_size=self.batch_size)
            history.append(np.asarray(record))
            done += n_steps
        self.generator_ = state[0]
        self.discriminator_ = state[1]
        self.history_ = np.stack(history) if history else np.zeros((0, 3), np.float32)
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """One generator pass with fresh noise in the missing entries."""
        X, observed = self._start_impute(X, observed)
        Xs = np.where(observed, self._scale(X), 0.0).astype(np.float32)
        g = _generate(self.generator_, jnp.asarray(Xs), jnp.asarray(observed, jnp.float32), key)
        imputed = np.asarray(g) * self.span_ + self.low_
        return finish(X, observed, imputed, self.layout_, self.empty_)
