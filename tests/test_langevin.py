"""Posterior draws by annealed Langevin dynamics through a denoiser (:mod:`invimpute.inversion.langevin`)."""

from __future__ import annotations

import numpy as np
import pytest

from invimpute import symmetric_mlp
from invimpute.encoding.layout import CATEGORICAL, NUMERIC, Layout
from invimpute.inversion.langevin import LangevinConfig, fit_denoiser, langevin_draws

FAST = LangevinConfig(train_steps=800, batch_size=64, levels=6, steps=10, learning_rate=3e-3)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 1))
    X = np.hstack([z, -z, z + 0.3 * rng.normal(size=(200, 1))]).astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)
    observed = rng.random(X.shape) > 0.25
    layout = Layout.uniform(3, NUMERIC)
    model = symmetric_mlp(3, hidden=(32,), latent=3, seed=0, mask_input=True, skip=True)
    losses = fit_denoiser(model, np.where(observed, X, 0.0), observed, layout, FAST, key=0)
    return model, X, observed, layout, losses


def test_denoiser_learns(trained):
    losses = trained[-1]
    assert losses.shape == (FAST.train_steps,) and losses[-50:].mean() < losses[:50].mean()


def test_draws_keep_observed_and_spread(trained):
    model, X, observed, layout, _ = trained
    draws = langevin_draws(model, X, observed, layout, FAST, key=1, n_draws=6)
    assert draws.shape == (6,) + X.shape and np.isfinite(draws).all()
    assert all(np.array_equal(d[observed], X[observed]) for d in draws)
    assert draws.std(axis=0)[~observed].mean() > 0.01  # the draws differ where cells are missing
    np.testing.assert_array_equal(draws, langevin_draws(model, X, observed, layout, FAST, key=1, n_draws=6))
    # the mean of the draws uses the correlations: far better than column means (about 0 here)
    rmse = np.sqrt(np.mean((draws.mean(0) - X)[~observed] ** 2))
    assert rmse < 0.8 * np.sqrt(np.mean(X[~observed] ** 2))


def test_bad_input_is_refused(trained):
    model, X, observed, _, _ = trained
    with pytest.raises(ValueError, match="categorical or binary"):
        langevin_draws(model, X, observed, Layout(kind=(NUMERIC, CATEGORICAL, CATEGORICAL), group=(0, 1, 1)), FAST)
    with pytest.raises(ValueError, match="rate"):
        LangevinConfig(rate=2.0).validate()
    with pytest.raises(ValueError, match="n_draws"):
        langevin_draws(model, X, observed, Layout.uniform(3, NUMERIC), FAST, n_draws=0)
