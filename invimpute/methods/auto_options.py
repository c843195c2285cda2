"""The options ``Imputer(method="auto", options=...)`` takes, checked in one place before any work."""

from __future__ import annotations

from invimpute.methods.auto import CANDIDATES, INVERTED, OPTIONAL
from invimpute.methods.auto_trees import TREES
from invimpute.peers.boosting import BoostedTrees

TREE_OPTIONS = tuple(TREES)
"""Settings of the ``trees`` candidate that ``options={"trees": {...}}`` may change: those of :data:`TREES`."""


def check_auto_options(options: dict) -> None:
    """Raise a clear error for ``Imputer(method="auto", options=...)`` it cannot take: only
    ``{"candidates": [...]}``, names among :data:`CANDIDATES` and :data:`OPTIONAL`, ``"inverted"`` only
    beside ``"network"``, and ``{"trees": {...}}``, settings among :data:`TREE_OPTIONS`.

    Args:
      options: the options given to :class:`~invimpute.Imputer`.
    """
    unknown = set(options) - {"candidates", "trees"}
    if unknown:
        raise ValueError(f"options {sorted(unknown)} are not options of method 'auto': it takes "
                         f"options={{'candidates': [...]}} (among {list(CANDIDATES + OPTIONAL)}) and "
                         f"options={{'trees': {{...}}}} (among {list(TREE_OPTIONS)})")
    if "trees" in options:
        trees = options["trees"]
        if not isinstance(trees, dict) or set(trees) - set(TREE_OPTIONS):
            raise ValueError(f"options['trees'] must be a dict of the trees candidate's settings among "
                             f"{list(TREE_OPTIONS)}, got {trees!r}")
        BoostedTrees(**{**TREES, **trees}).validate()
    if "candidates" not in options:
        return
    given = options["candidates"]
    if isinstance(given, str) or not all(isinstance(c, str) for c in given):
        raise TypeError(f"options['candidates'] must be a list of candidate names, got {given!r}")
    bad = [c for c in given if c not in CANDIDATES + OPTIONAL]
    if bad:
        raise ValueError(f"options['candidates'] has unknown candidate(s) {bad}; choose among "
                         f"{list(CANDIDATES + OPTIONAL)}")
    if INVERTED in given and "network" not in given:
        raise ValueError(f"options['candidates'] lists {INVERTED!r}, which inverts the 'network' candidate: "
                         f"list 'network' too")



def auto_arguments(options: dict) -> dict:
    """The keyword arguments of :class:`~invimpute.methods.auto.Auto` that checked ``options`` give: the
    candidates as a tuple, the trees' settings as a dict."""
    out = {}
    if "candidates" in options:
        out["candidates"] = tuple(options["candidates"])
    if "trees" in options:
        out["trees"] = dict(options["trees"])
    return out


__all__ = ["TREE_OPTIONS", "auto_arguments", "check_auto_options"]
