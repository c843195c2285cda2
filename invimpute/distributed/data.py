"""The input rows as a Ray Dataset: Parquet or CSV files read, and their columns checked against the model's."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import Any

from invimpute.distributed.actor import require_ray

PathLike = str | os.PathLike
TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def _table_format(paths: Sequence[str]) -> str:
    kinds = set()
    for p in paths:
        suffix = pathlib.PurePath(p).suffix.lower()
        if suffix in TABLE_SUFFIXES:
            kinds.add(TABLE_SUFFIXES[suffix])
        elif suffix == "" or p.endswith("/"):
            kinds.add("parquet")
        else:
            raise ValueError(f"{p}: unsupported file type {suffix!r}; the Ray engine reads .parquet, .pq and .csv "
                             f"files or folders of Parquet files")
    if len(kinds) != 1:
        raise ValueError(f"give Parquet or CSV files, not both: {list(paths)[:4]}")
    return kinds.pop()


def read_dataset(paths: PathLike | Sequence[PathLike], imputer=None):
    """A Ray Dataset over Parquet files, folders of them, or CSV files.

    CSV columns that the model's schema holds as text categories (``imputer``) are read as text, as the
    single-host job reads them, so labels like ``"007"`` are not turned into numbers.
    """
    ray = require_ray()
    items = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
    if not items:
        raise ValueError("no input paths given")
    if _table_format(items) == "parquet":
        return ray.data.read_parquet(items)
    import pyarrow as pa
    from pyarrow import csv

    text = {} if imputer is None else {c.name: pa.string() for c in imputer.encoder_.schema.columns
                                       if c.kind == "categorical" and c.categories
                                       and all(isinstance(v, str) for v in c.categories)}
    if imputer is not None:
        text.update({t.name: pa.string() for t in imputer.plan_.columns if t.format is not None})
    return ray.data.read_csv(items, convert_options=csv.ConvertOptions(column_types=text))


def _data_columns(ds) -> tuple[list[str], bool]:
    """The dataset's column names less any pandas index columns, and whether there were any."""
    schema = ds.schema()
    if schema is None:
        raise ValueError("the dataset has no rows and no schema")
    names = list(schema.names)
    base = getattr(schema, "base_schema", None)
    meta = getattr(base, "pandas_metadata", None) or {}
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    return [n for n in names if n not in index], bool(index & set(names))


def check_columns(ds, imputer) -> Any:
    """``ds`` limited to its data columns, after checking they are the model's, in the model's order."""
    if imputer.image_shape_ is not None:
        raise ValueError(f"the model was fitted on images of shape {tuple(imputer.image_shape_)}; the Ray engine "
                         f"repairs tables (use invimpute.job.impute_file for .npy image stacks)")
    columns, has_index = _data_columns(ds)
    expected = list(imputer.encoder_.schema.names)
    if columns != expected:
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        hint = "same names, different order" if not (missing or extra) else f"missing {missing}, unexpected {extra}"
        raise ValueError(f"the dataset's columns differ from the model's ({hint}); expected {expected}")
    return ds.select_columns(columns) if has_index else ds



__all__ = ["TABLE_SUFFIXES", "read_dataset", "check_columns"]
