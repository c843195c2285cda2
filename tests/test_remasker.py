"""ReMasker as a peer: output shapes and types, observed cells kept, no NaN, seeded, and it learns."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer
from invimpute.peers.remasker import ReMasker, remask

SMALL = {"embed_dim": 16, "depth": 1, "decoder_depth": 1, "num_heads": 2, "epochs": 75, "batch_size": 64,
         "learning_rate": 3e-3}
"""A tiny network and a short run (75 epochs of 4 steps on 200 rows): the checks, not the paper's settings."""


def _table(seed: int = 0, n: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    """A correlated 200-row table (four numeric columns driven by two factors, and a categorical one) and a
    20% MCAR ``missing`` mask."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    numeric = np.c_[z, z @ np.array([[1.0, 0.5], [0.3, -1.0]]) + 0.1 * rng.normal(size=(n, 2))]
    frame = pd.DataFrame(numeric, columns=["a", "b", "c", "d"])
    frame["kind"] = np.where(z[:, 1] > 0, "high", "low")
    return frame, rng.random(frame.shape) < 0.2


@pytest.fixture(scope="module")
def fitted():
    """One fit of the tiny ReMasker on the damaged table, and its fill."""
    truth, missing = _table()
    damaged = truth.mask(missing)
    before = damaged.copy()
    imputer = Imputer(method="remasker", options=SMALL, seed=0).fit(damaged)
    return truth, missing, damaged, before, imputer, imputer.transform(damaged)


def test_shapes_types_and_observed_cells_kept(fitted):
    truth, missing, damaged, before, _, filled = fitted
    assert filled.shape == truth.shape and list(filled.columns) == list(truth.columns)
    assert not filled.isna().any().any()
    pd.testing.assert_frame_equal(damaged, before)  # the caller's table is not modified
    observed = ~missing
    for j, col in enumerate(truth.columns):
        assert (filled[col][observed[:, j]] == damaged[col][observed[:, j]]).all(), col
    assert set(filled["kind"]) <= {"high", "low"}


def test_same_seed_same_result(fitted):
    _, _, damaged, _, _, filled = fitted
    again = Imputer(method="remasker", options=SMALL, seed=0).fit(damaged).transform(damaged)
    pd.testing.assert_frame_equal(filled, again)


def test_it_learns_beats_mean_fill(fitted):
    truth, missing, damaged, _, _, filled = fitted
    cols = ["a", "b", "c", "d"]
    m = missing[:, :4]
    t = truth[cols].to_numpy()
    err = np.sqrt(np.mean((filled[cols].to_numpy() - t)[m] ** 2))
    mean_err = np.sqrt(np.mean((np.broadcast_to(damaged[cols].mean().to_numpy(), t.shape) - t)[m] ** 2))
    assert err < 0.8 * mean_err, (err, mean_err)


def test_new_rows_and_no_nan_in_an_almost_empty_row(fitted):
    truth, _, _, _, imputer, _ = fitted
    rows = truth.iloc[:3].copy()
    rows.iloc[0, :4] = np.nan  # only the categorical cell observed
    rows.iloc[1, :] = np.nan  # nothing observed
    out = imputer.transform(rows)
    assert not out.isna().any().any()
    assert out.iloc[2].equals(truth.iloc[2])


def test_remask_keeps_one_visible_token_and_hides_missing_ones():
    observed = np.array([[True, True, False, True], [False, False, True, False], [False] * 4])
    for seed in range(20):
        visible = np.asarray(remask(jax.random.key(seed), observed, 0.99))
        assert not (visible & ~observed).any()
        assert visible[:2].any(axis=1).all()


def test_options_are_checked_and_budget_counts_steps():
    with pytest.raises(ValueError, match="mask_ratio"):
        Imputer(method="remasker", options={"mask_ratio": 1.5}).fit(_table()[0])
    assert ReMasker(epochs=600, batch_size=64).steps_for(200) == 600 * 4
    assert ReMasker(epochs=600, batch_size=64, max_steps=1000).steps_for(200) == 1000
