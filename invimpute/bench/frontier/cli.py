"""``invimpute bench --protocol frontier``: the bench's arguments read as a frontier request, run, reported."""

from __future__ import annotations

import argparse
import pathlib
import sys

from invimpute.bench.frontier.protocol import MECHANISMS
from invimpute.bench.frontier.report import write_frontier_report
from invimpute.bench.frontier.runner import (
    DEFAULT_METHODS, DEFAULT_OUT, DEFAULT_REPORT, DEFAULT_SEEDS, FrontierConfig, run_frontier, validate,
)
from invimpute.bench.frontier.tables import MAX_ROWS, TABLES
from invimpute.bench.presets import resolve_specs


def _split(values: list[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``."""
    return None if values is None else [v for item in values for v in item.split(",") if v]


def frontier_config(args: argparse.Namespace, overrides: object = None, command: str | None = None) -> FrontierConfig:
    """The :class:`FrontierConfig` of ``invimpute bench``'s parsed arguments (``--rates`` is fixed at 30%,
    ``--max-rows`` defaults to 10,000, ``--out`` to ``benchmarks/results/frontier.jsonl``)."""
    if args.rates and [float(r) for r in _split(args.rates)] != [0.3]:
        raise ValueError("the frontier protocol's missing rate is 30%; leave --rates out")
    methods = _split(args.methods) or list(DEFAULT_METHODS)
    specs = resolve_specs(methods, None, args.epochs_override, overrides)
    config = FrontierConfig(
        datasets=tuple(dict.fromkeys(_split(args.datasets) or list(TABLES))),
        mechanisms=tuple(dict.fromkeys(_split(args.mechanisms) or list(MECHANISMS))),
        seeds=tuple(dict.fromkeys(int(s) for s in (_split(args.seeds) or DEFAULT_SEEDS))),
        methods=tuple(dict.fromkeys(methods)), specs=specs, out=pathlib.Path(args.out or DEFAULT_OUT),
        max_rows=args.max_rows or MAX_ROWS, data_home=args.data_home, retry=args.retry, command=command,
    )
    validate(config)
    return config


def frontier_main(args: argparse.Namespace, overrides: object = None, command: str | None = None) -> int:
    """Run (unless ``--report-only``) and report (with ``--report``) a frontier request; 2 on a bad request."""
    try:
        config = frontier_config(args, overrides, command)
        if not args.report_only:
            run_frontier(config)
        if args.report or args.report_only:
            md = pathlib.Path(args.report or DEFAULT_REPORT)
            write_frontier_report(config.out, md, figures_dir=args.figures)
            print(f"report written to {md}", file=sys.stderr)
    except ValueError as exc:
        print(f"invimpute bench --protocol frontier: error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = ["frontier_config", "frontier_main"]
