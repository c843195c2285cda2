"""Where the default's time goes: ``Imputer().fit_transform`` timed per stage of ``auto`` (each candidate's
fit, impute and refit, the network's warm refit; wall and CPU seconds, whose ratio says how many cores a stage keeps busy), on the latency benchmark's table and mask (20% MCAR).
The first call compiles; read the later ones. Constants of :mod:`invimpute.training.config` or
:mod:`invimpute.methods.auto` can be set for this process (``--set MAX_BATCH=128``), as in
``benchmarks/budget_dev.py``.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/profile_auto.py letter --reps 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import budget_dev  # noqa: E402
import latency  # noqa: E402

from invimpute.methods import auto as A  # noqa: E402
from invimpute.methods import registry as R  # noqa: E402
from invimpute.peers import baselines, boosting, gaussian, neighbours  # noqa: E402

TIMES: dict[str, float] = {}
CPU: dict[str, float] = {}


def timed(name: str, fn):
    """``fn`` with its wall time added to ``TIMES[name]``."""
    def wrap(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] = TIMES.get(name, 0.0) + time.perf_counter() - start
            CPU[name] = CPU.get(name, 0.0) + time.process_time() - cpu
    return wrap


def instrument() -> None:
    """Wrap auto's stages with timers (this process only)."""
    fit_candidate = A.Auto._fit_candidate

    def candidate(self, name, X, observed, layout, key, what="fit"):
        return timed(f"{what} {name}", fit_candidate)(self, name, X, observed, layout, key, what)

    A.Auto._fit_candidate = candidate
    for cls, method in [(R.Autoencoding, "warm_refit"), (A.InvertedFill, "impute"), (R.Autoencoding, "impute"),
                        (neighbours.NearestNeighbours, "impute"), (gaussian.GaussianEM, "impute"),
                        (gaussian.GaussianEM, "warm_refit"), (baselines.MeanMode, "impute"),
                        (boosting.BoostedTrees, "impute"),
                        (A.Auto, "fit"), (A.Auto, "impute")]:
        setattr(cls, method, timed(f"{cls.__name__}.{method}", getattr(cls, method)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=latency.TABLES)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=NUMBER")
    args = parser.parse_args()
    budget_dev.apply(args.set)
    instrument()
    import invimpute

    truth = latency.load(args.table)
    damaged, missing = latency.damage(truth, args.seed)
    print(f"{args.table} {truth.shape}, load average {os.getloadavg()[0]:.2f}")
    for rep in range(args.reps):
        TIMES.clear()
        CPU.clear()
        start = time.perf_counter()
        out = invimpute.Imputer(seed=args.seed).fit_transform(damaged)
        total = time.perf_counter() - start
        scores = latency.score(truth, out, missing)
        print(f"call {rep + 1}: {total:.2f} s, RMSE {scores['rmse']}, accuracy {scores['accuracy']}")
        for name, seconds in sorted(TIMES.items(), key=lambda kv: -kv[1]):
            print(f"    {name:32s} {seconds:7.2f} s  (CPU {CPU[name]:6.2f} s)")


if __name__ == "__main__":
    main()
