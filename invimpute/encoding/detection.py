"""Finding missing cells in real tables: the many ways files write "no value" (NaN, None, "", whitespace, "NA",
"?", sentinel numbers such as -999) turned into one observed mask, a per-column report, and a cleaned copy in
which every missing cell is NaN. Ambiguous words (``"none"``, ``"?"``) are judged per column (:func:`judge_token`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from invimpute.encoding.schema import Schema

UNAMBIGUOUS_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "n/a", "NULL", "null", "Null", "nan", "NaN", "NAN")
"""Strings that always mean missing (compared after stripping whitespace; whitespace-only cells too)."""

AMBIGUOUS_TOKENS: tuple[str, ...] = ("None", "none", "na", "?")
"""Strings that often mean missing but also name real levels (``"none"`` years of experience, Ames' ``"None"``
veneer type): with the default ``tokens="auto"`` each is judged per column by :func:`judge_token`."""

DEFAULT_TOKENS: tuple[str, ...] = UNAMBIGUOUS_TOKENS + AMBIGUOUS_TOKENS
"""Every token the default reads as missing somewhere: the unambiguous ones always, the ambiguous ones where the
column's evidence says so."""

AUTO = "auto"
"""``tokens="auto"`` (the default): :data:`UNAMBIGUOUS_TOKENS` everywhere, :data:`AMBIGUOUS_TOKENS` judged per column."""


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` found.

    ``cleaned`` is a copy of the table with every missing cell set to NaN (object columns keep their
    other values as they were); ``observed`` is a boolean DataFrame, True where a value is present;
    ``report`` has one row per column with counts of NaN/None cells, token cells and sentinel cells;
    ``decisions`` maps a column to the sentences saying which ambiguous tokens it kept as values or read as
    missing, and why (only columns holding an ambiguous token judged under ``tokens="auto"``).
    """

    cleaned: pd.DataFrame
    observed: pd.DataFrame
    report: pd.DataFrame
    decisions: Mapping = field(default_factory=dict)



def detect(
    data: pd.DataFrame,
    tokens: str | Sequence[str] | Mapping[object, Sequence[str]] | None = AUTO,
    sentinels: Mapping[str, Sequence[float | str]] | Sequence[float | str] | None = None,
) -> Detection:
    """Find missing cells in ``data``.

    Args:
      data: the table; it is not modified.
      tokens: strings that mean "missing" in text cells (after stripping whitespace; whitespace-only
        cells are always missing). ``"auto"`` (the default): :data:`UNAMBIGUOUS_TOKENS` in every column and
        each of :data:`AMBIGUOUS_TOKENS` where :func:`judge_token` finds it marks missing cells. A sequence:
        exactly those strings, in every column, no judging (the caller said so). A mapping from column
        name to a sequence: exactly those strings in the named columns, ``"auto"`` in the others.
        ``None`` or ``()`` turns token matching off.
      sentinels: values that mean "missing": a mapping from column name to its sentinels (for example
        ``{"age": [-999, 0]}``), or one sequence applied to every column.

    Returns:
      A :class:`Detection`: ``cleaned`` (a copy of ``data`` with every missing cell NaN), ``observed``
      (a boolean frame, True where a value is present) and ``report`` (per column, the counts of
      NaN/None, token and sentinel cells).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"detect expects a pandas DataFrame, got {type(data).__name__}")
    per_column = _sentinels_by_column(data, sentinels)
    by_column = _tokens_by_column(data, tokens)
    cleaned = data.copy()
    observed = pd.DataFrame(True, index=data.index, columns=data.columns)
    rows, decisions = [], {}
    for col in data.columns:
        s = data[col]
        na, sen = s.isna().to_numpy(), _sentinel_cells(s, per_column.get(col, []))
        token_set = by_column[col]
        if token_set == AUTO:
            tok, said = _judged_token_cells(s, na | sen)
            if said:
                decisions[col] = said
        else:
            tok = _token_cells(s, token_set)
        missing = na | tok | sen
        observed[col] = ~missing
        if missing.any():
            cleaned[col] = _blanked(s, missing)
        rows.append({
            "column": col,
            "n_missing": int(missing.sum()),
            "fraction": float(missing.mean()) if len(s) else 0.0,
            "nan": int(na.sum()),
            "token": int((tok & ~na).sum()),
            "sentinel": int((sen & ~na & ~tok).sum()),
        })
    report = pd.DataFrame(rows).set_index("column")
    return Detection(cleaned=cleaned, observed=observed, report=report, decisions=decisions)


def _tokens_by_column(data: pd.DataFrame, tokens) -> dict:
    """Each column's token set, or ``AUTO`` where its ambiguous tokens are judged."""
    if isinstance(tokens, str) and tokens == AUTO:
        return {c: AUTO for c in data.columns}
    if isinstance(tokens, Mapping):
        unknown = [c for c in tokens if c not in data.columns]
        if unknown:
            raise ValueError(f"tokens name columns that are not in the table: {unknown}; valid columns are "
                             f"{list(data.columns)}")
        return {c: ({str(t).strip() for t in tokens[c] or ()} if c in tokens else AUTO) for c in data.columns}
    if isinstance(tokens, str):
        raise ValueError(f"tokens must be 'auto', a sequence of strings, a dict column -> strings or None, "
                         f"got {tokens!r}")
    token_set = {str(t).strip() for t in (tokens or ())}
    return {c: token_set for c in data.columns}


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype))


def _stripped(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(which cells are strings, the cells with strings stripped of surrounding whitespace)."""
    txt = s.astype(object)
    is_str = txt.map(lambda v: isinstance(v, str)).to_numpy()
    return is_str, txt.where(~is_str, txt[is_str].str.strip() if is_str.any() else txt)


def _judged_token_cells(s: pd.Series, other_missing: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Token cells under ``"auto"``: the unambiguous tokens, and each ambiguous one the column's evidence calls missing."""
    if not _is_text(s):
        return np.zeros(len(s), dtype=bool), []
    is_str, stripped = _stripped(s)
    vals = np.array([v if isinstance(v, str) else None for v in stripped], dtype=object)
    sure = is_str & (stripped.isin(UNAMBIGUOUS_TOKENS).to_numpy() | (stripped == "").to_numpy())
    already = other_missing | sure
    out, said = sure.copy(), []
    present = [t for t in AMBIGUOUS_TOKENS if (is_str & (vals == t)).any()]
    ambiguous = is_str & np.isin(vals, present)
    for token in present:
        cells = is_str & (vals == token)
        others = stripped.to_numpy(dtype=object)[~already & ~ambiguous]
        missing, reason = judge_token(token, others, int(cells.sum()), bool(already.any()))
        if missing:
            out |= cells
        said.append(f"{token!r} ({int(cells.sum())} cells) {'read as missing' if missing else 'kept as a value'}: "
                    f"{reason}")
    return out, said


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _is_symbol(v) -> bool:
    return isinstance(v, str) and v != "" and not any(ch.isalnum() for ch in v)


def judge_token(token: str, others: np.ndarray, count: int, marks_missing: bool) -> tuple[bool, str]:
    """Whether an ambiguous ``token`` marks missing cells in a column, and why.

    ``others`` are the column's other observed values, ``count`` the token's cells, ``marks_missing`` whether
    the column already has cells missing another way (NaN, ``""``, ``"NA"``...). The rule:

    - a placeholder symbol (``"?"``) is missing unless the column's other values are symbols too
      (``"+"``, ``"-"``, ``"?"`` as the levels of a scale);
    - a word (``"none"``, ``"None"``, ``"na"``) is a value when it is the column's only value, when the column
      already writes its missing cells another way (a second, distinct marker is a level), or when the
      column's other values include text (it is one level among the others: ``"none"``, ``"some"``, ``"2"``);
      it is missing when every other value is a number and the numbers are at least as many (the column holds
      numbers, and a word there marks a cell without one).
    """
    levels = len(pd.unique(others)) if len(others) else 0
    if _is_symbol(token):
        if len(others) and all(_is_symbol(v) for v in others):
            return False, f"the column's other {levels} values are symbols too, so it is one level among them"
        return True, "a placeholder symbol, not a level among the column's values"
    if len(others) == 0:
        return False, "it is the column's only value"
    if marks_missing:
        return False, "the column already marks missing cells another way, so this is a distinct value"
    numbers = np.fromiter((_is_number(v) for v in others), dtype=bool, count=len(others))
    if numbers.all() and len(others) >= count:
        return True, f"every other value ({len(others)} cells) is a number"
    if numbers.all():
        return False, f"it is more common than the column's {len(others)} numbers, a level among them"
    return False, f"one level among the column's {levels} other values, which include text"


def missing_report(observed: pd.DataFrame) -> pd.DataFrame:
    """The report of :func:`detect` for a table whose only missing cells are NaN (one row per column)."""
    missing = ~observed.to_numpy(dtype=bool)
    count = missing.sum(axis=0)
    return pd.DataFrame({"n_missing": count, "fraction": missing.mean(axis=0) if len(missing) else 0.0,
                         "nan": count, "token": 0, "sentinel": 0},
                        index=pd.Index(observed.columns, name="column"))


def with_outliers(report: pd.DataFrame | None, observed: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``report`` (or :func:`missing_report` of ``observed`` when None) with an ``outliers`` column: per
    source column, the observed values the encoder found beyond its fences at fit
    (:func:`invimpute.tables.scaling.fences`): left out of its scaling and fill range, clipped when encoded,
    and kept as they are in the output."""
    report = missing_report(observed) if report is None else report.copy()
    found = {spec.name: int(spec.outliers) for spec in schema.columns}  # passed-through columns have none
    report["outliers"] = [found.get(c, 0) for c in report.index]
    return report


def _sentinels_by_column(data: pd.DataFrame, sentinels) -> dict:
    """Each column's sentinel values, from a mapping (its names checked) or one sequence for all."""
    if isinstance(sentinels, Mapping):
        unknown = [c for c in sentinels if c not in data.columns]
        if unknown:
            raise ValueError(
                f"sentinels name columns that are not in the table: {unknown}; "
                f"valid columns are {list(data.columns)}"
            )
        return {c: list(v) for c, v in sentinels.items()}
    return {c: list(sentinels or ()) for c in data.columns}


def _token_cells(s: pd.Series, token_set: set[str]) -> np.ndarray:
    """Text cells that are a missing-value token or blank (after stripping whitespace)."""
    if not _is_text(s):
        return np.zeros(len(s), dtype=bool)
    is_str, stripped = _stripped(s)
    return is_str & (stripped.isin(token_set).to_numpy() | (stripped == "").to_numpy())


def _sentinel_cells(s: pd.Series, marks: list) -> np.ndarray:
    """Cells holding one of ``marks`` (as values, or as text after stripping for text columns)."""
    if not marks:
        return np.zeros(len(s), dtype=bool)
    na = s.isna().to_numpy()
    sen = s.isin(marks).to_numpy() & ~na
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        sen |= s.astype(str).str.strip().isin([str(m) for m in marks]).to_numpy() & ~na
    return sen


def _blanked(s: pd.Series, missing: np.ndarray) -> pd.Series:
    """``s`` with its missing cells NaN (categoricals as objects, integers and bools as float64)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(object).where(~missing, np.nan)
    if s.dtype.kind in "iub":
        return s.astype("float64").where(~missing, np.nan)
    return s.where(~missing, np.nan)


__all__ = [
    "DEFAULT_TOKENS", "UNAMBIGUOUS_TOKENS", "AMBIGUOUS_TOKENS", "AUTO", "Detection", "detect", "judge_token",
    "missing_report", "with_outliers",
]
