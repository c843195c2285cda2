"""A CSV filled into a CSV: every observed cell written back as the text it was read as, only fills formatted.

Parsing a CSV and writing the frame back would rewrite observed cells (``65`` read into a column with
gaps becomes the float ``65.0``; ``0.10`` becomes ``0.1``; ``00123`` becomes ``123``). A CSV-to-CSV job
therefore reads every chunk twice in step: once parsed for the model, once as the raw text of each field
(:meth:`~invimpute.job.readers.CsvSource.text_chunks`). It writes the raw text of every observed cell and
formats only the filled cells, in the style of their column, decided from the whole file's observed text
before the first chunk (:func:`column_styles`), so every chunk of a column is written the same way and a
resumed job writes the same bytes as an uninterrupted one:

- a number column whose observed numbers are all whole gets whole fills (``12``, never ``11.73``: counts
  stay counts; written ``12.0`` in a column that writes ``10.0``); otherwise fills get as many decimals as
  the most any observed number shows, or Python's shortest round-trip form when the column uses
  exponent notation;
- a date or datetime fill is written in the column's own format, guessed from its observed text
  (a column of dates gets dates, ``2021-07-17``, never a time of day);
- a boolean fill is written as the column writes that value (``TRUE``, ``yes``, ``1``...);
- a fill that is already text (a category level) is written as it is.

A field keeps its content, not its quoting: a field quoted in the input without need is written unquoted.
Parquet and ``.npy`` outputs are typed and written from the parsed values as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_TRUE, _FALSE = ("true", "yes", "t", "y"), ("false", "no", "f", "n")
_LOOK_AT = 64
"""Texts per chunk that are not numbers looked at for a boolean spelling or a date format."""


@dataclass
class ColumnStyle:
    """How a column writes its values: numbers (``integral``: every observed number is a whole number;
    ``decimals``, ``exponent``), dates (``date_format``), booleans (the text of True and of False)."""

    numbers: int = 0
    integral: bool = True
    decimals: int = 0
    exponent: bool = False
    date_format: str | None = None
    date_seen: bool = False
    booleans: dict = field(default_factory=dict)

    def observe(self, texts: pd.Series) -> None:
        """Fold one chunk's observed (non-missing) texts of this column into the style (vectorised: the
        whole file is read once this way)."""
        values = pd.to_numeric(texts, errors="coerce")
        numeric = values.notna() & np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        nums, vals = texts[numeric].str.strip(), values[numeric].to_numpy(dtype=float)
        if len(nums):
            self.numbers += len(nums)
            self.integral = self.integral and bool(np.all(vals == np.floor(vals)))
            exponent = nums.str.contains("[eE]", regex=True)
            self.exponent = self.exponent or bool(exponent.any())
            plain = nums[~exponent]
            point = plain.str.find(".")
            after = (plain.str.len() - point - 1)[point >= 0]
            if len(after):
                self.decimals = min(max(self.decimals, int(after.max())), 17)
        for t in texts[~numeric].head(_LOOK_AT):
            low = t.strip().lower()
            if low in _TRUE or low in _FALSE:
                self.booleans.setdefault(low in _TRUE, t)
            elif not self.date_seen:
                self.date_seen = True
                self.date_format = _date_format(t)

    def format(self, value) -> str:
        """One fill as text in this column's style."""
        if isinstance(value, str):
            return value
        if isinstance(value, (bool, np.bool_)):
            return self.booleans.get(bool(value), str(bool(value)))
        if isinstance(value, (pd.Timestamp, np.datetime64)):
            ts = pd.Timestamp(value)
            return ts.strftime(self.date_format) if self.date_format else ts.isoformat(sep=" ")
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        v = float(value)
        if not np.isfinite(v):
            return repr(v)
        if self.integral:
            v = float(round(v))
        if self.exponent:
            return repr(v)
        if self.integral and self.decimals == 0:
            return str(int(v))
        return f"{v:.{self.decimals}f}"


def _date_format(text: str) -> str | None:
    """The strftime format of one date text (``"%Y-%m-%d"``), or None when it is not a date."""
    from pandas.tseries.api import guess_datetime_format

    try:
        return guess_datetime_format(text.strip())
    except (ValueError, TypeError):
        return None


def column_styles(source) -> dict:
    """Every column's :class:`ColumnStyle`, from the observed text of the whole CSV ``source``."""
    styles = {name: ColumnStyle() for name in source.columns}
    for chunk in source.observed_text_chunks():
        for name in source.columns:
            col = chunk[name]
            styles[name].observe(col[col.notna()])
    return styles


def as_text(raw: pd.DataFrame, data: pd.DataFrame, observed: np.ndarray, styles: dict) -> pd.DataFrame:
    """The filled chunk as text: ``raw``'s text where ``observed``, ``data``'s fills formatted elsewhere."""
    cols = {}
    for j, name in enumerate(data.columns):
        text = raw[name].to_numpy(dtype=object).copy()
        m = ~observed[:, j]
        if m.any():
            style = styles[name]
            text[m] = [style.format(v) for v in data[name].to_numpy(dtype=object)[m]]
        cols[name] = text
    return pd.DataFrame(cols, index=data.index)


__all__ = ["ColumnStyle", "column_styles", "as_text"]
