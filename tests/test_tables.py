"""Tests for invimpute.tables: every kind of table in, the same kind out, dtypes and observed cells kept.

The tables are imputed through detection, the encoder and a constant fill of 0.5 in encoded units (no
model: the module under test is the plumbing, not a method), so each test runs in milliseconds.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from invimpute.encoding.encoder import TableEncoder
from invimpute.encoding.missingness import detect
from invimpute.tables import check_feature_names, check_n_features, feature_names, merge_filled, read_table, write_table

pl = pytest.importorskip("polars")


def _impute(data, output: str = "default", encoder: TableEncoder | None = None):
    table = read_table(data)
    observed = detect(table.frame).observed
    if encoder is None:
        encoder = TableEncoder().fit(table.frame, observed)
    X, O = encoder.encode(table.frame, observed)
    decoded = encoder.decode(np.where(O, X, 0.5))
    if isinstance(decoded, np.ndarray):
        decoded = pd.DataFrame(decoded)
    return write_table(table, merge_filled(table.base, decoded, ~observed.to_numpy()), output)


def _every_dtype() -> pd.DataFrame:
    """One column per supported pandas dtype, each with a missing cell, on duplicate index labels."""
    times = pd.to_datetime(["2020-01-01", None, "2020-01-03", "2020-01-09"])
    return pd.DataFrame({
        "string_python": pd.array(["a", None, "b", "a"], dtype="string[python]"),
        "string_pyarrow": pd.array(["a", None, "b", "a"], dtype="string[pyarrow]"),
        "str": pd.Series(["a", None, "b", "a"], dtype="str").array,
        "object": pd.array(["a", None, "b", "a"], dtype=object),
        "object_ints": pd.array([1, None, 3, 4], dtype=object),
        "Int8": pd.array([1, None, 3, 4], dtype="Int8"),
        "UInt16": pd.array([1, None, 3, 4], dtype="UInt16"),
        "Float32": pd.array([1.5, None, 3.0, 4.0], dtype="Float32"),
        "boolean": pd.array([True, None, False, True], dtype="boolean"),
        "category": pd.Categorical(["x", None, "y", "x"], categories=["z", "y", "x"], ordered=True),
        "int64_pyarrow": pd.array([1, None, 3, 4], dtype="int64[pyarrow]"),
        "double_pyarrow": pd.array([1.0, None, np.nan, 4.0], dtype="double[pyarrow]"),
        "int8_complete": np.array([1, 2, 3, 4], np.int8),
        "float32": np.array([1, np.nan, 3, 4], np.float32),
        "datetime": times,
        "datetime_tz": times.tz_localize("Europe/Paris"),
        "datetime_s": times.as_unit("s"),
        "timedelta": pd.to_timedelta([1, None, 3, 9], unit="D"),
    }).set_axis(pd.Index([7, 7, 8, 8], name="row"))


def _observed_cells_identical(out: pd.DataFrame, df: pd.DataFrame, observed: pd.DataFrame) -> None:
    for j, col in enumerate(df.columns):
        o = observed.iloc[:, j].to_numpy()
        got, want = list(out.iloc[:, j][o]), list(df.iloc[:, j][o])
        assert got == want, col
        assert [type(v) for v in got] == [type(v) for v in want], col


def test_every_pandas_dtype_round_trips_exactly():
    df = _every_dtype()
    before = df.copy(deep=True)
    out = _impute(df)
    pd.testing.assert_frame_equal(df, before)  # the caller's table is not modified
    assert out is not df
    assert out.index.equals(df.index) and list(out.columns) == list(df.columns)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    observed = detect(df.reset_index(drop=True)).observed
    _observed_cells_identical(out, df, observed)
    assert not out.isna().any().any()
    # NaN in an Arrow-backed float column is missing too, and filled
    assert not np.isnan(out["double_pyarrow"].to_numpy(dtype=float)).any()
    # the category column keeps its order and its unused category
    assert list(out["category"].cat.categories) == ["z", "y", "x"] and out["category"].cat.ordered
    # object column of Python ints: the fill is a Python int too (finding 7)
    assert all(type(v) is int for v in out["object_ints"])


def test_time_columns_are_imputed_on_the_time_axis():
    df = _every_dtype()
    out = _impute(df)
    # 0.5 in min-max units is the middle of the observed range, in each column's own unit and zone
    assert out["datetime"].iloc[1] == pd.Timestamp("2020-01-05")
    assert out["datetime_s"].iloc[1] == pd.Timestamp("2020-01-05")
    assert out["datetime_tz"].iloc[1] == pd.Timestamp("2020-01-05", tz="Europe/Paris")
    assert out["timedelta"].iloc[1] == pd.Timedelta(days=5)
    spec = {c.name: c for c in TableEncoder().fit(df).schema.columns}
    assert spec["datetime_tz"].kind == "numeric" and spec["datetime_tz"].dtype == str(df["datetime_tz"].dtype)


def test_numbers_stored_as_text_stay_text():
    df = pd.DataFrame({
        "decimals": pd.Series(["1.25", "?", "3.5", "4"], dtype=object),
        "integers": pd.Series(["1", "NA", "3", "4"], dtype="str"),
    })
    out = _impute(df)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    assert out["decimals"].tolist() == ["1.25", "2.62", "3.5", "4"]  # fill 2.625, shown with the observed 2 decimals
    assert out["integers"].tolist() == ["1", "2", "3", "4"]  # fill 2.5 rounded: the column holds integers
    assert all(isinstance(v, str) for v in out["decimals"])


def test_float32_at_transform_after_float64_at_fit():
    fit = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [0.5, np.nan, 0.2, 0.1]})
    enc = TableEncoder().fit(fit, fit.notna())
    later = fit.astype("float32")
    out = _impute(later, encoder=enc)
    assert out.dtypes.to_dict() == later.dtypes.to_dict()
    assert out["a"].iloc[2] == np.float32(2.5)


def test_polars_in_polars_out():
    frame = pl.DataFrame({
        "i": [1, None, 3, 4],
        "u": pl.Series([1, None, 3, 4], dtype=pl.UInt8),
        "f": [1.5, None, float("nan"), 4.0],
        "s": ["a", None, "b", "a"],
        "b": [True, None, False, True],
        "c": pl.Series(["x", None, "y", "x"], dtype=pl.Categorical),
        "e": pl.Series(["x", None, "y", "x"], dtype=pl.Enum(["y", "x", "z"])),
        "t": [dt.datetime(2020, 1, 1), None, dt.datetime(2020, 1, 3), dt.datetime(2020, 1, 9)],
        "tz": pl.Series([dt.datetime(2020, 1, 1), None, dt.datetime(2020, 1, 3), dt.datetime(2020, 1, 9)])
        .dt.replace_time_zone("Europe/Paris"),
        "d": [dt.timedelta(1), None, dt.timedelta(3), dt.timedelta(9)],
    })
    before = frame.clone()
    out = _impute(frame)
    assert isinstance(out, pl.DataFrame)
    assert out.schema == frame.schema
    assert frame.equals(before)
    assert out.null_count().sum_horizontal().item() == 0 and not out["f"].is_nan().any()
    keep = [0, 2, 3]
    assert out[keep].select(pl.exclude("f")).equals(frame[keep].select(pl.exclude("f")))
    assert out["i"][1] == 2 and out["t"][1] == dt.datetime(2020, 1, 5)  # the middle of the observed range (2.5 rounds to even)
    series = _impute(frame["i"])
    assert isinstance(series, pl.Series) and series.name == "i" and series.to_list() == [1, 2, 3, 4]
    as_pandas = _impute(frame, output="pandas")
    assert isinstance(as_pandas, pd.DataFrame) and as_pandas["i"].tolist() == [1, 2, 3, 4]


class _Capsule:
    """A table known only through the Arrow PyCapsule interface."""

    def __init__(self, table):
        self._table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)


class _Interchange:
    """A table known only through the dataframe interchange protocol."""

    def __init__(self, table):
        self._table = table

    def __dataframe__(self, nan_as_null=False, allow_copy=True):
        return self._table.__dataframe__(nan_as_null, allow_copy)


@pytest.mark.parametrize("wrap", [lambda t: t, _Capsule, _Interchange], ids=["pyarrow", "pycapsule", "interchange"])
def test_arrow_tables_come_back_as_arrow(wrap):
    table = pa.table({"x": pa.array([1, None, 3], pa.int32()), "s": pa.array(["a", "b", None])})
    out = _impute(wrap(table))
    assert isinstance(out, pa.Table) and out.schema == table.schema
    assert out.column("x").to_pylist() == [1, 2, 3] and out.column("s").null_count == 0
    polars_out = _impute(table, output="polars")
    assert isinstance(polars_out, pl.DataFrame) and polars_out["x"].to_list() == [1, 2, 3]


def test_array_likes():
    out = _impute([[1.0, 2.0], [np.nan, 3.0], [2.0, np.nan]])
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, 2.0], [1.5, 3.0], [2.0, 2.5]])
    mixed = _impute([[1, "a"], [None, "b"], [3, None]])  # numbers and text: kept as Python objects
    assert mixed.dtype == object and mixed.tolist() == [[1, "a"], [2, "b"], [3, "a"]]
    series = pd.Series([1.0, None, 2.0], name="a", index=[3, 3, 4])
    s_out = _impute(series)
    assert isinstance(s_out, pd.Series) and s_out.name == "a" and s_out.index.equals(series.index)
    assert s_out.tolist() == [1.0, 1.5, 2.0]
    assert _impute(pd.Series([1.0, None, 2.0])).name is None
    x32 = np.array([[1, np.nan], [2, 3]], np.float32)
    assert _impute(x32).dtype == np.float32
    framed = _impute(x32, output="pandas")
    assert list(framed.columns) == ["x0", "x1"]
    assert list(_impute(x32, output="polars").columns) == ["x0", "x1"]


# ---- refusals -----------------------------------------------------------------------------------------
def test_sparse_is_refused_with_scikit_learns_words():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="Sparse data was passed for X, but dense data is required"):
        read_table(sparse.csr_matrix(np.eye(3)))
    with pytest.raises(TypeError, match=r"Sparse data.*column 'a'"):
        read_table(pd.DataFrame({"a": pd.arrays.SparseArray([0.0, 1.0, 0.0])}))


def test_shape_and_complex_refusals():
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        read_table(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1 is required"):
        read_table(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(3, 0\)\) while a minimum of 1 is required"):
        read_table(pd.DataFrame(index=range(3)))
    with pytest.raises(ValueError, match="Complex data not supported"):
        read_table(np.ones((2, 2), complex))
    with pytest.raises(ValueError, match="Complex data not supported: column 'z'"):
        read_table(pd.DataFrame({"z": [1 + 2j, 3j]}))


def test_duplicate_and_list_columns_are_refused_by_name():
    with pytest.raises(ValueError, match=r"unique.*'a' \(2 times\)"):
        read_table(pd.DataFrame([[1, "x", 2.0]], columns=["a", "b", "a"]))
    with pytest.raises(ValueError, match="column 'tags' holds list values"):
        read_table(pd.DataFrame({"tags": [[1, 2], None, [3]], "x": [1.0, 2.0, 3.0]}))
    with pytest.raises(ValueError, match="column 'tags' holds"):
        read_table(pl.DataFrame({"tags": [[1, 2], None, [3]]}))


def test_non_string_column_names_work():
    df = pd.DataFrame({0: [1.0, np.nan, 3.0], "b": ["x", None, "x"], (1, 2): [1, 2, 3]})
    out = _impute(df)
    assert list(out.columns) == [0, "b", (1, 2)] and not out.isna().any().any()
    assert feature_names(read_table(df)) is None
    assert list(feature_names(read_table(df.set_axis(["a", "b", "c"], axis=1)))) == ["a", "b", "c"]


# ---- the schema check at transform (issue 15, finding 6) ------------------------------------------------
def test_int_column_given_booleans_is_refused():
    enc = TableEncoder().fit(pd.DataFrame({"n": [1, 2, 3]}))
    with pytest.raises(ValueError, match=r"column 'n' held numbers \(int64\) at fit but holds True/False"):
        enc.encode(pd.DataFrame({"n": [True, False, True]}))


def test_boolean_column_given_as_text_is_read_correctly():
    flags = pd.DataFrame({"f": [True, False, True, None]}, dtype=object)
    enc = TableEncoder().fit(flags)
    want, _ = enc.encode(flags)
    for text in (["True", "False", "True", None], [" true", "FALSE", "1", None]):
        got, obs = enc.encode(pd.DataFrame({"f": text}, dtype=object))
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="column 'f' held True/False values at fit but holds 'maybe'"):
        enc.encode(pd.DataFrame({"f": ["True", "maybe", None, None]}, dtype=object))
    out = _impute(pd.DataFrame({"f": ["True", None, "False", "True"]}, dtype=object), encoder=enc)
    assert out["f"].tolist() == ["True", "True", "False", "True"]  # a text column gets text fills


def test_boolean_with_na_encodes():
    df = pd.DataFrame({"b": pd.array([True, None, False], dtype="boolean"), "x": [1.0, 2.0, 3.0]})
    X, O = TableEncoder().fit_encode(df)
    assert X[:, 0].tolist() == [1.0, 0.0, 0.0] and O[:, 0].tolist() == [True, False, True]


# ---- column names ------------------------------------------------------------------------------------
def test_feature_name_checks_use_scikit_learns_words():
    fitted = np.array(["a", "b"], dtype=object)
    check_feature_names(fitted, fitted.copy(), "Imputer")
    with pytest.raises(ValueError, match=r"(?s)should match.*unseen at fit time:\n- c\n.*yet now missing:\n- b"):
        check_feature_names(fitted, np.array(["a", "c"], dtype=object), "Imputer")
    with pytest.raises(ValueError, match="same order"):
        check_feature_names(fitted, fitted[::-1], "Imputer")
    with pytest.warns(UserWarning, match="X does not have valid feature names, but Imputer was fitted with"):
        check_feature_names(fitted, None, "Imputer")
    with pytest.warns(UserWarning, match="X has feature names, but Imputer was fitted without"):
        check_feature_names(None, fitted, "Imputer")
    with pytest.raises(ValueError, match="X has 3 features, but Imputer is expecting 2 features as input"):
        check_n_features(2, 3, "Imputer")


# ---- through the Imputer and the job (issue 15, findings 6 and 7) -------------------------------------------
def test_imputer_keeps_observed_types_and_reads_changed_columns():
    from invimpute import Imputer

    df = pd.DataFrame({
        "ints": pd.array([1, None, 3, 4, 5, 6], dtype=object),
        "digits": pd.Series(["1", "2", None, "4", "5", "?"], dtype="str"),
        "flag": pd.array([True, False, None, True, True, False], dtype=object),
        "x": [0.5, 0.1, np.nan, 0.3, 0.2, 0.9],
    })
    imp = Imputer("mean")
    out = imp.fit_transform(df)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    assert [type(v) for v in out["ints"]] == [int] * 6 and out["ints"].tolist() == [1, 4, 3, 4, 5, 6]
    assert out["digits"].tolist() == ["1", "2", "3", "4", "5", "3"]
    as_text = df.assign(flag=pd.array(["True", "False", None, "True", "True", "False"], dtype=object))
    text_out = imp.transform(as_text)
    assert text_out["flag"].tolist() == ["True", "False", str(out["flag"][2]), "True", "True", "False"]
    assert imp.transform(df.astype({"x": "float32"}))["x"].dtype == np.float32
    with pytest.raises(ValueError, match="column 'x' held numbers"):
        imp.transform(df.assign(x=[True, False, None, True, True, False]))


def test_job_refuses_booleans_in_an_integer_column(tmp_path):
    from invimpute import Imputer, job

    imp = Imputer("mean").fit(pd.DataFrame({"n": [1.0, 2.0, np.nan, 4.0], "y": [0.1, 0.2, 0.3, np.nan]}))
    src = tmp_path / "in.csv"
    pd.DataFrame({"n": [True, False, None, True], "y": [0.1, 0.2, 0.3, None]}).to_csv(src, index=False)
    with pytest.raises(ValueError, match="column 'n' held numbers"):
        job.impute_file(imp, src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
