"""A column's values by kind, as numbers and back: numbers, datetimes and timedeltas on their time axis, booleans.

:func:`is_bool`, :func:`is_time`, :func:`is_numeric` and :func:`numeric_like` tell a column's kind;
:func:`to_float` reads its values as float64 (junk refused by name) and :func:`restore_numeric` turns
decoded floats back into the fitted dtype.

The encoder (:mod:`invimpute.encoding.encoder`) imputes datetime, timedelta and tz-aware columns as numbers:
counts of the column's own unit (``"s"`` ... ``"ns"``) since the Unix epoch in UTC, or of a duration; the
decoded numbers come back in the column's dtype and time zone. Arrow dates (``date32``/``date64``, what
polars ``Date`` columns become) are read as seconds and come back as whole days in their own dtype. Boolean columns accept bools, the numbers
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


def is_date_dtype(dtype) -> bool:
    """An Arrow date type (``date32[pyarrow]``, ``date64[pyarrow]``, polars ``Date``): calendar days, no time."""
    dt = pd.api.types.pandas_dtype(dtype) if isinstance(dtype, str) else dtype
    if not isinstance(dt, pd.ArrowDtype):
        return False
    import pyarrow as pa

    return pa.types.is_date(dt.pyarrow_dtype)


def time_unit(dtype: str) -> str:
    """The resolution ("s", "ms", "us", "ns") of a datetime/timedelta dtype named by ``dtype``."""
    dt = pd.api.types.pandas_dtype(dtype)
    if is_date_dtype(dt):
        return "s"
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
    if is_date_dtype(dt):  # dates: whole days (seconds rounded to the nearest day)
        v = np.rint(np.asarray(v, dtype=np.float64) / 86400.0) * 86400.0
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


def is_bool(s: pd.Series) -> bool:
    """True/False values: a bool dtype (NumPy, nullable ``boolean``, ``bool[pyarrow]``) or objects that are all bools."""
    if pd.api.types.is_bool_dtype(s.dtype) and s.dtype != object:
        return True
    if s.dtype == object:
        vals = s.dropna()
        return len(vals) > 0 and vals.map(lambda v: isinstance(v, (bool, np.bool_))).all()
    return False


def is_time(s: pd.Series) -> bool:
    """A datetime (naive or tz-aware) or timedelta column, NumPy- or Arrow-backed."""
    return getattr(s.dtype, "kind", "") in ("M", "m")


def is_numeric(s: pd.Series) -> bool:
    """A column of numbers: a numeric dtype that is neither boolean nor a time."""
    return pd.api.types.is_numeric_dtype(s.dtype) and not is_bool(s) and not is_time(s)


def to_float(s: pd.Series, name: object, unit: str | None = None) -> np.ndarray:
    """Numeric values of ``s`` as float64 with NaN for missing; junk raises naming the column.

    Datetime and timedelta columns are read on their time axis, in ``unit`` (the fitted resolution).
    """
    if is_time(s):
        v = time_values(s, unit or time_unit(str(s.dtype)))
    elif is_numeric(s):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna()
        if bad.any():
            example = s[bad].iloc[0]
            raise ValueError(
                f"column {name!r} is numeric but holds non-numeric value {example!r} "
                f"({int(bad.sum())} cells); add it to `tokens`/`sentinels` if it marks a missing value, "
                f"or pass the column in `categorical=`"
            )
        v = conv.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(v).any():
        raise ValueError(
            f"column {name!r} contains ±inf; replace infinite values (with NaN to impute them) before fitting"
        )
    return v


def numeric_like(s: pd.Series) -> bool:
    """A text column (object or pandas string dtype) whose observed values are mostly numbers.

    A CSV read as text gives such a column. When most values parse but some do not, the column is
    still numeric: encoding it raises and names the junk (instead of silently making a categorical
    column with one category per number); pass it in ``categorical=`` to keep it as labels.
    """
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return False
    vals = s.dropna()
    if len(vals) == 0:
        return False
    conv = pd.to_numeric(vals, errors="coerce")
    return bool(conv.notna().mean() > 0.5)


def restore_numeric(v: np.ndarray, dtype: str):
    """Decoded float64 values in the fitted dtype: integers rounded and clipped, times on their own axis."""
    try:
        dt = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return v
    kind = getattr(dt, "kind", "O")
    if kind in ("M", "m"):
        return times_from_values(v, dtype)
    if kind in "iu":
        info = np.iinfo(dt.numpy_dtype if hasattr(dt, "numpy_dtype") else dt)
        ints = np.clip(np.rint(v), info.min, info.max).astype(info.dtype)
        return ints if isinstance(dt, np.dtype) else pd.array(ints, dtype=dt)
    if kind == "f":
        big = float(np.finfo(dt.numpy_dtype if hasattr(dt, "numpy_dtype") else dt).max)
        v = np.clip(v, -big, big)
        return v.astype(dt) if isinstance(dt, np.dtype) else pd.array(v, dtype=dt)
    return v


__all__ = ["is_time_dtype", "is_date_dtype", "time_unit", "time_index", "time_values", "times_from_values", "bool_values", "is_bool",
           "is_time", "is_numeric", "numeric_like", "to_float", "restore_numeric"]
