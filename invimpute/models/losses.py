"""Masked reconstruction losses: pure functions of (scores, target, weight, layout).

``weight`` is 1 on the entries that count (the observed ones, say) and 0 elsewhere, so every loss
counts observed entries only. Two families:

- :func:`masked_mse`: the reference of study 1, squared error of the head's values on weighted entries.
- :func:`typed_loss`: the loss that fits each column type: softmax cross-entropy over each categorical
  one-hot group, binary cross-entropy for flags and for numbers scaled into [0, 1] (soft targets), squared
  error for unbounded numbers.

Binary cross-entropy with a soft target ``t`` is minimised, like squared error, by the conditional mean,
but its gradient in the logit is ``sigmoid(z) - t``, which never vanishes; squared error through a
sigmoid does vanish once the logit saturates, and on heavy-tailed columns scaled into [0, 1] (most values
near 0) training then collapses to predicting 0.

Both return the mean over counted cells (a categorical group counts as one cell), so their scale does
not depend on the batch size or the missing rate.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from invimpute.models.heads import apply_head, group_log_softmax
from invimpute.encoding.layout import BINARY, CATEGORICAL, UNIT, Layout

LOSSES = ("typed", "mse")


def masked_mse(scores: jax.Array, target: jax.Array, weight: jax.Array, layout: Layout) -> jax.Array:
    """Mean squared error of ``apply_head(scores)`` against ``target`` over weighted entries (study 1's loss).

    Args:
      scores: raw network scores, (d,) or (n, d).
      target: the encoded values, same shape.
      weight: how much each entry counts (1 on the cells the loss sees, 0 elsewhere), same shape.
      layout: each encoded column's kind and group.

    Returns:
      A scalar: the weighted squared error divided by the total weight (at least 1).
    """
    err = jnp.square(apply_head(scores, layout) - target)
    return (err * weight).sum() / jnp.maximum(weight.sum(), 1.0)


def per_entry_typed(scores: jax.Array, target: jax.Array, layout: Layout) -> jax.Array:
    """Per-entry terms of :func:`typed_loss`: CE, BCE (flags and [0, 1] numbers) or squared error by kind.

    For a categorical group only the target's entries carry the group's cross-entropy (soft targets
    spread it), so summing a group's entries gives its cross-entropy once.
    """
    kind = jnp.asarray(layout.kind_array)
    values = apply_head(scores, layout)
    sq = jnp.square(values - target)
    bce = jnp.maximum(scores, 0.0) - scores * target + jnp.log1p(jnp.exp(-jnp.abs(scores)))
    out = jnp.where((kind == BINARY) | (kind == UNIT), bce, sq)
    if layout.has_categorical:
        logp = group_log_softmax(scores, jnp.asarray(layout.group_array), layout.n_groups)
        out = jnp.where(kind == CATEGORICAL, -target * logp, out)
    return out


def cell_count(target: jax.Array, weight: jax.Array, layout: Layout) -> jax.Array:
    """How many cells the weighted entries make: a categorical group counts once (by its target mass)."""
    kind = jnp.asarray(layout.kind_array)
    per = jnp.where(kind == CATEGORICAL, target, 1.0)
    return (per * weight).sum()


def typed_loss(scores: jax.Array, target: jax.Array, weight: jax.Array, layout: Layout) -> jax.Array:
    """The loss that fits each column's type, averaged over weighted cells: cross-entropy for a
    categorical group, binary cross-entropy for flags and [0, 1] columns, squared error for numbers.

    Args:
      scores: raw network scores, (d,) or (n, d).
      target: the encoded values, same shape (one-hot, possibly soft, in categorical groups).
      weight: how much each entry counts (1 on the cells the loss sees, 0 elsewhere), same shape.
      layout: each encoded column's kind and group.

    Returns:
      A scalar: the weighted sum of the per-entry terms divided by the number of weighted cells (a
      categorical group counts as one cell).
    """
    total = (per_entry_typed(scores, target, layout) * weight).sum()
    return total / jnp.maximum(cell_count(target, weight, layout), 1.0)


def reconstruction_loss(name: str) -> Callable[[jax.Array, jax.Array, jax.Array, Layout], jax.Array]:
    """The loss function called ``name`` (``"typed"`` or ``"mse"``)."""
    if name == "typed":
        return typed_loss
    if name == "mse":
        return masked_mse
    raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")
