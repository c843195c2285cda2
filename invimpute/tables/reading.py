"""Tables in: any table a caller has, read into the pandas frame the encoder reads, with its input checks.

:func:`read_table` accepts pandas DataFrames and Series, polars (and any other narwhals-supported) frames
and series, pyarrow Tables, objects with the Arrow PyCapsule interface (``__arrow_c_stream__``) or the
dataframe interchange protocol (``__dataframe__``), NumPy arrays and array-likes (lists of lists).
Non-pandas frames travel through Arrow, so every dtype is kept (``Int64`` with nulls, ``UInt8``,
categoricals and enums, time zones). The :class:`Table` it returns remembers how to give a result back
(:mod:`invimpute.tables.writing`).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


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


__all__ = ["Table", "read_table", "check_cells"]
