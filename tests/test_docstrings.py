"""Every public name of ``invimpute.__all__`` has a docstring that says what it is, and, in the Google style
the API reference renders, its arguments (``Args:``; ``Attributes:`` for a dataclass's fields) and what it
returns (``Returns:``; ``Yields:`` for a generator)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import pathlib
import types

import pytest

import invimpute

ROOT = pathlib.Path(invimpute.__file__).parent


def _constant_docstrings() -> dict[str, str]:
    """The docstring written under each module-level assignment of the package (``NAME = ...`` then a string)."""
    found: dict[str, str] = {}
    for path in ROOT.rglob("*.py"):
        body = ast.parse(path.read_text()).body
        for node, after in zip(body, body[1:]):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            found[name.id] = after.value.value
    return found


def _parameters(obj) -> list[str]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters if p not in ("self", "cls")]


def _problems(name: str, obj, constants: dict[str, str]) -> list[str]:
    if isinstance(obj, types.ModuleType):
        return [] if inspect.getdoc(obj) else ["the module has no docstring"]
    if not (inspect.isclass(obj) or callable(obj)):
        return [] if constants.get(name, "").strip() else ["the constant has no docstring under its assignment"]
    doc = inspect.getdoc(obj) if inspect.isclass(obj) else obj.__doc__
    if not doc or not doc.strip():
        return ["no docstring"]
    doc = inspect.cleandoc(doc)
    out = []
    if inspect.isclass(obj):
        takes = _parameters(obj)
        sections = ("Args:", "Attributes:") if dataclasses.is_dataclass(obj) else ("Args:",)
        if takes and not any(s in doc for s in sections):
            out.append(f"takes {takes} but has no {' or '.join(sections)} section")
        return out
    takes = _parameters(obj)
    if takes and "Args:" not in doc:
        out.append(f"takes {takes} but has no Args: section")
    returns = inspect.signature(obj).return_annotation
    if returns not in (None, "None", inspect.Signature.empty) and not any(s in doc for s in ("Returns:", "Yields:")):
        out.append(f"returns {returns} but has no Returns: section")
    return out


def test_every_public_name_says_what_it_takes_and_returns():
    constants = _constant_docstrings()
    problems = {name: p for name in invimpute.__all__ if (p := _problems(name, getattr(invimpute, name), constants))}
    assert not problems, "public names whose docstring is incomplete:\n" + "\n".join(
        f"  {name}: {'; '.join(p)}" for name, p in sorted(problems.items()))


@pytest.mark.parametrize("name", invimpute.__all__)
def test_public_name_is_listed_and_importable(name):
    assert getattr(invimpute, name) is not None
