"""Several results files of one method side by side, per table and seed: the primary metric and the
seconds (fit + impute), with each file's mean per table and its ratio to the first file's. For choosing a
default on development masks: run ``benchmarks/budget_dev.py`` once per setting, then

    python benchmarks/dev_table.py "batch 128=runs/b128.jsonl" "batch 1024=runs/b1024.jsonl"

``--metric`` reads another metric (lower is better), as a frontier run's ``in_rmse_z``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from invimpute.bench.results import read_results, select_records

PRIMARY = ("rmse", "accuracy")


def load(path: str, metrics: tuple[str, ...] = PRIMARY) -> dict[tuple[str, int], tuple[float, float]]:
    """(data set, seed) -> (metric, fit + impute seconds) of the ok records of ``path``, the metric the first
    of ``metrics`` a record has."""
    out = {}
    for rec in select_records(read_results(path)):
        if rec["metric"] in metrics and rec.get("status", "ok") == "ok":
            out[(rec["dataset"], int(rec["seed"]))] = (float(rec["value"]),
                                                       float(rec["fit_seconds"]) + float(rec["impute_seconds"]))
    return out


def table(runs: list[tuple[str, str]], metrics: tuple[str, ...] = PRIMARY) -> str:
    """Markdown: per data set and seed, every run's metric and seconds; then per data set the means."""
    data = {label: load(path, metrics) for label, path in runs}
    labels = [label for label, _ in runs]
    cells = sorted({key for d in data.values() for key in d})
    lines = ["| table | seed | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for key in cells:
        row = [f"{data[l][key][0]:.4f} ({data[l][key][1]:.1f} s)" if key in data[l] else "–" for l in labels]
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(row) + " |")
    means: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    for l in labels:
        by_table = defaultdict(list)
        for (name, _), v in data[l].items():
            by_table[name].append(v)
        for name, vs in by_table.items():
            means[name][l] = (sum(v[0] for v in vs) / len(vs), sum(v[1] for v in vs) / len(vs))
    lines += ["", "| table | " + " | ".join(f"{l} mean" for l in labels) + " |", "|---|" + "---|" * len(labels)]
    for name, per in sorted(means.items()):
        base = per.get(labels[0])
        row = []
        for l in labels:
            if l not in per:
                row.append("–")
                continue
            m, s = per[l]
            rel = f", {100 * (m / base[0] - 1):+.2f}%" if base and l != labels[0] else ""
            row.append(f"{m:.5f}{rel} ({s:.1f} s)")
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="LABEL=PATH")
    parser.add_argument("--metric", help="the metric to read (default: RMSE, or accuracy on categorical tables)")
    args = parser.parse_args(argv)
    print(table([tuple(r.split("=", 1)) for r in args.runs], (args.metric,) if args.metric else PRIMARY))


if __name__ == "__main__":
    main()
