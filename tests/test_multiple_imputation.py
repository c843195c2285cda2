"""Belief and multiple imputation of the default method (``auto``), and the Gaussian model's joint draws."""

from __future__ import annotations

import chex
import jax
import numpy as np
import pandas as pd
import pytest

import invimpute as ii
from invimpute.encoding.encoder import TableEncoder
from invimpute.peers.gaussian import GaussianEM


def _mixed(n: int = 160, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": 2 * a + rng.normal(scale=0.5, size=n), "c": rng.normal(size=n),
                       "k": np.where(a > 0, "hi", "lo")})
    hidden = rng.random(df.shape) < 0.2
    return df.mask(hidden)


@pytest.fixture(scope="module")
def fitted():
    df = _mixed(320)  # enough held-out and missing cells per column for the pattern ratio
    return df, ii.Imputer(seed=3, train={"steps": 50}).fit(df)


def test_auto_belief_shapes_and_probabilities(fitted):
    df, imp = fitted
    belief = imp.belief(df)
    missing = df.isna().to_numpy()
    chex.assert_shape(belief.std.to_numpy(), df.shape)
    chex.assert_type(belief.mean.to_numpy(), np.float64)
    numeric = missing[:, :3]
    std = belief.std.to_numpy()[:, :3]
    assert np.all(np.isfinite(std[numeric])) and np.all(std[numeric] > 0)
    assert np.all(np.isnan(std[~numeric]))
    lower, upper = belief.lower.to_numpy()[:, :3], belief.upper.to_numpy()[:, :3]
    assert np.all(lower[numeric] < upper[numeric])
    p = belief.probabilities["k"].to_numpy()[missing[:, 3]]
    chex.assert_shape(p, (int(missing[:, 3].sum()), 2))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert belief.calibrated


def test_auto_draws_keep_observed_cells_and_repeat(fitted):
    df, imp = fitted
    before = df.copy()
    first = imp.multiple_imputations(df, 3)
    again = imp.multiple_imputations(df, 3)
    pd.testing.assert_frame_equal(df, before)
    observed = df.notna().to_numpy()
    for table, twin in zip(first, again):
        pd.testing.assert_frame_equal(table, twin)
        assert not table.isna().any().any()
        for j, col in enumerate(df.columns):
            assert (table[col].to_numpy()[observed[:, j]] == df[col].to_numpy()[observed[:, j]]).all()
    spread = np.std([t["c"].to_numpy()[~observed[:, 2]] for t in first], axis=0)
    assert np.all(spread > 0), "numeric draws must differ between imputations"


def test_peer_says_it_gives_no_belief():
    df = _mixed(40)
    imp = ii.Imputer("mean").fit(df)
    with pytest.raises(ValueError, match="gives no per-cell belief.*'auto'"):
        imp.belief(df)


def test_gaussian_draws_are_joint_and_carry_model_uncertainty():
    rng = np.random.default_rng(1)
    n = 400
    x = rng.multivariate_normal([0, 0, 0], [[1, 0.9, 0], [0.9, 1, 0], [0, 0, 1]], n).astype(np.float32)
    observed = np.ones_like(x, bool)
    observed[:100, :] = False
    observed[:100, 2] = True  # rows missing both correlated columns, the third observed
    observed[100:200, 0] = False
    observed[100:200, 2] = False  # rows missing a and c, independent given b
    layout = TableEncoder(scaling="none").fit(pd.DataFrame(x, columns=list("abc"))).schema.layout
    model = GaussianEM().fit(x, observed, layout, jax.random.key(0))
    draws, means = model.posterior_draws(x, observed, x, observed, jax.random.key(1), 20)
    chex.assert_shape(draws, (20, n, 3))
    np.testing.assert_array_equal(draws[:, observed], np.broadcast_to(x[observed], (20, int(observed.sum()))))
    noise = (draws - means)[:, :100, :2].reshape(-1, 2)
    assert np.corrcoef(noise.T)[0, 1] > 0.75, "cells of one row must move together as the model's covariance says"
    assert abs(np.corrcoef((draws - means)[:, 100:200, ::2].reshape(-1, 2).T)[0, 1]) < 0.2
    assert np.all(means[:, :100, 0].std(axis=0) > 0), "refits on bootstrap weights must differ"
    same, _ = model.posterior_draws(x, observed, x, observed, jax.random.key(1), 20)
    np.testing.assert_array_equal(draws, same)


def test_logistic_draws_follow_the_relation_and_vary_between_fits():
    from invimpute.uncertainty.logistic import logistic_draws

    rng = np.random.default_rng(2)
    n, m = 600, 8
    x = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 1])))).astype(np.float32)
    values = np.column_stack([x, y]).astype(np.float32)
    observed = np.ones((n, 3), bool)
    observed[:200, 2] = False
    start = np.where(observed, values, 0.5)
    tables = np.broadcast_to(start, (m, n, 3)).copy()
    out = logistic_draws(tables, observed, np.array([2]), np.arange(3), jax.random.key(0))
    np.testing.assert_array_equal(out[:, observed], tables[:, observed])
    drawn = out[:, :200, 2]
    assert set(np.unique(drawn)) <= {0.0, 1.0}
    probs = logistic_draws(tables, observed, np.array([2]), np.arange(3), jax.random.key(0), sample=False)[:, :200, 2]
    truth = 1 / (1 + np.exp(-(2.0 * x[:200, 0] - 1.0 * x[:200, 1])))
    assert np.corrcoef(probs.mean(axis=0), truth)[0, 1] > 0.95, "the column is drawn from its regression on the others"
    assert np.all(probs.std(axis=0) > 0), "each imputation refits on its own bootstrap weights"
    assert abs(drawn.mean() - truth.mean()) < 0.05
    again = logistic_draws(tables, observed, np.array([2]), np.arange(3), jax.random.key(0))
    np.testing.assert_array_equal(out, again)


def test_pattern_ratio_narrows_intervals_where_the_row_pins_a_cell_down(fitted):
    from invimpute.uncertainty.blended import MAX_RATIO, MIN_RATIO, pattern_ratio

    _, imp = fitted
    auto = imp.method_
    ratio = pattern_ratio(auto, auto.fit_data_[0], imp.layout_)
    chex.assert_shape(ratio, (imp.layout_.width,))
    assert np.all((ratio >= MIN_RATIO) & (ratio <= MAX_RATIO))
    assert ratio[0] < 0.9, "b predicts a: held-out rows that lost b pin a down less than the missing cells rows do"
    assert abs(ratio[2] - 1.0) < 0.05, "c is independent of the rest: the pattern does not matter"
    np.testing.assert_array_equal(ratio[3:], 1.0)


def test_bootstrap_refits_reach_their_own_fixed_point():
    """Each draw's refit resumes EM from the fitted model, so it reaches its reweighted estimate instead of
    stopping short of it: where most of a strongly related column is missing, the refits' conditional
    means follow the other column as a long-converged fit's do (from the diagonal start, ten rounds left
    the relation 5.6% weaker here, and every draw alike)."""
    rng = np.random.default_rng(3)
    n = 600
    x = rng.multivariate_normal([0, 0], [[1, 0.95], [0.95, 1]], n).astype(np.float32)
    observed = np.ones_like(x, bool)
    observed[: int(0.7 * n), 1] = False
    layout = TableEncoder(scaling="none").fit(pd.DataFrame(x, columns=list("ab"))).schema.layout
    model = GaussianEM().fit(x, observed, layout, jax.random.key(0))
    converged = GaussianEM(rounds=500).fit(x, observed, layout, jax.random.key(0))
    _, means = model.posterior_draws(x, observed, x, observed, jax.random.key(1), 40)
    rows = ~observed[:, 1]
    slope = np.mean([np.polyfit(x[rows, 0], m[rows, 1], 1)[0] for m in means])
    truth = np.polyfit(x[rows, 0], converged.impute(x, observed, jax.random.key(0))[rows, 1], 1)[0]
    assert abs(slope / truth - 1) < 0.02


def test_draws_reach_beyond_the_observed_range_where_the_missing_values_lie():
    # y is missing where x is large (MAR), so its missing values lie above every observed one: a point fill
    # stays within the observed range, but draws clipped to it would pile up at its edge and flatten y's
    # relation to x in a pooled analysis. A column observed non-negative draws no negative value.
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.3, size=400),
                       "z": np.exp(x + rng.normal(scale=0.3, size=400))})
    df.loc[x > 0.8, "y"] = np.nan
    df.loc[x < -0.9, "z"] = np.nan
    imp = ii.Imputer(seed=0, train={"steps": 50}).fit(df)
    top = df["y"].max()
    missing = df["y"].isna().to_numpy()
    assert imp.transform(df)["y"].to_numpy()[missing].max() <= top
    draws = imp.multiple_imputations(df, 5)
    beyond = np.mean([(t["y"].to_numpy()[missing] > top).mean() for t in draws])
    assert beyond > 0.2
    assert min(t["z"].min() for t in draws) >= 0.0
