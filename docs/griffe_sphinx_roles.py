"""A griffe extension for the API reference: the docstrings' Sphinx roles written as Markdown code.

The package's docstrings cross-reference with Sphinx roles (``:func:`~invimpute.invert```); Markdown has no
such syntax, so without this they would show the role name and the tilde. Each role becomes inline code
of the name it points to (the last component where the role has the tilde, as Sphinx shows it), and a
paragraph ending in ``::`` (a reStructuredText literal block) ends in ``:``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):`(~?)([^`]+)`")


def markdown(text: str) -> str:
    """``text`` with Sphinx roles as inline code and ``::`` literal-block markers as ``:``."""
    text = ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    return re.sub(r"(\S)::\n", r"\1:\n", text)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring once, when griffe has loaded its object."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
