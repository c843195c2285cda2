"""Property tests (hypothesis) over random mixed tables, for every method at tiny settings.

Tables mix float64 / float32 columns holding extreme finite values, complete int64 and bool columns,
object string and category columns with missing cells, odd column names and a shuffled index (and,
separately, duplicate index labels), under random missing patterns. For each: the output has no missing, NaN or infinite cell; every observed cell
comes back identical in value and type; the caller's table is untouched; the same seed gives the same
table; or the call raises a ValueError naming the offending column. Example counts are bounded (CI
budget): more for the fast peers, fewer for the methods that train a network.

Dtypes whose round trip belongs to the dataframe issue (pandas 3's default ``str``, object columns of
Python ints, digit strings, nullable and pyarrow dtypes) are not drawn here; duplicate index labels
with missing text cells crash today (issue 14 item 6), so that property is an expected failure with
its reason until the dataframe work lands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from invimpute import Imputer

OPTIONS = {"gain": {"iterations": 10}, "miwae": {"n_steps": 5, "n_samples": 10},
           "iterative": {"max_iter": 2}, "missforest": {"max_iter": 2, "n_estimators": 3}}
TINY = dict(model={"hidden": [8], "latent": 4}, train={"epochs": 2, "batch_size": 32}, inversion={"steps": 3})
FAST = ["mean", "knn", "softimpute", "iterative", "gaussian"]
SLOW = ["auto", "ae", "reverse", "recurrent", "missforest", "gain", "miwae"]
N_ROWS = 12
EXTREMES = [1.7e308, -1.7e308, 1e300, -1e300, 5e-324, -0.0, 0.0, 1.0, -3.5, 123456789.123]
NAMES = ["a", "size", " spaced name ", "ü-col", "a.b", "0", "x" * 40, "naïve", "tab\tname"]


@st.composite
def tables(draw, duplicate_labels: bool = False) -> pd.DataFrame:
    n_cols = draw(st.integers(1, 4))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=n_cols, max_size=n_cols, unique=True))
    cols = {}
    for name in names:
        kind = draw(st.sampled_from(["float", "float32", "int", "bool", "str", "category"]))
        if kind in ("float", "float32"):
            values = draw(st.lists(st.one_of(st.sampled_from(EXTREMES),
                                             st.floats(-1e6, 1e6, allow_nan=False, width=64)),
                                   min_size=N_ROWS, max_size=N_ROWS))
            arr = np.array(values, dtype=np.float64)
            if kind == "float32":
                arr = np.clip(arr, -3e38, 3e38).astype(np.float32)
            cols[name] = arr
        elif kind == "int":
            cols[name] = np.array(draw(st.lists(st.integers(-2**40, 2**40), min_size=N_ROWS, max_size=N_ROWS)), dtype=np.int64)
        elif kind == "bool":
            cols[name] = np.array(draw(st.lists(st.booleans(), min_size=N_ROWS, max_size=N_ROWS)))
        else:
            labels = draw(st.lists(st.sampled_from(["red", "blue", "green", "ß", "a b"]), min_size=N_ROWS, max_size=N_ROWS))
            cols[name] = pd.Series(labels, dtype="category" if kind == "category" else object)
    df = pd.DataFrame(cols)
    if duplicate_labels:
        df.index = pd.Index(draw(st.lists(st.integers(0, 3), min_size=N_ROWS, max_size=N_ROWS)), name="id")
    else:
        df.index = pd.Index(draw(st.permutations(range(100, 100 + 7 * N_ROWS, 7))), name="id")
    missing = np.array(draw(st.lists(st.booleans(), min_size=N_ROWS * n_cols, max_size=N_ROWS * n_cols))).reshape(N_ROWS, n_cols)
    for j, name in enumerate(names):
        if df[name].dtype.kind in "iub":  # complete integer and bool columns stay complete
            continue
        m = missing[:, j]
        m[draw(st.integers(0, N_ROWS - 1))] = False  # at least one observed cell per column
        if df[name].dtype.kind == "f":
            df.loc[m, name] = np.nan
        else:
            df[name] = df[name].where(~m, None) if df[name].dtype == object else df[name].mask(m)
    return df


def _check(method: str, df: pd.DataFrame) -> None:
    original = df.copy(deep=True)
    imp = Imputer(method, options=OPTIONS.get(method), seed=7, **TINY)
    try:
        out = imp.fit_transform(df)
    except ValueError as exc:
        assert any(repr(c) in str(exc) or str(c) in str(exc) for c in df.columns), f"unclear error: {exc}"
        return
    pd.testing.assert_frame_equal(df, original)
    assert list(out.columns) == list(df.columns) and out.index.equals(df.index)
    assert not out.isna().any().any(), "missing cells left in the output"
    for col in df.columns:
        o, s = df[col], out[col]
        known = o.dtype == object and isinstance(s.dtype, pd.StringDtype)  # issue 14 item 5 (dataframe work)
        assert s.dtype == o.dtype or known, f"{col!r}: dtype {o.dtype} came back as {s.dtype}"
        if s.dtype.kind == "f":
            assert np.all(np.isfinite(s.to_numpy())), f"{col!r}: non-finite output"
        obs = o.notna().to_numpy()
        before, after = o.to_numpy()[obs], s.to_numpy()[obs]
        assert [type(v) for v in before] == [type(v) for v in after], f"{col!r}: observed types changed"
        assert np.array_equal(before.astype(object), after.astype(object)), f"{col!r}: observed values changed"
    again = Imputer(method, options=OPTIONS.get(method), seed=7, **TINY).fit_transform(df)
    pd.testing.assert_frame_equal(out, again)


_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("method", FAST)
@settings(max_examples=15, **_SETTINGS)
@given(df=tables())
def test_fast_methods_keep_the_promises(method, df):
    _check(method, df)


@pytest.mark.parametrize("method", SLOW)
@settings(max_examples=3, **_SETTINGS)
@given(df=tables())
def test_trained_methods_keep_the_promises(method, df):
    _check(method, df)


# ---- finding 1: scaling that overflowed gave NaN in the output ------------------------------------
@pytest.mark.parametrize("method", ["mean", "knn", "ae"])
@pytest.mark.parametrize("scaling, values", [
    ("minmax", [1.7e308, -1.7e308, np.nan, 1.0]),
    ("standard", [1e300, -1e300, np.nan, 1.0]),
    ("standard", [1.7e308, 1.7e308, np.nan, 1.6e308]),
])
def test_extreme_finite_values_never_give_nan(method, scaling, values):
    df = pd.DataFrame({"a": values, "b": [1.0, 2.0, 3.0, np.nan]})
    out = Imputer(method, encoding={"scaling": scaling}, seed=0, **TINY).fit_transform(df)
    assert np.all(np.isfinite(out.to_numpy())), out
    assert out["a"].iloc[[0, 1, 3]].tolist() == [values[0], values[1], values[3]]


def test_a_diverged_decode_is_refused_naming_the_column():
    from invimpute.encoding.encoder import TableEncoder

    enc = TableEncoder().fit(pd.DataFrame({"speed": [1.0, 2.0, 3.0]}))
    with pytest.raises(FloatingPointError, match="'speed'"):
        enc.decode(np.array([[np.nan], [0.5], [1.0]], dtype=np.float32))


@pytest.mark.xfail(reason="issue 14 item 6: duplicate index labels crash when a text column has missing cells", strict=False)
@settings(max_examples=10, phases=[Phase.explicit, Phase.reuse, Phase.generate], **_SETTINGS)
@given(df=tables(duplicate_labels=True))
def test_duplicate_index_labels(df):
    _check("mean", df)
