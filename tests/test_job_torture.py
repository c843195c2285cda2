"""The job under hostile conditions: it is killed at seeded random points, crashes at every step, runs
beside other jobs on one output, meets pre-existing ``.partial`` / ``.tmp`` paths (folders, symlinks),
tampered parts and a full disk. After each, the output is either absent or complete and right, nothing
outside the job's own files is touched, and every refusal names the path and what to do.

The model is a saved ``"mean"`` Imputer (no training, no compilation), so the module runs in well under
a minute; the SIGKILL rounds run the job in subprocesses.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from invimpute import Imputer, checkpoint
from invimpute.job import JobError, impute_file

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHUNK = 100


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n).round(3),
                       "kind": rng.choice(["a", "b", "c"], size=n)})
    return df.mask(rng.random(df.shape) < 0.2)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("torture")
    src = base / "input.csv"
    _table(2000).to_csv(src, index=False)
    model = checkpoint.save(Imputer("mean").fit(pd.read_csv(src)), base / "model")
    reference = base / "reference.csv"
    impute_file(model, src, reference, chunk_rows=CHUNK, progress=False)
    return {"base": base, "src": src, "model": model, "reference": reference.read_bytes()}


def _snapshot(folder: pathlib.Path, skip: set[str]) -> dict[str, str]:
    """Every entry under ``folder`` (not following symlinks) with a digest, except the names in ``skip``."""
    out = {}
    for root, dirs, files in os.walk(folder):
        rel_root = pathlib.Path(root).relative_to(folder)
        if rel_root.parts and rel_root.parts[0] in skip:
            continue
        for name in dirs + files:
            p = pathlib.Path(root) / name
            rel = str(rel_root / name)
            if rel_root == pathlib.Path(".") and name in skip:
                continue
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def _crash_on(monkeypatch, calls: int):
    """Make the ``calls``-th imputed chunk raise, as if the job died there."""
    real = Imputer.transform_with_mask
    seen = []

    def flaky(self, X):
        seen.append(1)
        if len(seen) == calls:
            raise RuntimeError("simulated crash")
        return real(self, X)

    monkeypatch.setattr(Imputer, "transform_with_mask", flaky)


# ---- the findings ------------------------------------------------------------------------------------
def test_a_foreign_partial_folder_is_refused_and_left_alone(setup, tmp_path):
    """Finding 2: a pre-existing OUT.partial without a progress record is never cleared or deleted."""
    out = tmp_path / "out.csv"
    partial = tmp_path / "out.csv.partial"
    partial.mkdir()
    inside = partial / "input.csv"
    shutil.copy(setup["src"], inside)
    with pytest.raises(JobError, match="no invimpute progress record") as err:
        impute_file(setup["model"], inside, out, chunk_rows=CHUNK, progress=False)
    assert str(partial) in str(err.value) and "remove or rename it" in str(err.value)
    assert inside.read_bytes() == setup["src"].read_bytes() and not out.exists()


def test_a_partial_symlink_is_never_followed(setup, tmp_path):
    """Finding 2: OUT.partial as a symlink to a folder: refused, the link and its target untouched."""
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    (tmp_path / "out.csv.partial").symlink_to(target, target_is_directory=True)
    with pytest.raises(JobError, match="symbolic link"):
        impute_file(setup["model"], setup["src"], tmp_path / "out.csv", chunk_rows=CHUNK, progress=False)
    assert (target / "keep.txt").read_text() == "precious"
    assert (tmp_path / "out.csv.partial").is_symlink() and not (tmp_path / "out.csv").exists()


def test_an_output_that_appears_meanwhile_is_not_replaced(setup, tmp_path, monkeypatch):
    """Finding 3: another job publishes OUT while this one runs; without overwrite it is kept."""
    out = tmp_path / "out.csv"
    real = Imputer.transform_with_mask
    calls = []

    def other_job_finishes(self, X):
        calls.append(1)
        if len(calls) == 2:
            out.write_text("the other job's output\n")
        return real(self, X)

    monkeypatch.setattr(Imputer, "transform_with_mask", other_job_finishes)
    with pytest.raises(FileExistsError, match="overwrite") as err:
        impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
    assert str(out) in str(err.value)
    assert out.read_text() == "the other job's output\n"


def test_a_same_size_edit_of_a_finished_part_is_detected(setup, tmp_path, monkeypatch):
    """Finding 4: a tampered part (same size) never reaches the output; it is recomputed."""
    out = tmp_path / "out.csv"
    _crash_on(monkeypatch, 4)
    with pytest.raises(RuntimeError, match="simulated crash"):
        impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
    monkeypatch.undo()
    part = tmp_path / "out.csv.partial" / "part-000000.csv"
    data = bytearray(part.read_bytes())
    at = next(i for i, b in enumerate(data) if chr(b).isdigit())
    data[at] = ord("7") if data[at] != ord("7") else ord("3")
    part.write_bytes(bytes(data))
    impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
    assert out.read_bytes() == setup["reference"]


def test_a_planted_tmp_symlink_is_never_followed(setup, tmp_path):
    """Finding 5: OUT.tmp as a symlink to another file: the file and the link are left as they were."""
    victim = tmp_path / "victim.txt"
    victim.write_text("do not overwrite")
    (tmp_path / "out.csv.tmp").symlink_to(victim)
    (tmp_path / "out.npy.tmp").mkdir()
    impute_file(setup["model"], setup["src"], tmp_path / "out.csv", chunk_rows=CHUNK, progress=False)
    assert victim.read_text() == "do not overwrite"
    assert (tmp_path / "out.csv.tmp").is_symlink() and (tmp_path / "out.npy.tmp").is_dir()
    assert (tmp_path / "out.csv").read_bytes() == setup["reference"]


# ---- crashes and kills -------------------------------------------------------------------------------
def test_a_crash_at_any_step_resumes_to_the_same_output(setup, tmp_path, monkeypatch):
    """Crashes injected at seeded random steps of writing (parts, record, publish): never a partial output."""
    from invimpute.runtime import files

    rng = np.random.default_rng(15)
    out = tmp_path / "out.csv"
    real_place = files.place
    for _ in range(8):
        budget = [int(rng.integers(1, 45))]

        def failing_place(*args, **kwargs):
            budget[0] -= 1
            if budget[0] == 0:
                raise OSError("simulated crash while publishing")
            return real_place(*args, **kwargs)

        monkeypatch.setattr(files, "place", failing_place)
        try:
            impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
        except OSError:
            pass
        monkeypatch.undo()
        assert not out.exists() or out.read_bytes() == setup["reference"]
        if out.exists():
            break
    if not out.exists():
        impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
    assert out.read_bytes() == setup["reference"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


_WORKER = ("import pathlib, sys\n"
           "from invimpute.job import impute_file\n"
           "pathlib.Path(sys.argv[4]).touch()\n"
           "impute_file(sys.argv[1], sys.argv[2], sys.argv[3], chunk_rows=int(sys.argv[5]), progress=False)\n")


def _worker(setup, out: pathlib.Path, ready: pathlib.Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, "-c", _WORKER, str(setup["model"]), str(setup["src"]), str(out), str(ready), "20"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_sigkill_at_seeded_random_points(setup, tmp_path):
    """SIGKILL at seeded random times; each time the output is absent or right and nothing else changed."""
    rng = np.random.default_rng(2015)
    out = tmp_path / "out.csv"
    (tmp_path / "neighbour.txt").write_text("a neighbour's file")
    (tmp_path / "out.csv.tmp").symlink_to(tmp_path / "neighbour.txt")
    before = _snapshot(tmp_path, {"out.csv", "out.csv.partial", "ready"})
    kills = 0
    for _ in range(3):
        ready = tmp_path / "ready"
        ready.unlink(missing_ok=True)
        proc = _worker(setup, out, ready)
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 1.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()
        kills += proc.returncode == -signal.SIGKILL
        assert not out.exists() or out.read_bytes() == setup["reference"]
        assert _snapshot(tmp_path, {"out.csv", "out.csv.partial", "ready"}) == before
        if out.exists():
            break
    assert kills >= 1
    if not out.exists() or (tmp_path / "out.csv.partial").exists():
        # the same command again: it resumes, or removes what a kill just after publishing left behind
        impute_file(setup["model"], setup["src"], out, chunk_rows=20, progress=False)
    ref = tmp_path / "ref20.csv"
    impute_file(setup["model"], setup["src"], ref, chunk_rows=20, progress=False)
    assert out.read_bytes() == ref.read_bytes()
    assert not (tmp_path / "out.csv.partial").exists()
    assert _snapshot(tmp_path, {"out.csv", "ref20.csv", "ready"}) == before


def test_concurrent_jobs_on_one_output(setup, tmp_path):
    """Two jobs started together on one output: the output is right, the other job refused clearly."""
    out = tmp_path / "out.csv"
    procs = [_worker(setup, out, tmp_path / f"ready{i}") for i in range(2)]
    errors = []
    for proc in procs:
        proc.wait(timeout=180)
        err = proc.stderr.read()
        proc.stderr.close()
        if proc.returncode != 0:
            errors.append(err.strip().splitlines()[-1])
    assert len(errors) < 2
    for line in errors:
        assert ("another invimpute job" in line or "already exists" in line or "no invimpute progress record" in line), line
        assert str(out) in line
    ref = tmp_path / "ref20.csv"
    impute_file(setup["model"], setup["src"], ref, chunk_rows=20, progress=False)
    assert out.read_bytes() == ref.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ready")) == ["out.csv", "ref20.csv"]


# ---- full disk ---------------------------------------------------------------------------------------
def test_a_full_disk_leaves_no_output_and_says_what_to_do(setup, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): {res.stderr.strip()}")
    try:
        out = mnt / "out.csv"
        with pytest.raises(JobError, match="no space left") as err:
            impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
        assert "free some space and rerun" in str(err.value)
        assert not out.exists()
        assert sorted(p.name for p in mnt.iterdir()) == ["out.csv.partial"]
        assert not [p for p in (mnt / "out.csv.partial").iterdir() if p.name.endswith(".tmp")]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


class _Stopped(Exception):
    """Stands for a kill at one point of the job."""


def test_stop_between_publishing_and_cleanup_is_finished_by_the_same_command(setup, tmp_path, monkeypatch):
    """A job stopped after its output was published but before its work folder was removed leaves the
    folder; the same command removes it (the output is the one the job recorded) and changes nothing else,
    while an output that is no longer the published one is refused and the folder kept."""
    from invimpute.job.workdir import WorkDir

    out = tmp_path / "out.csv"
    partial = tmp_path / "out.csv.partial"

    def stop(self):
        raise _Stopped

    with monkeypatch.context() as m:
        m.setattr(WorkDir, "remove", stop)
        with pytest.raises(_Stopped):
            impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
    assert out.read_bytes() == setup["reference"] and partial.is_dir()
    summary = impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)
    assert not partial.exists() and out.read_bytes() == setup["reference"]
    assert summary.rows == 2000 and summary.chunks_resumed == summary.chunks
    with pytest.raises(FileExistsError, match="already exists"):  # finished: the plain refusal again
        impute_file(setup["model"], setup["src"], out, chunk_rows=CHUNK, progress=False)

    other = tmp_path / "other.csv"
    with monkeypatch.context() as m:
        m.setattr(WorkDir, "remove", stop)
        with pytest.raises(_Stopped):
            impute_file(setup["model"], setup["src"], other, chunk_rows=CHUNK, progress=False)
    other.write_text("the user's own file now\n")
    with pytest.raises(FileExistsError, match="already exists"):
        impute_file(setup["model"], setup["src"], other, chunk_rows=CHUNK, progress=False)
    assert other.read_text() == "the user's own file now\n" and (tmp_path / "other.csv.partial").is_dir()
