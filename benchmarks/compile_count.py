"""How many XLA programs a first ``Imputer().fit_transform`` compiles, and for how long (issue 28).

A fresh process with the persistent compilation cache off, so every program the fit needs is compiled:
JAX's compile log is counted per program name. Fewer, larger programs mean less compile time in a first
call and fewer cache entries to load in a warm fresh process.

    python benchmarks/compile_count.py diabetes
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import re
import time

os.environ["INVIMPUTE_COMPILE_CACHE"] = "off"

import jax  # noqa: E402


class _Compiles(logging.Handler):
    """Collects (program, seconds) from JAX's "Finished XLA compilation of ... in ... sec" records."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"Finished XLA compilation of (.*?) in ([0-9.e-]+) sec", record.getMessage())
        if found:
            self.records.append((found.group(1), float(found.group(2))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=["diabetes", "breast"], help="a small table (scikit-learn's copy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=15, help="programs listed, by compile time")
    args = parser.parse_args()
    jax.config.update("jax_log_compiles", True)
    handler = _Compiles()
    logging.getLogger("jax").addHandler(handler)
    logging.getLogger("jax").setLevel(logging.DEBUG)
    from sklearn import datasets

    import invimpute as ii

    load = datasets.load_diabetes if args.table == "diabetes" else datasets.load_breast_cancer
    df = load(as_frame=True).frame
    damaged = ii.apply_mask(df, ii.mcar_mask(args.seed, df.shape, rate=0.2))
    start = time.perf_counter()
    ii.Imputer(seed=args.seed).fit_transform(damaged)
    seconds = time.perf_counter() - start
    total, count = collections.Counter(), collections.Counter()
    for name, s in handler.records:
        total[name] += s
        count[name] += 1
    print(f"{args.table} {df.shape}: first fit + transform {seconds:.1f} s, {len(handler.records)} programs "
          f"compiled in {sum(total.values()):.1f} s")
    for name, s in total.most_common(args.top):
        print(f"{s:7.2f} s  {count[name]:3d} x  {name}")


if __name__ == "__main__":
    main()
