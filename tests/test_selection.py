"""Tests for invimpute.scoring.selection: choosing each column's fill from candidates scored on held-out cells."""

from __future__ import annotations

import numpy as np
import pytest

from invimpute.scoring.selection import (CLEAR_WIN, MIN_CELLS, choose_column, choose_columns, clear_win, pooled_weights,
                                 simplex_weights, win_threshold)

NAMES = ["mean", "a", "b"]


def _preds(truth: np.ndarray, noise: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """(cells, 1, C) predictions: the truth plus independent noise of each scale (mean: its own scale)."""
    return np.stack([truth + s * rng.normal(size=truth.shape) for s in noise], axis=-1)


def test_simplex_weights_recover_the_exact_mixture():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(500, 3))
    t = P @ np.array([0.2, 0.8, 0.0])
    w = simplex_weights(P, t)
    np.testing.assert_allclose(w, [0.2, 0.8, 0.0], atol=1e-6)
    assert w.min() >= 0 and abs(w.sum() - 1) < 1e-9


def test_a_column_takes_the_best_candidate_and_never_one_worse_than_the_mean():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(MIN_CELLS * 2, 1))
    good = choose_column(NAMES, _preds(truth, (1.0, 0.3, 2.0), rng), truth, rng)
    assert good.weights["a"] > 0.8 and good.weights["b"] < 0.1
    bad = choose_column(NAMES, _preds(truth, (0.5, 3.0, 4.0), rng), truth, rng)
    assert bad.choice == "mean" and bad.weights["mean"] == 1.0


def test_few_cells_take_a_clear_winner_of_the_pool_and_keep_the_mean_on_noise():
    rng = np.random.default_rng(2)
    truths = [rng.normal(size=(40, 1)) for _ in range(3)]               # 120 cells < MIN_CELLS
    clear = pooled_weights(NAMES, [_preds(t, (1.0, 0.2, 1.5), rng) for t in truths], truths)
    np.testing.assert_array_equal(clear, [0.0, 1.0, 0.0])
    close = pooled_weights(NAMES, [_preds(t, (1.0, 0.99, 1.01), rng) for t in truths], truths)
    assert close is None
    assert pooled_weights(NAMES, [], []) is None


@pytest.mark.parametrize("cells", [30, MIN_CELLS + 50])
def test_choose_columns_one_choice_per_source_column(cells):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(cells, 3))
    held = np.ones_like(X, bool)
    preds = np.stack([np.zeros_like(X), X + 0.1 * rng.normal(size=X.shape), X + rng.normal(size=X.shape)], axis=-1)
    choices = choose_columns(NAMES, preds, X, held, np.array([0, 1, 2]), rng)
    assert len(choices) == 3
    assert all(c.weights["a"] > 0.5 for c in choices)  # the precise candidate carries every column, pooled or not


def test_clear_win_needs_a_gain_beyond_two_standard_errors():
    rng = np.random.default_rng(4)
    assert clear_win(0.5 + rng.normal(size=400))
    assert not clear_win(0.01 + rng.normal(size=400))
    assert not clear_win(-0.5 + rng.normal(size=400))
    assert not clear_win(np.array([1.0]))


def test_an_incumbent_is_kept_unless_another_fill_wins_clearly():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(MIN_CELLS * 2, 1))
    base = truth + 0.5 * rng.normal(size=truth.shape)
    near = np.stack([truth + 2.0 * rng.normal(size=truth.shape), base, base + 0.01 * rng.normal(size=truth.shape)], -1)
    kept = choose_column(NAMES, near, truth, rng, incumbent="a")
    assert kept.weights["a"] == 1.0 and kept.rule.startswith("a (no clear gain)")
    far = np.stack([truth + 2.0 * rng.normal(size=truth.shape), base, truth + 0.1 * rng.normal(size=truth.shape)], -1)
    assert choose_column(NAMES, far, truth, rng, incumbent="a").weights["b"] > 0.9
    worse = np.stack([truth + 0.1 * rng.normal(size=truth.shape), truth + 3.0 * rng.normal(size=truth.shape),
                      truth + 3.0 * rng.normal(size=truth.shape)], -1)
    assert choose_column(NAMES, worse, truth, rng, incumbent="a").choice == "mean"  # never worse than mean/mode
    truths = [rng.normal(size=(40, 1)) for _ in range(3)]
    pooled = pooled_weights(NAMES, [_preds(t, (1.0, 0.5, 0.49), rng) for t in truths], truths, incumbent="a")
    np.testing.assert_array_equal(pooled, [0.0, 1.0, 0.0])


def test_without_strict_mean_the_mean_replaces_an_incumbent_only_when_clearly_better():
    rng = np.random.default_rng(7)
    truth = rng.normal(size=(MIN_CELLS * 2, 1))
    noise = rng.normal(size=truth.shape)
    a = truth + noise + 0.1 * rng.normal(size=truth.shape)              # a hair worse than "mean", not clearly
    preds = np.stack([truth + noise, a, a + 3.0], -1)                    # "b": the same errors, shifted
    assert choose_column(NAMES, preds, truth, rng, incumbent="a").choice == "mean"
    assert choose_column(NAMES, preds, truth, rng, incumbent="a", strict_mean=False).choice == "a"
    clearly = np.stack([truth + 0.2 * noise, a, a + 3.0], -1)
    assert choose_column(NAMES, clearly, truth, rng, incumbent="a", strict_mean=False).choice == "mean"


def test_another_candidate_can_play_the_baseline():
    rng = np.random.default_rng(4)
    truth = rng.normal(size=(MIN_CELLS * 2, 1))
    names = ["floor", "worse"]
    preds = _preds(truth, (0.1, 3.0), rng)
    choice = choose_column(names, preds, truth, rng, baseline="floor")
    assert choice.weights["floor"] > 0.9
    few = choose_column(names, preds[:10], truth[:10], rng, baseline="floor")
    assert few.weights["floor"] == 1.0 and few.rule.startswith("floor")
    assert pooled_weights(names, [preds[:10]], [truth[:10]], baseline="floor") is None


def test_the_family_wise_threshold_is_bonferroni_and_one_column_keeps_clear_win():
    assert win_threshold(1) == pytest.approx(CLEAR_WIN)
    thresholds = [win_threshold(m) for m in (1, 2, 10, 57)]
    assert thresholds == sorted(thresholds) and thresholds[-1] == pytest.approx(3.353, abs=1e-3)
    rng = np.random.default_rng(8)
    gain = 2.5 / np.sqrt(400) + rng.normal(size=400)
    gain = (gain - gain.mean()) + 2.5 * gain.std(ddof=1) / np.sqrt(400)   # exactly 2.5 standard errors
    assert clear_win(gain) and not clear_win(gain, win_threshold(57))


def test_family_wise_choice_keeps_the_incumbent_on_a_gain_one_column_would_take():
    rng = np.random.default_rng(9)
    cells, cols = MIN_CELLS * 2, 30
    X = rng.normal(size=(cells, cols))
    z = rng.normal(size=X.shape)
    z = (z - z.mean(axis=0)) / z.std(axis=0, ddof=1)
    gain = z + 2.6 / np.sqrt(cells)                      # every column's gain: exactly 2.6 standard errors
    challenger = X + 2.0                                   # squared error 4 in every cell
    incumbent = X + np.sqrt(4.0 + gain)                    # squared error 4 + gain
    preds = np.stack([X + 3.0, incumbent, challenger], -1)   # all above the truth: no blend helps
    group, held = np.arange(cols), np.ones_like(X, bool)
    kw = dict(incumbent="a", strict_mean=False)
    family = choose_columns(NAMES, preds, X, held, group, rng, family_wise=True, **kw)
    assert all(c.weights["a"] == 1.0 for c in family)
    per_column = choose_columns(NAMES, preds, X, held, group, rng, **kw)
    assert all(c.weights["a"] < 1.0 for c in per_column)
