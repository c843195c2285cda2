"""One sample's reverse training: its settings, the free variables, the objective and the step loop.

For one sample ``x`` (d,) with ``observed`` (d,) (True where present), the free variables ``z`` live
only where ``observed`` is False: ``x_hat = where(observed, x, param(z))``, with ``param`` keeping values
valid (a softmax over each categorical one-hot group, a sigmoid for [0, 1] columns, the identity for
unbounded numbers). With every network parameter held fixed, an optax optimiser minimises, by default,
the error of the model's predictions of observed entries hidden from it in each step (``"masked"``, what
the library's networks are trained for), or the reconstruction error of ``model(x_hat)`` over observed
entries or all, plus a proximal pull of the proposal to its start and optional terms: a spherical or L2
penalty on the bottleneck code, and dropout on the input. A final cleaning pass sends
the repaired sample through the model once more. Latent mode searches the bottleneck code ``c``
instead, with ``x_hat = where(observed, x, decode(c))``. The step loop runs inside the compiled program
(``lax.while_loop``, with an optional per-sample early stop on relative loss change);
:mod:`invimpute.inversion.batch` maps it over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from invimpute.models.heads import apply_head, inverse_head, is_bounded
from invimpute.encoding.layout import Layout
from invimpute.models.losses import reconstruction_loss

MODES = ("auto", "input", "latent")
OBJECTIVES = ("observed", "all", "masked")
PARAMETERISATIONS = ("auto", "identity")
CODE_PENALTIES = ("none", "sphere", "l2")
INITS = ("auto", "model", "mean", "fill", "knn")
OPTIMIZERS = ("adam", "sgd", "momentum")
MASK_SEED = 0
"""The ``"masked"`` objective hides the entries of a fixed pseudo-random sequence of masks, step ``i`` taking
the ``i``-th (restricted to each sample's observed entries): a repair then depends on the sample alone, not
on its batch, its position in it or the key, so chunked jobs, vmap and a per-sample loop agree exactly."""
START_MARGIN = 0.02
"""Bounded starting values are clipped into [START_MARGIN, 1 - START_MARGIN] before the inverse head."""


@dataclass(frozen=True)
class InversionConfig:
    """Settings of :func:`invert` (hashable: it is a static argument of the compiled solver).

    Attributes:
      mode: ``"input"`` optimises the missing entries; ``"latent"`` optimises the bottleneck code;
        ``"auto"``: latent where the Imputer repairs images through a model read by its bottleneck (on the
        development split of the digits it beat input mode on both damages), input on tables and in
        :func:`invert`.
      steps: step budget per sample.
      learning_rate, optimizer: the optax optimiser over the free variables.
      objective: reconstruction error over ``"observed"`` entries only, or over ``"all"`` entries
        (observed ones against the data, missing ones against the sample's own current values), or
        ``"masked"``: in each step a share ``hide_rate`` of the observed entries (whole groups, drawn
        from the fixed sequence :data:`MASK_SEED` names) is hidden from the model, which predicts them from the rest, the proposal included, as it was
        trained to (``TrainConfig(target="hidden")``). Latent mode reads ``"masked"`` as ``"observed"``.
      hide_rate: share of the observed entries hidden in each step of the ``"masked"`` objective.
      proximal: weight of the mean squared distance of the proposal from its start (``init``), so the
        missing entries move only where the observed ones say so.
      loss: ``"typed"`` (CE/BCE/MSE by column kind) or ``"mse"``.
      parameterisation: ``"auto"`` keeps values valid by column kind (softmax / sigmoid / identity);
        ``"identity"`` optimises raw values.
      code_penalty, code_weight, radius: ``"sphere"`` adds ``code_weight * (|c| - radius)^2`` (radius
        from training codes when None is given to the config and ``radius=`` to :func:`invert`),
        ``"l2"`` adds ``code_weight * |c|^2``.
      input_dropout: rate at which input entries are zeroed in each step (a fresh key per sample per
        step, all derived from the one key given to :func:`invert`).
      init: starting point of the free entries: the model's own one-pass fill, column means, the fill
        given in the missing entries, or (``"knn"``) the k-nearest-neighbour fill from the rows a method was
        fitted on, which :class:`~invimpute.Imputer` keeps (:func:`invert` itself has no donor rows: give it
        that fill under ``"fill"``). ``"auto"``: ``"knn"`` where the Imputer repairs images (on the
        development split of the digits, reverse training from KNN's fill beat both KNN and reverse
        training from the one pass), ``"model"`` on tables and in :func:`invert`.
      clean: pass the repaired sample through the model once more and use its output.
      tol: per-sample early stop when the relative change of the loss falls below ``tol`` (0: off). Under
        the ``"masked"`` objective each step's loss is over a fresh random share of the observed
        entries, so the stop reacts to that noise too: it suits the deterministic objectives best.
      feed_mask: give mask-input models the true missing indicator during inversion (default: present
        the sample as complete, so the model treats the proposed values as data).
      batch_size: samples per compiled chunk.
      trace: also return each sample's loss at every step.
    """

    mode: str = "auto"
    steps: int = 30
    learning_rate: float = 0.05
    optimizer: str = "adam"
    objective: str = "masked"
    hide_rate: float = 0.25
    proximal: float = 1.0
    loss: str = "typed"
    parameterisation: str = "auto"
    code_penalty: str = "none"
    code_weight: float = 0.0
    radius: float | None = None
    input_dropout: float = 0.0
    init: str = "auto"
    clean: bool = False
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
        if not 0.0 < self.hide_rate < 1.0:
            raise ValueError(f"InversionConfig.hide_rate must be in (0, 1), got {self.hide_rate}")
        if self.proximal < 0:
            raise ValueError(f"InversionConfig.proximal must be >= 0, got {self.proximal}")
        if not 0.0 <= self.input_dropout < 1.0:
            raise ValueError(f"InversionConfig.input_dropout must be in [0, 1), got {self.input_dropout}")
        if self.batch_size < 1:
            raise ValueError(f"InversionConfig.batch_size must be >= 1, got {self.batch_size}")
        reconstruction_loss(self.loss)



def _optimizer(config: InversionConfig) -> optax.GradientTransformation:
    if config.optimizer == "adam":
        return optax.adam(config.learning_rate)
    if config.optimizer == "momentum":
        return optax.sgd(config.learning_rate, momentum=0.9)
    return optax.sgd(config.learning_rate)


def param(z: jax.Array, layout: Layout, config: InversionConfig) -> jax.Array:
    """The values the free variables ``z`` stand for (valid by column kind under ``"auto"``)."""
    return apply_head(z, layout) if config.parameterisation == "auto" else z


def unparam(x: jax.Array, layout: Layout, config: InversionConfig) -> jax.Array:
    """Free variables whose :func:`param` is ``x``, with bounded values first pulled ``START_MARGIN`` inside
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


def _proximal(x_hat: jax.Array, x0: jax.Array, obs: jax.Array, config: InversionConfig) -> jax.Array:
    """``proximal`` times the mean squared distance of the missing entries from their start."""
    if config.proximal == 0:
        return jnp.zeros(())
    missing = ~obs
    return config.proximal * jnp.sum(jnp.where(missing, jnp.square(x_hat - x0), 0.0)) / jnp.maximum(missing.sum(), 1)


def hidden_entries(key: jax.Array, obs: jax.Array, layout: Layout, rate: float) -> jax.Array:
    """The observed entries one step of the ``"masked"`` objective hides: whole groups, each with probability ``rate``."""
    group = jnp.asarray(layout.group_array)
    return jax.random.bernoulli(key, rate, (layout.n_groups,))[group] & obs


def _input_problem(model, layout, config, x, obs, x0, missing_in, weight, radius):
    """Input mode: (fill, objective, start) over the missing entries' free variables."""
    loss_fn = reconstruction_loss(config.loss)

    def network_input(x_hat, k):
        if config.input_dropout > 0:
            keep = jax.random.bernoulli(k, 1.0 - config.input_dropout, x_hat.shape)
            return jnp.where(keep, x_hat, 0.0)
        return x_hat

    def fill(z):
        return jnp.where(obs, x, param(z, layout, config))

    def objective(z, k, i):
        x_hat = fill(z)
        inp, indicator, target, w = x_hat, missing_in, x_hat, weight
        if config.objective == "masked":  # predict hidden observed entries from the rest, the proposal included
            hide = hidden_entries(jax.random.fold_in(jax.random.key(MASK_SEED), i), obs, layout, config.hide_rate)
            inp, target, w = jnp.where(hide, 0.0, x_hat), x, hide.astype(jnp.float32)
            indicator = jnp.maximum(missing_in, w)
        inp = network_input(inp, k)
        if config.code_penalty == "none":  # no code needed: any model(x, missing) will do
            loss = loss_fn(model(inp, indicator), target, w, layout)
        else:
            code = model.encode(inp, indicator)
            loss = loss_fn(model.decode(code), target, w, layout) + _code_penalty(code, config, radius)
        return loss + _proximal(x_hat, x0, obs, config)

    return fill, objective, unparam(x0, layout, config)


def _latent_problem(model, layout, config, x, obs, x0, missing_in, weight, radius):
    """Latent mode: (fill, objective, start) over the bottleneck code."""
    loss_fn = reconstruction_loss(config.loss)

    def fill(c):
        return jnp.where(obs, x, apply_head(model.decode(c), layout))

    def objective(c, k, i):
        scores = model.decode(c)
        target = jnp.where(obs, x, apply_head(scores, layout))
        return (loss_fn(scores, target, weight, layout) + _code_penalty(c, config, radius)
                + _proximal(target, x0, obs, config))

    return fill, objective, model.encode(x0, missing_in)


def _descend(objective, z0, key, config: InversionConfig):
    """The step loop in ``lax.while_loop``: (steps taken, final variables, early stop fired, loss trace)."""
    tx = _optimizer(config)
    grad_fn = jax.value_and_grad(objective)
    trace0 = jnp.zeros((config.steps if config.trace else 0,), jnp.float32)

    def cond(carry):
        i, _, _, _, done, _ = carry
        return (i < config.steps) & ~done

    def body(carry):
        i, z, state, prev, _, trace = carry
        loss, g = grad_fn(z, jax.random.fold_in(key, i), i)
        upd, state = tx.update(g, state, z)
        z = optax.apply_updates(z, upd)
        rel = jnp.abs(prev - loss) / jnp.maximum(jnp.abs(prev), 1e-12)
        done = (config.tol > 0) & (i > 0) & (rel < config.tol)
        if config.trace:
            trace = trace.at[i].set(loss)
        return i + 1, z, state, loss, done, trace

    init = (jnp.zeros((), jnp.int32), z0, tx.init(z0), jnp.asarray(jnp.inf, jnp.float32), jnp.zeros((), bool), trace0)
    steps, z, _, _, done, trace = jax.lax.while_loop(cond, body, init)
    return steps, z, done, trace


def solve_one(model, layout, config, x, obs, x0, key, radius):
    """Reverse training of one sample from the start ``x0``: (repaired x, final loss, steps, converged, trace)."""
    obs_f = obs.astype(jnp.float32)
    missing_in = (1.0 - obs_f) if config.feed_mask else jnp.zeros_like(obs_f)
    weight = jnp.ones_like(obs_f) if config.objective == "all" else obs_f
    problem = _latent_problem if config.mode == "latent" else _input_problem
    fill, objective, z0 = problem(model, layout, config, x, obs, x0, missing_in, weight, radius)
    steps, z, done, trace = _descend(objective, z0, key, config)
    final_loss = objective(z, key if config.input_dropout == 0 else jax.random.fold_in(key, steps), steps)
    x_hat = fill(z)
    if config.clean:
        x_hat = jnp.where(obs, x, apply_head(model(x_hat, missing_in), layout))
    return x_hat, final_loss, steps, done, trace


__all__ = ["InversionConfig", "MODES", "OBJECTIVES", "PARAMETERISATIONS", "CODE_PENALTIES", "INITS", "OPTIMIZERS",
           "START_MARGIN", "param", "unparam", "hidden_entries", "solve_one"]
