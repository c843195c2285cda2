"""Latency of `Imputer()` and its peers: the first call in a fresh process (empty and warm compilation
cache) and a repeated call in the same process, with the error beside each time.

Per table and method, a child process imports invimpute, damages the table (20% MCAR, the benchmark's
mask for the seed) and times ``Imputer(method).fit_transform`` twice; a second child with the same,
now warm, compilation cache times the first call again. The cache folder is a fresh temporary folder
per table and method (``INVIMPUTE_COMPILE_CACHE``), so "empty" is empty. Tables: scikit-learn's diabetes
table (442 x 11), the five GAIN tables (from ``INVIMPUTE_DATA``), the three mixed tables of ``benchmarks/mixed_tables.py``, and a generated
100,000-row mixed table (:func:`generated`). Scores: RMSE over the removed numeric cells after min-max
scaling by the complete column's range, and accuracy over the removed categorical cells.

Peers: ``knn`` (scikit-learn ``KNNImputer``), ``iterative`` (``IterativeImputer``, Bayesian ridge, 10
rounds); ``missforest`` and ``miceforest`` only on tables of at most :data:`FOREST_ROWS` rows (marked
skipped elsewhere: at full size they take minutes per call on a 2-core CPU).

    INVIMPUTE_DATA=/work/shared/data python benchmarks/latency.py --out benchmarks/results/latency.md
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

T0 = time.perf_counter()

GAIN = ("breast", "breast_diagnostic", "spam", "letter", "credit")
MIXED = ("penguins", "Housing", "Fair")
GENERATED = "generated_100k"
SMALL = "diabetes"
TABLES = (SMALL,) + GAIN + MIXED + (GENERATED,)
QUICK = {"tables": [SMALL, "breast"], "methods": ["auto", "knn", "iterative"]}
"""``--quick``: two small tables and the fast peers (a few minutes on a loaded 2-core CPU)."""
METHODS = ("auto", "knn", "iterative", "missforest", "miceforest")
FOREST_ROWS = 1_000
"""Rows up to which MissForest and miceforest are timed (their stated budget); skipped above."""
RATE = 0.2
ROOT = pathlib.Path(__file__).resolve().parents[1]


def generated(n: int = 100_000, seed: int = 0):
    """A seeded mixed table of ``n`` rows: eight numeric columns driven by three latent factors (with
    noise and one nonlinear column) and two categorical columns cut from them."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    loads = rng.normal(size=(3, 8))
    num = z @ loads + 0.5 * rng.normal(size=(n, 8))
    num[:, 7] = np.tanh(num[:, 0]) * num[:, 1] + 0.3 * rng.normal(size=n)
    frame = pd.DataFrame(num, columns=[f"x{i}" for i in range(8)])
    frame["c0"] = pd.Categorical(np.where(z[:, 0] > 0.5, "high", np.where(z[:, 0] < -0.5, "low", "mid")))
    frame["c1"] = pd.Categorical(np.where(z[:, 1] + 0.5 * rng.normal(size=n) > 0, "yes", "no"))
    return frame


def load(name: str):
    """The complete table ``name``: a GAIN table, a mixed table or the generated one."""
    if name in GAIN:
        from invimpute.bench.masks import load_table

        return load_table(name)
    if name == GENERATED:
        return generated()
    if name == SMALL:  # scikit-learn's diabetes table, 442 x 11 (the target kept as a column)
        from sklearn.datasets import load_diabetes

        return load_diabetes(as_frame=True).frame
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from mixed_tables import load as load_mixed

    return load_mixed(name)


def damage(truth, seed: int):
    """The table with 20% of its cells removed completely at random, and the removed cells."""
    import jax
    import numpy as np

    from invimpute.encoding.missingness import mcar_mask

    missing = np.asarray(mcar_mask(jax.random.key(seed), truth.shape, RATE))
    return truth.mask(missing), missing


def score(truth, out, missing) -> dict:
    """Range-scaled RMSE over the removed numeric cells and accuracy over the removed categorical ones."""
    import numpy as np
    import pandas as pd

    sq, n_num, hits, n_cat = 0.0, 0, 0, 0
    for j, col in enumerate(truth.columns):
        rows = missing[:, j]
        if isinstance(truth[col].dtype, pd.CategoricalDtype):
            hits += int((out[col][rows].astype(str).to_numpy() == truth[col][rows].astype(str).to_numpy()).sum())
            n_cat += int(rows.sum())
            continue
        t = truth[col].to_numpy(float)
        span = max(float(t.max() - t.min()), 1e-12)
        sq += float((((out[col].to_numpy(float)[rows] - t[rows]) / span) ** 2).sum())
        n_num += int(rows.sum())
    return {"rmse": (sq / n_num) ** 0.5 if n_num else None, "accuracy": hits / n_cat if n_cat else None}


def call(method: str, damaged, seed: int):
    """One fit + transform of ``method`` on ``damaged``."""
    if method == "miceforest":
        from invimpute.bench.peers import run_miceforest

        # mixed tables carry their categories as pandas categoricals already
        return run_miceforest(damaged, seed, False, {"iterations": 5, "lightgbm": {"num_threads": 1}})[0]
    import invimpute

    if method == "missforest":
        return invimpute.Imputer("missforest", options={"max_iter": 10, "n_estimators": 100},
                                 seed=seed).fit_transform(damaged)
    return invimpute.Imputer(method, seed=seed).fit_transform(damaged)


def child(table: str, method: str, seed: int, reps: int) -> None:
    """Run in a fresh process: import, damage, ``reps`` timed calls; print one JSON line."""
    import invimpute  # noqa: F401  (the import is part of a fresh process's cost)

    imported = time.perf_counter() - T0
    truth = load(table)
    damaged, missing = damage(truth, seed)
    times, scores = [], None
    for _ in range(reps):
        start = time.perf_counter()
        out = call(method, damaged, seed)
        times.append(time.perf_counter() - start)
        scores = score(truth, out, missing)
    print("RESULT " + json.dumps({"import_s": imported, "times": times, **scores, "shape": list(truth.shape)}))


def run_child(table: str, method: str, seed: int, reps: int, cache: str, timeout: float) -> dict:
    env = {**os.environ, "INVIMPUTE_COMPILE_CACHE": cache, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, __file__, "--child", table, method, str(seed), str(reps)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(lines[-1][len("RESULT "):])


def measure(table: str, method: str, seed: int, timeout: float) -> dict:
    """Fresh process, empty cache (first and repeated call), then fresh process, warm cache; with the
    1-minute load average of the machine when it started (the machine may be shared)."""
    load_1m = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="invimpute-latency-") as cache:
        cold = run_child(table, method, seed, 2, cache, timeout)
        if "error" in cold:
            return cold
        warm = run_child(table, method, seed, 1, cache, timeout)
    return {**cold, "load": load_1m, "cold_s": cold["times"][0], "repeat_s": cold["times"][1],
            "warm_s": warm.get("times", [None])[0], "warm_import_s": warm.get("import_s")}


def fmt(v, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def report(rows: list[dict], command: str, seed: int, note: str = "") -> str:
    head = ["# Latency of `Imputer()` and its peers (issue 28)", "", "```bash", command, "```", "",
            *([note, ""] if note else []),
            f"20% MCAR, seed {seed}; fit + transform seconds. Cold: first call in a fresh process with an empty "
            "compilation cache; warm: first call in a fresh process after that one filled the cache; repeat: "
            "the same call again in the process of the cold call. `import invimpute` loads nothing heavy, so "
            "the first call includes importing what it uses (JAX, pandas; scikit-learn only for its peers). "
            "import s: `import invimpute` alone (the lazy package root) in the warm process. "
            "Load: the machine's 1-minute load average when the table and method started. RMSE over removed "
            "numeric cells (range-scaled), accuracy over removed categorical cells.", "",
            "| table | rows × cols | method | cold s | warm s | repeat s | repeat / iterative | RMSE | accuracy "
            "| warm import s | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    by_table: dict[str, dict] = {}
    for r in rows:
        by_table.setdefault(r["table"], {})[r["method"]] = r
    for table, methods in by_table.items():
        it = methods.get("iterative", {}).get("repeat_s")
        for method, r in methods.items():
            shape = " × ".join(str(s) for s in r.get("shape", [])) or "–"
            if "skipped" in r or "error" in r:
                head.append(f"| {table} | {shape} | {method} | {r.get('skipped') or r.get('error')} "
                            "|  |  |  |  |  |  |  |")
                continue
            ratio = fmt(r["repeat_s"] / it, 1) + "×" if it else "–"
            head.append(f"| {table} | {shape} | {method} | {fmt(r['cold_s'])} | {fmt(r['warm_s'])} | "
                        f"{fmt(r['repeat_s'])} | {ratio} | {fmt(r['rmse'], 4)} | {fmt(r['accuracy'], 3)} | "
                        f"{fmt(r.get('warm_import_s'))} | {fmt(r.get('load'), 1)} |")
    return "\n".join(head) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("TABLE", "METHOD", "SEED", "REPS"))
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=TABLES)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child process")
    parser.add_argument("--out", default="benchmarks/results/latency.md")
    parser.add_argument("--jsonl", default=None, help="also append one JSON record per table and method")
    parser.add_argument("--note", default="", help="a paragraph put under the command (the machine, its load)")
    parser.add_argument("--report-only", action="store_true", help="write --out from the records in --jsonl")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK['tables']} with {QUICK['methods']}")
    args = parser.parse_args()
    if args.quick:
        args.tables, args.methods = QUICK["tables"], QUICK["methods"]
    if args.child:
        table, method, seed, reps = args.child
        child(table, method, int(seed), int(reps))
        return
    argv = sys.argv[1:]
    if "--note" in argv:  # the note is printed under the command, not inside it
        i = argv.index("--note")
        argv = argv[:i] + argv[i + 2:]
    command = "python benchmarks/latency.py " + " ".join(a for a in argv if a != "--report-only")
    if args.report_only:
        rows = [json.loads(line) for line in pathlib.Path(args.jsonl).read_text().splitlines() if line.strip()]
        pathlib.Path(args.out).write_text(report(rows, command, args.seed, args.note))
        return
    rows = []
    for table in args.tables:
        for method in args.methods:
            n_rows = 100_000 if table == GENERATED else None
            row = {"table": table, "method": method}
            if method in ("missforest", "miceforest") and (n_rows or len(load(table))) > FOREST_ROWS:
                row["skipped"] = f"skipped (over {FOREST_ROWS:,} rows)"
            else:
                row.update(measure(table, method, args.seed, args.timeout))
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(row) + "\n")
            pathlib.Path(args.out).write_text(report(rows, command, args.seed, args.note))


if __name__ == "__main__":
    main()
