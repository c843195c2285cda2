"""What one benchmark request is: the grid's axes, their valid values, and the error a bad request raises."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping
from typing import Any

DATASETS: tuple[str, ...] = ("wine", "breast", "breast_diagnostic", "spam", "letter", "credit", "mushroom")
"""Every data set the suite knows: the numeric UCI tables of the GAIN benchmarks and the Mushroom table."""

CATEGORICAL_DATASETS: tuple[str, ...] = ("mushroom",)
"""Data sets scored by accuracy (all others by scaled RMSE and MAE)."""

MECHANISMS: tuple[str, ...] = ("mcar", "mar", "mnar")
DEFAULT_RATES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)

DEFAULT_OUT = "benchmarks/results/bench.jsonl"
QUICK_OUT = "benchmarks/results/bench_quick.jsonl"
DEFAULT_REPORT = "benchmarks/RESULTS_bench.md"
DEFAULT_FIGURES = "benchmarks/figures"


class BenchError(ValueError):
    """A bad benchmark request (unknown data set, method, mechanism, override); the message lists valid values."""


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """One benchmark request: the grid, where the results go, and the method presets after overrides."""

    datasets: tuple[str, ...]
    mechanisms: tuple[str, ...]
    rates: tuple[float, ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    out: pathlib.Path
    specs: Mapping[str, Mapping[str, Any]]
    max_rows: int | None = None
    data_home: str | None = None
    retry: bool = False
    command: str | None = None
    uncertainty: bool = False


def validate(config: BenchConfig) -> None:
    """Raise :class:`BenchError` for an unknown name or an empty or out-of-range grid axis."""
    bad = [d for d in config.datasets if d not in DATASETS]
    if bad:
        raise BenchError(f"unknown dataset(s) {bad}; valid datasets: {', '.join(DATASETS)}")
    bad = [m for m in config.mechanisms if m not in MECHANISMS]
    if bad:
        raise BenchError(f"unknown mechanism(s) {bad}; valid mechanisms: {', '.join(MECHANISMS)}")
    bad = [m for m in config.methods if m not in config.specs]
    if bad:
        raise BenchError(f"unknown method(s) {bad}; valid methods: {', '.join(config.specs)}")
    bad_rates = [r for r in config.rates if not 0.0 < r < 1.0]
    if bad_rates:
        raise BenchError(f"missing rates must be in (0, 1), got {bad_rates}")
    if config.max_rows is not None and config.max_rows < 10:
        raise BenchError(f"--max-rows must be at least 10, got {config.max_rows}")
    for name in (config.datasets, config.mechanisms, config.rates, config.seeds, config.methods):
        if not name:
            raise BenchError("every grid axis (datasets, mechanisms, rates, seeds, methods) needs a value")


__all__ = [
    "DATASETS", "CATEGORICAL_DATASETS", "MECHANISMS", "DEFAULT_RATES", "DEFAULT_SEEDS", "DEFAULT_OUT", "QUICK_OUT",
    "DEFAULT_REPORT", "DEFAULT_FIGURES", "BenchError", "BenchConfig", "validate",
]
