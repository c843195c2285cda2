"""Table ⇄ matrix: a DataFrame (or array) to a float32 matrix with an observed mask, and back.

Categorical columns become one-hot groups, boolean columns one 0/1 entry, numeric columns one scaled
entry (min-max into [0, 1] by default, standard scaling or none as options). The fitted
:class:`Schema` records every column's slice, categories, scaling and dtype, so :meth:`TableEncoder.decode`
restores the original column order, index, dtypes and labels. A column's kind and values are read by
:mod:`invimpute.tables.columns`, numbers scaled by :mod:`invimpute.tables.scaling`. This module knows no Flax.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from invimpute.tables.columns import (bool_values, is_bool, is_numeric, is_time, is_time_dtype, numeric_like, restore_numeric,
                               time_unit, to_float)
from invimpute.tables.scaling import SCALINGS, fit_scaling, scale, unscale
from invimpute.encoding.schema import ColumnSpec, Schema
from invimpute.tables import check_cells


def _check_kind(spec: ColumnSpec, s: pd.Series) -> None:
    """Refuse a column whose values are of another kind than at fit (same name is not enough)."""
    if len(s) == 0 or spec.kind == "categorical":
        return
    fitted_time = spec.kind == "numeric" and is_time_dtype(spec.dtype)
    now = "True/False values" if is_bool(s) else f"{s.dtype} values" if is_time(s) else None
    if spec.kind == "numeric" and not fitted_time and now is not None:
        raise ValueError(
            f"column {spec.name!r} held numbers ({spec.dtype}) at fit but holds {now} now; convert it "
            f"(for example df[{spec.name!r}].astype('float64')) or refit on the new table"
        )
    if fitted_time and not is_time(s):
        raise ValueError(
            f"column {spec.name!r} held {spec.dtype} values at fit but holds {s.dtype} values now; convert it "
            f"(pd.to_datetime / pd.to_timedelta) or refit on the new table"
        )


class TableEncoder:
    """Encode a table into a float32 matrix and an observed mask, and decode it back.

    Args:
      scaling: ``"minmax"`` (numeric columns into [0, 1]; the default), ``"standard"`` (zero mean, unit
        variance) or ``"none"`` (values as given; columns whose values lie in [0, 1] are treated as
        bounded, which suits pixel intensities).
      categorical: names of columns to treat as categorical even if they are numeric.
      fill: value written into missing encoded entries (the reference study's fill constant).
    """

    def __init__(self, scaling: str = "minmax", categorical: tuple = (), fill: float = 0.0) -> None:
        self.scaling = scaling
        self.categorical = tuple(categorical)
        self.fill = fill
        self.schema_: Schema | None = None

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame | np.ndarray, observed: pd.DataFrame | np.ndarray | None = None) -> "TableEncoder":
        """Learn columns, categories and scaling from the observed cells of ``data``."""
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {self.scaling!r}")
        frame, input_kind, array_dtype = _as_frame(data)
        obs = _observed_frame(frame, observed)
        missing_cat = [c for c in self.categorical if c not in frame.columns]
        if missing_cat:
            raise ValueError(f"categorical= names columns not in the table: {missing_cat}")
        specs = []
        start = 0
        for col in frame.columns:
            s = frame[col][obs[col].to_numpy()]
            if len(s) == 0:
                raise ValueError(
                    f"column {col!r} has no observed values; drop it or supply some values before fitting"
                )
            dtype = str(frame[col].dtype)
            check_cells(s, col)
            if col in self.categorical or not (is_numeric(s) or is_bool(s) or is_time(s) or numeric_like(s)):
                cats = tuple(sorted(pd.unique(s.astype(object)), key=lambda v: (str(type(v)), str(v))))
                specs.append(ColumnSpec(col, "categorical", start, start + len(cats), dtype, categories=cats))
                start += len(cats)
            elif is_bool(s):
                specs.append(ColumnSpec(col, "boolean", start, start + 1, dtype))
                start += 1
            else:
                v = to_float(s, col, time_unit(dtype) if is_time(s) else None)
                offset, scale, bounded = fit_scaling(v, self.scaling)
                specs.append(ColumnSpec(col, "numeric", start, start + 1, dtype, offset=offset, scale=scale,
                                        bounded=bounded, low=float(v.min()), high=float(v.max())))
                start += 1
        self.schema_ = Schema(columns=tuple(specs), scaling=self.scaling, input_kind=input_kind, array_dtype=array_dtype)
        return self

    @property
    def schema(self) -> Schema:
        if self.schema_ is None:
            raise RuntimeError("this TableEncoder is not fitted yet: call fit(data) first")
        return self.schema_

    # ---- encoding ------------------------------------------------------------------------------
    def encode(
        self, data: pd.DataFrame | np.ndarray, observed: pd.DataFrame | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(X, obs)``: float32 (n, d) values (``fill`` where missing) and a bool (n, d) observed mask.

        A category not seen at fit time is treated as missing, with a warning naming the column.
        """
        schema = self.schema
        frame, _, _ = _as_frame(data)
        _check_columns(frame, schema)
        obs_frame = _observed_frame(frame, observed)
        n = len(frame)
        X = np.full((n, schema.width), self.fill, dtype=np.float32)
        O = np.zeros((n, schema.width), dtype=bool)
        for spec in schema.columns:
            col_obs = obs_frame[spec.name].to_numpy().copy()
            s = frame[spec.name]
            check_cells(s[col_obs], spec.name)
            _check_kind(spec, s[col_obs])
            if spec.kind == "categorical":
                lookup = {c: i for i, c in enumerate(spec.categories)}
                codes = np.array([lookup.get(v, -1) if o else -1 for v, o in zip(s.astype(object), col_obs)])
                unseen = col_obs & (codes < 0)
                if unseen.any():
                    warnings.warn(
                        f"column {spec.name!r}: {int(unseen.sum())} cells hold categories not seen at fit "
                        f"time (e.g. {s[unseen].iloc[0]!r}); they are treated as missing",
                        stacklevel=2,
                    )
                    col_obs &= ~unseen
                rows = np.flatnonzero(col_obs)
                block = np.zeros((n, spec.stop - spec.start), dtype=np.float32)
                block[rows, codes[rows]] = 1.0
                X[:, spec.start:spec.stop] = np.where(col_obs[:, None], block, self.fill)
            elif spec.kind == "boolean":
                v = np.full(n, self.fill, dtype=np.float32)
                v[col_obs] = bool_values(s[col_obs], spec.name)
                X[:, spec.start] = v
            else:
                unit = time_unit(spec.dtype) if is_time(s) else None
                v = np.full(n, np.nan)
                v[col_obs] = to_float(s[col_obs], spec.name, unit)
                z = scale(v, spec.offset, spec.scale).astype(np.float32)
                X[:, spec.start] = np.where(col_obs, z, self.fill)
            O[:, spec.start:spec.stop] = col_obs[:, None]
        return X, O

    def fit_encode(self, data, observed=None) -> tuple[np.ndarray, np.ndarray]:
        return self.fit(data, observed).encode(data, observed)

    # ---- decoding ------------------------------------------------------------------------------
    def decode(self, X: np.ndarray, index: pd.Index | None = None) -> pd.DataFrame | np.ndarray:
        """The table for an encoded matrix: arg-max per one-hot group, threshold for flags, unscaling
        (numbers clipped into the column's observed range, so no fill lies outside what was seen).

        Returns a DataFrame with the fitted column order and dtypes (``index`` if given), or a NumPy
        array when the encoder was fitted on one. Integer columns get rounded values.
        """
        schema = self.schema
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != schema.width:
            raise ValueError(f"decode expects an (n, {schema.width}) matrix, got shape {X.shape}")
        out = {}
        for spec in schema.columns:
            block = X[:, spec.start:spec.stop]
            if spec.kind == "categorical":
                cats = np.asarray(spec.categories, dtype=object)
                vals = cats[np.argmax(block, axis=1)]
                out[spec.name] = pd.Series(vals, index=index)
                if spec.dtype == "category":
                    out[spec.name] = out[spec.name].astype(pd.CategoricalDtype(list(spec.categories)))
            elif spec.kind == "boolean":
                flags = pd.Series(block[:, 0] >= 0.5, index=index)
                out[spec.name] = flags if spec.dtype == "object" else flags.astype(spec.dtype)
            else:
                v = unscale(block[:, 0].astype(np.float64), spec.offset, spec.scale)
                if spec.low is not None:
                    v = np.clip(v, spec.low, spec.high)
                out[spec.name] = pd.Series(restore_numeric(v, spec.dtype), index=index)
        _check_finite(out)
        frame = pd.DataFrame(out, index=index)
        if schema.input_kind == "array":
            return frame.to_numpy(dtype=np.dtype(schema.array_dtype) if schema.array_dtype != "object" else object)
        return frame


def _check_finite(columns: dict) -> None:
    """The one output check: every decoded numeric cell is finite, else raise naming the column."""
    for name, col in columns.items():
        arr = pd.Series(col).to_numpy()
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise FloatingPointError(
                f"column {name!r}: decoding produced {int((~np.isfinite(arr)).sum())} non-finite values; the "
                f"method diverged: try a smaller learning_rate, more epochs or scaling='minmax'"
            )


def _as_frame(data: pd.DataFrame | np.ndarray) -> tuple[pd.DataFrame, str, str]:
    if isinstance(data, pd.DataFrame):
        if data.shape[0] == 0 or data.shape[1] == 0:
            raise ValueError(f"the table is empty (shape {data.shape}); give at least one row and one column")
        if not data.columns.is_unique:
            dup = data.columns[data.columns.duplicated()].tolist()
            raise ValueError(f"column names must be unique; duplicated: {dup}")
        return data, "frame", "float64"
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise ValueError(f"an array table must be 2-D (n_rows, n_columns), got shape {data.shape}")
        if data.shape[0] == 0 or data.shape[1] == 0:
            raise ValueError(f"the table is empty (shape {data.shape}); give at least one row and one column")
        return pd.DataFrame(data), "array", str(data.dtype if data.dtype.kind != "O" else "object")
    raise TypeError(f"expected a pandas DataFrame or a 2-D NumPy array, got {type(data).__name__}")


def _observed_frame(frame: pd.DataFrame, observed: pd.DataFrame | np.ndarray | None) -> pd.DataFrame:
    if observed is None:
        return frame.notna()
    if isinstance(observed, pd.DataFrame):
        arr = observed.to_numpy(dtype=bool)
    else:
        arr = np.asarray(observed, dtype=bool)
    if arr.shape != frame.shape:
        raise ValueError(f"observed mask has shape {arr.shape}, the table has shape {frame.shape}; they must match")
    return pd.DataFrame(arr & frame.notna().to_numpy(), index=frame.index, columns=frame.columns)


def _check_columns(frame: pd.DataFrame, schema: Schema) -> None:
    got, want = list(frame.columns), schema.names
    if got != want:
        missing = [c for c in want if c not in got]
        extra = [c for c in got if c not in want]
        raise ValueError(
            f"the table's columns differ from those seen at fit: missing {missing}, unexpected {extra}"
            + ("" if missing or extra else " (same names, different order)")
            + "; pass a table with the fitted columns in the fitted order"
        )


__all__ = ["TableEncoder"]
