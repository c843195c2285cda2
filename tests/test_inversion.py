"""Tests for invimpute.inversion.batch: vmapped, jit-compiled reverse training through a frozen model.

Every distinct InversionConfig compiles the solver once, so the tests share a handful of configs and
one small trained model (the (6 -> 16 -> 4) MLP shared with the training and Imputer tests).
"""

from __future__ import annotations

from dataclasses import replace

import chex
import jax
import numpy as np
import pytest
from flax import nnx

from invimpute import InversionConfig, Layout, TableEncoder, TrainConfig, code_radius, fit, invert, symmetric_mlp
from invimpute.inversion.batch import _invert_chunk, chunk_size, start_chunk
from invimpute.inversion.solver import hidden_entries

BASE = InversionConfig(steps=20, learning_rate=0.05, objective="observed", proximal=0.0, clean=True)
"""The deterministic objective (the observed entries' reconstruction) these mechanism tests were written for."""
DROP = replace(BASE, steps=10, input_dropout=0.3, batch_size=32)
MASKED = InversionConfig(steps=10, batch_size=32)
"""The default objective: observed entries hidden at random in each step, a proximal pull to the start."""


def _state(model):
    return jax.tree.map(np.array, nnx.to_pure_dict(nnx.state(model)))


@pytest.fixture(scope="module")
def trained():
    from conftest import make_correlated

    X = make_correlated(n=128, d=6, seed=1)
    rng = np.random.default_rng(1)
    obs = rng.random(X.shape) > 0.25
    obs[:, 0] |= ~obs.any(axis=1)
    lay = Layout.uniform(6)
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    fit(model, X, obs, lay, TrainConfig(epochs=5, batch_size=32, learning_rate=3e-2, schedule="constant", weight_decay=0.0,
                                          corruption=0.0, target="observed", validation_fraction=0.0), jax.random.key(0))
    return model, X, obs, lay


@pytest.fixture(scope="module")
def damaged(trained):
    """32 rows with NaN written into the missing entries, and one row with nothing observed."""
    _, X, obs, _ = trained
    x = X[:32].copy()
    o = obs[:32].copy()
    o[5] = False
    x[~o] = np.nan
    return x, o


@pytest.fixture(scope="module")
def base_result(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    return invert(model, x, o, lay, BASE, key=0)


# ---- the vmapped solver is the per-sample solver -------------------------------------------------
def test_vmapped_equals_per_sample_loop(trained, damaged, base_result):
    model, _, _, lay = trained
    x, o = damaged
    rows = [0, 1, 2, 3, 5, 17]
    loop = np.stack([invert(model, x[i:i + 1], o[i:i + 1], lay, BASE, key=0).x[0] for i in rows])
    chex.assert_shape(loop, (len(rows), 6))
    np.testing.assert_allclose(base_result.x[rows], loop, rtol=1e-5, atol=1e-5)
    # and the optimisation did move the missing entries away from the model's one-pass start
    start = np.asarray(start_chunk(nnx.graphdef(model), lay, "model", nnx.state(model), np.nan_to_num(x), o, None))
    assert np.abs(base_result.x - start)[~o].max() > 1e-3


def test_result_types_and_shapes(base_result, damaged):
    x, o = damaged
    r = base_result
    chex.assert_shape(r.x, x.shape)
    chex.assert_type(r.x, np.float32)
    chex.assert_shape([r.loss, r.steps, r.converged, r.all_missing], (32,))
    assert r.trace is None
    assert np.isfinite(r.x).all() and np.isfinite(r.loss).all()
    np.testing.assert_array_equal(r.steps, BASE.steps)  # tol=0: the whole budget, never "converged"
    assert not r.converged.any()
    assert ((r.x >= 0) & (r.x <= 1)).all()  # UNIT columns stay in [0, 1] (sigmoid parameterisation)


def test_observed_entries_are_bit_identical(base_result, damaged):
    x, o = damaged
    assert np.array_equal(base_result.x[o], x[o])
    assert not np.isnan(base_result.x).any()


def test_model_parameters_unchanged(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    before = _state(model)
    invert(model, x, o, lay, BASE, key=1)
    chex.assert_trees_all_equal(_state(model), before)


def test_same_seed_same_result(trained, damaged, base_result):
    model, _, _, lay = trained
    x, o = damaged
    again = invert(model, x, o, lay, BASE, key=0)
    assert np.array_equal(again.x, base_result.x)
    assert np.array_equal(again.loss, base_result.loss)


def test_input_dropout_seeds(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    a = invert(model, x, o, lay, DROP, key=0)
    b = invert(model, x, o, lay, DROP, key=0)
    c = invert(model, x, o, lay, DROP, key=jax.random.key(1))
    assert np.array_equal(a.x, b.x)
    assert not np.allclose(a.x[~o], c.x[~o])
    assert np.array_equal(c.x[o], x[o])


def test_no_recompilation_on_same_shape_call(trained, damaged, base_result):
    model, _, _, lay = trained
    x, o = damaged
    n_solve, n_start = _invert_chunk._cache_size(), start_chunk._cache_size()
    x2 = np.where(o, np.clip(x + 0.01, 0, 1), np.nan).astype(np.float32)
    invert(model, x2, o, lay, BASE, key=7)
    invert(model, x2[:20], o[:20], lay, BASE, key=8)  # 20 rows pad to the same 32-row chunk
    assert _invert_chunk._cache_size() == n_solve
    assert start_chunk._cache_size() == n_start


def test_all_missing_row_gets_finite_fill(base_result):
    r = base_result
    assert r.all_missing[5] and r.all_missing.sum() == 1
    assert np.isfinite(r.x[5]).all()


# ---- parameterisation on categorical tables -----------------------------------------------------
def test_softmax_parameterisation_keeps_categorical_rows_valid(mixed_df_missing):
    enc = TableEncoder()
    X, O = enc.fit_encode(mixed_df_missing)
    lay = enc.schema.layout
    assert lay.has_categorical and lay.width == 6
    model = symmetric_mlp(6, hidden=(16,), latent=4, seed=0, dropout=0.0)
    cfg = InversionConfig(steps=15, learning_rate=0.2, clean=False, init="fill")
    r = invert(model, X, O, lay, cfg, key=0)
    probs = r.x[:, 0:3]
    assert ((probs >= 0) & (probs <= 1)).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)  # on the simplex
    missing_rows = ~O[:, 0]
    assert missing_rows.any()
    assert (probs[missing_rows].max(axis=1) < 1.0).all()  # truly soft, not copied one-hots
    assert ((r.x[:, 3] >= 0) & (r.x[:, 3] <= 1)).all()  # the flag stays in [0, 1]
    decoded = enc.decode(r.x, index=mixed_df_missing.index)
    assert decoded.index.equals(mixed_df_missing.index)
    assert set(decoded["color"]) <= {"blue", "green", "red"}
    observed_color = mixed_df_missing["color"].notna()
    assert (decoded["color"][observed_color] == mixed_df_missing["color"][observed_color]).all()
    # decoding then re-encoding gives exact one-hot rows
    X2, O2 = enc.encode(decoded)
    assert O2.all()
    np.testing.assert_array_equal(X2[:, 0:3].sum(axis=1), 1.0)
    assert set(np.unique(X2[:, 0:3]).tolist()) == {0.0, 1.0}


# ---- modes and penalties ------------------------------------------------------------------------
def test_latent_mode(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    r = invert(model, x, o, lay, InversionConfig(mode="latent", steps=15, learning_rate=0.05), key=0)
    assert np.array_equal(r.x[o], x[o])
    assert np.isfinite(r.x).all() and np.isfinite(r.loss).all()
    assert ((r.x >= 0) & (r.x <= 1)).all()


class _Plain(nnx.Module):
    """A model with only ``__call__``: no encode/decode."""

    def __init__(self):
        self.linear = nnx.Linear(6, 6, rngs=nnx.Rngs(0))

    def __call__(self, x, missing=None, *, key=None):
        return self.linear(x)


def test_latent_mode_needs_encode_decode(damaged):
    x, o = damaged
    with pytest.raises(TypeError, match="encode/decode"):
        invert(_Plain(), x, o, Layout.uniform(6), InversionConfig(mode="latent", steps=3))
    with pytest.raises(TypeError, match="encode/decode"):
        invert(_Plain(), x, o, Layout.uniform(6), InversionConfig(steps=3, code_penalty="l2", code_weight=0.1))


def test_input_mode_works_with_a_plain_model(damaged):
    x, o = damaged
    r = invert(_Plain(), x[:8], o[:8], Layout.uniform(6), InversionConfig(steps=3), key=0)
    assert np.array_equal(r.x[o[:8]], x[:8][o[:8]])
    assert np.isfinite(r.x).all()


def test_sphere_penalty(trained, damaged):
    model, X, obs, lay = trained
    x, o = damaged
    with pytest.raises(ValueError, match="radius"):
        invert(model, x, o, lay, InversionConfig(steps=5, code_penalty="sphere", code_weight=1.0))
    radius = code_radius(model, X, obs)
    codes = np.asarray(model.encode(np.where(obs, X, 0.0), (~obs).astype(np.float32)))
    assert radius == pytest.approx(float(np.linalg.norm(codes, axis=1).mean()), rel=1e-5)
    cfg = InversionConfig(steps=10, learning_rate=0.05, code_penalty="sphere", code_weight=1.0, radius=radius)
    r = invert(model, x, o, lay, cfg, key=0)
    assert np.array_equal(r.x[o], x[o]) and np.isfinite(r.x).all()


# ---- errors -------------------------------------------------------------------------------------
def test_bad_arguments_raise(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    with pytest.raises(ValueError, match="steps"):
        invert(model, x, o, lay, InversionConfig(steps=0))
    with pytest.raises(ValueError, match="shape"):
        invert(model, x, o[:, :5], lay, BASE)
    with pytest.raises(ValueError, match="2-D"):
        invert(model, x[0], o[0], lay, BASE)
    with pytest.raises(ValueError, match="layout"):
        invert(model, x[:, :5], o[:, :5], lay, BASE)
    for name, value in [("mode", "both"), ("objective", "none"), ("init", "zero"), ("optimizer", "lbfgs"),
                        ("parameterisation", "tanh"), ("code_penalty", "l1")]:
        with pytest.raises(ValueError, match=name):
            invert(model, x, o, lay, InversionConfig(**{name: value}))
    with pytest.raises(ValueError, match="input_dropout"):
        invert(model, x, o, lay, InversionConfig(input_dropout=1.0))
    with pytest.raises(ValueError, match="learning_rate"):
        invert(model, x, o, lay, InversionConfig(learning_rate=0.0))


def test_nan_in_observed_entry_raises(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    bad = x.copy()
    r, c = np.argwhere(o)[3]
    bad[r, c] = np.nan
    with pytest.raises(ValueError, match=rf"NaN.*row {r}, column {c}"):
        invert(model, bad, o, lay, BASE)


# ---- early stop, trace, chunking ----------------------------------------------------------------
def test_tol_early_stop_and_trace(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    budget = 200
    cfg = replace(BASE, steps=budget, learning_rate=0.02, tol=1e-3, trace=True, clean=True)
    r = invert(model, x, o, lay, cfg, key=0)
    chex.assert_shape(r.trace, (32, budget))
    assert r.converged.sum() >= 28
    assert (r.steps[r.converged] < budget).all()
    assert (r.steps[~r.converged] == budget).all()
    assert r.steps.min() >= 2
    for i in range(32):
        t = r.trace[i, : r.steps[i]]
        assert np.isfinite(t).all()
        np.testing.assert_array_equal(r.trace[i, r.steps[i]:], 0.0)  # nothing recorded after the stop
    # the losses mostly decrease along the way
    rows = [i for i in range(32) if not r.all_missing[i] and r.steps[i] >= 3]
    drops = [r.trace[i, r.steps[i] - 1] <= r.trace[i, 0] for i in rows]
    assert np.mean(drops) >= 0.9
    diffs = np.concatenate([np.diff(r.trace[i, : r.steps[i]]) for i in rows])
    assert (diffs <= 1e-6).mean() >= 0.8


def test_chunking_matches_one_chunk(trained):
    model, X, obs, lay = trained
    x, o = X[:70], obs[:70]
    small = invert(model, x, o, lay, DROP, key=3)  # chunks of 32, the last one padded
    big = invert(model, x, o, lay, InversionConfig(**{**DROP.__dict__, "batch_size": 128}), key=3)
    np.testing.assert_allclose(small.x, big.x, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(small.steps, big.steps)


def test_chunk_size():
    assert chunk_size(70, 32) == 32
    assert chunk_size(70, 1024) == 256
    assert chunk_size(190, 1024) == chunk_size(333, 1024) == chunk_size(1000, 1024) == 256  # a table and its subsets
    assert chunk_size(2000, 1024) == 1024
    assert chunk_size(1, 1024) == 1
    assert chunk_size(5, 1024) == 8
    assert chunk_size(5, 1024, n_devices=3) == 9
    assert chunk_size(0, 16) == 1



def test_code_radius_pads_its_last_chunk(trained):
    """Tables of another length reuse the compiled code-norm chunk: the last chunk is padded, not cut short."""
    from invimpute.inversion.batch import _code_norms

    model, X, obs, _ = trained
    code_radius(model, X[:100], obs[:100], batch_size=32)  # four chunks of 32, the last one padded
    compiled = _code_norms._cache_size()
    radius = code_radius(model, X[:70], obs[:70], batch_size=32)  # 6 rows in the last chunk
    assert _code_norms._cache_size() == compiled
    x = np.where(obs[:70], X[:70], 0.0).astype(np.float32)
    codes = model.encode(x, (~obs[:70]).astype(np.float32))
    assert radius == pytest.approx(float(np.linalg.norm(np.asarray(codes), axis=-1).mean()), rel=1e-5)


# ---- the default objective: masked prediction of the observed entries, near the start ---------------
def test_masked_objective_depends_on_the_sample_alone_and_keeps_observed(trained, damaged):
    """Its masks are a fixed sequence: the same repair whatever the key, the chunking or the batch."""
    model, _, _, lay = trained
    x, o = damaged
    a = invert(model, x, o, lay, MASKED, key=3)
    np.testing.assert_array_equal(a.x, invert(model, x, o, lay, MASKED, key=3).x)
    np.testing.assert_allclose(invert(model, x, o, lay, MASKED, key=4).x, a.x, rtol=1e-5, atol=1e-6)
    small = invert(model, x, o, lay, replace(MASKED, batch_size=8), key=3)
    np.testing.assert_allclose(small.x, a.x, rtol=1e-5, atol=1e-6)
    rows = [0, 3, 17]
    loop = np.stack([invert(model, x[i:i + 1], o[i:i + 1], lay, MASKED, key=9).x[0] for i in rows])
    np.testing.assert_allclose(loop, a.x[rows], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(a.x[o], x[o])
    assert np.isfinite(a.x).all()


def test_strong_proximal_term_keeps_the_one_pass_fill(trained, damaged):
    model, _, _, lay = trained
    x, o = damaged
    start = np.asarray(start_chunk(nnx.split(model)[0], lay, "model", nnx.split(model)[1], np.where(o, x, 0.0), o, None))
    pinned = invert(model, x, o, lay, replace(MASKED, proximal=1e6), key=0).x
    free = invert(model, x, o, lay, replace(MASKED, proximal=0.0), key=0).x
    assert np.abs(pinned - start)[~o].max() < 0.02 < np.abs(free - start)[~o].max()


def test_hidden_entries_hide_whole_groups_of_observed_entries():
    lay = Layout(kind=(3, 3, 3, 0, 0), group=(0, 0, 0, 1, 2))
    obs = jax.numpy.asarray([True, True, True, True, False])
    masks = np.stack([np.asarray(hidden_entries(jax.random.key(i), obs, lay, 0.5)) for i in range(200)])
    assert not masks[:, 4].any()                                   # a missing entry is never "hidden"
    assert (masks[:, :3].all(1) == masks[:, :3].any(1)).all()      # a one-hot group is hidden whole
    assert 0.35 < masks[:, 0].mean() < 0.65 and 0.35 < masks[:, 3].mean() < 0.65


def test_masked_objective_settings_are_checked():
    with pytest.raises(ValueError, match="hide_rate"):
        InversionConfig(hide_rate=0.0).validate()
    with pytest.raises(ValueError, match="proximal"):
        InversionConfig(proximal=-1.0).validate()
