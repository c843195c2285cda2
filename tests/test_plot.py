"""``invimpute.plot``: the figures of a fitted Imputer on the Agg backend, and the error without matplotlib."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import invimpute  # noqa: E402
from invimpute import Imputer, NotFittedError  # noqa: E402

from conftest import make_mixed_missing  # noqa: E402


@pytest.fixture(scope="module")
def auto_fit():
    return Imputer(train={"epochs": 4}, seed=0).fit(make_mixed_missing())


@pytest.fixture(scope="module")
def ae_fit():
    return Imputer("ae", train={"epochs": 4}, seed=0).fit(make_mixed_missing())


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_import_invimpute_does_not_import_matplotlib():
    code = "import sys, invimpute; assert 'matplotlib' not in sys.modules; invimpute.plot; " \
           "assert 'matplotlib' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_training_curve_draws_both_losses_and_the_kept_point(ae_fit):
    ax = invimpute.plot.training_curve(ae_fit)
    history = ae_fit.history_
    lines = ax.get_lines()
    train, held, best = lines[:3]
    np.testing.assert_allclose(train.get_ydata(), history["train_loss"])
    np.testing.assert_allclose(held.get_ydata(), history["held_out_loss"])
    np.testing.assert_allclose(train.get_xdata(), history["step"].astype(float))
    assert len(best.get_xdata()) == 1 and ax.get_xlabel() == "optimiser steps"


def test_training_curve_on_a_given_axes_and_without_training(ae_fit):
    fig, (left, right) = plt.subplots(1, 2)
    assert invimpute.plot.training_curve(ae_fit, ax=right, held_out=False) is right
    assert not left.get_lines() and len(right.get_lines()) == 2
    with pytest.raises(ValueError, match="'mean' trains no model"):
        invimpute.plot.training_curve(Imputer("mean").fit(make_mixed_missing()))
    with pytest.raises(NotFittedError):
        invimpute.plot.training_curve(Imputer())


def test_selection_draws_every_candidates_error_per_column(auto_fit):
    table = auto_fit.selection_
    ax = invimpute.plot.selection(auto_fit)
    candidates = [c.removesuffix("_error") for c in table.columns if c.endswith("_error")]
    assert len(ax.patches) == len(candidates) * len(table)
    heights = np.array([p.get_height() for p in ax.patches]).reshape(len(candidates), len(table))
    np.testing.assert_allclose(heights, table[[f"{c}_error" for c in candidates]].to_numpy(float).T)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [f"{c} → {choice}" for c, choice in zip(table.index, table["choice"])]
    with pytest.raises(ValueError, match="no per-column choice"):
        invimpute.plot.selection(Imputer("mean").fit(make_mixed_missing()))


def test_belief_numeric_intervals_and_categorical_confidence(ae_fit):
    X = make_mixed_missing()
    belief = ae_fit.belief(X)
    ax = invimpute.plot.belief(ae_fit, X, "size")
    imputed = belief.mean["size"].dropna()
    drawn = np.concatenate([line.get_ydata() for line in ax.get_lines() if line.get_marker() == "o"])
    np.testing.assert_allclose(np.sort(drawn), np.sort(imputed.to_numpy()))
    ax = invimpute.plot.belief(ae_fit, X, "color")
    assert sum(p.get_height() for p in ax.patches) == belief.confidence["color"].notna().sum()
    with pytest.raises(KeyError, match="nope"):
        invimpute.plot.belief(ae_fit, X, "nope")


def test_missing_matplotlib_names_the_extra(monkeypatch, auto_fit):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ImportError, match=r"invimpute\[figures\]"):
        invimpute.plot.training_curve(auto_fit)
