"""Output heads: map raw scores (network logits or free inversion variables) into each column's domain.

One pure function per direction. :func:`apply_head` sends scores to values (identity for unbounded
numbers, sigmoid for [0, 1] numbers and flags, a softmax over each categorical one-hot group), and
:func:`inverse_head` sends values back to scores, which the inversion engine uses to start its free
variables from a given fill. Both work on the last axis, for one sample or a batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from invimpute.encoding.layout import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout

_EPS = 1e-6


def _group_exp(s: jax.Array, group: jax.Array, n_groups: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """For one row ``s`` (d,): the scores less their group's maximum, their exponentials, and each group's
    sum of those."""
    m = jax.ops.segment_max(s, group, num_segments=n_groups)
    shifted = s - m[group]
    e = jnp.exp(shifted)
    return shifted, e, jax.ops.segment_sum(e, group, num_segments=n_groups)


def group_softmax(
    scores: jax.Array, group: jax.Array, n_groups: int, temperature: float | jax.Array = 1.0
) -> jax.Array:
    """``softmax(scores / temperature)`` (..., d) within each group of columns named by ``group`` (d,).

    The one grouped softmax of the package: the categorical head, and (through
    :func:`invimpute.uncertainty.measures.apply_temperature`) temperature-scaled class probabilities.
    """
    if not (isinstance(temperature, (int, float)) and temperature == 1.0):
        scores = scores / temperature

    def one(s: jax.Array) -> jax.Array:
        _, e, z = _group_exp(s, group, n_groups)
        return e / z[group]

    flat = scores.reshape(-1, scores.shape[-1])
    return jax.vmap(one)(flat).reshape(scores.shape)


def group_log_softmax(scores: jax.Array, group: jax.Array, n_groups: int) -> jax.Array:
    """Log of :func:`group_softmax`, computed stably."""

    def one(s: jax.Array) -> jax.Array:
        shifted, _, z = _group_exp(s, group, n_groups)
        return shifted - jnp.log(z)[group]

    flat = scores.reshape(-1, scores.shape[-1])
    return jax.vmap(one)(flat).reshape(scores.shape)


def apply_head(scores: jax.Array, layout: Layout) -> jax.Array:
    """Values in each column's domain from the network's raw scores.

    Args:
      scores: raw output scores, (..., d).
      layout: each encoded column's kind and group.

    Returns:
      An array of ``scores``' shape: numeric columns as they are, unit and binary columns through a
      sigmoid, each categorical group through a softmax over its columns.
    """
    kind = jnp.asarray(layout.kind_array)
    out = jnp.where(kind == NUMERIC, scores, jax.nn.sigmoid(scores))
    if layout.has_categorical:
        soft = group_softmax(scores, jnp.asarray(layout.group_array), layout.n_groups)
        out = jnp.where(kind == CATEGORICAL, soft, out)
    return out


def inverse_head(values: jax.Array, layout: Layout) -> jax.Array:
    """Scores whose :func:`apply_head` gives back ``values`` (clipped into the open domain).

    For a categorical group the scores are log-probabilities, so any value on the simplex is reached.

    Args:
      values: values in each column's domain, (..., d).
      layout: each encoded column's kind and group.

    Returns:
      An array of ``values``' shape: numeric columns as they are, logits for unit and binary columns,
      log-probabilities for categorical groups.
    """
    kind = jnp.asarray(layout.kind_array)
    clipped = jnp.clip(values, _EPS, 1.0 - _EPS)
    logit = jnp.log(clipped) - jnp.log1p(-clipped)
    out = jnp.where(kind == NUMERIC, values, logit)
    return jnp.where(kind == CATEGORICAL, jnp.log(clipped), out)


def is_bounded(layout: Layout) -> jax.Array:
    """Boolean (d,): True where the column's values live in [0, 1]."""
    kind = jnp.asarray(layout.kind_array)
    return (kind == UNIT) | (kind == BINARY) | (kind == CATEGORICAL)
