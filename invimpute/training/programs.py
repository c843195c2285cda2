"""The compiled programs of training: a block of epochs of optax steps (``lax.scan`` over minibatches,
``vmap``ped over ensemble members), the whole-table evaluation, and the model's prediction.

Each is a module-level ``jax.jit`` function keyed on the model's structure, the layout and the settings it
reads (:func:`program_config` resets the others), so further fits of the same shapes reuse it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from invimpute.encoding.layout import Layout
from invimpute.encoding.missingness import ImageDamage, hide_cells
from invimpute.models.heads import apply_head
from invimpute.models.losses import reconstruction_loss
from invimpute.models.networks import weight_penalty
from invimpute.runtime.arrays import to_device
from invimpute.runtime.rows import map_rows
from invimpute.training.config import TrainConfig, step_size_schedule


def predict(model: nnx.Module, x: jax.Array, missing: jax.Array, layout: Layout, batch_size: int = 4096) -> jax.Array:
    """Deterministic values ``apply_head(model(x, missing))`` for a whole table, in fixed-size chunks.

    Args:
      model: a trained autoencoder (dropout off: no key is given).
      x: the encoded rows, (n, d), missing entries filled (zeros, or a current guess).
      missing: (n, d), 1 (True) where an entry is missing.
      layout: each encoded column's kind and group.
      batch_size: rows per compiled chunk.

    Returns:
      An (n, d) array of predictions in each column's domain.
    """
    graphdef, params = nnx.split(model)
    missing = missing.astype(jnp.float32) if isinstance(missing, jax.Array) else np.asarray(missing, np.float32)
    return map_rows(functools.partial(_predict_chunk, graphdef, layout, params), (x, missing), batch_size)


def one_pass(model: nnx.Module, X: np.ndarray, observed: np.ndarray, layout: Layout) -> np.ndarray:
    """The model's one masked pass over an incomplete table: missing entries zeroed and flagged as missing,
    the prediction of every entry returned (the fill every reverse training starts from and is judged by)."""
    X = np.asarray(X, np.float32)
    observed = np.asarray(observed, bool)
    return np.asarray(predict(model, np.where(observed, X, 0.0), ~observed, layout))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _predict_chunk(graphdef, layout, params, x, missing):
    model = nnx.merge(graphdef, params)
    return apply_head(model(x, missing), layout)


def program_config(config: TrainConfig, n_rows: int) -> TrainConfig:
    """``config`` with the fields the compiled programs do not read reset, so fits that differ only in
    them (budget, step size, early stopping, hold-out size) share one compiled program: a fit and its warm
    refit run the same one. The step size and the length its schedule decays over are run-time inputs
    (:func:`schedule_plan`). An ``"auto"`` batch is made concrete for ``n_rows`` rows."""
    config = config.resolved(n_rows)
    block, _ = config.plan(n_rows)
    return replace(config, steps=None, learning_rate="auto", batch_size=config.rows_per_step(n_rows), epochs=block,
                   patience=1, validation_fraction=0.0, recurrent_weight=None, refill_steps=1, members=1)


def schedule_plan(config: TrainConfig, n_rows: int) -> jax.Array:
    """The run-time half of a fit's step-size schedule: (peak step size, total optimiser steps) of
    ``config`` on ``n_rows`` rows, as the float32 pair :func:`optimizer` reads."""
    config = config.resolved(n_rows)
    block, evaluations = config.plan(n_rows)
    return to_device([config.step_size(), block * evaluations * config.steps_per_epoch(n_rows)], np.float32)


def optimizer(config: TrainConfig, plan: jax.Array) -> optax.GradientTransformation:
    """Adam (AdamW when ``weight_decay`` > 0) with ``config``'s step-size schedule, its peak and length
    read from ``plan`` (:func:`schedule_plan`)."""
    lr = step_size_schedule(config.schedule, plan[0], plan[1])
    return optax.adamw(lr, weight_decay=config.weight_decay) if config.weight_decay > 0 else optax.adam(lr)


def _step_loss(graphdef, layout: Layout, config: TrainConfig, p, xb, ob, vb, k, fill):
    """The masked loss of one minibatch: hide a share of its observed cells, count the loss where asked."""
    m = nnx.merge(graphdef, p)
    k_hide, k_drop = jax.random.split(k)
    rate = config.corruption
    if config.corruption_spread:
        k_hide, k_rate = jax.random.split(k_hide)
        rate = jax.random.uniform(k_rate, (ob.shape[0], 1), maxval=min(2.0 * config.corruption, 0.99))
    by = config.corruption_by
    if config.corruption == 0:
        hidden = jnp.zeros_like(ob)
    elif isinstance(by, ImageDamage):
        hidden = by.hide(k_hide, ob, rate)
    else:
        hidden = hide_cells(k_hide, ob, layout, rate, None if by in ("auto", "cell") else by)
    x_in = jnp.where(hidden, fill, xb)
    scores = m(x_in, (~(ob & ~hidden)).astype(jnp.float32), key=k_drop)
    counted = hidden if config.target == "hidden" else ob
    w = (counted & vb[:, None]).astype(jnp.float32)
    loss_fn = reconstruction_loss(config.loss)
    total = jax.vmap(loss_fn, in_axes=(0, 0, 0, None))(scores, xb, w, layout).sum()
    return total / jnp.maximum(vb.sum(), 1.0) + weight_penalty(m, config.l1, config.l2)


def row_sharding(batch: int):
    """Data parallelism over local devices: each minibatch's rows split over every local device (the
    parameters replicated), or None on one device or when the batch does not split evenly."""
    devices = jax.local_devices()
    if len(devices) < 2 or batch % len(devices):
        return None
    mesh = Mesh(np.asarray(devices), ("rows",))
    return lambda ndim: NamedSharding(mesh, PartitionSpec("rows", *([None] * (ndim - 1))))


def _block_one(graphdef, layout: Layout, config: TrainConfig, p, s, cur, obs, k, fill, plan):
    """One member's ``config.epochs`` passes over the shuffled rows: a ``lax.scan`` over epochs of a
    ``lax.scan`` of optax steps over padded minibatches; returns the new state and the mean loss of the
    last epoch."""
    n = cur.shape[0]
    batch = min(config.batch_size, n)
    n_batches = math.ceil(n / batch)
    tx = optimizer(config, plan)
    valid = (jnp.arange(n_batches * batch) < n).reshape(n_batches, batch)

    rows = row_sharding(batch)

    def step(carry, inp):
        p, s = carry
        ib, vb, kb = inp
        xb, ob, vb = (x if rows is None else jax.lax.with_sharding_constraint(x, rows(x.ndim))
                      for x in (cur[ib], obs[ib], vb))
        loss, g = jax.value_and_grad(_step_loss, argnums=3)(graphdef, layout, config, p, xb, ob, vb, kb, fill)
        upd, s = tx.update(g, s, p)
        return (optax.apply_updates(p, upd), s), loss

    def epoch(carry, ke):
        k_perm, k_steps = jax.random.split(ke)
        perm = jax.random.permutation(k_perm, n)
        idx = jnp.concatenate([perm, perm[: n_batches * batch - n]]).reshape(n_batches, batch)
        carry, losses = jax.lax.scan(step, carry, (idx, valid, jax.random.split(k_steps, n_batches)))
        return carry, losses.mean()

    (p, s), losses = jax.lax.scan(epoch, (p, s), jax.random.split(k, config.epochs))
    return p, s, losses[-1]


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def block(graphdef, layout: Layout, config: TrainConfig, p, s, cur, obs, k, fill, plan):
    """:func:`_block_one` ``vmap``ped over the leading member axis of the parameters, optimiser states,
    tables, masks and keys (``fill`` and the schedule's ``plan`` shared): every member's block in one program.

    Module-level and keyed on static (model structure, layout, config), so every fit of the same shapes
    and settings reuses one compiled program.
    """
    one = functools.partial(_block_one, graphdef, layout, config)
    return jax.vmap(one, in_axes=(0, 0, 0, 0, 0, None, None))(p, s, cur, obs, k, fill, plan)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def evaluate(graphdef, layout: Layout, loss: str, shared: bool, p, cur, X, train_obs, held, fill):
    """Every member's whole-table prediction, observed-cell MAE and held-out loss (:func:`_evaluate_one`
    ``vmap``ped over the member axis; ``X`` and ``fill`` shared). The table is an argument, not a
    closed-over constant, so XLA does not fold it into the program. ``shared``: the working table ``cur``
    is the observed table with every other cell at ``fill`` (no recurrent refill), so the prediction
    and the held-out loss read one forward pass. A fit that holds nothing out gets a held-out loss of 0
    from the same program, so a fit and its refit (which holds nothing out) share it."""
    one = functools.partial(_evaluate_one, graphdef, layout, loss, shared)
    return jax.vmap(one, in_axes=(0, 0, None, 0, 0, None))(p, cur, X, train_obs, held, fill)


def _evaluate_one(graphdef, layout: Layout, loss: str, shared: bool, p, cur, X, train_obs, held, fill):
    """One member's prediction, observed-cell MAE and held-out loss (0 when nothing is held out)."""
    m = nnx.merge(graphdef, p)
    missing_in = (~train_obs).astype(jnp.float32)
    pass_cur = m(cur, missing_in)
    pred = apply_head(pass_cur, layout)
    trw = train_obs.astype(jnp.float32)
    mae = (jnp.abs(pred - X) * trw).sum() / jnp.maximum(trw.sum(), 1.0)
    scores = pass_cur if shared else m(jnp.where(train_obs, X, fill), missing_in)
    hw = held.astype(jnp.float32)
    loss_fn = reconstruction_loss(loss)
    val = jax.vmap(loss_fn, in_axes=(0, 0, 0, None))(scores, X, hw, layout).sum() / jnp.maximum(hw.sum(), 1.0)
    return pred, mae, val


__all__ = ["predict", "one_pass", "program_config", "schedule_plan", "optimizer", "row_sharding", "block", "evaluate"]
