"""The cost bounds of ``method="auto"``'s Gaussian candidate (issue 28): its EM sees at most
``max_rows`` rows, and its refit on every observed cell resumes from the first fit instead of starting over."""

from __future__ import annotations

import jax
import numpy as np

from invimpute.encoding.layout import NUMERIC, Layout
from invimpute.peers.gaussian import GaussianEM


def _table(n: int, seed: int = 0, rate: float = 0.2):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    X = (z @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5))).astype(np.float32)
    return X, rng.random(X.shape) >= rate


def test_warm_refit_reaches_the_fixed_point_of_a_fit_from_scratch():
    X, observed = _table(400)
    fewer = observed & (np.random.default_rng(1).random(X.shape) >= 0.1)  # cells held out, as auto does
    layout, key = Layout.uniform(5, NUMERIC), jax.random.key(0)
    cold = GaussianEM(rounds=40).fit(X, observed, layout, key)
    warm = GaussianEM(rounds=10).fit(X, fewer, layout, key).warm_refit(X, observed, 30)
    np.testing.assert_allclose(warm.mu_, cold.mu_, atol=2e-3)
    np.testing.assert_allclose(warm.cov_, cold.cov_, atol=5e-3)
    first = GaussianEM(rounds=10).fit(X, fewer, layout, key)
    assert np.abs(first.cov_ - cold.cov_).max() > np.abs(warm.cov_ - cold.cov_).max()  # the refit moved it


def test_max_rows_fits_a_seeded_sample_and_fills_every_row():
    X, observed = _table(900)
    layout, key = Layout.uniform(5, NUMERIC), jax.random.key(3)
    sampled = GaussianEM(rounds=5, max_rows=200).fit(X, observed, layout, key)
    again = GaussianEM(rounds=5, max_rows=200).fit(X, observed, layout, key)
    np.testing.assert_array_equal(sampled.cov_, again.cov_)  # same key, same sample, same model
    rows = np.sort(np.asarray(jax.random.choice(key, 900, (200,), replace=False)))
    alone = GaussianEM(rounds=5).fit(X[rows], observed[rows], layout, key)
    np.testing.assert_allclose(sampled.cov_, alone.cov_, rtol=1e-5, atol=1e-6)  # EM saw exactly those rows
    filled = sampled.impute(X, observed, key)
    assert filled.shape == X.shape and np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[observed], X[observed])


def test_one_forward_pass_evaluation_equals_the_two_pass_one():
    """Without the recurrent refill the working table is the observed one at ``fill``, so the evaluation
    reads the prediction and the held-out loss from one forward pass: the same figures as two passes."""
    import jax.numpy as jnp
    from flax import nnx

    from invimpute.models.networks import symmetric_mlp
    from invimpute.training.programs import evaluate

    X, observed = _table(64)
    held = observed & (np.random.default_rng(2).random(X.shape) < 0.2)
    train_obs = observed & ~held
    layout = Layout.uniform(5, NUMERIC)
    graphdef, params = nnx.split(symmetric_mlp(5, (8,), 2, mask_input=True))
    stacked = jax.tree.map(lambda a: a[None], params)
    cur = np.where(train_obs, X, 0.0)[None]
    args = (stacked, cur, X, train_obs[None], held[None], jnp.float32(0.0))
    one = evaluate(graphdef, layout, "typed", True, *args)
    two = evaluate(graphdef, layout, "typed", False, *args)
    for a, b in zip(one, two):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_the_categorical_recipe_budget_follows_the_table():
    """The categorical recipe trains about 150 passes over the rows (Mushroom's 8,124 rows keep its 4,800
    steps), never fewer than its floor and never more than the recipe's steps."""
    from invimpute.methods.auto import CATEGORICAL_FLOOR, CATEGORICAL_TRAIN, categorical_steps

    assert categorical_steps(8_124) == CATEGORICAL_TRAIN.steps == 4_800
    assert categorical_steps(546) == categorical_steps(30) == CATEGORICAL_FLOOR
    assert categorical_steps(100_000) == CATEGORICAL_TRAIN.steps
    sizes = [categorical_steps(n) for n in range(100, 10_000, 97)]
    assert sizes == sorted(sizes)
