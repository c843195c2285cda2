"""Figures of a fitted :class:`~invimpute.Imputer`: its training curve, its per-column choice, a column's belief.

Each function draws on the matplotlib ``Axes`` given as ``ax`` (a new figure's when None) and returns
it, so figures compose with the caller's own layout. matplotlib is the optional ``figures`` extra
(``pip install 'invimpute[figures]'``); it is imported when a figure is drawn, never by
``import invimpute``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from invimpute.estimator.contract import not_fitted
from invimpute.estimator.imputer import Imputer

if TYPE_CHECKING:
    from matplotlib.axes import Axes

EXTRA = "figures"
"""The optional extra that brings matplotlib."""


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"invimpute.plot draws with matplotlib, which is not installed: "
                          f"pip install 'invimpute[{EXTRA}]' (or pip install matplotlib)") from exc
    return plt


def _axes(ax: "Axes | None") -> "Axes":
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _fitted(imp: Imputer, what: str) -> None:
    if not isinstance(imp, Imputer):
        raise TypeError(f"invimpute.plot.{what} takes a fitted invimpute.Imputer, got {type(imp).__name__}")
    if not hasattr(imp, "method_"):
        raise not_fitted(f"this Imputer is not fitted yet: call fit(X) before invimpute.plot.{what}")


def training_curve(imp: Imputer, *, ax: "Axes | None" = None, held_out: bool = True) -> "Axes":
    """The training loss (solid) and held-out loss (dashed) per evaluation of every candidate and member.

    Args:
      imp: a fitted Imputer whose method trains (``auto``, ``ae``, ``recurrent``, ``reverse``, ``gain``,
        ``miwae``); its :attr:`~invimpute.Imputer.history_` is drawn.
      ax: the matplotlib Axes to draw on; None draws on a new figure.
      held_out: also draw the held-out loss where cells were held out.

    Returns:
      The Axes, with optimiser steps on x (evaluations when the steps are unknown), the loss on a log
      scale, and a dot on each curve's kept evaluation.

    Raises:
      ValueError: when the method trains nothing (``mean``, ``knn``...), so there is no curve to draw.
    """
    _fitted(imp, "training_curve")
    history = imp.history_
    if history is None or history.empty:
        raise ValueError(f"method {imp.settings_.method!r} trains no model: there is no training curve to draw")
    ax = _axes(ax)
    known = history["step"].notna().all()
    for (candidate, member), part in history.groupby(["candidate", "member"], sort=False):
        x = part["step"].astype(float).to_numpy() if known else np.arange(1, len(part) + 1)
        label = candidate if history["member"].nunique() == 1 else f"{candidate} #{member}"
        (line,) = ax.plot(x, part["train_loss"].to_numpy(), label=f"{label}: training")
        y_best = part["train_loss"].to_numpy()
        if held_out and part["held_out_loss"].notna().any():
            ax.plot(x, part["held_out_loss"].to_numpy(), linestyle="--", color=line.get_color(),
                    label=f"{label}: held out")
            y_best = part["held_out_loss"].to_numpy()
        best = part["best"].to_numpy()
        ax.plot(x[best], y_best[best], "o", color=line.get_color())
    ax.set_xlabel("optimiser steps" if known else "evaluation")
    ax.set_ylabel("loss")
    if (history[["train_loss", "held_out_loss"]].stack() > 0).all():
        ax.set_yscale("log")
    ax.set_title("training curve (dot: kept parameters)")
    ax.legend(fontsize="small")
    return ax


def selection(imp: Imputer, *, ax: "Axes | None" = None) -> "Axes":
    """Per column, every candidate's held-out error as grouped bars, the chosen fill named on the axis.

    Args:
      imp: a fitted Imputer whose method chooses per column (``auto``, or ``reverse`` with cells held
        out); its :attr:`~invimpute.Imputer.selection_` is drawn.
      ax: the matplotlib Axes to draw on; None draws on a new figure.

    Returns:
      The Axes: one group of bars per source column (mean squared error per held-out cell in the
      encoded domain: scaled numbers, Brier score for categories), each tick labelled
      ``column → choice``.

    Raises:
      ValueError: when the method made no per-column choice (``selection_`` is None).
    """
    _fitted(imp, "selection")
    table = imp.selection_
    if table is None:
        raise ValueError(f"method {imp.settings_.method!r} made no per-column choice (selection_ is None): "
                         f"fit method='auto' (or 'reverse' with held-out cells) to draw one")
    candidates = [c.removesuffix("_error") for c in table.columns if c.endswith("_error")]
    ax = _axes(ax)
    width = 0.8 / max(len(candidates), 1)
    positions = np.arange(len(table))
    for i, name in enumerate(candidates):
        ax.bar(positions + (i - (len(candidates) - 1) / 2) * width, table[f"{name}_error"].to_numpy(float),
               width, label=name)
    ax.set_xticks(positions, [f"{col} → {choice}" for col, choice in zip(table.index, table["choice"])],
                  rotation=45, ha="right")
    ax.set_ylabel("held-out error (MSE per cell, encoded)")
    ax.set_title("per-column choice on held-out cells")
    ax.legend(fontsize="small")
    return ax


def belief(imp: Imputer, X, column, *, level: float = 0.9, ax: "Axes | None" = None) -> "Axes":
    """One column's belief about its imputed cells (:meth:`~invimpute.Imputer.belief`).

    Args:
      imp: a fitted Imputer of a neural method (``ae``, ``recurrent``, ``reverse``), calibrated
        (``uncertainty={"calibrate": True}``, the default) for numeric intervals.
      X: the incomplete table whose missing cells are believed about.
      column: the column's name (its position for a NumPy array).
      level: the nominal coverage of the numeric intervals.
      ax: the matplotlib Axes to draw on; None draws on a new figure.

    Returns:
      The Axes: for a numeric column, each imputed cell's value with its central ``level`` interval,
      sorted by value; for a categorical or boolean column, the histogram of the confidence in the
      category chosen.

    Raises:
      KeyError: when ``column`` is not a column of ``X``.
      ValueError: when ``column`` has no missing cell in ``X``.
    """
    _fitted(imp, "belief")
    found = imp.belief(X, level=level)
    if column not in found.mean.columns:
        raise KeyError(f"column {column!r} is not a column of X; its columns are {list(found.mean.columns)[:10]}")
    ax = _axes(ax)
    if column in found.probabilities:
        confidence = found.confidence[column].dropna().to_numpy()
        if not len(confidence):
            raise ValueError(f"column {column!r} has no missing cell in X: there is no belief to draw")
        ax.hist(confidence, bins=np.linspace(0.0, 1.0, 21))
        ax.set_xlabel("confidence in the category chosen")
        ax.set_ylabel("imputed cells")
    else:
        frame = pd.DataFrame({"mean": found.mean[column], "lower": found.lower[column],
                              "upper": found.upper[column]}).dropna(subset=["mean"]).sort_values("mean")
        if frame.empty:
            raise ValueError(f"column {column!r} has no missing cell in X: there is no belief to draw")
        x = np.arange(len(frame))
        mean = frame["mean"].to_numpy(float)
        has = frame["lower"].notna().to_numpy()
        spread = np.stack([mean - frame["lower"].to_numpy(float), frame["upper"].to_numpy(float) - mean])
        if has.any():
            ax.errorbar(x[has], mean[has], yerr=spread[:, has], fmt="o", markersize=3, capsize=2,
                        label=f"value, {level:.0%} interval")
        if not has.all():
            ax.plot(x[~has], mean[~has], "o", markersize=3, label="value (no calibration: no interval)")
        ax.set_xlabel("imputed cells, sorted by value")
        ax.set_ylabel(str(column))
        ax.legend(fontsize="small")
    ax.set_title(f"belief about {column!r}{'' if found.calibrated else ' (uncalibrated)'}")
    return ax


__all__ = ["training_curve", "selection", "belief", "pyplot", "EXTRA"]
