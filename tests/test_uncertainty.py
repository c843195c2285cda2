"""Tests for uncertainty: multiple imputation, per-cell belief, and the calibration measures of
invimpute.uncertainty.measures.

Tiny models on the small mixed table (hidden=(16,), latent=4, 3 epochs), fitted once per module where
possible; the pure functions are checked against hand computations and synthetic data.
"""

from __future__ import annotations

import copy

import jax
import numpy as np
import pandas as pd
import pytest

from conftest import make_mixed_missing
from invimpute import Belief, Imputer, Layout
from invimpute.uncertainty.belief import MIN_HALF_WIDTH, calibrate
from invimpute.encoding.layout import UNIT
from invimpute.uncertainty.measures import (
    apply_temperature,
    brier_score,
    coverage,
    expected_calibration_error,
    fit_interval_scale,
    fit_temperature,
    gumbel_max_groups,
    normal_quantile,
    rubin_pool,
    selective_accuracy_curve,
)

TINY = dict(model={"hidden": (16,), "latent": 4, "dropout": 0.2},
            train={"epochs": 3, "batch_size": 32, "learning_rate": 1e-2})


@pytest.fixture(scope="module")
def fitted():
    df = make_mixed_missing()
    return df, Imputer("ae", **TINY, seed=3).fit(df)


def _observed_identical(out: pd.DataFrame, df: pd.DataFrame) -> None:
    obs = df.notna()
    assert out.index.equals(df.index) and list(out.columns) == list(df.columns)
    pd.testing.assert_frame_equal(out.where(obs), df.where(obs), check_dtype=False)
    assert not out.isna().any().any()


def _n_differing(tables: list[pd.DataFrame], df: pd.DataFrame) -> int:
    miss = df.isna().to_numpy()
    stacked = np.stack([t.astype(object).to_numpy() for t in tables])
    return int(sum(len({str(v) for v in stacked[:, i, j]}) > 1 for i, j in zip(*np.nonzero(miss))))


# ---- multiple imputation -------------------------------------------------------------------------
def test_multiple_imputation_agrees_on_observed_and_differs_on_missing(fitted):
    df, imp = fitted
    tables = imp.multiple_imputations(df, 4)
    assert isinstance(tables, list) and len(tables) == 4
    for t in tables:
        _observed_identical(t, df)
        assert set(t["color"]) <= {"blue", "green", "red"}
    assert _n_differing(tables, df) > 0
    # same seed, same M tables (that a fit is reproducible is tested in test_imputer.py)
    again = imp.multiple_imputations(df, 4)
    for a, b in zip(tables, again):
        pd.testing.assert_frame_equal(a, b)


def test_no_source_of_spread_gives_the_single_imputation(fitted):
    df, imp = fitted
    imp.set_params(uncertainty__dropout=False, uncertainty__sample_categorical=False)
    try:
        tables = imp.multiple_imputations(df, 2)
    finally:
        imp.set_params(uncertainty__dropout=True, uncertainty__sample_categorical=True)
    single = imp.transform(df)
    for t in tables:
        pd.testing.assert_frame_equal(t, single)


def test_numeric_sampling_spreads_numeric_cells(fitted):
    df, imp = fitted
    imp.set_params(uncertainty__dropout=False, uncertainty__sample_categorical=False, uncertainty__sample_numeric=True)
    try:
        tables = imp.multiple_imputations(df, 3)
    finally:
        imp.set_params(uncertainty__dropout=True, uncertainty__sample_categorical=True, uncertainty__sample_numeric=False)
    miss = df["size"].isna()
    sizes = np.stack([t["size"][miss].to_numpy() for t in tables])
    assert (sizes.std(axis=0) > 0).all()
    for t in tables:
        _observed_identical(t, df)


def test_reverse_restarts_are_one_program_and_reproducible():
    df = make_mixed_missing()
    imp = Imputer("reverse", model={**TINY["model"], "dropout": 0.0}, train={**TINY["train"], "epochs": 1},
                  inversion={"steps": 5}, uncertainty={"calibrate": False, "sample_categorical": False}, seed=1)
    imp.fit(df)
    tables = imp.multiple_imputations(df, 3)
    for t in tables:
        _observed_identical(t, df)
    miss = df["size"].isna()
    sizes = np.stack([t["size"][miss].to_numpy() for t in tables])
    assert (sizes.std(axis=0) > 0).any()
    for a, b in zip(tables, imp.multiple_imputations(df, 3)):
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "3"])
def test_bad_n_imputations(fitted, bad):
    df, imp = fitted
    with pytest.raises(ValueError, match="number of imputations"):
        imp.multiple_imputations(df, bad)


def test_methods_without_uncertainty_raise_clearly():
    df = make_mixed_missing()
    with pytest.raises(ValueError, match=r"method 'knn' gives no per-cell belief: a peer has no held-out cells.*use 'auto' \(the default\), 'ae', 'recurrent' or 'reverse'"):
        Imputer("knn").belief(df)
    with pytest.raises(ValueError, match=r"method 'mean' gives no multiple imputations"):
        Imputer("mean").fit(df).multiple_imputations(df, 2)


# ---- belief --------------------------------------------------------------------------------------
def test_belief_is_aligned_and_consistent_with_transform(fitted):
    df, imp = fitted
    b = imp.belief(df)
    assert isinstance(b, Belief) and b.calibrated and b.level == 0.9
    miss = df.isna()
    for frame in (b.confidence, b.mean, b.std, b.lower, b.upper):
        assert frame.index.equals(df.index) and frame.columns.equals(df.columns)
        assert frame.where(~miss).isna().all().all()  # NaN on observed cells
    out = imp.transform(df)
    m = miss["color"].to_numpy()
    p = b.probabilities["color"]
    assert p.index.equals(df.index) and sorted(p.columns) == ["blue", "green", "red"]
    np.testing.assert_allclose(p[m].sum(axis=1), 1.0, atol=1e-9)
    assert p[~m].isna().all().all()
    assert list(p[m].idxmax(axis=1)) == list(out["color"][m])
    np.testing.assert_allclose(b.confidence["color"][m], p[m].max(axis=1))
    f = miss["flag"].to_numpy()
    assert list(b.probabilities["flag"].columns) == [False, True]
    np.testing.assert_allclose(b.probabilities["flag"][f].sum(axis=1), 1.0, atol=1e-9)
    for col in ("count", "size"):
        mc = miss[col].to_numpy()
        mean, lo, hi, sd = (getattr(b, a)[col][mc].to_numpy() for a in ("mean", "lower", "upper", "std"))
        assert np.all(sd > 0) and np.all(lo < mean) and np.all(mean < hi)
        assert b.confidence[col].isna().all()
    np.testing.assert_allclose(b.mean["size"][miss["size"]], out["size"][miss["size"]], rtol=1e-5)
    narrow = imp.belief(df, level=0.5)
    assert ((narrow.upper - narrow.lower)["size"][miss["size"]] < (b.upper - b.lower)["size"][miss["size"]]).all()


def test_belief_without_calibration_warns_for_numeric(fitted):
    df, imp = fitted
    imp = copy.copy(imp)
    imp.calibration_ = None  # as fitted with calibrate=False, or loaded from a checkpoint
    with pytest.warns(UserWarning, match="calibrate=True"):
        b = imp.belief(df)
    assert not b.calibrated and b.std.isna().all().all()
    m = df["color"].isna().to_numpy()
    np.testing.assert_allclose(b.probabilities["color"][m].sum(axis=1), 1.0, atol=1e-9)


# ---- pure functions ------------------------------------------------------------------------------
def test_rubin_pool_matches_hand_computation():
    pooled = rubin_pool([1.0, 2.0, 3.0], [0.5, 0.6, 0.7])
    w, b = 0.6, 1.0
    t = w + (1 + 1 / 3) * b
    assert pooled.m == 3
    np.testing.assert_allclose([pooled.estimate, pooled.within, pooled.between, pooled.total_variance],
                               [2.0, w, b, t])
    np.testing.assert_allclose(pooled.df, 2 * (1 + w / ((1 + 1 / 3) * b)) ** 2)
    np.testing.assert_allclose(pooled.fraction_missing_info, (4 / 3) / t)
    vec = rubin_pool([np.array([1.0, 5.0]), np.array([3.0, 5.0])], [np.ones(2), np.ones(2)])
    np.testing.assert_allclose(vec.estimate, [2.0, 5.0])
    assert np.isinf(vec.df[1])  # the imputations agree: no between-imputation variance
    small = rubin_pool([1.0, 2.0, 3.0], [0.5, 0.6, 0.7], complete_df=10)
    assert small.df < pooled.df


def test_rubin_pool_errors():
    with pytest.raises(ValueError, match="different shapes"):
        rubin_pool([np.zeros(2), np.zeros(3)], [np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match="at least 2"):
        rubin_pool([1.0], [1.0])
    with pytest.raises(ValueError, match="variances"):
        rubin_pool([np.zeros(2), np.zeros(2)], [1.0, 1.0])


def test_ece_perfect_and_overconfident():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.0, 1.0, 100_000)
    correct = rng.random(conf.size) < conf
    assert expected_calibration_error(conf, correct) < 0.01
    over = np.full(10_000, 0.99)
    hits = rng.random(over.size) < 0.6
    assert expected_calibration_error(over, hits) > 0.3
    assert expected_calibration_error(np.array([0.5, np.nan]), np.array([1, 0])) == pytest.approx(0.5)


def test_coverage_and_selective_accuracy():
    truth = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert coverage(truth, [0, 2.5, 2, 5, 0], [2, 3, 4, 6, 1]) == 0.5
    assert coverage(truth, [0, 2.5, 2, 5, 0], [2, 3, 4, 6, 1], mask=[True, False, False, False, False]) == 1.0
    q, acc = selective_accuracy_curve([0.9, 0.8, 0.7, 0.6], [1, 1, 0, 0], coverages=[0.5, 1.0])
    np.testing.assert_allclose(acc, [1.0, 0.5])
    q, acc = selective_accuracy_curve(np.linspace(0, 1, 50), np.ones(50))
    assert len(q) == 10 and np.allclose(acc, 1.0)


def test_brier_score():
    assert brier_score(np.eye(3), [0, 1, 2]) == 0.0
    assert brier_score(np.full((2, 2), 0.5), np.eye(2)) == pytest.approx(0.5)
    both = brier_score([np.eye(3), np.full((1, 2), 0.5)], [np.arange(3), np.array([1])])
    assert both == pytest.approx(0.5 / 4)


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(1)
    logits = 3.0 * rng.normal(size=(6000, 4))
    true = apply_temperature(logits, 2.0)
    labels = (rng.random((6000, 1)) > np.cumsum(true, axis=1)).sum(axis=1)
    assert fit_temperature(logits, labels) == pytest.approx(2.0, rel=0.1)
    # several variables at once, as one-hot columns with a group per variable
    one_hot = np.eye(4)[labels]
    stacked = np.concatenate([logits, logits[:, :2]], axis=1)
    truth = np.concatenate([one_hot, np.zeros((6000, 2))], axis=1)  # the second variable counts no cell
    t = fit_temperature(stacked, truth, groups=np.array([0, 0, 0, 0, 1, 1]))
    assert t == pytest.approx(2.0, rel=0.1)
    probs = apply_temperature(logits, 1.0)
    assert fit_temperature(probs, labels, probabilities=True) == pytest.approx(2.0, rel=0.1)


def test_fit_interval_scale_reaches_nominal_coverage():
    rng = np.random.default_rng(2)
    r = 2.0 * rng.normal(size=20_000)
    a = fit_interval_scale(r, 1.0, 0.9)
    assert a == pytest.approx(2.0, rel=0.05)
    z = normal_quantile(0.9)
    fresh = 2.0 * rng.normal(size=20_000)
    assert coverage(fresh, -z * a * np.ones_like(fresh), z * a * np.ones_like(fresh)) == pytest.approx(0.9, abs=0.01)


def test_calibrate_floors_degenerate_intervals():
    layout = Layout.uniform(2, kind=UNIT)
    truth = np.zeros((100, 2))
    truth[:, 1] = np.linspace(0, 1, 100)
    filled = truth.copy()
    filled[:, 1] += 0.1  # column 0 is imputed exactly (zero residuals), column 1 off by 0.1
    held = np.ones((100, 2), dtype=bool)
    cal = calibrate(filled, truth, held, layout, level=0.9)
    z = normal_quantile(0.9)
    assert cal.std[0] * z == pytest.approx(MIN_HALF_WIDTH) and cal.temperature == 1.0
    assert cal.std[1] * z == pytest.approx(0.1) and cal.n_numeric == 200


def test_gumbel_max_groups_samples_the_distribution():
    p = np.array([0.7, 0.2, 0.1, 0.5, 0.5])
    group = np.array([0, 0, 0, 1, 1])
    logp = np.broadcast_to(np.log(p), (20_000, 5))
    draws = np.asarray(gumbel_max_groups(jax.random.key(0), logp, group, 2))
    np.testing.assert_array_equal(draws[:, :3].sum(axis=1), 1.0)
    np.testing.assert_array_equal(draws[:, 3:].sum(axis=1), 1.0)
    np.testing.assert_allclose(draws.mean(axis=0), p, atol=0.015)
