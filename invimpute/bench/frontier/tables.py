"""The frontier protocol's tables: which file each is, which columns are dropped and which are categorical.

Names follow CACTI (ICML 2025): ``bike`` (Seoul Bike Sharing Demand, the "bike" of ReMasker's and
CACTI's code), ``obesity``, ``california``, ``default`` (the GAIN copy of Default of Credit Card
Clients, label removed), ``income`` (Adult), ``letter``, ``magic``, ``shoppers``, ``spam``, ``students``;
then DiffPuter's (ICLR 2025) others: ``bean``, ``beijing``, ``gesture`` and ``california_geron`` (its
"california", Géron's form); and the GAIN tables ``breast`` and ``breast_diagnostic`` (with ``spam``,
``letter`` and ``default`` above, the five GAIN tables). Files: ``frontier/`` and ``uci/`` of the data
home (``/work/shared/data/README.md`` says where each comes from).

Dropped, as the papers do: every label (the prediction target of the UCI task) and the row ids and
dates: ``bike``: ``Date`` (a date) and ``Functioning Day`` (the target of the UCI copy CACTI loads);
``obesity``: ``NObeyesdad``; ``california``: ``medianHouseValue``; ``income``: ``income``; ``magic``:
``class``; ``shoppers``: ``Revenue``; ``students``: ``Target``; ``bean``: ``Class``; ``beijing``: ``No``
(a row number); ``gesture``: ``Phase``; ``california_geron``: ``median_house_value``. ``default``,
``letter``, ``spam``, ``breast`` and ``breast_diagnostic`` come without labels. Rows with a missing value in the file are
dropped (DiffPuter does the same): ``income``'s ``?`` rows (2,399), ``beijing``'s ``NA`` ``pm2.5`` rows
(2,067), ``california_geron``'s blank ``total_bedrooms`` rows (207).

Categorical columns are kept as categories (strings): the text columns, and the integer-coded columns
whose codes name categories (``shoppers``: ``OperatingSystems``, ``Browser``, ``Region``,
``TrafficType``, as DiffPuter treats them; ``students``: marital status, application mode, course,
attendance, previous qualification, nationality, parents' qualifications and occupations, and its yes/no
flags). Every other column is numeric (float64).
"""

from __future__ import annotations

import dataclasses
import pathlib
import zlib

import numpy as np
import pandas as pd

from invimpute import datasets


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One table: its file under the data home, the columns dropped, and the categorical columns."""

    file: str
    drop: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    source: str = ""


_STUDENTS_CATEGORICAL = (
    "Marital status", "Application mode", "Course", "Daytime/evening attendance", "Previous qualification",
    "Nacionality", "Mother's qualification", "Father's qualification", "Mother's occupation",
    "Father's occupation", "Displaced", "Educational special needs", "Debtor", "Tuition fees up to date", "Gender",
    "Scholarship holder", "International",
)
_OBESITY_CATEGORICAL = ("Gender", "family_history_with_overweight", "FAVC", "CAEC", "SMOKE", "SCC", "CALC", "MTRANS")
_INCOME_CATEGORICAL = ("workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
                       "native-country")
_SHOPPERS_CATEGORICAL = ("Month", "OperatingSystems", "Browser", "Region", "TrafficType", "VisitorType", "Weekend")

TABLES: dict[str, TableSpec] = {
    "bike": TableSpec("frontier/seoul_bike.csv", ("Date", "Functioning Day"), ("Seasons", "Holiday"), "CACTI"),
    "obesity": TableSpec("frontier/obesity.csv", ("NObeyesdad",), _OBESITY_CATEGORICAL, "CACTI"),
    "california": TableSpec("frontier/california.csv", ("medianHouseValue",), (), "CACTI"),
    "default": TableSpec("uci/credit.csv", (), (), "CACTI"),
    "income": TableSpec("frontier/adult.csv", ("income",), _INCOME_CATEGORICAL, "CACTI"),
    "letter": TableSpec("uci/letter.csv", (), (), "CACTI"),
    "magic": TableSpec("frontier/magic.csv", ("class",), (), "CACTI"),
    "shoppers": TableSpec("frontier/shoppers.csv", ("Revenue",), _SHOPPERS_CATEGORICAL, "CACTI"),
    "spam": TableSpec("uci/spam.csv", (), (), "CACTI"),
    "students": TableSpec("frontier/students.csv", ("Target",), _STUDENTS_CATEGORICAL, "CACTI"),
    "bean": TableSpec("frontier/bean.csv", ("Class",), (), "DiffPuter"),
    "beijing": TableSpec("frontier/beijing.csv", ("No",), ("cbwd",), "DiffPuter"),
    "gesture": TableSpec("frontier/gesture.csv", ("Phase",), (), "DiffPuter"),
    "california_geron": TableSpec("frontier/california_geron.csv", ("median_house_value",), ("ocean_proximity",),
                                  "DiffPuter"),
    "breast": TableSpec("uci/breast.csv", (), (), "GAIN"),
    "breast_diagnostic": TableSpec("uci/breast_diagnostic.csv", (), (), "GAIN"),
}
"""Every table of the frontier protocol, by name."""

CACTI_TABLES: tuple[str, ...] = tuple(name for name, spec in TABLES.items() if spec.source == "CACTI")
"""CACTI's ten tables: the ones its published means (issue 27) are compared on."""

MAX_ROWS = 10_000
"""Rows kept of a larger table (a seeded subset, the same for every seed, mechanism and method)."""

_MISSING_TOKENS = ("?", "NA", "")


def load_frontier_table(name: str, data_home: str | None = None, max_rows: int | None = MAX_ROWS
                        ) -> tuple[pd.DataFrame, int]:
    """The complete table ``name`` (numeric columns float64, categorical ones strings) and its full row count.

    Rows with a missing value are dropped; a table of more than ``max_rows`` rows keeps the first
    ``max_rows`` of a permutation seeded by its name (so every seed, mechanism and method sees the same rows).
    """
    if name not in TABLES:
        raise ValueError(f"unknown frontier table {name!r}; valid tables: {', '.join(TABLES)}")
    spec = TABLES[name]
    path = pathlib.Path(datasets.data_home(data_home)) / spec.file
    if not path.is_file():
        raise FileNotFoundError(f"frontier table {name!r} needs {path}; set INVIMPUTE_DATA or --data-home to the "
                                "folder that holds frontier/ and uci/")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    missing = [c for c in (*spec.drop, *spec.categorical) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing} of the frontier table {name!r}")
    frame = frame.drop(columns=list(spec.drop))
    frame = frame[~frame.apply(lambda s: s.str.strip().isin(_MISSING_TOKENS)).any(axis=1)].reset_index(drop=True)
    for col in frame.columns:
        frame[col] = frame[col].str.strip().astype(object) if col in spec.categorical else frame[col].astype("float64")
    total = len(frame)
    if max_rows is not None and total > max_rows:
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        frame = frame.iloc[np.sort(rng.permutation(total)[:max_rows])].reset_index(drop=True)
    return frame, total


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a loaded table that are scored by accuracy (the string ones)."""
    return [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]


__all__ = ["TableSpec", "TABLES", "CACTI_TABLES", "MAX_ROWS", "load_frontier_table", "categorical_columns"]
