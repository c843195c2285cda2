"""The default training budget's constants tried on development masks: ``invimpute bench`` run with
``MIN_STEPS``, ``BUDGET_EPOCHS`` or ``MAX_STEPS`` of :mod:`invimpute.training.config` set for this
process only (how the floor of :data:`~invimpute.training.config.MIN_STEPS` was chosen; results in
``benchmarks/results/speed_budget_dev.md``). Every argument after the settings is passed to the bench.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/budget_dev.py --set MIN_STEPS=500 -- \\
        --datasets wine breast breast_diagnostic --mechanisms mcar --rates 0.2 --seeds 3 4 5 6 \\
        --methods auto --out /tmp/min500.jsonl

Use development seeds only (3-6); the published figures use seeds 0-2.
"""

from __future__ import annotations

import argparse
import sys

import invimpute.training.config as budget

KNOBS = ("MIN_STEPS", "BUDGET_EPOCHS", "MAX_STEPS", "FLOOR_EPOCHS", "LEAST_STEPS", "MAX_BATCH", "BATCH_STEPS")


def apply(settings: list[str]) -> None:
    """Set each ``NAME=INTEGER`` of ``settings`` on :mod:`invimpute.training.config` (:data:`KNOBS` only)."""
    for item in settings:
        name, _, value = item.partition("=")
        if name not in KNOBS or not value.isdigit():
            raise SystemExit(f"--set takes NAME=INTEGER with NAME among {KNOBS}, got {item!r}")
        setattr(budget, name, int(value))
        print(f"{name} = {int(value)}", file=sys.stderr)


def main() -> int:
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=INTEGER")
    apply(parser.parse_args(argv[:cut]).set)
    from invimpute.bench.cli import main as bench

    return bench(argv[cut + 1:])


if __name__ == "__main__":
    sys.exit(main())
