"""Every fitted Imputer saves three ways with identical output: pickle, joblib, and invimpute.checkpoint.store
(pickle-free, every method). Settings are tiny so each method fits in about a second."""

from __future__ import annotations

import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer, checkpoint
from invimpute.estimator.imputer import METHODS

OPTIONS = {"gain": {"iterations": 20}, "miwae": {"n_steps": 10, "n_samples": 20},
           "iterative": {"max_iter": 2}, "boosted": {"rounds": 3, "depth": 2}, "missforest": {"max_iter": 2, "n_estimators": 3},
           "remasker": {"embed_dim": 8, "depth": 1, "decoder_depth": 1, "num_heads": 2, "max_steps": 3}}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    df = pd.DataFrame({"x": z, "y": 2 * z + 0.1 * rng.normal(size=n), "n": np.rint(3 * z + 10),
                       "c": np.where(z > 0, "hi", "lo").astype(object)})
    return df.mask(rng.random(df.shape) < 0.2)


@pytest.fixture(scope="module", params=METHODS)
def fitted(request):
    train = _table(40, 0)
    imp = Imputer(request.param, model={"hidden": [8], "latent": 4}, train={"epochs": 2}, inversion={"steps": 5},
                  options=OPTIONS.get(request.param), seed=2).fit(train)
    return imp, train, _table(40, 1)


def test_pickle_joblib_and_checkpoint_give_identical_output(fitted, tmp_path):
    imp, train, fresh = fitted
    buf = io.BytesIO()
    joblib.dump(imp, buf)
    buf.seek(0)
    copies = {"pickle": pickle.loads(pickle.dumps(imp)), "joblib": joblib.load(buf),
              "checkpoint": checkpoint.load(checkpoint.save(imp, tmp_path / "model"))}
    for data in (train, fresh):
        want = imp.transform(data)
        for how, other in copies.items():
            got = other.transform(data)
            assert got.equals(want) and list(got.dtypes) == list(want.dtypes), f"{imp.method} via {how}"
    assert checkpoint.fingerprint(copies["checkpoint"]) == checkpoint.fingerprint(imp)


def test_the_checkpoint_holds_no_pickle(fitted, tmp_path):
    imp, _, _ = fitted
    path = checkpoint.save(imp, tmp_path / "model")
    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)
