"""``auto``'s ``inverted`` candidate: reverse training through its own network, scored on held-out cells
beside the others where :func:`~invimpute.methods.auto.inversion_affordable` allows it."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from invimpute import Imputer
from invimpute.config import ModelConfig
from invimpute.encoding.layout import NUMERIC, Layout
from invimpute.inversion.solver import InversionConfig
from invimpute.scoring.selection import selection_frame
from invimpute.methods import auto as auto_module
from invimpute.methods.auto import INVERTED, Auto, InvertedFill, inversion_affordable
from invimpute.training.loop import TrainConfig


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 1))
    X = np.hstack([z, 2 * z, -z, z ** 2]).astype(np.float32) + 0.05 * rng.normal(size=(300, 4)).astype(np.float32)
    observed = rng.random(X.shape) > 0.2
    return np.where(observed, X, 0).astype(np.float32), observed, Layout.uniform(4, NUMERIC)


def _auto(steps: int) -> Auto:
    return Auto(model=ModelConfig(hidden=(32,), latent=4),
                train=TrainConfig(steps=400, learning_rate=1e-2, validation_fraction=0.0),
                inversion=InversionConfig(steps=steps, batch_size=128), candidates=("mean", "network", INVERTED))


def test_inverted_candidate_is_scored_and_shown(table, monkeypatch):
    X, observed, layout = table
    monkeypatch.setattr(auto_module, "INVERSION_GAIN", -1.0)  # kept wherever it ran, whatever it gains
    auto = _auto(steps=10).fit(X, observed, layout, jax.random.key(0))
    assert auto.names_[-1] == INVERTED
    network = auto.methods_["network"]
    assert inversion_affordable(network, len(X), 10) and not inversion_affordable(network, 10**7, 10)
    sel = selection_frame(auto.names_, auto.choices_, ["a", "b", "c", "d"])  # what Imputer.selection_ shows
    assert np.isfinite(sel[f"{INVERTED}_error"]).all() and f"{INVERTED}_weight" in sel.columns
    out = auto.impute(X, observed, jax.random.key(1))
    assert np.isfinite(out).all() and np.array_equal(out[observed], X[observed])


def test_inverted_candidate_left_out_where_unaffordable(table):
    """A step budget whose inversion would pass more rows than the network's training: no candidate, no column."""
    X, observed, layout = table
    auto = _auto(steps=100_000).fit(X, observed, layout, jax.random.key(0))
    assert INVERTED not in auto.names_
    assert all(INVERTED not in c.errors for c in auto.choices_)


def test_inverted_candidate_that_gains_too_little_loses_its_weight_and_pass(table, monkeypatch):
    """Below the held-out gain its imputation pass must earn, every column is chosen without the candidate:
    its held-out error is still shown, its weight is 0, and the weights and the fill are those of auto
    fitted without it (its keys come last, so the others' do not depend on it)."""
    X, observed, layout = table
    monkeypatch.setattr(auto_module, "INVERSION_GAIN", 1.0)  # no candidate removes all the error
    dropped = _auto(steps=10).fit(X, observed, layout, jax.random.key(0))
    without = Auto(model=ModelConfig(hidden=(32,), latent=4),
                   train=TrainConfig(steps=400, learning_rate=1e-2, validation_fraction=0.0),
                   candidates=("mean", "network")).fit(X, observed, layout, jax.random.key(0))
    assert dropped.names_[-1] == INVERTED and dropped.inversion_gain_ < 1.0
    assert not dropped.weights_[-1].any()
    np.testing.assert_array_equal(dropped.weights_[:-1], without.weights_)
    assert all(np.isfinite(c.errors[INVERTED]) for c in dropped.choices_)
    calls = []
    monkeypatch.setattr(InvertedFill, "impute", lambda *a: calls.append(1))
    np.testing.assert_array_equal(dropped.impute(X, observed, jax.random.key(1)),
                                  without.impute(X, observed, jax.random.key(1)))
    assert not calls  # no imputation pass
    monkeypatch.undo()
    monkeypatch.setattr(auto_module, "INVERSION_GAIN", -1.0)
    kept = _auto(steps=10).fit(X, observed, layout, jax.random.key(0))
    assert kept.inversion_gain_ == dropped.inversion_gain_
    assert [c.errors for c in kept.choices_] == [c.errors for c in dropped.choices_]
    for k, d in zip(kept.choices_, dropped.choices_):  # where it had weight, the rule says why it lost it
        assert ("left out" in d.rule) == (k.weights[INVERTED] > 0)


@pytest.mark.parametrize("options, error", [
    ({"candidates": ["mean", INVERTED]}, "list 'network' too"),
    ({"candidates": ["mean", "forest"]}, "unknown candidate"),
    ({"rounds": 3}, "not options of method 'auto'"),
])
def test_auto_options_are_checked(options, error):
    with pytest.raises(ValueError, match=error):
        Imputer(method="auto", options=options).settings()


def test_checkpoint_round_trip_with_the_inverted_candidate(table):
    """The candidate saves nothing of its own and is rebuilt on the restored network: same fill."""
    from invimpute.checkpoint.methods import dump, restore

    X, observed, layout = table
    auto = _auto(steps=10).fit(X, observed, layout, jax.random.key(0))
    auto.weights_[:] = 0.0
    auto.weights_[auto.names_.index(INVERTED)] = 1.0  # make the inverted fill the one that counts
    state, arrays = dump(auto)
    fresh = _auto(steps=10)
    restore(fresh, state, arrays, layout, X.shape[1])
    np.testing.assert_array_equal(fresh.impute(X, observed, jax.random.key(1)), auto.impute(X, observed, jax.random.key(1)))
    assert fresh.inversion_gain_ == auto.inversion_gain_ and fresh.inversion_rows_ == auto.inversion_rows_


def test_screen_leaves_out_a_candidate_that_gains_too_little_without_inverting_every_row(table, monkeypatch):
    """On more scored rows than twice ``SCREEN_ROWS``, the candidate first inverts a sample of them; below
    the screen's margin it is left out as where unaffordable, having inverted only that sample."""
    X, observed, layout = table
    monkeypatch.setattr(auto_module, "SCREEN_ROWS", 40)
    rows = []
    invert = InvertedFill.impute
    monkeypatch.setattr(InvertedFill, "impute", lambda self, X, *a: rows.append(len(X)) or invert(self, X, *a))
    monkeypatch.setattr(auto_module, "SCREEN_MARGIN", np.inf)  # no gain passes the screen
    dropped = _auto(steps=10).fit(X, observed, layout, jax.random.key(0))
    assert rows == [40] and INVERTED not in dropped.names_
    assert dropped.inversion_rows_ == 40 and np.isfinite(dropped.inversion_gain_)
    assert all(INVERTED not in c.errors for c in dropped.choices_)
    rows.clear()
    monkeypatch.setattr(auto_module, "SCREEN_MARGIN", -np.inf)  # every gain passes: the rest are inverted too
    kept = _auto(steps=10).fit(X, observed, layout, jax.random.key(0))
    scored = int(kept.holdout_[0].any(axis=1).sum())
    assert rows == [40, scored - 40] and kept.inversion_rows_ == scored and kept.names_[-1] == INVERTED
    assert all(np.isfinite(c.errors[INVERTED]) for c in kept.choices_)


def test_inverted_candidate_takes_its_own_steps_unless_the_caller_sets_inversion():
    """At the defaults the candidate inverts for INVERSION_STEPS (its gain comes in the first steps); a caller's
    own inversion settings are taken whole, steps included."""
    default = Auto().inversion_settings()
    assert default.steps == auto_module.INVERSION_STEPS != InversionConfig().steps
    assert default == InversionConfig(steps=auto_module.INVERSION_STEPS)
    given = InversionConfig(steps=40, learning_rate=0.1)
    assert Auto(inversion=given).inversion_settings() == given
    assert Auto(inversion=given).make_candidate("network").inversion_config == given
    assert Auto().make_candidate("network").inversion_config.steps == auto_module.INVERSION_STEPS
