"""Training autoencoders on incomplete data with masked losses.

:func:`fit` runs one ``jax.jit``-compiled program per epoch: the shuffle, the minibatch gathers and every
optax step happen inside it (a ``lax.scan`` over minibatches), and the per-epoch loss and MAE stay on the
device until the fit ends, so epochs are dispatched without waiting on the host (only early stopping reads
its held-out loss each epoch). The program is a module-level function keyed on the model's structure, the
layout and the settings it reads, so further fits of the same shapes (ensemble members, seeds of a
benchmark, calibration refits) reuse it instead of compiling again. Between epochs it can do study 1's
"recurrent" refill of the missing cells (``x_miss <- (1 - w) x_miss + w * prediction``), track the
observed-cell MAE, and stop early on a held-out slice of observed cells, keeping the best parameters.

Optional denoising (``corruption``): each step hides a random fraction of the observed cells (whole
categorical groups at a time) from the input and asks the model to reconstruct them, which teaches it
to fill cells from the others, the task imputation poses.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from invimpute.heads import apply_head
from invimpute.layout import Layout
from invimpute.losses import reconstruction_loss
from invimpute.missingness import hide_cells
from invimpute.models import weight_penalty
from invimpute.rows import map_rows


SCHEDULES = ("constant", "cosine")


def learning_rate_schedule(config: "TrainConfig", total_steps: int) -> optax.Schedule | float:
    """The step size of ``config`` over a fit of ``total_steps`` optimiser steps."""
    if config.schedule == "constant":
        return config.learning_rate
    warmup = max(1, min(total_steps // 20, 1000))
    return optax.warmup_cosine_decay_schedule(0.0, config.learning_rate, warmup, max(total_steps, warmup + 1))


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`fit`.

    Attributes:
      epochs: passes over the data.
      batch_size: rows per optax step.
      learning_rate: Adam's step size (``weight_decay`` > 0 switches to AdamW).
      schedule: ``"constant"`` step size, or ``"cosine"``: a short linear warm-up then cosine decay to
        zero over all the fit's steps (fine-tunes the end of long fits).
      loss: ``"typed"`` (per-type CE/BCE/MSE) or ``"mse"`` (study 1's masked MSE).
      l1, l2: weight penalties on kernels.
      recurrent_weight: ``w`` of study 1's refill after every epoch; None turns it off.
      corruption: fraction of observed cells hidden from the input at each step (denoising); 0 is off.
      corruption_groups: the group of each encoded column, hidden together by ``corruption`` (for
        images, ``pixel // width`` hides whole pixel rows); None hides each source column on its own.
      target: which observed cells the loss counts: ``"observed"`` (all of them) or ``"hidden"`` (only
        those hidden by ``corruption``, the masked-prediction objective that matches imputation).
      corruption_spread: draw each row's corruption rate uniformly from [0, 2 * corruption) instead of
        using ``corruption`` for every row, so training also sees rows as complete as those it imputes.
      validation_fraction: fraction of observed cells held out for early stopping; 0 is off.
      patience: epochs without a better validation loss before stopping.
      progress: show a progress bar over epochs.
    """

    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    schedule: str = "constant"
    weight_decay: float = 0.0
    loss: str = "typed"
    l1: float = 0.0
    l2: float = 0.0
    recurrent_weight: float | None = None
    corruption: float = 0.0
    corruption_groups: tuple[int, ...] | None = None
    corruption_spread: bool = False
    target: str = "observed"
    validation_fraction: float = 0.0
    patience: int = 20
    progress: bool = False

    def validate(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.recurrent_weight is not None and not 0.0 < self.recurrent_weight <= 1.0:
            raise ValueError(f"recurrent_weight must be in (0, 1], got {self.recurrent_weight}")
        if not 0.0 <= self.corruption < 1.0:
            raise ValueError(f"corruption must be in [0, 1), got {self.corruption}")
        if self.corruption_groups is not None and min(self.corruption_groups) < 0:
            raise ValueError("corruption_groups must hold non-negative group indices")
        if self.target not in ("observed", "hidden"):
            raise ValueError(f"target must be 'observed' or 'hidden', got {self.target!r}")
        if self.target == "hidden" and self.corruption == 0.0:
            raise ValueError("target='hidden' needs corruption > 0: no cell would be hidden")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        reconstruction_loss(self.loss)


@dataclass
class History:
    """Per-epoch training record: loss, observed-cell MAE and (when held out) validation loss."""

    loss: list[float] = field(default_factory=list)
    mae: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model, its history and the refilled table."""

    model: nnx.Module
    history: History
    filled: np.ndarray


def predict(model: nnx.Module, x: jax.Array, missing: jax.Array, layout: Layout, batch_size: int = 4096) -> jax.Array:
    """Deterministic values ``apply_head(model(x, missing))`` for a whole table, in fixed-size chunks."""
    graphdef, params = nnx.split(model)
    missing = missing.astype(jnp.float32) if isinstance(missing, jax.Array) else np.asarray(missing, np.float32)
    return map_rows(functools.partial(_predict_chunk, graphdef, layout, params), (x, missing), batch_size)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _predict_chunk(graphdef, layout, params, x, missing):
    model = nnx.merge(graphdef, params)
    return apply_head(model(x, missing), layout)


def _program_config(config: TrainConfig) -> TrainConfig:
    """``config`` with the fields the compiled programs do not read reset, so fits that differ only in
    them (progress bar, early stopping, hold-out size) share one compiled program."""
    epochs = config.epochs if config.schedule != "constant" else 1  # only a schedule reads the fit's length
    return replace(config, epochs=epochs, progress=False, patience=0, validation_fraction=0.0, recurrent_weight=None)


def _optimizer(config: TrainConfig, n: int) -> optax.GradientTransformation:
    """Adam (AdamW when ``weight_decay`` > 0) with ``config``'s step-size schedule over the whole fit."""
    n_batches = math.ceil(n / min(config.batch_size, n))
    lr = learning_rate_schedule(config, config.epochs * n_batches)
    return optax.adamw(lr, weight_decay=config.weight_decay) if config.weight_decay > 0 else optax.adam(lr)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _epoch(graphdef, layout: Layout, config: TrainConfig, p, s, cur, obs, k, fill):
    """One pass over the shuffled rows: a ``lax.scan`` of optax steps over padded minibatches.

    Module-level and keyed on static (model structure, layout, config), so every fit of the same shapes
    and settings reuses one compiled program.
    """
    n = cur.shape[0]
    batch = min(config.batch_size, n)
    n_batches = math.ceil(n / batch)
    tx = _optimizer(config, n)
    loss_fn = reconstruction_loss(config.loss)

    def step_loss(p, xb, ob, vb, k):
        m = nnx.merge(graphdef, p)
        k_hide, k_drop = jax.random.split(k)
        rate = config.corruption
        if config.corruption_spread:
            k_hide, k_rate = jax.random.split(k_hide)
            rate = jax.random.uniform(k_rate, (ob.shape[0], 1), maxval=min(2.0 * config.corruption, 0.99))
        hidden = hide_cells(k_hide, ob, layout, rate, config.corruption_groups) if config.corruption > 0 else jnp.zeros_like(ob)
        vis = ob & ~hidden
        missing_in = ~vis
        x_in = jnp.where(hidden, fill, xb)
        scores = m(x_in, missing_in.astype(jnp.float32), key=k_drop)
        counted = hidden if config.target == "hidden" else ob
        w = (counted & vb[:, None]).astype(jnp.float32)
        return jax.vmap(loss_fn, in_axes=(0, 0, 0, None))(scores, xb, w, layout).sum() / jnp.maximum(vb.sum(), 1.0) + weight_penalty(m, config.l1, config.l2)

    k_perm, k_steps = jax.random.split(k)
    perm = jax.random.permutation(k_perm, n)
    idx = jnp.concatenate([perm, perm[: n_batches * batch - n]]).reshape(n_batches, batch)
    valid = (jnp.arange(n_batches * batch) < n).reshape(n_batches, batch)
    keys = jax.random.split(k_steps, n_batches)

    def body(carry, inp):
        p, s = carry
        ib, vb, kb = inp
        loss, g = jax.value_and_grad(step_loss)(p, cur[ib], obs[ib], vb, kb)
        upd, s = tx.update(g, s, p)
        return (optax.apply_updates(p, upd), s), loss

    (p, s), losses = jax.lax.scan(body, (p, s), (idx, valid, keys))
    return p, s, losses.mean()


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _evaluate(graphdef, layout: Layout, loss: str, validating: bool, p, cur, X, train_obs, held, fill):
    """Whole-table prediction, observed-cell MAE and held-out loss; the table is an argument, not a
    closed-over constant, so XLA does not fold it into the program."""
    m = nnx.merge(graphdef, p)
    missing_in = (~train_obs).astype(jnp.float32)
    pred = apply_head(m(cur, missing_in), layout)
    trw = train_obs.astype(jnp.float32)
    mae = (jnp.abs(pred - X) * trw).sum() / jnp.maximum(trw.sum(), 1.0)
    if not validating:
        return pred, mae, jnp.zeros(())
    scores = m(jnp.where(train_obs, X, fill), missing_in)
    hw = held.astype(jnp.float32)
    loss_fn = reconstruction_loss(loss)
    val = jax.vmap(loss_fn, in_axes=(0, 0, 0, None))(scores, X, hw, layout).sum() / jnp.maximum(hw.sum(), 1.0)
    return pred, mae, val


def fit(
    model: nnx.Module,
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    config: TrainConfig,
    key: jax.Array,
    fill: float = 0.0,
) -> FitResult:
    """Train ``model`` in place on ``X`` (n, d) where ``observed`` (True where present) holds values.

    Returns the trained model (best validation epoch when held out), the history, and the table with
    missing entries refilled by the recurrent rule (or the model's final prediction when it is off).
    """
    config.validate()
    X = jnp.asarray(X, dtype=jnp.float32)
    observed = jnp.asarray(observed, dtype=bool)
    if X.shape != observed.shape:
        raise ValueError(f"observed has shape {observed.shape}, X has shape {X.shape}; they must match")
    n, d = X.shape
    if d != layout.width:
        raise ValueError(f"layout describes {layout.width} columns, X has {d}")
    if config.corruption_groups is not None and len(config.corruption_groups) != d:
        raise ValueError(f"corruption_groups has {len(config.corruption_groups)} entries, X has {d} columns")
    k_val, k_train = jax.random.split(key)

    validating = config.validation_fraction > 0
    if validating:
        held = hide_cells(k_val, observed, layout, config.validation_fraction)
    else:
        held = jnp.zeros_like(observed)
    train_obs = observed & ~held
    current = jnp.where(train_obs, X, fill)

    program = _program_config(config)
    graphdef, params = nnx.split(model)
    opt_state = _optimizer(program, n).init(params)
    fill = jnp.float32(fill)

    def epoch(p, s, cur, obs, k):
        return _epoch(graphdef, layout, program, p, s, cur, obs, k, fill)

    def evaluate(p, cur, X, train_obs, held):
        return _evaluate(graphdef, layout, program.loss, validating, p, cur, X, train_obs, held, fill)

    history = History()
    best = (math.inf, params)
    bad_epochs = 0
    epochs = range(config.epochs)
    if config.progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="training", unit="epoch")
    epoch_keys = jax.random.split(k_train, config.epochs)
    w = config.recurrent_weight
    losses, maes = [], []  # device scalars, read once after the loop: epochs dispatch without waiting on the host
    for e in epochs:
        params, opt_state, loss = epoch(params, opt_state, current, train_obs, epoch_keys[e])
        pred, mae, val = evaluate(params, current, X, train_obs, held)
        if w is not None:
            current = jnp.where(train_obs, X, (1.0 - w) * current + w * pred)
        losses.append(loss)
        maes.append(mae)
        if validating:  # early stopping needs the held-out loss now
            v = float(val)
            history.val_loss.append(v)
            if v < best[0]:
                best, bad_epochs, history.best_epoch = (v, params), 0, e
            else:
                bad_epochs += 1
                if bad_epochs >= config.patience:
                    history.stopped_early = True
                    break
        if config.progress:
            epochs.set_postfix(loss=f"{float(loss):.4f}", mae=f"{float(mae):.4f}")
    history.loss, history.mae = ([float(v) for v in jax.device_get(vs)] for vs in (losses, maes))
    if validating:
        params = best[1]
    else:
        history.best_epoch = len(history.loss) - 1
    nnx.update(model, params)
    if w is None:
        pred, _, _ = evaluate(params, current, X, train_obs, held)
        current = jnp.where(train_obs, X, pred)
    filled = np.asarray(jnp.where(observed, X, current))
    return FitResult(model=model, history=history, filled=filled)
