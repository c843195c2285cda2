"""Per-column treatments (invimpute.encoding.treatment) and ambiguous missing tokens judged per column.

Every column kind keeps the estimator's guarantees: observed cells bit-identical, the input untouched, no
missing fill, same seed same result; passed-through columns come back exactly as given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from invimpute import Imputer, checkpoint
from invimpute.encoding.missingness import detect
from invimpute.encoding.treatment import HIGH_CARDINALITY, TREATMENTS, decide


def wild(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """A small table with one column of every kind, about 10% of the cells missing."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    df = pd.DataFrame({
        "id": [f"C{1000 + i}" for i in range(n)],
        "age": age.astype(float),
        "income": (1000.0 * age + rng.normal(0, 3000, n)).round(2),
        "city": rng.choice(["Paris", "Lyon", "Nice"], n),
        "exp": rng.choice(["none", "some", "2", "3"], n),
        "signup": (pd.Timestamp("2020-01-01") + pd.to_timedelta(age * 10, unit="D")).strftime("%Y-%m-%d"),
        "zip": [f"{z:05d}" for z in rng.integers(0, 4 * HIGH_CARDINALITY, n) * 7],
        "note": [f"customer wrote a long comment number {i} about the service" for i in range(n)],
        "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "kids": rng.integers(0, 4, n).astype(float),
        "flag": pd.array(rng.random(n) < 0.5, dtype="boolean"),
        "const": "x",
    })
    for col in df.columns:
        hole = rng.random(n) < 0.1
        df.loc[hole, col] = pd.NA if col in ("count", "flag") else None if df[col].dtype == object else np.nan
    return df


def test_every_column_gets_a_reported_treatment():
    df = wild()
    imp = Imputer("mean").fit(df)
    got = imp.report_["treatment"].to_dict()
    assert got == {"id": "passthrough", "age": "number", "income": "number", "city": "category", "exp": "category",
                   "signup": "datetime", "zip": "high_cardinality", "note": "passthrough", "count": "integer",
                   "kids": "number", "flag": "boolean", "const": "constant"}
    found = imp.report_["found"]
    assert found["id"] == "identifier" and found["note"] == "free text"
    assert found["signup"] == "date written as text" and found["zip"] == "code written as digits"
    assert "id" not in imp.encoder_.schema.names and "note" not in imp.encoder_.schema.names
    assert "'none'" in imp.report_.loc["exp", "tokens"] and "kept as a value" in imp.report_.loc["exp", "tokens"]


def test_guarantees_hold_for_every_column_kind():
    df = wild()
    before = df.copy(deep=True)
    out = Imputer("mean", seed=3).fit_transform(df)
    pd.testing.assert_frame_equal(df, before)
    assert list(out.dtypes) == list(df.dtypes)
    for col in df.columns:
        obs = df[col].notna().to_numpy()
        assert out[col][obs].tolist() == df[col][obs].tolist(), col
        if col not in ("id", "note"):
            assert out[col].notna().all(), col
    for col in ("id", "note"):  # passed through: exactly as given, missing cells included
        pd.testing.assert_series_equal(out[col], df[col])
    hole = df["signup"].isna()
    assert all(len(v) == 10 and pd.Timestamp(v).strftime("%Y-%m-%d") == v for v in out.loc[hole, "signup"])
    assert set(out.loc[df["zip"].isna(), "zip"]) <= set(df["zip"].dropna())
    assert out["const"].eq("x").all()
    assert out["count"].dtype == "Int64" and (out["count"] == np.rint(out["count"].astype(float))).all()
    again = Imputer("mean", seed=3).fit_transform(df)
    pd.testing.assert_frame_equal(out, again)


def test_a_network_fills_text_dates_in_their_own_format():
    df = wild(n=60)
    df["when"] = pd.to_datetime(df["signup"]).dt.strftime("%d/%m/%Y %H:%M")
    df.loc[df.index[::7], "when"] = None
    out = Imputer("ae", train={"steps": 30}, uncertainty={"calibrate": False}).fit_transform(df)
    filled = out.loc[df["when"].isna(), "when"]
    assert len(filled) and all(pd.to_datetime(v, format="%d/%m/%Y %H:%M").strftime("%d/%m/%Y %H:%M") == v
                               for v in filled)


def test_none_among_levels_is_kept_and_stalk_root_question_mark_is_missing(shared_data):
    df = pd.DataFrame({"exp": ["none", "some", "2", "3"] * 5, "x": np.arange(20.0)})
    df.loc[3, "x"] = np.nan
    out = Imputer("mean").fit_transform(df)
    assert out["exp"].tolist() == df["exp"].tolist()
    mushrooms = pd.read_csv(shared_data / "mushrooms.csv", keep_default_na=False)
    found = detect(mushrooms)
    assert found.report.loc["stalk-root", "n_missing"] == 2480
    assert "read as missing" in found.decisions["stalk-root"][0]


def test_none_judged_against_numbers_and_other_missing_markers():
    df = pd.DataFrame({
        "years": ["1", "2", "none", "4", "5", "6"],       # a word among numbers: missing
        "mostly": ["none", "none", "none", "1", "2", "none"],  # more common than the numbers: a level
        "marked": ["a", None, "None", "b", "a", "b"],     # the column writes missing as None already
        "sym": ["+", "-", "?", "+", "-", "+"],            # "?" among symbols: a level
    })
    found = detect(df)
    assert found.observed["years"].tolist() == [True, True, False, True, True, True]
    assert found.observed["mostly"].all()
    assert found.observed["marked"].tolist() == [True, False, True, True, True, True]
    assert found.observed["sym"].all()


def test_user_says_which_tokens_are_missing_per_column():
    df = pd.DataFrame({"exp": ["none", "some", "2", "3"] * 5, "x": np.arange(20.0)})
    imp = Imputer("mean", encoding={"tokens": {"exp": ["none"]}})
    out = imp.fit_transform(df)
    assert imp.report_.loc["exp", "n_missing"] == 5
    assert out["exp"].isin(["some", "2", "3"]).all()
    with pytest.raises(ValueError, match="tokens"):
        Imputer("mean", encoding={"tokens": "everything"}).fit(df)


def test_overrides_are_validated_and_applied():
    df = wild(n=40)
    with pytest.raises(ValueError, match=r"column 'zip' asks for treatment 'zipcode'.*'high_cardinality'"):
        Imputer("mean", encoding={"columns": {"zip": "zipcode"}}).fit(df)
    with pytest.raises(ValueError, match=r"not in the table: \['nope'\]"):
        Imputer("mean", encoding={"columns": {"nope": "category"}}).fit(df)
    imp = Imputer("mean", encoding={"columns": {"zip": "number", "city": "passthrough", "signup": "category"}})
    out = imp.fit_transform(df)
    assert imp.report_.loc["zip", "treatment"] == "number" and "set by encoding" in imp.report_.loc["zip", "detail"]
    pd.testing.assert_series_equal(out["city"], df["city"])
    assert out["zip"].notna().all() and set(out["signup"].dropna()) <= set(df["signup"].dropna())
    with pytest.raises(ValueError, match=r"column 'city' is treated as 'number' but holds"):
        Imputer("mean", encoding={"columns": {"city": "number"}}).fit(df)


def test_column_that_cannot_be_typed_names_the_override():
    df = pd.DataFrame({"a": [np.nan] * 5, "b": np.arange(5.0)})
    with pytest.warns(UserWarning, match=r"column 'a' has no observed value: it is passed through"):
        imp = Imputer("mean").fit(df)
    assert imp.report_.loc["a", "treatment"] == "passthrough" and imp.report_.loc["a", "found"] == "empty"
    pd.testing.assert_frame_equal(imp.transform(df), df)
    out = Imputer("mean", encoding={"columns": {"a": "passthrough"}}).fit_transform(df)
    pd.testing.assert_frame_equal(out, df)
    ids = pd.DataFrame({"id": [f"r{i}" for i in range(30)]})
    with pytest.raises(ValueError, match="no column is left to impute from"):
        Imputer("mean").fit(ids)


def test_a_new_text_date_that_does_not_parse_names_the_column():
    df = wild(n=40)
    imp = Imputer("mean").fit(df)
    bad = df.copy()
    bad.loc[0, "signup"] = "soon"
    with pytest.raises(ValueError, match=r"column 'signup' holds dates written as '%Y-%m-%d'.*'soon'"):
        imp.transform(bad)


def test_digits_as_text_codes_and_numbers_as_text():
    n = 200
    rng = np.random.default_rng(1)
    codes = pd.Series([str(v) for v in rng.integers(10000, 99999, n)])
    plain = pd.Series([str(v) for v in rng.integers(1, 400, n)])
    df = pd.DataFrame({"code": codes, "amount": plain, "x": rng.normal(size=n)})
    plan = decide(df, df.notna())
    kinds = {t.name: t.treatment for t in plan.columns}
    assert kinds == {"code": "high_cardinality", "amount": "integer", "x": "number"}


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_arrow_dates_come_back_as_dates(kind):
    days = pd.Series(pd.date_range("2020-01-01", periods=30, freq="5D").date, dtype=pd.ArrowDtype(pa.date32()))
    df = pd.DataFrame({"d": days, "x": np.arange(30.0)})
    df.loc[[2, 9], "d"] = None
    df.loc[4, "x"] = np.nan
    data = df
    if kind == "polars":
        pl = pytest.importorskip("polars")
        data = pl.from_pandas(df)
    out = Imputer("mean").fit_transform(data)
    if kind == "polars":
        assert out.schema["d"] == pl.Date and out["d"].null_count() == 0
        out = out.to_pandas(types_mapper=pd.ArrowDtype)
    assert out["d"].dtype == df["d"].dtype and out["d"].notna().all()
    assert out["d"][[0, 1, 3]].tolist() == df["d"][[0, 1, 3]].tolist()


def test_float_counts_keep_fractional_fills_and_integer_rounds_them():
    df = pd.DataFrame({"kids": [3.0, 1.0, 2.0, np.nan, 1.0, 1.0], "x": np.arange(6.0)})
    assert decide(df, df.notna()).columns[0].treatment == "number"  # a float column: least squared error
    assert Imputer("mean").fit_transform(df).loc[3, "kids"] == pytest.approx(1.6)
    rounded = Imputer("mean", encoding={"columns": {"kids": "integer"}}).fit_transform(df)
    assert rounded.loc[3, "kids"] == 2.0
    counts = df.astype({"kids": "Int64"})
    assert Imputer("mean").fit_transform(counts).loc[3, "kids"] == 2


def test_checkpoint_keeps_the_treatments(tmp_path):
    df = wild(n=40)
    imp = Imputer("mean", encoding={"columns": {"city": "passthrough"}}).fit(df)
    checkpoint.save(imp, tmp_path / "m")
    loaded = checkpoint.load(tmp_path / "m")
    assert loaded.plan_ == imp.plan_
    pd.testing.assert_frame_equal(loaded.transform(df), imp.transform(df))
    assert list(loaded.report_["treatment"]) == list(imp.report_["treatment"])


def test_cli_fit_prints_each_columns_treatment(tmp_path, capsys):
    from invimpute.cli import main

    path = tmp_path / "t.csv"
    wild(n=40).drop(columns=["count"]).to_csv(path, index=False)
    assert main(["fit", str(path), "--out", str(tmp_path / "m"), "--method", "mean", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "passthrough" in text and "identifier" in text and "'%Y-%m-%d'" in text
    assert "'none'" in text


def test_treatment_names_are_public():
    assert "high_cardinality" in TREATMENTS and "passthrough" in TREATMENTS and HIGH_CARDINALITY == 50


def test_belief_covers_every_column_constant_ones_with_certainty():
    rng = np.random.default_rng(0)
    n = 80
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 2 * x + 0.1 * rng.normal(size=n), "kind": ["a"] * n, "level": [3.0] * n,
                       "id": [f"c{i}" for i in range(n)]})
    damaged = df.copy()
    damaged.loc[[1, 5], "kind"] = None
    damaged.loc[[2, 6], "level"] = np.nan
    damaged.loc[[3, 7], "y"] = np.nan
    damaged.loc[[4], "id"] = None
    b = Imputer("ae", train={"steps": 30}, seed=0).fit(damaged).belief(damaged)
    for frame in (b.confidence, b.mean, b.std, b.lower, b.upper):
        assert list(frame.columns) == list(df.columns)
    assert b.confidence.loc[[1, 5], "kind"].eq(1.0).all() and b.probabilities["kind"].loc[[1, 5], "a"].eq(1.0).all()
    assert b.lower.loc[[2, 6], "level"].eq(3.0).all() and b.std.loc[[2, 6], "level"].eq(0.0).all()
    assert b.mean.loc[[3, 7], "y"].notna().all()
    assert b.confidence["id"].isna().all() and b.mean["id"].isna().all()  # passed through: no fill, no belief
