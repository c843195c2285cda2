"""Checks on a job's input and on every imputed chunk: the model fits the file, observed cells are
unchanged, nothing is left missing, and each column is written in one dtype fixed by the schema."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from invimpute.encoding.schema import ColumnSpec, Schema
from invimpute.encoding.treatment import Plan
from invimpute.estimator.imputer import Imputer
from invimpute.job.readers import Source


class JobError(RuntimeError):
    """A job that cannot finish correctly: a check on the imputed rows failed, or another job holds the output."""


def check_compatible(source: Source, imputer: Imputer, out_fmt: str, output: pathlib.Path) -> None:
    """Raise before any output is written when the input or output cannot go with this model."""
    names = imputer.plan_.names
    if imputer.image_shape_ is not None:
        shape = tuple(imputer.image_shape_)
        if source.fmt != "npy" or len(source.shape or ()) != 3 or source.shape[1:] != shape:
            got = f"shape {source.shape}" if source.fmt == "npy" else f"a {source.fmt.upper()} table"
            raise ValueError(f"{source.path}: the model was fitted on images of shape {shape}; give a .npy image stack (n, {shape[0]}, {shape[1]}), got {got}")
    elif source.fmt == "npy":
        if len(source.shape) != 2 or names != source.columns:
            raise ValueError(
                f"{source.path}: shape {source.shape} does not fit the model, which was fitted on "
                + (f"a table of {len(names)} columns from an array; give an (n, {len(names)}) array"
                   if names == list(range(len(names))) else f"a table with columns {names}; give a CSV or Parquet file")
            )
    elif source.columns != names:
        missing = [c for c in names if c not in source.columns]
        extra = [c for c in source.columns if c not in names]
        hint = "same names, different order" if not (missing or extra) else f"missing {missing}, unexpected {extra}"
        raise ValueError(f"{source.path}: columns differ from the model's ({hint}); expected {names}")
    if (source.fmt == "npy") != (out_fmt == "npy"):
        raise ValueError(f"{output}: a .npy input needs a .npy output and a table input a .csv or .parquet output")
    if source.dtype is not None and imputer.image_shape_ is not None and source.dtype.kind != "f":
        raise ValueError(f"{source.path}: image arrays must be floats in [0, 1], got dtype {source.dtype}")


def _numpy_dtype(name: str) -> np.dtype | None:
    try:
        dt = np.dtype(name)
    except TypeError:
        return None
    return dt if dt.kind in "iuf" else None


def _canonical(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    """A filled column in one dtype fixed by the schema, so every chunk writes it the same way."""
    if spec.kind == "boolean":
        return s.astype(bool)
    if spec.kind == "numeric":
        v = pd.to_numeric(s)
        dt = _numpy_dtype(spec.dtype)
        if dt is not None and dt.kind in "iu":
            if v.dtype.kind in "iu":
                return v.astype(dt)
            arr = v.to_numpy(dtype=np.float64)
            if np.all(np.isfinite(arr)) and np.all(arr == np.rint(arr)):
                return v.astype(dt)
            return v.astype(np.float64)
        return v.astype(dt if dt is not None and dt.kind == "f" else np.float64)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s
    cats = spec.categories
    if cats and all(isinstance(c, str) for c in cats):
        return s.astype(str)
    if cats and all(isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, (bool, np.bool_)) for c in cats):
        v = pd.to_numeric(s)
        if all(isinstance(c, (int, np.integer)) for c in cats) and v.dtype.kind == "f" and np.all(v == np.rint(v)):
            return v.astype(np.int64)
        return v
    return s.astype(object)


def finish_frame(chunk: pd.DataFrame, out: pd.DataFrame, observed: np.ndarray, schema: Schema, where: str,
                 plan: Plan | None = None) -> pd.DataFrame:
    """``out`` in canonical dtypes, after checking rows, observed cells and that nothing is missing.

    ``observed`` is True where a cell is kept as given (passed-through columns whole, missing cells included);
    ``plan`` names the columns the model passes through, keeps constant, or writes as text dates.
    """
    if len(out) != len(chunk) or list(out.columns) != list(chunk.columns):
        raise JobError(f"{where}: the imputed chunk has {len(out)} rows and columns {list(out.columns)}, expected {len(chunk)} and {list(chunk.columns)}")
    specs = {spec.name: spec for spec in schema.columns}
    treatments = {t.name: t for t in plan.columns} if plan is not None else {}
    cols = {}
    for j, name in enumerate(chunk.columns):
        t = treatments.get(name)
        spec = specs.get(name)
        passthrough = t is not None and t.treatment == "passthrough"
        s = out[name].astype(object) if spec is None or t is not None and t.format is not None else _canonical(out[name], spec)
        if not passthrough and s.isna().any():
            raise JobError(f"{where}: column {name!r} still has missing cells after imputation")
        o = observed[:, j]
        before = chunk[name].to_numpy()[o]
        after = s.to_numpy()[o]
        if s.dtype.kind in "iuf":
            before = pd.to_numeric(pd.Series(before)).to_numpy()
            same = before == after
        else:
            same = before.astype(object) == after.astype(object)
        same = np.asarray(same) | (pd.isna(pd.Series(before)).to_numpy() & pd.isna(pd.Series(after)).to_numpy())
        if not np.all(same):
            raise JobError(f"{where}: {int((~np.asarray(same)).sum())} observed cells of column {name!r} changed during imputation")
        cols[name] = s
    return pd.DataFrame(cols, index=out.index)


def finish_array(chunk: np.ndarray, out: np.ndarray, observed: np.ndarray, dtype: np.dtype, where: str) -> np.ndarray:
    """``out`` cast to the output dtype, after checking its shape, observed cells and that nothing is missing."""
    out = np.asarray(out).astype(dtype, copy=False)
    if out.shape != chunk.shape:
        raise JobError(f"{where}: the imputed chunk has shape {out.shape}, expected {chunk.shape}")
    if out.dtype.kind in "fc" and not np.all(np.isfinite(out)):
        raise JobError(f"{where}: cells are still missing after imputation")
    if not np.array_equal(out[observed], chunk[observed].astype(dtype)):
        raise JobError(f"{where}: observed cells changed during imputation")
    return out
