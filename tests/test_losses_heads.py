"""Tests for invimpute.models.heads (output heads and their inverse) and invimpute.models.losses (masked losses)."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from invimpute import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout, apply_head, inverse_head, masked_mse, typed_loss
from invimpute.models.heads import group_log_softmax, group_softmax, is_bounded
from invimpute.models.losses import cell_count, reconstruction_loss

# two categorical groups (3-way and 2-way), a flag, an unbounded number, a [0, 1] number
LAYOUT = Layout(
    kind=(CATEGORICAL,) * 3 + (CATEGORICAL,) * 2 + (BINARY, NUMERIC, UNIT),
    group=(0, 0, 0, 1, 1, 2, 3, 4),
)


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


# ---- heads -------------------------------------------------------------------------------------
def test_group_softmax_sums_to_one_per_group():
    key = jax.random.key(0)
    scores = 3.0 * jax.random.normal(key, (2, 4, LAYOUT.width))
    group = jnp.asarray(LAYOUT.group_array)
    p = group_softmax(scores, group, LAYOUT.n_groups)
    chex.assert_shape(p, scores.shape)
    chex.assert_type(p, jnp.float32)
    sums = jax.vmap(lambda row: jax.ops.segment_sum(row, group, num_segments=LAYOUT.n_groups))(p.reshape(-1, 8))
    chex.assert_trees_all_close(sums, jnp.ones_like(sums), atol=1e-6)
    assert bool((p > 0).all())
    # equal to a plain softmax on each group
    chex.assert_trees_all_close(p[..., 0:3], jax.nn.softmax(scores[..., 0:3], axis=-1), atol=1e-6)
    chex.assert_trees_all_close(p[..., 3:5], jax.nn.softmax(scores[..., 3:5], axis=-1), atol=1e-6)


def test_group_log_softmax_is_stable_and_matches():
    scores = jnp.array([1000.0, 999.0, -1000.0, 5.0, 5.0, 0.0, 0.0, 0.0])
    group = jnp.asarray(LAYOUT.group_array)
    lp = group_log_softmax(scores, group, LAYOUT.n_groups)
    assert bool(jnp.isfinite(lp).all())
    chex.assert_trees_all_close(lp[0:3], jax.nn.log_softmax(scores[0:3]), atol=1e-5)
    chex.assert_trees_all_close(lp[3:5], jnp.log(jnp.array([0.5, 0.5])), atol=1e-6)
    chex.assert_trees_all_close(
        jnp.exp(lp), group_softmax(scores, group, LAYOUT.n_groups), atol=1e-6
    )


def test_apply_head_by_kind():
    s = jnp.array([0.1, 0.2, 0.3, -1.0, 1.0, 0.4, -2.5, 0.7])
    v = np.asarray(apply_head(s, LAYOUT))
    np.testing.assert_allclose(v[0:3], np.asarray(jax.nn.softmax(s[0:3])), rtol=1e-6)
    np.testing.assert_allclose(v[3:5], np.asarray(jax.nn.softmax(s[3:5])), rtol=1e-6)
    np.testing.assert_allclose(v[5], _sigmoid(0.4), rtol=1e-6)
    assert v[6] == pytest.approx(-2.5)  # numeric: identity
    np.testing.assert_allclose(v[7], _sigmoid(0.7), rtol=1e-6)


def test_inverse_head_then_apply_head_is_identity_on_valid_values():
    values = jnp.array(
        [
            [0.2, 0.5, 0.3, 0.9, 0.1, 0.35, -4.2, 0.8],
            [0.98, 0.01, 0.01, 0.5, 0.5, 0.001, 17.0, 0.02],
        ]
    )
    scores = inverse_head(values, LAYOUT)
    chex.assert_shape(scores, values.shape)
    assert bool(jnp.isfinite(scores).all())
    chex.assert_trees_all_close(apply_head(scores, LAYOUT), values, atol=1e-5)


def test_apply_head_then_inverse_head_recovers_scores():
    s = jax.random.normal(jax.random.key(1), (5, LAYOUT.width))
    back = inverse_head(apply_head(s, LAYOUT), LAYOUT)
    # flags and numbers: exactly the scores; categorical: the scores up to a constant per group
    chex.assert_trees_all_close(back[:, 5:], s[:, 5:], atol=1e-4)
    for sl in LAYOUT.group_slices()[:2]:
        diff = back[:, sl] - s[:, sl]
        chex.assert_trees_all_close(diff, jnp.broadcast_to(diff[:, :1], diff.shape), atol=1e-4)


def test_inverse_head_clips_boundary_values():
    values = jnp.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 3.0, 1.0])
    scores = inverse_head(values, LAYOUT)
    assert bool(jnp.isfinite(scores).all())
    back = apply_head(scores, LAYOUT)
    chex.assert_trees_all_close(back, values, atol=1e-5)


def test_is_bounded():
    np.testing.assert_array_equal(np.asarray(is_bounded(LAYOUT)), [True] * 6 + [False, True])


# ---- losses ------------------------------------------------------------------------------------
SCORES = np.array([1.0, -0.5, 2.0, 0.4, -0.4, 0.3, 1.5, -0.2], np.float32)
TARGET = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 2.0, 0.7], np.float32)


def _hand_typed(scores, target, weight):
    s, t, w = (np.asarray(a, np.float64) for a in (scores, target, weight))
    total, cells = 0.0, 0.0
    for sl in (slice(0, 3), slice(3, 5)):  # softmax cross-entropy per categorical group
        logp = s[sl] - np.log(np.exp(s[sl]).sum())
        total += -(w[sl] * t[sl] * logp).sum()
        cells += (w[sl] * t[sl]).sum()
    p = _sigmoid(s[5])  # binary cross-entropy for the flag
    total += w[5] * -(t[5] * np.log(p) + (1 - t[5]) * np.log(1 - p))
    total += w[6] * (s[6] - t[6]) ** 2  # squared error, numeric identity head
    q = _sigmoid(s[7])  # binary cross-entropy with a soft target for a [0, 1] number
    total += w[7] * -(t[7] * np.log(q) + (1 - t[7]) * np.log(1 - q))
    cells += w[5] + w[6] + w[7]
    return total / max(cells, 1.0)


def test_typed_loss_equals_hand_computed_ce_mse_bce():
    w = np.ones(8, np.float32)
    got = float(typed_loss(SCORES, TARGET, w, LAYOUT))
    assert got == pytest.approx(_hand_typed(SCORES, TARGET, w), rel=1e-5)
    # the hand formula, spelled out once with numbers: 5 cells (two groups, flag, two numbers)
    ce0 = -np.log(np.exp(2.0) / (np.exp(1.0) + np.exp(-0.5) + np.exp(2.0)))
    ce1 = -np.log(np.exp(0.4) / (np.exp(0.4) + np.exp(-0.4)))
    bce = -np.log(_sigmoid(0.3))
    soft_bce = -(0.7 * np.log(_sigmoid(-0.2)) + 0.3 * np.log(1 - _sigmoid(-0.2)))
    expect = (ce0 + ce1 + bce + 0.25 + soft_bce) / 5
    assert got == pytest.approx(expect, rel=1e-5)


def test_typed_loss_partial_weights_match_hand():
    w = np.array([0, 0, 0, 1, 1, 1, 0, 1], np.float32)
    got = float(typed_loss(SCORES, TARGET, w, LAYOUT))
    assert got == pytest.approx(_hand_typed(SCORES, TARGET, w), rel=1e-5)
    assert float(cell_count(jnp.asarray(TARGET), jnp.asarray(w), LAYOUT)) == pytest.approx(3.0)


@pytest.mark.parametrize("loss", [typed_loss, masked_mse])
def test_zero_weight_entries_are_ignored(loss):
    w = np.array([1, 1, 1, 0, 0, 1, 0, 1], np.float32)
    base = float(loss(SCORES, TARGET, w, LAYOUT))
    changed = TARGET.copy()
    changed[3:5] = [0.0, 1.0]  # the second categorical group, unweighted
    changed[6] = -100.0  # the unweighted number
    assert float(loss(SCORES, changed, w, LAYOUT)) == base
    other_scores = SCORES.copy()
    other_scores[6] = 50.0
    assert float(loss(other_scores, TARGET, w, LAYOUT)) == pytest.approx(base, rel=1e-6)
    # ...but a weighted entry does matter
    changed[7] = 0.1
    assert float(loss(SCORES, changed, w, LAYOUT)) != base


def test_all_zero_weights_give_zero_loss():
    z = np.zeros(8, np.float32)
    assert float(typed_loss(SCORES, TARGET, z, LAYOUT)) == 0.0
    assert float(masked_mse(SCORES, TARGET, z, LAYOUT)) == 0.0


def test_masked_mse_equals_hand_computed():
    w = np.array([1, 1, 1, 1, 1, 0, 1, 1], np.float32)
    vals = np.asarray(apply_head(SCORES, LAYOUT), np.float64)
    expect = ((vals - TARGET) ** 2 * w).sum() / w.sum()
    assert float(masked_mse(SCORES, TARGET, w, LAYOUT)) == pytest.approx(expect, rel=1e-5)


def test_typed_loss_is_minimised_at_the_target():
    """Gradient descent on scores drives the typed loss down and the head's values to the target."""
    target = jnp.asarray(TARGET)
    w = jnp.ones(8)

    @jax.jit
    def step(s):
        return s - 0.5 * jax.grad(typed_loss)(s, target, w, LAYOUT)

    s = jnp.zeros(8)
    first = float(typed_loss(s, target, w, LAYOUT))
    for _ in range(300):
        s = step(s)
    assert float(typed_loss(s, target, w, LAYOUT)) < 0.3 * first
    v = apply_head(s, LAYOUT)
    assert int(jnp.argmax(v[0:3])) == 2 and int(jnp.argmax(v[3:5])) == 0
    assert float(v[6]) == pytest.approx(2.0, abs=0.05)
    assert float(v[7]) == pytest.approx(0.7, abs=0.05)


def test_losses_are_jittable_and_batchable():
    s = jax.random.normal(jax.random.key(0), (4, 8))
    t = jnp.broadcast_to(jnp.asarray(TARGET), (4, 8))
    w = jnp.ones((4, 8))
    per_row = jax.jit(jax.vmap(typed_loss, in_axes=(0, 0, 0, None)), static_argnums=3)(s, t, w, LAYOUT)
    chex.assert_shape(per_row, (4,))
    for i in range(4):
        assert float(per_row[i]) == pytest.approx(_hand_typed(s[i], TARGET, np.ones(8)), rel=1e-4)


def test_reconstruction_loss_names():
    assert reconstruction_loss("typed") is typed_loss
    assert reconstruction_loss("mse") is masked_mse
    with pytest.raises(ValueError, match="typed"):
        reconstruction_loss("huber")
