"""Bounded cost and outliers (issue 26, items 3 and 4): capped categorical width, the Gaussian model's cap,
the memory pre-check, and outliers that neither squash nor drag the fills."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer, Schema, TableEncoder, checkpoint
from invimpute.encoding.encoder import MAX_LEVELS, row_uniforms
from invimpute.encoding.layout import CATEGORICAL, NUMERIC, Layout
from invimpute.peers.gaussian import MAX_LEVELS as GAUSSIAN_LEVELS
from invimpute.peers.gaussian import MAX_WIDTH, GaussianEM, modelled_columns
from invimpute.scoring.selection import choose_columns
from invimpute.tables.scaling import fences

FAST = {"steps": 30}


def wide_table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A number and a code: half the rows one of 5 frequent levels, the others a level of their own
    (about ``n / 2`` levels)."""
    rng = np.random.default_rng(seed)
    code = np.where(rng.random(n) < 0.5, rng.integers(0, 5, n), 5 + np.arange(n))
    return pd.DataFrame({"x": rng.normal(size=n), "code": [f"c{int(c)}" for c in code]})


# ---- capped categorical width ------------------------------------------------------------------------
def test_a_2000_level_column_is_encoded_in_bounded_width_and_its_schema_round_trips():
    df = wide_table()
    enc = TableEncoder(scaling="standard")
    X, O = enc.fit_encode(df)
    spec = enc.schema.columns[1]
    assert df["code"].nunique() > 1900
    assert spec.stop - spec.start == MAX_LEVELS + 1 and X.shape == (len(df), MAX_LEVELS + 2)
    assert set(spec.levels) == set(df["code"]) and len(spec.rare) == len(spec.rare_counts)
    assert {"c0", "c1", "c2", "c3", "c4"} <= set(spec.categories)  # the frequent levels keep their own entry
    rare_rows = df["code"].isin(spec.rare).to_numpy()
    assert np.all(X[rare_rows, spec.stop - 1] == 1.0) and np.all(X[~rare_rows, spec.stop - 1] == 0.0)
    again = Schema.from_dict(json.loads(json.dumps(enc.schema.to_dict())))
    assert again == enc.schema
    full = TableEncoder(scaling="standard", max_levels=None).fit(df)
    assert full.schema.width == 1 + df["code"].nunique()
    assert TableEncoder(scaling="standard", one_hot=("code",)).fit(df).schema == full.schema


def test_fills_of_a_capped_column_are_levels_seen_in_it_and_deterministic():
    df = wide_table(n=600)
    enc = TableEncoder(scaling="standard").fit(df)
    spec = enc.schema.columns[1]
    rng = np.random.default_rng(1)
    X = rng.random((500, enc.schema.width)).astype(np.float32)
    X[:250, spec.stop - 1] = 5.0  # half the rows pick the "other" slot, the others never
    X[250:, spec.stop - 1] = -1.0
    out = enc.decode(X)
    assert set(out["code"]) <= set(df["code"])
    assert set(out["code"][:250]) <= set(spec.rare) and out["code"][:250].nunique() > 50
    assert set(out["code"][250:]) <= set(spec.categories)
    pd.testing.assert_frame_equal(out, enc.decode(X))
    u = row_uniforms(X)
    assert np.all((u >= 0) & (u < 1)) and np.array_equal(u[:3], row_uniforms(X[:3]))


def test_imputer_fills_only_seen_levels_and_max_levels_is_validated():
    df = wide_table(n=300)
    df.loc[df.index[::5], "code"] = np.nan
    imp = Imputer(method="knn", encoding={"max_levels": 10})
    out = imp.fit_transform(df)
    assert set(out["code"]) <= set(df["code"].dropna())
    assert imp.encoder_.schema.columns[1].stop - imp.encoder_.schema.columns[1].start == 11
    for bad in (1, 2.5, True):
        with pytest.raises(ValueError, match="max_levels"):
            Imputer(encoding={"max_levels": bad}).fit(df)


# ---- the Gaussian model's cap ------------------------------------------------------------------------
def test_gaussian_model_never_covers_more_than_its_cap():
    kind = (NUMERIC,) * 3 + (CATEGORICAL,) * 40 + (CATEGORICAL,) * 5
    group = (0, 1, 2) + (3,) * 40 + (4,) * 5
    layout = Layout(kind=kind, group=group)
    covers = modelled_columns(layout)
    assert covers[:3].all() and not covers[3:43].any() and covers[43:].all()
    many = Layout.uniform(MAX_WIDTH + 40, NUMERIC)
    assert modelled_columns(many).sum() == MAX_WIDTH
    rng = np.random.default_rng(0)
    n = 200
    X = np.zeros((n, layout.width), np.float32)
    X[:, :3] = rng.normal(size=(n, 3))
    X[np.arange(n), 3 + rng.integers(0, 40, n)] = 1.0
    X[np.arange(n), 43 + rng.integers(0, 5, n)] = 1.0
    observed = np.ones_like(X, bool)
    observed[rng.random(n) < 0.3, 3:43] = False
    observed[rng.random(n) < 0.3, 0] = False
    em = GaussianEM(rounds=2).fit(X, observed, layout, jax.random.key(0))
    assert em.cov_.shape == (int(covers.sum()),) * 2 and em.cov_.shape[0] <= MAX_WIDTH
    out = em.impute(X, observed, jax.random.key(1))
    assert np.isfinite(out).all() and np.array_equal(out[observed], X[observed])
    np.testing.assert_allclose(out[~observed[:, 3], 3:43], np.broadcast_to(em.mean_[3:43], (int((~observed[:, 3]).sum()), 40)))
    assert 40 > GAUSSIAN_LEVELS


def test_selection_gives_a_candidate_no_weight_where_it_has_no_fill():
    rng = np.random.default_rng(0)
    n, names = 400, ["mean", "gaussian"]
    X = rng.normal(size=(n, 2)).astype(np.float32)
    held = np.ones((n, 2), bool)
    preds = np.stack([np.zeros_like(X), X + 0.01 * rng.normal(size=X.shape)], axis=-1)  # gaussian near-perfect
    choices = choose_columns(names, preds, X, held, np.array([0, 1]), rng,
                             absent={"gaussian": np.array([False, True])})
    assert choices[0].choice == "gaussian"
    assert choices[1].choice == "mean" and choices[1].weights["gaussian"] == 0.0
    assert np.isnan(choices[1].errors["gaussian"])


def test_auto_on_a_wide_column_has_a_complete_selection_without_gaussian_there(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 0.3, n), "code": [f"k{i}" for i in rng.integers(0, 40, n)]})
    for col in df.columns:
        df.loc[rng.random(n) < 0.2, col] = np.nan
    imp = Imputer(train=FAST, encoding={"max_levels": 36})  # 36 levels + other: wider than the Gaussian's cap
    out = imp.fit_transform(df)
    sel = imp.selection_
    assert list(sel.index) == ["x", "y", "code"] and sel["choice"].notna().all()
    assert np.isnan(sel.loc["code", "gaussian_error"]) and sel.loc["code", "gaussian_weight"] == 0.0
    assert np.isfinite(sel.loc["x", "gaussian_error"])
    assert not out.isna().any().any() and set(out["code"]) <= set(df["code"].dropna())
    loaded = checkpoint.load(checkpoint.save(imp, tmp_path / "model"))  # the capped schema round-trips
    assert loaded.encoder_.schema == imp.encoder_.schema
    pd.testing.assert_frame_equal(loaded.transform(df), imp.transform(df))


# ---- the memory pre-check ---------------------------------------------------------------------------
def test_a_table_that_cannot_fit_is_refused_before_allocating_naming_its_widest_column():
    df = wide_table(n=500)
    with pytest.raises(MemoryError, match=r"'code' \(\d+ entries\).*max_levels"):
        Imputer(encoding={"max_levels": None, "memory_limit": 1e6}).fit(df)
    with pytest.raises(ValueError, match="memory_limit"):
        Imputer(encoding={"memory_limit": -1}).fit(df)


# ---- outliers ---------------------------------------------------------------------------------------
def test_fences_catch_an_absurd_value_but_not_a_real_tail():
    rng = np.random.default_rng(0)
    income = rng.lognormal(10.5, 0.5, 3000)
    for absurd in (1e308, -999999.0):
        v = income.copy()
        v[7] = absurd
        _, _, out = fences(v)
        assert out.sum() == 1 and out[7]
    gains = np.where(rng.random(3000) < 0.9, 0.0, rng.lognormal(8, 1, 3000))
    gains[:15] = 99999.0  # a top-coded value held by 0.5% of the rows is a real tail
    low, high, out = fences(gains)
    assert not out.any() and low <= gains.min() and high >= gains.max()
    zeros = np.zeros(500)
    zeros[0] = 1e308  # a bulk of no width gives nothing to judge by: no outliers, fences at the range
    assert fences(zeros)[:2] == (0.0, 1e308) and not fences(zeros)[2].any()


@pytest.mark.parametrize("absurd", [1e308, -999999.0])
@pytest.mark.parametrize("method", ["mean", "knn"])
def test_an_outlier_does_not_drag_the_fills_and_is_reported(method, absurd):
    rng = np.random.default_rng(0)
    n = 1000
    age = rng.normal(40, 10, n)
    df = pd.DataFrame({"age": age, "income": np.exp(10 + 0.02 * age + rng.normal(0, 0.3, n))})
    df.loc[3, "income"] = absurd
    missing = rng.random(n) < 0.2
    missing[3] = False
    df.loc[missing, "income"] = np.nan
    before = df.copy()
    imp = Imputer(method=method)
    out = imp.fit_transform(df)
    pd.testing.assert_frame_equal(df, before)
    assert out.loc[3, "income"] == absurd  # observed cells, the outlier included, come back as they were
    assert out["income"][~missing].equals(df["income"][~missing])
    bulk = df["income"].drop(index=3).dropna()
    fills = out["income"][missing]
    assert fills.between(bulk.min(), bulk.max()).all()
    assert bulk.quantile(0.25) < fills.mean() < bulk.quantile(0.75)
    assert imp.report_["outliers"].to_dict() == {"age": 0, "income": 1}


@pytest.mark.parametrize("absurd", [1e9, -999999.0])
def test_an_outlier_does_not_bend_a_relation_the_fills_read(absurd):
    """An outlier is encoded as missing (the model never reads it), so one absurd ``x`` leaves the fills of
    ``y = 2x`` as they are without it; clipped to its fence instead, it still sat many widths from the bulk
    and pulled the fitted relation (the error of these fills rose about fourfold)."""
    rng = np.random.default_rng(5)
    n = 1500
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 2 * x + 0.1 * rng.normal(size=n)})
    truth = df["y"].copy()
    missing = rng.random(n) < 0.15
    missing[3] = False
    df.loc[missing, "y"] = np.nan
    clean = Imputer(method="gaussian").fit_transform(df)
    df.loc[3, "x"] = absurd
    imp = Imputer(method="gaussian").fit(df)
    Xe, Oe = imp._encode(df, df.notna())
    assert not Oe[3, 0] and Oe[3, 1] and Oe[~missing, 0].sum() == (~missing).sum() - 1
    out = imp.transform(df)
    assert out.loc[3, "x"] == absurd and out["x"].equals(df["x"])
    err = lambda filled: float(np.sqrt(np.mean((filled["y"][missing] - truth[missing]) ** 2)))  # noqa: E731
    assert err(out) < 1.05 * err(clean) and err(clean) < 0.15


def test_gaussian_rows_in_chunks_give_the_same_moments_as_all_at_once(monkeypatch):
    from invimpute.peers import gaussian

    rng = np.random.default_rng(3)
    n, d = 1100, 5  # three chunks of 512, the last padded
    X = jnp.asarray(rng.normal(size=(n, d)) @ rng.normal(size=(d, d)), jnp.float32)
    observed = jnp.asarray(rng.random((n, d)) > 0.3)
    mu, S = jnp.zeros(d), jnp.eye(d) * 2.0
    k = gaussian.missing_block(np.asarray(observed))
    means, cov = gaussian._fill_rows(X, observed, mu, S, k)
    monkeypatch.setattr(gaussian, "CHUNK_ROWS", 10 * n)
    whole_means, whole_cov = gaussian._fill_rows(X, observed, mu, S, k)
    np.testing.assert_allclose(means, whole_means, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cov, whole_cov, rtol=1e-4, atol=1e-3)


def test_an_absurd_value_first_seen_at_transform_is_read_as_missing_and_kept_in_the_output():
    rng = np.random.default_rng(1)
    n = 400
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": x + rng.normal(0, 0.1, n)})
    imp = Imputer(method="knn").fit(df)
    new = pd.DataFrame({"x": [1e308, -1e308, 0.5, np.nan], "y": [np.nan] * 4})
    out = imp.transform(new)
    assert out["x"].tolist()[:3] == [1e308, -1e308, 0.5]  # observed cells come back as they were
    assert out["y"].notna().all() and out["y"].between(df["y"].min(), df["y"].max()).all()
    # beyond the fences a value says nothing: the row is filled as the one whose x is missing
    assert out.loc[0, "y"] == out.loc[1, "y"] == out.loc[3, "y"] != out.loc[2, "y"]
