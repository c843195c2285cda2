"""A method at its defaults on a messy table: the wild corpus's base table (3,000 rows) with a date written
as text, an identifier, free text, an 800-level code and an outlier column all at once, 20% of cells
removed; per method its seconds, whether observed cells and the caller's frame are kept, the cells left
unfilled (only the passed-through identifier and free text may be) and the RMSE over the base table's
numeric cells (range-scaled). Methods from the command line (default: boosted, iterative, auto).

    INVIMPUTE_DATA=/work/shared/data python benchmarks/messy_defaults.py boosted iterative auto
"""

import sys
import time
import warnings

import pandas as pd

from invimpute import Imputer
from invimpute.datasets import wild
WILD = ("text_date", "identifier", "free_text", "code800_digits", "outlier")


def messy_table(rows: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(base, truth, damaged)``: the base table, it with every wild column of :data:`WILD`, and a damaged copy."""
    base = wild.base_table(rows, seed=seed)
    truth = base.copy()
    for kind in WILD:
        name, col = wild.wild_column(kind, base, seed=seed)
        truth[name] = col.values
    return base, truth, wild.damage(truth, 0.2, seed=seed + 1)[0]


def check(method: str, base: pd.DataFrame, truth: pd.DataFrame, damaged: pd.DataFrame) -> str:
    """One line: ``Imputer(method)``'s seconds, guarantees and base-table RMSE on the damaged table."""
    before = damaged.copy()
    start = time.perf_counter()
    out = Imputer(method).fit_transform(damaged)
    seconds = time.perf_counter() - start
    seen = damaged.notna()
    kept = all((out[c][seen[c]].astype(str) == damaged[c][seen[c]].astype(str)).all() for c in damaged.columns)
    num = [c for c in base.columns if pd.api.types.is_numeric_dtype(base[c])]
    removed = damaged[num].isna() & truth[num].notna()
    span = (truth[num].max() - truth[num].min()).replace(0, 1)
    rmse = ((((out[num] - truth[num]) / span)[removed]) ** 2).stack().mean() ** 0.5
    unfilled = sorted(c for c in out.columns if out[c].isna().any())
    return (f"| {method} | {seconds:.1f} | {kept} | {damaged.equals(before)} | {int(out.isna().sum().sum())} "
            f"({', '.join(unfilled)}) | {rmse:.4f} |")


def main() -> None:
    warnings.simplefilter("ignore")
    base, truth, damaged = messy_table()
    print("| method | seconds | observed kept | caller untouched | unfilled cells (columns) | base numeric RMSE |")
    print("|---|---|---|---|---|---|")
    for method in sys.argv[1:] or ("boosted", "iterative", "auto"):
        print(check(method, base, truth, damaged), flush=True)


if __name__ == "__main__":
    main()
