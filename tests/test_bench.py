"""The benchmark harness (``invimpute bench``): grid, shared masks, results file, resume, errors, report.

One ``--quick`` run (wine and breast, MCAR 20%, seed 0; mean, KNN and the DAE preset at 2 epochs) is made
once per module and read by several tests; the other runs use the mean and KNN only, on small tables.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest

from invimpute.bench import cli, grid, masks, peers, presets, report, results, scoring

QUICK_METHODS = ["mean", "knn", "invimpute-dae"]


def _lines(path: pathlib.Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def _records(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in _lines(path)]


@pytest.fixture(scope="module")
def quick(tmp_path_factory, shared_data) -> tuple[pathlib.Path, list[str]]:
    """The results file of one quick run and the arguments that made it (re-run them to resume)."""
    out = tmp_path_factory.mktemp("bench") / "results.jsonl"
    argv = ["--quick", "--datasets", "wine", "breast", "--methods", *QUICK_METHODS, "--epochs-override", "2",
            "--data-home", str(shared_data), "--out", str(out)]
    assert cli.main(argv) == 0
    return out, argv


def test_quick_run_writes_one_record_per_cell_and_metric(quick):
    out, _ = quick
    recs = _records(out)
    assert len(recs) == 2 * len(QUICK_METHODS) * 2  # datasets x methods x (rmse, mae)
    keys = {(r["dataset"], r["method"], r["metric"]) for r in recs}
    assert keys == {(d, m, k) for d in ("wine", "breast") for m in QUICK_METHODS for k in ("rmse", "mae")}
    for r in recs:
        assert r["status"] == "ok"
        assert (r["mechanism"], r["rate"], r["seed"]) == ("mcar", 0.2, 0)
        assert 0.0 < r["value"] < 1.0
        assert r["fit_seconds"] >= 0 and r["impute_seconds"] >= 0
        assert abs(r["missing_fraction"] - 0.2) < 0.01
        assert {"machine", "command", "config", "params", "mask_sha256", "rows", "cols"} <= r.keys()
        assert r["machine"]["cpus"] and r["machine"]["jax"]
    value = {(r["dataset"], r["method"], r["metric"]): r["value"] for r in recs}
    for d in ("wine", "breast"):
        assert value[(d, "knn", "rmse")] < value[(d, "mean", "rmse")]
        for m in QUICK_METHODS:
            assert value[(d, m, "mae")] <= value[(d, m, "rmse")]
    dae = next(r for r in recs if r["method"] == "invimpute-dae")
    assert dae["params"]["epochs"] == 2 and "steps" not in dae["params"]


def test_every_method_of_a_cell_gets_the_same_mask(quick, shared_data):
    out, _ = quick
    recs = _records(out)
    for dataset in ("wine", "breast"):
        sums = {r["mask_sha256"] for r in recs if r["dataset"] == dataset}
        assert len(sums) == 1
        truth = masks.load_table(dataset, str(shared_data))
        assert sums == {masks.mask_checksum(masks.draw_mask(truth, dataset, "mcar", 0.2, 0))}
        assert masks.mask_checksum(masks.draw_mask(truth, dataset, "mcar", 0.2, 1)) not in sums


def test_resume_skips_done_cells_and_reruns_only_a_deleted_one(quick, tmp_path, capsys):
    source, argv = quick
    out = tmp_path / "results.jsonl"
    shutil.copy(source, out)
    argv = [*argv[:-1], str(out)]
    before = _lines(out)
    assert cli.main(argv) == 0
    assert _lines(out) == before
    assert "0 cells run" in capsys.readouterr().err

    gone = next(i for i, line in enumerate(before) if '"method": "knn"' in line and '"metric": "rmse"' in line)
    kept = before[:gone] + before[gone + 1:]
    out.write_text("\n".join(kept) + "\n")
    assert cli.main(argv) == 0
    after = _lines(out)
    assert after[:-1] == kept and len(after) == len(before)
    assert results.record_key(json.loads(after[-1])) == results.record_key(json.loads(before[gone]))
    assert "1 cells run" in capsys.readouterr().err


def test_a_torn_last_line_is_ignored_and_the_next_record_starts_a_new_line(tmp_path):
    out = tmp_path / "r.jsonl"
    rec = {"dataset": "wine", "rows": 178, "mechanism": "mcar", "rate": 0.2, "seed": 0, "method": "mean",
           "config": "x", "metric": "rmse", "value": 0.2, "status": "ok"}
    results.append_records(out, [rec])
    with out.open("a") as fh:
        fh.write('{"dataset": "wine", "rows": 17')
    assert results.read_results(out) == [rec]
    results.append_records(out, [{**rec, "seed": 1}])
    assert [r["seed"] for r in results.read_results(out)] == [0, 1]


def test_unknown_names_are_errors_that_list_the_valid_ones(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert cli.main(["--methods", "mean", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown method" in err and "'nope'" in err and "invimpute-dae" in err and "knn" in err
    assert cli.main(["--datasets", "nope", "--methods", "mean", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset" in err and "breast_diagnostic" in err and "mushroom" in err
    assert cli.main(["--mechanisms", "mcar,xyz", "--out", str(out)]) == 2
    assert "valid mechanisms: mcar, mar, mnar" in capsys.readouterr().err
    assert cli.main(["--preset-overrides", '{"knn": {"bogus": 1}}', "--out", str(out)]) == 2
    assert "unknown Imputer argument" in capsys.readouterr().err
    assert not out.exists()


def test_a_failing_method_is_recorded_and_the_grid_goes_on(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv(peers.HYPERIMPUTE_ENV_VAR, str(tmp_path / "no-such-env" / "python"))
    out = tmp_path / "r.jsonl"
    argv = ["--datasets", "wine", "--mechanisms", "mar,mnar", "--rates", "0.3", "--seeds", "0",
            "--methods", "knn", "mean", "hyperimpute",
            "--preset-overrides", '{"knn": {"method_options": {"n_neighbors": 0}}}',
            "--data-home", str(shared_data), "--out", str(out)]
    assert cli.main(argv) == 0
    recs = _records(out)
    assert len(recs) == 2 * 3 * 2
    status = {(r["mechanism"], r["method"]): r["status"] for r in recs}
    for mech in ("mar", "mnar"):
        assert status[(mech, "knn")].startswith("error: ") and "n_neighbors" in status[(mech, "knn")]
        assert status[(mech, "mean")] == "ok"
        assert status[(mech, "hyperimpute")].startswith("skipped: hyperimpute environment not found")
        assert "hyperimpute_env.sh" in status[(mech, "hyperimpute")]
    assert all(r["value"] is None for r in recs if r["status"] != "ok")
    mean = [r for r in recs if r["method"] == "mean" and r["metric"] == "rmse"]
    assert all(np.isfinite(r["value"]) for r in mean)


def test_mar_mnar_and_categorical_masks(shared_data):
    wine = masks.load_table("wine", str(shared_data))
    for mech in ("mar", "mnar"):
        m = masks.draw_mask(wine, "wine", mech, 0.3, 0)
        assert m.shape == wine.shape and abs(m.mean() - 0.3) < 0.06
        assert np.array_equal(m, masks.draw_mask(wine, "wine", mech, 0.3, 0))
    mar = masks.draw_mask(wine, "wine", "mar", 0.3, 0)
    assert (~mar).all(axis=0).any()  # MAR's driver columns stay fully observed
    mush = masks.load_table("mushroom", str(shared_data), max_rows=300)
    assert mush.shape == (300, 22)
    codes = masks.rank_codes(mush)
    col = mush.columns[0]
    assert (codes[:, 0][mush[col].to_numpy() == mush[col].mode()[0]] == 0).all()
    m = masks.draw_mask(mush, "mushroom", "mnar", 0.2, 0)
    assert abs(m.mean() - 0.2) < 0.05


def test_categorical_table_is_scored_by_accuracy(tmp_path, shared_data):
    out = tmp_path / "r.jsonl"
    argv = ["--datasets", "mushroom", "--mechanisms", "mcar", "--rates", "0.1", "--seeds", "0",
            "--methods", "mean", "--max-rows", "300", "--data-home", str(shared_data), "--out", str(out)]
    assert cli.main(argv) == 0
    (rec,) = _records(out)
    assert rec["metric"] == "accuracy" and 0.2 < rec["value"] <= 1.0
    assert rec["rows"] == 300 and rec["subsampled"] is True


def test_presets_overrides_and_step_budget():
    specs = presets.resolve_specs(["invimpute-dae", "gain"], presets.QUICK_OVERRIDES, 3,
                                {"gain": {"method_options": {"alpha": 10.0}}})
    assert specs["invimpute-dae"]["epochs"] == 3 and "steps" not in specs["invimpute-dae"]
    assert specs["gain"]["method_options"] == {**presets.PRESETS["gain"]["method_options"], "iterations": 1000,
                                               "alpha": 10.0}
    assert presets.config_hash(specs["gain"]) != presets.config_hash(presets.PRESETS["gain"])
    dae = presets.PRESETS["invimpute-dae"]
    assert presets.imputer_params(dae, 178)["train"]["epochs"] == dae["steps"] // 2  # 2 batches of 128 rows per epoch
    assert presets.imputer_params(dae, 20000)["train"]["epochs"] == -(-dae["steps"] // 157)
    with pytest.raises(grid.BenchError, match="valid methods"):
        presets.resolve_specs(["mean"], overrides={"nope": {}})


def test_report_has_tables_figures_and_provenance(quick, tmp_path):
    out, argv = quick
    md = tmp_path / "RESULTS_bench.md"
    figures = tmp_path / "figures"
    text = report.write_report(out, md, figures)
    assert md.read_text() == text
    assert "## MCAR, 20% missing" in text
    assert "| dataset | metric | mean | knn | invimpute-dae |" in text
    rows = [line for line in text.splitlines() if line.startswith("| wine |") or line.startswith("| breast |")]
    assert len(rows) >= 2 and all("**" in line for line in rows[:2])
    assert "--epochs-override 2" in text and "JAX" in text
    pngs = sorted(figures.glob("*.png"))
    assert {p.name for p in pngs} >= {"RESULTS_bench-wine-rmse-vs-rate.png", "RESULTS_bench-time-vs-rows.png"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "](figures/RESULTS_bench-time-vs-rows.png)" in text
    assert cli.main(["--report-only", "--out", str(out), "--report", str(md), "--figures", str(figures)]) == 0


def test_help_and_the_cli_entry(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: invimpute bench" in capsys.readouterr().out
    from invimpute import cli as invimpute_cli

    assert invimpute_cli.main(["bench", "--list"]) == 0
    assert "invimpute-reverse" in capsys.readouterr().out


def test_uncertainty_records_calibration_of_neural_beliefs(tmp_path, shared_data):
    out = tmp_path / "r.jsonl"
    md = tmp_path / "R.md"
    datasets = ["wine"] + (["mushroom"] if (shared_data / "mushrooms.csv").is_file() else [])
    argv = ["--quick", "--datasets", *datasets, "--max-rows", "300", "--methods", "mean", "invimpute-dae",
            "--epochs-override", "2", "--uncertainty", "--data-home", str(shared_data), "--out", str(out),
            "--report", str(md), "--figures", str(tmp_path / "figures")]
    assert cli.main(argv) == 0
    recs = _records(out)
    calib = {(r["dataset"], r["metric"]): r for r in recs if r["metric"] in scoring.UNCERTAINTY_METRICS}
    expected = {("wine", "coverage90")} | {("mushroom", m) for m in scoring.UNCERTAINTY_CATEGORICAL_METRICS
                                           if "mushroom" in datasets}
    assert {"selective_acc_50", "selective_acc_90"} <= set(scoring.UNCERTAINTY_CATEGORICAL_METRICS)
    assert set(calib) == expected
    for (_, metric), r in calib.items():
        assert r["method"] == "invimpute-dae" and r["status"] == "ok" and r["calibrate"] is True
        assert 0.0 <= r["value"] <= (2.0 if metric == "brier" else 1.0)  # multi-class Brier lies in [0, 2]
    assert not any(r["method"] == "mean" and r["metric"] in scoring.UNCERTAINTY_METRICS for r in recs)
    assert calib[("wine", "coverage90")]["mask_sha256"] == next(
        r["mask_sha256"] for r in recs if r["dataset"] == "wine" and r["metric"] == "rmse")
    text = md.read_text()
    assert "## Calibration" in text and "### coverage90" in text
    assert ("### ece" in text) == ("mushroom" in datasets)
    assert cli.main(argv[:-4]) == 0 and len(_records(out)) == len(recs)  # resumed: nothing rerun


def test_presets_are_plain_data_and_steps_need_a_batch_size():
    assert all(isinstance(spec, dict) and isinstance(spec["method"], str) for spec in presets.PRESETS.values())
    json.dumps(presets.PRESETS)  # nothing but JSON data
    with pytest.raises(grid.BenchError, match="batch_size"):
        presets.imputer_params({"method": "ae", "steps": 100}, 500)
    with pytest.raises(grid.BenchError, match="takes only options"):
        presets.resolve_specs(["miceforest"], overrides={"miceforest": {"n_estimators": 3}})


def test_presets_translate_to_the_config_api_and_keep_their_tuned_defaults():
    """Tuned presets are flat and keep the defaults they were written against; bare ones get today's."""
    from invimpute import Imputer

    params = presets.imputer_params(presets.PRESETS["invimpute-reference"], 8124)
    assert params["model"] == {"architecture": "reference", "dropout": 0.2, "skip": False}
    assert params["train"]["epochs"] == 150 and params["train"]["validation_fraction"] == 0.0
    assert params["train"]["schedule"] == "constant" and params["encoding"] == {"scaling": "minmax"}
    assert params["uncertainty"] == {"calibrate": False}
    Imputer(**params).settings()  # valid settings
    assert presets.imputer_params(presets.PRESETS["auto"], 100) == {"method": "auto"}
    assert presets.imputer_params(presets.PRESETS["knn"], 100) == {"method": "knn", "options": {"n_neighbors": 5}}
