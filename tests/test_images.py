"""Images at the Imputer's defaults: a convolutional masked autoencoder trained under mixed damage."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import invimpute as ii
from invimpute.config import ModelConfig
from invimpute.encoding.missingness import IMAGE_DAMAGES, ImageDamage
from invimpute.methods.registry import Autoencoding
from invimpute.models.networks import ConvAutoencoder, MLPAutoencoder
from invimpute.training.loop import TrainConfig

TINY = {"steps": 50, "batch_size": 16}


def strokes(n: int = 48, h: int = 8, w: int = 8, seed: int = 0) -> np.ndarray:
    """Tiny images in [0, 1]: a bright horizontal and a bright vertical bar at random places."""
    rng = np.random.default_rng(seed)
    img = np.zeros((n, h, w), np.float32)
    img[np.arange(n), rng.integers(0, h, n), :] = 1.0
    img[np.arange(n), :, rng.integers(0, w, n)] = 0.8
    return img


def test_auto_architecture_is_conv_on_images_and_mlp_on_tables():
    from flax import nnx

    assert ModelConfig().architecture == "auto"
    assert isinstance(nnx.eval_shape(lambda: ModelConfig().build(64, 0, (8, 8))), ConvAutoencoder)
    assert isinstance(nnx.eval_shape(lambda: ModelConfig().build(64, 0)), MLPAutoencoder)
    assert isinstance(nnx.eval_shape(lambda: ModelConfig(architecture="mlp").build(64, 0, (8, 8))), MLPAutoencoder)


def test_corruption_by_auto_resolves_to_mixed_damage_on_images_only():
    on_images = Autoencoding("reverse", image_shape=(8, 8)).resolved_train_config(64)
    assert on_images.corruption_by == ImageDamage(8, 8)
    assert Autoencoding("reverse").resolved_train_config(64).corruption_by == "cell"
    with pytest.raises(ValueError, match="corruption_by='mixed' needs image input"):
        Autoencoding("ae", train=TrainConfig(corruption_by="mixed")).validate()
    with pytest.raises(ValueError, match="corruption_by"):
        TrainConfig(corruption_by="pixels").validate()
    with pytest.raises(ValueError, match="needs image input"):
        ii.fit(ModelConfig().build(64, 0), np.zeros((4, 64), np.float32), np.ones((4, 64), bool),
               ii.Layout.uniform(64), TrainConfig(corruption_by="mixed", steps=1), jax.random.key(0))


def _shapes(hidden: np.ndarray) -> set[str]:
    """Which kinds of damage each (h, w) mask of ``hidden`` can be (a mask may fit several)."""
    rows = hidden.any(1)
    ys, xs = np.nonzero(hidden)
    kinds = set()
    if (hidden.all(1) | ~hidden.any(1)).all():
        kinds.add("rows")
        if rows.any() and np.all(np.diff(np.nonzero(rows)[0]) == 1):
            kinds.add("band")
    if len(ys) and hidden[ys.min():ys.max() + 1, xs.min():xs.max() + 1].all():
        kinds.add("rectangle")
    return kinds


def test_image_damage_draws_every_kind_at_about_the_rate():
    damage = ImageDamage(12, 10)
    observed = jnp.ones((400, 120), bool)
    hidden = np.asarray(damage.hide(jax.random.key(3), observed, 0.3)).reshape(400, 12, 10)
    assert 0.2 < hidden.mean() < 0.4
    structured = [_shapes(m) for m in hidden]
    assert sum("band" in s for s in structured) > 60          # a quarter are bands (3-4 adjacent rows)
    assert sum(s == {"rectangle"} for s in structured) > 60   # a quarter rectangles that are not row bands
    scattered = [s for s in structured if not s]               # scattered pixels and random rows that are not a band
    assert len(scattered) > 100
    assert len(IMAGE_DAMAGES) == 4
    # only observed pixels are hidden, a zero rate hides nothing, the draw is a function of the key
    partial = jnp.asarray(np.random.default_rng(0).random((400, 120)) < 0.5)
    assert not np.any(np.asarray(damage.hide(jax.random.key(3), partial, 0.3)) & ~np.asarray(partial))
    assert not np.asarray(damage.hide(jax.random.key(3), observed, 0.0)).any()
    np.testing.assert_array_equal(np.asarray(damage.hide(jax.random.key(3), observed, 0.3)), hidden.reshape(400, -1))


def test_conv_autoencoder_pads_any_size():
    from flax import nnx

    m = ConvAutoencoder(10, 6, channels=(4, 8), latent=5, mask_input=True, rngs=nnx.Rngs(0))
    x = jnp.ones((3, 60))
    assert m(x, jnp.zeros_like(x)).shape == (3, 60)
    assert m.encode(x, jnp.zeros_like(x)).shape == (3, 5)


@pytest.fixture(scope="module")
def tiny_fit() -> tuple[ii.Imputer, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(imputer, damaged images, the caller's copy before fit, the repair, the truth): one fit for the tests
    that read it."""
    images = strokes()
    lost = ii.row_mask(1, len(images), 8, 8, 3)
    broken = np.where(lost, np.nan, images).astype(np.float32)
    before = broken.copy()
    imp = ii.Imputer("reverse", train=TINY, seed=0).fit(broken)
    return imp, broken, before, imp.transform(broken), images


def test_imputer_on_images_trains_the_conv_model_and_keeps_observed_pixels(tiny_fit):
    imp, broken, before, out, images = tiny_fit
    assert isinstance(imp.method_.models_[0], ConvAutoencoder)
    assert imp.method_.resolved_train_config(64).corruption_by == ImageDamage(8, 8)
    # reverse training on images starts from the fill of the nearest training images and optimises the code
    resolved = imp.method_.resolved_inversion_config()
    assert (resolved.init, resolved.mode) == ("knn", "latent") and imp.method_.neighbours_ is not None
    np.testing.assert_array_equal(broken, before, err_msg="the caller's data must not change")
    assert out.shape == images.shape and not np.isnan(out).any()
    lost = np.isnan(broken)
    np.testing.assert_array_equal(out[~lost], images[~lost])
    again = ii.Imputer("reverse", train=TINY, seed=0).fit(broken).transform(broken)
    np.testing.assert_array_equal(out, again)


def test_the_image_model_survives_a_checkpoint(tiny_fit, tmp_path):
    from invimpute import checkpoint

    imp, broken, _, out, _ = tiny_fit
    loaded = checkpoint.load(checkpoint.save(imp, tmp_path / "images"))
    assert isinstance(loaded.method_.models_[0], ConvAutoencoder)
    np.testing.assert_array_equal(loaded.transform(broken), out)


def test_reverse_training_through_the_image_model_moves_the_missing_pixels_only():
    images = strokes(seed=1)
    imp = ii.Imputer("ae", train=TINY, seed=0).fit(images)
    model, layout = imp.method_.models_[0], imp.layout_
    flat = images.reshape(len(images), -1)
    missing = ii.row_mask(2, len(images), 8, 8, 3).reshape(len(images), -1)
    x_in = np.where(missing, 0.0, flat).astype(np.float32)
    one = np.asarray(ii.predict(model, x_in, missing, layout))
    rev = ii.invert(model, x_in, ~missing, layout, ii.InversionConfig(), 0).x
    np.testing.assert_array_equal(rev[~missing], flat[~missing])
    assert np.isfinite(rev).all()
    assert np.abs(rev - one)[missing].max() > 1e-3
