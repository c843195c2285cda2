"""Tests for invimpute.encoding.missingness: detection of missing cells and the missingness simulators."""

from __future__ import annotations

import chex
import jax
import numpy as np
import pandas as pd
import pytest

from invimpute import missingness
from invimpute.encoding.missingness import apply_mask, detect, mar_mask, mcar_mask, mnar_mask, patch_mask, row_mask

BRIEF_TOKENS = ["", " ", "NA", "N/A", "NULL", "null", "None", "nan", "?"]


# ---- detect ------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", BRIEF_TOKENS)
@pytest.mark.parametrize("dtype", [object, "str"])
def test_detect_finds_every_default_token(token, dtype):
    # "None" is ambiguous (it names real levels): judged per column, missing among numbers
    df = pd.DataFrame({"a": pd.Series(["1", token, "2", f"  {token}  "], dtype=dtype)})
    if token != "None":
        df["a"] = df["a"].replace({"1": "x", "2": "y"})
    found = detect(df)
    assert found.observed["a"].tolist() == [True, False, True, False]
    assert found.report.loc["a", "token"] == 2
    assert found.report.loc["a", "n_missing"] == 2
    assert pd.isna(found.cleaned["a"].iloc[1]) and pd.isna(found.cleaned["a"].iloc[3])
    assert found.cleaned["a"].iloc[0] in ("x", "1") and found.cleaned["a"].iloc[2] in ("y", "2")


@pytest.mark.parametrize("dtype", [object, "str"])
def test_detect_keeps_an_ambiguous_word_among_text_levels(dtype):
    df = pd.DataFrame({"a": pd.Series(["x", "None", "y", "  None  "], dtype=dtype)})
    found = detect(df)
    assert found.observed["a"].all()
    assert "kept as a value" in found.decisions["a"][0]
    assert detect(df, tokens={"a": ["None"]}).observed["a"].tolist() == [True, False, True, False]


def test_detect_nan_and_none_and_report_counts():
    df = pd.DataFrame(
        {
            "s": np.array(["a", None, "?", "b", np.nan], dtype=object),
            "f": [1.0, np.nan, 3.0, np.nan, 5.0],
            "i": [1, 2, 3, 4, 5],
        },
        index=[10, 20, 30, 40, 50],
    )
    found = detect(df)
    chex.assert_shape(found.observed.to_numpy(), (5, 3))
    assert found.observed.dtypes.eq(bool).all()
    assert found.observed["s"].tolist() == [True, False, False, True, False]
    assert found.observed["f"].tolist() == [True, False, True, False, True]
    assert found.observed["i"].all()
    assert found.observed.index.equals(df.index)
    rep = found.report
    assert list(rep.index) == ["s", "f", "i"]
    assert rep.loc["s"].to_dict() == {"n_missing": 3, "fraction": 0.6, "nan": 2, "token": 1, "sentinel": 0}
    assert rep.loc["f", "nan"] == 2 and rep.loc["f", "n_missing"] == 2
    assert rep.loc["i", "n_missing"] == 0 and rep.loc["i", "fraction"] == 0.0
    # int column without missing cells keeps its dtype in the cleaned copy
    assert found.cleaned["i"].dtype == np.int64


def test_detect_tokens_off_and_custom_tokens():
    df = pd.DataFrame({"a": np.array(["NA", "missing", "x", "  "], dtype=object)})
    off = detect(df, tokens=None)
    # with token matching off, "NA" is a value; whitespace-only cells are always missing (documented)
    assert off.observed["a"].tolist() == [True, True, True, False]
    custom = detect(df, tokens=["missing"])
    assert custom.observed["a"].tolist() == [True, False, True, False]


def test_detect_per_column_sentinels():
    df = pd.DataFrame(
        {
            "age": [30, -999, 41, 0, -999],
            "score": [0.5, -999.0, 0.0, 0.7, 1.0],
            "txt": np.array(["-999", "x", " -999 ", "y", "z"], dtype=object),
        }
    )
    found = detect(df, sentinels={"age": [-999, 0], "txt": [-999]})
    assert found.observed["age"].tolist() == [True, False, True, False, False]
    # "score" is not named, so its -999 stays observed
    assert found.observed["score"].all()
    assert found.observed["txt"].tolist() == [False, True, False, True, True]
    assert found.report.loc["age", "sentinel"] == 3
    assert found.report.loc["txt", "sentinel"] == 2
    assert found.report.loc["score", "n_missing"] == 0
    # an int column with sentinel cells becomes float64 with NaN in the cleaned copy
    assert found.cleaned["age"].dtype == np.float64
    assert found.cleaned["age"].isna().tolist() == [False, True, False, True, True]
    assert found.cleaned["age"].iloc[0] == 30


def test_detect_sentinel_in_pandas_string_column():
    df = pd.DataFrame({"t": pd.Series(["1", "-999", " -999 ", "4"], dtype="str")})
    found = detect(df, sentinels={"t": [-999]})
    assert found.observed["t"].tolist() == [True, False, False, True]


def test_detect_global_sentinels_apply_to_every_column():
    df = pd.DataFrame({"a": [1.0, -1.0, 2.0], "b": [-1, 5, -1], "c": [3.0, 4.0, 5.0]})
    found = detect(df, sentinels=[-1])
    assert found.observed["a"].tolist() == [True, False, True]
    assert found.observed["b"].tolist() == [False, True, False]
    assert found.observed["c"].all()
    assert found.report["sentinel"].tolist() == [1, 2, 0]


def test_detect_unknown_sentinel_column_names_it():
    df = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ValueError, match="nonexistent"):
        detect(df, sentinels={"nonexistent": [-999]})


def test_detect_rejects_arrays():
    with pytest.raises(TypeError, match="DataFrame"):
        detect(np.zeros((2, 2)))


def test_detect_does_not_modify_input():
    df = pd.DataFrame(
        {"s": np.array(["a", "?", None, "NA"], dtype=object), "i": [1, -999, 3, 4], "f": [0.1, np.nan, 0.3, 0.4]}
    )
    before = df.copy(deep=True)
    found = detect(df, sentinels={"i": [-999]})
    pd.testing.assert_frame_equal(df, before)
    assert found.cleaned is not df
    assert found.cleaned["s"].isna().sum() == 3


# ---- MCAR --------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.37])
def test_mcar_exact_count(rate):
    shape = (40, 7)
    m = mcar_mask(0, shape, rate)
    chex.assert_shape(m, shape)
    assert m.dtype == bool
    assert m.sum() == round(rate * 40 * 7)


def test_mcar_only_among_observed_cells():
    rng = np.random.default_rng(1)
    observed = rng.random((30, 5)) > 0.4
    m = mcar_mask(jax.random.key(5), observed.shape, 0.25, observed=observed)
    assert not (m & ~observed).any()
    assert m.sum() == round(0.25 * observed.sum())


def test_mcar_seeded_reproducibility():
    a = mcar_mask(3, (50, 4), 0.2)
    b = mcar_mask(3, (50, 4), 0.2)
    c = mcar_mask(4, (50, 4), 0.2)
    k = mcar_mask(jax.random.key(3), (50, 4), 0.2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, k)  # an int seed and the key made from it agree
    assert not np.array_equal(a, c)


def test_mcar_errors():
    with pytest.raises(ValueError, match="rate"):
        mcar_mask(0, (3, 3), 1.0)
    with pytest.raises(ValueError, match="rate"):
        mcar_mask(0, (3, 3), -0.1)
    with pytest.raises(ValueError, match="shape"):
        mcar_mask(0, (3, 3), 0.1, observed=np.ones((3, 4), bool))


# ---- MAR / MNAR --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gauss_table() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(2000, 10))


def test_mar_rate_and_fully_observed_drivers(gauss_table):
    m = mar_mask(0, gauss_table, 0.2)
    chex.assert_shape(m, gauss_table.shape)
    assert abs(m.mean() - 0.2) < 0.03
    untouched = ~m.any(axis=0)
    # driver_fraction=0.3 of 10 columns: 3 drivers stay fully observed, every target column loses cells
    assert untouched.sum() == 3
    assert m[:, ~untouched].any(axis=0).all()


def test_mar_depends_on_drivers(gauss_table):
    m = mar_mask(1, gauss_table, 0.3)
    drivers = np.flatnonzero(~m.any(axis=0))
    targets = np.flatnonzero(m.any(axis=0))
    # the missingness of a target column is predictable from the drivers: some driver correlates
    corr = np.array(
        [[abs(np.corrcoef(gauss_table[:, dj], m[:, t])[0, 1]) for dj in drivers] for t in targets]
    )
    assert corr.max(axis=1).mean() > 0.1


def test_mar_reproducible_and_errors(gauss_table):
    x = gauss_table[:200]
    np.testing.assert_array_equal(mar_mask(2, x, 0.1), mar_mask(2, x, 0.1))
    assert not np.array_equal(mar_mask(2, x, 0.1), mar_mask(3, x, 0.1))
    with pytest.raises(ValueError):
        mar_mask(0, x[:, :1], 0.1)
    with pytest.raises(ValueError, match="rate"):
        mar_mask(0, x, 1.5)


@pytest.mark.parametrize("side", ["high", "low"])
def test_mnar_removes_values_on_its_side(gauss_table, side):
    x = gauss_table
    m = mnar_mask(0, x, 0.25, side=side)
    assert abs(m.mean() - 0.25) < 0.03
    above = x > np.median(x, axis=0)
    p_above = m[above].mean()
    p_below = m[~above].mean()
    if side == "high":
        assert p_above > 2 * p_below
        assert x[m].mean() > x[~m].mean() + 0.5
    else:
        assert p_below > 2 * p_above
        assert x[m].mean() < x[~m].mean() - 0.5


def test_mnar_bad_side():
    with pytest.raises(ValueError, match="side"):
        mnar_mask(0, np.zeros((5, 2)), 0.1, side="middle")


# ---- image masks -------------------------------------------------------------------------------
def test_row_mask_contiguous_band():
    n, h, w, k = 25, 10, 6, 4
    m = row_mask(0, n, h, w, k)
    chex.assert_shape(m, (n, h, w))
    assert m.dtype == bool
    rows = m.any(axis=2)
    # whole rows: every pixel of a removed row is removed
    np.testing.assert_array_equal(m.all(axis=2), rows)
    assert (rows.sum(axis=1) == k).all()
    for r in rows:
        idx = np.flatnonzero(r)
        assert idx[-1] - idx[0] == k - 1  # one band of adjacent rows
    starts = {int(np.flatnonzero(r)[0]) for r in rows}
    assert len(starts) > 1  # the offset is random per image
    np.testing.assert_array_equal(m, row_mask(0, n, h, w, k))


def test_row_mask_random_rows():
    n, h, w, k = 40, 12, 5, 4
    m = row_mask(1, n, h, w, k, contiguous=False)
    rows = m.any(axis=2)
    np.testing.assert_array_equal(m.all(axis=2), rows)
    assert (rows.sum(axis=1) == k).all()
    gaps = [np.diff(np.flatnonzero(r)).max() for r in rows]
    assert max(gaps) > 1  # not always a contiguous band
    assert not np.array_equal(m, row_mask(2, n, h, w, k, contiguous=False))


def test_row_mask_errors():
    with pytest.raises(ValueError, match="n_rows"):
        row_mask(0, 2, 8, 8, 0)
    with pytest.raises(ValueError, match="n_rows"):
        row_mask(0, 2, 8, 8, 9)


def test_patch_mask():
    n, h, w, patch = 20, 9, 7, (3, 2)
    m = patch_mask(0, n, h, w, patch)
    chex.assert_shape(m, (n, h, w))
    assert (m.sum(axis=(1, 2)) == 6).all()
    for img in m:
        ys, xs = np.nonzero(img)
        assert ys.max() - ys.min() == 2 and xs.max() - xs.min() == 1
    tops = {int(np.nonzero(img)[0].min()) for img in m}
    assert len(tops) > 1
    with pytest.raises(ValueError, match="fit"):
        patch_mask(0, 1, 4, 4, (5, 1))


# ---- apply_mask --------------------------------------------------------------------------------
def test_apply_mask_frame_does_not_modify_input(mixed_df):
    df = mixed_df.iloc[:6]
    before = df.copy(deep=True)
    missing = np.zeros(df.shape, bool)
    missing[0, 0] = missing[1, 1] = missing[2, 2] = missing[3, 3] = True
    out = apply_mask(df, missing)
    pd.testing.assert_frame_equal(df, before)
    np.testing.assert_array_equal(out.isna().to_numpy(), missing)
    assert out.index.equals(df.index) and list(out.columns) == list(df.columns)
    assert out["count"].dtype == np.float64  # ints with NaN become float64
    assert out["size"].iloc[0] == df["size"].iloc[0]


def test_apply_mask_array():
    x = np.arange(12, dtype=np.int64).reshape(3, 4)
    before = x.copy()
    missing = np.eye(3, 4, dtype=bool)
    out = apply_mask(x, missing)
    np.testing.assert_array_equal(x, before)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(out), missing)
    np.testing.assert_array_equal(out[~missing], x[~missing])


def test_apply_mask_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        apply_mask(np.zeros((3, 4)), np.zeros((4, 3), bool))
    with pytest.raises(ValueError, match="shape"):
        apply_mask(pd.DataFrame(np.zeros((3, 4))), np.zeros((3, 5), bool))


def test_default_tokens_cover_the_brief():
    stripped = {t.strip() for t in BRIEF_TOKENS}
    assert stripped <= set(missingness.DEFAULT_TOKENS)


# ---- real data ---------------------------------------------------------------------------------
def test_detect_on_mushrooms_finds_stalk_root_marker(shared_data):
    df = pd.read_csv(shared_data / "mushrooms.csv", keep_default_na=False)
    found = detect(df)
    rep = found.report
    assert rep.loc["stalk-root", "n_missing"] == 2480
    assert rep.loc["stalk-root", "token"] == 2480
    assert rep["n_missing"].drop("stalk-root").eq(0).all()
    assert found.observed["stalk-root"].to_numpy().sum() == len(df) - 2480


def test_group_mask_loses_whole_groups():
    groups = [[0, 3], [1], [2, 4, 5]]
    missing = missingness.group_mask(0, 500, groups, n_lost=2)
    assert missing.shape == (500, 6)
    for g in groups:  # a group is lost whole or not at all
        assert np.all(missing[:, g].all(1) == missing[:, g].any(1))
    lost = np.stack([missing[:, g[0]] for g in groups], axis=1)
    assert (lost.sum(1) == 2).all() and lost.mean(0).min() > 0.5
    np.testing.assert_array_equal(missing, missingness.group_mask(0, 500, groups, n_lost=2))
    with pytest.raises(ValueError, match="cover"):
        missingness.group_mask(0, 5, [[0], [2]])
    with pytest.raises(ValueError, match="n_lost"):
        missingness.group_mask(0, 5, groups, n_lost=4)
