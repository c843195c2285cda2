"""Training autoencoders on incomplete data with masked losses.

:func:`fit_members` trains K models of one structure together (an ensemble): their parameters and optimiser
states are stacked along a leading member axis and every compiled program is ``jax.vmap``ped over it, so
K members cost one dispatch per evaluation block, not K. :func:`fit` is its one-member case. One
``jax.jit``-compiled program runs a block of epochs: the shuffle, the minibatch gathers and every optax
step happen inside it (a ``lax.scan`` over minibatches), and the per-epoch loss and MAE stay on the device
until the fit ends, so blocks are dispatched without waiting on the host (only early stopping reads its
held-out losses, one per member, each evaluation). The program is a module-level function keyed on the
model's structure, the layout and the settings it reads, so further fits of the same shapes (seeds of a
benchmark, calibration refits) reuse it instead of compiling again. Between evaluations it can do study
1's "recurrent" refill of the missing cells (``x_miss <- (1 - w) x_miss + w * prediction``), track the
observed-cell MAE, and stop early on a held-out slice of observed cells, keeping the best parameters.

Optional denoising (``corruption``): each step hides a random fraction of the observed cells (whole
categorical groups at a time) from the input and asks the model to reconstruct them, which teaches it
to fill cells from the others, the task imputation poses.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from invimpute.encoding.layout import Layout
from invimpute.encoding.missingness import ImageDamage, hide_cells
from invimpute.runtime.progress import open_stage
from invimpute.runtime.rows import uncommitted
from invimpute.training.config import (BUDGET_EPOCHS, CORRUPTION_UNITS, EVAL_INTERVAL, FLOOR_EPOCHS, LEAST_STEPS,
                                       MAX_STEPS, MIN_STEPS,
                                       SCHEDULES, TARGETS, FitResult, History, TrainConfig, default_steps,
                                       eval_rows, learning_rate_schedule)
from invimpute.training.programs import block, evaluate, one_pass, optimizer, predict, program_config, schedule_plan
from invimpute.runtime.arrays import to_device


def _check_inputs(X, observed, layout: Layout, config: TrainConfig) -> tuple[jax.Array, jax.Array]:
    config.validate()
    X = to_device(X, np.float32)
    observed = to_device(observed, bool)
    if X.shape != observed.shape:
        raise ValueError(f"observed has shape {observed.shape}, X has shape {X.shape}; they must match")
    if X.shape[1] != layout.width:
        raise ValueError(f"layout describes {layout.width} columns, X has {X.shape[1]}")
    by = config.corruption_by
    if by in ("row", "mixed"):
        raise ValueError(f"corruption_by={by!r} needs image input: the method resolves it for the image size "
                         "(a tuple of pixel-row groups, an ImageDamage); give fit one of those instead")
    if isinstance(by, ImageDamage):
        if by.height * by.width != X.shape[1]:
            raise ValueError(f"corruption_by={by} covers {by.height * by.width} pixels, X has {X.shape[1]} columns")
    elif not isinstance(by, str) and len(by) != X.shape[1]:
        raise ValueError(f"corruption_by has {len(by)} entries, X has {X.shape[1]} columns")
    return X, observed


@jax.jit
def _keep_best(best, params, improved: jax.Array):
    """``params`` for the members where ``improved`` (K,) is True, ``best`` for the others."""
    def pick(b, q):
        return jnp.where(improved.reshape((-1,) + (1,) * (q.ndim - 1)), q, b)

    return jax.tree.map(pick, best, params)


class _EarlyStop:
    """Per member: the best held-out loss so far, the evaluation it came from, and how many evaluations
    it has run; a member stops once ``patience`` evaluations passed without improvement."""

    def __init__(self, members: int, patience: int) -> None:
        self.best = np.full(members, np.inf)
        self.best_epoch = np.full(members, -1)
        self.bad = np.zeros(members, dtype=int)
        self.ran = np.zeros(members, dtype=int)
        self.active = np.ones(members, dtype=bool)
        self.patience = patience
        self.values: list[np.ndarray] = []

    def update(self, values: np.ndarray, index: int) -> np.ndarray:
        """Record evaluation ``index`` (held-out losses of every member; stopped members' are ignored) and
        return which members improved on it, whose parameters are to be kept."""
        improved = self.active & (values < self.best)
        self.values.append(values)
        self.ran += self.active
        self.best = np.where(improved, values, self.best)
        self.best_epoch = np.where(improved, index, self.best_epoch)
        self.bad = np.where(improved, 0, self.bad + self.active)
        self.active &= self.bad < self.patience
        return improved


@functools.partial(jax.jit, static_argnums=0)
def _start(program: TrainConfig, members: tuple, plan: jax.Array):
    """The members' parameters (pytrees of one structure) stacked on a leading member axis, and their
    optimiser states: one compiled program, where stacking and initialising eagerly would compile one small
    program per leaf."""
    params = jax.tree.map(lambda *a: jnp.stack(a), *members)
    return params, jax.vmap(optimizer(program, plan).init)(params)


@jax.jit
def _member(tree, i: int):
    """Member ``i``'s slice of a pytree stacked by :func:`_start` (``i`` traced: one program for every member)."""
    return jax.tree.map(lambda a: a[i], tree)


@functools.partial(jax.jit, static_argnames=("layout", "validating"))
def _hold_out(keys: jax.Array, X: jax.Array, observed: jax.Array, fill, fraction, layout: Layout, validating: bool):
    """Per member (one key each): its held-out cells (``fraction`` of the observed ones where
    ``validating``), training mask, starting table (the held-out and missing cells at ``fill``) and training
    key, in one program; the fraction is a run-time input, so fits that hold out different shares share it."""
    k_val, k_train = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
    if validating:
        held = jax.vmap(lambda k: hide_cells(k, observed, layout, fraction))(k_val)
    else:
        held = jnp.zeros((keys.shape[0],) + observed.shape, dtype=bool)
    train_obs = observed & ~held
    return held, train_obs, jnp.where(train_obs, X, fill), k_train


@functools.partial(jax.jit, static_argnums=1)
def _round_keys(k_train: jax.Array, evaluations: int) -> jax.Array:
    """(evaluations, members) keys: one per member for each evaluation block."""
    return jnp.moveaxis(jax.vmap(lambda k: jax.random.split(k, evaluations))(k_train), 1, 0)


@dataclass
class _Run:
    """The device state of one joint fit: the working tables, the masks and the stacked parameters."""

    X: jax.Array
    observed: jax.Array
    held: jax.Array
    train_obs: jax.Array
    current: jax.Array
    params: object
    opt_state: object
    fill: jax.Array
    plan: jax.Array


def _prepare(models: list, X, observed, layout: Layout, config: TrainConfig, keys, fill: float):
    """Check the arguments, draw every member's held-out cells and stack parameters and optimiser states."""
    X, observed = _check_inputs(X, observed, layout, config)
    if not models:
        raise ValueError("fit_members needs at least one model")
    keys = jnp.stack(list(keys)) if isinstance(keys, (list, tuple)) else keys
    if keys.shape[0] != len(models):
        raise ValueError(f"fit_members got {len(models)} models and {keys.shape[0]} keys; give one key per model")
    splits = [nnx.split(m) for m in models]
    graphdef = splits[0][0]
    if any(g != graphdef for g, _ in splits[1:]):
        raise ValueError("fit_members trains models of one structure together; these models differ")
    held, train_obs, current, k_train = _hold_out(keys, X, observed, np.float32(fill), config.validation_fraction,
                                                  layout, config.validation_fraction > 0)
    program, plan = program_config(config, X.shape[0]), schedule_plan(config, X.shape[0])
    params, opt_state = _start(program, tuple(p for _, p in splits), plan)
    run = _Run(X=X, observed=observed, held=held, train_obs=train_obs, current=current,
               params=params, opt_state=opt_state, fill=np.float32(fill), plan=plan)
    return graphdef, program, run, k_train


def _train(graphdef, layout: Layout, config: TrainConfig, program: TrainConfig, run: _Run, k_train,
           progress: bool):
    """The evaluation blocks until the budget is spent or every member stopped early; returns the early
    stopping record, the kept parameters and the per-evaluation (K,) losses and MAEs."""
    members = k_train.shape[0]
    validating = config.validation_fraction > 0
    shared = config.recurrent_weight is None  # the working table stays the observed one: one forward pass
    evaluate_all = functools.partial(evaluate, graphdef, layout, program.loss, shared)
    rows = eval_rows(run.X.shape[0]) if shared else None  # the working table is fixed: read a subset of rows
    tables = ((run.current, run.X, run.train_obs, run.held) if rows is None else
              (run.current[:, rows], run.X[rows], run.train_obs[:, rows], run.held[:, rows]))
    _, evaluations = config.plan(run.X.shape[0])
    stop, best = _EarlyStop(members, config.stop_after(run.X.shape[0])), run.params
    round_keys = _round_keys(k_train, evaluations)
    rounds = open_stage("training" if members == 1 else f"training {members} members", evaluations,
                        enabled=progress, unit="eval")
    w = config.recurrent_weight
    losses, maes = [], []  # device (K,) arrays, read once after the loop: blocks dispatch without waiting on the host
    for e, k in zip(range(evaluations), round_keys):
        run.params, run.opt_state, loss = block(graphdef, layout, program, run.params, run.opt_state, run.current,
                                                run.train_obs, k, run.fill, run.plan)
        pred, mae, val = evaluate_all(run.params, *tables, run.fill)
        if w is not None:
            moved = jnp.where(run.train_obs, run.X, (1.0 - w) * run.current + w * pred)
            run.current = moved if stop.active.all() else jnp.where(jnp.asarray(stop.active)[:, None, None], moved,
                                                                    run.current)
        losses.append(loss)
        maes.append(mae)
        rounds.update(1)
        if validating:
            best = _keep_best(best, run.params, to_device(stop.update(np.asarray(val), e)))
            if not stop.active.any():
                break
        if progress:
            rounds.set_postfix(loss=f"{float(loss.mean()):.4f}", mae=f"{float(mae.mean()):.4f}")
    rounds.close()  # the stage ends here, at the budget or at the early stop
    if not validating:
        best = run.params
    return stop, best, losses, maes, evaluate_all


def fit_members(
    models: Sequence[nnx.Module],
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    config: TrainConfig,
    keys: jax.Array | Sequence[jax.Array],
    fill: float = 0.0,
    *,
    progress: bool = False,
) -> list[FitResult]:
    """Train K ``models`` of one structure together, in place, on ``X`` (n, d) where ``observed`` holds values.

    ``keys`` holds one PRNG key per model (a stacked key array such as ``jax.random.split(key, K)``, or a
    sequence). Member ``i`` draws everything from ``keys[i]`` exactly as :func:`fit` does from its key:
    its own early-stopping slice of held-out cells, its own shuffles and corruption masks, so it trains
    the model :func:`fit` would (to float rounding: the programs are batched over members). Parameters
    and optimiser states are stacked along a leading member axis and each evaluation block is one
    compiled program over all members. Early stopping is per member: a member whose held-out loss has not
    improved for ``patience`` evaluations keeps its best parameters, its history ends there and its
    recurrent refill stops (its lane of the batched program still runs, its result is discarded); the fit
    ends when every member has stopped or the budget is spent. The working table, its masks and the
    parameters are held once per member on the device (K times one fit's memory).

    Args:
      models: K autoencoders of one structure (built alike, e.g. by :func:`~invimpute.models.networks.symmetric_mlp`).
      X: the encoded table, (n, d) float; missing entries may hold anything.
      observed: (n, d) bool, True where a value is present.
      layout: each encoded column's kind and group (:class:`~invimpute.encoding.layout.Layout`).
      config: the training settings (:class:`TrainConfig`).
      keys: one PRNG key per model: a stacked key array or a sequence.
      fill: the value missing and hidden entries take in the input.
      progress: show a progress bar of the evaluations.

    Returns:
      One :class:`FitResult` per model, in order (``model`` is the model given, updated).
    """
    models = list(models)
    graphdef, program, run, k_train = _prepare(models, X, observed, layout, config, keys, fill)
    members = len(models)
    stop, best, losses, maes, evaluate_all = _train(graphdef, layout, config, program, run, k_train, progress)
    loss_table, mae_table = (np.asarray(jax.device_get(vs), dtype=float).reshape(-1, members) for vs in (losses, maes))
    validating = config.validation_fraction > 0
    if validating:
        ran, best_epoch = stop.ran, stop.best_epoch
    else:
        ran = np.full(members, len(losses))
        best_epoch = ran - 1
    current = run.current
    if config.recurrent_weight is None:
        pred, _, _ = evaluate_all(best, current, run.X, run.train_obs, run.held, run.fill)
        current = np.where(np.asarray(run.train_obs), np.asarray(run.X), np.asarray(pred))
    filled, held = np.where(np.asarray(run.observed), np.asarray(run.X), np.asarray(current)), np.asarray(run.held)
    best = uncommitted(best)  # data-parallel training leaves them replicated over the devices; map_rows runs per device
    out = []
    for i, model in enumerate(models):
        n = int(ran[i])
        nnx.update(model, _member(best, i))
        history = History(loss=loss_table[:n, i].tolist(), mae=mae_table[:n, i].tolist(),
                          val_loss=[float(v[i]) for v in stop.values[:n]], best_epoch=int(best_epoch[i]),
                          stopped_early=bool(validating and not stop.active[i]))
        out.append(FitResult(model=model, history=history, filled=filled[i], held=held[i]))
    return out


def fit(
    model: nnx.Module,
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    config: TrainConfig,
    key: jax.Array,
    fill: float = 0.0,
    *,
    progress: bool = False,
) -> FitResult:
    """Train ``model`` in place on ``X`` (n, d) where ``observed`` (True where present) holds values: the
    one-member case of :func:`fit_members`.

    Args:
      model: the autoencoder to train.
      X: the encoded table, (n, d) float; missing entries may hold anything.
      observed: (n, d) bool, True where a value is present.
      layout: each encoded column's kind and group (:class:`~invimpute.encoding.layout.Layout`).
      config: the training settings (:class:`TrainConfig`).
      key: the PRNG key every draw of the fit derives from.
      fill: the value missing and hidden entries take in the input.
      progress: show a progress bar of the evaluations.

    Returns:
      A :class:`FitResult`: the trained model (best held-out evaluation when cells are held out), the
      history (one entry per evaluation: per epoch when the budget is in epochs, else about every
      :data:`EVAL_INTERVAL` steps), and the table with missing entries refilled by the recurrent rule
      (or the model's final prediction).
    """
    return fit_members([model], X, observed, layout, config, key[None], fill, progress=progress)[0]


__all__ = ["fit", "fit_members", "predict", "one_pass", "TrainConfig", "History", "FitResult", "default_steps",
           "learning_rate_schedule", "SCHEDULES", "TARGETS", "CORRUPTION_UNITS", "EVAL_INTERVAL", "MIN_STEPS",
           "MAX_STEPS", "BUDGET_EPOCHS", "FLOOR_EPOCHS", "LEAST_STEPS"]
