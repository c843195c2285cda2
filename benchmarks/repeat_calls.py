"""Seconds of repeated ``Imputer().fit_transform`` calls on one latency table in one process, after a first
call that compiles (issue 28): the figure to pair across two versions of the library, alternating
processes, so that a drifting machine does not decide the comparison.

    git worktree add /tmp/base <commit>
    for i in 1 2 3; do for P in /tmp/base .; do PYTHONPATH=$P python benchmarks/repeat_calls.py credit --calls 2; done; done
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import latency  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=latency.TABLES)
    parser.add_argument("--calls", type=int, default=2, help="timed calls after the first")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import invimpute

    truth = latency.load(args.table)
    damaged, _ = latency.damage(truth, args.seed)
    invimpute.Imputer(seed=args.seed).fit_transform(damaged)
    seconds = []
    for _ in range(args.calls):
        start = time.perf_counter()
        invimpute.Imputer(seed=args.seed).fit_transform(damaged)
        seconds.append(time.perf_counter() - start)
    print(args.table, invimpute.__file__, " ".join(f"{s:.2f}" for s in seconds), flush=True)


if __name__ == "__main__":
    main()
