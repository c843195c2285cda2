"""The README's python code blocks run as written, in order, in one namespace.

Only their training budgets are shrunk: each entry of ``SMALL`` must occur in the README exactly once
(so an edited README cannot slip past the shrinking unnoticed), and is replaced before running. A block
that needs what CI does not have is listed in ``NOT_RUN`` with the reason and the test that covers it;
each entry must match exactly one block.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SMALL = {
    "load_mushroom(drop_stalk_root=True)": "load_mushroom(drop_stalk_root=True).sample(400, random_state=0)",
    "ii.Imputer(seed=0)": 'ii.Imputer(seed=0, train={"steps": 20})',  # Use: the default imputer
    "ii.TrainConfig(epochs=30,": "ii.TrainConfig(epochs=1,",  # the inversion engine on its own
    "InversionConfig(steps=200,": "InversionConfig(steps=5,",
    '"epochs": 80,': '"epochs": 2,',  # uncertainty
}

NOT_RUN = {
    'ray.init(address="auto")': "needs a running Ray cluster and an S3 bucket; tests/test_distributed.py runs "
                                "impute_dataset on a local Ray instead",
}


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_has_the_blocks_it_documents():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 3
    assert any("rubin_pool" in b for b in blocks) and any("ii.invert(" in b for b in blocks)


def test_readme_python_blocks_run(shared_data, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setenv("INVIMPUTE_DATA", str(shared_data))
    text = README.read_text(encoding="utf-8")
    for long, short in SMALL.items():
        assert text.count(long) == 1, f"README: {long!r} should occur once; update SMALL in {__file__}"
        text = text.replace(long, short)
    blocks = python_blocks(text)
    for marker in NOT_RUN:
        assert sum(marker in b for b in blocks) == 1, f"README: no single block holds {marker!r}; update NOT_RUN"
    namespace: dict = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        if not any(marker in block for marker in NOT_RUN):
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
    assert len(namespace["tables"]) == 5 and 0.0 <= float(namespace["pooled"].estimate) <= 1.0
    assert namespace["result"].x.shape == namespace["X_train"].shape
