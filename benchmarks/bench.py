"""The benchmark suite as a script: ``python benchmarks/bench.py [options]`` is ``invimpute bench [options]``.

Every imputer on the standard tables over a grid of missingness mechanisms, rates and seeds, appended to
a resumable JSON-lines results file; ``--report`` writes ``benchmarks/RESULTS_bench.md`` and the figures
under ``benchmarks/figures/`` from that file. See :mod:`invimpute.bench` and its modules (presets, masks,
runner, scoring, results, report) for how cells are run and scored.

    python benchmarks/bench.py --quick --report
    python benchmarks/bench.py --datasets wine breast --mechanisms mcar --rates 0.2 --seeds 0 1 --report
"""

from __future__ import annotations

import sys

from invimpute.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
