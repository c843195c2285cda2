"""``invimpute bench``'s command line: the arguments, the request they make, and ``main``."""

from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from invimpute.bench.grid import (
    CATEGORICAL_DATASETS, DATASETS, DEFAULT_FIGURES, DEFAULT_OUT, DEFAULT_RATES, DEFAULT_REPORT, DEFAULT_SEEDS,
    MECHANISMS, QUICK_OUT, BenchConfig, BenchError, validate,
)
from invimpute.bench.presets import (
    DEFAULT_METHODS, PRESETS, QUICK_DATASETS, QUICK_METHODS, QUICK_OVERRIDES, resolve_specs,
)
from invimpute.bench.frontier.cli import frontier_main
from invimpute.bench.report import write_report
from invimpute.bench.runner import run


def _split(values: Sequence[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (the grid options take spaces or commas)."""
    if values is None:
        return None
    return [v for item in values for v in item.split(",") if v]


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``invimpute bench`` (also what ``--help`` prints)."""
    parser = argparse.ArgumentParser(
        prog="invimpute bench",
        description="Run imputers on the standard tables over a grid of missingness mechanisms, rates and "
                    "seeds; append the scores to a JSON-lines results file (resumable); write a markdown "
                    "report and figures from it.",
        epilog=f"datasets: {', '.join(DATASETS)}. methods: {', '.join(PRESETS)}. "
               f"Grid options take several values, separated by spaces or commas.",
    )
    grid = parser.add_argument_group("grid")
    grid.add_argument("--protocol", choices=("standard", "frontier"), default="standard",
                      help="standard: the GAIN tables over rates, the whole table damaged; frontier: the protocol of "
                           "ReMasker, DiffPuter and CACTI (their tables, 80/20 split scored in- and out-of-sample, "
                           "HyperImpute's MCAR/MAR/MNAR at 30%%, at most 10,000 rows, seeds 0 1 2; results in "
                           "benchmarks/results/frontier.jsonl)")
    grid.add_argument("--datasets", nargs="+", metavar="NAME", help=f"default: all ({', '.join(DATASETS)})")
    grid.add_argument("--mechanisms", nargs="+", metavar="NAME", help="mcar, mar, mnar (default: all)")
    grid.add_argument("--rates", nargs="+", metavar="RATE",
                      help=f"missing rates (default: {' '.join(map(str, DEFAULT_RATES))})")
    grid.add_argument("--seeds", nargs="+", metavar="SEED",
                      help=f"seeds (default: {' '.join(map(str, DEFAULT_SEEDS))})")
    grid.add_argument("--methods", nargs="+", metavar="NAME", help=f"presets (default: {', '.join(DEFAULT_METHODS)})")
    grid.add_argument("--max-rows", type=int, metavar="N", help="keep N rows of each table (a fixed random subset)")
    grid.add_argument("--quick", action="store_true",
                      help=f"a few-minute check: {' and '.join(QUICK_DATASETS)}, MCAR 20%%, seed 0, fast methods, "
                           f"tiny-epoch neural presets (other grid options still apply); results go to {QUICK_OUT}")
    tune = parser.add_argument_group("presets")
    tune.add_argument("--epochs-override", type=int, metavar="N",
                      help="train every neural preset for N epochs (replaces its step budget)")
    tune.add_argument("--uncertainty", action="store_true",
                      help="also fit each neural preset with calibrate=True and record the calibration of its "
                           "beliefs: ece, brier, selective_acc_25/50/75/90 (categorical tables), coverage90 (numeric)")
    tune.add_argument("--preset-overrides", metavar="JSON",
                      help='a JSON object (or a path to a JSON file) {"method": {"argument": value}}; '
                           "method_options, inversion and options merge with the preset's")
    files = parser.add_argument_group("files")
    files.add_argument("--out", metavar="PATH", help=f"results file, appended to (default: {DEFAULT_OUT})")
    files.add_argument("--data-home", metavar="DIR", help="data folder (default: $INVIMPUTE_DATA or ~/.invimpute/data)")
    files.add_argument("--retry", action="store_true", help="rerun cells recorded as errors or skips")
    files.add_argument("--report", nargs="?", const=DEFAULT_REPORT, metavar="MD",
                       help=f"write the markdown report after the run (default path: {DEFAULT_REPORT})")
    files.add_argument("--figures", default=DEFAULT_FIGURES, metavar="DIR",
                       help=f"folder of the report's PNG figures (default: {DEFAULT_FIGURES})")
    files.add_argument("--report-only", action="store_true", help="write the report from the results file, run nothing")
    files.add_argument("--list", action="store_true", help="print the data sets and method presets, then exit")
    return parser


def _load_overrides(text: str) -> Any:
    """``--preset-overrides``: inline JSON, or the path of a JSON file."""
    candidate = pathlib.Path(text)
    if not text.lstrip().startswith("{") and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"--preset-overrides is not valid JSON (nor a JSON file): {exc}") from exc


def config_from_args(args: argparse.Namespace, command: str | None = None) -> BenchConfig:
    """The :class:`~invimpute.bench.grid.BenchConfig` of parsed arguments (``--quick`` fills the axes it was
    not given)."""
    quick = args.quick
    datasets = _split(args.datasets) or list(QUICK_DATASETS if quick else DATASETS)
    mechanisms = _split(args.mechanisms) or (["mcar"] if quick else list(MECHANISMS))
    methods = _split(args.methods) or list(QUICK_METHODS if quick else DEFAULT_METHODS)
    try:
        rates = [float(r) for r in _split(args.rates) or ([0.2] if quick else DEFAULT_RATES)]
        seeds = [int(s) for s in _split(args.seeds) or ([0] if quick else DEFAULT_SEEDS)]
    except ValueError as exc:
        raise BenchError(f"--rates takes numbers and --seeds integers: {exc}") from exc
    user = _load_overrides(args.preset_overrides) if args.preset_overrides else None
    specs = resolve_specs(methods, QUICK_OVERRIDES if quick else None, args.epochs_override, user)
    config = BenchConfig(
        datasets=tuple(dict.fromkeys(datasets)), mechanisms=tuple(dict.fromkeys(mechanisms)),
        rates=tuple(dict.fromkeys(rates)), seeds=tuple(dict.fromkeys(seeds)), methods=tuple(dict.fromkeys(methods)),
        out=pathlib.Path(args.out or (QUICK_OUT if quick else DEFAULT_OUT)), specs=specs, max_rows=args.max_rows,
        data_home=args.data_home, retry=args.retry, command=command, uncertainty=args.uncertainty,
    )
    validate(config)
    return config


def listing() -> str:
    """What ``--list`` prints: the data sets, mechanisms and every preset."""
    lines = ["datasets: " + ", ".join(DATASETS) + f" (categorical: {', '.join(CATEGORICAL_DATASETS)})",
             "mechanisms: " + ", ".join(MECHANISMS), "methods:"]
    lines += [f"  {name:22s} {json.dumps(spec, sort_keys=True)}" for name, spec in PRESETS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``invimpute bench``: parse ``argv`` (default ``sys.argv[1:]``), run the grid and/or write the report.

    Returns 0 on success (failing methods are results, recorded in the file) and 2 for a bad request
    (unknown data set, method, mechanism or override), after printing one error line.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.list:
        print(listing())
        return 0
    if args.protocol == "frontier":
        try:
            overrides = _load_overrides(args.preset_overrides) if args.preset_overrides else None
        except BenchError as exc:
            print(f"invimpute bench: error: {exc}", file=sys.stderr)
            return 2
        return frontier_main(args, overrides, command="invimpute bench " + shlex.join(argv))
    try:
        config = config_from_args(args, command="invimpute bench " + shlex.join(argv))
        if not args.report_only:
            run(config)
        if args.report or args.report_only:
            md = pathlib.Path(args.report or DEFAULT_REPORT)
            write_report(config.out, md, args.figures)
            print(f"report written to {md} (figures in {args.figures})", file=sys.stderr)
    except BenchError as exc:
        print(f"invimpute bench: error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = ["build_parser", "config_from_args", "listing", "main"]


if __name__ == "__main__":
    sys.exit(main())
