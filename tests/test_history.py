"""``Imputer.history_``: the training record per candidate, member and evaluation, and its checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer
from invimpute.methods.history import COLUMNS, training_history
from invimpute.training.loop import History

from conftest import make_mixed_missing


@pytest.fixture(scope="module")
def auto_fit():
    return Imputer(train={"epochs": 4}, seed=0).fit(make_mixed_missing())


def test_auto_history_is_the_network_candidates_record(auto_fit):
    h = auto_fit.history_
    assert list(h.columns) == list(COLUMNS)
    assert set(h["candidate"]) == {"network"}  # mean, knn and gaussian do not train
    network = auto_fit.method_.methods_["network"]
    record = network.histories_[0]
    assert len(h) == len(record.loss) >= 1
    np.testing.assert_allclose(h["train_loss"], record.loss)
    if record.val_loss:  # cells held out in the network's last fit
        np.testing.assert_allclose(h["held_out_loss"], record.val_loss)
    else:
        assert h["held_out_loss"].isna().all()
    assert h["best"].sum() == 1 and int(np.flatnonzero(h["best"])[0]) == record.best_epoch
    per = network.steps_per_evaluation_
    assert per >= 1 and h["step"].tolist() == [per * (i + 1) for i in range(len(h))]
    assert np.isfinite(h["train_loss"]).all()


def test_network_history_holds_the_held_out_loss():
    imp = Imputer("reverse", train={"epochs": 4}, inversion={"steps": 3}, seed=0).fit(make_mixed_missing())
    h = imp.history_
    record = imp.method_.histories_[0]
    # one epoch per evaluation on 60 rows in one batch: one optimiser step each
    assert set(h["candidate"]) == {"reverse"} and h["step"].tolist() == list(range(1, len(h) + 1))
    np.testing.assert_allclose(h["held_out_loss"], record.val_loss)
    assert np.isfinite(h["held_out_loss"]).all() and len(h) == len(record.loss) >= 1


def test_members_each_get_their_rows_and_steps_follow_the_plan():
    imp = Imputer("ae", train={"steps": 150, "members": 2, "batch_size": 16, "validation_fraction": 0.0},
                  seed=1).fit(make_mixed_missing())
    h = imp.history_
    assert sorted(h["member"].unique()) == [0, 1] and set(h["candidate"]) == {"ae"}
    # 60 rows in batches of 16: 4 steps an epoch; blocks of round(100 / 4) = 25 epochs, 2 evaluations
    assert h.groupby("member")["step"].apply(list).tolist() == [[100, 200], [100, 200]]
    assert h["held_out_loss"].isna().all()  # nothing held out
    assert h.groupby("member")["best"].apply(lambda b: b.tolist()).tolist() == [[False, True]] * 2


def test_methods_that_do_not_train_have_none():
    assert Imputer("mean").fit(make_mixed_missing()).history_ is None


def test_unfitted_imputer_has_no_history():
    assert not hasattr(Imputer(), "history_")


def test_trained_peers_give_their_training_loss():
    gain = Imputer("gain", options={"iterations": 30, "chunk_size": 10}).fit(make_mixed_missing())
    h = gain.history_
    assert h["step"].tolist() == [10, 20, 30] and set(h["candidate"]) == {"gain"}
    record = gain.method_.history_
    np.testing.assert_allclose(h["train_loss"], record[:, 1] + gain.method_.alpha * record[:, 2], rtol=1e-6)
    miwae = Imputer("miwae", options={"epochs": 2, "batch_size": 32, "n_samples": 10}).fit(make_mixed_missing())
    assert miwae.history_["step"].tolist() == [1, 2] and miwae.history_["best"].tolist() == [False, True]


def test_a_history_without_recorded_steps_has_missing_steps():
    from invimpute.methods.registry import Autoencoding

    method = Autoencoding("ae")
    method.histories_ = [History(loss=[0.5, 0.4], mae=[0.1, 0.1], val_loss=[0.6, 0.7], best_epoch=0)]
    h = training_history(method)
    assert h["step"].isna().all() and h["best"].tolist() == [True, False]


def test_history_survives_a_checkpoint(auto_fit, tmp_path):
    pytest.importorskip("skops")
    from invimpute import checkpoint

    checkpoint.save(auto_fit, tmp_path / "ckpt")
    loaded = checkpoint.load(tmp_path / "ckpt")
    pd.testing.assert_frame_equal(loaded.history_, auto_fit.history_)
