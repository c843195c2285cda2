"""The fills merged into a copy of the caller's table, each in its column's own dtype and style.

Observed cells keep their value and their type and every column keeps its dtype. Rules for cells whose
type cannot carry a number:
- numbers stored as text (a CSV column with "?" read as strings) stay text: fills are written as text in
  the column's own style (integers when every observed value is an integer, otherwise as many decimals
  as the observed values show), so the column never mixes ``str`` and ``float``;
- an ``object`` column of Python ints gets int fills, one of bools bool fills;
- datetime, timedelta and tz-aware columns are imputed as numbers on their time axis (see
  :mod:`invimpute.encoding.encoder`) and come back in their own dtype and time zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def merge_filled(base: pd.DataFrame, fills: pd.DataFrame, missing: np.ndarray) -> pd.DataFrame:
    """A copy of ``base`` whose cells where ``missing`` is True hold ``fills`` (same shape, by position).

    Every column keeps its dtype and every observed cell its value and type; the fills are converted to
    the column's own representation (see the module docstring for text and ``object`` columns).
    """
    missing = np.asarray(missing, dtype=bool).reshape(base.shape)
    out = base.copy()
    for j in range(base.shape[1]):
        m = missing[:, j]
        if m.any():
            col = base.iloc[:, j]
            filled = _filled_column(col, fills.iloc[:, j].to_numpy()[m], m, base.columns[j])
            out.isetitem(j, pd.Series(filled, index=base.index, dtype=col.dtype, copy=False))
    return out


def _filled_column(col: pd.Series, values: np.ndarray, m: np.ndarray, name):
    dtype = col.dtype
    observed = col[~m]
    if isinstance(dtype, pd.StringDtype) or (dtype == object and _all_text(observed)):
        values = np.asarray(_as_text(values, observed), dtype=object)
    elif dtype == object:
        values = _as_objects(values, observed)
    elif pd.api.types.is_integer_dtype(dtype) and np.asarray(values).dtype.kind == "f":
        values = np.rint(values)
    arr = col.array.copy()
    try:
        arr[m] = values if dtype == object else pd.array(values, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"column {name!r}: the imputed values (e.g. {values[0]!r}) cannot be stored in its dtype "
                         f"{dtype}: {err}; give the column the dtype it had at fit") from err
    if pd.isna(arr[m]).any():
        bad = values[np.asarray(pd.isna(arr[m]))][0]
        raise ValueError(f"column {name!r}: the imputed value {bad!r} is not a valid {dtype} value (for a "
                         f"categorical column, one of its categories); give the column the categories it had at fit")
    return arr


def _all_text(observed: pd.Series) -> bool:
    return len(observed) > 0 and pd.api.types.infer_dtype(observed, skipna=True) == "string"


def _as_text(values: np.ndarray, observed: pd.Series) -> list:
    """Fills for a text column, as text in the style of its observed values."""
    out = [v for v in values]
    if all(isinstance(v, str) for v in out):
        return out
    numbers = [v for v in out if not isinstance(v, str)]
    if all(isinstance(v, (bool, np.bool_)) for v in numbers):
        return [v if isinstance(v, str) else str(bool(v)) for v in out]
    decimals = _decimals(observed)
    return [v if isinstance(v, str) else _format_number(float(v), decimals) for v in out]


def _decimals(observed: pd.Series) -> int | None:
    """Digits after the point the observed numbers show (0 for integers), or None for exponent notation."""
    most = 0
    for text in observed.astype(str):
        t = text.strip().lower()
        if "e" in t and t not in ("inf", "-inf"):
            return None
        if "." in t:
            most = max(most, len(t) - t.index(".") - 1)
    return min(most, 17)


def _format_number(v: float, decimals: int | None) -> str:
    if decimals is None:
        return repr(v)
    if decimals == 0:
        return str(int(round(v)))
    return f"{v:.{decimals}f}"


def _as_objects(values: np.ndarray, observed: pd.Series) -> np.ndarray:
    """Fills for an ``object`` column: Python ints when every observed value is an integer, else as given."""
    out = np.empty(len(values), dtype=object)
    kind = pd.api.types.infer_dtype(observed, skipna=True) if len(observed) else ""
    for i, v in enumerate(values):
        if kind == "integer" and isinstance(v, (float, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_)):
            v = int(round(float(v)))
        elif isinstance(v, np.generic):
            v = v.item()
        out[i] = v
    return out


__all__ = ["merge_filled"]
