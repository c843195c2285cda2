"""Reverse training: repair samples by gradient descent over their missing entries through a frozen model.

For one sample ``x`` (d,) with ``observed`` (d,) (True where present), the free variables ``z`` live
only where ``observed`` is False: ``x_hat = where(observed, x, param(z))``, with ``param`` keeping values
valid (a softmax over each categorical one-hot group, a sigmoid for [0, 1] columns, the identity for
unbounded numbers). With every network parameter held fixed, an optax optimiser minimises the
reconstruction error of ``model(x_hat)`` (over observed entries, or all), plus optional terms: a
spherical or L2 penalty on the bottleneck code, and dropout on the input. A final cleaning pass sends
the repaired sample through the model once more. Latent mode searches the bottleneck code ``c``
instead, with ``x_hat = where(observed, x, decode(c))``.

The per-sample solver runs its step loop inside the compiled program (``lax.while_loop``, with an
optional per-sample early stop on relative loss change); ``jax.vmap`` runs it over a chunk of samples,
each with its own optimiser state, and ``jax.jit`` compiles it once per (chunk size, model structure,
configuration). :func:`invimpute.rows.map_rows` cuts the inputs into fixed-size chunks (the last one
padded), so repeated calls never recompile, and shards each chunk's sample axis over all local devices.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from invimpute.heads import apply_head, inverse_head, is_bounded
from invimpute.layout import Layout
from invimpute.losses import reconstruction_loss
from invimpute.rows import chunk_size, map_rows

MODES = ("input", "latent")
OBJECTIVES = ("observed", "all")
PARAMETERISATIONS = ("auto", "identity")
CODE_PENALTIES = ("none", "sphere", "l2")
INITS = ("model", "mean", "fill")
OPTIMIZERS = ("adam", "sgd", "momentum")
START_MARGIN = 0.02
"""Bounded starting values are clipped into [START_MARGIN, 1 - START_MARGIN] before the inverse head."""


@dataclass(frozen=True)
class InversionConfig:
    """Settings of :func:`invert` (hashable: it is a static argument of the compiled solver).

    Attributes:
      mode: ``"input"`` optimises the missing entries; ``"latent"`` optimises the bottleneck code.
      steps: step budget per sample.
      learning_rate, optimizer: the optax optimiser over the free variables.
      objective: reconstruction error over ``"observed"`` entries only, or over ``"all"`` entries
        (observed ones against the data, missing ones against the sample's own current values).
      loss: ``"typed"`` (CE/BCE/MSE by column kind) or ``"mse"``.
      parameterisation: ``"auto"`` keeps values valid by column kind (softmax / sigmoid / identity);
        ``"identity"`` optimises raw values.
      code_penalty, code_weight, radius: ``"sphere"`` adds ``code_weight * (|c| - radius)^2`` (radius
        from training codes when None is given to the config and ``radius=`` to :func:`invert`),
        ``"l2"`` adds ``code_weight * |c|^2``.
      input_dropout: rate at which input entries are zeroed in each step (a fresh key per sample per
        step, all derived from the one key given to :func:`invert`).
      init: starting point of the free entries: the model's own one-pass fill, column means, or the fill.
      clean: pass the repaired sample through the model once more and use its output.
      tol: per-sample early stop when the relative change of the loss falls below ``tol`` (0: off).
      feed_mask: give mask-input models the true missing indicator during inversion (default: present
        the sample as complete, so the model treats the proposed values as data).
      batch_size: samples per compiled chunk.
      trace: also return each sample's loss at every step.
    """

    mode: str = "input"
    steps: int = 100
    learning_rate: float = 0.1
    optimizer: str = "adam"
    objective: str = "observed"
    loss: str = "typed"
    parameterisation: str = "auto"
    code_penalty: str = "none"
    code_weight: float = 0.0
    radius: float | None = None
    input_dropout: float = 0.0
    init: str = "model"
    clean: bool = True
    tol: float = 0.0
    feed_mask: bool = False
    batch_size: int = 1024
    trace: bool = False

    def validate(self) -> None:
        for name, value, valid in (
            ("mode", self.mode, MODES),
            ("objective", self.objective, OBJECTIVES),
            ("parameterisation", self.parameterisation, PARAMETERISATIONS),
            ("code_penalty", self.code_penalty, CODE_PENALTIES),
            ("init", self.init, INITS),
            ("optimizer", self.optimizer, OPTIMIZERS),
        ):
            if value not in valid:
                raise ValueError(f"InversionConfig.{name} must be one of {valid}, got {value!r}")
        if self.steps < 1:
            raise ValueError(f"InversionConfig.steps must be >= 1, got {self.steps}; use method='ae' for a single pass")
        if self.learning_rate <= 0:
            raise ValueError(f"InversionConfig.learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.input_dropout < 1.0:
            raise ValueError(f"InversionConfig.input_dropout must be in [0, 1), got {self.input_dropout}")
        if self.batch_size < 1:
            raise ValueError(f"InversionConfig.batch_size must be >= 1, got {self.batch_size}")
        reconstruction_loss(self.loss)


@dataclass
class InversionResult:
    """Repaired samples and per-sample diagnostics (all NumPy, one row per input sample).

    ``x`` holds the repaired data (observed entries bit-identical to the input); ``loss`` the final
    objective; ``steps`` the steps taken; ``converged`` whether the early stop fired; ``all_missing``
    marks samples with no observed entry (they get the model's unconditional fill); ``trace`` the loss
    at every step when asked for.
    """

    x: np.ndarray
    loss: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    all_missing: np.ndarray
    trace: np.ndarray | None = None


def _optimizer(config: InversionConfig) -> optax.GradientTransformation:
    if config.optimizer == "adam":
        return optax.adam(config.learning_rate)
    if config.optimizer == "momentum":
        return optax.sgd(config.learning_rate, momentum=0.9)
    return optax.sgd(config.learning_rate)


def _param(z: jax.Array, layout: Layout, config: InversionConfig) -> jax.Array:
    return apply_head(z, layout) if config.parameterisation == "auto" else z


def _unparam(x: jax.Array, layout: Layout, config: InversionConfig) -> jax.Array:
    """Free variables whose ``_param`` is ``x``, with bounded values first pulled ``START_MARGIN`` inside
    (0, 1): a start at exactly 0 or 1 would sit where the sigmoid's gradient vanishes and never move."""
    if config.parameterisation != "auto":
        return x
    x = jnp.where(is_bounded(layout), jnp.clip(x, START_MARGIN, 1.0 - START_MARGIN), x)
    return inverse_head(x, layout)


def _code_penalty(code: jax.Array, config: InversionConfig, radius: jax.Array) -> jax.Array:
    if config.code_penalty == "sphere":
        return config.code_weight * jnp.square(jnp.linalg.norm(code) - radius)
    if config.code_penalty == "l2":
        return config.code_weight * jnp.sum(jnp.square(code))
    return jnp.zeros(())


def _solve_one(model, layout, config, x, obs, x0, key, radius):
    """Reverse training of one sample: returns (repaired x, final loss, steps, converged, trace)."""
    loss_fn = reconstruction_loss(config.loss)
    obs_f = obs.astype(jnp.float32)
    missing_in = (1.0 - obs_f) if config.feed_mask else jnp.zeros_like(obs_f)
    weight = obs_f if config.objective == "observed" else jnp.ones_like(obs_f)

    def network_input(x_hat, k):
        if config.input_dropout > 0:
            keep = jax.random.bernoulli(k, 1.0 - config.input_dropout, x_hat.shape)
            return jnp.where(keep, x_hat, 0.0)
        return x_hat

    if config.mode == "input":

        def fill(z):
            return jnp.where(obs, x, _param(z, layout, config))

        def objective(z, k):
            x_hat = fill(z)
            if config.code_penalty == "none":  # no code needed: any model(x, missing) will do
                return loss_fn(model(network_input(x_hat, k), missing_in), x_hat, weight, layout)
            code = model.encode(network_input(x_hat, k), missing_in)
            scores = model.decode(code)
            return loss_fn(scores, x_hat, weight, layout) + _code_penalty(code, config, radius)

        z0 = _unparam(x0, layout, config)
    else:

        def fill(c):
            return jnp.where(obs, x, apply_head(model.decode(c), layout))

        def objective(c, k):
            scores = model.decode(c)
            target = jnp.where(obs, x, apply_head(scores, layout))
            return loss_fn(scores, target, weight, layout) + _code_penalty(c, config, radius)

        z0 = model.encode(x0, missing_in)

    tx = _optimizer(config)
    grad_fn = jax.value_and_grad(objective)
    trace0 = jnp.zeros((config.steps if config.trace else 0,), jnp.float32)

    def cond(carry):
        i, _, _, _, done, _ = carry
        return (i < config.steps) & ~done

    def body(carry):
        i, z, state, prev, _, trace = carry
        loss, g = grad_fn(z, jax.random.fold_in(key, i))
        upd, state = tx.update(g, state, z)
        z = optax.apply_updates(z, upd)
        rel = jnp.abs(prev - loss) / jnp.maximum(jnp.abs(prev), 1e-12)
        done = (config.tol > 0) & (i > 0) & (rel < config.tol)
        if config.trace:
            trace = trace.at[i].set(loss)
        return i + 1, z, state, loss, done, trace

    init = (jnp.zeros((), jnp.int32), z0, tx.init(z0), jnp.asarray(jnp.inf, jnp.float32), jnp.zeros((), bool), trace0)
    steps, z, _, _, done, trace = jax.lax.while_loop(cond, body, init)
    final_loss = objective(z, key) if config.input_dropout == 0 else objective(z, jax.random.fold_in(key, steps))
    x_hat = fill(z)
    if config.clean:
        x_hat = jnp.where(obs, x, apply_head(model(x_hat, missing_in), layout))
    return x_hat, final_loss, steps, done, trace


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _invert_chunk(graphdef, layout, config, params, x, obs, x0, keys, radius):
    model = nnx.merge(graphdef, params)
    solve = functools.partial(_solve_one, model, layout, config)
    return jax.vmap(solve, in_axes=(0, 0, 0, 0, None))(x, obs, x0, keys, radius)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _start_chunk(graphdef, layout, init, params, x, obs, mean):
    """Starting values for the missing entries: the model's one-pass fill, column means or the fill."""
    if init == "model":
        model = nnx.merge(graphdef, params)
        guess = apply_head(model(jnp.where(obs, x, 0.0), (~obs).astype(jnp.float32)), layout)
    elif init == "mean":
        guess = jnp.broadcast_to(mean, x.shape)
    else:
        guess = x
    return jnp.where(obs, x, guess)


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
    if (config.mode == "latent" or config.code_penalty != "none") and not (
        hasattr(model, "encode") and hasattr(model, "decode")
    ):
        need = "latent mode" if config.mode == "latent" else f"code_penalty={config.code_penalty!r}"
        raise TypeError(f"{need} needs a model with encode/decode methods; {type(model).__name__} has none")
    if config.code_penalty == "sphere" and config.radius is None:
        raise ValueError("code_penalty='sphere' needs a radius: set InversionConfig.radius (Imputer sets it from training codes)")


def _prepare(model, X, observed, layout, config, key, mean):
    """Checked float32/bool inputs, a PRNG key, column means and the sphere radius as device arrays."""
    X = np.asarray(X, dtype=np.float32)
    observed = np.asarray(observed, dtype=bool)
    check_inputs(model, X, observed, layout, config)
    key = jax.random.key(key) if isinstance(key, (int, np.integer)) else key
    mean = jnp.asarray(column_means(X, observed) if mean is None else mean, jnp.float32)
    radius = jnp.asarray(config.radius if config.radius is not None else 0.0, jnp.float32)
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
    observed entries of the result are bit-identical to ``X``. ``key`` (or an int seed) determines every
    random draw: sample ``i`` uses the ``i``-th key split from it, whatever the chunking. ``mean`` gives
    the column means for ``init="mean"`` (default: means of the observed entries).
    """
    X, observed, key, mean, radius = _prepare(model, X, observed, layout, config, key, mean)
    graphdef, params = nnx.split(model)

    def chunk(x, obs, keys):
        x0 = _start_chunk(graphdef, layout, config.init, params, x, obs, mean)
        return _invert_chunk(graphdef, layout, config, params, x, obs, x0, keys, radius)

    outs = map_rows(chunk, (np.where(observed, X, 0.0).astype(np.float32), observed), config.batch_size, key=key)
    x_hat, loss, steps, done, trace = (np.asarray(o) for o in outs)
    return InversionResult(
        x=np.where(observed, X, x_hat).astype(np.float32), loss=loss, steps=steps, converged=done,
        all_missing=~observed.any(axis=1), trace=trace if config.trace else None,
    )


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
        z0 = _unparam(x0i, layout, config) + noise * jax.random.normal(k_start, xi.shape)
        start = jnp.where(oi, xi, _param(z0, layout, config))
        net = _DropoutModel(model, k_net) if model_dropout else model
        return _solve_one(net, layout, config, xi, oi, start, k_solve, radius)[0]

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

    The multiple-imputation form of :func:`invert`. Draw ``m`` of sample ``i`` starts from the usual
    starting point (``config.init``) perturbed by Gaussian noise of scale ``start_noise`` in the solver's
    own coordinates (logits for bounded and categorical entries, values for unbounded numbers), runs with
    its own input-dropout key and, with ``model_dropout``, through its own Monte-Carlo dropout network
    (the model's dropout on, under a key fixed for the whole optimisation). The draw axis is a second
    ``vmap`` around the sample ``vmap``, so M draws are one compiled program; chunks hold about
    ``config.batch_size / n_draws`` samples each. Observed entries are
    bit-identical to ``X`` in every draw; the same key gives the same draws.
    """
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be an integer >= 1, got {n_draws!r}")
    if not start_noise >= 0.0:
        raise ValueError(f"start_noise must be >= 0, got {start_noise}")
    X, observed, key, mean, radius = _prepare(model, X, observed, layout, config, key, mean)
    noise = jnp.asarray(start_noise, jnp.float32)
    graphdef, params = nnx.split(model)

    def chunk(x, obs, keys):
        x0 = _start_chunk(graphdef, layout, config.init, params, x, obs, mean)
        draws = _invert_draws_chunk(
            graphdef, layout, config, bool(model_dropout), params, x, obs, x0, jnp.swapaxes(keys, 0, 1), noise, radius)
        return jnp.swapaxes(draws, 0, 1)

    x_hat = map_rows(chunk, (np.where(observed, X, 0.0).astype(np.float32), observed),
                     max(1, config.batch_size // int(n_draws)), key=key, key_shape=(int(n_draws),))
    return np.where(observed, X, np.swapaxes(np.asarray(x_hat), 0, 1)).astype(np.float32)


def code_radius(model: nnx.Module, X: np.ndarray, observed: np.ndarray, batch_size: int = 4096) -> float:
    """Mean norm of the bottleneck codes of the (zero-filled) training rows: the sphere's radius."""
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
    "InversionConfig", "InversionResult", "invert", "invert_draws", "code_radius", "column_means", "chunk_size", "check_inputs",
]
