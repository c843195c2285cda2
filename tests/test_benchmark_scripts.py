"""Checks of the arithmetic inside benchmark scripts whose figures are published (not the runs themselves)."""

import importlib.util
import itertools
import pathlib

import numpy as np
import pandas as pd
import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ceiling_script():
    return _load("mushroom_ceiling")


def test_ceiling_of_a_product_table(ceiling_script):
    # col0 in {0, 1} is independent of the rest; col2 is a copy of col1 (fully determined).
    codes = np.array([(a, b, b) for a, b in itertools.product(range(2), range(3))])
    missing = np.zeros(codes.shape, dtype=bool)
    missing[0, 0] = True                       # 2 specimens agree on (col1, col2): 1/2
    assert ceiling_script.ceiling(codes, missing)[0] == pytest.approx(0.5)
    missing[:] = False
    missing[4, 2] = True                       # col2 follows from col1: certain
    assert ceiling_script.ceiling(codes, missing) == (pytest.approx(1.0), True)
    missing[4, 1] = True                       # col1 and col2 both gone: 3 candidates, 1 right
    expected, _ = ceiling_script.ceiling(codes, missing)
    assert expected == pytest.approx(1 / 3)


def test_ceiling_tie_break_takes_the_first_listed_value(ceiling_script):
    codes = np.array([(a, b, b) for a, b in itertools.product(range(2), range(3))])
    missing = np.zeros(codes.shape, dtype=bool)
    missing[0, 0] = True   # true value 0, tied with 1: the first-listed rule is right
    missing[3, 0] = True   # true value 1 (row (1, 0, 0)): the first-listed rule is wrong
    expected, first = ceiling_script.ceiling(codes, missing)
    assert expected == pytest.approx(0.5) and first == pytest.approx(0.5)


def test_folds_partition_the_rows(ceiling_script):
    parts = ceiling_script.folds(3, 103, 5)
    assert len(parts) == 5
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    assert all(np.array_equal(a, b) for a, b in zip(parts, ceiling_script.folds(3, 103, 5)))


def test_publish_prints_and_writes_the_report_atomically(tmp_path, capsys):
    from invimpute.runtime.files import publish

    out = tmp_path / "deep" / "report.md"
    assert publish("| a | b |\n", out) == "| a | b |\n"
    assert out.read_text() == "| a | b |\n"
    assert "| a | b |" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]   # no temporary file left behind
    publish("only printed\n")
    assert "only printed" in capsys.readouterr().out


def test_damage_shift_damages_and_table_groups():
    ds = _load("damage_shift")
    import jax

    for name, groups in ds.TABLE_GROUPS.items():
        assert sorted(c for g in groups for c in g) == list(range(max(max(g) for g in groups) + 1)), name
    key = jax.random.key(0)
    for kind, share in (("rows", 10 / 28), ("band", 10 / 28), ("patch", 0.25), ("cells", 0.36)):
        m = ds.damage("mnist", kind, 50, 784, key)
        assert m.shape == (50, 784) and abs(m.mean() - share) < 0.01, kind
    band = ds.damage("mnist", "band", 50, 784, key).reshape(50, 28, 28)[:, :, 0]
    assert all(np.ptp(np.flatnonzero(r)) == 9 for r in band)                 # one contiguous run of 10 rows
    lost = ds.damage("breast_diagnostic", "groups", 40, 30, key)
    assert (lost.sum(1) == 6).all() and (lost[:, [0, 10, 20]].all(1) == lost[:, 0]).all()
    assert not ds.damage("letter", "none", 5, 16, key).any()


def test_damage_shift_report_states_each_verdict():
    ds = _load("damage_shift")
    cell = {"data": "letter", "train_damage": "none", "test_damage": "cells", "mismatch": True, "ms_per_1000": 1.0}
    records = [{**cell, "method": m, "rmse": r} for m, r in
               (("one pass", 0.09), ("reverse", 0.091), ("reverse, validated", 0.08))]
    lines = ds.report(records, "h").splitlines()
    assert lines[-3].endswith("| no | yes | - | - |")
    assert lines[-1].endswith("reverse 0 of 1; reverse, validated 1 of 1.")
    records += [{**cell, "method": m, "rmse": r} for m, r in (("KNN (k=5)", 0.085), ("reverse from KNN", 0.07))]
    lines = ds.report(records, "h").splitlines()
    assert lines[-3].endswith("| no | yes | yes | - |")
    assert lines[-1].endswith("Where it beats both the one pass and KNN: reverse 0 of 1; reverse, validated 1 of 1; "
                              "reverse from KNN 1 of 1.")


def test_mixed_tables_score():
    mt = _load("mixed_tables")
    import pandas as pd

    truth = pd.DataFrame({"x": [0.0, 5.0, 10.0, 10.0], "c": pd.Categorical(["a", "b", "a", "b"])})
    out = pd.DataFrame({"x": [0.0, 7.0, 10.0, 9.0], "c": pd.Categorical(["a", "a", "a", "b"])})
    missing = np.array([[False, True], [True, True], [False, False], [True, False]])
    got = mt.score(truth, out, missing)
    assert got["numeric_rmse"] == pytest.approx(np.sqrt(((2 / 10) ** 2 + (1 / 10) ** 2) / 2))
    assert got["categorical_accuracy"] == pytest.approx(0.5)


def test_paired_compares_cell_by_cell_with_each_metric_direction(tmp_path):
    import json

    paired = _load("paired")
    base = {"mechanism": "mcar", "rate": 0.2, "config": "c", "status": "ok"}
    rows = [("spam", 0, "a", "rmse", 0.10), ("spam", 0, "b", "rmse", 0.11),
            ("spam", 1, "a", "rmse", 0.12), ("spam", 1, "b", "rmse", 0.12),
            ("mushroom", 0, "a", "accuracy", 0.70), ("mushroom", 0, "b", "accuracy", 0.80),
            ("spam", 2, "a", "rmse", 0.10)]                                  # no partner: not compared
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({**base, "dataset": d, "seed": s, "method": m, "metric": k, "value": v,
                                        "rows": None, "config": m}) + "\n" for d, s, m, k, v in rows))
    text = paired.paired(str(path), "a", "b")
    assert "| spam | mcar | 0.2 | 0 | rmse | 0.100000 | 0.110000 | -0.010000 | better |" in text
    assert "| spam | mcar | 0.2 | 1 | rmse | 0.120000 | 0.120000 | +0.000000 | identical |" in text
    assert "| mushroom | mcar | 0.2 | 0 | accuracy | 0.700000 | 0.800000 | -0.100000 | **worse** |" in text
    assert text.endswith("over 3 cells: better in 1, identical in 1, worse in 1.")


def test_latency_score_and_report():
    lat = _load("latency")
    import pandas as pd

    truth = pd.DataFrame({"x": [0.0, 5.0, 10.0, 10.0], "c": pd.Categorical(["a", "b", "a", "b"])})
    out = pd.DataFrame({"x": [0.0, 7.0, 10.0, 9.0], "c": pd.Categorical(["a", "a", "a", "b"])})
    missing = np.array([[False, True], [True, True], [False, False], [True, False]])
    got = lat.score(truth, out, missing)
    assert got["rmse"] == pytest.approx(np.sqrt(((2 / 10) ** 2 + (1 / 10) ** 2) / 2))
    assert got["accuracy"] == pytest.approx(0.5)
    rows = [{"table": "t", "method": "auto", "shape": [4, 2], "cold_s": 9.0, "warm_s": 3.0, "repeat_s": 2.0,
             "rmse": 0.1, "accuracy": None},
            {"table": "t", "method": "iterative", "shape": [4, 2], "cold_s": 1.0, "warm_s": 1.0, "repeat_s": 0.5,
             "rmse": 0.2, "accuracy": None},
            {"table": "t", "method": "missforest", "skipped": "skipped (over 1,000 rows)"}]
    text = lat.report(rows, "python benchmarks/latency.py", 0)
    assert "python benchmarks/latency.py" in text.splitlines()[3]
    assert "| t | 4 × 2 | auto | 9.00 | 3.00 | 2.00 | 4.0× | 0.1000 | – |" in text
    assert "skipped (over 1,000 rows)" in text
    frame = lat.generated(n=500)
    assert frame.shape == (500, 10) and not frame.isna().any().any()


def test_budget_dev_sets_the_training_budget_for_this_process(monkeypatch):
    import invimpute.training.config as budget

    for name in ("MIN_STEPS", "BUDGET_EPOCHS", "FLOOR_EPOCHS"):
        monkeypatch.setattr(budget, name, getattr(budget, name))  # restored after the test
    script = _load("budget_dev")
    script.apply(["MIN_STEPS=700", "BUDGET_EPOCHS=3", "FLOOR_EPOCHS=1000"])
    assert budget.default_steps(100, 128) == 700 and budget.default_steps(128 * 400, 128) == 1200
    with pytest.raises(SystemExit, match="NAME=NUMBER"):
        script.apply(["LEARNING_RATE=1"])
    with pytest.raises(SystemExit, match="MAX_BATCH needs a int"):
        script.apply(["MAX_BATCH=lots"])
    import invimpute.peers.neighbours as neighbours

    monkeypatch.setattr(neighbours, "KNN_WORK", neighbours.KNN_WORK)
    script.apply(["KNN_WORK=1e6"])
    assert neighbours.knn_donors(1_000, 10) == 100


def test_dev_table_puts_runs_side_by_side(tmp_path):
    """``dev_table.py`` reads each run's results file and gives per seed the metric and seconds, and per
    table each run's mean with its change against the first run."""
    import json

    script = _load("dev_table")
    for label, values in (("a", (0.10, 0.20)), ("b", (0.11, 0.22))):
        with open(tmp_path / f"{label}.jsonl", "w") as f:
            for seed, v in enumerate(values):
                f.write(json.dumps({"dataset": "t", "seed": seed, "method": "auto", "metric": "rmse", "value": v,
                                    "mechanism": "mcar", "rate": 0.2, "fit_seconds": 1.0, "impute_seconds": 0.5,
                                    "status": "ok", "mask_sha256": str(seed), "params": {"method": "auto"},
                                    "config": "c"}) + "\n")
    text = script.table([("a", str(tmp_path / "a.jsonl")), ("b", str(tmp_path / "b.jsonl"))])
    assert "| t | 0 | 0.1000 (1.5 s) | 0.1100 (1.5 s) |" in text
    assert "| t | 0.15000 (1.5 s) | 0.16500, +10.00% (1.5 s) |" in text
    with open(tmp_path / "a.jsonl", "a") as f:  # a frontier record of another metric, read only when asked
        f.write(json.dumps({"dataset": "t", "seed": 0, "method": "auto", "metric": "in_rmse_z", "value": 0.7,
                            "mechanism": "mcar", "rate": 0.3, "fit_seconds": 1.0, "impute_seconds": 0.5,
                            "status": "ok", "mask_sha256": "z", "params": {"method": "auto"}, "config": "c"}) + "\n")
    assert "| t | 0 | 0.1000 (1.5 s) | 0.1100 (1.5 s) |" in script.table([("a", str(tmp_path / "a.jsonl")),
                                                                         ("b", str(tmp_path / "b.jsonl"))])
    assert "| t | 0 | 0.7000 (1.5 s) | – |" in script.table([("a", str(tmp_path / "a.jsonl")),
                                                             ("b", str(tmp_path / "b.jsonl"))], ("in_rmse_z",))


def test_mi_simulation_tables_and_its_norm_reference():
    """The simulation's tables miss about 30% of x2, x3 and y and never x1; the NORM reference keeps observed
    cells, differs between imputations, and draws y around its regression on the x's with the model's noise."""
    ms = _load("mi_simulation")
    full, df = ms.simulate("linear", 4000, np.random.default_rng(0))
    lost = df.isna().mean()
    assert lost["x1"] == 0 and all(abs(lost[c] - ms.MISSING_RATE) < 0.03 for c in ("x2", "x3", "y"))
    tables = ms._norm_da(df, 3, seed=1)
    observed = df.notna().to_numpy()
    assert len(tables) == 3 and not any(t.isna().any().any() for t in tables)
    for t in tables:
        np.testing.assert_array_equal(t.to_numpy()[observed], df.to_numpy()[observed])
    assert not np.allclose(tables[0].to_numpy(), tables[1].to_numpy())
    drawn = df["y"].isna().to_numpy()
    X = np.column_stack([np.ones(len(full)), full[["x1", "x2", "x3"]].to_numpy()])
    residual = tables[0]["y"].to_numpy()[drawn] - X[drawn] @ ms.true_beta("linear")
    assert abs(residual.mean()) < 0.1 and 0.85 < residual.std() < 1.15
    est, se, df_ = ms._pooled(tables, "linear", len(full))
    assert (np.abs(est - ms.true_beta("linear")) < 4 * se).all() and (df_ > 0).all()


def test_mi_simulation_summary_separates_the_shift_from_the_complete_data_estimate():
    """``shift_over_se`` is the mean distance from the same table's complete-data estimate (0 for the
    complete data itself), ``bias_over_se`` the distance from the truth."""
    ms = _load("mi_simulation")
    rows = []
    for rep in range(4):
        for method, est in (("complete", 1.0 + 0.1 * rep), ("imputer_mi", 1.05 + 0.1 * rep)):
            for t, term in enumerate(ms.TERMS):
                rows.append({"setting": "linear", "rep": rep, "method": method, "term": term,
                             "estimate": ms.true_beta("linear")[t] + est - 1.0, "se": 0.5, "df": 100.0,
                             "seconds": 0.0})
    summary = ms.summarise(pd.DataFrame(rows))
    mi, complete = summary.loc[("linear", "imputer_mi")], summary.loc[("linear", "complete")]
    np.testing.assert_allclose(mi["shift_over_se"], 0.1)
    np.testing.assert_allclose(complete["shift_over_se"], 0.0, atol=1e-12)
    np.testing.assert_allclose(complete["bias_over_se"], 0.3)
    np.testing.assert_allclose(mi["bias_over_se"], 0.4)


def test_tree_candidate_dev_sets_the_trees_candidate(monkeypatch):
    """The experiment's settings of auto's optional ``trees`` candidate hold for the process; the candidate
    is scored on held-out cells and shows in the selection (the script's comparison reads ``trees_weight``)."""
    import invimpute.methods.auto as auto_module
    from invimpute import Imputer

    import invimpute.methods.auto_trees as auto_trees

    monkeypatch.setattr(auto_module, "REFIT", auto_module.REFIT)
    for name in ("TREES", "RICH_TREES"):
        monkeypatch.setattr(auto_trees, name, getattr(auto_trees, name))
    script = _load("tree_candidate_dev")
    script.with_trees("jax", {"rounds": 3, "depth": 2}, refit=False)
    assert auto_trees.TREES["rounds"] == auto_trees.RICH_TREES["rounds"] == 3 and "trees" not in auto_module.REFIT
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 120)
    frame = pd.DataFrame({"x": x, "y": x ** 2, "z": -x}).mask(rng.random((120, 3)) < 0.2)
    candidates = ["mean", "gaussian", "trees"]
    imp = Imputer(seed=0, options={"candidates": candidates}, train={"steps": 20}).fit(frame)
    assert np.isfinite(imp.selection_["trees_error"]).all()
    assert not imp.transform(frame).isna().any().any()


def test_trees_fit_time_times_a_fit():
    """The trees' timing script fits every column of its random table and returns positive seconds."""
    script = _load("trees_fit_time")
    assert script.SETTINGS["rich"] == script.SETTINGS["C"]
    assert 0 < script.seconds(60, 3, script.SETTINGS["lite"], 0.2, reps=1) < 60
