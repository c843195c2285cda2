"""The settings and records of a training run: :class:`TrainConfig` (validated in one place), the
default budget (:func:`default_steps`), the step-size schedule, and what a fit returns (:class:`History`,
:class:`FitResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from invimpute.encoding.missingness import ImageDamage
from invimpute.models.losses import reconstruction_loss


SCHEDULES = ("constant", "cosine")
TARGETS = ("observed", "hidden")
CORRUPTION_UNITS = ("auto", "cell", "row", "mixed")
EVAL_INTERVAL = 100
"""Optimiser steps between two held-out evaluations when the budget is given in steps (at least one epoch)."""
EVAL_ROWS = 8192
"""Rows an evaluation reads (evenly spaced over the table) when the working table stays the observed one
(no recurrent refill): the held-out loss and the MAE are over their cells. An evaluation is a forward
pass, about a third of an epoch when it reads every row, and a table of more than 12,800 rows is
evaluated after every epoch, so reading every row made evaluations a quarter to a third of the fit's
time on letter (20,000 rows) and more on longer tables. Tables of at most this many rows read every row.
Chosen on development masks (MCAR 20%, seeds 3-5; ``benchmarks/results/eval_rows_dev.md``): at 8,192
rows auto's RMSE on letter and credit stayed within 0.1% of reading every row on every seed; at 4,096
the noisier held-out loss stopped credit's fits earlier (+0.2-0.3% RMSE on two seeds) and one of spam's
(+1.2%)."""


def eval_rows(n_rows: int) -> np.ndarray | None:
    """The rows an evaluation reads on a table of ``n_rows`` rows (see :data:`EVAL_ROWS`); None: all."""
    if n_rows <= EVAL_ROWS:
        return None
    return np.round(np.linspace(0, n_rows - 1, EVAL_ROWS)).astype(np.int32)
MIN_STEPS, MAX_STEPS, BUDGET_EPOCHS = 3_000, 10_000, 80
FLOOR_EPOCHS, LEAST_STEPS = 200, 500
"""The default budget (:func:`default_steps`): ``BUDGET_EPOCHS`` passes over the rows within
[floor, ``MAX_STEPS``] optimiser steps, where the floor is ``MIN_STEPS`` or, on a table too small for
``FLOOR_EPOCHS`` passes to reach it, those passes (at least ``LEAST_STEPS``). A fixed floor of 3,000
steps gave a 442-row table about 750 passes, most of them evaluations that early stopping then threw away;
but a floor of 80 passes cost accuracy on tables of 1,000-2,000 rows with much structure. Chosen on
development masks (MCAR 20%, seeds 3-6; ``benchmarks/results/speed_budget_dev.md``): wine, breast and
breast_diagnostic (178-699 rows) lost nothing with floors as low as 500 steps, while a 1,500-row sample of
letter lost 1.6-2.9% RMSE with 1,000 steps instead of 3,000. With these values (500-1,500 steps on those
three tables, 2,000 on a 1,000-row sample of letter) every table's mean RMSE stayed within 0.2% of the
3,000-step floor's. ``FLOOR_EPOCHS`` went from 250 to 200 passes on development masks (MCAR 20%, seeds 3-5;
``benchmarks/results/floor_dev.md``): breast, breast_diagnostic and 1,000- and 1,500-row samples of letter
and spam moved -0.3% to +0.1% in mean RMSE (150 passes cost the letter samples 0.3-0.6%), and repeated calls
on breast took 2.19 s instead of 2.50 s; tables of 1,793 rows and more keep their budget. ``MAX_STEPS``
caps tables of more than 16,000 rows (letter, 20,000 rows, would take 12,560): on credit (30,000 rows,
development masks MCAR 20%, seeds 3-5; ``benchmarks/results/max_steps_dev.md``) auto's mean RMSE moved
+0.20% at 12,800 steps and +0.03% at 10,000 against 16,000 (its held-out loss still falls slowly; the trees
and the Gaussian model carry much of credit's fill), while 10,000 steps cost letter 0.89% with 5% of its
cells held out. With 2.5% held out (:data:`~invimpute.methods.auto.MIN_HOLDOUT`) letter's mean RMSE at
10,000 steps is 0.2% below that of 12,560 steps with 5% and credit's within 0.1%
(``benchmarks/results/holdout_dev.md``), and its network's fit is a fifth shorter: the cap went from 12,800
to 10,000 for letter's time."""
LEARNING_RATE, IMAGE_LEARNING_RATE = 1e-3, 3e-3
"""Adam's step size under ``learning_rate="auto"``: on tables, and on images (the convolutional model
under mixed image damage). The image rate was chosen on the development split of scikit-learn's digits
(seed 1), where the 3,000-step fit at 1e-3 was short of converged: a band of 3 missing rows, reverse
training 0.8822 at 1e-3 against 0.8928 at 3e-3 (``benchmarks/results/image_defaults_dev.md``)."""
MIN_PATIENCE, MAX_PATIENCE, PATIENCE_SHARE = 5, 10, 8
"""The default patience: one evaluation in ``PATIENCE_SHARE`` of the fit's evaluations, within
[``MIN_PATIENCE``, ``MAX_PATIENCE``] (see :meth:`TrainConfig.stop_after`). Chosen on the held-out loss
histories of development masks (seed 5) of breast and breast_diagnostic: a patience of 3 or 4 stopped
breast_diagnostic's fit five evaluations before a better one, 5 did not; ten evaluations after breast's
best (its 8th of 30) were spent for nothing."""


BATCH_SIZE, MAX_BATCH, BATCH_STEPS = 128, 1024, 8
"""``batch_size="auto"``: :data:`BATCH_SIZE` rows per step, doubled (up to :data:`MAX_BATCH`) while an
epoch still has at least :data:`BATCH_STEPS` steps (:func:`auto_batch`): 128 rows below 2,048 rows, 512 on
spam (4,601), 1,024 on letter and credit. A larger batch uses a CPU's vector units better (on a 2-core CPU
a step of 512 rows of letter cost about twice one of 128, not four times); :func:`batch_scale` keeps the
budget in rows and the step size per row, so the fit sees the same passes over the data as at the
reference batch. Chosen on development masks (MCAR 20%, seeds 3-5; ``benchmarks/results/speed_batch_dev.md``):
against 128 rows, up to 1,024 rows lowered letter's mean RMSE 0.8% and raised credit's 0.2% and spam's 0.4%
(one seed of three), with auto 27% faster on letter; tables of 500-700 rows lost up to 0.2% at 256 rows
(``BATCH_STEPS=2``), so they keep the reference batch."""


def auto_batch(n_rows: int) -> int:
    """Rows per optimiser step under ``batch_size="auto"`` on a table of ``n_rows`` rows (see :data:`BATCH_SIZE`)."""
    batch = BATCH_SIZE
    while 2 * batch <= MAX_BATCH and n_rows >= BATCH_STEPS * 2 * batch:
        batch *= 2
    return batch


def batch_scale(batch_size: int | str, n_rows: int) -> float:
    """How many reference batches (:data:`BATCH_SIZE` rows) one step of ``batch_size="auto"`` is on
    ``n_rows`` rows (1 for a given batch size): such a fit takes this many times fewer steps (budget,
    evaluation interval) at this many times the step size (the linear scaling rule), so it passes over
    the rows as often as a fit at the reference batch."""
    if batch_size != "auto":
        return 1.0
    return max(1.0, min(auto_batch(n_rows), n_rows) / min(BATCH_SIZE, n_rows))


def default_steps(n_rows: int, batch_size: int | str) -> int:
    """The training budget when none is given: about ``BUDGET_EPOCHS`` passes over the rows, bounded to
    [floor, ``MAX_STEPS``] optimiser steps, the floor ``MIN_STEPS`` or ``FLOOR_EPOCHS`` passes where those
    are fewer (at least ``LEAST_STEPS``), so a 500-row and a 30,000-row table both get a real fit and a
    table of a few hundred rows is not trained for hundreds of passes (early stopping on held-out cells
    ends it sooner where more would not help). Under ``batch_size="auto"`` counted in steps of
    :data:`BATCH_SIZE` rows, and :func:`batch_scale` times fewer steps of the larger batch."""
    batch = BATCH_SIZE if batch_size == "auto" else int(batch_size)
    per_epoch = math.ceil(n_rows / max(1, min(batch, n_rows)))
    floor = min(MIN_STEPS, max(LEAST_STEPS, FLOOR_EPOCHS * per_epoch))
    steps = min(MAX_STEPS, max(floor, BUDGET_EPOCHS * per_epoch))
    return max(1, round(steps / batch_scale(batch_size, n_rows)))


def learning_rate_schedule(config: "TrainConfig", total_steps: int) -> optax.Schedule | float:
    """The step size of ``config`` over a fit of ``total_steps`` optimiser steps."""
    return step_size_schedule(config.schedule, config.step_size(), total_steps)


def step_size_schedule(schedule: str, peak, total_steps) -> optax.Schedule | float:
    """The step size over a fit of ``total_steps`` optimiser steps that peaks at ``peak``: constant, or
    (``"cosine"``) a linear warm-up over 5% of the steps (at most 1,000) then a cosine decay to zero, as
    ``optax.warmup_cosine_decay_schedule``. ``peak`` and ``total_steps`` may be traced values, so one
    compiled training program serves fits of any length and step size (a fit and its warm refit)."""
    if schedule == "constant":
        return peak
    total = jnp.asarray(total_steps, jnp.float32)
    warmup = jnp.clip(jnp.floor(total / 20), 1.0, 1000.0)
    decay = jnp.maximum(total - warmup, 1.0)

    def step_size(count):
        count = jnp.asarray(count, jnp.float32)
        rise = peak * count / warmup
        fall = 0.5 * peak * (1.0 + jnp.cos(jnp.pi * jnp.clip((count - warmup) / decay, 0.0, 1.0)))
        return jnp.where(count < warmup, rise, fall)

    return step_size


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
      batch_size: rows per optax step; ``"auto"``: sized to the table (:func:`auto_batch`, with the
        budget and step size kept per row by :func:`batch_scale`), :data:`BATCH_SIZE` on images.
      learning_rate: Adam's step size (``weight_decay`` > 0 switches to AdamW); ``"auto"``:
        :data:`LEARNING_RATE` on tables (times :func:`batch_scale`), :data:`IMAGE_LEARNING_RATE` on
        images (:meth:`resolved`).
      schedule: ``"cosine"``, a short linear warm-up then cosine decay to zero over the fit's steps, or
        ``"constant"``.
      weight_decay: AdamW's decoupled weight decay (0 for plain Adam).
      loss: ``"typed"`` (per-type CE/BCE/MSE) or ``"mse"`` (study 1's masked MSE).
      l1, l2: weight penalties on kernels.
      recurrent_weight: ``w`` of study 1's refill after every evaluation; None turns it off (the
        ``recurrent`` method sets 0.5 when it is None).
      refill_steps: iterations of that refill rule at imputation time (``recurrent``).
      corruption: fraction of observed cells hidden from the input at each step (denoising); 0 is off.
      corruption_by: what is hidden together: ``"auto"`` (``"mixed"`` on images, ``"cell"`` on tables),
        ``"cell"`` (each source column on its own, one-hot groups whole), ``"row"`` (whole pixel rows of
        images), ``"mixed"`` (images: per image one of scattered pixels, random rows, a band of rows or a
        rectangle, :class:`~invimpute.encoding.missingness.ImageDamage`), or a tuple naming the group of
        every encoded column.
      corruption_spread: draw each row's corruption rate uniformly from [0, 2 * corruption) instead of
        using ``corruption`` for every row, so training also sees rows as complete as those it imputes.
      target: which observed cells the loss counts: ``"hidden"`` (only those hidden by ``corruption``,
        the masked-prediction objective that matches imputation) or ``"observed"`` (all of them).
      validation_fraction: fraction of observed cells held out for early stopping; 0 is off.
      patience: evaluations without a better held-out loss before stopping; None sizes it from the fit's
        length (:meth:`stop_after`): a short fit on a small table, whose held-out loss turns early, stops
        after a few evaluations instead of spending ten more evaluation blocks that are then thrown away.
      members: autoencoders trained from split keys whose fills are averaged (an ensemble).
    """

    steps: int | None = None
    epochs: int | None = None
    batch_size: int | str = "auto"
    learning_rate: float | str = "auto"
    schedule: str = "cosine"
    weight_decay: float = 1e-4
    loss: str = "typed"
    l1: float = 0.0
    l2: float = 0.0
    recurrent_weight: float | None = None
    refill_steps: int = 50
    corruption: float = 0.25
    corruption_by: str | tuple[int, ...] | ImageDamage = "auto"
    corruption_spread: bool = False
    target: str = "hidden"
    validation_fraction: float = 0.1
    patience: int | None = None
    members: int = 1

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is out of range."""
        _positive_int("steps", self.steps, allow_none=True)
        _positive_int("epochs", self.epochs, allow_none=True)
        if self.steps is not None and self.epochs is not None:
            raise ValueError(f"give TrainConfig.steps or TrainConfig.epochs, not both (got steps={self.steps}, "
                             f"epochs={self.epochs})")
        if self.batch_size != "auto":
            _positive_int("batch_size", self.batch_size)
        for name in ("refill_steps", "members"):
            _positive_int(name, getattr(self, name))
        _positive_int("patience", self.patience, allow_none=True)
        if self.learning_rate != "auto" and (isinstance(self.learning_rate, bool) or not isinstance(
                self.learning_rate, (int, float, np.floating, np.integer)) or not self.learning_rate > 0):
            raise ValueError(f"TrainConfig.learning_rate must be a number > 0 or 'auto', got {self.learning_rate!r}")
        for name in ("weight_decay", "l1", "l2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not value >= 0:
                raise ValueError(f"TrainConfig.{name} must be a number >= 0, got {value!r}")
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
        if isinstance(by, ImageDamage):
            if by.height < 1 or by.width < 1:
                raise ValueError(f"TrainConfig.corruption_by: image damage needs a positive size, got {by}")
        elif not isinstance(by, str) and (len(by) == 0 or min(by) < 0):
            raise ValueError("TrainConfig.corruption_by must hold non-negative group indices, one per encoded column")
        if self.target not in TARGETS:
            raise ValueError(f"TrainConfig.target must be one of {TARGETS}, got {self.target!r}")
        if self.target == "hidden" and self.corruption == 0.0:
            raise ValueError("TrainConfig.target='hidden' needs corruption > 0: no cell would be hidden; "
                             "set target='observed' or corruption > 0")
        reconstruction_loss(self.loss)

    def rows_per_step(self, n_rows: int) -> int:
        """The batch of a fit on ``n_rows`` rows: ``batch_size``, or under ``"auto"`` :func:`auto_batch`."""
        return auto_batch(n_rows) if self.batch_size == "auto" else int(self.batch_size)

    def steps_per_epoch(self, n_rows: int) -> int:
        """Optimiser steps in one pass over ``n_rows`` rows (the last batch padded)."""
        return math.ceil(n_rows / min(self.rows_per_step(n_rows), n_rows))

    def plan(self, n_rows: int) -> tuple[int, int]:
        """(epochs per evaluation, evaluations) of a fit on ``n_rows`` rows: one epoch per evaluation when
        the budget is in epochs, else about :data:`EVAL_INTERVAL` steps per evaluation (of
        :data:`BATCH_SIZE` rows under ``batch_size="auto"``)."""
        per_epoch = self.steps_per_epoch(n_rows)
        if self.epochs is not None:
            return 1, self.epochs
        steps = self.steps if self.steps is not None else default_steps(n_rows, self.batch_size)
        interval = EVAL_INTERVAL / batch_scale(self.batch_size, n_rows)
        block = 1 if self.recurrent_weight is not None else max(1, round(interval / per_epoch))
        return block, max(1, math.ceil(steps / (block * per_epoch)))

    def step_size(self, image: bool = False, n_rows: int | None = None) -> float:
        """Adam's step size: ``learning_rate``, or under ``"auto"`` the default for tables (times
        :func:`batch_scale` on ``n_rows`` rows) or images."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if image:
            return IMAGE_LEARNING_RATE
        return LEARNING_RATE * (batch_scale(self.batch_size, n_rows) if n_rows else 1.0)

    def resolved(self, n_rows: int, image: bool = False) -> "TrainConfig":
        """This config with an ``"auto"`` step size made concrete for ``n_rows`` rows (of a table, or of
        images, which keep the reference batch): what the optimiser reads."""
        config = replace(self, batch_size=BATCH_SIZE) if image and self.batch_size == "auto" else self
        if config.learning_rate == "auto":
            config = replace(config, learning_rate=config.step_size(image, n_rows))
        return config

    def stop_after(self, n_rows: int) -> int:
        """The patience of a fit on ``n_rows`` rows: ``patience`` when given, else one evaluation in
        :data:`PATIENCE_SHARE` of the fit's, within [:data:`MIN_PATIENCE`, :data:`MAX_PATIENCE`]."""
        if self.patience is not None:
            return self.patience
        return int(min(MAX_PATIENCE, max(MIN_PATIENCE, self.plan(n_rows)[1] // PATIENCE_SHARE)))


@dataclass
class History:
    """Training record of one model, one entry per evaluation (what ``Imputer.history_`` is read from).

    Attributes:
      loss: the training loss, averaged over the last epoch before each evaluation.
      mae: the mean absolute error of the prediction on the observed cells the model trains on (those of
        the rows an evaluation reads, :func:`eval_rows`).
      val_loss: the loss on the observed cells held out for early stopping (empty when none are), over
        the rows an evaluation reads.
      best_epoch: the index of the evaluation whose parameters were kept.
      stopped_early: whether early stopping ended the fit before its budget.
    """

    loss: list[float] = field(default_factory=list)
    mae: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False


@dataclass
class FitResult:
    """What :func:`~invimpute.training.loop.fit` returns (one per member for
    :func:`~invimpute.training.loop.fit_members`).

    Attributes:
      model: the trained model (the one given, updated in place; its best held-out evaluation).
      history: its :class:`History`.
      filled: the table with missing entries refilled by the recurrent rule, or by the model's prediction.
      held: the observed cells held out of training for early stopping (all False when none were).
    """

    model: nnx.Module
    history: History
    filled: np.ndarray
    held: np.ndarray


__all__ = ["SCHEDULES", "TARGETS", "CORRUPTION_UNITS", "EVAL_INTERVAL", "EVAL_ROWS", "eval_rows", "MIN_STEPS", "MAX_STEPS", "BUDGET_EPOCHS",
           "BATCH_SIZE", "MAX_BATCH", "BATCH_STEPS", "auto_batch", "batch_scale",
           "FLOOR_EPOCHS", "LEAST_STEPS",
           "MIN_PATIENCE", "MAX_PATIENCE", "PATIENCE_SHARE",
           "LEARNING_RATE", "IMAGE_LEARNING_RATE", "default_steps", "learning_rate_schedule", "step_size_schedule", "TrainConfig", "History", "FitResult"]
