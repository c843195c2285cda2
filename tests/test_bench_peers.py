"""The bench's peers outside the Imputer: the subprocess peer protocol (with a fake peer script standing in
for HyperImpute's environment) and the miceforest adapter."""

from __future__ import annotations

import json
import pathlib
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from invimpute.bench import cli, peers, presets, results, runner

FAKE_PEER = textwrap.dedent('''
    """A peer that fills each missing cell with its column's observed mean plus options["shift"]."""
    import json, pathlib, sys
    import numpy as np

    work = pathlib.Path(sys.argv[1])
    request = json.loads((work / "request.json").read_text())
    options = request["options"]
    if "report_to" in options:
        pathlib.Path(options["report_to"]).write_text(json.dumps({"work": str(work), "request": request}))
    if options.get("fail"):
        sys.exit(print("the peer broke down", file=sys.stderr) or 3)
    values, missing = np.load(work / "damaged.npy"), np.load(work / "missing.npy")
    assert np.array_equal(np.isnan(values), missing)
    filled = np.where(missing, np.nanmean(values, axis=0) + options.get("shift", 0.0), values)
    if options.get("bad_shape"):
        filled = filled[:, :-1]
    if options.get("leave_nan"):
        filled[missing] = np.nan
    np.save(work / "filled.npy", filled)
    (work / "timing.json").write_text(json.dumps({"fit_seconds": 1.5, "impute_seconds": 0.25}))
''')


@pytest.fixture()
def fake_peer(tmp_path) -> pathlib.Path:
    path = tmp_path / "fake_peer.py"
    path.write_text(FAKE_PEER)
    return path


def _damaged(rows: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A correlated numeric table and a copy with about 20% of its cells removed."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(rows, 1))
    truth = pd.DataFrame(np.hstack([z, 2 * z + 1, -z]) + 0.05 * rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    return truth, truth.mask(rng.random(truth.shape) < 0.2)


def test_subprocess_peer_round_trip_keeps_observed_cells_and_cleans_up(fake_peer, tmp_path):
    _, damaged = _damaged()
    before = damaged.copy()
    report = tmp_path / "report.json"
    filled, fit_s, imp_s = peers.run_in_subprocess(sys.executable, fake_peer, damaged, seed=7,
                                                   options={"shift": 1.0, "report_to": str(report)})
    pd.testing.assert_frame_equal(damaged, before)  # the caller's table is untouched
    missing = damaged.isna().to_numpy()
    assert not filled.isna().any().any()
    assert np.array_equal(filled.to_numpy()[~missing], damaged.to_numpy()[~missing])
    expected = np.broadcast_to(damaged.mean().to_numpy() + 1.0, damaged.shape)
    np.testing.assert_allclose(filled.to_numpy()[missing], expected[missing])
    assert (fit_s, imp_s) == (1.5, 0.25)
    seen = json.loads(report.read_text())
    assert seen["request"]["seed"] == 7 and seen["request"]["columns"] == ["a", "b", "c"]
    assert not pathlib.Path(seen["work"]).exists()  # the temporary folder is gone


@pytest.mark.parametrize(("options", "message"), [
    ({"fail": True}, "exited with status 3: the peer broke down"),
    ({"bad_shape": True}, "shape"),
    ({"leave_nan": True}, "left missing cells empty"),
])
def test_a_broken_peer_raises_a_clear_error(fake_peer, options, message):
    _, damaged = _damaged()
    with pytest.raises(peers.PeerError, match=message):
        peers.run_in_subprocess(sys.executable, fake_peer, damaged, seed=0, options=options)


def test_hyperimpute_runs_through_its_environment_on_the_shared_mask(fake_peer, tmp_path, shared_data,
                                                                     monkeypatch):
    monkeypatch.setenv(peers.HYPERIMPUTE_ENV_VAR, sys.executable)
    monkeypatch.setattr(peers, "HYPERIMPUTE_SCRIPT", fake_peer)
    out = tmp_path / "r.jsonl"
    argv = ["--datasets", "wine", "--mechanisms", "mcar", "--rates", "0.2", "--seeds", "0",
            "--methods", "mean", "hyperimpute", "--data-home", str(shared_data), "--out", str(out)]
    assert cli.main(argv) == 0
    recs = {(r["method"], r["metric"]): r for r in results.read_results(out)}
    peer, mean = recs[("hyperimpute", "rmse")], recs[("mean", "rmse")]
    assert peer["status"] == "ok" and peer["mask_sha256"] == mean["mask_sha256"]
    assert peer["value"] == pytest.approx(mean["value"])  # the fake peer fills column means
    assert (peer["fit_seconds"], peer["impute_seconds"]) == (1.5, 0.25)
    assert any("filled every missing cell with its column mean" in w for w in peer["warnings"])


def test_hyperimpute_is_skipped_without_its_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(peers.HYPERIMPUTE_ENV_VAR, str(tmp_path / "missing" / "python"))
    assert peers.hyperimpute_python() is None
    _, damaged = _damaged()
    with pytest.raises(peers.Skip, match="hyperimpute_env.sh"):
        peers.run_hyperimpute(damaged, 0, categorical=False, options={})


def test_miceforest_fills_numeric_and_categorical_tables():
    pytest.importorskip("miceforest", reason="miceforest is not installed (the optional bench extra)")
    truth, damaged = _damaged(120)
    one_thread = {"iterations": 2, "lightgbm": {"num_threads": 1}}  # LightGBM's spinning threads crawl on a busy CPU
    spec = presets.merge(presets.PRESETS["miceforest"], {"options": one_thread})
    filled, fit_s, imp_s = runner.run_method(spec, damaged, seed=0, categorical=False)
    missing = damaged.isna().to_numpy()
    assert fit_s >= 0 and imp_s >= 0 and not filled.isna().any().any()
    assert np.array_equal(filled.to_numpy()[~missing], damaged.to_numpy()[~missing])
    err = np.sqrt(np.mean((filled.to_numpy() - truth.to_numpy())[missing] ** 2))
    mean_err = np.sqrt(np.mean((damaged.fillna(damaged.mean()).to_numpy() - truth.to_numpy())[missing] ** 2))
    assert err < 0.5 * mean_err  # the chained equations use the correlation

    rng = np.random.default_rng(1)
    labels = rng.choice(["x", "y", "z"], size=(120, 1))
    frame = pd.DataFrame(np.hstack([labels, labels]), columns=["p", "q"]).astype(object)
    hidden = frame.mask(rng.random(frame.shape) < 0.2)
    out, _, _ = peers.run_miceforest(hidden, seed=0, categorical=True, options=one_thread)
    assert not out.isna().any().any() and set(out.to_numpy().ravel()) <= {"x", "y", "z"}
    kept = hidden.notna().to_numpy()
    assert (out.to_numpy()[kept] == hidden.to_numpy()[kept]).all()
    assert all(isinstance(v, str) for v in out.to_numpy().ravel())
