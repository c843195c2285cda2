"""The frontier protocol: masks as HyperImpute defines them, the split, the scores, the resumable runner, budgets."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from invimpute.bench.cli import build_parser, main
from invimpute.bench.frontier.protocol import P_OBS, Scaling, draw_missing, score_split, split_rows
from invimpute.bench.frontier.report import mean_ranks, write_frontier_report
from invimpute.bench.frontier.runner import FrontierConfig, make_cell, metric_names, run_frontier
from invimpute.bench.frontier.tables import TABLES, load_frontier_table
from invimpute.bench.presets import resolve_specs


def _frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    frame = pd.DataFrame(np.c_[z, z @ rng.normal(size=(3, 3))], columns=[f"x{j}" for j in range(6)])
    frame["c"] = np.where(z[:, 0] > 0, "a", "b").astype(object)
    return frame


def test_mcar_mar_mnar_rates_and_structure():
    frame = _frame()
    d = frame.shape[1]
    mcar = draw_missing(frame, "t", "mcar", 0)
    assert abs(mcar.mean() - 0.3) < 0.02
    mar = draw_missing(frame, "t", "mar", 0)
    observed_cols = (~mar).all(axis=0)
    assert observed_cols.sum() == max(int(P_OBS * d), 1)  # HyperImpute's fully observed driver columns
    assert abs(mar[:, ~observed_cols].mean() - 0.3) < 0.03  # p on the other columns
    mnar = draw_missing(frame, "t", "mnar", 0)
    assert abs(mnar.mean() - 0.3) < 0.03 and mnar.any(axis=0).all()  # inputs masked MCAR too
    np.testing.assert_array_equal(mar, draw_missing(frame, "t", "mar", 0))
    assert not np.array_equal(mar, draw_missing(frame, "t", "mar", 1))


def test_mar_depends_on_observed_drivers():
    frame = _frame()
    mar = draw_missing(frame, "t", "mar", 3)
    drivers = (~mar).all(axis=0)
    target = int(np.flatnonzero(~drivers)[0])
    x = frame.iloc[:, np.flatnonzero(drivers)].apply(lambda s: s.astype("category").cat.codes if s.dtype == object
                                                     else s).to_numpy(float)
    corr = [abs(np.corrcoef(x[:, k], mar[:, target])[0, 1]) for k in range(x.shape[1])]
    assert max(corr) > 0.1  # the mask of a non-driver column is predictable from the drivers


def test_split_is_80_20_and_disjoint():
    train, test = split_rows(1000, "t", 0)
    assert len(train) == 800 and len(test) == 200 and not set(train) & set(test)
    assert not np.array_equal(test, split_rows(1000, "t", 1)[1])


def test_scores_follow_their_definitions():
    truth = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 2.0, 2.0], "c": ["x", "y", "x", "y"]})
    filled = truth.copy()
    filled["a"] = [0.0, 2.0, 4.0, 3.0]  # masked cells 1 and 2: doubled, so corr = 1, errors 1 and 2
    filled["b"] = [1.0, 1.5, 1.5, 2.0]  # masked cells 1 and 2: a constant fill, R² counts 0
    filled["c"] = ["x", "x", "x", "y"]
    missing = np.zeros(truth.shape, bool)
    missing[1:3, :] = True
    scaling = Scaling.of(truth, ["a", "b"])
    s = score_split(truth, filled, missing, scaling, ["c"])
    sd = truth[["a", "b"]].std(ddof=0).to_numpy()
    z = np.array([1 / sd[0], 2 / sd[0], 0.5 / sd[1], 0.5 / sd[1]])
    assert s["rmse_z"] == pytest.approx(np.sqrt(np.mean(z ** 2)))
    assert s["mae_z"] == pytest.approx(np.mean(z))
    assert s["rmse_minmax"] == pytest.approx(np.sqrt(np.mean(np.array([1 / 3, 2 / 3, 0.5, 0.5]) ** 2)))
    assert s["r2"] == pytest.approx((1.0 + 0.0) / 2)
    cod_a = 1 - (1 + 4) / ((1 - 1.5) ** 2 + (2 - 1.5) ** 2)
    cod_b = 1 - (0.25 + 0.25) / ((1 - 1.5) ** 2 + (2 - 1.5) ** 2)
    assert s["r2_cod"] == pytest.approx((cod_a + cod_b) / 2)
    assert s["accuracy"] == pytest.approx(0.5)


def test_tables_name_their_dropped_and_categorical_columns():
    assert len(TABLES) >= 11 and {"income", "shoppers", "students", "bike"} <= set(TABLES)
    for spec in TABLES.values():
        assert not set(spec.drop) & set(spec.categorical)


def _config(tmp_path, home, budgets=None, methods=("mean", "knn")) -> FrontierConfig:
    specs = resolve_specs(list(methods))
    return FrontierConfig(datasets=("breast",), mechanisms=("mcar", "mnar"), seeds=(0,), methods=tuple(methods),
                          specs=specs, out=tmp_path / "f.jsonl", max_rows=200, data_home=str(home),
                          budgets=budgets if budgets is not None else {})


@pytest.fixture
def data_home(shared_data):
    """The shared data folder (the test skips where it is absent)."""
    return shared_data


def test_runner_records_both_splits_resumes_and_reports(tmp_path, data_home):
    config = _config(tmp_path, data_home)
    counts = run_frontier(config)
    assert counts["ran"] == 4 and counts["ok"] == 4
    records = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    frame, _ = load_frontier_table("breast", str(data_home), max_rows=200)
    cell = make_cell(frame, "breast", "mcar", 0)
    assert {r["metric"] for r in records} == set(metric_names(cell))
    assert {r["split"] for r in records} == {"in", "out"}
    assert all(r["rows"] == 200 and r["train_rows"] == 160 and r["test_rows"] == 40 for r in records)
    sums = {(r["mechanism"], r["method"]): r["mask_sha256"] for r in records}
    assert sums[("mcar", "mean")] == sums[("mcar", "knn")]  # the same mask for every method
    assert run_frontier(config)["ran"] == 0  # resumable: nothing left to run
    text = write_frontier_report(config.out, tmp_path / "r.md")
    assert "breast (200 of 699 rows)" in text and "published, not run here" in text


def test_over_budget_is_marked_then_skipped(tmp_path, data_home):
    run_frontier(_config(tmp_path, data_home, budgets={"knn": 0.0}))
    records = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    knn = [r for r in records if r["method"] == "knn"]
    assert any(r["over_budget"] and r["status"] == "ok" for r in knn if r["mechanism"] == "mcar")
    assert all(r["status"].startswith("skipped: over budget") for r in knn if r["mechanism"] == "mnar")
    assert not any(r["over_budget"] for r in records if r["method"] == "mean")


def test_mean_ranks_average_ties():
    index = {("mcar", "in", "rmse_z", "t", m): [{"status": "ok", "value": v}] for m, v in
             (("a", 1.0), ("b", 1.0), ("c", 2.0))}
    ranks = mean_ranks(index, "mcar", "in", ["t"], ["a", "b", "c"])
    assert ranks == {"a": (1.5, 1), "b": (1.5, 1), "c": (3.0, 1)}


def test_cli_rejects_unknown_table_and_rates(capsys):
    assert main(["--protocol", "frontier", "--datasets", "nope", "--methods", "mean"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["--protocol", "frontier", "--datasets", "breast", "--rates", "0.2", "--methods", "mean"]) == 2
    assert isinstance(build_parser().parse_args(["--protocol", "frontier"]), argparse.Namespace)


def test_report_ranks_without_a_method_that_has_no_score_in_a_split(tmp_path, data_home):
    """A method with no out-of-sample score at all (miceforest fills no new rows) is named, not ranked,
    so the other methods' out-of-sample ranks still exist."""
    config = _config(tmp_path, data_home)
    run_frontier(config)
    lines = (tmp_path / "f.jsonl").read_text().splitlines()
    kept = []
    for line in lines:  # knn's out-of-sample records marked skipped, as miceforest's are
        record = json.loads(line)
        if record["method"] == "knn" and record["split"] == "out":
            record |= {"status": "skipped: fills no new rows", "value": None}
        kept.append(json.dumps(record))
    (tmp_path / "f.jsonl").write_text("\n".join(kept) + "\n")
    text = write_frontier_report(config.out, tmp_path / "r.md")
    out = text[text.index("out-of-sample"):]
    rank_line = next(line for line in out.splitlines() if line.startswith("Mean rank"))
    assert "not ranked (no score in this split): knn" in rank_line and "nan" not in rank_line
