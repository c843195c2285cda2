"""Reading a column's values by kind: datetimes and timedeltas on their time axis, booleans from bools, 0/1 or text.

The encoder (:mod:`invimpute.encoding`) imputes datetime, timedelta and tz-aware columns as numbers:
counts of the column's own unit (``"s"`` ... ``"ns"``) since the Unix epoch in UTC, or of a duration; the
decoded numbers come back in the column's dtype and time zone. Boolean columns accept bools, the numbers
0/1 and the text "True"/"False" (any case), and refuse anything else by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_time_dtype(dtype: str) -> bool:
    try:
        return getattr(pd.api.types.pandas_dtype(dtype), "kind", "") in ("M", "m")
    except TypeError:
        return False


def time_unit(dtype: str) -> str:
    """The resolution ("s", "ms", "us", "ns") of a datetime/timedelta dtype named by ``dtype``."""
    dt = pd.api.types.pandas_dtype(dtype)
    if isinstance(dt, pd.ArrowDtype):
        return dt.pyarrow_dtype.unit
    if isinstance(dt, pd.DatetimeTZDtype):
        return dt.unit
    return np.datetime_data(dt)[0]


def time_index(s: pd.Series, unit: str) -> pd.Index:
    index = pd.DatetimeIndex(s) if s.dtype.kind == "M" else pd.TimedeltaIndex(s)
    return index.as_unit(unit)


def time_values(s: pd.Series, unit: str) -> np.ndarray:
    """Datetimes as float64 counts of ``unit`` since the Unix epoch (UTC), timedeltas as counts of ``unit``."""
    index = time_index(s, unit)
    v = index.asi8.astype(np.float64)
    v[np.asarray(index.isna())] = np.nan
    return v


def times_from_values(v: np.ndarray, dtype: str):
    """Counts of the unit of ``dtype`` (float64, as from :func:`time_values`) back as an array of ``dtype``."""
    dt = pd.api.types.pandas_dtype(dtype)
    unit = time_unit(dtype)
    ticks = np.rint(v).astype(np.int64)
    if dt.kind == "m":
        return pd.array(pd.TimedeltaIndex(ticks.view(f"m8[{unit}]"))).astype(dt)
    values = pd.DatetimeIndex(ticks.view(f"M8[{unit}]"))
    tz = getattr(dt, "tz", None) or getattr(getattr(dt, "pyarrow_dtype", None), "tz", None)
    if tz is not None:
        values = values.tz_localize("UTC").tz_convert(tz)
    return pd.array(values).astype(dt)


_TRUE = frozenset({"true", "1", "1.0"})
_FALSE = frozenset({"false", "0", "0.0"})


def bool_values(s: pd.Series, name: object) -> np.ndarray:
    """Observed values of a boolean column as 0.0/1.0: bools, the numbers 0/1, or the text "True"/"False".

    Anything else raises naming the column, so a changed column is refused instead of read as False.
    """
    if s.dtype != object and pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.float32)
    out = np.empty(len(s), dtype=np.float32)
    for i, v in enumerate(s.astype(object)):
        if isinstance(v, str):
            key = v.strip().lower()
            if key in _TRUE or key in _FALSE:
                out[i] = key in _TRUE
                continue
        elif isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1)):
            out[i] = bool(v)
            continue
        raise ValueError(
            f"column {name!r} held True/False values at fit but holds {v!r} ({type(v).__name__}); give True/False "
            f"(or 1/0, or the text 'True'/'False') in this column, or refit on the new table"
        )
    return out


__all__ = ["is_time_dtype", "time_unit", "time_index", "time_values", "times_from_values", "bool_values"]
