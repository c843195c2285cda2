"""Tests for the Ray engine (invimpute.distributed and ``invimpute impute --engine ray``) on a local Ray
cluster of 2 CPUs: a multi-file Parquet dataset repaired through the function and through the command line
equals :func:`invimpute.job.impute_file` on the same rows; a worker process killed mid-job is restarted and
the output equals an uninterrupted run; a wrong model folder or a schema mismatch fails before any worker
starts; without Ray, one line names the extra to install. Also the settings of the compilation cache.
The model is tiny (2 epochs, hidden [16], latent 4, 5 inversion steps in chunks of 64 rows)."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from conftest import make_mixed_missing
from invimpute import Imputer, checkpoint, distributed, job
from invimpute.runtime import compile_cache
from invimpute.cli import main

TINY = {"model": {"hidden": [16], "latent": 4}, "train": {"batch_size": 64, "epochs": 2}, "seed": 3,
        "progress": False, "inversion": {"steps": 5, "batch_size": 64}}
ROWS, FILES, BATCH = 1200, 4, 128
SETTINGS = {"workers": 2, "cpus_per_worker": 0.5, "batch_rows": BATCH}


def _assert_same_repair(got, want) -> None:
    """The Ray output is the single-host job's: same schema, rows and text cells exactly, numbers to float
    rounding. Rows reach the compiled programs in differently sized batches on the two paths (Ray's
    batches follow its blocks), and XLA's CPU kernels may round a row's sums differently at another batch
    shape, so imputed numbers can differ in their last bits."""
    assert got.schema == want.schema and got.num_rows == want.num_rows
    g, w = got.to_pandas(), want.to_pandas()
    for col in w.columns:
        if pd.api.types.is_float_dtype(w[col]):
            np.testing.assert_allclose(g[col].to_numpy(float), w[col].to_numpy(float), rtol=1e-5, atol=1e-6,
                                       equal_nan=True, err_msg=col)
        else:
            assert g[col].equals(w[col]), col


def _ray():
    return pytest.importorskip("ray", reason="Ray is not installed: pip install 'invimpute[distributed]'")


@pytest.fixture(scope="module")
def cluster():
    ray = _ray()
    pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'invimpute[distributed]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("ray")


@pytest.fixture(scope="module")
def cache(work) -> str:
    """One compilation cache for every actor of the module, so later actors skip compiling."""
    return str(work / "jax-cache")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_mixed_missing(ROWS, seed=5).reset_index(drop=True)


@pytest.fixture(scope="module")
def model_dir(work, table) -> pathlib.Path:
    return checkpoint.save(Imputer("reverse", **TINY).fit(table), work / "model")


@pytest.fixture(scope="module")
def parts(work, table) -> pathlib.Path:
    """The table split into Parquet files of unequal sizes, named in row order."""
    folder = work / "in"
    folder.mkdir()
    cuts = [0, 100, 450, 900, ROWS]
    for i in range(FILES):
        table.iloc[cuts[i]:cuts[i + 1]].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def reference(work, table, model_dir):
    """What the single-host job writes for the same rows."""
    import pyarrow.parquet as pq

    whole = work / "whole.parquet"
    table.to_parquet(whole, index=False)
    job.impute_file(model_dir, whole, work / "reference.parquet", chunk_rows=500, progress=False)
    return pq.read_table(work / "reference.parquet")


def _collect(ds):
    import pyarrow as pa
    import ray

    return pa.concat_tables(ray.get(ds.to_arrow_refs()))


def _repairer_pids() -> list[int]:
    """Process ids of the live Repairer actors (Ray titles each actor process ``ray::<class>...``)."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if title.startswith("ray::") and "Repairer" in title:
                pids.append(int(entry.name))
    return pids


# ---- the function and the command line --------------------------------------------------------------
def test_function_matches_impute_file(cluster, parts, model_dir, reference, cache, table):
    out = _collect(distributed.impute_dataset(str(parts), model_dir, compile_cache_setting=cache, **SETTINGS))
    assert out.num_rows == ROWS
    _assert_same_repair(out, reference)
    frame = out.to_pandas()
    assert not frame.isna().any().any()
    observed = table.notna().to_numpy()
    for j, name in enumerate(table.columns):
        assert (frame[name].to_numpy()[observed[:, j]] == table[name].to_numpy()[observed[:, j]]).all()
    assert any(pathlib.Path(cache).iterdir()), "the actors wrote no compiled programs to the cache"


def test_cli_matches_impute_file_and_publishes_once(cluster, parts, model_dir, reference, cache, work, capsys):
    import pyarrow.parquet as pq

    out = work / "repaired"
    args = ["impute", str(parts), "--model", str(model_dir), "--out", str(out), "--engine", "ray", "--workers", "2",
            "--cpus-per-worker", "0.5", "--batch-rows", str(BATCH), "--compile-cache", cache, "--no-progress"]
    assert main(args) == 0
    assert f"imputed {ROWS:,} rows" in capsys.readouterr().out
    assert not (work / "repaired.partial").exists()
    names = {p.name for p in out.iterdir()} - {distributed.MARKER}
    assert (out / distributed.MARKER).is_file() and names and all(n.startswith("part-") for n in names)
    assert json.loads((out / distributed.MARKER).read_text())["rows"] == ROWS
    _assert_same_repair(pq.read_table(out), reference)
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    stranger = work / "not-ours"
    stranger.mkdir()
    (stranger / "keep.txt").write_text("x")
    assert main([*args[:5], str(stranger), *args[6:], "--overwrite"]) == 1
    assert "not a folder written by the Ray engine" in capsys.readouterr().err
    assert (stranger / "keep.txt").read_text() == "x"


def test_csv_input_reads_text_columns_as_the_job_does(cluster, work, table, model_dir, cache):
    import pyarrow.parquet as pq

    csv = work / "small.csv"
    table.iloc[:300].to_csv(csv, index=False)
    out = _collect(distributed.impute_dataset(str(csv), model_dir, workers=1, cpus_per_worker=0.5,
                                              batch_rows=BATCH, compile_cache_setting=cache))
    job.impute_file(model_dir, csv, work / "small-reference.parquet", progress=False)
    _assert_same_repair(out, pq.read_table(work / "small-reference.parquet"))


# ---- a worker killed mid-job ------------------------------------------------------------------------
def test_killed_worker_is_retried_and_output_unchanged(cluster, parts, model_dir, reference, cache):
    ray = cluster
    source = ray.data.read_parquet(str(parts))
    source.context.target_max_block_size = 1024  # every repaired batch becomes a block of its own, streamed out
    ds = distributed.impute_dataset(source, model_dir, workers=1, cpus_per_worker=0.5, batch_rows=BATCH,
                                    compile_cache_setting=cache)
    killed, seen = [], []
    before = set(_repairer_pids())

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not seen:
            time.sleep(0.05)
        pids = sorted(set(_repairer_pids()) - before)
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.append((pids[0], len(seen)))

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    batches = []
    for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        batches.append(batch)
        seen.append(batch.num_rows)
    killer.join()
    import pyarrow as pa

    assert killed, "no Repairer process was found to kill"
    assert killed[0][1] < len(seen), "the worker was killed after the job had finished"
    assert killed[0][0] not in _repairer_pids()
    _assert_same_repair(pa.concat_tables(batches), reference)


# ---- refusals before any work -----------------------------------------------------------------------
def test_wrong_model_or_schema_fails_before_any_worker(cluster, parts, model_dir, work, table, capsys):
    before = set(_repairer_pids())
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        distributed.impute_dataset(str(parts), work / "no-such-model")
    not_model = work / "not-a-model"
    not_model.mkdir()
    with pytest.raises(ValueError, match="not-a-model"):
        distributed.impute_dataset(str(parts), not_model)
    renamed = work / "renamed"
    renamed.mkdir()
    table.rename(columns={"size": "length"}).to_parquet(renamed / "a.parquet", index=False)
    with pytest.raises(ValueError, match=r"missing \['size'\], unexpected \['length'\]"):
        distributed.impute_dataset(str(renamed), model_dir)
    rc = main(["impute", str(renamed), "--model", str(model_dir), "--out", str(work / "never"), "--engine", "ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "columns differ from the model's" in err[0]
    assert not (work / "never").exists() and not (work / "never.partial").exists()
    with pytest.raises(ValueError, match="leave less than one"):
        distributed.impute_dataset(str(parts), model_dir, workers=2, cpus_per_worker=1)
    with pytest.raises(ValueError, match="the cluster has 0"):
        distributed.impute_dataset(str(parts), model_dir, workers=1, gpus_per_worker=1)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        distributed.impute_dataset(str(parts), model_dir, workers=0)
    assert set(_repairer_pids()) <= before


def test_ray_options_need_the_ray_engine(model_dir, parts, work, capsys):
    rc = main(["impute", str(parts / "part-0.parquet"), "--model", str(model_dir), "--out", str(work / "x.csv"),
               "--workers", "2"])
    assert rc == 1 and "--workers apply to the Ray engine only" in capsys.readouterr().err


def test_without_ray_one_line_names_the_extra(monkeypatch, tmp_path, capsys):
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'invimpute\[distributed\]'"):
        distributed.impute_dataset(str(tmp_path), tmp_path)
    rc = main(["impute", str(tmp_path), "--model", str(tmp_path), "--out", str(tmp_path / "o"), "--engine", "ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and err == [f"invimpute: error: {distributed.INSTALL_HINT}"]


# ---- the compilation cache --------------------------------------------------------------------------
def test_compile_cache_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("INVIMPUTE_DATA", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(compile_cache.ENV_VAR, raising=False)
    expected = tmp_path / "cache" / "invimpute" / "jax"  # the per-user cache folder, never the data home
    assert compile_cache.cache_dir() == expected
    for off in ("0", "off", "OFF", "false"):
        monkeypatch.setenv(compile_cache.ENV_VAR, off)
        assert compile_cache.cache_dir() is None
        assert compile_cache.enable() is None
    monkeypatch.setenv(compile_cache.ENV_VAR, str(tmp_path / "mine"))
    assert compile_cache.cache_dir() == (tmp_path / "mine").resolve()
    assert compile_cache.cache_dir(False) is None
    assert compile_cache.cache_dir(True) == expected
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert compile_cache.enable(blocked / "cache") is None
