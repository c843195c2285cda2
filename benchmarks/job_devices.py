"""The streaming job on several forced host devices, on a busy machine: it must finish and equal one device.

Builds the synthetic numeric CSV of ``benchmarks/job.py`` (default 50,000 rows x 8 columns, 20% missing),
fits a small reverse-training model on its first rows and saves it, then starts ``--load`` busy processes
(``python -c "while True: pass"``, one per core by default) and, while they run, fills the CSV with
``invimpute impute`` twice, each a fresh process: with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``
(``--devices``) and with one device. The busy processes are stopped at the end, whatever happens.

Reports each run's exit status, wall time and last error line, the collective operations (all-gather,
all-reduce, ...) in the programs XLA compiled for it (from ``--xla_dump_to``), whether the outputs are
byte-identical, and the largest difference of a filled cell. Before invimpute ran the inversion as one program spanning
the devices, a 4-device job on a busy 2-core machine aborted in XLA's CPU all-gather ("Expected 4 threads
to join the rendezvous, but only 3 of them arrived on time"); ``--code DIR`` runs the jobs with another
checkout's ``invimpute`` (for example one from before the change): it compiled all-gathers into the
inversion, where a rendezvous of every device's thread can time out; the abort itself depends on the
machine's load and does not happen on every run::

    python benchmarks/job_devices.py --rows 50000
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from job import make_csv

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLLECTIVE = re.compile(r"\b(all-gather|all-reduce|all-to-all|collective-permute|reduce-scatter)(-start)?\(")


def _busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def _impute(code: pathlib.Path, model: pathlib.Path, csv: pathlib.Path, out: pathlib.Path, devices: int,
            chunk_rows: int, timeout: float) -> dict:
    dump = out.with_name(out.name + ".hlo")
    env = {**os.environ, "PYTHONPATH": str(code), "JAX_PLATFORMS": "cpu", "INVIMPUTE_COMPILE_CACHE": "off",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} --xla_dump_to={dump}"}
    cmd = [sys.executable, "-m", "invimpute.cli", "impute", str(csv), "--model", str(model), "--out", str(out),
           "--chunk-rows", str(chunk_rows), "--overwrite", "--no-progress"]
    start = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=code)
        rc, err = res.returncode, res.stderr
    except subprocess.TimeoutExpired as exc:
        rc, err = "timeout", (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    seconds = time.perf_counter() - start
    lines = [ln for ln in err.splitlines() if ln.strip()]
    why = next((ln for ln in lines if "rendezvous" in ln), lines[-1] if lines else "")
    programs = list(dump.glob("*after_optimizations.txt"))
    collectives = sum(len(COLLECTIVE.findall(p.read_text())) for p in programs)
    return {"devices": devices, "rc": rc, "seconds": seconds, "error": why[:200] if rc != 0 else "",
            "programs": len(programs), "collectives": collectives}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--devices", type=int, default=4, help="forced host devices of the sharded run")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes during the runs")
    parser.add_argument("--chunk-rows", type=int, default=25_000)
    parser.add_argument("--fit-rows", type=int, default=5_000)
    parser.add_argument("--steps", type=int, default=50, help="inversion steps per row")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a run counts as hung")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose invimpute the jobs run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from invimpute import Imputer, checkpoint

    work = pathlib.Path(tempfile.mkdtemp(prefix="invimpute-bench-devices-"))
    busy: list[subprocess.Popen] = []
    try:
        csv = work / "data.csv"
        make_csv(csv, args.rows, args.cols, 0.2, args.seed)
        imp = Imputer("reverse", model={"hidden": [32], "latent": 4}, train={"epochs": 5, "batch_size": 256},
                      inversion={"steps": args.steps}, seed=args.seed).fit(pd.read_csv(csv, nrows=args.fit_rows))
        model = checkpoint.save(imp, work / "model", overwrite=True)
        print(f"{args.rows:,} rows x {args.cols} columns; model fitted on {args.fit_rows:,} rows; "
              f"{args.load} busy processes on {os.cpu_count()} cores; code from {args.code}", flush=True)
        busy = _busy(args.load)
        runs = []
        for devices in (args.devices, 1):
            res = _impute(pathlib.Path(args.code), model, csv, work / f"out{devices}.csv", devices,
                          args.chunk_rows, args.timeout)
            runs.append(res)
            print(f"{devices} device(s): exit {res['rc']} in {res['seconds']:.1f} s; {res['collectives']} collective "
                  f"ops in {res['programs']} compiled programs {res['error']}", flush=True)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    try:
        if all(r["rc"] == 0 for r in runs):
            a, b = (work / f"out{d}.csv" for d in (args.devices, 1))
            same = a.read_bytes() == b.read_bytes()
            diff = float(np.nanmax(np.abs(pd.read_csv(a).to_numpy() - pd.read_csv(b).to_numpy())))
            print(f"outputs byte-identical: {same}; largest difference of a cell: {diff:.3g}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| devices | exit | wall s | collective ops (programs) | error |\n|---:|---:|---:|---:|---|")
    for r in runs:
        print(f"| {r['devices']} | {r['rc']} | {r['seconds']:.1f} | {r['collectives']} ({r['programs']}) | {r['error']} |")


if __name__ == "__main__":
    main()
