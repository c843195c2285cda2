"""Wide columns: what one wild column costs the default imputer, in time, memory and quality of the others.

A generated 3,000-row table of 8 related mixed columns (four numbers, an integer count, two categories, a
flag) is imputed by ``Imputer()`` at its defaults, alone and with one wild addition at a time:

- ``zip300`` / ``code800``: a text code of 300 / 800 levels (frequencies skewed, tied to the city; written
  with a letter, so it is read as text: a code of digits read as a number is issue 26's column-treatment
  work, not this cost benchmark's);
- ``text_date``: a date written as text, one distinct value per row (a 3,000-level category);
- ``outlier``: no added column, one observed income set to ``1e308``.

20% of the cells (MCAR, the same cells of the 8 columns in every case) are removed. Per case, in a fresh
subprocess (so its peak memory is its own): fit_transform seconds, peak resident memory
(``resource.getrusage`` maxrss), and the imputation of the 8 original columns against the truth: RMSE
of the numbers (each column divided by its true standard deviation, then pooled) and accuracy of the
categories and the flag; each case's ratio to the table alone. The ``outlier`` case scores the income
cells without the outlier cell itself (it is observed).

    python benchmarks/wide_columns.py --out benchmarks/results/wide_columns.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shlex
import subprocess
import sys
import time

import numpy as np
import pandas as pd

CASES = ("alone", "zip300", "code800", "text_date", "outlier")
NUMERIC = ("age", "income", "hours", "score", "children")
CATEGORICAL = ("city", "segment", "member")


def base_table(rows: int, seed: int) -> pd.DataFrame:
    """The 8 related columns."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lyon", "Paris", "Nice", "Lille", "Brest", "Metz"], rows, p=[.3, .25, .15, .12, .1, .08])
    city_effect = pd.Series(city).map({"Lyon": 0.0, "Paris": 0.6, "Nice": 0.2, "Lille": -0.3, "Brest": -0.5,
                                       "Metz": -0.1}).to_numpy()
    age = rng.normal(42, 12, rows).clip(18, 90)
    z = (age - 42) / 12
    income = np.exp(10.4 + 0.25 * z + city_effect * 0.5 + rng.normal(0, 0.3, rows))
    hours = 38 + 4 * z - 3 * city_effect + rng.normal(0, 3, rows)
    score = 0.5 * z + 0.8 * (np.log(income) - 10.4) + rng.normal(0, 0.4, rows)
    children = rng.poisson(np.exp(0.3 + 0.4 * z).clip(0.1, 5))
    segment = np.where(score > 0.6, "gold", np.where(score > 0, "silver", np.where(z > 0, "bronze", "basic")))
    member = (score + rng.normal(0, 0.6, rows)) > 0.2
    return pd.DataFrame({"age": age, "income": income, "hours": hours, "score": score,
                         "children": children.astype(np.int64), "city": city, "segment": segment, "member": member})


def with_case(truth: pd.DataFrame, case: str, seed: int) -> pd.DataFrame:
    """The table with the case's wild addition."""
    rng = np.random.default_rng(seed + 1)
    out = truth.copy()
    n = len(out)
    if case in ("zip300", "code800"):
        levels = 300 if case == "zip300" else 800
        base = pd.factorize(out["city"])[0] * (levels // 6)
        offset = (levels // 6 * rng.random(n) ** 2).astype(int)  # skewed: low offsets more common
        out[case] = [f"Z{int(b + o):04d}" if case == "zip300" else f"K{54000 + int(b + o)}" for b, o in zip(base, offset)]
    elif case == "text_date":
        days = rng.choice(3650, n, replace=False)
        out[case] = (pd.Timestamp("2015-01-01") + pd.to_timedelta(np.sort(days)[np.argsort(np.argsort(
            out["age"].to_numpy()))], unit="D")).strftime("%Y-%m-%d")
    return out


def damage(table: pd.DataFrame, rate: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The table with ``rate`` of its cells removed (MCAR; each column's cells drawn from its own seed)."""
    missing = np.stack([np.random.default_rng([seed, j]).random(len(table)) < rate
                        for j in range(table.shape[1])], axis=1)
    out = table.astype({c: object for c in table.columns if table[c].dtype == bool})
    for j, col in enumerate(table.columns):
        out.loc[missing[:, j], col] = np.nan
    return out, missing


def run_case(case: str, rows: int, seed: int, rate: float) -> dict:
    """One case, in this process: seconds, peak memory and the quality of the 8 original columns."""
    from invimpute import Imputer

    truth = base_table(rows, seed)
    table = with_case(truth, case, seed)
    damaged, missing = damage(table, rate, seed)
    skip = np.zeros(missing.shape[0], bool)
    if case == "outlier":
        row = int(np.flatnonzero(~missing[:, 1])[0])
        damaged.loc[row, "income"] = 1e308
        skip[row] = True
    start = time.perf_counter()
    imp = Imputer()
    filled = imp.fit_transform(damaged)
    seconds = time.perf_counter() - start
    errors, hits = [], []
    for j, col in enumerate(truth.columns):
        m = missing[:, j] & ~skip
        if col in NUMERIC:
            sd = truth[col].std()
            errors.append(((filled[col][m].astype(float) - truth[col][m]) / sd).to_numpy() ** 2)
        else:
            hits.append((filled[col][m].astype(str) == truth[col][m].astype(str)).to_numpy())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    extra = [c for c in table.columns if c not in truth.columns]
    seen = bool(all(set(filled[c][missing[:, table.columns.get_loc(c)]]) <= set(damaged[c].dropna()) for c in extra))
    fills = filled["income"][missing[:, 1]]
    return {"case": case, "seconds": seconds, "peak_bytes": peak, "rmse": float(np.sqrt(np.concatenate(errors).mean())),
            "accuracy": float(np.concatenate(hits).mean()), "width": imp.encoder_.schema.width,
            "levels": int(sum(damaged[c].nunique() for c in extra)),
            "fills_seen": seen, "income_fill_max": float(fills.max()),
            "outliers": int(imp.report_["outliers"].sum())}


def table(records: list[dict], args) -> str:
    base = next(r for r in records if r["case"] == "alone")
    lines = [
        f"Wide columns: `Imputer()` at its defaults on a generated {args.rows}-row table of 8 mixed columns, with one "
        f"wild addition per case; MCAR {args.rate:.0%}, seed {args.seed}; each case run once in a fresh subprocess "
        f"on a shared machine ({platform.machine()} CPU, {args.note}), so seconds carry the load of other processes.",
        "",
        "| case | added levels | encoded width | seconds | x alone | peak memory (GB) | numeric RMSE (sd units) | RMSE / alone "
        "| accuracy | accuracy - alone | fills seen levels | income fill max |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['case']} | {r['levels']} | {r['width']} | {r['seconds']:.1f} | {r['seconds'] / base['seconds']:.2f} | "
            f"{r['peak_bytes'] / 1e9:.2f} | {r['rmse']:.4f} | {r['rmse'] / base['rmse']:.3f} | {r['accuracy']:.2%} | "
            f"{(r['accuracy'] - base['accuracy']) * 100:+.2f} pt | {r['fills_seen']} | {r['income_fill_max']:.4g} |")
    lines += ["", "Targets (issue 26): at most 3x the seconds of the table alone (or +20 s), peak memory under 4 GB, "
              "RMSE within 15% and accuracy within 3 points of the table alone.", "",
              f"    python benchmarks/wide_columns.py {shlex.join(sys.argv[1:])}", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    p.add_argument("--case", help=argparse.SUPPRESS)  # run one case in this process, print its JSON record
    p.add_argument("--note", default="run once per case")
    p.add_argument("--out")
    args = p.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.rows, args.seed, args.rate)))
        return
    records = []
    for case in args.cases:
        cmd = [sys.executable, __file__, "--case", case, "--rows", str(args.rows), "--rate", str(args.rate),
               "--seed", str(args.seed)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        records.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(records[-1]), flush=True)
    from invimpute.runtime.files import publish

    publish(table(records, args), args.out)


if __name__ == "__main__":
    main()
