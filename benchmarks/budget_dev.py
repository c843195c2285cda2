"""The default's cost constants tried on development masks: ``invimpute bench`` run with constants of
:mod:`invimpute.training.config` (the budget, the batch), :mod:`invimpute.methods.auto` (hold-out
share and cells), :mod:`invimpute.methods.auto_trees` (where the trees are rich), :mod:`invimpute.peers.neighbours` (KNN donors) or :mod:`invimpute.config` (the default network's width) set for this process only (how the floor of
:data:`~invimpute.training.config.MIN_STEPS` and the batch of long tables were chosen; results in
``benchmarks/results/speed_budget_dev.md``). Every argument after the settings is passed to the bench.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/budget_dev.py --set MIN_STEPS=500 -- \\
        --datasets wine breast breast_diagnostic --mechanisms mcar --rates 0.2 --seeds 3 4 5 6 \\
        --methods auto --out /tmp/min500.jsonl

Use development seeds only (3-6); the published figures use seeds 0-2.
"""

from __future__ import annotations

import argparse
import sys

import invimpute.config as model_config
import invimpute.methods.auto as auto
import invimpute.methods.auto_trees as auto_trees
import invimpute.peers.neighbours as neighbours
import invimpute.training.config as budget

KNOBS = {**{k: budget for k in ("MIN_STEPS", "BUDGET_EPOCHS", "MAX_STEPS", "FLOOR_EPOCHS", "LEAST_STEPS",
                                 "MAX_BATCH", "BATCH_STEPS", "EVAL_ROWS")},
         **{k: auto for k in ("MIN_HOLDOUT", "MAX_HOLDOUT", "HOLDOUT_CELLS", "INVERSION_STEPS", "REFIT_TREES_HOLDOUT")},
         **{k: auto_trees for k in ("RICH_MIN_ROWS", "RICH_CELLS")},
         **{k: neighbours for k in ("KNN_DONORS", "KNN_WORK")},
         **{k: model_config for k in ("MIN_WIDTH", "MAX_WIDTH")}}


def apply(settings: list[str]) -> None:
    """Set each ``NAME=NUMBER`` of ``settings`` on its module (:data:`KNOBS` only), as the type it has."""
    for item in settings:
        name, _, value = item.partition("=")
        if name not in KNOBS:
            raise SystemExit(f"--set takes NAME=NUMBER with NAME among {sorted(KNOBS)}, got {item!r}")
        kind = type(getattr(KNOBS[name], name))
        try:
            setattr(KNOBS[name], name, kind(value))
        except ValueError:
            raise SystemExit(f"--set {name} needs a {kind.__name__}, got {value!r}") from None
        print(f"{name} = {value}", file=sys.stderr)


def main() -> int:
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=NUMBER")
    apply(parser.parse_args(argv[:cut]).set)
    from invimpute.bench.cli import main as bench

    return bench(argv[cut + 1:])


if __name__ == "__main__":
    sys.exit(main())
