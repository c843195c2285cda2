"""First-call seconds with and without JAX's persistent compilation cache (:mod:`invimpute.runtime.compile_cache`).

Fits a small reverse-training imputer on a synthetic numeric table, then, each in a fresh process:

* ``Ray worker``: what an actor of the Ray engine does before its first result: build a
  :class:`invimpute.distributed.Repairer` (import, enable the cache, load the model) and fill its first
  batch (compiling the inversion program), split into the two parts;
* ``command line``: ``python -m invimpute.cli impute`` on a Parquet file of one batch of rows, whole
  process wall time.

Each is run with the cache off, with an empty cache folder (the first process fills it) and again with
that folder (a second process finds the programs there). Prints a markdown section::

    python benchmarks/compile_cache.py --out benchmarks/results/compile_cache.md
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKER = """
import json, sys, time
start = time.perf_counter()
from invimpute import distributed
import pyarrow.parquet as pq
files = distributed.read_model_files(sys.argv[1])
repairer = distributed.Repairer(files, int(sys.argv[3]), sys.argv[4])
ready = time.perf_counter()
repairer(pq.read_table(sys.argv[2]))
done = time.perf_counter()
print(json.dumps({"init": ready - start, "first": done - ready}))
"""


def synthetic(rows: int, cols: int, missing: float, seed: int) -> pd.DataFrame:
    """Numeric columns driven by two latent factors, ``missing`` of the cells removed at random."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, 2)) @ rng.normal(size=(2, cols)) + 0.1 * rng.normal(size=(rows, cols))
    values[rng.random((rows, cols)) < missing] = np.nan
    return pd.DataFrame(values, columns=[f"x{j}" for j in range(cols)])


def _env(setting: str) -> dict[str, str]:
    env = dict(os.environ, INVIMPUTE_COMPILE_CACHE=setting)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _worker(model: pathlib.Path, data: pathlib.Path, rows: int, setting: str) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, str(model), str(data), str(rows), setting],
                         capture_output=True, text=True, env=_env(setting), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cli(model: pathlib.Path, data: pathlib.Path, out: pathlib.Path, setting: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "invimpute.cli", "impute", str(data), "--model", str(model), "--out",
                    str(out), "--overwrite", "--no-progress", "--compile-cache", setting],
                   capture_output=True, text=True, env=_env(setting), check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=16_384, help="rows of the batch filled on the first call")
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--steps", type=int, default=50, help="inversion steps per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the markdown report to this file")
    args = parser.parse_args(argv)

    import jax

    import invimpute
    from invimpute import Imputer, checkpoint
    from invimpute.runtime.files import publish

    work = pathlib.Path(tempfile.mkdtemp(prefix="invimpute-bench-cache-"))
    try:
        table = synthetic(args.rows, args.cols, 0.2, args.seed)
        data = work / "batch.parquet"
        table.to_parquet(data, index=False)
        imp = Imputer("reverse", model={"hidden": [32], "latent": 4}, train={"epochs": 3, "batch_size": 256},
                      inversion={"steps": args.steps}, seed=args.seed, progress=False).fit(table.iloc[:4096])
        model = checkpoint.save(imp, work / "model")
        cache, cli_cache = work / "jax-cache-worker", work / "jax-cache-cli"
        rows = []
        for label, on in (("off", False), ("on, empty folder", True), ("on, second process", True)):
            w = _worker(model, data, args.rows, str(cache) if on else "off")
            c = _cli(model, data, work / "out.parquet", str(cli_cache) if on else "off")
            rows.append((label, w, c))
            print(f"cache {label}: worker init {w['init']:.1f} s, first batch {w['first']:.1f} s; CLI {c:.1f} s", flush=True)
        entries = sum(1 for p in cache.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 2**20
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines = ["| compilation cache | Ray worker: start and load s | Ray worker: first batch s | worker total s | CLI impute, whole process s |",
             "|---|---:|---:|---:|---:|"]
    for label, w, c in rows:
        lines.append(f"| {label} | {w['init']:.1f} | {w['first']:.1f} | {w['init'] + w['first']:.1f} | {c:.1f} |")
    off, warm = rows[0], rows[2]
    text = "\n".join([
        f"Synthetic numeric table, {args.rows:,} rows x {args.cols} columns, 20% MCAR; reverse training, MLP hidden "
        f"[32], latent 4, {args.steps} inversion steps, inversion chunks of 1024 rows. invimpute "
        f"{invimpute.__version__}, JAX {jax.__version__} on {jax.devices()[0].platform} ({os.cpu_count()} CPU cores, "
        f"{platform.machine()}). Every figure is a fresh process; the first batch includes compiling the "
        f"inversion program unless the cache has it.\n",
        "\n".join(lines),
        f"\nWith the cache, a second process is done with its first batch "
        f"{(off[1]['init'] + off[1]['first']) / max(warm[1]['init'] + warm[1]['first'], 1e-9):.1f}x sooner as a Ray "
        f"worker and finishes the command {off[2] / max(warm[2], 1e-9):.1f}x sooner; the worker's cache held "
        f"{entries} programs ({size:.1f} MiB).\n",
    ])
    publish(text, args.out)


if __name__ == "__main__":
    main()
