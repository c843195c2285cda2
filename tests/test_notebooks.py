"""Execute the research notebooks end to end at small sizes and check what they show.

Each notebook reads its size knobs from ``NB_*`` environment variables in its first code cell; the
kernel (``python3``, the ipykernel of the running environment, so the venv's interpreter) inherits them
along with ``INVIMPUTE_DATA``. Executed copies go to ``tmp_path``: the repository's notebooks, saved with
the outputs of a moderate-size run, are never overwritten here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

# Small settings: each notebook runs in well under a minute on a 2-core CPU.
SMALL = {
    "01_mushroom.ipynb": {
        "NB_N_ROWS": "600", "NB_SEEDS": "1", "NB_EPOCHS": "2", "NB_FAITHFUL_EPOCHS": "2", "NB_RATES": "0.1,0.3",
    },
    "02_mnist_reverse.ipynb": {
        "NB_N_TRAIN": "512", "NB_N_TEST": "32", "NB_EPOCHS": "1", "NB_STEPS": "5", "NB_N_SHOW": "4",
    },
    "03_uncertainty.ipynb": {
        "NB_N_ROWS": "600", "NB_EPOCHS": "2", "NB_NUMERIC_EPOCHS": "5", "NB_M": "5",
    },
    "04_damage_shift.ipynb": {
        "NB_N_TRAIN": "512", "NB_N_TEST": "32", "NB_TRAIN_STEPS": "20", "NB_STEPS": "5", "NB_CURVE_STEPS": "2,5",
        "NB_N_SHOW": "4",
    },
    "05_multiple_imputation.ipynb": {"NB_N_ROWS": "200", "NB_REPS": "2", "NB_M": "3"},
}
# figures each notebook draws (image/png outputs)
FIGURES = {"01_mushroom.ipynb": 3, "02_mnist_reverse.ipynb": 2, "03_uncertainty.ipynb": 4, "04_damage_shift.ipynb": 5,
           "05_multiple_imputation.ipynb": 1}
# notebooks with a cell tagged 'checks' of assertions that hold at any size, and what it prints when they pass
# (at the tiny sizes the measured conclusions mean nothing, so only these are relied on)
CHECKS = {"03_uncertainty.ipynb": "structural checks passed"}


def _outputs(cell) -> list[dict]:
    return list(cell.get("outputs", []))


def _tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs(name, shared_data, tmp_path, monkeypatch):
    path = NOTEBOOKS / name
    assert path.is_file(), f"missing notebook {path}"
    monkeypatch.setenv("INVIMPUTE_DATA", str(shared_data))
    for key, value in SMALL[name].items():
        monkeypatch.setenv(key, value)

    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    for key in SMALL[name]:
        assert key in first_code.source, f"{key} must be read in the first code cell of {name}"

    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    nbformat.write(nb, tmp_path / name)  # a copy for inspection; the repository's file is untouched

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code_cells for o in _outputs(c) if o.get("output_type") == "error"]
    assert not errors, f"{name}: cells raised {[e.get('ename') for e in errors]}"
    assert all(c.get("execution_count") for c in code_cells), f"{name}: some code cells did not run"

    tables = _tagged(nb, "accuracy-table")
    assert len(tables) == 1, f"{name}: expected one cell tagged 'accuracy-table'"
    shown = [o for o in _outputs(tables[0]) if o.get("output_type") == "execute_result"]
    assert shown, f"{name}: the accuracy table cell shows nothing"
    data = shown[0]["data"]
    assert "text/html" in data and "text/plain" in data
    assert "%" in data["text/plain"]

    images = [o for c in code_cells for o in _outputs(c) if "image/png" in o.get("data", {})]
    assert len(images) >= FIGURES[name], f"{name}: {len(images)} figures, expected {FIGURES[name]}"

    if name in CHECKS:
        checks = _tagged(nb, "checks")
        assert len(checks) == 1, f"{name}: expected one cell tagged 'checks'"
        printed = "".join(o.get("text", "") for o in _outputs(checks[0]) if o.get("output_type") == "stream")
        assert CHECKS[name] in printed, f"{name}: the structural checks did not report success"


def test_notebooks_saved_with_outputs():
    """The repository's notebooks carry the outputs of their saved run (figures visible on GitHub)."""
    for name in SMALL:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        assert len(images) >= FIGURES[name], f"{name} is saved without its figures"
        assert (NOTEBOOKS / name).stat().st_size < 2_000_000, f"{name} is over 2 MB"
