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
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from invimpute.models.heads import apply_head
from invimpute.encoding.layout import Layout
from invimpute.models.losses import reconstruction_loss
from invimpute.encoding.missingness import hide_cells
from invimpute.models.networks import weight_penalty
from invimpute.runtime.progress import open_stage
from invimpute.runtime.rows import map_rows, uncommitted


SCHEDULES = ("constant", "cosine")
TARGETS = ("observed", "hidden")
CORRUPTION_UNITS = ("cell", "row")
EVAL_INTERVAL = 100
"""Optimiser steps between two held-out evaluations when the budget is given in steps (at least one epoch)."""
MIN_STEPS, MAX_STEPS, BUDGET_EPOCHS = 3_000, 16_000, 80


def default_steps(n_rows: int, batch_size: int) -> int:
    """The training budget when none is given: about ``BUDGET_EPOCHS`` passes over the rows, bounded to
    [``MIN_STEPS``, ``MAX_STEPS``] optimiser steps, so a 500-row and a 30,000-row table both get a real fit
    (early stopping on held-out cells ends it sooner where more would not help)."""
    per_epoch = math.ceil(n_rows / max(1, min(batch_size, n_rows)))
    return int(min(MAX_STEPS, max(MIN_STEPS, BUDGET_EPOCHS * per_epoch)))


def learning_rate_schedule(config: "TrainConfig", total_steps: int) -> optax.Schedule | float:
    """The step size of ``config`` over a fit of ``total_steps`` optimiser steps."""
    if config.schedule == "constant":
        return config.learning_rate
    warmup = max(1, min(total_steps // 20, 1000))
    return optax.warmup_cosine_decay_schedule(0.0, config.learning_rate, warmup, max(total_steps, warmup + 1))


def _positive_int(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"TrainConfig.{name} must be an integer >= 1{' or None' if allow_none else ''}, got {value!r}")


def _fraction(name: str, value, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"TrainConfig.{name} must be a number, got {value!r}")
    if not ((0.0 < value) if low_open else (0.0 <= value)) or not value < 1.0:
        raise ValueError(f"TrainConfig.{name} must be in {'(0' if low_open else '[0'}, 1), got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`fit`; the defaults are the library's masked-prediction training.

    Attributes:
      steps: the budget in optimiser steps; None sizes it from the table (:func:`default_steps`).
      epochs: passes over the data instead of ``steps`` (give one or the other); held-out evaluation,
        early stopping and the recurrent refill then happen once per epoch.
      batch_size: rows per optax step.
      learning_rate: Adam's step size (``weight_decay`` > 0 switches to AdamW).
      schedule: ``"cosine"``, a short linear warm-up then cosine decay to zero over the fit's steps, or
        ``"constant"``.
      weight_decay: AdamW's decoupled weight decay (0 for plain Adam).
      loss: ``"typed"`` (per-type CE/BCE/MSE) or ``"mse"`` (study 1's masked MSE).
      l1, l2: weight penalties on kernels.
      recurrent_weight: ``w`` of study 1's refill after every evaluation; None turns it off (the
        ``recurrent`` method sets 0.5 when it is None).
      refill_steps: iterations of that refill rule at imputation time (``recurrent``).
      corruption: fraction of observed cells hidden from the input at each step (denoising); 0 is off.
      corruption_by: what is hidden together: ``"cell"`` (each source column on its own, one-hot groups
        whole), ``"row"`` (whole pixel rows of images) or a tuple naming the group of every encoded column.
      corruption_spread: draw each row's corruption rate uniformly from [0, 2 * corruption) instead of
        using ``corruption`` for every row, so training also sees rows as complete as those it imputes.
      target: which observed cells the loss counts: ``"hidden"`` (only those hidden by ``corruption``,
        the masked-prediction objective that matches imputation) or ``"observed"`` (all of them).
      validation_fraction: fraction of observed cells held out for early stopping; 0 is off.
      patience: evaluations without a better held-out loss before stopping.
      members: autoencoders trained from split keys whose fills are averaged (an ensemble).
    """

    steps: int | None = None
    epochs: int | None = None
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    weight_decay: float = 1e-4
    loss: str = "typed"
    l1: float = 0.0
    l2: float = 0.0
    recurrent_weight: float | None = None
    refill_steps: int = 50
    corruption: float = 0.25
    corruption_by: str | tuple[int, ...] = "cell"
    corruption_spread: bool = False
    target: str = "hidden"
    validation_fraction: float = 0.1
    patience: int = 10
    members: int = 1

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is out of range."""
        _positive_int("steps", self.steps, allow_none=True)
        _positive_int("epochs", self.epochs, allow_none=True)
        if self.steps is not None and self.epochs is not None:
            raise ValueError(f"give TrainConfig.steps or TrainConfig.epochs, not both (got steps={self.steps}, "
                             f"epochs={self.epochs})")
        for name in ("batch_size", "refill_steps", "patience", "members"):
            _positive_int(name, getattr(self, name))
        for name in ("learning_rate", "weight_decay", "l1", "l2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not value >= 0:
                raise ValueError(f"TrainConfig.{name} must be a number >= 0, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig.learning_rate must be > 0, got {self.learning_rate!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.recurrent_weight is not None and not 0.0 < self.recurrent_weight <= 1.0:
            raise ValueError(f"TrainConfig.recurrent_weight must be in (0, 1], got {self.recurrent_weight}")
        _fraction("corruption", self.corruption)
        _fraction("validation_fraction", self.validation_fraction)
        by = self.corruption_by
        if isinstance(by, str) and by not in CORRUPTION_UNITS:
            raise ValueError(f"TrainConfig.corruption_by must be one of {CORRUPTION_UNITS} or a tuple of group "
                             f"indices, got {by!r}")
        if not isinstance(by, str) and (len(by) == 0 or min(by) < 0):
            raise ValueError("TrainConfig.corruption_by must hold non-negative group indices, one per encoded column")
        if self.target not in TARGETS:
            raise ValueError(f"TrainConfig.target must be one of {TARGETS}, got {self.target!r}")
        if self.target == "hidden" and self.corruption == 0.0:
            raise ValueError("TrainConfig.target='hidden' needs corruption > 0: no cell would be hidden; "
                             "set target='observed' or corruption > 0")
        reconstruction_loss(self.loss)

    def plan(self, n_rows: int) -> tuple[int, int]:
        """(epochs per evaluation, evaluations) of a fit on ``n_rows`` rows: one epoch per evaluation when
        the budget is in epochs, else about :data:`EVAL_INTERVAL` steps per evaluation."""
        per_epoch = math.ceil(n_rows / min(self.batch_size, n_rows))
        if self.epochs is not None:
            return 1, self.epochs
        steps = self.steps if self.steps is not None else default_steps(n_rows, self.batch_size)
        block = 1 if self.recurrent_weight is not None else max(1, round(EVAL_INTERVAL / per_epoch))
        return block, max(1, math.ceil(steps / (block * per_epoch)))


@dataclass
class History:
    """Training record, one entry per evaluation: loss, observed-cell MAE and (when held out) the held-out
    loss; ``best_epoch`` is the index of the kept evaluation."""

    loss: list[float] = field(default_factory=list)
    mae: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model, its history, the refilled table, and the observed cells
    held out of training for early stopping (all False when none were)."""

    model: nnx.Module
    history: History
    filled: np.ndarray
    held: np.ndarray


def predict(model: nnx.Module, x: jax.Array, missing: jax.Array, layout: Layout, batch_size: int = 4096) -> jax.Array:
    """Deterministic values ``apply_head(model(x, missing))`` for a whole table, in fixed-size chunks."""
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


def _program_config(config: TrainConfig, n_rows: int) -> TrainConfig:
    """``config`` with the fields the compiled programs do not read reset, so fits that differ only in
    them (budget, early stopping, hold-out size) share one compiled program. A schedule reads the fit's
    length, so it is kept as ``steps`` (the total the schedule decays over)."""
    block, evaluations = config.plan(n_rows)
    per_epoch = math.ceil(n_rows / min(config.batch_size, n_rows))
    steps = block * evaluations * per_epoch if config.schedule != "constant" else None
    return replace(config, steps=steps, epochs=block, patience=1, validation_fraction=0.0,
                   recurrent_weight=None, refill_steps=1, members=1)


def _optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """Adam (AdamW when ``weight_decay`` > 0) with ``config``'s step-size schedule over the whole fit."""
    lr = learning_rate_schedule(config, config.steps or 1)
    return optax.adamw(lr, weight_decay=config.weight_decay) if config.weight_decay > 0 else optax.adam(lr)


def _step_loss(graphdef, layout: Layout, config: TrainConfig, p, xb, ob, vb, k, fill):
    """The masked loss of one minibatch: hide a share of its observed cells, count the loss where asked."""
    m = nnx.merge(graphdef, p)
    k_hide, k_drop = jax.random.split(k)
    rate = config.corruption
    if config.corruption_spread:
        k_hide, k_rate = jax.random.split(k_hide)
        rate = jax.random.uniform(k_rate, (ob.shape[0], 1), maxval=min(2.0 * config.corruption, 0.99))
    groups = None if config.corruption_by == "cell" else config.corruption_by
    hidden = hide_cells(k_hide, ob, layout, rate, groups) if config.corruption > 0 else jnp.zeros_like(ob)
    x_in = jnp.where(hidden, fill, xb)
    scores = m(x_in, (~(ob & ~hidden)).astype(jnp.float32), key=k_drop)
    counted = hidden if config.target == "hidden" else ob
    w = (counted & vb[:, None]).astype(jnp.float32)
    loss_fn = reconstruction_loss(config.loss)
    total = jax.vmap(loss_fn, in_axes=(0, 0, 0, None))(scores, xb, w, layout).sum()
    return total / jnp.maximum(vb.sum(), 1.0) + weight_penalty(m, config.l1, config.l2)


def _row_sharding(batch: int):
    """Data parallelism over local devices: each minibatch's rows split over every local device (the
    parameters replicated), or None on one device or when the batch does not split evenly."""
    devices = jax.local_devices()
    if len(devices) < 2 or batch % len(devices):
        return None
    mesh = Mesh(np.asarray(devices), ("rows",))
    return lambda ndim: NamedSharding(mesh, PartitionSpec("rows", *([None] * (ndim - 1))))


def _block_one(graphdef, layout: Layout, config: TrainConfig, p, s, cur, obs, k, fill):
    """One member's ``config.epochs`` passes over the shuffled rows: a ``lax.scan`` over epochs of a
    ``lax.scan`` of optax steps over padded minibatches; returns the new state and the mean loss of the
    last epoch."""
    n = cur.shape[0]
    batch = min(config.batch_size, n)
    n_batches = math.ceil(n / batch)
    tx = _optimizer(config)
    valid = (jnp.arange(n_batches * batch) < n).reshape(n_batches, batch)

    rows = _row_sharding(batch)

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
def _block(graphdef, layout: Layout, config: TrainConfig, p, s, cur, obs, k, fill):
    """:func:`_block_one` ``vmap``ped over the leading member axis of the parameters, optimiser states,
    tables, masks and keys (``fill`` shared): every member's block in one program.

    Module-level and keyed on static (model structure, layout, config), so every fit of the same shapes
    and settings reuses one compiled program.
    """
    one = functools.partial(_block_one, graphdef, layout, config)
    return jax.vmap(one, in_axes=(0, 0, 0, 0, 0, None))(p, s, cur, obs, k, fill)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _evaluate(graphdef, layout: Layout, loss: str, validating: bool, p, cur, X, train_obs, held, fill):
    """Every member's whole-table prediction, observed-cell MAE and held-out loss (:func:`_evaluate_one`
    ``vmap``ped over the member axis; ``X`` and ``fill`` shared). The table is an argument, not a
    closed-over constant, so XLA does not fold it into the program."""
    one = functools.partial(_evaluate_one, graphdef, layout, loss, validating)
    return jax.vmap(one, in_axes=(0, 0, None, 0, 0, None))(p, cur, X, train_obs, held, fill)


def _evaluate_one(graphdef, layout: Layout, loss: str, validating: bool, p, cur, X, train_obs, held, fill):
    """One member's prediction, observed-cell MAE and held-out loss (0 when nothing is held out)."""
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


def _check_inputs(X, observed, layout: Layout, config: TrainConfig) -> tuple[jax.Array, jax.Array]:
    config.validate()
    X = jnp.asarray(X, dtype=jnp.float32)
    observed = jnp.asarray(observed, dtype=bool)
    if X.shape != observed.shape:
        raise ValueError(f"observed has shape {observed.shape}, X has shape {X.shape}; they must match")
    if X.shape[1] != layout.width:
        raise ValueError(f"layout describes {layout.width} columns, X has {X.shape[1]}")
    by = config.corruption_by
    if by == "row":
        raise ValueError("corruption_by='row' needs image input: the method resolves it into one group per "
                         "pixel row; give fit a tuple of groups instead")
    if not isinstance(by, str) and len(by) != X.shape[1]:
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


def _stack(trees: Sequence):
    """The pytrees ``trees`` (one per member, same structure) as one with a leading member axis."""
    return jax.tree.map(lambda *a: jnp.stack(a), *trees)


def _member(tree, i: int):
    """Member ``i``'s slice of a pytree stacked by :func:`_stack`."""
    return jax.tree.map(lambda a: a[i], tree)


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
    X, observed = _check_inputs(X, observed, layout, config)
    models = list(models)
    if not models:
        raise ValueError("fit_members needs at least one model")
    keys = jnp.stack(list(keys)) if isinstance(keys, (list, tuple)) else keys
    if keys.shape[0] != len(models):
        raise ValueError(f"fit_members got {len(models)} models and {keys.shape[0]} keys; give one key per model")
    splits = [nnx.split(m) for m in models]
    graphdef = splits[0][0]
    if any(g != graphdef for g, _ in splits[1:]):
        raise ValueError("fit_members trains models of one structure together; these models differ")
    members = len(models)
    k_val, k_train = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
    validating = config.validation_fraction > 0
    if validating:
        held = jax.vmap(lambda k: hide_cells(k, observed, layout, config.validation_fraction))(k_val)
    else:
        held = jnp.zeros((members,) + observed.shape, dtype=bool)
    train_obs = observed & ~held
    current = jnp.where(train_obs, X, fill)
    program = _program_config(config, X.shape[0])
    params = _stack([p for _, p in splits])
    opt_state = jax.vmap(_optimizer(program).init)(params)
    fill = jnp.float32(fill)
    evaluate = functools.partial(_evaluate, graphdef, layout, program.loss, validating)
    _, evaluations = config.plan(X.shape[0])
    stop, best = _EarlyStop(members, config.patience), params
    round_keys = jnp.moveaxis(jax.vmap(lambda k: jax.random.split(k, evaluations))(k_train), 1, 0)
    rounds = open_stage("training" if members == 1 else f"training {members} members", evaluations,
                        enabled=progress, unit="eval")
    w = config.recurrent_weight
    losses, maes = [], []  # device (K,) arrays, read once after the loop: blocks dispatch without waiting on the host
    for e, k in zip(range(evaluations), round_keys):
        params, opt_state, loss = _block(graphdef, layout, program, params, opt_state, current, train_obs, k, fill)
        pred, mae, val = evaluate(params, current, X, train_obs, held, fill)
        if w is not None:
            moved = jnp.where(train_obs, X, (1.0 - w) * current + w * pred)
            current = moved if stop.active.all() else jnp.where(jnp.asarray(stop.active)[:, None, None], moved, current)
        losses.append(loss)
        maes.append(mae)
        rounds.update(1)
        if validating:
            best = _keep_best(best, params, jnp.asarray(stop.update(np.asarray(val), e)))
            if not stop.active.any():
                break
        if progress:
            rounds.set_postfix(loss=f"{float(loss.mean()):.4f}", mae=f"{float(mae.mean()):.4f}")
    rounds.close()  # the stage ends here, at the budget or at the early stop
    loss_table, mae_table = (np.asarray(jax.device_get(vs), dtype=float).reshape(-1, members) for vs in (losses, maes))
    if validating:
        ran, best_epoch = stop.ran, stop.best_epoch
    else:
        best, ran = params, np.full(members, len(losses))
        best_epoch = ran - 1
    if w is None:
        pred, _, _ = evaluate(best, current, X, train_obs, held, fill)
        current = jnp.where(train_obs, X, pred)
    filled, held = np.asarray(jnp.where(observed, X, current)), np.asarray(held)
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
