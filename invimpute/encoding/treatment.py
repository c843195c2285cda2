"""What the imputer does with each column, decided from its values, reported, and overridable.

Every column gets one treatment (:data:`TREATMENTS`), decided from its observed values by :func:`decide`
and listed with what was found and why in a :class:`Plan`:

- ``"number"``: numbers; ``"integer"``: an integer dtype, or numbers that are all whole (a float column of
  counts): fills are rounded to whole numbers (``"number"`` keeps fractional fills);
- ``"boolean"``: True/False values;
- ``"category"``: text, codes, or a few levels mixing words and numbers (``"none"``, ``"2"``), with at most :data:`HIGH_CARDINALITY` levels; ``"high_cardinality"``: more;
  text of digits is a code (a category), not a number, when a value has a leading zero (``"01234"``) or
  when every value has the same width of at least :data:`CODE_WIDTH` digits and the column has more than
  :data:`HIGH_CARDINALITY` levels (zip codes, product codes);
- ``"datetime"``: datetime and Arrow date columns, and dates written as text (every observed value parses
  with one format inferred from them, naming at least a year and a month): imputed on their time axis and written back as text in that
  format; a date-only format gets whole dates;
- ``"constant"``: one observed value: its missing cells get it, and it is no feature of the others;
- ``"passthrough"``: identifiers (text, or integers numbering the rows, distinct in at least
  :data:`IDENTIFIER_SHARE` of at least :data:`IDENTIFIER_ROWS` observed rows) and free text (long, mostly
  distinct strings): never a feature, given back exactly as they came, missing cells included.

``encoding={"columns": {name: treatment}}`` (:class:`~invimpute.config.EncodingConfig`) overrides a decision.
The names and thresholds are public: the encoder's bounded encoding of many-level categories builds on them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from invimpute.tables.columns import bool_values, is_bool, is_date_dtype, is_numeric, is_time, numeric_like

HIGH_CARDINALITY = 50
"""A category column with more levels than this is a ``"high_cardinality"`` category."""

TREATMENTS: tuple[str, ...] = (
    "number", "integer", "boolean", "category", "high_cardinality", "datetime", "constant", "passthrough",
)
"""The treatments a column can get (and the values ``encoding={"columns": {name: treatment}}`` accepts)."""

IMPUTED = frozenset({"number", "integer", "boolean", "category", "high_cardinality", "datetime"})
"""The treatments whose columns the method models (encoded and filled by it)."""

IDENTIFIER_ROWS = 20
"""Fewer observed rows than this never make an identifier (every value of a tiny table is distinct)."""
IDENTIFIER_SHARE = 0.95
"""An identifier has at least this share of distinct values among its observed rows."""
FREE_TEXT_LENGTH = 30
"""Free text: values this long on average (characters), or of at least :data:`FREE_TEXT_WORDS` words."""
FREE_TEXT_WORDS = 4
CODE_WIDTH = 3
"""Digits-as-text codes of one fixed width: at least this many digits."""

_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%f", "%p", "%X", "%c", "%T")


@dataclass(frozen=True)
class Treatment:
    """One column's treatment: what its values are (``found``), what is done (``treatment``), and why.

    ``format`` is the strftime format of dates written as text (None otherwise), ``date_only`` whether
    it has no time of day, ``value`` a constant column's value, ``overridden`` whether the user chose it.
    """

    name: object
    treatment: str
    found: str
    detail: str = ""
    format: str | None = None
    date_only: bool = False
    value: object = None
    overridden: bool = False

    @property
    def imputed(self) -> bool:
        return self.treatment in IMPUTED


@dataclass(frozen=True)
class Plan:
    """Every column's :class:`Treatment`, in the table's order; how the table goes to the encoder and back."""

    columns: tuple[Treatment, ...]

    @property
    def names(self) -> list:
        return [t.name for t in self.columns]

    @property
    def encoded(self) -> list:
        """The names of the columns the method models, in order."""
        return [t.name for t in self.columns if t.imputed]

    @property
    def categorical(self) -> tuple:
        return tuple(t.name for t in self.columns if t.treatment in ("category", "high_cardinality"))

    def table(self) -> pd.DataFrame:
        """One row per column: what was found, the treatment, and why."""
        rows = [{"column": t.name, "found": t.found, "treatment": t.treatment,
                 "detail": t.detail + (" (set by encoding['columns'])" if t.overridden else "")} for t in self.columns]
        return pd.DataFrame(rows).set_index("column")

    def to_dict(self) -> dict:
        return {"columns": [{**asdict(t), "value": _plain(t.value)} for t in self.columns]}

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        return cls(columns=tuple(Treatment(**t) for t in d["columns"]))

    @classmethod
    def plain(cls, frame: pd.DataFrame, found: str = "pixel") -> "Plan":
        """Every column a ``"number"`` (images, and checkpoints saved before treatments existed)."""
        return cls(columns=tuple(Treatment(c, "number", found) for c in frame.columns))

    def imputable(self, observed: np.ndarray) -> np.ndarray:
        """The cells to fill: missing cells of every column that is not passed through."""
        keep = np.array([t.treatment != "passthrough" for t in self.columns], dtype=bool)
        return ~np.asarray(observed, dtype=bool) & keep[None, :]

    def prepare(self, frame: pd.DataFrame, observed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The encoder's table: the modelled columns only, text dates parsed, numbers written as text read.

        Raises naming the column (and the override to use) for a value its treatment cannot read.
        """
        out, obs = {}, {}
        for t in self.columns:
            if not t.imputed:
                continue
            s, o = frame[t.name], observed[t.name].to_numpy()
            out[t.name], obs[t.name] = _prepared(t, s, o), o
        return pd.DataFrame(out, index=frame.index), pd.DataFrame(obs, index=frame.index)

    def restore(self, decoded: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
        """Fills for every column of ``frame`` (by position) from the encoder's decoded columns."""
        out = {}
        for j, t in enumerate(self.columns):
            if t.treatment == "passthrough":
                out[j] = frame.iloc[:, j].astype(object)
            elif t.treatment == "constant":
                out[j] = pd.Series([t.value] * len(frame), index=frame.index, dtype=object)
            else:
                out[j] = _restored(t, decoded[t.name].set_axis(frame.index))
        result = pd.DataFrame(out, index=frame.index)
        result.columns = frame.columns
        return result


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


# ---- deciding -------------------------------------------------------------------------------------------
def check_overrides(columns) -> None:
    """Refuse ``encoding["columns"]`` unless it maps column names to treatments (the error lists them)."""
    if columns is None:
        return
    if not isinstance(columns, Mapping):
        raise ValueError(f"EncodingConfig.columns must be a dict column -> treatment (one of {list(TREATMENTS)}), "
                         f"got {columns!r}")
    for name, value in columns.items():
        if value not in TREATMENTS:
            raise ValueError(f"EncodingConfig.columns: column {name!r} asks for treatment {value!r}; valid "
                             f"treatments are {list(TREATMENTS)}")


def decide(frame: pd.DataFrame, observed: pd.DataFrame, overrides: Mapping | None = None,
           categorical: tuple = ()) -> Plan:
    """Each column's treatment from its observed values; ``overrides`` (column -> treatment) win.

    ``categorical`` names numeric columns to treat as categories (:class:`~invimpute.config.EncodingConfig`).
    """
    overrides = dict(overrides or {})
    check_overrides(overrides)
    unknown = [c for c in list(overrides) + list(categorical) if c not in frame.columns]
    if unknown:
        raise ValueError(f"encoding names columns that are not in the table: {unknown}; valid columns are "
                         f"{list(frame.columns)}")
    plan = []
    for col in frame.columns:
        s = frame[col][observed[col].to_numpy()]
        if col in overrides:
            plan.append(_overridden(col, s, overrides[col]))
        elif len(s) == 0:
            raise ValueError(f"column {col!r} has no observed values; drop it, supply some values, or pass "
                             f"encoding={{'columns': {{{col!r}: 'passthrough'}}}} to give it back as it is")
        else:
            plan.append(_decided(col, s, col in categorical))
    result = Plan(columns=tuple(plan))
    if not result.encoded:  # only constant (and passed-through) columns: model the constant ones as they are
        result = Plan(columns=tuple(
            _decided(t.name, frame[t.name][observed[t.name].to_numpy()], False, constant=False)
            if t.treatment == "constant" and not t.overridden else t for t in result.columns))
    if not result.encoded:
        raise ValueError(f"no column is left to impute from: every column is passed through or constant "
                         f"({result.table()['found'].to_dict()}); give the columns to model with "
                         f"encoding={{'columns': {{name: 'category' | 'number' | ...}}}}")
    return result


def _levels(n: int) -> str:
    return "high_cardinality" if n > HIGH_CARDINALITY else "category"


def _decided(col, s: pd.Series, categorical: bool, constant: bool = True) -> Treatment:
    """The treatment of one column with observed values ``s`` (not empty); ``constant``: one value is a constant."""
    distinct = int(pd.Series(s.astype(object)).nunique())
    if categorical:
        return Treatment(col, _levels(distinct), "category", f"{distinct} levels (encoding['categorical'])")
    if is_bool(s):
        return Treatment(col, "boolean", "boolean", "True/False values")
    if is_time(s):
        return Treatment(col, "datetime", "date" if is_date_dtype(s.dtype) else "datetime", f"{s.dtype} values")
    if distinct == 1 and constant:
        return Treatment(col, "constant", "constant", f"one value, {s.iloc[0]!r}: its missing cells get it",
                         value=_plain(s.iloc[0]))
    if isinstance(s.dtype, pd.CategoricalDtype):
        return Treatment(col, _levels(distinct), "category", f"{distinct} levels (a pandas categorical)")
    if is_numeric(s):
        return _numbers(col, s.to_numpy(dtype=np.float64, na_value=np.nan), distinct,
                        pd.api.types.is_integer_dtype(s.dtype))
    text = s.astype(object).map(lambda v: v.strip() if isinstance(v, str) else str(v))
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        if _is_code(text, distinct):
            return Treatment(col, _levels(distinct), "code written as digits",
                             f"{distinct} levels; text of digits with a leading zero or one fixed width")
        return _numbers(col, numbers.to_numpy(dtype=np.float64), distinct, False)
    if numeric_like(s) and distinct > HIGH_CARDINALITY:
        junk = text[numbers.isna()]
        raise ValueError(f"column {col!r} holds numbers and {len(junk)} cells of other text (e.g. {junk.iloc[0]!r}); "
                         f"list that text in encoding['tokens'] if it marks missing cells, or pass "
                         f"encoding={{'columns': {{{col!r}: 'category'}}}} (or 'passthrough')")
    fmt = infer_date_format(text)
    if fmt is not None:
        date_only = not any(d in fmt for d in _TIME_DIRECTIVES)
        return Treatment(col, "datetime", "date written as text" if date_only else "datetime written as text",
                         f"format {fmt!r}; filled back as text in it", format=fmt, date_only=date_only)
    return _text(col, text, distinct)


def _numbers(col, v: np.ndarray, distinct: int, integer_dtype: bool) -> Treatment:
    v = v[~np.isnan(v)]
    whole = integer_dtype or bool(np.all(v == np.rint(v)))
    if whole and len(v) >= IDENTIFIER_ROWS and distinct == len(v) and v.max() - v.min() + 1 <= 2 * len(v):
        return Treatment(col, "passthrough", "identifier",
                         f"{distinct} distinct whole numbers numbering {len(v)} rows: not a feature, given back as is")
    if whole:
        return Treatment(col, "integer", "integer", f"{distinct} distinct whole numbers: fills are rounded")
    return Treatment(col, "number", "number", f"{distinct} distinct numbers")


def _is_code(text: pd.Series, distinct: int) -> bool:
    """Digits written as text that are a code: a leading zero, or one fixed width and many levels."""
    digits = text.str.fullmatch(r"\d+")
    if not digits.all():
        return False
    if (text.str.startswith("0") & (text.str.len() > 1)).any():
        return True
    widths = text.str.len()
    return bool(widths.nunique() == 1 and widths.iloc[0] >= CODE_WIDTH and distinct > HIGH_CARDINALITY)


def _text(col, text: pd.Series, distinct: int) -> Treatment:
    n = len(text)
    length = float(text.str.len().mean())
    words = float(text.str.split().str.len().mean())
    long = length >= FREE_TEXT_LENGTH or words >= FREE_TEXT_WORDS
    if n >= IDENTIFIER_ROWS and distinct >= IDENTIFIER_SHARE * n:
        kind = "free text" if long else "identifier"
        return Treatment(col, "passthrough", kind,
                         f"{distinct} distinct values in {n} rows: not a feature, given back as is")
    if long and n >= IDENTIFIER_ROWS and distinct >= 0.5 * n:
        return Treatment(col, "passthrough", "free text",
                         f"{distinct} distinct values of {length:.0f} characters on average: given back as is")
    return Treatment(col, _levels(distinct), "category", f"{distinct} levels")


def infer_date_format(text: pd.Series) -> str | None:
    """The one strftime format every value of ``text`` parses with, or None when they are not dates."""
    from pandas.tseries.api import guess_datetime_format

    values = pd.unique(text.to_numpy(dtype=object))
    if not len(values) or not all(isinstance(v, str) and any(ch.isalpha() or ch in "-/:. " for ch in v)
                                  for v in values[:20]):
        return None
    candidates = []
    for v in values[:5]:
        for dayfirst in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fmt = guess_datetime_format(v, dayfirst=dayfirst)
            if fmt is not None and fmt not in candidates and _calendar(fmt):
                candidates.append(fmt)
    for fmt in candidates:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(pd.Series(values), format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None


def _calendar(fmt: str) -> bool:
    """A format naming a year and a month (not a bare month or weekday name) and no time zone."""
    return (("%Y" in fmt or "%y" in fmt) and any(d in fmt for d in ("%m", "%b", "%B"))
            and "%z" not in fmt and "%Z" not in fmt)


def _overridden(col, s: pd.Series, treatment: str) -> Treatment:
    """The user's treatment for a column, with what it needs (a text date's format, a constant's value)."""
    found = "set by the user"
    if treatment == "datetime" and not is_time(s):
        text = s.astype(object).map(lambda v: v.strip() if isinstance(v, str) else str(v))
        fmt = infer_date_format(text) if len(s) else None
        if fmt is None:
            raise ValueError(f"column {col!r}: encoding['columns'] asks for 'datetime', but its values (e.g. "
                             f"{s.iloc[0] if len(s) else None!r}) do not parse as dates with one format; convert "
                             f"it with pd.to_datetime(..., format=...) or choose 'category' or 'passthrough'")
        date_only = not any(d in fmt for d in _TIME_DIRECTIVES)
        return Treatment(col, "datetime", found, f"format {fmt!r}", format=fmt, date_only=date_only, overridden=True)
    if treatment == "constant":
        if not len(s):
            raise ValueError(f"column {col!r}: encoding['columns'] asks for 'constant' but it has no observed value")
        return Treatment(col, "constant", found, f"missing cells get {s.iloc[0]!r}", value=_plain(s.iloc[0]),
                         overridden=True)
    if treatment != "passthrough" and not len(s):
        raise ValueError(f"column {col!r} has no observed values; it can only be 'passthrough'")
    return Treatment(col, treatment, found, "", overridden=True)


# ---- to the encoder and back --------------------------------------------------------------------------------
def _prepared(t: Treatment, s: pd.Series, o: np.ndarray) -> pd.Series:
    """Column ``s`` as the encoder reads it under ``t`` (only observed cells are read)."""
    if t.format is not None:
        return _parse_dates(t, s, o)
    if t.treatment in ("number", "integer") and not (is_numeric(s) or is_time(s) or is_bool(s)):
        values = pd.Series(np.nan, index=s.index)
        got = pd.to_numeric(s[o].astype(object).map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
        bad = got.isna()
        if bad.any():
            raise ValueError(f"column {t.name!r} is treated as {t.treatment!r} but holds {s[o][bad].iloc[0]!r} "
                             f"({int(bad.sum())} cells); list it in encoding['tokens'] if it marks missing cells, or "
                             f"pass encoding={{'columns': {{{t.name!r}: 'category'}}}}")
        values[o] = got.to_numpy(dtype=np.float64)
        return values
    if t.treatment == "boolean" and not is_bool(s):
        values = pd.Series(pd.NA, index=s.index, dtype="boolean")
        values[o] = bool_values(s[o], t.name).astype(bool)
        return values
    return s


def _parse_dates(t: Treatment, s: pd.Series, o: np.ndarray) -> pd.Series:
    text = s[o].astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = pd.to_datetime(text, format=t.format, errors="coerce")
    bad = got.isna()
    if bad.any():
        raise ValueError(f"column {t.name!r} holds dates written as {t.format!r}, but {text[bad].iloc[0]!r} "
                         f"({int(bad.sum())} cells) is not one; list it in encoding['tokens'] if it marks missing "
                         f"cells, or pass encoding={{'columns': {{{t.name!r}: 'category'}}}} (or 'passthrough')")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    out[o] = got.dt.as_unit("s").to_numpy()
    return out


def _restored(t: Treatment, values: pd.Series) -> pd.Series:
    """Decoded values of a modelled column as the fills its treatment writes."""
    if t.format is not None:
        times = pd.to_datetime(values)
        if t.date_only:
            times = times.dt.round("D")
        return times.dt.strftime(t.format).astype(object)
    if t.treatment == "integer" and values.dtype.kind == "f":
        return pd.Series(np.rint(values.to_numpy()), index=values.index)
    return values


__all__ = ["HIGH_CARDINALITY", "TREATMENTS", "IMPUTED", "IDENTIFIER_ROWS", "IDENTIFIER_SHARE", "FREE_TEXT_LENGTH",
           "FREE_TEXT_WORDS", "CODE_WIDTH", "Treatment", "Plan", "decide", "check_overrides", "infer_date_format"]
