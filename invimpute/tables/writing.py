"""Tables out: the filled pandas form of a :class:`~invimpute.tables.reading.Table` given back as the caller's
own type (a polars frame gives a polars frame, an array an array), or as ``set_output`` asks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from invimpute.tables.reading import Table

OUTPUTS = ("default", "pandas", "polars")
"""What ``set_output(transform=...)`` may ask for; ``"default"`` is the input's own type."""


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


__all__ = ["OUTPUTS", "write_table"]
