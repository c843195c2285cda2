"""Tests for invimpute.inversion.validated: candidates chosen on pseudo-damage built from the batch's own damage."""

from __future__ import annotations

import chex
import jax
import numpy as np
import pytest

from invimpute import InversionConfig, Layout, TableEncoder, TrainConfig, fit, predict, symmetric_mlp
from invimpute.inversion.validated import ONE_PASS, invert_validated, pseudo_damage

FAST = {"reverse": InversionConfig(steps=10, batch_size=64)}
BAD = {"bad": InversionConfig(steps=10, batch_size=64, objective="observed", proximal=0.0,
                              parameterisation="identity", learning_rate=5.0)}
"""A candidate made deliberately bad: raw values pushed by huge steps, far outside the data's range."""


@pytest.fixture(scope="module")
def trained():
    from conftest import make_correlated

    X = make_correlated(n=128, d=6, seed=1)
    lay = Layout.uniform(6)
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    fit(model, X, np.ones_like(X, bool), lay,
        TrainConfig(epochs=5, batch_size=32, learning_rate=3e-2, schedule="constant", weight_decay=0.0,
                    validation_fraction=0.0), jax.random.key(0))
    return model, X, lay


@pytest.fixture(scope="module")
def damaged(trained):
    """The rows with whole pairs of columns lost (NaN written into them), one row with nothing observed."""
    _, X, _ = trained
    rng = np.random.default_rng(2)
    pairs = np.array([[0, 1], [2, 3], [4, 5]])
    obs = np.ones(X.shape, bool)
    obs[np.arange(len(X))[:, None], pairs[rng.integers(0, 3, len(X))]] = False
    obs[7] = False
    x = np.where(obs, X, np.nan).astype(np.float32)
    return x, obs


def test_pseudo_damage_imitates_the_batch(damaged):
    _, obs = damaged
    held = pseudo_damage(obs, jax.random.key(0))
    assert not (held & ~obs).any()
    assert ((obs & ~held).any(axis=1) == obs.any(axis=1)).all()
    assert held.any()
    # each row's extra cells are a lost pair of another row: whole pairs, never a single column of one
    pair_of = np.array([0, 0, 1, 1, 2, 2])
    for row in held:
        for p in range(3):
            assert row[pair_of == p].all() or not row[pair_of == p].any()


def test_observed_kept_no_nan_and_reproducible(trained, damaged):
    model, _, lay = trained
    x, obs = damaged
    a = invert_validated(model, x, obs, lay, FAST, key=3)
    b = invert_validated(model, x, obs, lay, FAST, key=3)
    chex.assert_shape(a.x, x.shape)
    assert np.isfinite(a.x).all()
    np.testing.assert_array_equal(a.x[obs], x[obs])
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_allclose(a.weights.sum(axis=0), 1.0, atol=1e-6)


def test_bad_candidate_loses_to_the_one_pass(trained, damaged):
    model, _, lay = trained
    x, obs = damaged
    out = invert_validated(model, x, obs, lay, BAD, key=0, incumbent=ONE_PASS)
    assert (out.weights[out.names.index(ONE_PASS)] == 1.0).all()
    one = np.asarray(predict(model, np.where(obs, x, 0.0), ~obs, lay))
    np.testing.assert_allclose(out.x[~obs], one[~obs], rtol=1e-6, atol=1e-6)
    pooled = invert_validated(model, x, obs, lay, BAD, key=0, incumbent=None, pool=True)
    assert (pooled.weights[pooled.names.index("bad")] < 0.05).all()


@pytest.mark.parametrize("configs, incumbent, error", [
    ({}, ONE_PASS, ValueError),
    ({"r": "fast"}, ONE_PASS, TypeError),
    ({ONE_PASS: InversionConfig()}, None, ValueError),
    (FAST, "nope", ValueError),
])
def test_bad_arguments(trained, damaged, configs, incumbent, error):
    model, _, lay = trained
    x, obs = damaged
    with pytest.raises(error):
        invert_validated(model, x, obs, lay, configs, incumbent=incumbent)


def test_bad_shapes(trained, damaged):
    model, _, lay = trained
    x, obs = damaged
    with pytest.raises(ValueError, match="observed has shape"):
        invert_validated(model, x, obs[:, :5], lay, FAST)


def test_a_lone_row_gets_the_one_pass(trained, damaged):
    model, _, lay = trained
    x, obs = damaged
    out = invert_validated(model, x[:1], obs[:1], lay, FAST, key=0)
    assert not out.held.any()
    one = np.asarray(predict(model, np.where(obs[:1], x[:1], 0.0), ~obs[:1], lay))
    np.testing.assert_allclose(out.x[~obs[:1]], one[~obs[:1]], rtol=1e-6, atol=1e-6)


def test_categorical_groups_keep_their_simplex(mixed_df_missing):
    enc = TableEncoder()
    X, O = enc.fit_encode(mixed_df_missing)
    lay = enc.schema.layout
    model = symmetric_mlp(lay.width, hidden=(16,), latent=4, seed=0, dropout=0.0)
    out = invert_validated(model, X, O, lay, FAST, key=1)
    assert np.isfinite(out.x).all()
    np.testing.assert_array_equal(out.x[O], np.asarray(X, np.float32)[O])
    np.testing.assert_allclose(out.x[:, 0:3].sum(axis=1), 1.0, atol=1e-5)


def test_reverse_with_batch_choice_repairs_by_invert_validated_per_model(trained, damaged):
    from invimpute.methods.registry import Autoencoding

    _, X, lay = trained
    x, obs = damaged
    train = TrainConfig(steps=60, batch_size=32, validation_fraction=0.0, members=2)
    cfg = InversionConfig(steps=10, batch_size=64)
    method = Autoencoding("reverse", train=train, inversion=cfg, choice="batch")
    method.fit(X, np.ones_like(X, bool), lay, jax.random.key(3))
    assert getattr(method, "weights_", None) is None          # nothing chosen at fit
    key = jax.random.key(4)
    out = method.impute(x, obs, key)
    configs = {"reverse": cfg, "latent": InversionConfig(steps=10, batch_size=64, mode="latent")}
    expect = np.mean([invert_validated(m, x, obs, lay, configs, jax.random.fold_in(key, i)).x
                      for i, m in enumerate(method.models_)], axis=0)
    chex.assert_trees_all_close(out[~obs], expect[~obs], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(out[obs], np.asarray(x, np.float32)[obs])
    assert np.isfinite(out).all()
