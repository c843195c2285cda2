"""A development run of the frontier protocol, and the choice of ReMasker's CPU budget. Not the published benchmark.

Two parts, both resumable (JSON-lines records, a rerun does only what is missing):

1. ``--budget``: ReMasker's CPU step budget, chosen on one development table (``obesity``, MCAR 30%,
   seed 0, 2,000 rows): the ``remasker-cpu`` network (the small end of the published settings: embedding
   32, encoder depth 4, decoder depth 2, mask ratio 0.5, batch 64) trained for each of ``--steps`` AdamW
   steps; in- and out-of-sample z-scored RMSE and seconds per step count go to the report, and the
   budget is the smallest step count within 1% of the best in-sample error.
2. The development grid: ``invimpute bench --protocol frontier`` on ``--datasets`` x MCAR x seed 0 x
   ``--methods`` at ``--max-rows`` rows, then the frontier report, marked as a development run.

    INVIMPUTE_DATA=../shared/data python benchmarks/frontier_dev.py --budget \\
        --out benchmarks/results/frontier_dev.md --jsonl benchmarks/results/frontier_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import sys
import time

from invimpute.bench.cli import main as bench_main
from invimpute.bench.frontier.report import write_frontier_report
from invimpute.bench.frontier.runner import make_cell, run_cell
from invimpute.bench.frontier.tables import load_frontier_table
from invimpute.bench.presets import PRESETS, merge
from invimpute.bench.results import append_records, read_results
from invimpute.runtime.files import write_atomic

BUDGET_TABLE = "obesity"
BUDGET_STEPS = (250, 500, 1000, 2000)
DEV_DATASETS = ("obesity", "california")
DEV_METHODS = ("auto", "mean", "knn", "iterative", "remasker-cpu")


def budget_runs(steps: list[int], path: pathlib.Path, max_rows: int, data_home: str | None) -> list[dict]:
    """ReMasker (``remasker-cpu``'s network) at each step count on the budget table; cached in ``path``."""
    done = {r["steps"]: r for r in read_results(path) if r.get("kind") == "remasker-budget"}
    frame, total = load_frontier_table(BUDGET_TABLE, data_home, max_rows)
    cell = make_cell(frame, BUDGET_TABLE, "mcar", 0)
    for n in steps:
        if n in done:
            continue
        spec = merge(PRESETS["remasker-cpu"], {"method_options": {"max_steps": n}})
        start = time.perf_counter()
        out = run_cell(spec, cell, 0)
        rec = {"kind": "remasker-budget", "dataset": BUDGET_TABLE, "rows": len(frame), "rows_total": total,
               "mechanism": "mcar", "rate": 0.3, "seed": 0, "method": "remasker-cpu", "metric": "budget",
               "steps": n, "values": out["values"], "seconds": time.perf_counter() - start,
               "fit_seconds": out["fit_seconds"], "params": spec}
        append_records(path, [rec])
        done[n] = rec
        print(f"budget: {n} steps: in rmse_z {out['values']['in_rmse_z']:.4f}, out rmse_z "
              f"{out['values']['out_rmse_z']:.4f} ({rec['seconds']:.0f} s)", file=sys.stderr, flush=True)
    return [done[n] for n in steps]


def budget_lines(runs: list[dict]) -> list[str]:
    """The budget section of the report: a table of step counts and the chosen one."""
    best = min(r["values"]["in_rmse_z"] for r in runs)
    chosen = min(r["steps"] for r in runs if r["values"]["in_rmse_z"] <= 1.01 * best)
    lines = ["## ReMasker's CPU budget (development table)", "",
             f"`remasker-cpu`'s network on {runs[0]['dataset']} ({runs[0]['rows']} of {runs[0]['rows_total']} rows), "
             "MCAR 30%, seed 0; AdamW steps of batch 64 (cosine schedule over the capped run). Chosen: the smallest "
             f"step count within 1% of the best in-sample z-RMSE: **{chosen} steps**."
             + (" That is the largest count tried and the error still falls there: a budget, not convergence."
                if chosen == max(r["steps"] for r in runs) else ""), "",
             "| steps | in-sample rmse_z | out-of-sample rmse_z | in-sample R² | seconds (fit + both fills) |",
             "|---|---|---|---|---|"]
    for r in runs:
        v = r["values"]
        lines.append(f"| {r['steps']} | {v['in_rmse_z']:.4f} | {v['out_rmse_z']:.4f} | {v['in_r2']:.4f} | "
                     f"{r['seconds']:.0f} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/frontier_dev.md")
    parser.add_argument("--jsonl", default="benchmarks/results/frontier_dev.jsonl")
    parser.add_argument("--budget", action="store_true", help="also run the ReMasker budget study")
    parser.add_argument("--steps", nargs="+", type=int, default=list(BUDGET_STEPS))
    parser.add_argument("--datasets", nargs="+", default=list(DEV_DATASETS))
    parser.add_argument("--methods", nargs="+", default=list(DEV_METHODS))
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--skip-grid", action="store_true",
                        help="run no grid cell: write the report from the results already in --jsonl")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--note", action="append", default=[], help="a paragraph added under the title")
    args = parser.parse_args(argv)
    jsonl = pathlib.Path(args.jsonl)
    budget_path = jsonl.with_name(jsonl.stem + "_budget.jsonl")
    runs = budget_runs(args.steps, budget_path, args.max_rows, args.data_home) if args.budget else []
    given = list(argv if argv is not None else sys.argv[1:])
    shown = [a for i, a in enumerate(given) if a != "--note" and (i == 0 or given[i - 1] != "--note")]
    command = "python benchmarks/frontier_dev.py " + shlex.join(shown) + (" --note ... (the paragraphs below)"
                                                                          if args.note else "")
    preamble = ["**Development run, not the published benchmark**: 2 tables x MCAR 30% x seed 0, rows subsampled "
                f"to {args.max_rows}, on a 2-core CPU shared with other work (seconds are inflated and noisy). "
                f"Report written by `{command}`.", ""]
    for note in args.note:
        preamble += [note, ""]
    if runs:
        preamble += budget_lines(runs)
    if not args.skip_grid:
        grid = ["--protocol", "frontier", "--datasets", *args.datasets, "--mechanisms", "mcar", "--seeds", "0",
                "--methods", *args.methods, "--max-rows", str(args.max_rows), "--out", str(jsonl)]
        if args.data_home:
            grid += ["--data-home", args.data_home]
        if bench_main(grid) != 0:
            return 2
    if read_results(jsonl):
        figures = pathlib.Path(args.out).parent.parent / "figures"
        write_frontier_report(jsonl, args.out, "Frontier protocol: development run", preamble, figures)
    elif runs:
        write_atomic(pathlib.Path(args.out), "\n".join(["# Frontier protocol: development run", "", *preamble]))
    print(json.dumps({"report": args.out, "results": str(jsonl)}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
