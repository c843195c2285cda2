"""The ``trees`` candidate of ``method="auto"``: its settings, and the rule that sizes them to the table.

Gradient-boosted trees per numeric column (:class:`~invimpute.peers.boosting.BoostedTrees`) are the
non-linear tabular learner among auto's candidates. Their cost grows with the rows they are fitted on, the
columns they regress and their rounds and passes, so the settings a table gets depend on its size: the
light :data:`TREES` on short tables (where a whole call takes about two seconds) and on large ones, the
richer :data:`RICH_TREES` in between (:func:`rich_trees`), and no trees where too few rows fit the budget
(:func:`trees_rows`). The caller's ``options={"trees": {...}}`` apply over either.
"""

from __future__ import annotations

from invimpute.encoding.layout import Layout
from invimpute.peers.boosting import single_columns

TREES = {"rounds": 40, "depth": 5, "rate": 0.25, "max_features": 8, "max_rows": 5_000, "chain": 1}
"""The ``trees`` candidate's settings (:class:`~invimpute.peers.boosting.BoostedTrees`'s; ``options={"trees":
{...}}`` changes them) where :data:`RICH_TREES` are not used: a sixth of the peer's work per column (40
rounds of depth-5 trees reading 8 input columns each, in one pass), which kept most of the peer's gain
inside auto on development tables (``benchmarks/results/tree_candidate_dev.md``: california 5.8% lower
against 6.0%, letter 0.9% against 1.7%) at a quarter of its added time. It is refitted on every observed
cell once chosen, as the other peers are."""
RICH_TREES = {**TREES, "rounds": 50, "depth": 6, "rate": 0.2, "max_features": 16, "chain": 3}
"""The ``trees`` candidate's settings on a table of :func:`rich_trees`: 50 rounds of depth-6 trees reading 16
input columns, in three chained passes (half the ``boosted`` peer's rounds at twice its rate), about 3.5
times :data:`TREES`' work per pass. On the frontier protocol's development cells (2,000-row samples, 30%
MCAR, seeds 7 and 8; ``benchmarks/results/rich_trees_dev.md``) auto's in-sample RMSE fell on 7 of 9 tables
(letter 7.9%, obesity 3.7%, students 2.1%, bike 1.5%; shoppers +0.3%), with the peer's whole model (100
rounds at 0.1) no better for twice the time."""
RICH_MIN_ROWS, RICH_CELLS = 1_000, 64_000
"""Where :data:`RICH_TREES` replace :data:`TREES` (:func:`rich_trees`): tables of at least ``RICH_MIN_ROWS``
rows whose trees' rows times target columns stay within ``RICH_CELLS`` (students' 1,600 x 37: about 1.7 s
of tree fitting per fit on a 2-core CPU, two fits a call). Shorter tables keep the lighter trees for the
2-second target of small tables, where the whole call takes about that already (breast, 683 x 9); larger
ones (spam's 4,601 x 57, letter's 5,000 rows x 16) for the time the richer trees would add to theirs."""
TREES_CELLS, TREES_MIN_ROWS = 300_000, 1_000
"""The ``trees`` candidate's budget (:func:`trees_rows`): the rows it is fitted on times its target columns
stay within ``TREES_CELLS`` (a table of up to 60 numeric columns keeps 5,000 rows), and where that leaves
fewer than ``TREES_MIN_ROWS`` rows of a longer table (more than 300 numeric columns: images) it is not
fitted, since per-column trees on a sample that small would cost more than they could prove."""


def trees_rows(layout: Layout, n_rows: int, max_rows: int = TREES["max_rows"]) -> int:
    """Rows the ``trees`` candidate is fitted on for a table of ``n_rows`` rows (0: not fitted), within
    :data:`TREES_CELLS` rows x target columns (its single-column groups) and at most ``max_rows``.

    Args:
      layout: the table's encoded layout.
      n_rows: rows of the table.
      max_rows: the candidate's own row cap.

    Returns:
      The row budget, or 0 where fewer than :data:`TREES_MIN_ROWS` (or the table's rows) fit, or where
      the table has no single-column group to regress.
    """
    targets = int(single_columns(layout).sum())
    if not targets:  # nothing to regress: a table of wide categorical columns only
        return 0
    rows = min(n_rows, max_rows, TREES_CELLS // targets)
    return rows if rows >= min(n_rows, TREES_MIN_ROWS) else 0


def rich_trees(layout: Layout, n_rows: int, max_rows: int = TREES["max_rows"]) -> bool:
    """Whether a table of ``n_rows`` rows of ``layout`` gets :data:`RICH_TREES`: at least
    :data:`RICH_MIN_ROWS` rows, and the trees' rows times target columns within :data:`RICH_CELLS`."""
    targets = int(single_columns(layout).sum())
    return n_rows >= RICH_MIN_ROWS and trees_rows(layout, n_rows, max_rows) * targets <= RICH_CELLS


def tree_settings(layout: Layout | None, n_rows: int | None, given: dict | None = None) -> dict:
    """The ``trees`` candidate's settings for a table of ``n_rows`` rows of ``layout``: :data:`RICH_TREES`
    where :func:`rich_trees` says so, else :data:`TREES`, with the caller's ``given`` settings over them
    and the rows within :func:`trees_rows` (0: not fitted); :data:`TREES` with ``given`` when the table
    is not known yet."""
    if layout is None or n_rows is None:
        return {**TREES, **(given or {})}
    settings = {**(RICH_TREES if rich_trees(layout, n_rows) else TREES), **(given or {})}
    settings["max_rows"] = trees_rows(layout, n_rows, settings["max_rows"])
    return settings


__all__ = ["TREES", "RICH_TREES", "RICH_MIN_ROWS", "RICH_CELLS", "TREES_CELLS", "TREES_MIN_ROWS", "trees_rows",
           "rich_trees", "tree_settings"]
