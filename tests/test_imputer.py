"""Tests for invimpute.Imputer, the public estimator: its guarantees on observed cells, inputs, seeds,
parameters and errors, for the library's own methods and the mean/mode baseline.

Each method is fitted twice (same seed) once per module on a tiny mixed table; the tests share those
runs. Tiny models: hidden=(16,), latent=4, 3 epochs, 10 inversion steps.
"""

from __future__ import annotations

import copy
import dataclasses

import chex
import numpy as np
import pandas as pd
import pytest

from conftest import make_mixed, make_mixed_missing
from invimpute import METHODS, Imputer, TrainConfig, row_mask
from invimpute.estimator.imputer import CONFIGS

TINY = dict(model={"hidden": (16,), "latent": 4}, train={"epochs": 3, "batch_size": 32, "learning_rate": 1e-2},
            inversion={"steps": 10})
OWN = ["ae", "recurrent", "reverse", "mean", "auto"]
COLORS = {"blue", "green", "red"}


def _imputer(method: str, **kw) -> Imputer:
    return Imputer(method, **({} if method == "mean" else TINY), **kw)


@pytest.fixture(scope="module", params=OWN)
def run(request):
    """One method fitted twice with the same seed on the same damaged table."""
    method = request.param
    df = make_mixed_missing()
    before = copy.deepcopy(df)
    imp = _imputer(method, seed=3)
    out = imp.fit_transform(df)
    out_again = _imputer(method, seed=3).fit_transform(df)
    return {"method": method, "df": df, "before": before, "imp": imp, "out": out, "again": out_again}


def _assert_observed_identical(out: pd.DataFrame, df: pd.DataFrame) -> None:
    obs = df.notna()
    assert list(out.columns) == list(df.columns)
    assert out.index.equals(df.index)
    for col in df.columns:
        m = obs[col].to_numpy()
        got, want = out[col].to_numpy()[m], df[col].to_numpy()[m]
        if df[col].dtype.kind == "f":
            assert np.array_equal(got.astype(np.float64), want), col  # bit for bit
            assert out[col].dtype == df[col].dtype, col
        else:
            assert list(got) == list(want), col
    pd.testing.assert_frame_equal(out.where(obs), df.where(obs), check_dtype=False)


# ---- guarantees, for every method ------------------------------------------------------------------
def test_observed_cells_come_back_identical(run):
    _assert_observed_identical(run["out"], run["df"])


def test_input_object_is_not_modified(run):
    pd.testing.assert_frame_equal(run["df"], run["before"])
    assert run["out"] is not run["df"]


def test_output_is_complete_and_valid(run):
    out, df = run["out"], run["df"]
    assert not out.isna().any().any()
    assert set(out["color"]) <= COLORS
    assert out["flag"].map(lambda v: isinstance(v, (bool, np.bool_))).all()
    # numeric fills stay inside the observed range (min-max scaled, sigmoid head or means)
    for col in ("count", "size"):
        lo, hi = df[col].min(), df[col].max()
        filled = out[col][df[col].isna()]
        assert ((filled >= lo - 1e-6) & (filled <= hi + 1e-6)).all(), col
    # the missing cells really were filled, not left at a constant fill
    selection = run["imp"].selection_  # auto and reverse keep column means where held-out cells chose them
    constant = run["method"] == "mean" or (selection is not None and selection.loc["size", "choice"] == "mean")
    assert out["size"][df["size"].isna()].nunique() >= (1 if constant else 2)


def test_same_seed_same_result(run):
    pd.testing.assert_frame_equal(run["out"], run["again"])


def test_transform_after_fit(run):
    imp, df = run["imp"], run["df"]
    out = imp.transform(df)
    _assert_observed_identical(out, df)
    assert not out.isna().any().any()
    # rows the model has not seen: a different damage pattern on the same columns
    other = make_mixed_missing(n=60, seed=5)  # same row count: no new compiled chunk shape
    out2 = imp.transform(other)
    _assert_observed_identical(out2, other)
    assert not out2.isna().any().any()


def test_complete_table_comes_back_unchanged(run):
    complete = make_mixed().astype({"color": object, "flag": object, "count": np.float64})
    before = complete.copy(deep=True)
    out = run["imp"].transform(complete)
    pd.testing.assert_frame_equal(out, complete)
    assert out is not complete
    pd.testing.assert_frame_equal(complete, before)


def test_method_specific_state(run):
    imp = run["imp"]
    assert imp.layout_.width == 6 and imp.n_features_in_ == 4
    if run["method"] in ("ae", "recurrent", "reverse"):
        hist = imp.method_.histories_[0]
        assert len(hist.loss) == 3
        assert imp.method_.models_[0].encoder_layers[0].kernel.shape == (12, 16)


def test_fit_on_complete_table_then_transform():
    complete = make_mixed()
    before = complete.copy(deep=True)
    out = Imputer("mean").fit_transform(complete)
    pd.testing.assert_frame_equal(out, complete)
    pd.testing.assert_frame_equal(complete, before)


# ---- parameters --------------------------------------------------------------------------------
def test_get_params_set_params_round_trip():
    imp = Imputer("ae", train={"epochs": 7}, model={"hidden": (8,)}, inversion={"steps": 3}, seed=11)
    params = imp.get_params()
    assert params["method"] == "ae" and params["train__epochs"] == 7 and params["seed"] == 11
    assert params["model__hidden"] == (8,) and params["inversion"] == {"steps": 3}
    assert params["inversion__steps"] == 3 and params["train__batch_size"] == TrainConfig().batch_size
    twin = Imputer(**imp.get_params(deep=False))
    assert twin.get_params() == params
    assert imp.set_params(train__epochs=2, method="mean") is imp
    assert imp.get_params()["train__epochs"] == 2 and imp.method == "mean"
    assert imp.get_params()["model__hidden"] == (8,)  # the other fields are kept
    assert imp.get_params() != params
    assert "epochs=2" in repr(imp) and "dropout" not in repr(imp)


def test_every_config_field_is_reachable():
    params = Imputer().get_params()
    for name, cls in CONFIGS.items():
        for f in dataclasses.fields(cls):
            assert f"{name}__{f.name}" in params, (name, f.name)
    imp = Imputer().set_params(train__steps=500, model__dropout=0.1, uncertainty__fraction=0.2,
                               encoding__scaling="minmax", inversion__steps=4)
    s = imp.settings()
    assert (s.train.steps, s.model.dropout, s.uncertainty.fraction, s.encoding.scaling, s.inversion.steps) == (
        500, 0.1, 0.2, "minmax", 4)


def test_grid_search_over_nested_settings():
    from sklearn.model_selection import GridSearchCV, ParameterGrid

    grid = list(ParameterGrid({"train__steps": [5, 7], "model__latent": [2]}))
    for point in grid:
        imp = Imputer("ae").set_params(**point)
        assert imp.settings().train.steps == point["train__steps"] and imp.settings().model.latent == 2
    assert GridSearchCV  # the estimator protocol GridSearchCV relies on: get_params / set_params with "__"


def test_sklearn_clone():
    from sklearn.base import clone

    imp = Imputer("reverse", model={"latent": 3}, encoding={"sentinels": {"a": [-1]}})
    twin = clone(imp)
    assert twin is not imp and twin.get_params() == imp.get_params()


def test_unknown_param_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'nonsense'.*train"):
        Imputer().set_params(nonsense=1)
    with pytest.raises(ValueError, match=r"stepz.*steps"):
        Imputer().set_params(train__stepz=1)


def test_unknown_inversion_setting():
    with pytest.raises(ValueError, match="stepz"):
        Imputer("reverse", inversion={"stepz": 3}).settings()


# ---- errors ------------------------------------------------------------------------------------
def test_transform_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="fit"):
        Imputer("mean").transform(make_mixed_missing())


def test_different_columns_at_transform():
    df = make_mixed_missing()
    imp = Imputer("mean").fit(df)
    with pytest.raises(ValueError, match="size"):
        imp.transform(df.drop(columns=["size"]))
    with pytest.raises(ValueError, match="surprise"):
        imp.transform(df.assign(surprise=1.0))


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'magic'.*reverse.*mean") as err:
        Imputer("magic").fit(make_mixed_missing())
    for name in METHODS:
        assert name in str(err.value)


def test_empty_table():
    with pytest.raises(ValueError, match="empty"):
        Imputer("mean").fit(pd.DataFrame())


def test_bad_training_settings_fail_at_fit():
    with pytest.raises(ValueError, match="epochs"):
        Imputer("ae", train={"epochs": 0}).fit(make_mixed_missing())
    with pytest.raises(ValueError, match="steps"):
        Imputer("reverse", inversion={"steps": 0}, train={"epochs": 1}).fit(make_mixed_missing())
    with pytest.raises(ValueError, match="members"):
        Imputer("ae", train={"members": 2.0, "epochs": 1}).fit(make_mixed_missing())
    with pytest.raises(ValueError, match="skip"):
        Imputer("reverse", model={"skip": True}, train={"epochs": 1}).fit(make_mixed_missing())
    with pytest.raises(ValueError, match="schedule"):
        Imputer("ae", train={"schedule": "linear", "epochs": 1}).fit(make_mixed_missing())


@pytest.mark.parametrize("method", ["ae", "recurrent"])
def test_ensemble_members_trained_together(method):
    """``train={"members": 3}`` trains three distinct autoencoders in one joint fit; the averaged fill
    keeps observed cells and fills every missing one."""
    df = make_mixed_missing()
    imp = Imputer(method, model=TINY["model"], train={**TINY["train"], "members": 3}, seed=1)
    out = imp.fit_transform(df)
    _assert_observed_identical(out, df)
    assert not out.isna().any().any()
    fitted = imp.method_
    assert len(fitted.models_) == len(fitted.histories_) == len(fitted.fills_) == 3
    assert all(len(h.loss) == 3 for h in fitted.histories_)
    kernels = [np.asarray(m.encoder_layers[0].kernel[...]) for m in fitted.models_]
    assert not np.allclose(kernels[0], kernels[1]) and not np.allclose(kernels[1], kernels[2])

@pytest.mark.parametrize("kwargs, match", [
    ({"model": {"hidden": [0]}}, "hidden"),
    ({"seed": None}, "seed"),
    ({"seed": 2**64}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"train": {"epochs": 2.5}}, "epochs"),
    ({"train": {"steps": 10, "epochs": 2}}, "steps or TrainConfig.epochs"),
    ({"train": {"learning_rate": "0.1"}}, "learning_rate"),
    ({"train": {"batch_size": "128"}}, "batch_size"),
    ({"uncertainty": {"fraction": 1.5}}, "fraction"),
    ({"model": {"dropout": "0.2"}}, "dropout"),
    ({"encoding": {"scaling": "log"}}, "scaling"),
    ({"model": 3}, "model must be"),
    ({"options": {"n_neighbors": 3}}, "options"),
    ({"options": {"choice": "batch"}}, "choice"),
    ({"method": "reverse", "options": {"choice": "rows"}}, "choice must be one of"),
    ({"method": "reverse", "options": {"steps": 3}}, r"\['steps'\] are not options of method 'reverse'"),
])
def test_bad_settings_raise_a_clear_error_at_fit(kwargs, match):
    imp = Imputer(**{"method": "ae", **kwargs})  # no work (and no check) in __init__
    with pytest.raises((ValueError, TypeError), match=match):
        imp.fit(make_mixed_missing())


# ---- arrays and images -------------------------------------------------------------------------
def test_numpy_array_in_array_out():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    x[rng.random(x.shape) < 0.15] = np.nan
    before = x.copy()
    out = Imputer("mean").fit_transform(x)
    assert isinstance(out, np.ndarray)
    chex.assert_shape(out, x.shape)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(x, before)  # not modified (NaN where they were)
    obs = ~np.isnan(x)
    assert np.array_equal(out[obs], x[obs])
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out[~obs], np.broadcast_to(np.nanmean(x, axis=0), x.shape)[~obs], rtol=1e-5)


def test_tiny_image_stack_with_conv_reverse():
    rng = np.random.default_rng(0)
    n = 24
    truth = np.zeros((n, 8, 8), np.float32)
    for i in range(n):  # bars of random height: a structure a model can learn
        truth[i, :, 1 + i % 5: 3 + i % 5] = 0.9
    truth += 0.05 * rng.random(truth.shape).astype(np.float32)
    missing = row_mask(0, n, 8, 8, 2)
    imgs = truth.copy()
    imgs[missing] = np.nan
    before = imgs.copy()
    imp = Imputer("reverse", model={"architecture": "conv", "latent": 4}, train={"epochs": 2, "batch_size": 16},
                  inversion={"steps": 5}, seed=0)
    out = imp.fit_transform(imgs)
    assert isinstance(out, np.ndarray)
    chex.assert_shape(out, (n, 8, 8))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(imgs, before)
    assert np.array_equal(out[~missing], imgs[~missing])
    assert np.isfinite(out).all()
    assert ((out >= 0) & (out <= 1)).all()
    assert imp.image_shape_ == (8, 8)
    with pytest.raises(ValueError, match="images"):
        imp.transform(imgs.reshape(n, -1))


def test_uint8_images_are_rejected():
    imgs = np.zeros((3, 8, 8), np.uint8)
    with pytest.raises(TypeError, match="255"):
        Imputer("reverse").fit(imgs)


def test_images_outside_unit_interval_are_rejected():
    imgs = np.full((3, 8, 8), 2.0, np.float32)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Imputer("mean").fit(imgs)


def test_bad_array_rank():
    with pytest.raises(ValueError, match="2-D"):
        Imputer("mean").fit(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        Imputer("mean").fit([1.0, 2.0])


# ---- what counts as missing --------------------------------------------------------------------
def test_sentinels_are_missing_and_replaced():
    df = make_mixed()
    df.loc[df.index[::6], "count"] = -999
    before = df.copy(deep=True)
    sentinel = (df["count"] == -999).to_numpy()
    imp = Imputer("mean", encoding={"sentinels": {"count": [-999]}})
    out = imp.fit_transform(df)
    pd.testing.assert_frame_equal(df, before)
    assert not (out["count"] == -999).any()
    assert out["count"].dtype == np.int64  # still an int column, filled with rounded values
    assert np.array_equal(out["count"].to_numpy()[~sentinel], df["count"].to_numpy()[~sentinel])
    mean_observed = df["count"][~sentinel].mean()
    assert (out["count"][sentinel] == round(mean_observed)).all()
    assert imp.report_.loc["count", "sentinel"] == sentinel.sum()
    for col in ("color", "flag", "size"):
        pd.testing.assert_series_equal(out[col], df[col])


def test_tokens_in_a_string_column_are_missing():
    df = make_mixed()
    df["color"] = df["color"].astype(object)
    df.loc[df.index[::5], "color"] = "?"
    df.loc[df.index[1::11], "color"] = " NA "
    token = df["color"].isin(["?", " NA "]).to_numpy()
    out = Imputer("mean").fit_transform(df)
    assert set(out["color"]) <= COLORS
    assert (out["color"].to_numpy()[~token] == df["color"].to_numpy()[~token]).all()
    mode = df["color"][~token].mode()[0]
    assert (out["color"][token] == mode).all()


def test_nullable_int_column_keeps_its_dtype():
    df = pd.DataFrame({"a": pd.array([1, None, 3, 4], dtype="Int64"), "b": [0.5, 0.1, np.nan, 0.3]})
    out = Imputer("mean").fit_transform(df)
    assert out["a"].dtype == "Int64"
    assert out["a"].tolist() == [1, 3, 3, 4]  # mean 2.67 rounds to 3


def test_auto_refits_the_chosen_network_on_every_observed_cell_of_a_small_table():
    """On a table under ``REFIT_NETWORK_CELLS`` the network, once it carries weight, is fitted again on
    every observed cell (its fit table is the whole observed table, not the hold-out split)."""
    import jax

    from invimpute.methods.auto import REFIT_NETWORK_CELLS, Auto
    from invimpute.config import ModelConfig
    from invimpute.encoding.layout import NUMERIC, Layout
    from invimpute.training.loop import TrainConfig

    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 1))
    X = np.hstack([z, 2 * z, -z, z ** 2]).astype(np.float32) + 0.05 * rng.normal(size=(400, 4)).astype(np.float32)
    observed = rng.random(X.shape) > 0.2
    assert X.size <= REFIT_NETWORK_CELLS
    auto = Auto(model=ModelConfig(hidden=(32,), latent=4), train=TrainConfig(steps=600, learning_rate=1e-2),
                candidates=("mean", "network")).fit(np.where(observed, X, 0), observed, Layout.uniform(4, NUMERIC),
                                                    jax.random.key(0))
    assert auto.weights_[auto.names_.index("network")].max() > 0, "the test table should give the network weight"
    np.testing.assert_array_equal(auto.methods_["network"].fit_data_[1], observed)


def test_auto_keeps_the_trees_first_fit_where_little_was_held_out(monkeypatch):
    """Below ``REFIT_TREES_HOLDOUT`` of the observed cells held out, the chosen trees keep their first fit (a
    second fit as costly as the first would add a few percent of cells); from it they are refitted on every
    observed cell."""
    import jax

    from invimpute.methods import auto as auto_module
    from invimpute.methods.auto_trees import TREES_MIN_ROWS
    from invimpute.encoding.layout import NUMERIC, Layout

    rng = np.random.default_rng(0)
    z = rng.uniform(-2, 2, size=(TREES_MIN_ROWS, 1))
    X = np.hstack([z, np.abs(z), np.sign(z), z ** 2]).astype(np.float32)
    observed = rng.random(X.shape) > 0.2
    calls = []
    fit_candidate = auto_module.Auto._fit_candidate

    def spy(self, name, X, observed, layout, key, what="fit"):
        calls.append((name, what))
        return fit_candidate(self, name, X, observed, layout, key, what)

    monkeypatch.setattr(auto_module.Auto, "_fit_candidate", spy)
    for share, refitted in ((0.0, True), (1.0, False)):
        monkeypatch.setattr(auto_module, "REFIT_TREES_HOLDOUT", share)
        calls.clear()
        auto = auto_module.Auto(candidates=("mean", "trees")).fit(np.where(observed, X, 0), observed,
                                                                 Layout.uniform(4, NUMERIC), jax.random.key(0))
        assert auto.weights_[auto.names_.index("trees")].max() > 0, "the test table should give the trees weight"
        assert (("trees", "refit") in calls) is refitted
        out = auto.impute(np.where(observed, X, 0), observed, jax.random.key(1))
        assert np.isfinite(out).all() and np.array_equal(out[observed], X[observed])


def test_auto_bounds_knn_donors_by_the_distance_work():
    """KNN keeps every row as a donor on tables of letter's size and draws fewer on longer or wider ones, so
    its passes cost at most ``KNN_WORK`` multiply-adds; the fitted candidate holds that many donors."""
    import jax

    from invimpute.methods.auto import Auto
    from invimpute.peers.neighbours import KNN_DONORS, KNN_WORK, knn_donors
    from invimpute.encoding.layout import NUMERIC, Layout

    assert knn_donors(20_000, 16) == KNN_DONORS and knn_donors(1_000, 20) == KNN_DONORS
    assert knn_donors(30_000, 23) * 30_000 * 23 <= KNN_WORK < (knn_donors(30_000, 23) + 1) * 30_000 * 23
    assert knn_donors(10**7, 10**4) == 1
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4)).astype(np.float32)
    observed = rng.random(X.shape) > 0.2
    auto = Auto(candidates=("mean", "knn"))
    fitted = auto._fit_candidate("knn", X, observed, Layout.uniform(4, NUMERIC), jax.random.key(0))
    assert fitted.donors_.shape[0] == 600


def test_auto_scores_only_the_rows_with_held_out_cells():
    """Candidates fill rows independently, so auto fills only rows holding a held-out cell when it scores
    them: the held-out fills it keeps are those of the whole table at those cells."""
    import jax

    from invimpute.methods.auto import Auto
    from invimpute.encoding.layout import NUMERIC, Layout

    rng = np.random.default_rng(1)
    z = rng.normal(size=(3_000, 1))
    X = (np.hstack([z, -z, 0.5 * z]) + 0.3 * rng.normal(size=(3_000, 3))).astype(np.float32)
    observed = rng.random(X.shape) > 0.1
    auto = Auto(candidates=("mean", "knn", "gaussian")).fit(np.where(observed, X, 0), observed,
                                                             Layout.uniform(3, NUMERIC), jax.random.key(0))
    held, fills = auto.holdout_
    assert held.sum() > 0 and not held.any(axis=1).all(), "some rows should hold no held-out cell"
    train, layout = observed & ~held, Layout.uniform(3, NUMERIC)
    for c, name in enumerate(auto.names_):  # these candidates draw nothing at random on this table
        fresh = auto.make_candidate(name, layout, len(X)).fit(np.where(observed, X, 0), train, layout, jax.random.key(5))
        whole = fresh.impute(np.where(observed, X, 0), train, jax.random.key(9))
        np.testing.assert_allclose(fills[:, c], whole[held], rtol=1e-4, atol=1e-5)


def test_auto_imputes_with_each_row_wise_candidate_only_the_rows_it_helps(monkeypatch):
    """At imputation a row-wise candidate fills only the rows missing a cell in a column where it has weight:
    the fill equals the one with every candidate filling every row, and a candidate without weight in a
    row's missing columns never sees that row."""
    import jax

    from invimpute.encoding.layout import NUMERIC, Layout
    from invimpute.methods import auto as auto_module
    from invimpute.methods.auto import Auto
    from invimpute.peers.neighbours import NearestNeighbours

    rng = np.random.default_rng(1)
    z = rng.normal(size=(800, 1))
    X = (np.hstack([z, -z, 0.5 * z, rng.normal(size=(800, 1))]) + 0.3 * rng.normal(size=(800, 4))).astype(np.float32)
    observed = rng.random(X.shape) > np.array([0.05, 0.05, 0.05, 0.5])
    X0 = np.where(observed, X, 0).astype(np.float32)
    auto = Auto(candidates=("mean", "knn", "gaussian")).fit(X0, observed, Layout.uniform(4, NUMERIC), jax.random.key(0))
    knn = auto.names_.index("knn")
    auto.weights_[:] = 0.0  # KNN fills the first three columns, the mean the last: KNN helps only rows missing one of those
    auto.weights_[knn, :3] = 1.0
    auto.weights_[auto.names_.index("mean"), 3] = 1.0
    seen = []
    impute = NearestNeighbours.impute
    monkeypatch.setattr(NearestNeighbours, "impute", lambda self, A, o, k: seen.append(len(A)) or impute(self, A, o, k))
    subset = auto.impute(X0, observed, jax.random.key(3))
    monkeypatch.setattr(auto_module, "ROW_WISE", ())
    whole = auto.impute(X0, observed, jax.random.key(3))
    helped = (~observed & (auto.weights_[knn] > 0)).any(axis=1)
    assert seen == [int(helped.sum()), len(X0)] and 0 < helped.sum() < len(X0)
    np.testing.assert_allclose(subset, whole, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(subset[observed], X0[observed])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ae", "recurrent", "reverse"])
def test_every_neural_method_learns_at_its_defaults(method, shared_data):
    """With no argument but the method, each neural method beats mean fill on a real table (breast,
    20% MCAR): its default budget, counted in optimiser steps, is a real fit whatever the table's size."""
    from invimpute.datasets import load_uci

    truth = load_uci("breast", data_home=shared_data, download=False).astype(float)
    missing = np.random.default_rng(0).random(truth.shape) < 0.2
    damaged = truth.mask(missing)
    span = (truth.max() - truth.min()).to_numpy()

    def rmse(filled: pd.DataFrame) -> float:
        return float(np.sqrt(np.mean((((filled.to_numpy() - truth.to_numpy()) / span)[missing]) ** 2)))

    assert rmse(Imputer(method, seed=0).fit_transform(damaged)) < 0.8 * rmse(Imputer("mean").fit_transform(damaged))


def test_docstring_lists_every_method_attribute_and_an_example():
    from invimpute.estimator.imputer import METHODS

    doc = Imputer.__doc__
    missing = [m for m in METHODS if f'"{m}"' not in doc]
    assert not missing, f"Imputer's docstring leaves out methods {missing}"
    assert "Attributes:" in doc and "Examples:" in doc and "progress:" in doc
    fitted = Imputer(train={"epochs": 1}).fit(make_mixed_missing())
    public = [name for name in [*vars(fitted), "history_"] if name.endswith("_") and not name.startswith("_")]
    undocumented = [name for name in public if name not in doc]
    assert not undocumented, f"fitted attributes missing from the Attributes section: {undocumented}"
