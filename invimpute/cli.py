"""The ``invimpute`` command line: fit a model, impute a file in resumable chunks, run a demo or the benchmarks.

``invimpute fit DATA --out MODEL_DIR`` trains an Imputer on a CSV, Parquet or ``.npy`` file and saves it
(:mod:`invimpute.checkpoint.store`); ``invimpute impute DATA --model MODEL_DIR --out OUTPUT`` fills a file of
any size chunk by chunk (:func:`invimpute.job.impute_file`), resuming where an interrupted run stopped;
with ``--engine ray`` it fills Parquet or CSV files on a Ray cluster into a folder of Parquet parts
(:mod:`invimpute.distributed`); ``invimpute demo`` compares mean fill, one autoencoder pass and reverse
training on 8x8 digits with pixel rows removed; ``invimpute bench`` runs :mod:`invimpute.bench` when it is installed. Expected failures
(bad input, missing files, an existing output) print one ``invimpute: error: ...`` line and exit 1.
``fit``, ``impute`` and ``demo`` keep compiled programs in JAX's persistent compilation cache
(:mod:`invimpute.runtime.compile_cache`; ``--compile-cache off`` or ``INVIMPUTE_COMPILE_CACHE=off`` to skip it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pathlib
import sys
import time
from collections.abc import Sequence

import numpy as np

from invimpute import checkpoint

from invimpute.runtime import compile_cache
from invimpute.job import JobError, impute_file, read_table

EXPECTED_ERRORS = (ValueError, TypeError, OSError, ImportError, FloatingPointError, MemoryError, JobError)
DEMO_PARAMS = {
    "model": {"architecture": "mlp", "hidden": [256], "latent": 32, "dropout": 0.0, "mask_input": False},
    "train": {"corruption": 0.3, "corruption_by": "cell", "target": "observed", "epochs": 60, "batch_size": 64,
              "learning_rate": 3e-3, "schedule": "constant", "weight_decay": 0.0, "validation_fraction": 0.0},
    "inversion": {"steps": 100, "learning_rate": 0.1, "batch_size": 512},
}
"""The demo's small denoising autoencoder: one 256-unit layer each side of a 32-unit bottleneck."""
ENGINES = ("local", "ray")
RAY_ONLY = ("address", "workers", "gpus_per_worker", "cpus_per_worker", "batch_rows")
"""Options of ``impute`` that only the Ray engine takes."""
MNIST_EPOCHS = 10
"""Default epochs of ``demo --mnist``, whose 784-pixel images cost far more per epoch than 8x8 digits."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (also what ``--help`` prints)."""
    from invimpute import __version__

    parser = argparse.ArgumentParser(
        prog="invimpute",
        description="Missing-data imputation by gradient-based input inversion (JAX).",
    )
    parser.add_argument("--version", action="version", version=f"invimpute {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_fit(sub)
    _add_impute(sub)
    _add_demo(sub)
    sub.add_parser("bench", help="run the benchmarks (invimpute.bench), passing on every argument",
                   description="Run invimpute.bench's main with the remaining arguments.", add_help=True)
    return parser


def _add_fit(sub) -> None:
    fit = sub.add_parser("fit", help="train an imputer on a data file and save it",
                         description="Train an Imputer on DATA (.csv, .parquet or .npy) and save it to MODEL_DIR.")
    fit.add_argument("data", metavar="DATA", help="training data with missing cells (.csv, .parquet or .npy)")
    fit.add_argument("--out", required=True, metavar="MODEL_DIR", help="directory to save the fitted model to")
    fit.add_argument("--method", choices=checkpoint.SUPPORTED, help="imputation method (default: auto)")
    fit.add_argument("--steps", type=int, help="training budget in optimiser steps (default: sized from the table)")
    fit.add_argument("--epochs", type=int, help="training budget in epochs instead of steps")
    fit.add_argument("--seed", type=int, help="seed of every random draw")
    fit.add_argument("--config", metavar="JSON",
                     help="Imputer parameters as a JSON object, or a path to a JSON file; "
                          "--method/--steps/--epochs/--seed take precedence")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    fit.add_argument("--no-progress", action="store_true", help="do not show progress bars")
    _cache_flag(fit)


def _add_impute(sub) -> None:
    imp = sub.add_parser("impute", help="fill a file of any size with a saved model, in resumable chunks",
                         description="Fill every missing cell of DATA with the model in MODEL_DIR and write OUTPUT. "
                                     "Run the same command again after an interruption to resume. With --engine ray, "
                                     "DATA may be Parquet/CSV files or a folder of Parquet files, and OUTPUT is a "
                                     "folder of Parquet parts filled by a pool of Ray workers.")
    imp.add_argument("data", metavar="DATA", help="input file (.csv, .parquet or .npy); with --engine ray also a folder")
    imp.add_argument("--model", required=True, metavar="MODEL_DIR", help="a model saved by `invimpute fit`")
    imp.add_argument("--out", required=True, metavar="OUTPUT",
                     help="output file (.csv or .parquet for tables, .npy for arrays); with --engine ray a folder")
    imp.add_argument("--chunk-rows", type=int, default=100_000, metavar="N", help="rows per chunk (default: 100000)")
    imp.add_argument("--overwrite", action="store_true", help="replace an existing output once the new one is complete")
    imp.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    _cache_flag(imp)
    ray = imp.add_argument_group("Ray engine (pip install 'invimpute[distributed]')")
    ray.add_argument("--engine", choices=ENGINES, default="local",
                     help="local: one process, resumable chunks (default); ray: a pool of workers on a Ray cluster")
    ray.add_argument("--address", metavar="ADDR",
                     help="the Ray cluster to join (e.g. auto, or host:6379); default: $RAY_ADDRESS, else a local one")
    ray.add_argument("--workers", type=int, metavar="N", help="workers, each holding the model once (default: 1)")
    ray.add_argument("--gpus-per-worker", type=float, metavar="G", help="GPUs per worker (default: 0)")
    ray.add_argument("--cpus-per-worker", type=float, metavar="C", help="CPUs per worker (default: 1)")
    ray.add_argument("--batch-rows", type=int, metavar="N", help="rows per worker batch (default: 16 inversion chunks)")


def _add_demo(sub) -> None:
    demo = sub.add_parser("demo", help="mean fill vs one autoencoder pass vs reverse training on digits",
                          description="Remove 3 of 8 pixel rows from scikit-learn's 8x8 digits (or 10 of 28 from "
                                      "MNIST with --mnist), train on the damaged training images, and score the "
                                      "fills of held-out images by binarised pixel accuracy.")
    demo.add_argument("--mnist", action="store_true", help="use MNIST test images from the data home instead")
    demo.add_argument("--data-home", metavar="DIR", help="data folder holding mnist/ (default: $INVIMPUTE_DATA)")
    demo.add_argument("--epochs", type=int, default=None,
                      help=f"training epochs (default: {DEMO_PARAMS['train']['epochs']}, {MNIST_EPOCHS} with --mnist)")
    demo.add_argument("--seed", type=int, default=0, help="seed of every random draw (default: 0)")
    demo.add_argument("--no-progress", action="store_true", help="do not show progress bars")
    _cache_flag(demo)


def _cache_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compile-cache", metavar="on|off|DIR",
                        help="JAX's persistent compilation cache: on (the per-user cache folder, ~/.cache/invimpute/jax on Linux), off, or a folder "
                             "(default: $INVIMPUTE_COMPILE_CACHE, else on)")


# ---- fit ---------------------------------------------------------------------------------------------
def _config(value: str | None) -> dict:
    if value is None:
        return {}
    text = value
    if not value.lstrip().startswith("{"):
        path = pathlib.Path(value)
        if not path.is_file():
            raise ValueError(f"--config: {value!r} is neither a JSON object nor an existing JSON file")
        text = path.read_text()
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--config: not valid JSON ({exc})") from exc
    if not isinstance(params, dict):
        raise ValueError(f"--config: expected a JSON object of Imputer parameters, got {type(params).__name__}")
    return params


def _cmd_fit(args: argparse.Namespace) -> int:
    from invimpute import Imputer

    params = _config(args.config)
    for name, param in (("method", "method"), ("steps", "train__steps"), ("epochs", "train__epochs"), ("seed", "seed")):
        if getattr(args, name) is not None:
            params[param] = getattr(args, name)
    params.setdefault("method", "auto")
    checkpoint.check_supported(params["method"])
    out = pathlib.Path(args.out)
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
    imputer = Imputer().set_params(**params)
    imputer.set_params(progress=not args.no_progress)
    data = read_table(args.data)
    start = time.perf_counter()
    imputer.fit(data)
    seconds = time.perf_counter() - start
    imputer.set_params(progress=False)
    checkpoint.save(imputer, out, overwrite=args.overwrite)
    shape = data.shape
    print(f"fitted method {imputer.method!r} on {shape[0]:,} rows x {int(np.prod(shape[1:])):,} columns "
          f"in {seconds:.1f} s; saved to {out}")
    _print_columns(imputer.report_)
    if imputer.selection_ is not None:
        print("\nper-column choice on held-out observed cells (mean squared error per cell, encoded units):")
        print(imputer.selection_.to_string(float_format=lambda v: f"{v:.4g}"))
    return 0


def _print_columns(report) -> None:
    """Each column's treatment (what it holds, what was done) and every judged missing-value token."""
    if report is None or "treatment" not in report:
        return
    print("\ncolumns (override with --config '{\"encoding\": {\"columns\": {name: treatment}}}'):")
    shown = [c for c in ("found", "treatment", "n_missing", "detail") if c in report]
    print(report[shown].to_string())
    for name, said in report.get("tokens", {}).items():
        if said:
            print(f"  {name}: {said}")


# ---- impute ------------------------------------------------------------------------------------------
def _cmd_impute(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return _cmd_impute_ray(args)
    given = [f"--{name.replace('_', '-')}" for name in RAY_ONLY if getattr(args, name) is not None]
    if given:
        raise ValueError(f"{', '.join(given)} apply to the Ray engine only; add --engine ray")
    summary = impute_file(args.model, args.data, args.out, chunk_rows=args.chunk_rows,
                          overwrite=args.overwrite, progress=not args.no_progress)
    resumed = f", {summary.chunks_resumed} resumed" if summary.chunks_resumed else ""
    print(f"imputed {summary.cells_imputed:,} cells in {summary.rows:,} rows ({summary.chunks} chunks{resumed}) "
          f"in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s) -> {summary.output}")
    return 0


def _cmd_impute_ray(args: argparse.Namespace) -> int:
    from invimpute import distributed

    distributed.require_ray()
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = not args.no_progress
    options = {name: getattr(args, name) for name in RAY_ONLY if name != "address" and getattr(args, name) is not None}
    summary = distributed.impute_to_parquet(args.data, args.model, args.out, overwrite=args.overwrite,
                                            address=args.address, compile_cache_setting=args.compile_cache, **options)
    print(f"imputed {summary.rows:,} rows into {summary.parts} Parquet parts in {summary.seconds:.1f} s "
          f"({summary.rows_per_second:,.0f} rows/s) -> {summary.output}")
    return 0


# ---- demo --------------------------------------------------------------------------------------------
def _demo_images(args: argparse.Namespace) -> tuple[np.ndarray, int, str]:
    from invimpute import datasets

    if args.mnist:
        images, _ = datasets.load_mnist(data_home=args.data_home, split="test", download=False)
        return images.astype(np.float32) / np.float32(255.0), 10, "MNIST test images (28x28), 10 of 28 rows removed"
    images, _ = datasets.load_digits_table()
    return images, 3, "scikit-learn digits (8x8), 3 of 8 rows removed"


def _cmd_demo(args: argparse.Namespace) -> int:
    from invimpute import Imputer, row_mask
    from invimpute.scoring import metrics

    images, n_remove, what = _demo_images(args)
    n, h, w = images.shape
    order = np.random.default_rng(args.seed).permutation(n)
    n_train = int(0.8 * n)
    missing = row_mask(args.seed + 1, n, h, w, n_remove)
    damaged = np.where(missing, np.nan, images).astype(np.float32)
    train, test = order[:n_train], order[n_train:]
    print(f"demo: {what}; training on {n_train:,} damaged images, scoring {n - n_train:,} held-out images")
    params = dict(DEMO_PARAMS, seed=args.seed, progress=not args.no_progress)
    if args.epochs is not None or args.mnist:
        params["train"] = dict(params["train"], epochs=args.epochs if args.epochs is not None else MNIST_EPOCHS)
    rows = []
    for label, method in (("mean fill", "mean"), ("autoencoder, one pass", "ae"), ("reverse training", "reverse")):
        start = time.perf_counter()
        filled = Imputer(method, **params).fit(damaged[train]).transform(damaged[test])
        seconds = time.perf_counter() - start
        rows.append((label, metrics.binarized_accuracy(images[test], filled, missing[test]),
                     metrics.binarized_accuracy(images[test], filled), seconds))
    print(f"\n{'method':<24} {'missing pixels':>15} {'whole images':>13} {'seconds':>8}")
    for label, acc_missing, acc_whole, seconds in rows:
        print(f"{label:<24} {acc_missing:>15.4f} {acc_whole:>13.4f} {seconds:>8.1f}")
    print("\nbinarised pixel accuracy (intensities rounded at 0.5) over the removed pixels and over whole images")
    return 0


# ---- bench -------------------------------------------------------------------------------------------
def _cmd_bench(argv: list[str], parser: argparse.ArgumentParser) -> int:
    try:
        bench = importlib.import_module("invimpute.bench")
    except ModuleNotFoundError as exc:
        if exc.name != "invimpute.bench":
            raise
        if any(a in ("-h", "--help") for a in argv):
            parser.parse_args(["bench", "--help"])
        print("invimpute: error: the benchmarks (module invimpute.bench) are not installed in this version",
              file=sys.stderr)
        return 2
    result = bench.main(argv)
    return int(result or 0)


# ---- entry point -------------------------------------------------------------------------------------
def _one_line(exc: BaseException) -> str:
    """The error's message on one line (its type name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``invimpute`` command with ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("invimpute: %(message)s"))
    logger = logging.getLogger("invimpute")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        if argv and argv[0] == "bench":
            return _cmd_bench(argv[1:], parser)
        args = parser.parse_args(argv)
        compile_cache.enable(args.compile_cache)
        command = {"fit": _cmd_fit, "impute": _cmd_impute, "demo": _cmd_demo}[args.command]
        return command(args)
    except KeyboardInterrupt:
        print("invimpute: interrupted", file=sys.stderr)
        return 130
    except EXPECTED_ERRORS as exc:
        print(f"invimpute: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


if __name__ == "__main__":
    sys.exit(main())
