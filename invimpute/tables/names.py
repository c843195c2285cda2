"""Column names as scikit-learn's feature names: read from a table, and compared with those seen at fit."""

from __future__ import annotations

import warnings

import numpy as np

from invimpute.tables.reading import Table


def feature_names(table: Table) -> np.ndarray | None:
    """The column names as scikit-learn's ``feature_names_in_``: only for frames whose names are all ``str``."""
    if table.kind == "numpy":
        return None
    names = list(table.columns)
    if names and all(isinstance(n, str) for n in names):
        return np.asarray(names, dtype=object)
    return None


def check_feature_names(fitted: np.ndarray | None, got: np.ndarray | None, owner: str) -> None:
    """Compare the names seen at fit with those of a new table, in scikit-learn's words (warn or raise)."""
    if fitted is None and got is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {owner} was fitted without feature names", UserWarning, stacklevel=3)
        return
    if got is None:
        warnings.warn(f"X does not have valid feature names, but {owner} was fitted with feature names",
                      UserWarning, stacklevel=3)
        return
    if len(fitted) == len(got) and np.all(fitted == got):
        return
    unseen = sorted(set(got) - set(fitted))
    lost = sorted(set(fitted) - set(got))
    message = "The feature names should match those that were passed during fit.\n"
    if unseen:
        message += "Feature names unseen at fit time:\n" + _listed(unseen)
    if lost:
        message += "Feature names seen at fit time, yet now missing:\n" + _listed(lost)
    if not unseen and not lost:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _listed(names: list) -> str:
    shown = [f"- {n}\n" for n in names[:5]]
    return "".join(shown) + ("- ...\n" if len(names) > 5 else "")


def check_n_features(n_fitted: int, n_got: int, owner: str) -> None:
    """scikit-learn's error for a table with another number of columns than at fit."""
    if n_fitted != n_got:
        raise ValueError(f"X has {n_got} features, but {owner} is expecting {n_fitted} features as input.")


__all__ = ["feature_names", "check_feature_names", "check_n_features"]
