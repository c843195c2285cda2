"""Where reverse training starts: a fill given in the missing entries (``init="fill"``), and the
nearest-neighbour fill of the rows the Imputer was fitted on (``init="knn"``)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import invimpute as ii
from invimpute.inversion.validated import invert_validated

TRAIN = {"steps": 60, "batch_size": 32}
STILL = {"steps": 1, "learning_rate": 1e-6, "objective": "observed", "proximal": 0.0}
"""One step too small to move anything: the repair is its start, to float rounding."""


def _table(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(truth, damaged): correlated numbers with a fifth of the cells missing, every row keeping one."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    X = np.c_[z, z @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(n, 3))].astype(np.float32)
    lost = rng.random(X.shape) < 0.2
    lost[:, 0] &= ~lost[:, 1:].all(axis=1)
    return X, np.where(lost, np.nan, X)


@pytest.fixture(scope="module")
def fitted():
    _, damaged = _table()
    return ii.Imputer("ae", train=TRAIN, seed=0).fit(damaged), damaged


def test_init_fill_starts_from_the_given_missing_entries(fitted):
    imp, damaged = fitted
    model, layout = imp.method_.models_[0], imp.layout_
    observed = ~np.isnan(damaged)
    start = np.where(observed, np.nan_to_num(damaged), 0.75).astype(np.float32)
    x = ii.invert(model, start, observed, layout, ii.InversionConfig(init="fill", **STILL), 0).x
    np.testing.assert_allclose(x[~observed], 0.75, atol=1e-4)
    np.testing.assert_array_equal(x[observed], start[observed])
    from_model = ii.invert(model, start, observed, layout, ii.InversionConfig(**STILL), 0).x
    assert np.abs(from_model - x)[~observed].max() > 1e-2, "init='model' must ignore the given fill"
    nan_start = np.where(observed, start, np.nan).astype(np.float32)
    zeros = ii.invert(model, nan_start, observed, layout, ii.InversionConfig(init="fill", **STILL), 0).x
    assert np.isfinite(zeros).all(), "a NaN in a missing entry starts from 0 under init='fill'"


def test_invert_refuses_init_knn_and_validation_refuses_a_given_fill(fitted):
    imp, damaged = fitted
    model, layout = imp.method_.models_[0], imp.layout_
    observed = ~np.isnan(damaged)
    x = np.nan_to_num(damaged)
    with pytest.raises(ValueError, match="init='knn'.*Imputer"):
        ii.invert(model, x, observed, layout, ii.InversionConfig(init="knn"), 0)
    with pytest.raises(ValueError, match="init='fill'"):
        invert_validated(model, x, observed, layout, {"reverse": ii.InversionConfig(init="fill")}, 0)
    with pytest.raises(ValueError, match="choice='batch'.*init='knn'"):
        ii.Imputer("reverse", inversion={"init": "knn"}, options={"choice": "batch"}, train=TRAIN).fit(damaged)


def test_imputer_init_knn_starts_from_the_fit_rows_neighbours_and_keeps_them(tmp_path):
    from invimpute import checkpoint

    truth, damaged = _table(seed=1)
    before = damaged.copy()
    imp = ii.Imputer("reverse", inversion={"init": "knn", **STILL}, train=TRAIN, seed=0).fit(damaged)
    method = imp.method_
    assert method.neighbours_ is not None and method.neighbours_.donors_.shape == damaged.shape
    out = imp.transform(damaged)
    np.testing.assert_array_equal(damaged, before)
    lost = np.isnan(damaged)
    assert not np.isnan(out).any() and np.array_equal(out[~lost], damaged[~lost])
    # a start that does not move is the neighbours' fill (encoded units), with the fit rows as donors
    X, observed = method.fit_data_
    key = jax.random.key(3)
    np.testing.assert_allclose(method.reverse_fill(X, observed, key), method.neighbours_.impute(X, observed, key),
                               atol=1e-4)
    loaded = checkpoint.load(checkpoint.save(imp, tmp_path / "knn-start"))
    np.testing.assert_array_equal(loaded.transform(damaged), out)
    assert loaded.method_.neighbours_.donors_.shape == damaged.shape


def test_auto_start_and_mode_resolve_by_data_and_model():
    from invimpute.config import ModelConfig
    from invimpute.methods.registry import Autoencoding

    def resolved(**kwargs):
        cfg = Autoencoding(**kwargs).resolved_inversion_config()
        return cfg.init, cfg.mode

    assert (ii.InversionConfig().init, ii.InversionConfig().mode) == ("auto", "auto")
    assert resolved(algorithm="reverse", image_shape=(8, 8)) == ("knn", "latent")        # the convolutional model
    assert resolved(algorithm="reverse") == ("model", "input")                            # tables
    assert resolved(algorithm="reverse", image_shape=(8, 8), choice="batch") == ("model", "input")
    mlp = ModelConfig(architecture="mlp")
    assert resolved(algorithm="reverse", model=mlp, image_shape=(8, 8)) == ("knn", "latent")  # no skip path
    assert resolved(algorithm="ae", model=mlp, image_shape=(8, 8)) == ("knn", "input")        # a skip path
    given = ii.InversionConfig(init="mean", mode="input")
    assert Autoencoding("reverse", inversion=given, image_shape=(8, 8)).resolved_inversion_config() == given
