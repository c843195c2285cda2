"""Tests for invimpute.runtime.rows: the chunked, padded row mapper every row-wise program runs through."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from invimpute.runtime.rows import chunk_size, in_blocks, map_rows


@functools.partial(jax.jit, static_argnums=0)
def _affine(scale, x, flag, keys):
    noise = jax.vmap(lambda k: jax.random.uniform(k))(keys)
    return {"y": scale * x + flag[:, None], "noise": noise}


def test_map_rows_equals_one_pass_and_reuses_one_program():
    rng = np.random.default_rng(0)
    x = rng.random((37, 3)).astype(np.float32)
    flag = rng.random(37) > 0.5
    out = map_rows(functools.partial(_affine, 2.0), (x, flag), 16, key=jax.random.key(0))
    np.testing.assert_allclose(np.asarray(out["y"]), 2.0 * x + flag[:, None], rtol=1e-6)
    assert out["noise"].shape == (37,)
    compiled = _affine._cache_size()
    again = map_rows(functools.partial(_affine, 2.0), (x[:21], flag[:21]), 16, key=jax.random.key(0))
    assert _affine._cache_size() == compiled  # 21 rows: two 16-row chunks again, the last padded
    # row i's key does not depend on how many rows come with it
    np.testing.assert_array_equal(np.asarray(again["noise"]), np.asarray(out["noise"])[:21])


def test_map_rows_keys_with_a_draw_axis_come_rows_first():
    seen = []

    def program(x, keys):
        seen.append(keys.shape)
        return x

    out = map_rows(program, (jnp.ones((5, 2)),), 4, key=jax.random.key(1), key_shape=(3,))
    assert seen == [(4, 3), (4, 3)] and out.shape == (5, 2)
    assert chunk_size(5, 4) == 4


def test_in_blocks_maps_consecutive_blocks():
    x = jnp.arange(24.0).reshape(12, 2)
    out = jax.jit(lambda a: in_blocks(lambda b: b - b[0], (a,), 4))(x)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(x - jnp.repeat(x[::4], 4, axis=0)))
    with pytest.raises(ValueError, match="whole number"):
        in_blocks(lambda b: b, (x,), 5)


def test_concurrently_keeps_order_and_raises_as_a_loop_would():
    from invimpute.runtime.threads import concurrently

    assert concurrently(lambda i: i * i, range(7)) == [i * i for i in range(7)]

    def fail_on_three(i):
        if i == 3:
            raise ValueError("three")
        return i

    with pytest.raises(ValueError, match="three"):
        concurrently(fail_on_three, range(6))
