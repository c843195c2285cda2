"""Tests for invimpute.models.networks (NNX autoencoders) and invimpute.training.loop (masked fit, recurrent refill)."""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from invimpute import ConvAutoencoder, ModelConfig, Layout, MLPAutoencoder, TrainConfig, fit, fit_members, predict, reference_mlp, symmetric_mlp
from invimpute.models.networks import dropout, weight_penalty


def _kernel_shapes(layers) -> list[tuple[int, int]]:
    return [tuple(layer.kernel.shape) for layer in layers]


def _params(model) -> dict:
    return jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param)))


# ---- models ----------------------------------------------------------------------------------
# Building a model compiles one initialiser per distinct kernel shape, which is slow on a busy CPU: the
# width checks build abstract models with nnx.eval_shape, and the numeric checks share a few small ones
# (the (6 -> 16 -> 4) MLP matches the one used by the inversion and Imputer tests).
@pytest.fixture(scope="module")
def mlp():
    return symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.5)


@pytest.fixture(scope="module")
def conv():
    # default channels (32, 64) and a mask channel: the shapes the Imputer's tiny image test builds
    return ConvAutoencoder(8, 8, latent=4, mask_input=True, rngs=nnx.Rngs(0))


@pytest.mark.parametrize("d", [5, 13, 300])
def test_reference_mlp_widths(d):
    m = nnx.eval_shape(lambda: reference_mlp(d, seed=0))
    h1, h2, z = min(2000, 8 * d), min(500, 2 * d), math.ceil(d / 2)
    assert _kernel_shapes(m.encoder_layers) == [(2 * d, h1), (h1, h2), (h2, z)]
    assert _kernel_shapes(m.decoder_layers) == [(z, d)]
    assert m.mask_input and m.dropout_rate == 0.5


def test_reference_mlp_output_shapes():
    d, n = 6, 9
    m = reference_mlp(d, seed=1)  # widths 48, 12, 3
    x = jnp.ones((n, d))
    miss = jnp.zeros((n, d))
    out = m(x, miss)
    chex.assert_shape(out, (n, d))
    chex.assert_type(out, jnp.float32)
    chex.assert_shape(m.encode(x, miss), (n, 3))
    chex.assert_shape(m(x[0], miss[0]), (d,))  # one sample without a batch axis
    chex.assert_trees_all_close(m(x[0], miss[0]), out[0], atol=1e-6)
    assert bool(jnp.isfinite(out).all())


def test_symmetric_mlp_is_mirrored(mlp):
    m = nnx.eval_shape(lambda: symmetric_mlp(6, hidden=(16, 8), latent=3, seed=0, mask_input=False))
    assert _kernel_shapes(m.encoder_layers) == [(6, 16), (16, 8), (8, 3)]
    assert _kernel_shapes(m.decoder_layers) == [(3, 8), (8, 16), (16, 6)]
    default = nnx.eval_shape(lambda: symmetric_mlp(10, seed=0))
    assert _kernel_shapes(default.encoder_layers) == [(20, 80), (80, 20), (20, 5)]
    assert _kernel_shapes(default.decoder_layers) == [(5, 20), (20, 80), (80, 10)]
    assert _kernel_shapes(mlp.encoder_layers) == [(12, 16), (16, 4)]  # mask input: width 2d
    x = jnp.full((4, 6), 0.3)
    miss = jnp.zeros((4, 6))
    z = mlp.encode(x, miss)
    chex.assert_shape(z, (4, 4))
    out = mlp.decode(z)
    chex.assert_shape(out, (4, 6))
    chex.assert_trees_all_close(mlp(x, miss), out)


def test_mask_input_changes_the_output(mlp):
    x = jnp.full((1, 6), 0.5)
    a = mlp(x, jnp.zeros((1, 6)))
    b = mlp(x, jnp.ones((1, 6)))
    assert not np.allclose(np.asarray(a), np.asarray(b))


def test_seed_determines_initialisation(mlp):
    same = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.5)
    other = symmetric_mlp(6, hidden=(16,), latent=4, seed=1, dropout=0.5)
    chex.assert_trees_all_equal(_params(mlp), _params(same))
    assert not np.array_equal(
        _params(mlp)["encoder_layers"][0]["kernel"], _params(other)["encoder_layers"][0]["kernel"]
    )


def test_conv_autoencoder_shapes(conv):
    m = conv
    x = jnp.linspace(0, 1, 3 * 64).reshape(3, 64)
    miss = jnp.zeros_like(x)
    z = m.encode(x, miss)
    chex.assert_shape(z, (3, 4))
    out = m.decode(z)
    chex.assert_shape(out, (3, 64))
    chex.assert_type(out, jnp.float32)
    chex.assert_trees_all_close(m(x, miss), out)
    chex.assert_shape(m(x[0], miss[0]), (64,))
    chex.assert_trees_all_close(m(x[0], miss[0]), out[0], atol=1e-5)
    # the missing indicator is a second input channel and changes the output
    assert not np.allclose(np.asarray(m(x, jnp.ones_like(x))), np.asarray(out))
    assert m.conv1.kernel.shape == (3, 3, 2, 32)
    assert m.to_latent.kernel.shape == (2 * 2 * 64, 4)
    plain = nnx.eval_shape(lambda: ConvAutoencoder(8, 8, channels=(4, 8), latent=5, rngs=nnx.Rngs(0)))
    assert plain.conv1.kernel.shape == (3, 3, 1, 4) and plain.to_latent.kernel.shape == (2 * 2 * 8, 5)


def test_conv_autoencoder_needs_positive_size():
    with pytest.raises(ValueError, match="positive image size"):
        ConvAutoencoder(0, 8, rngs=nnx.Rngs(0))


def test_model_argument_errors():
    with pytest.raises(ValueError, match="positive"):
        MLPAutoencoder(0, (4,), 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="dropout"):
        MLPAutoencoder(3, (4,), 2, dropout=1.0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="activation"):
        MLPAutoencoder(3, (4,), 2, activation="nope", rngs=nnx.Rngs(0))


def test_dropout_only_with_a_key(mlp):
    m = mlp  # dropout 0.5
    x = jnp.linspace(0.1, 0.9, 12).reshape(2, 6)
    miss = jnp.zeros_like(x)
    det1, det2 = m(x, miss), m(x, miss)
    chex.assert_trees_all_equal(det1, det2)  # no key: deterministic
    k1, k2 = jax.random.split(jax.random.key(0))
    r1, r1b, r2 = m(x, miss, key=k1), m(x, miss, key=k1), m(x, miss, key=k2)
    chex.assert_trees_all_equal(r1, r1b)  # same key: same mask
    assert not np.allclose(np.asarray(r1), np.asarray(r2))
    assert not np.allclose(np.asarray(r1), np.asarray(det1))
    no_drop = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    chex.assert_trees_all_equal(no_drop(x, miss, key=k1), no_drop(x, miss))
    chex.assert_trees_all_equal(no_drop(x, miss), det1)  # same weights: dropout off == no key


def test_dropout_function():
    x = jnp.ones((1000,))
    chex.assert_trees_all_equal(dropout(x, 0.5, None), x)
    chex.assert_trees_all_equal(dropout(x, 0.0, jax.random.key(0)), x)
    y = dropout(x, 0.25, jax.random.key(0))
    vals = np.unique(np.asarray(y))
    assert len(vals) == 2 and vals[0] == 0.0 and vals[1] == pytest.approx(1 / 0.75)
    assert 0.18 < float((y == 0).mean()) < 0.32


def test_weight_penalty_counts_kernels_only(mlp):
    m = mlp
    kernels = [layer.kernel[...] for layer in [*m.encoder_layers, *m.decoder_layers]]
    l2 = sum(float(jnp.square(k).sum()) for k in kernels)
    l1 = sum(float(jnp.abs(k).sum()) for k in kernels)
    assert float(weight_penalty(m, l2=0.1)) == pytest.approx(0.1 * l2, rel=1e-5)
    assert float(weight_penalty(m, l1=0.2)) == pytest.approx(0.2 * l1, rel=1e-5)
    assert float(weight_penalty(m)) == 0.0


# ---- training ----------------------------------------------------------------------------------
def _mcar(shape, rate, seed):
    rng = np.random.default_rng(seed)
    obs = rng.random(shape) > rate
    obs[:, 0] |= ~obs.any(axis=1)
    return obs


@pytest.fixture(scope="module")
def table():
    from conftest import make_correlated

    X = make_correlated(n=128, d=6, seed=3)
    obs = _mcar(X.shape, 0.2, 3)
    return X, obs, Layout.uniform(6)


PLAIN = dict(schedule="constant", weight_decay=0.0, corruption=0.0, target="observed", validation_fraction=0.0)
"""Plain masked reconstruction (no hiding, no hold-out, constant Adam): what these engine tests exercise."""
TRAIN = TrainConfig(epochs=6, batch_size=32, learning_rate=3e-2, **PLAIN)


def _train(table, key: int, model=None):
    X, obs, lay = table
    model = model if model is not None else symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    return fit(model, X, obs, lay, TRAIN, jax.random.key(key))


@pytest.fixture(scope="module")
def trained_key0(table):
    """One training run (key 0), with the model's predictions before and after."""
    X, obs, lay = table
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    before = np.asarray(predict(model, np.where(obs, X, 0.0), ~obs, lay))
    res = _train(table, 0, model)
    after = np.asarray(predict(model, np.where(obs, X, 0.0), ~obs, lay))
    return model, res, before, after


def test_training_reduces_loss(table, trained_key0):
    X, obs, lay = table
    model, res, before, after = trained_key0
    h = res.history
    assert len(h.loss) == len(h.mae) == 6
    assert h.val_loss == [] and h.best_epoch == 5 and not h.stopped_early
    # [0, 1] columns use soft-target BCE, whose floor is the targets' own entropy: measure the excess over it
    t = np.clip(X[obs], 1e-7, 1 - 1e-7)
    floor = float(np.mean(-(t * np.log(t) + (1 - t) * np.log(1 - t))))
    assert h.loss[-1] - floor < 0.75 * (h.loss[0] - floor)
    assert h.mae[-1] < h.mae[0]
    err = lambda p: np.abs(p - X)[obs].mean()  # noqa: E731
    assert err(after) < err(before)  # the model in hand was trained in place
    assert res.model is model
    chex.assert_shape(res.filled, X.shape)
    np.testing.assert_array_equal(res.filled[obs], X[obs])
    # without the recurrent rule the filled table holds the final prediction at missing entries
    np.testing.assert_allclose(res.filled[~obs], after[~obs], rtol=1e-5, atol=1e-6)


def test_same_key_same_params_different_key_differs(table, trained_key0):
    model, res, _, _ = trained_key0
    same = _train(table, 0)
    other = _train(table, 1)
    chex.assert_trees_all_equal(_params(same.model), _params(model))
    assert same.history.loss == res.history.loss
    np.testing.assert_array_equal(same.filled, res.filled)
    pa, pc = _params(model), _params(other.model)
    assert not np.array_equal(pa["encoder_layers"][0]["kernel"], pc["encoder_layers"][0]["kernel"])
    assert other.history.loss != res.history.loss


def test_recurrent_refill_moves_missing_entries_only(table):
    X, obs, lay = table
    w = 0.5
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    cfg = TrainConfig(epochs=1, batch_size=32, learning_rate=1e-2, recurrent_weight=w, **PLAIN)
    res = fit(model, X, obs, lay, cfg, jax.random.key(0))
    np.testing.assert_array_equal(res.filled[obs], X[obs])  # observed: bit-identical
    assert not np.allclose(res.filled[~obs], 0.0)  # missing entries moved away from the fill
    # one epoch of the rule from fill 0: x_miss = (1 - w) * 0 + w * prediction
    pred = np.asarray(predict(model, np.where(obs, X, 0.0), ~obs, lay))
    np.testing.assert_allclose(res.filled[~obs], w * pred[~obs], rtol=1e-5, atol=1e-6)


def test_validation_early_stopping(table):
    X, obs, lay = table
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    cfg = TrainConfig(**{**PLAIN, "epochs": 40, "batch_size": 16, "learning_rate": 0.5, "validation_fraction": 0.2,
                         "patience": 1})
    res = fit(model, X, obs, lay, cfg, jax.random.key(0))
    h = res.history
    assert h.stopped_early
    assert len(h.loss) < 40
    assert len(h.val_loss) == len(h.loss)
    assert h.best_epoch == int(np.argmin(h.val_loss))
    assert len(h.loss) == h.best_epoch + cfg.patience + 1
    np.testing.assert_array_equal(res.filled[obs], X[obs])  # held-out cells are restored too


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"recurrent_weight": 0.0}, "recurrent_weight"),
        ({"recurrent_weight": 1.5}, "recurrent_weight"),
        ({"corruption": 1.0}, "corruption"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"validation_fraction": -0.1}, "validation_fraction"),
        ({"loss": "huber"}, "loss"),
        ({"target": "everything"}, "target"),
        ({"target": "hidden"}, "corruption"),
        ({"epochs": 2.5}, "epochs"),
        ({"steps": 10, "epochs": 2}, "not both"),
        ({"batch_size": "128"}, "batch_size"),
        ({"corruption_by": "pixel"}, "corruption_by"),
    ],
)
def test_bad_train_config_raises(kwargs, match):
    cfg = TrainConfig(**{**PLAIN, **kwargs})
    with pytest.raises(ValueError, match=match):
        cfg.validate()
    m = symmetric_mlp(6, hidden=(16,), latent=4, seed=0)
    with pytest.raises(ValueError, match=match):
        fit(m, np.zeros((4, 6)), np.ones((4, 6), bool), Layout.uniform(6), cfg, jax.random.key(0))


def test_fit_shape_errors():
    m = symmetric_mlp(6, hidden=(16,), latent=4, seed=0)
    cfg = TrainConfig(epochs=1, **PLAIN)
    with pytest.raises(ValueError, match="shape"):
        fit(m, np.zeros((4, 6)), np.ones((4, 5), bool), Layout.uniform(6), cfg, jax.random.key(0))
    with pytest.raises(ValueError, match="layout"):
        fit(m, np.zeros((4, 6)), np.ones((4, 6), bool), Layout.uniform(5), cfg, jax.random.key(0))


def test_predict_chunks_match_one_pass(table):
    X, obs, lay = table
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    x0 = np.where(obs, X, 0.0)
    a = np.asarray(predict(model, x0, ~obs, lay, batch_size=50))  # 128 rows, last chunk padded
    b = np.asarray(jax.nn.sigmoid(model(jnp.asarray(x0), jnp.asarray(~obs, jnp.float32))))
    chex.assert_shape(a, X.shape)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---- schedule, corruption spread, linear skip ------------------------------------------------------
def test_cosine_schedule_warms_up_and_decays_to_zero():
    from invimpute.training.loop import learning_rate_schedule

    assert learning_rate_schedule(TrainConfig(learning_rate=0.01, schedule="constant"), 500) == 0.01
    sched = learning_rate_schedule(TrainConfig(learning_rate=0.01, schedule="cosine"), 500)
    assert float(sched(0)) == 0.0
    assert float(sched(25)) == pytest.approx(0.01)  # peak after the warm-up (5% of the steps)
    assert float(sched(400)) < 0.01 * 0.2
    assert float(sched(500)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="step").validate()


def test_cosine_schedule_changes_training(table):
    X, obs, lay = table
    runs = [
        fit(symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0), X, obs, lay,
            TrainConfig(**{**PLAIN, "epochs": 3, "batch_size": 32, "learning_rate": 3e-2, "schedule": s}), jax.random.key(0))
        for s in ("constant", "cosine")
    ]
    assert runs[0].history.loss != runs[1].history.loss
    np.testing.assert_array_equal(runs[1].filled[obs], X[obs])


def test_corruption_spread_is_seeded_and_differs(table):
    X, obs, lay = table
    cfg = dict(PLAIN, epochs=2, batch_size=32, learning_rate=3e-2, corruption=0.3, target="hidden")
    run = lambda **kw: fit(symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0), X, obs, lay,  # noqa: E731
                           TrainConfig(**cfg, **kw), jax.random.key(0))
    a, b, fixed = run(corruption_spread=True), run(corruption_spread=True), run()
    assert a.history.loss == b.history.loss
    assert a.history.loss != fixed.history.loss
    assert np.isfinite(a.history.loss).all()


def test_skip_adds_a_linear_path_from_the_input():
    base = symmetric_mlp(6, hidden=(16,), latent=4, seed=0)
    skip = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, skip=True)
    assert base.skip is None and skip.skip.in_features == 12 and skip.skip.out_features == 6
    x = jax.random.uniform(jax.random.key(1), (5, 6))
    m = jnp.zeros((5, 6))
    expected = skip.decode(skip.encode(x, m)) + skip.skip(jnp.concatenate([x, m], axis=-1))
    np.testing.assert_allclose(np.asarray(skip(x, m)), np.asarray(expected), rtol=1e-6, atol=1e-6)
    # the skip's kernel is a weight, so it is trained and penalised like the others
    assert float(weight_penalty(skip, l2=1.0)) > float(weight_penalty(base, l2=1.0))


def test_repeated_fits_reuse_the_compiled_epoch(table):
    """A second fit of the same shapes and settings (other seed, other key, other hold-out size, progress
    bar) compiles nothing new: the epoch and evaluation programs are cached on static structure."""
    from invimpute.training.programs import block as _block, evaluate as _evaluate

    X, obs, lay = table
    cfg = TrainConfig(**{**PLAIN, "epochs": 2, "batch_size": 32, "learning_rate": 1e-2, "corruption": 0.2,
                         "target": "hidden"})
    fit(symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.1), X, obs, lay, cfg, jax.random.key(0))
    sizes = _block._cache_size(), _evaluate._cache_size()
    fit(symmetric_mlp(6, hidden=(16,), latent=4, seed=5, dropout=0.1), X, obs, lay,
        TrainConfig(**{**cfg.__dict__, "epochs": 3, "patience": 7}), jax.random.key(9))
    assert (_block._cache_size(), _evaluate._cache_size()) == sizes


def test_a_refit_reuses_the_fits_compiled_programs(table):
    """A fit that differs only in its budget, step size and hold-out (a warm refit: fewer steps at a smaller
    step size, nothing held out) runs the programs of the first fit: the schedule is a run-time input."""
    from invimpute.training.programs import block as _block, evaluate as _evaluate

    X, obs, lay = table
    cfg = TrainConfig(**{**PLAIN, "steps": 40, "batch_size": 32, "learning_rate": 1e-2, "schedule": "cosine",
                         "corruption": 0.2, "target": "hidden", "validation_fraction": 0.2})
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0)
    fit(model, X, obs, lay, cfg, jax.random.key(0))
    sizes = _block._cache_size(), _evaluate._cache_size()
    refit = TrainConfig(**{**cfg.__dict__, "steps": 17, "learning_rate": 3e-3, "validation_fraction": 0.0})
    fit(model, X, obs, lay, refit, jax.random.key(1))
    assert (_block._cache_size(), _evaluate._cache_size()) == sizes


@pytest.mark.parametrize("total", [1, 7, 500, 30_000])
def test_the_traced_schedule_is_optaxs_warmup_cosine(total):
    """:func:`step_size_schedule` (traceable peak and length) gives optax's warm-up cosine decay."""
    from invimpute.training.config import step_size_schedule

    warmup = max(1, min(total // 20, 1000))
    reference = optax.warmup_cosine_decay_schedule(0.0, 3e-3, warmup, max(total, warmup + 1))
    ours = jax.jit(lambda c, peak, n: step_size_schedule("cosine", peak, n)(c))
    counts = np.unique(np.linspace(0, total + 3, 50).astype(int))
    got = [float(ours(c, jnp.float32(3e-3), jnp.float32(total))) for c in counts]
    np.testing.assert_allclose(got, [float(reference(c)) for c in counts], rtol=2e-5, atol=1e-10)



# ---- ensemble members trained together ------------------------------------------------------------
MEMBERS = TrainConfig(**{**PLAIN, "epochs": 6, "batch_size": 32, "learning_rate": 1e-2, "corruption": 0.2,
                         "target": "hidden", "validation_fraction": 0.2, "patience": 100})
"""Denoising with a hold-out but a patience longer than the fit: every member trains the whole budget."""


def _members(seeds, cfg: TrainConfig, table, key: int = 0):
    X, obs, lay = table
    models = [symmetric_mlp(6, hidden=(16,), latent=4, seed=s, dropout=0.0) for s in seeds]
    keys = jax.random.split(jax.random.key(key), len(seeds))
    return keys, fit_members(models, X, obs, lay, cfg, keys)


@pytest.fixture(scope="module")
def joint(table):
    """Three members (model seeds 0, 1, 2, split keys) trained in one fit."""
    return _members((0, 1, 2), MEMBERS, table)


def test_joint_member_matches_its_own_fit(table, joint):
    """Member i of a joint fit is the model a single fit with its key and model seed trains."""
    X, obs, lay = table
    keys, results = joint
    assert len(results) == 3
    for i, res in enumerate(results):
        alone = fit(symmetric_mlp(6, hidden=(16,), latent=4, seed=i, dropout=0.0), X, obs, lay, MEMBERS, keys[i])
        np.testing.assert_array_equal(res.held, alone.held)  # its own hold-out, drawn from its own key
        chex.assert_trees_all_close(_params(res.model), _params(alone.model), rtol=1e-4, atol=1e-5)
        h, a = res.history, alone.history
        assert len(h.loss) == len(h.val_loss) == 6 and not h.stopped_early and h.best_epoch == a.best_epoch
        for got, want in ((h.loss, a.loss), (h.mae, a.mae), (h.val_loss, a.val_loss)):
            np.testing.assert_allclose(got, want, rtol=1e-4)
        chex.assert_type(res.filled, np.float32)
        chex.assert_shape(res.filled, X.shape)
        np.testing.assert_allclose(res.filled, alone.filled, rtol=1e-4, atol=1e-5)


def test_joint_members_differ(table, joint):
    X, obs, _ = table
    _, results = joint
    for a, b in ((0, 1), (0, 2), (1, 2)):
        ra, rb = results[a], results[b]
        assert not np.array_equal(ra.held, rb.held)
        assert not np.allclose(_params(ra.model)["encoder_layers"][0]["kernel"],
                               _params(rb.model)["encoder_layers"][0]["kernel"])
        assert not np.allclose(ra.filled[~obs], rb.filled[~obs])
        assert ra.history.loss != rb.history.loss
    for res in results:
        np.testing.assert_array_equal(res.filled[obs], X[obs])


def test_joint_early_stopping_keeps_each_members_best(table):
    """Members stop at different evaluations; each keeps the parameters of its own best held-out loss."""
    from invimpute.training.programs import evaluate as _evaluate

    X, obs, lay = table
    cfg = TrainConfig(**{**PLAIN, "epochs": 40, "batch_size": 16, "learning_rate": 0.05, "validation_fraction": 0.2,
                         "patience": 2})
    _, results = _members((0, 1, 2), cfg, table)
    lengths = [len(r.history.loss) for r in results]
    assert len(set(lengths)) > 1 and max(lengths) < 40  # the fit ran until the last member stopped
    for res in results:
        h = res.history
        assert h.stopped_early and len(h.val_loss) == len(h.loss) == len(h.mae)
        assert h.best_epoch == int(np.argmin(h.val_loss)) and len(h.loss) == h.best_epoch + cfg.patience + 1
        # the kept model scores its best held-out loss, and the filled table is its prediction
        train_obs = obs & ~res.held
        graphdef, p = nnx.split(res.model)
        x_in = np.where(train_obs, X, 0.0)
        _, _, val = _evaluate(graphdef, lay, cfg.loss, False, jax.tree.map(lambda a: a[None], p), x_in[None], X,
                              train_obs[None], res.held[None], jnp.float32(0.0))
        chex.assert_shape(val, (1,))
        assert float(val[0]) == pytest.approx(min(h.val_loss), rel=1e-5)
        np.testing.assert_allclose(res.filled[~obs], np.asarray(predict(res.model, x_in, ~train_obs, lay))[~obs],
                                   rtol=1e-5, atol=1e-6)


def test_fit_members_argument_errors(table):
    X, obs, lay = table
    models = [symmetric_mlp(6, hidden=(16,), latent=4, seed=0), symmetric_mlp(6, hidden=(8,), latent=4, seed=0)]
    with pytest.raises(ValueError, match="one key per model"):
        fit_members(models, X, obs, lay, TRAIN, jax.random.split(jax.random.key(0), 3))
    with pytest.raises(ValueError, match="one structure"):
        fit_members(models, X, obs, lay, TRAIN, jax.random.split(jax.random.key(0), 2))
    with pytest.raises(ValueError, match="at least one"):
        fit_members([], X, obs, lay, TRAIN, jax.random.split(jax.random.key(0), 0))

# ---- the budget in optimiser steps ---------------------------------------------------------------
def test_default_budget_is_counted_in_steps_not_epochs():
    """A 500-row and a 30,000-row table both get a real fit: the default budget is bounded in steps, and a
    small table's floor is counted in passes over its rows, not a fixed number of steps."""
    from invimpute.training.loop import (BUDGET_EPOCHS, FLOOR_EPOCHS, LEAST_STEPS, MAX_STEPS, MIN_STEPS,
                                         default_steps)

    assert default_steps(50, 128) == LEAST_STEPS                        # one batch a pass: the least budget
    assert default_steps(500, 128) == FLOOR_EPOCHS * 4 < MIN_STEPS       # a small table: passes, not 3,000 steps
    assert default_steps(2_000, 128) == MIN_STEPS                        # 16 batches a pass reach the floor
    assert default_steps(15_000, 128) == BUDGET_EPOCHS * 118             # between the bounds: passes over the rows
    assert default_steps(40_000, 128) == MAX_STEPS
    for rows in (500, 40_000):
        block, evaluations = TrainConfig(batch_size=128).plan(rows)
        per_epoch = -(-rows // 128)
        budget = default_steps(rows, 128)
        assert budget <= block * evaluations * per_epoch <= budget + block * per_epoch
    assert TrainConfig(epochs=7).plan(1000) == (1, 7)
    assert TrainConfig(steps=300, batch_size=10).plan(95) == (10, 3)  # 10 steps an epoch, 100 per evaluation


@pytest.mark.parametrize("rows", [50, 699, 2_047, 4_601, 20_000, 40_000])
def test_auto_batch_keeps_the_passes_and_the_step_size_per_row(rows):
    """``batch_size="auto"`` grows the batch on long tables only, and a fit at k reference batches takes k
    times fewer steps at k times the step size: the same passes over the rows, evaluated as often."""
    from invimpute.training.config import BATCH_SIZE, BATCH_STEPS, LEARNING_RATE, MAX_BATCH, auto_batch, default_steps

    batch = auto_batch(rows)
    assert BATCH_SIZE <= batch <= MAX_BATCH and batch % BATCH_SIZE == 0
    assert batch == BATCH_SIZE or -(-rows // batch) >= BATCH_STEPS     # an epoch keeps its steps
    k = min(batch, rows) / min(BATCH_SIZE, rows)
    assert default_steps(rows, "auto") == round(default_steps(rows, BATCH_SIZE) / k)
    auto, fixed = TrainConfig().resolved(rows), TrainConfig(batch_size=BATCH_SIZE).resolved(rows)
    assert auto.learning_rate == pytest.approx(LEARNING_RATE * k) and fixed.learning_rate == LEARNING_RATE
    (block_a, evals_a), (block_f, evals_f) = auto.plan(rows), fixed.plan(rows)
    assert block_a == block_f and abs(evals_a - evals_f) <= max(1, 0.05 * evals_f)  # at about the same passes
    assert TrainConfig().resolved(rows, image=True).batch_size == BATCH_SIZE  # images keep the reference batch


def test_steps_budget_trains_about_that_many_steps(table):
    X, obs, lay = table  # 128 rows, batch 32: 4 steps an epoch
    cfg = TrainConfig(**{**PLAIN, "steps": 200, "batch_size": 32, "learning_rate": 1e-2})
    res = fit(symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0), X, obs, lay, cfg, jax.random.key(0))
    block, evaluations = cfg.plan(X.shape[0])
    assert (block, evaluations) == (25, 2)  # about 100 steps per evaluation: 25 epochs of 4 steps
    assert len(res.history.loss) == evaluations
    assert res.history.loss[-1] < res.history.loss[0]


SHARDED_FIT = """
import sys, jax, numpy as np
from invimpute import Layout, TrainConfig, fit, fit_members, symmetric_mlp
from invimpute.training.programs import row_sharding as _row_sharding
rng = np.random.default_rng(0)
X = rng.random((96, 6)).astype(np.float32)
obs = rng.random((96, 6)) > 0.2
cfg = TrainConfig(epochs=3, batch_size=32, learning_rate=1e-2)
res = [fit(symmetric_mlp(6, (16,), 4, seed=0, dropout=0.0), X, obs, Layout.uniform(6), cfg, jax.random.key(0))]
res += fit_members([symmetric_mlp(6, (16,), 4, seed=s, dropout=0.0) for s in (1, 2)], X, obs, Layout.uniform(6), cfg,
                   jax.random.split(jax.random.key(1), 2))
print(len(jax.devices()), _row_sharding(32) is not None)
np.save(sys.argv[1], np.concatenate([np.concatenate([r.filled.ravel(), np.asarray(r.history.loss)]) for r in res]))
"""


def test_sharded_training_matches_one_device(tmp_path):
    """fit (and fit_members, each member's minibatch) splits each minibatch over every local device; four
    forced host devices train the same models."""
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    runs = {}
    for devices in (1, 4):
        out = tmp_path / f"fit{devices}.npy"
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu",
               "PYTHONPATH": str(root)}
        result = subprocess.run([sys.executable, "-c", SHARDED_FIT, str(out)], capture_output=True, text=True,
                                timeout=300, cwd=root, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [str(devices), str(devices > 1)]  # sharded only with several devices
        runs[devices] = np.load(out)
    np.testing.assert_allclose(runs[4], runs[1], rtol=1e-4, atol=1e-5)


# ---- the patience sized from the fit, the warm refit ---------------------------------------------
def test_default_patience_scales_with_the_fit():
    from invimpute.training.config import MAX_PATIENCE, MIN_PATIENCE, PATIENCE_SHARE

    assert TrainConfig(patience=7).stop_after(100) == 7
    assert TrainConfig(epochs=2 * PATIENCE_SHARE).stop_after(100) == MIN_PATIENCE
    assert TrainConfig(epochs=100 * PATIENCE_SHARE).stop_after(100) == MAX_PATIENCE
    assert TrainConfig(epochs=7 * PATIENCE_SHARE).stop_after(100) == 7
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(patience=0).validate()


def test_warm_refit_continues_the_fitted_model(table):
    """The refit trains the first fit's members further, briefly, on the cells given; observed cells kept."""
    from invimpute.config import ModelConfig
    from invimpute.methods.registry import Autoencoding

    X, obs, lay = table
    cfg = TrainConfig(steps=80, batch_size=32, learning_rate=1e-2, validation_fraction=0.2, patience=2)
    method = Autoencoding("ae", model=ModelConfig(hidden=(16,), latent=4), train=cfg)
    method.fit(X, obs & (np.arange(X.shape[0]) % 5 != 0)[:, None], lay, jax.random.key(0))
    before = _params(method.models_[0])
    first = method.histories_[0]
    method.warm_refit(X, obs, jax.random.key(1), share=0.5, rate=0.5)
    after = method.histories_[0]
    assert 1 <= len(after.loss) <= len(first.loss) and not after.val_loss  # short, nothing held out
    assert not np.allclose(before["encoder_layers"][0]["kernel"], _params(method.models_[0])["encoder_layers"][0]["kernel"])
    out = method.impute(X, obs, jax.random.key(2))
    np.testing.assert_array_equal(out[obs], X[obs])
    assert np.isfinite(out).all()


@pytest.mark.parametrize("config, features, image_shape", [
    (ModelConfig(), 7, None),
    (ModelConfig(architecture="reference", dropout=0.2), 5, None),
    (ModelConfig(hidden=[12, 6], latent=3, dtype="bfloat16", skip=True), 4, None),
    (ModelConfig(), 64, (8, 8)),
])
def test_compiled_initialisation_equals_the_eager_model(config, features, image_shape, caplog):
    """ModelConfig.build draws the parameters in one compiled program; they are bit for bit those of
    building the model eagerly, for any seed (a large one included) or key, and a new seed compiles nothing."""
    for seed in (0, 3, 2**40 + 5):
        built = nnx.state(config.build(features, seed, image_shape))
        eager = nnx.state(config.construct(features, seed, image_shape))
        chex.assert_trees_all_equal(built, eager)
    chex.assert_trees_all_equal(nnx.state(config.build(features, jax.random.key(9), image_shape)),
                                nnx.state(config.construct(features, 9, image_shape)))
    with jax.log_compiles(), caplog.at_level("WARNING", logger="jax"):
        jax.block_until_ready(nnx.state(config.build(features, 11, image_shape)))
    assert not [r for r in caplog.records if "Compiling" in r.getMessage()]


def test_eval_rows_spread_over_long_tables_only():
    from invimpute.training.config import EVAL_ROWS, eval_rows

    assert eval_rows(EVAL_ROWS) is None
    rows = eval_rows(3 * EVAL_ROWS + 7)
    chex.assert_shape(rows, (EVAL_ROWS,))
    assert rows[0] == 0 and rows[-1] == 3 * EVAL_ROWS + 6 and np.all(np.diff(rows) > 0)


def test_a_long_tables_evaluations_read_the_spread_rows(table, monkeypatch):
    """On a table longer than EVAL_ROWS the held-out loss is over the held-out cells of eval_rows' rows:
    the recorded loss of the kept evaluation is that of the returned model on those rows, not on all."""
    import invimpute.training.config as config
    from invimpute.training.programs import evaluate

    X, obs, lay = table
    monkeypatch.setattr(config, "EVAL_ROWS", 40)
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    cfg = TrainConfig(**{**PLAIN, "epochs": 4, "batch_size": 32, "learning_rate": 3e-2, "validation_fraction": 0.2})
    res = fit(model, X, obs, lay, cfg, jax.random.key(0))
    graphdef, p = nnx.split(model)
    p = jax.tree.map(lambda a: a[None], p)
    train_obs = obs & ~res.held

    def held_out_loss(rows):
        cur = np.where(train_obs, X, 0.0)[rows][None]
        return float(evaluate(graphdef, lay, cfg.loss, True, p, cur, X[rows], train_obs[rows][None],
                              res.held[rows][None], jnp.float32(0.0))[2][0])

    kept = res.history.val_loss[res.history.best_epoch]
    np.testing.assert_allclose(held_out_loss(config.eval_rows(len(X))), kept, rtol=1e-5)
    assert abs(held_out_loss(np.arange(len(X))) - kept) > 1e-4
