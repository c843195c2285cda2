"""Tables in and out: any table a caller has, to the pandas frame the encoder reads, and back to its own type.

:func:`read_table` accepts pandas DataFrames and Series, polars (and any other narwhals-supported) frames
and series, pyarrow Tables, objects with the Arrow PyCapsule interface (``__arrow_c_stream__``) or the
dataframe interchange protocol (``__dataframe__``), NumPy arrays and array-likes (lists of lists).
Non-pandas frames travel through Arrow, so every dtype is kept (``Int64`` with nulls, ``UInt8``,
categoricals and enums, time zones). :func:`merge_filled` writes the filled cells into a copy of the
caller's table, so observed cells keep their value and their type and every column keeps its dtype;
:func:`write_table` converts the result back (a polars frame gives a polars frame).

Rules for cells whose type cannot carry a number:
- numbers stored as text (a CSV column with "?" read as strings) stay text: fills are written as text in
  the column's own style (integers when every observed value is an integer, otherwise as many decimals
  as the observed values show), so the column never mixes ``str`` and ``float``;
- an ``object`` column of Python ints gets int fills, one of bools bool fills;
- datetime, timedelta and tz-aware columns are imputed as numbers on their time axis (see
  :mod:`invimpute.encoding`) and come back in their own dtype and time zone.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTPUTS = ("default", "pandas", "polars")
"""What ``set_output(transform=...)`` may ask for; ``"default"`` is the input's own type."""


@dataclass(frozen=True)
class Table:
    """A caller's table read for imputation.

    ``frame`` is what detection and the encoder read: the caller's columns and dtypes on a fresh
    ``RangeIndex`` (so duplicate index labels cannot misalign anything), with NaN in Arrow-backed float
    columns turned into missing values. ``base`` is the pandas form of the caller's table with its own
    index, into which :func:`merge_filled` writes. ``kind`` and the other fields say how to give the
    result back.
    """

    frame: pd.DataFrame
    base: pd.DataFrame
    kind: str  # "pandas", "series", "numpy", "arrow" (narwhals-native or Arrow-capable) or "arrow-series"
    backend: object = None  # the narwhals implementation to rebuild, or None for a pyarrow Table
    arrow_schema: object = None  # the input's Arrow schema, which the output is cast to
    array_dtype: np.dtype | None = None
    image_shape: tuple[int, int] | None = None
    series_name: object = None  # a pandas Series' own name (None included)

    @property
    def index(self) -> pd.Index:
        return self.base.index

    @property
    def columns(self) -> pd.Index:
        return self.base.columns


# ---- reading -----------------------------------------------------------------------------------------
def read_table(data, *, images: bool = False, input_name: str = "X", owner: str = "Imputer") -> Table:
    """``data`` as a :class:`Table`; with ``images``, (n, height, width) float arrays are flattened to rows.

    Refuses, with scikit-learn's wording where it has one: sparse input, complex numbers, 1-D input, empty
    tables, duplicate column names, and columns holding lists (naming the column).
    """
    _refuse_sparse(data, input_name)
    if isinstance(data, pd.DataFrame):
        table = Table(frame=data, base=data, kind="pandas")
    elif isinstance(data, pd.Series):
        base = data.to_frame(name=0 if data.name is None else data.name)
        table = Table(frame=base, base=base, kind="series", series_name=data.name)
    elif isinstance(data, np.ndarray) or not _is_frame_like(data):
        table = _read_array(data, images, input_name, owner)
    else:
        table = _read_arrow(data)
    _check_frame(table.base, input_name, owner)
    return _with_work_frame(table)


def _is_frame_like(data) -> bool:
    import narwhals as nw

    return (nw.dependencies.is_into_dataframe(data) or nw.dependencies.is_into_series(data)
            or hasattr(data, "__arrow_c_stream__") or hasattr(data, "__dataframe__"))


def _arrow_types(t):
    """Arrow type -> pandas dtype: text as pandas' ``string[pyarrow]``, dictionaries as categoricals, else ArrowDtype."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return None
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pd.StringDtype("pyarrow")
    return pd.ArrowDtype(t)


def _read_arrow(data) -> Table:
    import narwhals as nw
    import pyarrow as pa

    native = nw.from_native(data, eager_only=True, allow_series=True, pass_through=True)
    kind, backend = "arrow", None
    if isinstance(native, nw.Series):
        kind, backend = "arrow-series", native.implementation
        native = native.to_frame()
    if isinstance(native, nw.DataFrame):
        backend = backend or native.implementation
        arrow = native.to_arrow()
    elif hasattr(data, "__arrow_c_stream__"):
        arrow = pa.table(data)
    else:
        from pyarrow.interchange import from_dataframe

        arrow = from_dataframe(data)
    if backend is not None and backend.is_pyarrow():
        backend = None
    base = arrow.to_pandas(types_mapper=_arrow_types)
    return Table(frame=base, base=base, kind=kind, backend=backend, arrow_schema=arrow.schema)


def _read_array(data, images: bool, input_name: str, owner: str) -> Table:
    arr = data if isinstance(data, np.ndarray) else _as_array(data)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported\n{}\n".format(arr))
    if arr.ndim < 2:
        raise ValueError(
            f"Expected 2D array, got {'scalar' if arr.ndim == 0 else '1D'} array instead:\narray={arr!r}.\n"
            "Reshape your data either using array.reshape(-1, 1) if your data has a single feature or "
            "array.reshape(1, -1) if it contains a single sample."
        )
    image_shape = None
    if arr.ndim == 3 and images:
        _check_images(arr)
        image_shape = arr.shape[1:]
        arr2 = arr.reshape(arr.shape[0], -1)
    elif arr.ndim == 2:
        arr2 = arr
    else:
        raise ValueError(f"arrays must be 2-D tables{' or 3-D image stacks (n, height, width)' if images else ''}, "
                         f"got shape {arr.shape}")
    _check_shape(arr2.shape, input_name, owner)
    base = pd.DataFrame(arr2, copy=True)
    return Table(frame=base, base=base, kind="numpy", array_dtype=arr.dtype, image_shape=image_shape)


def _as_array(data) -> np.ndarray:
    """An array-like (lists of lists, tuples) as an ndarray; mixed rows keep their Python objects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.VisibleDeprecationWarning)
        try:
            arr = np.asarray(data)
        except ValueError:  # ragged rows
            arr = np.asarray(data, dtype=object)
    if arr.dtype.kind in "USV":  # numpy would turn the numbers of a mixed list into text
        arr = np.asarray(data, dtype=object)
    return arr


def _check_images(arr: np.ndarray) -> None:
    if arr.dtype.kind != "f":
        raise TypeError(f"image arrays must be floats in [0, 1], got dtype {arr.dtype}; divide uint8 images by 255")
    finite = arr[np.isfinite(arr)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise ValueError("image arrays must hold values in [0, 1] (NaN where missing); rescale them first")


def _check_shape(shape: tuple[int, ...], input_name: str, owner: str) -> None:
    by = f" by {owner}" if owner else ""
    if shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required{by} "
                         f"(the table {input_name} is empty; give at least one row and one column).")
    if shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required{by} "
                         f"(the table {input_name} is empty; give at least one row and one column).")


def _check_frame(frame: pd.DataFrame, input_name: str, owner: str) -> None:
    _check_shape(frame.shape, input_name, owner)
    if not frame.columns.is_unique:
        counts = frame.columns.value_counts()
        dup = {name: int(k) for name, k in counts[counts > 1].items()}
        raise ValueError(
            f"column names of {input_name} must be unique; repeated: "
            + ", ".join(f"{name!r} ({k} times)" for name, k in dup.items())
            + "; rename the repeats (for example df.columns = [...])"
        )
    for j, dtype in enumerate(frame.dtypes):
        name = frame.columns[j]
        if isinstance(dtype, pd.SparseDtype):
            raise TypeError(f"Sparse data was passed for {input_name}, but dense data is required: column {name!r} "
                            f"has dtype {dtype}; use df.sparse.to_dense() to convert it.")
        check_cells(frame.iloc[:, j], name)


def _nested(dtype: pd.ArrowDtype) -> bool:
    import pyarrow as pa

    t = dtype.pyarrow_dtype
    return pa.types.is_nested(t)


def check_cells(s: pd.Series, name) -> None:
    """Refuse, naming the column, a column whose cells cannot be imputed: complex numbers, lists and other containers."""
    if pd.api.types.is_complex_dtype(s.dtype):
        raise ValueError(f"Complex data not supported: column {name!r} has dtype {s.dtype}; split it into real columns")
    if isinstance(s.dtype, pd.ArrowDtype) and _nested(s.dtype):
        raise ValueError(f"column {name!r} holds {s.dtype} values (lists or structs); only scalar cells can be "
                         f"imputed: expand or drop the column (for a list column, e.g. df.explode or one column per element)")
    if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) not in ("mixed", "complex", "mixed-integer"):
        return
    for v in s:
        if isinstance(v, (list, tuple, dict, set, frozenset, np.ndarray)):
            raise ValueError(f"column {name!r} holds {type(v).__name__} values (e.g. {v!r}); only scalar cells can be "
                             f"imputed: expand or drop the column (for a list column, e.g. df.explode or one column "
                             f"per element)")
        if isinstance(v, complex):
            raise ValueError(f"Complex data not supported: column {name!r} holds complex numbers (e.g. {v!r})")


def _refuse_sparse(data, input_name: str) -> None:
    module = type(data).__module__ or ""
    if module.startswith("scipy.sparse") or (hasattr(data, "tocsr") and hasattr(data, "nnz")):
        raise TypeError(f"Sparse data was passed for {input_name}, but dense data is required. "
                        "Use '.toarray()' to convert to a dense numpy array.")


def _with_work_frame(table: Table) -> Table:
    """``table`` with its work frame: a RangeIndex, and NaN in Arrow-backed float columns made missing."""
    frame = table.base.reset_index(drop=True)
    for j, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, pd.ArrowDtype) and dtype.kind == "f":
            s = frame.iloc[:, j]
            nan = np.isnan(s.to_numpy(dtype=np.float64, na_value=0.0))
            if nan.any():
                frame.isetitem(j, s.mask(nan))
    return dataclasses.replace(table, frame=frame)


# ---- merging the fills ---------------------------------------------------------------------------------
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


# ---- writing -----------------------------------------------------------------------------------------
def write_table(table: Table, merged: pd.DataFrame, output: str = "default", names_out=None):
    """``merged`` (the filled pandas form of ``table``) as the caller's own type, or as ``output`` asks.

    ``output`` is ``"default"`` (the input's type), ``"pandas"`` or ``"polars"``; ``names_out`` names the
    columns of a pandas or polars output (scikit-learn's ``get_feature_names_out``; if None, a frame's own
    names, or ``x0, x1, ...`` for an array).
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    if output == "default":
        return _native(table, merged)
    if names_out is not None:
        names = list(names_out)  # scikit-learn's containers are named by get_feature_names_out
    else:
        names = [f"x{i}" for i in range(merged.shape[1])] if table.kind == "numpy" else list(merged.columns)
    merged = merged.set_axis(names, axis=1)
    if output == "pandas":
        return merged
    import narwhals as nw
    import pyarrow as pa

    arrow = pa.Table.from_pandas(merged.set_axis([str(c) for c in merged.columns], axis=1), preserve_index=False)
    if table.arrow_schema is not None:
        arrow = arrow.cast(pa.schema([f.with_name(str(n)) for f, n in zip(table.arrow_schema, names)]))
    return nw.from_arrow(arrow, backend="polars").to_native()


def _native(table: Table, merged: pd.DataFrame):
    if table.kind == "pandas":
        return merged
    if table.kind == "series":
        return merged.iloc[:, 0].rename(table.series_name)
    if table.kind == "numpy":
        out = _array_out(merged, table.array_dtype)
        return out.reshape((len(out), *table.image_shape)) if table.image_shape else out
    import narwhals as nw

    arrow = _to_arrow(table, merged)
    if table.backend is None:
        return arrow.column(0) if table.kind == "arrow-series" else arrow
    frame = nw.from_arrow(arrow, backend=table.backend)
    return (frame.get_column(frame.columns[0]) if table.kind == "arrow-series" else frame).to_native()


def _array_out(merged: pd.DataFrame, dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "USV":
        return merged.to_numpy(dtype=object).astype(dtype.kind)
    return merged.to_numpy(dtype=dtype)


def _to_arrow(table: Table, merged: pd.DataFrame):
    import pyarrow as pa

    arrow = pa.Table.from_pandas(merged, preserve_index=False)
    return arrow.cast(table.arrow_schema) if table.arrow_schema is not None else arrow


# ---- column names (scikit-learn's feature names) --------------------------------------------------------
def feature_names(table: Table) -> np.ndarray | None:
    """The column names as scikit-learn's ``feature_names_in_``: only for frames whose names are all ``str``."""
    if table.kind == "numpy":
        return None
    names = list(table.columns)
    if names and all(isinstance(n, str) for n in names):
        return np.asarray(names, dtype=object)
    return None


def check_feature_names(fitted: np.ndarray | None, got: np.ndarray | None, owner: str) -> None:
    """Compare the names seen at fit with those of a new table, in scikit-learn's words (warn or raise)."""
    if fitted is None and got is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {owner} was fitted without feature names", UserWarning, stacklevel=3)
        return
    if got is None:
        warnings.warn(f"X does not have valid feature names, but {owner} was fitted with feature names",
                      UserWarning, stacklevel=3)
        return
    if len(fitted) == len(got) and np.all(fitted == got):
        return
    unseen = sorted(set(got) - set(fitted))
    lost = sorted(set(fitted) - set(got))
    message = "The feature names should match those that were passed during fit.\n"
    if unseen:
        message += "Feature names unseen at fit time:\n" + _listed(unseen)
    if lost:
        message += "Feature names seen at fit time, yet now missing:\n" + _listed(lost)
    if not unseen and not lost:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _listed(names: list) -> str:
    shown = [f"- {n}\n" for n in names[:5]]
    return "".join(shown) + ("- ...\n" if len(names) > 5 else "")


def check_n_features(n_fitted: int, n_got: int, owner: str) -> None:
    """scikit-learn's error for a table with another number of columns than at fit."""
    if n_fitted != n_got:
        raise ValueError(f"X has {n_got} features, but {owner} is expecting {n_fitted} features as input.")


__all__ = ["OUTPUTS", "Table", "read_table", "check_cells", "merge_filled", "write_table", "feature_names",
           "check_feature_names", "check_n_features"]
