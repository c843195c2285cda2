"""Table ⇄ matrix: a DataFrame (or array) to a float32 matrix with an observed mask, and back.

Categorical columns become one-hot groups, boolean columns one 0/1 entry, numeric columns one scaled
entry (min-max into [0, 1] by default, standard scaling or none as options).

Bounded width: a categorical column with more than ``max_levels`` levels (a zip code, a date read as
text) keeps its ``max_levels`` most frequent levels one-hot and shares one "other" slot among the rest
(its *rare* levels), so no column is wider than ``max_levels + 1`` entries. A fill whose arg-max is the
other slot becomes one of the rare levels, drawn with their observed frequencies by a hash of the row's
encoded values (:func:`row_uniforms`): the same row always gets the same level, and over many rows the
rare levels come back about as often as the column holds them. Fills are therefore only ever levels seen
in the column. ``max_levels=None`` one-hot encodes every level.

Outliers: a numeric column's values beyond its fences (:func:`invimpute.tables.scaling.fences`: one
absurd ``1e308`` or ``-999999``) are left out of its scaling and its fill range, and encoded as missing
(the mask says not observed), so they neither squash the other values nor drag the fills: a value
clipped to the fence still sat many widths from the bulk, and one such row pulled a column's relation to
the others (on a 1,500-row table where ``y = 2x``, one ``x = 1e9`` raised the error of ``y``'s fills where
``x`` was observed from 0.10 to 0.45). The caller's cell is not missing: the output keeps it as it came,
since only cells missing in the caller's table are written. The schema counts them. The fitted
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
from invimpute.tables.scaling import SCALINGS, fences, fit_scaling, scale, unscale
from invimpute.encoding.schema import ColumnSpec, Schema
from invimpute.tables import check_cells

MAX_LEVELS = 50
"""Levels a categorical column keeps one-hot by default; the rest share one "other" slot (see the module
doc). Wide enough for every categorical column of the benchmark tables (the widest, Adult's
native-country, has 41 levels), narrow enough that a zip code or a date read as text costs no more than
a few ordinary columns."""

BYTES_PER_CELL = 64
"""Peak bytes the default imputer needs per encoded cell (rows x encoded width), for :func:`check_fits`:
an estimate from the arrays ``auto`` holds at once (the float32 matrix, 4; its observed, held-out and
training masks, 3; five candidates' float32 fills, 20; the blend and the decoded float64 copy, 12; the
network's device copy of matrix and mask, 5), about 44, with a margin. Not measured: a coarse bound, meant
to refuse tables hundreds of times too large rather than to judge close calls."""


def _level_key(v) -> tuple[str, str]:
    return str(type(v)), str(v)


def _fit_categorical(col, s: pd.Series, start: int, dtype: str, max_levels: int | None) -> ColumnSpec:
    """A categorical column's spec: every level one-hot, or its ``max_levels`` most frequent ones and an
    "other" slot shared by the rest (ordered by frequency, ties by value)."""
    counts = s.astype(object).value_counts(sort=False)
    if max_levels is None or len(counts) <= max_levels:
        cats = tuple(sorted(counts.index, key=_level_key))
        return ColumnSpec(col, "categorical", start, start + len(cats), dtype, categories=cats)
    order = sorted(zip(counts.index, counts.to_numpy()), key=lambda vc: (-int(vc[1]), _level_key(vc[0])))
    cats = tuple(sorted((v for v, _ in order[:max_levels]), key=_level_key))
    rare = tuple(v for v, _ in order[max_levels:])
    return ColumnSpec(col, "categorical", start, start + len(cats) + 1, dtype, categories=cats, rare=rare,
                      rare_counts=tuple(int(c) for _, c in order[max_levels:]))


def _fit_numeric(col, v: np.ndarray, start: int, dtype: str, scaling: str) -> ColumnSpec:
    """A numeric column's spec: scaling and fill range from its values with the outliers left out."""
    clip_low = clip_high = None
    inliers = v
    if scaling != "none":  # values as given (pixels) are never judged
        clip_low, clip_high, outlier = fences(v)
        inliers = v[~outlier]
    offset, scale_, bounded = fit_scaling(inliers, scaling)
    return ColumnSpec(col, "numeric", start, start + 1, dtype, offset=offset, scale=scale_, bounded=bounded,
                      low=float(inliers.min()), high=float(inliers.max()), outliers=int(v.size - inliers.size),
                      clip_low=clip_low, clip_high=clip_high)


def draw_range(spec: ColumnSpec) -> tuple[float, float]:
    """Where a drawn number of the numeric column ``spec`` may lie: within its fences (the bounds beyond
    which a value is an outlier, :func:`~invimpute.tables.scaling.fences`), and on the side of zero its
    observed values keep (a column observed non-negative draws no negative value). A column with no fences
    (scaling ``"none"``) keeps its observed range."""
    if spec.clip_low is None:
        return spec.low, spec.high
    low = max(spec.clip_low, 0.0) if spec.low >= 0 else spec.clip_low
    high = min(spec.clip_high, 0.0) if spec.high <= 0 else spec.clip_high
    return min(low, spec.low), max(high, spec.high)


def row_uniforms(X: np.ndarray) -> np.ndarray:
    """One number in [0, 1) per row of ``X``, a fixed hash of the row's float32 values (see the module doc)."""
    bits = np.ascontiguousarray(X, dtype=np.float32).view(np.uint32).astype(np.uint64)
    mult = np.random.default_rng(0).integers(1, 2**32, size=bits.shape[1], dtype=np.uint64) | np.uint64(1)
    with np.errstate(over="ignore"):
        h = (bits * mult).sum(axis=1, dtype=np.uint64)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return (h >> np.uint64(11)).astype(np.float64) / float(2**53)


def _decode_categorical(spec: ColumnSpec, block: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Each row's level: the arg-max slot, and for the other slot a rare level drawn by the row's hash."""
    idx = np.argmax(block, axis=1)
    cats = np.asarray(spec.categories + (None,) * bool(spec.rare), dtype=object)
    vals = cats[idx]
    other = np.flatnonzero(idx == len(spec.categories))
    if other.size:
        cdf = np.cumsum(np.asarray(spec.rare_counts, np.float64))
        pick = np.searchsorted(cdf / cdf[-1], row_uniforms(X[other]), side="right")
        vals[other] = np.asarray(spec.rare, dtype=object)[np.minimum(pick, len(spec.rare) - 1)]
    return vals


def estimate_bytes(schema: Schema, n_rows: int) -> int:
    """Peak bytes the default imputer needs for ``n_rows`` rows of ``schema`` (:data:`BYTES_PER_CELL` each)."""
    return int(n_rows) * schema.width * BYTES_PER_CELL


def check_fits(schema: Schema, n_rows: int, limit: float) -> None:
    """Raise MemoryError, naming the widest columns and what to do, when :func:`estimate_bytes` of the
    table is over ``limit`` bytes: before anything is allocated, never an out-of-memory from XLA."""
    need = estimate_bytes(schema, n_rows)
    if need <= limit:
        return
    widest = sorted(schema.columns, key=lambda c: c.stop - c.start, reverse=True)[:3]
    named = ", ".join(f"{c.name!r} ({c.stop - c.start} entries)" for c in widest)
    raise MemoryError(
        f"this table of {n_rows} rows encodes into {schema.width} columns, about {need / 2**30:.1f} GiB to impute, "
        f"over the limit of {limit / 2**30:.1f} GiB; the widest columns are {named}. Cap the levels of wide "
        f"categorical columns (encoding={{'max_levels': {MAX_LEVELS}}}), drop or pass through columns that are "
        f"identifiers or free text, impute fewer rows at a time (the job API), or raise "
        f"encoding={{'memory_limit': ...}} if the machine has the memory"
    )


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
      max_levels: levels a categorical column keeps one-hot, the rest sharing an "other" slot (see the
        module doc); None: every level one-hot.
      one_hot: names of categorical columns that keep every level one-hot whatever ``max_levels`` (a
        column the caller declared an ordinary category).
    """

    def __init__(self, scaling: str = "minmax", categorical: tuple = (), fill: float = 0.0,
                 max_levels: int | None = MAX_LEVELS, one_hot: tuple = ()) -> None:
        self.scaling = scaling
        self.categorical = tuple(categorical)
        self.fill = fill
        self.max_levels = max_levels
        self.one_hot = tuple(one_hot)
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
                specs.append(_fit_categorical(col, s, start, dtype, None if col in self.one_hot else self.max_levels))
            elif is_bool(s):
                specs.append(ColumnSpec(col, "boolean", start, start + 1, dtype))
            else:
                v = to_float(s, col, time_unit(dtype) if is_time(s) else None)
                specs.append(_fit_numeric(col, v, start, dtype, self.scaling))
            start = specs[-1].stop
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
                lookup = {c: i for i, c in enumerate(spec.categories)} | {r: len(spec.categories) for r in spec.rare}
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
                if spec.clip_low is not None:  # beyond the fences: an outlier, hidden from the model
                    col_obs &= (v >= spec.clip_low) & (v <= spec.clip_high)
                z = scale(np.where(col_obs, v, 0.0), spec.offset, spec.scale).astype(np.float32)
                X[:, spec.start] = np.where(col_obs, z, self.fill)
            O[:, spec.start:spec.stop] = col_obs[:, None]
        return X, O

    def fit_encode(self, data, observed=None) -> tuple[np.ndarray, np.ndarray]:
        return self.fit(data, observed).encode(data, observed)

    # ---- decoding ------------------------------------------------------------------------------
    def decode(self, X: np.ndarray, index: pd.Index | None = None, *,
               draws: bool = False) -> pd.DataFrame | np.ndarray:
        """The table for an encoded matrix: arg-max per one-hot group (a rare level for the "other"
        slot), threshold for flags, unscaling (numbers clipped into the column's observed range with its
        outliers left out, so no fill lies outside what was seen, nor out among the outliers).

        With ``draws`` the matrix is a random draw (a multiple imputation), not a point fill, and numbers
        are clipped only to :func:`draw_range`: a draw's noise must reach beyond the observed values
        where the missing ones lie beyond them (under MAR the cells missing are often the extreme ones),
        and clipping draws to the observed range attenuated the relations a pooled analysis estimates.

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
                out[spec.name] = pd.Series(_decode_categorical(spec, block, X), index=index)
                if spec.dtype == "category":
                    out[spec.name] = out[spec.name].astype(pd.CategoricalDtype(list(spec.levels)))
            elif spec.kind == "boolean":
                flags = pd.Series(block[:, 0] >= 0.5, index=index)
                out[spec.name] = flags if spec.dtype == "object" else flags.astype(spec.dtype)
            else:
                v = unscale(block[:, 0].astype(np.float64), spec.offset, spec.scale)
                if spec.low is not None:
                    v = np.clip(v, *(draw_range(spec) if draws else (spec.low, spec.high)))
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


__all__ = ["TableEncoder", "MAX_LEVELS", "BYTES_PER_CELL", "estimate_bytes", "check_fits", "row_uniforms", "draw_range"]
