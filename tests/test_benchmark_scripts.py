"""Checks of the arithmetic inside benchmark scripts whose figures are published (not the runs themselves)."""

import importlib.util
import itertools
import pathlib

import numpy as np
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
    from invimpute.files import publish

    out = tmp_path / "deep" / "report.md"
    assert publish("| a | b |\n", out) == "| a | b |\n"
    assert out.read_text() == "| a | b |\n"
    assert "| a | b |" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]   # no temporary file left behind
    publish("only printed\n")
    assert "only printed" in capsys.readouterr().out
