"""Reverse training chosen per batch: candidates scored on pseudo-damage built from the batch's own damage.

A model trained on one kind of damage may repair another kind best by its one pass, by reverse training
in input mode, or in latent mode, and which one wins depends on the damage, which is not known at
transform time. :func:`invert_validated` measures it on the batch itself: row ``i`` additionally hides
its observed cells that are missing in row ``pi(i)`` of a seeded permutation of the batch, so the extra
held-out cells are laid out as the real damage is (rows of pixels, groups of columns, scattered cells)
without being told which. Every candidate repairs that doubly damaged batch, is scored on the extra
cells with the rules of :mod:`invimpute.scoring.selection` (per column, or pooled), and the chosen fill or blend
is then computed on the real batch. The one pass plays the part column means play elsewhere: the floor
no column's fill may score worse than. Column means are no candidate: the doubled damage makes every
model fill less certain than on the real batch, so blends fitted there lean on the means more than the
real batch warrants (on digits, a grey shift that costs binarised accuracy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import jax
import numpy as np
from flax import nnx

from invimpute.inversion.batch import check_inputs, invert
from invimpute.encoding.layout import Layout
from invimpute.scoring.selection import ColumnChoice, blend, choose_columns, pooled_weights, seeded_rng, weight_matrix
from invimpute.inversion.solver import InversionConfig
from invimpute.training.loop import one_pass

ONE_PASS = "one_pass"
"""The name of the model's one-pass fill among the candidates."""
CANDIDATES: Mapping[str, InversionConfig] = MappingProxyType({
    "reverse": InversionConfig(),
    "latent": InversionConfig(mode="latent"),
})
"""The reverse-training candidates scored beside the one pass (read-only: it is a default argument)."""


@dataclass
class ValidatedInversion:
    """What :func:`invert_validated` returns.

    Attributes:
      x: the repaired rows, (n, width); observed entries bit-identical to the input.
      names: the candidates' names (the one pass, then the keys of ``configs``).
      weights: each candidate's weight in each encoded column, (candidates, width).
      choices: the per-column choices (:class:`~invimpute.scoring.selection.ColumnChoice`), or None when
        one pooled choice was made per column kind.
      held: the pseudo-damage's held-out cells the candidates were scored on, (n, width).
    """

    x: np.ndarray
    names: list[str]
    weights: np.ndarray
    choices: list[ColumnChoice] | None
    held: np.ndarray


def pseudo_damage(observed: np.ndarray, key: jax.Array) -> np.ndarray:
    """(n, d) extra cells to hide: row ``i``'s observed cells that are missing in row ``pi(i)`` of a seeded
    permutation ``pi`` of the rows; a row that would lose every observed cell hides none."""
    perm = np.asarray(jax.random.permutation(key, observed.shape[0]))
    extra = observed & ~observed[perm]
    keeps_one = (observed & ~extra).any(axis=1, keepdims=True)
    return extra & keeps_one


def candidate_fills(model: nnx.Module, X: np.ndarray, observed: np.ndarray, layout: Layout,
                    configs: Mapping[str, InversionConfig], names: list[str], key: jax.Array) -> dict[str, np.ndarray]:
    """The fill of each candidate in ``names``: the one pass, reverse training under ``configs``."""
    out = {}
    if ONE_PASS in names:
        out[ONE_PASS] = one_pass(model, X, observed, layout)
    for i, (name, config) in enumerate(configs.items()):
        if name in names:
            out[name] = invert(model, X, observed, layout, config, jax.random.fold_in(key, i)).x
    return out


def pooled_choice(names: list[str], preds: np.ndarray, X: np.ndarray, held: np.ndarray, layout: Layout,
                  incumbent: str | None) -> np.ndarray:
    """(candidates, width) weights pooled over every column of a kind (numeric, categorical) by
    :func:`~invimpute.scoring.selection.pooled_weights`, the one pass its floor (and the fill of a kind with no
    held-out cell)."""
    group = layout.group_array
    W = np.zeros((len(names), len(group)), np.float32)
    floor = np.eye(len(names))[names.index(ONE_PASS)]
    for categorical in (False, True):
        groups = [g for g in range(int(group.max()) + 1) if ((group == g).sum() > 1) == categorical]
        if not groups:
            continue
        cols = [np.flatnonzero(group == g) for g in groups]
        rows = [held[:, c].all(axis=1) for c in cols]
        w = pooled_weights(names, [preds[r][:, c, :] for r, c in zip(rows, cols)],
                           [X[r][:, c] for r, c in zip(rows, cols)], incumbent, baseline=ONE_PASS)
        w = floor if w is None else w
        for c in cols:
            W[:, c] = np.asarray(w, np.float32)[:, None]
    return W


def invert_validated(
    model: nnx.Module,
    X: np.ndarray,
    observed: np.ndarray,
    layout: Layout,
    configs: Mapping[str, InversionConfig] = CANDIDATES,
    key: jax.Array | int = 0,
    *,
    incumbent: str | None = None,
    pool: bool = False,
) -> ValidatedInversion:
    """Repair the rows of ``X`` (n, d) by the candidate, or blend, that repairs this batch's own damage best.

    The candidates are the model's one pass and reverse training under each of ``configs`` (name ->
    :class:`~invimpute.inversion.solver.InversionConfig`). They are scored on :func:`pseudo_damage` cells hidden
    from a copy of the batch, and chosen per column by :func:`~invimpute.scoring.selection.choose_columns`
    (columns with too few held-out cells pooled), or, with ``pool``, by one choice over all columns of a
    kind (:func:`~invimpute.scoring.selection.pooled_weights`), the one pass as the floor no column's fill may
    score worse than there. ``incumbent``, when named, is kept unless another fill beats it clearly; by
    default the best fill or blend on the held-out cells wins. A batch with no held-out cell (a single
    row, or rows that share one pattern of damage) gets the one pass.
    Unlike :func:`~invimpute.inversion.batch.invert`, whose repair of a row depends on that row alone, the
    choice here depends on the whole batch: the same row may be repaired differently in another batch.

    Args:
      model, X, observed, layout: as for :func:`~invimpute.inversion.batch.invert`.
      configs: the reverse-training candidates, name -> :class:`~invimpute.inversion.solver.InversionConfig`.
      key: a PRNG key or an int seed that decides the permutation, the reverse trainings and the
        cross-fitting.
      incumbent: a candidate kept unless another beats it clearly; None lets the best fill or blend win.
      pool: make one choice per column kind instead of one per column.

    Returns:
      A :class:`ValidatedInversion`: the repaired rows, the candidates' weights and choices.
    """
    X = np.asarray(X, np.float32)
    observed = np.asarray(observed, bool)
    if not isinstance(configs, Mapping) or not configs:
        raise ValueError("configs must be a non-empty mapping of candidate name -> InversionConfig")
    for name, config in configs.items():
        if not isinstance(config, InversionConfig):
            raise TypeError(f"configs[{name!r}] must be an InversionConfig, got {type(config).__name__}")
        if name == ONE_PASS:
            raise ValueError(f"candidate name {ONE_PASS!r} is taken by the one pass")
        check_inputs(model, X, observed, layout, config)
        if config.init == "fill":
            raise ValueError(f"configs[{name!r}] has init='fill': the cells hidden from the batch to score it would "
                             f"start from their own values; use init='model' or 'mean'")
    names = [ONE_PASS, *configs]
    if incumbent is not None and incumbent not in names:
        raise ValueError(f"incumbent {incumbent!r} is not a candidate; choose one of {names} or None")
    key = jax.random.key(key) if isinstance(key, (int, np.integer)) else key
    k_perm, k_val, k_sel, k_run = jax.random.split(key, 4)
    held = pseudo_damage(observed, k_perm)
    fills = candidate_fills(model, X, observed & ~held, layout, configs, names, k_val)
    preds = np.stack([fills[n] for n in names], axis=-1)
    if pool or not held.any():
        choices, W = None, pooled_choice(names, preds, X, held, layout, incumbent)
    else:
        choices = choose_columns(names, preds, X, held, layout.group_array, seeded_rng(k_sel),
                                 incumbent=incumbent, baseline=ONE_PASS)
        W = weight_matrix(names, choices, layout.group_array)
    used = [n for c, n in enumerate(names) if np.any(W[c] > 0)]
    filled = blend(W, candidate_fills(model, X, observed, layout, configs, used, k_run), names)
    return ValidatedInversion(x=np.where(observed, X, filled).astype(np.float32), names=names, weights=W,
                              choices=choices, held=held)


__all__ = ["ValidatedInversion", "invert_validated", "pseudo_damage", "candidate_fills", "pooled_choice",
           "CANDIDATES", "ONE_PASS"]
