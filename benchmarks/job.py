"""Throughput and memory of the streaming imputation job (:func:`invimpute.job.impute_file`).

Builds a synthetic numeric CSV (default 2,000,000 rows x 8 columns driven by two latent factors, 20% of
cells missing completely at random), fits a small reverse-training imputer on a sample of it, and then
measures, each in a fresh process so that peak memory (``ru_maxrss``) belongs to that run alone:

* ``baseline``: import, load the model, fill ten rows (the JAX runtime and one compile);
* ``impute_file``: the whole job end to end (load the model, read, encode, invert, decode, check, write
  the parts, join them), once per ``--chunk-rows`` value;
* ``invert alone``: :func:`invimpute.invert` on the same rows, read and encoded beforehand and compiled
  by a warm-up call, so only the inversion is timed; this run holds the whole table in memory.

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
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    header = "| run | chunk rows | rows | wall s | rows/s | peak RSS MiB |"
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    for name, chunk, res in runs:
        rate = f"{res['rows'] / res['seconds']:,.0f}" if res["rows"] > 10 else "-"
        lines.append(f"| {name} | {chunk} | {res['rows']:,} | {res['seconds']:.1f} | {rate} | {res['peak_mib']:,.0f} |")
    table = "\n".join(lines)
    e2e = [res for name, _, res in runs if name.startswith("impute_file")]
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
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        from invimpute.files import write_atomic

        write_atomic(args.out, text)


if __name__ == "__main__":
    main()
