"""The package's import direction, checked on the source: a module imports only modules of lower layers
(or, inside a subpackage, its siblings), and no module imports another's underscored name.

The layers, lowest first, are the data flow of the design page (docs/design.md); a new module must be given
its layer here, so the test also fails when one is added without deciding where it belongs.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "invimpute"

LAYERS: list[tuple[str, ...]] = [
    ("tables", "runtime", "scoring"),                 # tables in and out, padded row programs and files, scores
    ("encoding", "datasets"),                         # missing cells, schema, layout, encoder; the data sets
    ("models",),                                      # networks, heads, losses
    ("training",),                                    # the compiled training loop
    ("inversion", "peers", "config"),                 # reverse training; the peers; the settings
    ("methods",),                                     # the method protocol, the registry, auto
    ("uncertainty",),                                 # measures, calibration, draws, belief, blended
    ("estimator",),                                   # the Imputer
    ("checkpoint", "plot"),                           # saved state; figures of a fitted Imputer
    ("job",),                                         # the streaming job
    ("distributed", "bench"),                         # jobs on many hosts, the benchmark harness
    ("cli",),
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _modules() -> list[tuple[str, pathlib.Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue
        out.append((".".join(p for p in parts if p != "__init__"), path))
    return out


def _imports(path: pathlib.Path) -> list[tuple[str, str]]:
    """(invimpute module, imported name or '') for every import of the package in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "invimpute":
            module = node.module.removeprefix("invimpute").lstrip(".")
            for alias in node.names:  # `from invimpute import x`: the module x, or a name the root re-exports
                submodule = (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()
                found.append((module or (alias.name if submodule else ""), alias.name))
        elif isinstance(node, ast.Import):
            found += [(a.name.removeprefix("invimpute").lstrip("."), "") for a in node.names
                      if a.name.split(".")[0] == "invimpute"]
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("module, path", _modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_go_down_the_layers(module, path):
    assert _top(module) in RANK, f"invimpute.{module} has no layer in tests/test_layering.py: give it one"
    for target, _ in _imports(path):
        if not target or _top(target) == _top(module):
            continue  # the package root (version, re-exports) or a sibling inside one subpackage
        assert _top(target) in RANK, f"invimpute.{module} imports invimpute.{target}, which has no layer"
        assert RANK[_top(target)] < RANK[_top(module)], (
            f"invimpute.{module} (layer {RANK[_top(module)]}) imports invimpute.{target} "
            f"(layer {RANK[_top(target)]}): a lower layer must not import a higher one")


@pytest.mark.parametrize("module, path", _modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_underscored_name_crosses_a_module(module, path):
    for target, name in _imports(path):
        assert not (name.startswith("_") and not name.startswith("__")), (
            f"invimpute.{module} imports {name!r} from invimpute.{target}: make it public or keep it inside")


def test_every_layered_name_exists():
    present = {_top(m) for m, _ in _modules()}
    assert set(RANK) <= present, sorted(set(RANK) - present)


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MAX_FOLDER_MODULES = 12
"""Sizes past which a module, a function or a package folder no longer reads as one idea: split it."""


def test_no_module_over_500_lines():
    long = {f"invimpute/{path.relative_to(PACKAGE)}": n for _, path in _modules()
            if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them): {long}"


def test_no_function_over_80_lines():
    long = {}
    for _, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1  # from ``def`` to the last line, docstring included
                if n > MAX_FUNCTION_LINES:
                    long[f"invimpute/{path.relative_to(PACKAGE)}:{node.name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them): {long}"


def test_no_package_folder_over_12_modules():
    folders: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        folder = f"invimpute/{path.parent.relative_to(PACKAGE)}".removesuffix("/.")
        folders[folder] = folders.get(folder, 0) + 1
    crowded = {folder: n for folder, n in folders.items() if n > MAX_FOLDER_MODULES}
    assert not crowded, f"package folders with more than {MAX_FOLDER_MODULES} modules (regroup them): {crowded}"
