"""Tests for the command line (invimpute.cli) and the streaming job (invimpute.job): fit then impute a CSV,
refusals and one-line errors, truncated inputs, Parquet and .npy files, resuming after SIGKILL with a
byte-identical result, and sharded inversion over 4 host devices matching one device. Models are tiny
(2 epochs, hidden [16], latent 4, 5 inversion steps)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer, checkpoint, job
from invimpute.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = {"model": {"hidden": [16], "latent": 4}, "train": {"batch_size": 64}, "inversion": {"steps": 5}}
CHUNK = 50


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "invimpute.cli", *args], capture_output=True, text=True,
                          env=_env(), timeout=timeout, cwd=ROOT)


def _recorded_parts(partial: pathlib.Path) -> dict:
    """The parts the job's progress record lists (empty while there is no record yet)."""
    try:
        return json.loads((partial / "progress.json").read_text())["parts"]
    except (OSError, ValueError, KeyError):
        return {}


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    df = pd.DataFrame({
        "x1": z[:, 0], "x2": 2 * z[:, 0] + 0.1 * rng.normal(size=n), "x3": z[:, 1],
        "count": np.rint(3 * z[:, 1] + 10), "kind": np.where(z[:, 0] > 0, "hi", "lo"),
    })
    return df.mask(rng.random(df.shape) < 0.15)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def data_csv(work) -> pathlib.Path:
    path = work / "data.csv"
    _table(3000).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_dir(work, data_csv) -> pathlib.Path:
    out = work / "model"
    rc = main(["fit", str(data_csv), "--out", str(out), "--method", "reverse", "--epochs", "2", "--seed", "1",
               "--config", json.dumps(TINY), "--no-progress"])
    assert rc == 0
    return out


def test_fit_defaults_to_auto_and_prints_its_choice(work, data_csv, capsys):
    small = work / "small.csv"
    pd.read_csv(data_csv, nrows=200).to_csv(small, index=False)
    rc = main(["fit", str(small), "--out", str(work / "auto_model"), "--steps", "20", "--no-progress",
               "--config", json.dumps({"model": TINY["model"]})])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "fitted method 'auto'" in printed and "per-column choice" in printed and "held_out_cells" in printed
    loaded = checkpoint.load(work / "auto_model")
    assert loaded.method == "auto" and list(loaded.selection_.index) == list(pd.read_csv(small).columns)


@pytest.fixture(scope="module")
def reference(work, data_csv, model_dir) -> pathlib.Path:
    """An uninterrupted in-process run with the chunk size the resume tests use."""
    out = work / "reference.csv"
    summary = job.impute_file(model_dir, data_csv, out, chunk_rows=CHUNK, progress=False)
    assert summary.rows == 3000 and summary.chunks == 3000 // CHUNK and summary.chunks_resumed == 0
    return out


def test_fit_saves_the_requested_model(model_dir):
    imp = checkpoint.load(model_dir)
    params = imp.get_params()
    assert imp.method == "reverse" and params["train__epochs"] == 2 and imp.seed == 1
    assert params["model__hidden"] == (16,) and params["train__batch_size"] == 64
    assert imp.progress is False


def test_cli_impute_fills_and_keeps_observed(work, data_csv, model_dir, capsys):
    out = work / "cli_out.csv"
    rc = main(["impute", str(data_csv), "--model", str(model_dir), "--out", str(out),
               "--chunk-rows", "1000", "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "3,000 rows" in printed and "rows/s" in printed
    src, got = pd.read_csv(data_csv), pd.read_csv(out)
    assert got.shape == src.shape and list(got.columns) == list(src.columns)
    assert not got.isna().any().any()
    observed = src.notna().to_numpy()
    for j, col in enumerate(src.columns):
        assert (src[col].to_numpy()[observed[:, j]] == got[col].to_numpy()[observed[:, j]]).all()
    assert set(got["kind"]) <= {"hi", "lo"}
    assert not (work / "cli_out.csv.partial").exists() and not (work / "cli_out.csv.tmp").exists()


def test_existing_output_is_refused_without_overwrite(work, data_csv, model_dir, capsys):
    out = work / "exists.csv"
    out.write_text("keep me\n")
    rc = main(["impute", str(data_csv), "--model", str(model_dir), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("invimpute: error: ") and "already exists" in err
    assert out.read_text() == "keep me\n"
    rc = main(["impute", str(data_csv), "--model", str(model_dir), "--out", str(out), "--overwrite",
               "--chunk-rows", "1000", "--no-progress"])
    assert rc == 0 and len(pd.read_csv(out)) == 3000


def test_schema_mismatch_fails_before_any_output(work, data_csv, model_dir, capsys):
    other = work / "renamed.csv"
    pd.read_csv(data_csv).rename(columns={"x3": "x_three"}).to_csv(other, index=False)
    out = work / "mismatch.csv"
    rc = main(["impute", str(other), "--model", str(model_dir), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "columns differ" in err and "'x3'" in err and "'x_three'" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and not (work / "mismatch.csv.partial").exists()


def test_subprocess_exit_codes_and_one_line_errors(work, model_dir):
    result = _cli("impute", str(work / "no_such.csv"), "--model", str(model_dir), "--out", str(work / "x.csv"))
    assert result.returncode == 1
    assert result.stderr.startswith("invimpute: error: no such input file")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["impute", "--bogus"])
    assert exc.value.code == 2


@pytest.mark.parametrize("command", [[], ["fit"], ["impute"], ["demo"], ["bench"]])
def test_help_works_for_every_command(command, capsys):
    try:
        rc = main([*command, "--help"])
    except SystemExit as exc:
        rc = exc.code
    assert rc == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_bench_without_module_exits_2(capsys, monkeypatch):
    import invimpute.cli as cli

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(cli.importlib, "import_module", missing)
    assert main(["bench"]) == 2
    assert "invimpute.bench" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--help"])
    assert exc.value.code == 0


def test_kill_and_resume_is_byte_identical(work, data_csv, model_dir, reference):
    out = work / "killed.csv"
    partial = work / "killed.csv.partial"
    args = [sys.executable, "-m", "invimpute.cli", "impute", str(data_csv), "--model", str(model_dir),
            "--out", str(out), "--chunk-rows", str(CHUNK), "--no-progress"]
    proc = subprocess.Popen(args, env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _recorded_parts(partial) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the job ended before it could be killed: {proc.stderr.read()}"
    proc.stderr.close()
    done = len(list(partial.glob("part-*.csv")))
    recorded = json.loads((partial / "progress.json").read_text())["parts"]
    assert 1 <= len(recorded) <= done < 3000 // CHUNK
    assert not out.exists()

    result = _cli(*args[3:])
    assert result.returncode == 0, result.stderr
    assert f"{len(recorded)} resumed" in result.stdout and "3,000 rows" in result.stdout
    assert out.read_bytes() == reference.read_bytes()
    assert not partial.exists()


def test_resume_skips_finished_chunks_and_restarts_when_input_changes(work, model_dir, monkeypatch):
    src = work / "resume_input.csv"
    _table(600, seed=5).to_csv(src, index=False)
    reference = work / "resume_reference.csv"
    job.impute_file(model_dir, src, reference, chunk_rows=CHUNK, progress=False)
    out = work / "resumed.csv"
    real_write = job.parts.write_part
    calls = []

    def failing(*args, **kwargs):
        if len(calls) == 3:
            raise OSError("simulated crash")
        calls.append(args[1])
        return real_write(*args, **kwargs)

    monkeypatch.setattr(job.parts, "write_part", failing)
    with pytest.raises(OSError, match="simulated crash"):
        job.impute_file(model_dir, src, out, chunk_rows=CHUNK, progress=False)
    monkeypatch.setattr(job.parts, "write_part", real_write)
    assert not out.exists() and len(list((work / "resumed.csv.partial").glob("part-*"))) == 3

    summary = job.impute_file(model_dir, src, out, chunk_rows=CHUNK, progress=False)
    assert summary.chunks_resumed == 3 and summary.rows == 600
    assert out.read_bytes() == reference.read_bytes()

    out.unlink()
    monkeypatch.setattr(job.parts, "write_part", failing)
    calls.clear()
    with pytest.raises(OSError, match="simulated crash"):
        job.impute_file(model_dir, src, out, chunk_rows=CHUNK, progress=False)
    monkeypatch.setattr(job.parts, "write_part", real_write)
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    summary = job.impute_file(model_dir, src, out, chunk_rows=CHUNK, progress=False)
    assert summary.chunks_resumed == 0
    assert out.read_bytes() == reference.read_bytes()


def test_a_second_job_on_the_same_output_is_refused(work, data_csv, model_dir):
    lock = job.workdir.WorkDir.claim(work / "locked.csv")
    try:
        with pytest.raises(job.JobError, match="another invimpute job"):
            job.impute_file(model_dir, data_csv, work / "locked.csv", chunk_rows=CHUNK, progress=False)
    finally:
        lock.release()
    assert not (work / "locked.csv").exists()


def test_truncated_and_corrupt_inputs_never_publish_output(work, data_csv, model_dir):
    text = data_csv.read_text()
    cut = work / "cut.csv"
    cut.write_text(text[: len(text) // 2].rsplit(",", 1)[0])
    with pytest.raises(ValueError, match="looks truncated"):
        job.impute_file(model_dir, cut, work / "cut_out.csv", chunk_rows=500, progress=False)
    assert not (work / "cut_out.csv").exists() and not (work / "cut_out.csv.partial").exists()

    lines = text.splitlines(keepends=True)
    bad = work / "bad.csv"
    bad.write_text("".join(lines[:120] + ["1,2,3,4,hi,extra,fields\n"] + lines[120:]))
    with pytest.raises(ValueError, match="corrupt after row"):
        job.impute_file(model_dir, bad, work / "bad_out.csv", chunk_rows=CHUNK, progress=False)
    assert not (work / "bad_out.csv").exists()

    pq_path = work / "data.parquet"
    pd.read_csv(data_csv).to_parquet(pq_path)
    (work / "cut.parquet").write_bytes(pq_path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        job.impute_file(model_dir, work / "cut.parquet", work / "cut_out.parquet", progress=False)
    assert not (work / "cut_out.parquet").exists()


def test_parquet_and_csv_outputs_agree(work, data_csv, model_dir, reference):
    pq_path = work / "in.parquet"
    pd.read_csv(data_csv).to_parquet(pq_path)
    summary = job.impute_file(model_dir, pq_path, work / "out.parquet", chunk_rows=CHUNK, progress=False)
    assert summary.rows == 3000
    got, ref = pd.read_parquet(work / "out.parquet"), pd.read_csv(reference)
    # the CSV writes a fill in its column's style: "count" (written 10.0, 7.0, ...) gets whole numbers
    pd.testing.assert_frame_equal(got.drop(columns="count"), ref.drop(columns="count"), check_dtype=False)
    np.testing.assert_array_equal(ref["count"], np.rint(got["count"]))


def test_npy_images_from_a_saved_model(work):
    rng = np.random.default_rng(0)
    images = rng.random((70, 8, 8)).astype(np.float32)
    for i in range(len(images)):
        images[i, i % 6:i % 6 + 2] = np.nan
    src = work / "images.npy"
    np.save(src, images)
    imp = Imputer("mean").fit(images)
    model = checkpoint.save(imp, work / "image_model")
    summary = job.impute_file(model, src, work / "filled.npy", chunk_rows=32, progress=False)
    assert (summary.rows, summary.cells_imputed, summary.chunks) == (70, int(np.isnan(images).sum()), 3)
    got = np.load(work / "filled.npy")
    assert got.shape == images.shape and got.dtype == np.float32 and np.isfinite(got).all()
    observed = ~np.isnan(images)
    np.testing.assert_array_equal(got[observed], images[observed])
    np.testing.assert_array_equal(got, imp.transform(images))
    with pytest.raises(ValueError, match="images of shape"):
        job.impute_file(model, work / "reference.csv", work / "nope.npy", progress=False)


SHARDED = textwrap.dedent("""
    import sys
    import jax
    import numpy as np
    from invimpute import InversionConfig, Layout, invert, symmetric_mlp

    placed = set()
    real_put = jax.device_put

    def put(x, device=None, **kw):
        if isinstance(device, jax.Device):
            placed.add(device.id)
        return real_put(x, device, **kw)

    jax.device_put = put
    rng = np.random.default_rng(0)
    X = rng.random((10, 6)).astype(np.float32)
    obs = rng.random((10, 6)) > 0.3
    model = symmetric_mlp(6, (16,), 4, seed=0)
    config = InversionConfig(steps=5, batch_size=8, input_dropout=0.1)
    res = invert(model, X, obs, Layout.uniform(6), config, jax.random.key(7))
    np.save(sys.argv[1], res.x)
    print(len(jax.devices()), len(placed))
""")


def test_sharded_inversion_matches_one_device(tmp_path):
    import jax

    from invimpute import InversionConfig, Layout, invert, symmetric_mlp

    if len(jax.devices()) != 1:
        pytest.skip("the parent process must see one device")
    rng = np.random.default_rng(0)
    X = rng.random((10, 6)).astype(np.float32)
    obs = rng.random((10, 6)) > 0.3
    model = symmetric_mlp(6, (16,), 4, seed=0)
    config = InversionConfig(steps=5, batch_size=8, input_dropout=0.1)
    single = invert(model, X, obs, Layout.uniform(6), config, jax.random.key(7)).x

    out, dump = tmp_path / "sharded.npy", tmp_path / "hlo"
    result = subprocess.run(
        [sys.executable, "-c", SHARDED, str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env=_env(XLA_FLAGS=f"--xla_force_host_platform_device_count=4 --xla_dump_to={dump}", JAX_PLATFORMS="cpu",
                 INVIMPUTE_COMPILE_CACHE="off"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4", "4"]  # four devices, each given its slice of the rows
    # no compiled program spans the devices: no collective op, whose CPU rendezvous can abort a busy machine
    programs = list(dump.glob("*after_optimizations.txt"))
    assert programs
    text = "\n".join(p.read_text() for p in programs)
    assert not re.search(r"\b(all-gather|all-reduce|all-to-all|collective-permute|reduce-scatter)(-start)?\(", text)
    sharded = np.load(out)
    np.testing.assert_array_equal(sharded[obs], X[obs])
    np.testing.assert_allclose(sharded, single, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_four_device_cli_job_equals_one_device_on_a_busy_machine(work, data_csv):
    """The forced-4-device job runs each device's slice of the rows as its own program (no all-gather
    waiting on a rendezvous of device threads), so it finishes and writes the 1-device job's bytes while
    two busy processes hold the cores. (A one-pass model: its program compiles fast on every device.)"""
    small = work / "devices.csv"
    pd.read_csv(data_csv, nrows=300).to_csv(small, index=False)
    model = checkpoint.save(Imputer("ae", seed=2, **dict(TINY, train={"steps": 20, "batch_size": 64}))
                            .fit(pd.read_csv(small)), work / "devices_model")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        outs = {}
        for devices in (4, 1):
            outs[devices] = work / f"devices{devices}.csv"
            result = subprocess.run(
                [sys.executable, "-m", "invimpute.cli", "impute", str(small), "--model", str(model), "--out",
                 str(outs[devices]), "--chunk-rows", "128", "--overwrite", "--no-progress", "--compile-cache", "off"],
                capture_output=True, text=True, timeout=240, cwd=ROOT,
                env=_env(XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu"))
            assert result.returncode == 0, result.stderr
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert outs[4].read_bytes() == outs[1].read_bytes()


STYLED = """age,ratio,count,code,city,when,flag
65,0.10,3,007,Paris,2020-01-31,TRUE
,0.25,,012,Rome,2020-02-03,FALSE
40,,7,,,2020-03-01,
33,1.50,12,100,"Rome",,TRUE
28,0.05,,012,Oslo,2020-01-15,FALSE
51,2.00,4,007,Oslo,2020-02-11,TRUE
"""


def test_a_csv_job_writes_observed_cells_as_read_and_fills_in_the_columns_style(tmp_path):
    """Observed cells keep their text (``007``, ``0.10``, ``65`` in a column with gaps); fills follow the
    column: whole numbers in an integer column, two decimals where the column writes two; the same
    bytes whatever the chunk size."""
    src = tmp_path / "styled.csv"
    src.write_text(STYLED)
    model = checkpoint.save(Imputer("mean").fit(job.read_table(src)), tmp_path / "model")
    outs = []
    for chunk in (2, 100):
        out = tmp_path / f"out{chunk}.csv"
        assert main(["impute", str(src), "--model", str(model), "--out", str(out), "--chunk-rows", str(chunk),
                     "--no-progress"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    got = pd.read_csv(tmp_path / "out2.csv", dtype=str, keep_default_na=False)
    given = raw != ""
    assert (got[given] == raw[given]).sum().sum() == given.sum().sum()  # every observed field as it was read
    assert (got != "").all().all()
    assert got.loc[1, "age"] == "43" and got.loc[1, "count"] == "6"  # means 43.4 and 6.5, as whole numbers
    assert got.loc[2, "ratio"] == "0.78"                              # the column's two decimals
    assert got.loc[2, "city"] in {"Paris", "Rome", "Oslo"} and got.loc[2, "flag"] in {"TRUE", "FALSE"}
