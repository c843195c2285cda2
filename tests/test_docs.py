"""The documentation site: it builds in strict mode, its reference covers the public API, and the code of
its getting-started page (and of the how-to pages that carry worked examples) runs.

The build runs ``mkdocs build --strict`` into a temporary folder, so a broken link, a page left out of the
navigation, a reference to a name that does not exist or a docstring griffe cannot read fails it. The
pages' code blocks run as written, in order, in one namespace and a scratch folder, with only their
budgets shrunk by the replacements of ``SMALL`` (each must occur once in its page, so an edited page
cannot slip past the shrinking unnoticed).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import invimpute
from doc_blocks import code_blocks, run_blocks, shrunk

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DOCS_PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_jupyter")

SMALL = {
    "getting-started.md": {
        "load_mushroom(drop_stalk_root=True)": "load_mushroom(drop_stalk_root=True).sample(300, random_state=0)",
        "ii.Imputer(seed=0)": 'ii.Imputer(seed=0, train={"steps": 20})',
        'train={"steps": 2000}': 'train={"steps": 30}',
        "train__steps=1500": "train__steps=20",
    },
    "how-to/uncertainty.md": {
        "load_mushroom(drop_stalk_root=True)": "load_mushroom(drop_stalk_root=True).sample(300, random_state=0)",
        '"epochs": 80,': '"epochs": 2,',
        "ii.Imputer(seed=0)": 'ii.Imputer(seed=0, train={"steps": 20})',
    },
    "how-to/images.md": {
        'ii.Imputer("reverse", seed=0)': 'ii.Imputer("reverse", seed=0, train={"steps": 20}, inversion={"steps": 5})',
        "ii.TrainConfig(epochs=30,": "ii.TrainConfig(epochs=1,",
        "InversionConfig(steps=200,": "InversionConfig(steps=5,",
    },
    "how-to/own-model.md": {
        "ii.TrainConfig(epochs=40,": "ii.TrainConfig(epochs=1,",
        "ii.InversionConfig()": "ii.InversionConfig(steps=5)",
    },
}
# blocks shown but not run, with the reason; each marker must match exactly one block of its page
NOT_RUN = {
    "getting-started.md": {},
    "how-to/uncertainty.md": {"b.mean, b.std": "Mushroom has no numeric column; tests/test_uncertainty.py covers "
                                               "numeric beliefs"},
    "how-to/images.md": {},
    "how-to/own-model.md": {},
}


def reference_entries() -> list[str]:
    """The dotted path of every ``::: invimpute...`` entry of the reference pages."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((DOCS / "reference").glob("*.md")))
    return re.findall(r"^::: (invimpute(?:\.\w+)+)\s*$", text, flags=re.M)


def resolve(path: str) -> object:
    """The object a dotted path names: a module, or an attribute of one."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)


def test_reference_has_an_entry_for_every_public_name():
    """Entries name where each object is defined (the reference is read statically, and the package's
    top level may load its names lazily); each must be the very object ``invimpute.NAME`` gives."""
    entries = reference_entries()
    missing = [name for name in invimpute.__all__ if not any(
        path.rpartition(".")[2] == name and resolve(path) is getattr(invimpute, name) for path in entries)]
    assert not missing, f"public names without an entry in docs/reference/*.md: {missing}"
    public = {id(getattr(invimpute, name)) for name in invimpute.__all__}
    extra = [path for path in entries if id(resolve(path)) not in public]
    assert not extra, f"docs/reference/*.md has entries that are not public names of invimpute: {extra}"


def test_every_page_is_in_the_navigation_and_the_readme_names_the_command():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*") if p.suffix in (".md", ".ipynb")]
    assert [p for p in pages if p not in nav] == []
    assert "mkdocs serve" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_docs_build_in_strict_mode(tmp_path):
    for package in DOCS_PACKAGES:
        if importlib.util.find_spec(package.split(".")[0]) is None:
            pytest.skip(f"{package} is not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    print(f"docs built in {seconds:.1f} s")
    html = "\n".join(p.read_text(encoding="utf-8") for p in (site / "reference").rglob("*.html"))
    anchors = set(re.findall(r'id="(invimpute[\w.]*)"', html))
    unrendered = sorted(set(reference_entries()) - anchors)
    assert not unrendered, f"reference entries that rendered nothing: {unrendered}"
    for notebook in ("01_mushroom", "02_mnist_reverse", "03_uncertainty", "04_damage_shift",
                     "05_multiple_imputation"):
        page = (site / "examples" / notebook / "index.html").read_text(encoding="utf-8")
        assert "data:image/png;base64" in page, f"the examples gallery shows no figure of {notebook}"
    assert not (ROOT / ".cache").exists(), "the build wrote a cache folder into the repository"


@pytest.mark.parametrize("page", sorted(SMALL))
def test_page_code_blocks_run(page, shared_data, monkeypatch, tmp_path):
    pytest.importorskip("sklearn")
    monkeypatch.setenv("INVIMPUTE_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    text = shrunk((DOCS / page).read_text(encoding="utf-8"), SMALL[page], page)
    blocks = code_blocks(text)
    assert blocks, f"{page} has no code block"
    namespace = run_blocks(blocks, NOT_RUN[page], page)
    checks = {
        "getting-started.md": lambda ns: not ns["filled"].isna().any().any() and ns["again"] is not None,
        "how-to/uncertainty.md": lambda ns: len(ns["tables"]) == 5 and 0.0 <= float(ns["pooled"].estimate) <= 1.0,
        "how-to/images.md": lambda ns: ns["result"].x.shape == ns["X_train"].shape
                                       and ns["repaired"].shape == ns["images"][1400:].shape,
        "how-to/own-model.md": lambda ns: ns["repaired"].x.shape == ns["X"].shape,
    }
    assert checks[page](namespace)
