"""Development runs of ``auto`` variants under the frontier protocol (issue 27): each named variant (a bench
spec as JSON) on the same cells, with auto's constants set for the process (``--set``, as in
``benchmarks/budget_dev.py``); in-sample z-scored RMSE per cell and the mean change against the first
variant. For development seeds only: the published frontier seeds are 0-2.

    INVIMPUTE_DATA=/work/shared/data python benchmarks/frontier_variants_dev.py --tables obesity letter \\
        --seeds 7 8 --variant 'auto={"method": "auto"}' \\
        --variant 'chain3={"method": "auto", "method_options": {"trees": {"chain": 3}}}' --out dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import budget_dev  # noqa: E402

from invimpute.bench.frontier.runner import make_cell, run_cell  # noqa: E402
from invimpute.bench.frontier.tables import load_frontier_table  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict]:
    """``NAME=JSON`` into (name, bench spec)."""
    name, _, spec = text.partition("=")
    try:
        return name, json.loads(spec)
    except json.JSONDecodeError as err:
        raise SystemExit(f"--variant takes NAME=JSON (a bench spec), got {text!r}: {err}") from None


def table(records: list[dict], names: list[str]) -> str:
    """Markdown: in-sample z-RMSE per (table, seed) and variant, then each variant's mean change against the first."""
    cells: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in records:
        cells[(r["table"], r["seed"])][r["variant"]] = r["in_rmse_z"]
    lines = ["| table | seed | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    change = defaultdict(list)
    for (t, seed), row in sorted(cells.items()):
        lines.append(f"| {t} | {seed} | " + " | ".join(f"{row[n]:.4f}" if n in row else "–" for n in names) + " |")
        for n in names[1:]:
            if n in row and names[0] in row:
                change[n].append(row[n] / row[names[0]] - 1.0)
    lines.append("")
    for n in names[1:]:
        if change[n]:
            lines.append(f"- {n} against {names[0]}: mean {100 * sum(change[n]) / len(change[n]):+.2f}% over "
                         f"{len(change[n])} cells, range {100 * min(change[n]):+.2f}% to {100 * max(change[n]):+.2f}%")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--mechanism", default="mcar")
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--variant", action="append", required=True, metavar="NAME=JSON")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=NUMBER")
    parser.add_argument("--out", required=True, help="JSON lines, one record per cell and variant (appended)")
    args = parser.parse_args()
    budget_dev.apply(args.set)
    variants = [parse_variant(v) for v in args.variant]
    records = []
    with open(args.out, "a") as out:
        for t in args.tables:
            frame, _ = load_frontier_table(t, None, args.max_rows)
            for seed in args.seeds:
                cell = make_cell(frame, t, args.mechanism, seed)
                for name, spec in variants:
                    r = run_cell(spec, cell, seed)
                    rec = {"table": t, "seed": seed, "mechanism": args.mechanism, "variant": name, "set": args.set,
                           "spec": spec, **r["values"], "fit_seconds": r["fit_seconds"]}
                    records.append(rec)
                    print(json.dumps(rec), file=out, flush=True)
                    print(f"{t} seed {seed} {name}: in_rmse_z {rec.get('in_rmse_z', float('nan')):.4f} "
                          f"({r['fit_seconds']:.1f} s fit)", flush=True)
    print(table(records, [n for n, _ in variants]))


if __name__ == "__main__":
    main()
