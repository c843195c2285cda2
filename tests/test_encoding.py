"""Tests for invimpute.encoding.encoder.TableEncoder: encode/decode round trips, layouts, scaling and errors."""

from __future__ import annotations

import warnings

import chex
import numpy as np
import pandas as pd
import pytest

from invimpute import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout, Schema, TableEncoder


# ---- round trips -------------------------------------------------------------------------------
def test_round_trip_complete_mixed_table_is_exact(mixed_df):
    enc = TableEncoder()
    X, O = enc.fit_encode(mixed_df)
    n = len(mixed_df)
    d = 3 + 1 + 1 + 1  # three colours, one flag, two numbers
    chex.assert_shape([X, O], (n, d))
    chex.assert_type(X, np.float32)
    assert O.dtype == bool and O.all()
    out = enc.decode(X, index=mixed_df.index)
    assert list(out.columns) == list(mixed_df.columns)
    assert out.index.equals(mixed_df.index)
    for col in ["color", "flag", "count"]:
        assert out[col].tolist() == mixed_df[col].tolist(), col
    assert out.dtypes.to_dict() == mixed_df.dtypes.to_dict()
    assert out["flag"].dtype == bool
    assert out["count"].dtype == np.int64
    assert out["size"].dtype == np.float64
    # float32 storage: numbers come back to float32 precision
    np.testing.assert_allclose(out["size"].to_numpy(), mixed_df["size"].to_numpy(), rtol=1e-6, atol=1e-6)


def test_round_trip_preserves_column_order_and_labels():
    df = pd.DataFrame(
        {
            "z_last": [3.0, 1.0, 2.0, 5.0],
            "a_first": np.array(["q", "p", "q", "r"], dtype=object),
            "m": pd.Categorical(["u", "v", "u", "w"]),
        },
        index=pd.Index(["w", "x", "y", "z"]),
    )
    enc = TableEncoder().fit(df)
    assert enc.schema.names == ["z_last", "a_first", "m"]
    out = enc.decode(enc.encode(df)[0], index=df.index)
    assert list(out.columns) == ["z_last", "a_first", "m"]
    assert out["a_first"].tolist() == ["q", "p", "q", "r"]
    assert isinstance(out["m"].dtype, pd.CategoricalDtype)
    assert list(out["m"].cat.categories) == ["u", "v", "w"]
    assert out["m"].tolist() == ["u", "v", "u", "w"]
    np.testing.assert_allclose(out["z_last"], df["z_last"], rtol=1e-6)


def test_numpy_in_numpy_out():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    enc = TableEncoder(scaling="standard")
    X, O = enc.fit_encode(x)
    out = enc.decode(X)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    chex.assert_shape(out, (20, 3))
    np.testing.assert_allclose(out, x, rtol=1e-5, atol=1e-5)
    x32 = x.astype(np.float32)
    out32 = TableEncoder().fit(x32).decode(TableEncoder().fit(x32).encode(x32)[0])
    assert out32.dtype == np.float32


def test_numeric_text_column_becomes_numeric():
    # a CSV read as text: object or the pandas string dtype, every value a number
    for dtype in (object, "str"):
        df = pd.DataFrame({"x": pd.Series(["1", "2.5", "4"], dtype=dtype)})
        spec = TableEncoder().fit(df).schema.columns[0]
        assert spec.kind == "numeric", dtype
        assert spec.stop - spec.start == 1


def test_categorical_override_for_numeric_column():
    df = pd.DataFrame({"code": [1, 2, 2, 7]})
    enc = TableEncoder(categorical=("code",)).fit(df)
    spec = enc.schema.columns[0]
    assert spec.kind == "categorical" and spec.categories == (1, 2, 7)
    out = enc.decode(enc.encode(df)[0])
    assert out["code"].tolist() == [1, 2, 2, 7]
    with pytest.raises(ValueError, match="nope"):
        TableEncoder(categorical=("nope",)).fit(df)


# ---- layout ------------------------------------------------------------------------------------
def test_one_hot_slices_and_layout_kinds(mixed_df):
    enc = TableEncoder().fit(mixed_df)
    schema = enc.schema
    specs = {c.name: c for c in schema.columns}
    assert (specs["color"].start, specs["color"].stop) == (0, 3)
    assert specs["color"].categories == ("blue", "green", "red")
    assert (specs["flag"].start, specs["flag"].stop, specs["flag"].kind) == (3, 4, "boolean")
    assert (specs["count"].start, specs["size"].start) == (4, 5)
    assert schema.width == 6
    lay = schema.layout
    assert isinstance(lay, Layout)
    assert lay.kind == (CATEGORICAL,) * 3 + (BINARY, UNIT, UNIT)
    assert lay.group == (0, 0, 0, 1, 2, 3)
    assert lay.n_groups == 4 and lay.width == 6 and lay.has_categorical
    assert lay.group_slices() == [slice(0, 3), slice(3, 4), slice(4, 5), slice(5, 6)]
    X, _ = enc.encode(mixed_df)
    np.testing.assert_array_equal(X[:, 0:3].sum(axis=1), 1.0)
    red = (mixed_df["color"] == "red").to_numpy()
    np.testing.assert_array_equal(X[:, 2] == 1.0, red)
    np.testing.assert_array_equal(X[:, 3] == 1.0, mixed_df["flag"].to_numpy())


def test_standard_scaling_layout_is_numeric(mixed_df):
    lay = TableEncoder(scaling="standard").fit(mixed_df).schema.layout
    assert lay.kind[4:] == (NUMERIC, NUMERIC)


def test_schema_dict_round_trip(mixed_df):
    schema = TableEncoder().fit(mixed_df).schema
    assert Schema.from_dict(schema.to_dict()) == schema


# ---- scaling -----------------------------------------------------------------------------------
def test_minmax_into_unit_interval(mixed_df):
    X, _ = TableEncoder(scaling="minmax").fit_encode(mixed_df)
    for j in (4, 5):
        assert X[:, j].min() == pytest.approx(0.0, abs=1e-7)
        assert X[:, j].max() == pytest.approx(1.0, abs=1e-6)


def test_standard_scaling(mixed_df):
    X, _ = TableEncoder(scaling="standard").fit_encode(mixed_df)
    for j in (4, 5):
        assert X[:, j].mean() == pytest.approx(0.0, abs=1e-5)
        assert X[:, j].std() == pytest.approx(1.0, abs=1e-4)


def test_scaling_none_marks_unit_columns_bounded():
    df = pd.DataFrame({"p": [0.0, 0.5, 1.0], "q": [-1.0, 0.0, 3.0]})
    enc = TableEncoder(scaling="none")
    X, _ = enc.fit_encode(df)
    np.testing.assert_array_equal(X, df.to_numpy(np.float32))
    assert enc.schema.layout.kind == (UNIT, NUMERIC)


def test_scaling_is_learned_from_observed_cells_only():
    df = pd.DataFrame({"v": [0.0, 10.0, 1000.0, 5.0]})
    observed = np.array([[True], [True], [False], [True]])
    enc = TableEncoder().fit(df, observed)
    spec = enc.schema.columns[0]
    assert (spec.offset, spec.scale) == (0.0, 10.0)
    X, O = enc.encode(df, observed)
    np.testing.assert_array_equal(O[:, 0], observed[:, 0])
    assert X[2, 0] == enc.fill


# ---- missing values ----------------------------------------------------------------------------
def test_missing_cells_get_fill_and_mask(mixed_df_missing):
    enc = TableEncoder(fill=0.25)
    X, O = enc.fit_encode(mixed_df_missing)
    df = mixed_df_missing
    color_missing = df["color"].isna().to_numpy()
    assert color_missing.any()
    # a missing categorical cell marks its whole one-hot group missing and filled
    np.testing.assert_array_equal(O[:, 0:3], np.repeat(~color_missing[:, None], 3, axis=1))
    np.testing.assert_array_equal(X[color_missing, 0:3], 0.25)
    np.testing.assert_array_equal(O[:, 3], df["flag"].notna().to_numpy())
    np.testing.assert_array_equal(O[:, 5], df["size"].notna().to_numpy())
    assert np.isfinite(X).all()
    # decoding a matrix still yields complete labels in the fitted dtype
    out = enc.decode(X, index=df.index)
    assert out.notna().all().all()
    assert set(out["color"]) <= {"blue", "green", "red"}


def test_unseen_category_warns_and_is_missing():
    fit_df = pd.DataFrame({"c": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]})
    enc = TableEncoder().fit(fit_df)
    new = pd.DataFrame({"c": ["a", "zzz", "b"], "x": [1.0, 2.0, 3.0]})
    with pytest.warns(UserWarning, match="zzz"):
        X, O = enc.encode(new)
    np.testing.assert_array_equal(O[:, 0:2], [[True, True], [False, False], [True, True]])
    np.testing.assert_array_equal(X[1, 0:2], enc.fill)
    assert O[:, 2].all()


def test_known_categories_do_not_warn(mixed_df):
    enc = TableEncoder().fit(mixed_df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc.encode(mixed_df.iloc[:5])


# ---- errors ------------------------------------------------------------------------------------
def test_empty_table_raises():
    with pytest.raises(ValueError, match="empty"):
        TableEncoder().fit(pd.DataFrame())
    with pytest.raises(ValueError, match="empty"):
        TableEncoder().fit(pd.DataFrame({"a": []}))
    with pytest.raises(ValueError, match="empty"):
        TableEncoder().fit(np.zeros((0, 3)))


def test_entirely_missing_column_is_named():
    df = pd.DataFrame({"ok": [1.0, 2.0, 3.0], "ghost": [np.nan, np.nan, np.nan]})
    with pytest.raises(ValueError, match="ghost"):
        TableEncoder().fit(df)
    # also when the observed mask hides every value
    obs = np.array([[True, True]] * 3)
    obs[:, 0] = False
    with pytest.raises(ValueError, match="'ok'"):
        TableEncoder().fit(pd.DataFrame({"ok": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]}), obs)


def test_junk_in_numeric_column_is_named_at_fit():
    df = pd.DataFrame({"amount": ["1.5", "2", "abc", "4", "5"], "other": [1, 2, 3, 4, 5]})
    with pytest.raises(ValueError, match=r"amount.*abc"):
        TableEncoder().fit(df)
    # named as categorical, the same column is accepted as labels
    enc = TableEncoder(categorical=("amount",)).fit(df)
    assert enc.schema.columns[0].kind == "categorical"


def test_junk_in_numeric_column_is_named_at_encode():
    enc = TableEncoder().fit(pd.DataFrame({"amount": [1.0, 2.0, 3.0]}))
    bad = pd.DataFrame({"amount": np.array([1.0, "oops", 3.0], dtype=object)})
    with pytest.raises(ValueError, match=r"amount.*oops"):
        enc.encode(bad)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_values_are_named(value):
    df = pd.DataFrame({"fine": [1.0, 2.0, 3.0], "wild": [1.0, value, 3.0]})
    with pytest.raises(ValueError, match="wild"):
        TableEncoder().fit(df)
    enc = TableEncoder().fit(df.assign(wild=[1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="wild"):
        enc.encode(df)


def test_different_columns_at_encode(mixed_df):
    enc = TableEncoder().fit(mixed_df)
    with pytest.raises(ValueError, match="size"):
        enc.encode(mixed_df.drop(columns=["size"]))
    with pytest.raises(ValueError, match="extra"):
        enc.encode(mixed_df.assign(extra=1.0))
    with pytest.raises(ValueError, match="order"):
        enc.encode(mixed_df[list(reversed(mixed_df.columns))])


def test_wrong_shape_observed_mask(mixed_df):
    enc = TableEncoder().fit(mixed_df)
    with pytest.raises(ValueError, match="shape"):
        enc.encode(mixed_df, np.ones((len(mixed_df), 3), bool))
    with pytest.raises(ValueError, match="shape"):
        TableEncoder().fit(mixed_df, np.ones((2, 4), bool))


def test_encode_and_decode_before_fit():
    enc = TableEncoder()
    with pytest.raises(RuntimeError, match="fit"):
        enc.encode(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(RuntimeError, match="fit"):
        enc.decode(np.zeros((1, 1), np.float32))


def test_decode_wrong_width(mixed_df):
    enc = TableEncoder().fit(mixed_df)
    with pytest.raises(ValueError, match="6"):
        enc.decode(np.zeros((2, 5), np.float32))


def test_bad_inputs():
    with pytest.raises(ValueError, match="scaling"):
        TableEncoder(scaling="log").fit(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ValueError, match="2-D"):
        TableEncoder().fit(np.zeros(4))
    with pytest.raises(TypeError, match="list"):
        TableEncoder().fit([[1.0, 2.0]])
    dup = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(ValueError, match="unique"):
        TableEncoder().fit(dup)


def test_mushrooms_round_trip_is_exact(shared_data):
    df = pd.read_csv(shared_data / "mushrooms.csv", nrows=300).drop(columns=["stalk-root"])
    enc = TableEncoder()
    X, O = enc.fit_encode(df)
    lay = enc.schema.layout
    assert set(lay.kind) == {CATEGORICAL} and lay.n_groups == df.shape[1]
    for sl in lay.group_slices():  # exactly one hot entry per group
        np.testing.assert_array_equal(X[:, sl].sum(axis=1), 1.0)
    pd.testing.assert_frame_equal(enc.decode(X, index=df.index), df)


def test_draw_range_widens_to_the_fences_but_keeps_the_sign_observed():
    from invimpute.encoding.encoder import draw_range

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"pos": rng.exponential(size=300), "both": rng.normal(size=300),
                       "neg": -rng.exponential(size=300)})
    specs = {s.name: s for s in TableEncoder().fit(df).schema.columns}
    low, high = draw_range(specs["pos"])
    assert low == 0.0 and high == specs["pos"].clip_high > specs["pos"].high
    low, high = draw_range(specs["both"])
    assert (low, high) == (specs["both"].clip_low, specs["both"].clip_high)
    assert low < specs["both"].low and high > specs["both"].high
    low, high = draw_range(specs["neg"])
    assert high == 0.0 and low == specs["neg"].clip_low < specs["neg"].low
    raw = TableEncoder(scaling="none").fit(pd.DataFrame({"p": rng.random(50)})).schema.columns[0]
    assert draw_range(raw) == (raw.low, raw.high)
