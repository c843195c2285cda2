"""Choosing a fill per column from candidates scored on held-out observed cells (pure NumPy).

For every source column, each candidate imputer's prediction of the held-out cells is compared with the
truth by squared error in the encoded domain: squared error of scaled numbers, the Brier score of a
categorical one-hot group. The column's fill is then the convex blend of candidates with the least
squared error (weights on the simplex, fitted exactly by :func:`simplex_weights`) when that blend beats
every single candidate out of sample (two-fold cross-fitting over the held-out cells), else the best
single candidate; a column is never filled by anything that scored worse than the mean/mode candidate.
Given an ``incumbent`` (``reverse`` names the model's one-pass fill), a column keeps it unless another
fill beats it by more than :data:`CLEAR_WIN` standard errors of the per-cell difference: a choice made on a
few hundred cells otherwise follows their noise as often as a real gain, and then loses to the incumbent
out of sample about as often as it wins. With ``family_wise`` that threshold is raised for the number of
columns tested (Bonferroni, :func:`win_threshold`): on a table of 57 columns, 2 standard errors lets one or
two columns leave the incumbent on noise alone.
A column with fewer than :data:`MIN_CELLS` held-out cells takes the weights pooled over all columns of
its kind (numeric or categorical), and says so; where even the pool holds fewer, the pool's single best
candidate if it beats mean/mode by more than two standard errors, else mean/mode.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

MIN_CELLS = 200
"""Held-out cells a column needs to get weights of its own; fewer take the weights pooled over the columns
of its kind (on small tables per-column choices would follow the noise of a few cells)."""
BASELINE = "mean"
"""The candidate no column's fill may score worse than."""
CLEAR_WIN = 2.0
"""Standard errors of the per-cell difference by which a fill must beat the incumbent (or, on a pool of
too few cells to fit weights, mean/mode) to replace it."""


def win_threshold(tests: int = 1) -> float:
    """Standard errors a gain must pass when ``tests`` columns are each tested: :data:`CLEAR_WIN` for one,
    and for more the Bonferroni-corrected threshold, so that the chance that any of them passes on noise is
    no more than one column's at :data:`CLEAR_WIN`."""
    normal = NormalDist()
    return normal.inv_cdf(1.0 - (1.0 - normal.cdf(CLEAR_WIN)) / max(int(tests), 1))


def clear_win(gain: np.ndarray, threshold: float = CLEAR_WIN) -> bool:
    """Whether per-cell error reductions ``gain`` (incumbent's error minus the challenger's) are positive
    beyond ``threshold`` (by default :data:`CLEAR_WIN`) standard errors of their mean."""
    gain = np.asarray(gain, np.float64)
    if gain.size < 2:
        return False
    return bool(gain.mean() > threshold * gain.std(ddof=1) / np.sqrt(gain.size))


@dataclass(frozen=True)
class ColumnChoice:
    """What :func:`choose` decided for one source column: the candidates' held-out errors (mean squared
    error per cell, in the encoded domain), the weight of each candidate in the fill, and why."""

    errors: dict[str, float]
    weights: dict[str, float]
    choice: str
    cells: int
    rule: str


def simplex_weights(P: np.ndarray, t: np.ndarray, ridge: float = 1e-9) -> np.ndarray:
    """Weights ``w >= 0``, ``sum(w) = 1`` minimising ``|P @ w - t|^2`` for predictions ``P`` (m, C).

    Exact for the few candidates an imputer compares: every subset of candidates is solved with the
    equality constraint only (a small KKT system), and the best solution with no negative weight wins.
    """
    P = np.asarray(P, np.float64)
    t = np.asarray(t, np.float64)
    n_cand = P.shape[1]
    G, b = P.T @ P, P.T @ t
    scale = max(np.trace(G) / max(n_cand, 1), 1e-12)
    best, best_w = np.inf, np.eye(n_cand)[0]
    for size in range(1, n_cand + 1):
        for subset in itertools.combinations(range(n_cand), size):
            idx = list(subset)
            k = len(idx)
            A = np.zeros((k + 1, k + 1))
            A[:k, :k] = 2.0 * G[np.ix_(idx, idx)] + 2.0 * ridge * scale * np.eye(k)
            A[:k, k] = A[k, :k] = 1.0
            rhs = np.concatenate([2.0 * b[idx], [1.0]])
            try:
                sol = np.linalg.solve(A, rhs)[:k]
            except np.linalg.LinAlgError:
                continue
            if np.any(sol < -1e-12):
                continue
            w = np.zeros(n_cand)
            w[idx] = np.clip(sol, 0.0, None)
            w /= w.sum()
            err = float(np.sum((P @ w - t) ** 2))
            if err < best - 1e-15:
                best, best_w = err, w
    return best_w


def _flatten(preds: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cells * group width, C) predictions and the matching truths, one row per encoded entry."""
    return preds.reshape(-1, preds.shape[-1]), truth.reshape(-1)


def _cross_fitted_cells(preds: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Squared error of every cell (summed over its group's width) under the simplex blend whose weights
    were fitted on the other half of the cells."""
    m = preds.shape[0]
    order = rng.permutation(m)
    halves = (order[: m // 2], order[m // 2:])
    out = np.zeros(m)
    for fit_rows, test_rows in (halves, halves[::-1]):
        w = simplex_weights(*_flatten(preds[fit_rows], truth[fit_rows]))
        out[test_rows] = np.sum((preds[test_rows] @ w - truth[test_rows]) ** 2, axis=-1)
    return out


def _per_cell(preds: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(cells, C): each candidate's squared error per cell, summed over the group's width."""
    return np.sum((preds - truth[..., None]) ** 2, axis=1)


def choose_column(names: list[str], preds: np.ndarray, truth: np.ndarray, rng: np.random.Generator,
                  pooled: np.ndarray | None = None, incumbent: str | None = None,
                  strict_mean: bool = True, baseline: str = BASELINE, threshold: float = CLEAR_WIN) -> ColumnChoice:
    """The fill of one column from candidate predictions ``preds`` (cells, width, C) of held-out ``truth``
    (cells, width); ``pooled`` are the weights used when the column has too few cells of its own, and
    ``incumbent`` the candidate kept unless another fill wins clearly (:func:`clear_win`). With
    ``strict_mean`` mean/mode replaces any fill that scored worse than it; without, only one it beats
    clearly (so the incumbent is to mean/mode what it is to every other candidate). ``baseline`` names the
    candidate that plays mean/mode's part (the floor and the fill of too few cells); ``threshold`` is the
    standard errors a fill must win by (:func:`clear_win`)."""
    m = preds.shape[0]
    cells = _per_cell(preds, truth)
    errors = {n: float(cells[:, c].sum() / max(m, 1)) for c, n in enumerate(names)}
    base = names.index(baseline)
    if m < MIN_CELLS:
        weights = pooled if pooled is not None else np.eye(len(names))[base]
        rule = f"pooled ({m} held-out cells < {MIN_CELLS})" if pooled is not None else f"{baseline} ({m} held-out cells)"
        return _choice(names, errors, weights, m, rule)
    best = min(errors, key=errors.get)
    blend_cells = _cross_fitted_cells(preds, truth, rng)
    if blend_cells.mean() < errors[best]:
        weights, rule, chosen = simplex_weights(*_flatten(preds, truth)), "blend", blend_cells
    else:
        weights, rule, chosen = np.eye(len(names))[names.index(best)], "best", cells[:, names.index(best)]
    if incumbent is not None:
        keep = names.index(incumbent)
        if weights[keep] < 1.0 and not clear_win(cells[:, keep] - chosen, threshold):
            weights, rule, chosen = np.eye(len(names))[keep], f"{incumbent} (no clear gain)", cells[:, keep]
    if chosen.mean() > errors[baseline] and (strict_mean or clear_win(chosen - cells[:, base], threshold)):
        weights, rule = np.eye(len(names))[base], f"{baseline} (nothing beat it)"
    return _choice(names, errors, weights, m, rule)


def _choice(names: list[str], errors: dict, weights: np.ndarray, cells: int, rule: str) -> ColumnChoice:
    w = {n: float(weights[c]) for c, n in enumerate(names)}
    top = max(w, key=w.get)
    label = top if w[top] > 0.999 else "blend"
    return ColumnChoice(errors=errors, weights=w, choice=label, cells=cells, rule=rule)


def pooled_weights(names: list[str], preds: list[np.ndarray], truths: list[np.ndarray],
                   incumbent: str | None = None, baseline: str = BASELINE) -> np.ndarray | None:
    """Weights fitted on the held-out cells of several columns together, or None: mean/mode (``baseline``).

    The fill to beat is the ``incumbent`` where it scores no worse than mean/mode on the pool, else
    mean/mode. With at least :data:`MIN_CELLS` cells, simplex weights, kept where they beat that fill
    clearly (:func:`clear_win`; always, with no incumbent); with fewer, too few to fit weights, the single
    candidate with the least error when it beats that fill clearly; else that fill.
    """
    cells = sum(p.shape[0] for p in preds)
    if cells == 0:
        return None
    per_cell = np.concatenate([_per_cell(p, t) for p, t in zip(preds, truths)])  # (cells, C)
    base = names.index(baseline)
    keep = names.index(incumbent) if incumbent is not None else base
    if per_cell[:, keep].mean() > per_cell[:, base].mean():
        keep = base
    fallback = None if keep == base else np.eye(len(names))[keep]
    if cells >= MIN_CELLS:
        P = np.concatenate([p.reshape(-1, len(names)) for p in preds])
        t = np.concatenate([t.reshape(-1) for t in truths])
        w = simplex_weights(P, t)
        blended = np.concatenate([np.sum((p @ w - t) ** 2, axis=-1) for p, t in zip(preds, truths)])
        return w if incumbent is None or clear_win(per_cell[:, keep] - blended) else fallback
    best = int(np.argmin(per_cell.mean(axis=0)))
    return np.eye(len(names))[best] if clear_win(per_cell[:, keep] - per_cell[:, best]) else fallback


def _with_absent(names: list[str], present: list[str], choice: ColumnChoice) -> ColumnChoice:
    """``choice`` made among ``present`` candidates, spelled over every name: the others have no error
    (NaN) and no weight."""
    errors = {n: choice.errors.get(n, float("nan")) for n in names}
    weights = {n: choice.weights.get(n, 0.0) for n in names}
    return ColumnChoice(errors=errors, weights=weights, choice=choice.choice, cells=choice.cells, rule=choice.rule)


def choose_columns(names: list[str], preds: np.ndarray, X: np.ndarray, held: np.ndarray, group: np.ndarray,
                   rng: np.random.Generator, incumbent: str | None = None,
                   categorical_incumbent: str | None = None, strict_mean: bool = True,
                   baseline: str = BASELINE, family_wise: bool = False,
                   absent: dict[str, np.ndarray] | None = None) -> list[ColumnChoice]:
    """As :func:`choose_among`, where ``absent`` maps a candidate to the groups (a bool per group) it has no
    fill for (the Gaussian model leaves out wide categorical columns): those groups are chosen among the
    other candidates (their pooled weights too), and the candidate gets no error and no weight there."""
    n_groups = int(group.max()) + 1
    masks = {n: np.asarray(m, bool) for n, m in (absent or {}).items() if np.any(m)}
    if not masks:
        return choose_among(names, preds, X, held, group, rng, incumbent, categorical_incumbent, strict_mean,
                            baseline, family_wise)
    sets = [tuple(n for n in names if not (n in masks and masks[n][g])) for g in range(n_groups)]
    out: list[ColumnChoice | None] = [None] * n_groups
    for present in dict.fromkeys(sets):
        groups = [g for g in range(n_groups) if sets[g] == present]
        cols = np.flatnonzero(np.isin(group, groups))
        sub = np.searchsorted(groups, group[cols])  # renumber the chosen groups 0..len-1
        idx = [names.index(n) for n in present]
        inc = incumbent if incumbent in present else None
        cat_inc = categorical_incumbent if categorical_incumbent in present else None
        made = choose_among(list(present), preds[:, cols][..., idx], X[:, cols], held[:, cols], sub, rng, inc,
                            cat_inc, strict_mean, baseline, family_wise)
        for g, choice in zip(groups, made):
            out[g] = _with_absent(names, list(present), choice)
    return out


def choose_among(names: list[str], preds: np.ndarray, X: np.ndarray, held: np.ndarray, group: np.ndarray,
                 rng: np.random.Generator, incumbent: str | None = None,
                 categorical_incumbent: str | None = None, strict_mean: bool = True,
                 baseline: str = BASELINE, family_wise: bool = False) -> list[ColumnChoice]:
    """One :class:`ColumnChoice` per source column (``group`` names each encoded column's), from
    candidate fills ``preds`` (n, d, C) of the table ``X`` whose ``held`` cells were hidden from them;
    ``incumbent`` as for :func:`choose_column`, for every column, or ``categorical_incumbent`` for the
    categorical ones (groups wider than one column) where it is given; ``strict_mean`` and ``baseline`` as
    for :func:`choose_column`. With ``family_wise`` a column leaves its incumbent only past the threshold
    corrected for the number of columns with one (:func:`win_threshold`), so that the table as a whole,
    not each column, keeps the incumbent on noise as often as one column at :data:`CLEAR_WIN` would."""
    per_group, categorical = [], []
    for g in range(int(group.max()) + 1):
        cols = np.flatnonzero(group == g)
        rows = held[:, cols].all(axis=1)
        per_group.append((preds[rows][:, cols, :], X[rows][:, cols]))
        categorical.append(len(cols) > 1)
    incumbents = {False: incumbent, True: categorical_incumbent or incumbent}
    pooled = {kind: pooled_weights(names, [p for (p, _), c in zip(per_group, categorical) if c == kind],
                                   [t for (_, t), c in zip(per_group, categorical) if c == kind], incumbents[kind],
                                   baseline)
              for kind in (False, True)}
    tested = sum(incumbents[c] is not None for c in categorical)
    threshold = win_threshold(tested) if family_wise else CLEAR_WIN
    return [choose_column(names, p, t, rng, pooled[c], incumbents[c], strict_mean, baseline, threshold)
            for (p, t), c in zip(per_group, categorical)]


def weight_matrix(names: list[str], choices: list[ColumnChoice], group: np.ndarray) -> np.ndarray:
    """(candidates, encoded width): each encoded column's weight on each candidate's fill."""
    W = np.zeros((len(names), len(group)), np.float32)
    for g, choice in enumerate(choices):
        for c, n in enumerate(names):
            W[c, group == g] = choice.weights[n]
    return W


def blend(weights: np.ndarray, fills: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """The per-column convex blend of candidate fills (only those with weight somewhere are needed)."""
    out = 0.0
    for c, n in enumerate(names):
        if np.any(weights[c] > 0):
            out = out + weights[c].astype(np.float64) * fills[n]
    return np.asarray(out, np.float32)


def selection_frame(names: list[str], choices: list[ColumnChoice], columns: list) -> pd.DataFrame:
    """Per source column: every candidate's held-out error (mean squared error per cell in the encoded
    domain: scaled numbers, Brier score for categories), its weight, the choice, and the rule used."""
    rows = []
    for choice in choices:
        row = {f"{n}_error": choice.errors[n] for n in names}
        row |= {f"{n}_weight": choice.weights[n] for n in names}
        row |= {"choice": choice.choice, "held_out_cells": choice.cells, "rule": choice.rule}
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(columns, name="column"))


def seeded_rng(key) -> np.random.Generator:
    """A NumPy generator drawn from a JAX key (for the cross-fitting split), so ``seed`` decides it too."""
    import jax

    return np.random.default_rng(np.asarray(jax.random.key_data(key)))


__all__ = ["ColumnChoice", "simplex_weights", "choose_column", "choose_columns", "choose_among", "pooled_weights", "clear_win",
           "win_threshold", "weight_matrix",
           "blend", "selection_frame", "seeded_rng", "MIN_CELLS", "BASELINE", "CLEAR_WIN"]
