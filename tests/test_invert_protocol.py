"""A user's own Flax NNX module, defined only here, inverted through the documented protocol
(:mod:`invimpute.inversion.protocol`): input mode, latent mode, mask input, and clear errors otherwise."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from invimpute import InversionConfig, Layout, TrainConfig, fit, invert, invert_validated
from invimpute.encoding.layout import NUMERIC
from invimpute.inversion.protocol import Invertible, LatentInvertible, check_model

FAST = InversionConfig(steps=15, batch_size=64)


class Gated(nnx.Module):
    """Not one of the library's networks: values gated by the mask input, a tanh code, a linear decoder."""

    def __init__(self, d: int, code: int, *, rngs: nnx.Rngs):
        self.gate = nnx.Param(jnp.ones((d,)))
        self.enc = nnx.Linear(2 * d, code, rngs=rngs)
        self.dec = nnx.Linear(code, d, rngs=rngs)

    def encode(self, x, missing=None, *, key=None):
        m = jnp.zeros_like(x) if missing is None else missing.astype(x.dtype)
        return jnp.tanh(self.enc(jnp.concatenate([x * self.gate[...] * (1.0 - m), m], axis=-1)))

    def decode(self, code, *, key=None):
        return self.dec(code)

    def __call__(self, x, missing=None, *, key=None):
        return self.decode(self.encode(x, missing))


class CallOnly(nnx.Module):
    """Input mode only: no encode/decode."""

    def __init__(self, d: int, *, rngs: nnx.Rngs):
        self.lin = nnx.Linear(d, d, rngs=rngs)

    def __call__(self, x, missing=None, *, key=None):
        return self.lin(x)


class WrongWidth(CallOnly):
    def __call__(self, x, missing=None, *, key=None):
        return self.lin(x)[..., :-1]


@pytest.fixture(scope="module")
def trained():
    """A two-factor table (every column a mix of two factors), the Gated model trained on it, and a mask."""
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(256, 2))
    X = (factors @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(256, 6))).astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)
    layout = Layout.uniform(6, NUMERIC)
    model = Gated(6, 3, rngs=nnx.Rngs(0))
    fit(model, X, np.ones_like(X, bool), layout,
        TrainConfig(steps=400, batch_size=64, learning_rate=1e-2, schedule="constant", corruption=0.3,
                    target="hidden", validation_fraction=0.0), jax.random.key(0))
    observed = rng.random(X.shape) > 0.3
    return model, X, observed, layout


@pytest.mark.parametrize("mode", ["input", "latent"])
def test_user_model_inverts(trained, mode):
    """Both modes run through the user's model: observed cells kept exactly, no NaN, and the repair far
    closer to the truth than column means (the model learned the factors)."""
    model, X, observed, layout = trained
    out = invert(model, X, observed, layout, InversionConfig(steps=15, batch_size=64, mode=mode), key=0)
    assert np.array_equal(out.x[observed], X[observed])
    assert np.isfinite(out.x).all()
    rmse = np.sqrt(np.mean((out.x - X)[~observed] ** 2))
    mean_rmse = np.sqrt(np.mean(X[~observed] ** 2))  # X is standardised: column means are about 0
    assert rmse < 0.6 * mean_rmse


def test_mask_input_reaches_the_model(trained):
    """With feed_mask the model's mask input is the sample's missing indicator: the user's gate sees it,
    so the repair differs from the one that presents the sample as complete."""
    model, X, observed, layout = trained
    plain = invert(model, X, observed, layout, FAST, key=0).x
    fed = invert(model, X, observed, layout, InversionConfig(steps=15, batch_size=64, feed_mask=True), key=0).x
    assert not np.allclose(plain, fed)


def test_user_model_in_invert_validated(trained):
    model, X, observed, layout = trained
    out = invert_validated(model, X, observed, layout, {"reverse": FAST, "latent": InversionConfig(
        steps=15, batch_size=64, mode="latent")}, key=0)
    assert np.array_equal(out.x[observed], X[observed]) and np.isfinite(out.x).all()


def test_protocol_checks():
    d = 4
    assert isinstance(Gated(d, 2, rngs=nnx.Rngs(0)), LatentInvertible)
    call_only = CallOnly(d, rngs=nnx.Rngs(0))
    assert isinstance(call_only, Invertible) and not isinstance(call_only, LatentInvertible)
    check_model(call_only, d, latent=False)
    X = np.zeros((3, d), np.float32)
    obs = np.ones((3, d), bool)
    obs[0, 0] = False
    layout = Layout.uniform(d, NUMERIC)
    with pytest.raises(TypeError, match="latent mode.*encode"):
        invert(call_only, X, obs, layout, InversionConfig(steps=2, mode="latent"))
    with pytest.raises(ValueError, match=r"one score per encoded column"):
        invert(WrongWidth(d, rngs=nnx.Rngs(0)), X, obs, layout, InversionConfig(steps=2))
    with pytest.raises(TypeError, match="Flax NNX module"):
        invert(lambda x, m=None: x, X, obs, layout, InversionConfig(steps=2))
