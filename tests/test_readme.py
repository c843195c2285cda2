"""The README's code blocks run as written, in order, in one namespace and one scratch folder.

Python blocks run in this process; the ``bash`` blocks that call the ``invimpute`` command run in a shell
with this interpreter's command line (``python -m invimpute.cli``). Only their budgets are shrunk: each
entry of ``SMALL`` must occur in the README exactly once (so an edited README cannot slip past the
shrinking unnoticed), and is replaced before running. A block that cannot run in a test is listed in
``NOT_RUN`` with the reason and what covers it; each entry must match exactly one block.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from doc_blocks import code_blocks, run_blocks, shrunk

README = Path(__file__).resolve().parents[1] / "README.md"
SMALL = {
    "load_mushroom(drop_stalk_root=True)": "load_mushroom(drop_stalk_root=True).sample(400, random_state=0)",
    "ii.Imputer(seed=0)": 'ii.Imputer(seed=0, train={"steps": 20})',  # a table: the default imputer
    'ii.Imputer("reverse", seed=0)': 'ii.Imputer("reverse", seed=0, train={"steps": 20}, inversion={"steps": 5})',
    "--out model/ --seed 0": "--out model/ --seed 0 --steps 20",  # the batch job
}

NOT_RUN = {
    "pip install": "installs into a fresh virtual environment; CI runs these very commands (.ci/run)",
}


def test_readme_is_short_and_has_its_three_examples():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, "the README is read in five minutes: at most 200 lines"
    sources = [b for _, b in code_blocks(text)]
    assert any("ii.Imputer(seed=0)" in b for b in sources)               # a table
    assert any('ii.Imputer("reverse"' in b and "row_mask" in b for b in sources)   # images, reverse training
    assert any("invimpute impute" in b for b in sources)                 # a batch job
    assert "mkdocs serve" in text


def test_readme_code_blocks_run(shared_data, monkeypatch, tmp_path):
    pytest.importorskip("sklearn")
    monkeypatch.setenv("INVIMPUTE_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    text = shrunk(README.read_text(encoding="utf-8"), SMALL, "README")
    namespace = run_blocks(code_blocks(text), NOT_RUN, "README.md")
    assert namespace["filled"].shape == namespace["df"].shape and not namespace["filled"].isna().any().any()
    assert namespace["repaired"].shape == namespace["images"][1400:].shape
    import pandas as pd

    repaired = pd.read_csv(tmp_path / "repaired.csv")
    assert repaired.shape == namespace["damaged"].shape and not repaired.isna().any().any()
