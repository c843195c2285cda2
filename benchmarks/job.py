"""Throughput and memory of the streaming imputation job (:func:`invimpute.job.impute_file`).

Builds a synthetic numeric CSV (default 2,000,000 rows x 8 columns driven by two latent factors, 20% of
cells missing completely at random), fits a small reverse-training imputer on a sample of it, and then
measures, each in a fresh process so that peak memory (``ru_maxrss``) belongs to that run alone:

* ``baseline``: import, load the model, fill ten rows (the JAX runtime and one compile);
* ``impute_file``: the whole job end to end (load the model, read, encode, invert, decode, check, write
  the parts, join them), once per ``--chunk-rows`` value;
* ``invert alone``: :func:`invimpute.invert` on the same rows, read and encoded beforehand and compiled
  by a warm-up call, so only the inversion is timed; this run holds the whole table in memory;
* ``Ray engine``: the same rows as Parquet parts, filled by :func:`invimpute.distributed.impute_to_parquet`
  on a local Ray cluster with 1 and 2 workers (``--ray-workers``; needs ``invimpute[distributed]``),
  next to ``impute_file`` on one Parquet file of the same rows. The Ray figure is end to end: loading and
  checking the model on the driver, starting the actors (each imports JAX, loads the model and compiles),
  reading, filling, writing and publishing the parts; starting the cluster itself is timed apart.

The compilation cache is off in every run, so each one pays its compilation (see
``benchmarks/compile_cache.py`` for what the cache saves).

Peak memory is the process's high-water resident set (``VmHWM`` on Linux, else ``ru_maxrss``).

Peak memory of the job should follow the chunk size, not the file size. Prints a table, then a markdown
section for RESULTS.md, to stdout only::

    python benchmarks/job.py --rows 200000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pathlib
import platform
import resource
import shutil
import tempfile
import time

import numpy as np
import pandas as pd


def make_csv(path: pathlib.Path, rows: int, cols: int, missing: float, seed: int, block: int = 100_000) -> None:
    """Write the synthetic table block by block, so building it needs little memory."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(2, cols))
    names = [f"x{j}" for j in range(cols)]
    for start in range(0, rows, block):
        n = min(block, rows - start)
        values = rng.normal(size=(n, 2)) @ weights + 0.1 * rng.normal(size=(n, cols))
        values[rng.random((n, cols)) < missing] = np.nan
        pd.DataFrame(values, columns=names).to_csv(path, mode="a", header=start == 0, index=False, float_format="%.6g")


def _peak_mib() -> float:
    """This process's peak resident memory in MiB.

    Linux's ``ru_maxrss`` survives ``exec``, so a spawned child would report its parent's peak; the
    kernel's per-image high-water mark (``VmHWM``) does not, and is used where ``/proc`` has it.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child_baseline(model_dir: str, csv: str, queue) -> None:
    from invimpute import checkpoint

    start = time.perf_counter()
    imp = checkpoint.load(model_dir)
    imp.transform(pd.read_csv(csv, nrows=10))
    queue.put({"seconds": time.perf_counter() - start, "rows": 10, "peak_mib": _peak_mib()})


def _child_stream(model_dir: str, csv: str, out: str, chunk_rows: int, queue) -> None:
    from invimpute.job import impute_file

    summary = impute_file(model_dir, csv, out, chunk_rows=chunk_rows, overwrite=True, progress=False)
    queue.put({"seconds": summary.seconds, "rows": summary.rows, "cells": summary.cells_imputed,
               "peak_mib": _peak_mib()})


def _child_invert(model_dir: str, csv: str, queue) -> None:
    import jax

    from dataclasses import replace

    from invimpute import checkpoint, invert

    imp = checkpoint.load(model_dir)
    start = time.perf_counter()
    frame = pd.read_csv(csv)
    X, observed = imp.encoder_.encode(frame, frame.notna())
    del frame
    prepare = time.perf_counter() - start
    method = imp.method_
    config = replace(method.inversion_config, radius=method.radii_[0])
    key = jax.random.fold_in(imp.key_impute_, 0)
    model = method.models_[0]
    warm = min(len(X), config.batch_size)
    invert(model, X[:warm], observed[:warm], method.layout_, config, key, mean=method.mean_)
    start = time.perf_counter()
    result = invert(model, X, observed, method.layout_, config, key, mean=method.mean_)
    seconds = time.perf_counter() - start
    queue.put({"seconds": seconds, "rows": int(result.x.shape[0]), "prepare": prepare, "peak_mib": _peak_mib()})


RAY_BATCH = 16 * 1024
"""Rows per Ray batch: the engine's default, 16 chunks of the default inversion batch (1024 rows)."""
RAY_BLOCK_BYTES = 2 << 20
"""Ray Data block size for these small inputs (default 128 MiB), so that the rows reach the pool as
several blocks and a second worker has work of its own."""


def make_parquet_parts(csv: pathlib.Path, folder: pathlib.Path, parts: int, whole: pathlib.Path) -> None:
    """The CSV's rows as ``parts`` Parquet files (for Ray) and as one Parquet file (for ``impute_file``)."""
    frame = pd.read_csv(csv)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(frame), parts + 1).astype(int)
    for i in range(parts):
        frame.iloc[bounds[i]:bounds[i + 1]].to_parquet(folder / f"part-{i:04d}.parquet", index=False)
    frame.to_parquet(whole, index=False)


def _child_repairer(model_dir: str, whole: str, queue) -> None:
    import pyarrow.parquet as pq

    from invimpute import distributed

    table = pq.read_table(whole)
    repairer = distributed.Repairer(distributed.read_model_files(model_dir), RAY_BATCH, False)
    repairer(table.slice(0, RAY_BATCH))
    start = time.perf_counter()
    for s in range(0, table.num_rows, RAY_BATCH):
        repairer(table.slice(s, RAY_BATCH))
    queue.put({"seconds": time.perf_counter() - start, "rows": table.num_rows, "peak_mib": _peak_mib()})


def _child_ray(model_dir: str, folder: str, out: str, workers: int, queue) -> None:
    import ray

    from invimpute import distributed

    cpus = os.cpu_count() or 2
    start = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.target_max_block_size = RAY_BLOCK_BYTES
    init = time.perf_counter() - start
    per_worker = min(1.0, (cpus - 1) / workers)
    summary = distributed.impute_to_parquet(folder, model_dir, out, overwrite=True, workers=workers,
                                            cpus_per_worker=per_worker, compile_cache_setting=False)
    ray.shutdown()
    queue.put({"seconds": summary.seconds, "rows": summary.rows, "init": init, "peak_mib": _peak_mib()})


def _in_child(target, *args) -> dict:
    """Run ``target`` in a fresh spawned process and return what it reports."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"{target.__name__} failed with exit code {proc.exitcode}")
    return result


def _ray_runs(args, work: pathlib.Path, csv: pathlib.Path, model_dir: pathlib.Path, runs: list) -> list[dict]:
    """``impute_file`` on one Parquet file, then the Ray engine with each pool size; appended to ``runs``."""
    folder, whole = work / "parts", work / "whole.parquet"
    make_parquet_parts(csv, folder, args.ray_parts, whole)
    chunk = max(args.chunk_rows)
    res = _in_child(_child_stream, str(model_dir), str(whole), str(work / "out.parquet"), chunk)
    runs.append(("impute_file, Parquet in and out", f"{chunk:,}", res))
    print(f"impute_file on Parquet: {res['seconds']:.1f} s", flush=True)
    res = _in_child(_child_repairer, str(model_dir), str(whole))
    runs.append(("one Ray worker's batches alone (warm, no Ray)", f"{RAY_BATCH:,} per batch", res))
    print(f"Repairer alone: {res['seconds']:.1f} s", flush=True)
    ray_runs = []
    for workers in args.ray_workers:
        res = _in_child(_child_ray, str(model_dir), str(folder), str(work / "ray-out"), workers)
        if res["rows"] != args.rows:
            raise RuntimeError(f"the Ray engine wrote {res['rows']} rows for {args.rows}")
        runs.append((f"Ray engine, {workers} worker{'s' if workers > 1 else ''}", f"{RAY_BATCH:,} per batch", res))
        ray_runs.append(res)
        print(f"Ray engine with {workers} workers: {res['seconds']:.1f} s", flush=True)
    return ray_runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the synthetic CSV")
    parser.add_argument("--cols", type=int, default=8, help="columns of the synthetic CSV")
    parser.add_argument("--missing", type=float, default=0.2, help="fraction of cells missing (MCAR)")
    parser.add_argument("--chunk-rows", type=int, nargs="+", default=[100_000, 25_000], help="chunk sizes to run the job with")
    parser.add_argument("--fit-rows", type=int, default=20_000, help="rows of the sample the model is fitted on")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50, help="inversion steps per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="folder for the CSV, model and outputs (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--ray-workers", type=int, nargs="*", default=[1, 2],
                        help="Ray pool sizes to run (none: skip the Ray engine)")
    parser.add_argument("--ray-parts", type=int, default=8, help="Parquet files the rows are split into for Ray")
    parser.add_argument("--out", help="also write the markdown report to this file")
    args = parser.parse_args(argv)

    import jax

    import invimpute
    from invimpute import Imputer, checkpoint

    work = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="invimpute-bench-job-"))
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "data.csv"
    csv.unlink(missing_ok=True)
    try:
        start = time.perf_counter()
        make_csv(csv, args.rows, args.cols, args.missing, args.seed)
        build_s = time.perf_counter() - start
        size_mib = csv.stat().st_size / 2**20
        print(f"built {csv} ({args.rows:,} rows x {args.cols} columns, {size_mib:,.1f} MiB) in {build_s:.1f} s", flush=True)

        start = time.perf_counter()
        sample = pd.read_csv(csv, nrows=args.fit_rows)
        imp = Imputer("reverse", model={"hidden": [32], "latent": 4}, train={"epochs": args.epochs, "batch_size": 256},
                      inversion={"steps": args.steps}, seed=args.seed).fit(sample)
        model_dir = checkpoint.save(imp, work / "model", overwrite=True)
        fit_s = time.perf_counter() - start
        print(f"fitted on {len(sample):,} rows in {fit_s:.1f} s", flush=True)

        runs = [("baseline: import, load, fill 10 rows", "-", _in_child(_child_baseline, str(model_dir), str(csv)))]
        for chunk in args.chunk_rows:
            res = _in_child(_child_stream, str(model_dir), str(csv), str(work / "out.csv"), chunk)
            if res["rows"] != args.rows:
                raise RuntimeError(f"the job wrote {res['rows']} rows for {args.rows}")
            runs.append(("impute_file, end to end", f"{chunk:,}", res))
            print(f"impute_file with chunks of {chunk:,} rows: {res['seconds']:.1f} s", flush=True)
        inv = _in_child(_child_invert, str(model_dir), str(csv))
        runs.append(("invert alone (pre-encoded, warm)", "whole table", inv))
        print(f"invert alone: {inv['seconds']:.1f} s", flush=True)
        ray_runs = _ray_runs(args, work, csv, model_dir, runs) if args.ray_workers else []
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    header = "| run | chunk rows | rows | wall s | rows/s | peak RSS MiB |"
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    for name, chunk, res in runs:
        rate = f"{res['rows'] / res['seconds']:,.0f}" if res["rows"] > 10 else "-"
        lines.append(f"| {name} | {chunk} | {res['rows']:,} | {res['seconds']:.1f} | {rate} | {res['peak_mib']:,.0f} |")
    table = "\n".join(lines)
    e2e = [res for name, _, res in runs if name.startswith("impute_file, end to end")]
    share = inv["seconds"] / min(r["seconds"] for r in e2e)
    print("\n" + table)
    report = [f"Synthetic numeric CSV: {args.rows:,} rows x {args.cols} columns ({size_mib:,.1f} MiB), "
          f"{args.missing:.0%} of cells missing (MCAR). Model: reverse training, MLP hidden [32], latent 4, "
          f"fitted for {args.epochs} epochs on the first {args.fit_rows:,} rows ({fit_s:.1f} s); "
          f"{args.steps} inversion steps per row, inversion batch 1024. "
          f"invimpute {invimpute.__version__}, JAX {jax.__version__} on {jax.devices()[0].platform} "
          f"({os.cpu_count()} CPU cores, {platform.machine()}). Each run is a fresh process; "
          f"`impute_file` timings include loading the model and JIT compilation, `invert alone` "
          f"excludes reading/encoding ({inv['prepare']:.1f} s) and compilation.\n", table]
    base = runs[0][2]
    steady = ", ".join(f"{r['rows'] / max(r['seconds'] - base['seconds'], 1e-9):,.0f}" for r in e2e)
    report.append(f"\nInversion is {share:.0%} of the fastest end-to-end run; the rest is the fixed start-up "
          f"(model load and first compilation, about the baseline's {base['seconds']:.1f} s) and reading, "
          f"detection, encoding, decoding, checks and writing. Less the baseline's start-up, the job runs "
          f"at about {steady} rows/s. Peak memory of the job grows with the chunk size above the "
          f"baseline's {base['peak_mib']:,.0f} MiB (JAX runtime and compiled programs); `invert alone` holds "
          f"the whole table in memory.")
    if ray_runs:
        report.append(f"\nRay engine: the rows split into {args.ray_parts} Parquet files, a local Ray cluster of "
                      f"{os.cpu_count()} CPUs (started in " + ", ".join(f"{r['init']:.1f}" for r in ray_runs)
                      + f" s, not counted), Ray Data blocks of {RAY_BLOCK_BYTES >> 20} MiB; with 2 workers each "
                      f"reserves half a CPU, leaving one for reading. The Ray runs include the driver's model "
                      f"check, starting the actors (import, model load, compilation) and counting the input "
                      f"rows; `one Ray worker's batches alone` is the per-batch work of an actor once warm "
                      f"(the batch through `impute_file` in its scratch folder), without Ray. A Ray run's peak RSS is "
                      f"its driver's.")
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        from invimpute.runtime.files import write_atomic

        write_atomic(args.out, text)


if __name__ == "__main__":
    main()
