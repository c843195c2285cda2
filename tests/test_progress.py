"""Progress that tells the truth: one labelled bar per stage, every bar closed, a few lines per stage in a log."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
from tqdm import tqdm

from invimpute import Imputer
from invimpute.runtime import progress


def _table(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    df["kind"] = np.where(df["a"] > 0, "x", "y")
    return df.mask(rng.random(df.shape) < 0.2)


def _final_lines(err: str) -> dict[str, str]:
    """Each bar's last line, by its label (the text before the percentage)."""
    last = {}
    for line in err.splitlines():
        m = re.match(r"^(.*?):\s+\d+%\|", line)
        if m:
            last[m.group(1)] = line
    return last


def test_auto_shows_every_stage_and_closes_every_bar(capsys):
    df = _table()
    imp = Imputer(train={"steps": 20}, progress=True).fit(df)
    imp.transform(df)
    assert not tqdm._instances  # no bar left open
    last = _final_lines(capsys.readouterr().err)
    for name in ("mean", "knn", "gaussian", "trees"):
        assert f"auto: fit {name}" in last and "1/1" in last[f"auto: fit {name}"]
    assert "auto: fit network: training" in last
    n = len(imp.method_.names_)  # mean, knn, gaussian, network, trees and, where affordable, inverted
    assert n in (5, 6)
    scoring = [k for k in last if k.startswith(f"auto: score {n} candidates")]
    assert scoring and f"{n + 1}/{n + 1}" in last[scoring[0]]
    imputing = [k for k in last if k.startswith("auto: impute 80 rows with")]
    assert imputing and "100%" in last[imputing[0]]
    assert all("100%" in line for label, line in last.items() if "training" not in label)


def test_progress_off_prints_nothing(capsys):
    df = _table(40)
    Imputer("mean").fit(df).transform(df)
    assert capsys.readouterr().err == ""


def test_a_log_gets_a_few_lines_per_stage(monkeypatch):
    """Off a terminal a bar writes its first status, one per LOG_INTERVAL and its last: two lines for a
    quick stage of a thousand updates, the last one complete."""
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    with progress.scope("outer"), progress.stage("busy", 1000) as bar:
        for _ in range(1000):
            bar.update(1)
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("outer: busy:") for line in lines)
    assert "0/1000" in lines[0] and "1000/1000" in lines[1] and "\r" not in log.getvalue()
    assert not tqdm._instances


def test_a_stage_that_fails_is_closed(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    try:
        with progress.stage("failing", 10) as bar:
            bar.update(3)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert not tqdm._instances
