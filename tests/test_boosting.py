"""The boosted-trees peer (:mod:`invimpute.peers.boosting`): non-linear relations, missing inputs read as a
bin of their own, categorical groups left to their frequencies, and the method end to end."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer, checkpoint
import invimpute.methods.auto as auto_module
import invimpute.methods.auto_trees as auto_trees
import invimpute.peers.boosting as boosting_module
from invimpute.encoding.layout import CATEGORICAL, NUMERIC, Layout
from invimpute.peers.boosting import BINS, DEPTH, ROUNDS, BoostedTrees, bin_edges, fit_trees, to_bins
from invimpute.peers.gaussian import GaussianEM


def _curve(n: int = 800, seed: int = 0):
    """x uniform on [-2, 2] and y = x² (no linear relation at all), y missing on a fifth of the rows."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    full = np.stack([x, x ** 2 + 0.05 * rng.normal(size=n)], axis=1).astype(np.float32)
    observed = np.ones_like(full, bool)
    observed[:, 1] = rng.random(n) > 0.2
    return full, observed


def test_trees_learn_a_relation_a_linear_model_cannot():
    full, observed = _curve()
    layout = Layout.uniform(2, NUMERIC)
    X = np.where(observed, full, 0.0)
    errors = {}
    for name, method in (("trees", BoostedTrees()), ("gaussian", GaussianEM())):
        out = method.fit(X, observed, layout, jax.random.key(0)).impute(X, observed, jax.random.key(1))
        errors[name] = float(np.sqrt(np.mean((out - full)[~observed] ** 2)))
    assert errors["trees"] < 0.3 * errors["gaussian"], errors


def test_a_missing_input_is_a_bin_the_trees_can_read():
    """y is large exactly where x is missing: a split that sends the missing bin its own way finds it."""
    rng = np.random.default_rng(1)
    n = 600
    x = rng.normal(size=n)
    x_seen = rng.random(n) > 0.3
    y = np.where(x_seen, 0.5 * x, 5.0) + 0.05 * rng.normal(size=n)
    full = np.stack([x, y], axis=1).astype(np.float32)
    observed = np.stack([x_seen, rng.random(n) > 0.2], axis=1)
    X = np.where(observed, full, 0.0)
    out = BoostedTrees().fit(X, observed, Layout.uniform(2, NUMERIC), jax.random.key(0)).impute(
        X, observed, jax.random.key(1))
    both = ~observed[:, 0] & ~observed[:, 1]
    assert both.sum() > 10
    np.testing.assert_allclose(out[both, 1], 5.0, atol=0.3)


def test_categorical_groups_are_inputs_not_targets():
    rng = np.random.default_rng(2)
    n = 500
    level = rng.integers(0, 3, n)
    full = np.concatenate([np.eye(3)[level], (2.0 * level + 0.1 * rng.normal(size=n))[:, None]], axis=1).astype(np.float32)
    layout = Layout(kind=(CATEGORICAL,) * 3 + (NUMERIC,), group=(0, 0, 0, 1))
    observed = np.ones_like(full, bool)
    observed[:, 3] = rng.random(n) > 0.2
    observed[rng.random(n) < 0.1, :3] = False
    X = np.where(observed, full, 0.0)
    trees = BoostedTrees().fit(X, observed, layout, jax.random.key(0))
    np.testing.assert_array_equal(trees.covers_, [False, False, False, True])
    out = trees.impute(X, observed, jax.random.key(1))
    rows = ~observed[:, 3] & observed[:, 0]
    assert np.sqrt(np.mean((out[rows, 3] - full[rows, 3]) ** 2)) < 0.2  # read from the one-hot inputs
    np.testing.assert_allclose(out[~observed[:, 0], :3], np.broadcast_to(trees.mean_[:3], (int((~observed[:, 0]).sum()), 3)))


def test_fit_program_shapes_and_determinism():
    full, observed = _curve(n=300)
    edges = bin_edges(full, observed)
    bins = to_bins(full, observed, edges)
    assert bins.min() >= 0 and bins.max() <= BINS - 1 and (bins[~observed] == 0).all()
    args = (jnp.asarray(bins), jnp.asarray(full), jnp.asarray(observed, jnp.float32), jnp.asarray([0, 1], jnp.int32))
    shape = (ROUNDS, DEPTH, 0.1, 16)
    base, (columns, thresholds, rights, values) = fit_trees(shape, *args, jax.random.key(0))
    chex.assert_shape(base, (2,))
    chex.assert_shape([columns, thresholds, rights], (2, ROUNDS, DEPTH))
    chex.assert_shape(values, (2, ROUNDS, 2 ** DEPTH))
    assert not np.any(np.asarray(columns)[0] == 0) and not np.any(np.asarray(columns)[1] == 1)  # never its own column
    again = fit_trees(shape, *args, jax.random.key(0))
    chex.assert_trees_all_equal((base, (columns, thresholds, rights, values)), again)


@pytest.mark.parametrize("targets", [7, 13])
def test_sharded_fit_equals_one_program(monkeypatch, targets):
    """The targets cut into shards run at once on the CPU's threads give every column the trees one program
    gives it (the input subsets are drawn for all targets beforehand)."""
    rng = np.random.default_rng(0)
    full = rng.normal(size=(400, targets)).astype(np.float32)
    observed = rng.random(full.shape) > 0.2
    bins = to_bins(full, observed, bin_edges(full, observed))
    args = (bins, np.where(observed, full, 0.0), observed.astype(np.float32), np.arange(targets, dtype=np.int32))
    shape = (12, 4, 0.2, 5)
    fits = {}
    for threads in (1, 2, 3):
        monkeypatch.setattr(boosting_module, "workers", lambda threads=threads: threads)
        fits[threads] = fit_trees(shape, *args, jax.random.key(3))
    chex.assert_shape(fits[2][0], (targets,))
    chex.assert_trees_all_equal(fits[1], fits[2])
    chex.assert_trees_all_equal(fits[1], fits[3])


def test_rows_missing_the_target_add_nothing_to_its_trees():
    """A target is fitted on the rows where it is observed: dropping the rows where it is missing (the inputs
    of the others unchanged) gives the same splits and, to float rounding, the same leaf values."""
    rng = np.random.default_rng(1)
    full = rng.normal(size=(300, 4)).astype(np.float32)
    full[:, 0] = np.sin(2 * full[:, 1]) + full[:, 2] ** 2
    observed = rng.random(full.shape) > 0.3
    bins = to_bins(full, observed, bin_edges(full, observed))
    shape, key, target = (10, 4, 0.2, 4), jax.random.key(5), np.array([0], np.int32)
    fit = fit_trees(shape, bins, np.where(observed, full, 0.0), observed.astype(np.float32), target, key)
    kept = observed[:, 0]
    part = fit_trees(shape, bins[kept], np.where(observed, full, 0.0)[kept], observed[kept].astype(np.float32), target, key)
    chex.assert_trees_all_equal(fit[1][:3], part[1][:3])
    chex.assert_trees_all_close(fit[0], part[0], rtol=1e-6)
    chex.assert_trees_all_close(fit[1][3], part[1][3], rtol=1e-5, atol=1e-6)


def test_imputer_boosted_end_to_end_and_checkpoint(tmp_path):
    rng = np.random.default_rng(3)
    n = 300
    x = rng.uniform(-2, 2, n)
    frame = pd.DataFrame({"x": x, "y": x ** 2, "kind": np.where(x > 0, "pos", "neg")})
    damaged = frame.mask(rng.random(frame.shape) < 0.2)
    before = damaged.copy()
    imp = Imputer("boosted", seed=0, options={"chain": 2}).fit(damaged)
    out = imp.transform(damaged)
    pd.testing.assert_frame_equal(damaged, before)
    assert not out.isna().any().any()
    seen = damaged.notna()
    for col in frame.columns:
        assert (out.loc[seen[col], col] == damaged.loc[seen[col], col]).all()
    loaded = checkpoint.load(checkpoint.save(imp, tmp_path / "boosted"))
    pd.testing.assert_frame_equal(loaded.transform(damaged), out)


@pytest.mark.parametrize("options, error", [({"rounds": 0}, "rounds"), ({"depth": 11}, "depth"),
                                            ({"rate": 0.0}, "rate"), ({"max_features": 1.5}, "max_features"),
                                            ({"chain": 0}, "chain")])
def test_bad_options_are_named(options, error):
    X = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match=error):
        BoostedTrees(**options).fit(X, np.ones_like(X, bool), Layout.uniform(2, NUMERIC), jax.random.key(0))


def test_auto_fits_trees_by_default(tmp_path):
    """The trees are among auto's default candidates; scored on held-out cells, they cover the numeric
    columns only, take their settings from ``options={"trees": ...}`` and survive a checkpoint; left out of
    the candidates, they are not fitted."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, 300)
    frame = pd.DataFrame({"x": x, "y": x ** 2, "c": np.where(x > 0, "a", "b")}).mask(rng.random((300, 3)) < 0.2)
    imp = Imputer(seed=0, options={"trees": {"rounds": 30}, "candidates": ["mean", "gaussian", "trees"]}).fit(frame)
    trees = imp.method_.methods_["trees"]
    assert isinstance(trees, BoostedTrees) and trees.rounds == 30 and trees.depth == auto_trees.TREES["depth"]
    sel = imp.selection_
    assert np.isfinite(sel.loc[["x", "y"], "trees_error"]).all() and sel.loc["c", "trees_weight"] == 0
    assert sel.loc["y", "trees_weight"] > 0  # y = x² is what the trees see and the Gaussian model cannot
    out = imp.transform(frame)
    pd.testing.assert_frame_equal(checkpoint.load(checkpoint.save(imp, tmp_path / "m")).transform(frame), out)
    assert "trees" in Imputer(seed=0, train={"steps": 50}).fit(frame).method_.names_
    without = Imputer(seed=0, train={"steps": 50}, options={"candidates": ["mean", "gaussian", "network"]})
    assert "trees" not in without.fit(frame).method_.names_


def test_trees_budget_bounds_rows_and_leaves_out_wide_tables():
    """The trees candidate's rows times target columns stay within its budget; a table too wide for
    :data:`~invimpute.methods.auto.TREES_MIN_ROWS` rows (a short one: all its rows) gets no trees."""
    cells, least = auto_trees.TREES_CELLS, auto_trees.TREES_MIN_ROWS
    narrow = Layout.uniform(10, NUMERIC)
    assert auto_trees.trees_rows(narrow, 100_000) == auto_trees.TREES["max_rows"]
    assert auto_trees.trees_rows(narrow, 700) == 700
    wide = Layout.uniform(cells // least + 1, NUMERIC)
    assert auto_trees.trees_rows(wide, 100_000) == 0
    assert auto_trees.trees_rows(wide, 200) == 200 and auto_trees.trees_rows(wide, 2 * least) == 0
    medium = Layout.uniform(cells // (2 * least), NUMERIC)
    assert auto_trees.trees_rows(medium, 100_000) == 2 * least
    assert auto_trees.trees_rows(Layout(kind=(CATEGORICAL,) * 5, group=(0, 0, 1, 1, 1)), 500) == 0


def test_rich_trees_where_the_table_affords_them():
    """Tables of at least ``RICH_MIN_ROWS`` rows whose trees' rows x targets stay within ``RICH_CELLS`` get
    the richer settings, shorter or larger ones the lighter; the caller's settings apply over either."""
    least, cells = auto_trees.RICH_MIN_ROWS, auto_trees.RICH_CELLS
    narrow = Layout.uniform(10, NUMERIC)
    auto = auto_module.Auto()
    assert auto.tree_settings(narrow, least)["chain"] == auto_trees.RICH_TREES["chain"] > 1
    assert auto.tree_settings(narrow, least - 1) == {**auto_trees.TREES, "max_rows": least - 1}
    wide = Layout.uniform(cells // least + 1, NUMERIC)
    assert not auto_trees.rich_trees(wide, least) and auto_trees.rich_trees(Layout.uniform(cells // least, NUMERIC), least)
    assert auto.tree_settings(wide, least)["rounds"] == auto_trees.TREES["rounds"]
    own = auto_module.Auto(trees={"chain": 1}).tree_settings(narrow, 2 * least)
    assert own == {**auto_trees.RICH_TREES, "chain": 1, "max_rows": 2 * least}


def test_rich_trees_fit_and_survive_a_checkpoint(tmp_path):
    """A table of ``RICH_MIN_ROWS`` rows fits the richer trees (three chained passes) inside auto, and a
    checkpoint rebuilds them to the same fill."""
    rng = np.random.default_rng(6)
    x = rng.uniform(-2, 2, auto_trees.RICH_MIN_ROWS)
    frame = pd.DataFrame({"x": x, "y": np.sin(2 * x), "z": x + rng.normal(0, 0.1, x.size)}).mask(rng.random((x.size, 3)) < 0.2)
    imp = Imputer(seed=0, train={"steps": 30}, options={"candidates": ["mean", "gaussian", "trees"]}).fit(frame)
    trees = imp.method_.methods_["trees"]
    assert trees.chain == trees.base_.shape[0] == auto_trees.RICH_TREES["chain"] > 1
    assert trees.rounds == auto_trees.RICH_TREES["rounds"]
    out = imp.transform(frame)
    pd.testing.assert_frame_equal(checkpoint.load(checkpoint.save(imp, tmp_path / "m")).transform(frame), out)


@pytest.mark.parametrize("trees", [{"leaves": 4}, {"rounds": 0}, [("rounds", 3)], {"rate": 2.0}])
def test_auto_rejects_bad_trees_options(trees):
    """A bad ``options={"trees": ...}`` is refused at fit with a message naming the setting."""
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0], "y": [1.0, 2.0, np.nan, 4.0]})
    with pytest.raises(ValueError, match="trees|rounds|rate"):
        Imputer(options={"trees": trees}).fit(frame)


def test_chained_passes_read_the_previous_fill():
    """Where half the cells are missing, a second and third pass, fitted on the first pass's fill, find
    what the missing bins hid (every column a function of one latent variable): lower error."""
    rng = np.random.default_rng(0)
    z = rng.uniform(-2, 2, 800)
    full = np.stack([np.sin(z), z, z ** 2, np.tanh(2 * z), np.cos(z), z ** 3 / 4], 1).astype(np.float32)
    full += 0.02 * rng.normal(size=full.shape).astype(np.float32)
    observed = rng.random(full.shape) > 0.5
    X = np.where(observed, full, 0.0)
    errors = {}
    for chain in (1, 3):
        trees = BoostedTrees(rounds=50, rate=0.2, chain=chain).fit(X, observed, Layout.uniform(6, NUMERIC), jax.random.key(0))
        assert trees.base_.shape == (chain, 6) and trees.values_.shape[:2] == (chain, 6)
        out = trees.impute(X, observed, jax.random.key(1))
        errors[chain] = float(np.sqrt(np.mean((out - full)[~observed] ** 2)))
    assert errors[3] < 0.97 * errors[1], errors
