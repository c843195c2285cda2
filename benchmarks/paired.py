"""Two methods of a results file compared cell by cell: same data set, mechanism, rate and seed, same mask.

A mean over seeds can hide a cell lost by one method and won elsewhere; a claim such as "never worse"
is about cells. Prints a markdown table of both methods' primary metric per cell (RMSE for numeric tables,
lower is better; accuracy for categorical ones, higher is better), the difference, and which is better.

    python benchmarks/paired.py benchmarks/results/defaults5_reverse.jsonl reverse ae-bottleneck
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from invimpute.bench.results import read_results, select_records

HIGHER_IS_BETTER = {"accuracy"}
PRIMARY = ("rmse", "accuracy")


def paired(path: str, a: str, b: str) -> str:
    """The per-cell comparison of methods ``a`` and ``b`` in the results file ``path``, as markdown."""
    cells: dict[tuple, dict[str, float]] = defaultdict(dict)
    metrics: dict[tuple, str] = {}
    for rec in select_records(read_results(path)):
        if rec["metric"] in PRIMARY and rec["method"] in (a, b) and rec.get("status", "ok") == "ok":
            key = (rec["dataset"], rec["mechanism"], float(rec["rate"]), int(rec["seed"]))
            cells[key][rec["method"]] = float(rec["value"])
            metrics[key] = rec["metric"]
    lines = [f"| data set | mechanism | rate | seed | metric | {a} | {b} | {a} - {b} | {a} is |",
             "|---|---|---|---|---|---|---|---|---|"]
    tally: dict[str, int] = defaultdict(int)
    for key in sorted(k for k, v in cells.items() if a in v and b in v):
        va, vb = cells[key][a], cells[key][b]
        sign = 1.0 if metrics[key] in HIGHER_IS_BETTER else -1.0
        verdict = "identical" if va == vb else ("better" if sign * (va - vb) > 0 else "**worse**")
        tally[verdict.strip("*")] += 1
        lines.append(f"| {key[0]} | {key[1]} | {key[2]:g} | {key[3]} | {metrics[key]} | {va:.6f} | {vb:.6f} "
                     f"| {va - vb:+.6f} | {verdict} |")
    total = sum(tally.values())
    lines += ["", f"{a} against {b} over {total} cells: better in {tally['better']}, identical in "
                  f"{tally['identical']}, worse in {tally['worse']}."]
    return "\n".join(lines)


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", help="a results file written by `invimpute bench --out`")
    p.add_argument("a", help="the first method's name in the file")
    p.add_argument("b", help="the method it is compared with")
    args = p.parse_args(argv)
    text = paired(args.results, args.a, args.b)
    print(text)
    return text


if __name__ == "__main__":
    main()
