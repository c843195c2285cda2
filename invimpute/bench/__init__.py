"""The benchmark harness: every imputer on the standard tables, side by side, with the numbers published.

``invimpute bench`` runs a grid of data sets x missingness mechanisms x missing rates x seeds x methods
and appends one JSON line per (dataset, mechanism, rate, seed, method, metric) to a results file;
``invimpute bench --report`` turns that file, and nothing else, into a markdown report and PNG figures.
Measured numbers live in ``benchmarks/RESULTS.md``, never here.

The data flow, one module each:

- :mod:`~invimpute.bench.grid`: what a request is (data sets, mechanisms, rates, seeds, methods).
- :mod:`~invimpute.bench.presets`: the methods as plain data (Imputer keyword arguments or a peer's
  options), and the one function that turns a preset into the arguments of a fit.
- :mod:`~invimpute.bench.masks`: the complete tables and one mask per (dataset, mechanism, rate, seed),
  shared by every method of the cell.
- :mod:`~invimpute.bench.peers`: the peers run outside the Imputer (miceforest in process; HyperImpute
  in its own environment, through a subprocess, on the same masks).
- :mod:`~invimpute.bench.scoring`: the metrics over the removed cells.
- :mod:`~invimpute.bench.runner`: the grid walk, resumable, one record per metric.
- :mod:`~invimpute.bench.results`: the JSON-lines results file.
- :mod:`~invimpute.bench.report` and :mod:`~invimpute.bench.figures`: the report, from the file alone.
- :mod:`~invimpute.bench.cli`: the arguments and ``main``.
- :mod:`~invimpute.bench.frontier`: ``--protocol frontier``, the protocol of ReMasker, DiffPuter and CACTI
  (their tables, an 80/20 split scored in- and out-of-sample, HyperImpute's MCAR/MAR/MNAR at 30%).

Tables: numeric tables are given to every method as float64 (integer-valued columns are not rounded
afterwards, unlike the GAIN reference code's rounding step), so every method is scored on the same
continuous scale; ``mushroom`` is the 22-column table of study 1 (``stalk-root`` dropped); ``--max-rows N``
keeps N rows drawn once per data set.
"""

from invimpute.bench.cli import build_parser, config_from_args, main
from invimpute.bench.grid import BenchConfig, BenchError
from invimpute.bench.presets import PRESETS, resolve_specs
from invimpute.bench.report import write_report
from invimpute.bench.results import read_results, select_records
from invimpute.bench.runner import RunSummary, run

__all__ = [
    "main", "build_parser", "config_from_args", "BenchConfig", "BenchError", "PRESETS", "resolve_specs",
    "write_report", "read_results", "select_records", "RunSummary", "run",
]
