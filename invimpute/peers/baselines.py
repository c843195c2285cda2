"""Reference imputation methods to compare the inversion engine against.

Every method follows the backend protocol of :class:`invimpute.Imputer`: ``__init__`` stores the
configuration only, ``fit(X, observed, layout, key)`` learns from an encoded float matrix and its
observed mask, and ``impute(X, observed, key)`` returns a float32 ``(n, d)`` matrix in the encoded
domain with the observed entries copied back, bounded columns (unit, binary, categorical) inside
[0, 1] and never a NaN. ``impute`` accepts rows that were not seen in ``fit``.

* :class:`MeanMode` -- column means; for a categorical group the observed category frequencies, so the
  caller's arg-max decodes to the mode.
* :class:`KNN` -- scikit-learn's ``KNNImputer`` with the fit rows as donors.
* :class:`Iterative` -- scikit-learn's ``IterativeImputer`` (MICE-style chained regressions) with a
  Bayesian ridge or an extra-trees regressor (a MissForest stand-in).
* :class:`SoftImpute` -- Mazumder, Hastie & Tibshirani (2010) iterative SVD soft-thresholding, in JAX.

scikit-learn is an optional dependency (``pip install 'invimpute[baselines]'``); it is imported only
when a scikit-learn backed method is fitted.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from invimpute.encoding.layout import Layout
from invimpute.peers.base import Fitted, bounded_columns, finish

__all__ = ["MeanMode", "KNN", "Iterative", "SoftImpute"]

_SKLEARN_HINT = "pip install 'invimpute[baselines]'"


def _require_sklearn(method: str) -> None:
    """Raise a helpful ImportError when scikit-learn is not installed."""
    try:
        import sklearn  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"{method} needs scikit-learn, which is not installed; install it with: {_SKLEARN_HINT}"
        ) from err


def _seed_from_key(key: jax.Array) -> int:
    """A non-negative int seed for scikit-learn's ``random_state``, drawn from a JAX key."""
    return int(jax.random.randint(key, (), 0, 2**31 - 1))


def _with_nan(X: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """float64 copy of ``X`` with NaN at the missing entries (scikit-learn's missing marker)."""
    return np.where(observed, X, np.nan).astype(np.float64)


class MeanMode(Fitted):
    """Column means of the observed values; categorical groups get their observed category frequencies.

    The frequencies of a one-hot group are the column means of its entries, so the caller's arg-max over
    the group decodes to the most frequent category (the mode). The simplest baseline every other method
    should beat.
    """

    def __init__(self) -> None:
        pass

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "MeanMode":
        """Store the per-column observed means (frequencies for categorical entries)."""
        self._start_fit(X, observed, layout)
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Fill every missing entry with its column's fitted mean."""
        X, observed = self._start_impute(X, observed)
        filled = np.broadcast_to(self.mean_, X.shape)
        return finish(X, observed, filled, self.layout_, self.empty_)


class _Sklearn(Fitted):
    """A peer that wraps a fitted scikit-learn imputer (``imputer_``) and applies it to new rows."""

    imputer_: object

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Fill the missing entries with the fitted scikit-learn imputer's ``transform``."""
        X, observed = self._start_impute(X, observed)
        if observed.all():
            return X.copy()
        filled = self.imputer_.transform(_with_nan(X, observed))
        return finish(X, observed, filled, self.layout_, self.empty_)


class KNN(_Sklearn):
    """k-nearest-neighbour imputation (scikit-learn ``KNNImputer``) on the encoded matrix.

    Distances are NaN-aware Euclidean distances over the coordinates both rows observe; each missing
    entry is the (uniform or distance-weighted) average of that column over the ``n_neighbors`` closest
    fit rows that observe it. The fit rows are the donors at impute time, also for new rows.
    Categorical one-hot entries are averaged like numbers, so a group gets neighbour frequencies.
    """

    def __init__(self, n_neighbors: int = 5, weights: str = "uniform") -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "KNN":
        """Store the fit rows as the donor pool."""
        _require_sklearn("KNN")
        from sklearn.impute import KNNImputer

        X, observed = self._start_fit(X, observed, layout)
        self.imputer_ = KNNImputer(
            n_neighbors=self.n_neighbors, weights=self.weights, keep_empty_features=True
        ).fit(_with_nan(X, observed))
        return self


class Iterative(_Sklearn):
    """Chained-equation imputation (scikit-learn ``IterativeImputer``).

    Each column with missing values is regressed on all the others in turn, for ``max_iter`` rounds,
    starting from the column means. ``estimator="bayesian_ridge"`` gives a linear MICE-style imputer;
    ``estimator="extra_trees"`` uses an ``ExtraTreesRegressor`` with ``n_estimators`` trees, a fast
    stand-in for MissForest. Bounded columns are clipped to [0, 1] during the rounds and in the output.
    The regressors fitted on the fit rows are reused for new rows at impute time.
    """

    ESTIMATORS = ("bayesian_ridge", "extra_trees")

    def __init__(
        self,
        estimator: str = "bayesian_ridge",
        max_iter: int = 10,
        n_estimators: int = 100,
        tol: float = 1e-3,
        n_nearest_features: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.max_iter = max_iter
        self.n_estimators = n_estimators
        self.tol = tol
        self.n_nearest_features = n_nearest_features
        self.n_jobs = n_jobs

    def _make_estimator(self, seed: int) -> Any:
        if self.estimator == "bayesian_ridge":
            from sklearn.linear_model import BayesianRidge

            return BayesianRidge()
        if self.estimator == "extra_trees":
            from sklearn.ensemble import ExtraTreesRegressor

            return ExtraTreesRegressor(n_estimators=self.n_estimators, random_state=seed, n_jobs=self.n_jobs)
        raise ValueError(f"Iterative: unknown estimator {self.estimator!r}; use one of {self.ESTIMATORS}")

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "Iterative":
        """Run the chained regressions on the fit rows and keep the fitted regressors."""
        _require_sklearn("Iterative")
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        X, observed = self._start_fit(X, observed, layout)
        k_est, k_imp = jax.random.split(key)
        bounded = bounded_columns(layout)
        self.imputer_ = IterativeImputer(
            estimator=self._make_estimator(_seed_from_key(k_est)),
            max_iter=self.max_iter,
            tol=self.tol,
            n_nearest_features=self.n_nearest_features,
            initial_strategy="mean",
            min_value=np.where(bounded, 0.0, -np.inf),
            max_value=np.where(bounded, 1.0, np.inf),
            keep_empty_features=True,
            random_state=_seed_from_key(k_imp),
        ).fit(_with_nan(X, observed))
        return self


@jax.jit
def _soft_impute_loop(
    X: jax.Array, observed: jax.Array, shrinkage: jax.Array, max_rank: jax.Array, max_iters: jax.Array, tol: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Soft-Impute iterations: ``Z <- P_obs(X) + P_miss(S_lambda(Z))`` until the relative change < ``tol``.

    ``S_lambda`` soft-thresholds the singular values by ``shrinkage`` and keeps at most ``max_rank`` of
    them (``max_rank <= 0``: no cap). ``X`` holds the starting fill at the missing entries. Returns the
    completed matrix, the number of iterations run and the last relative change
    ``||Z_new - Z_old||_F^2 / ||Z_old||_F^2`` (the convergence criterion of Mazumder et al.).
    """
    keep_index = jnp.arange(min(X.shape))

    def cond(state: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
        _, it, change = state
        return (it < max_iters) & (change > tol)

    def body(state: tuple[jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
        Z, it, _ = state
        U, s, Vt = jnp.linalg.svd(Z, full_matrices=False)
        s = jnp.maximum(s - shrinkage, 0.0)
        s = jnp.where((max_rank <= 0) | (keep_index < max_rank), s, 0.0)
        low_rank = (U * s) @ Vt
        Z_new = jnp.where(observed, X, low_rank)
        change = jnp.sum((Z_new - Z) ** 2) / jnp.maximum(jnp.sum(Z**2), 1e-12)
        return Z_new, it + 1, change

    start = (X, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, X.dtype))
    return jax.lax.while_loop(cond, body, start)


class SoftImpute(Fitted):
    """Soft-Impute (Mazumder, Hastie & Tibshirani, JMLR 2010): nuclear-norm regularised matrix completion.

    Columns are centred by their observed means, the missing entries start at the mean (0 after
    centring), then the loop alternates a rank-reducing SVD soft-threshold of the filled matrix with
    putting the observed values back, inside a jit-compiled ``lax.while_loop``, until the relative
    squared change falls below ``tol`` or ``max_iters`` is reached. The default ``shrinkage`` follows the
    fancyimpute convention: the largest singular value of the centred, mean-filled matrix divided by 50.
    ``max_rank`` optionally also keeps only that many singular values.

    The method is transductive: for rows not seen in ``fit`` it completes the stacked matrix
    ``[fit rows; new rows]`` and returns the new rows (with the default shrinkage recomputed on the
    stacked matrix, so stacking a copy of the fit rows gives the same answer as fitting them alone).
    Deterministic: the keys are accepted for the protocol and not used.
    """

    def __init__(
        self,
        shrinkage: float | None = None,
        max_rank: int | None = None,
        max_iters: int = 100,
        tol: float = 1e-5,
    ) -> None:
        self.shrinkage = shrinkage
        self.max_rank = max_rank
        self.max_iters = max_iters
        self.tol = tol

    def _complete(self, X: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, float, int]:
        """Run Soft-Impute on one matrix; returns the completed (uncentred) matrix, shrinkage and iterations."""
        centred = np.where(observed, X - self.mean_, np.float32(0.0)).astype(np.float32)
        Z0 = jnp.asarray(centred)
        if self.shrinkage is None:
            shrinkage = float(jnp.linalg.svd(Z0, compute_uv=False)[0]) / 50.0
        else:
            shrinkage = float(self.shrinkage)
        Z, it, _ = _soft_impute_loop(
            Z0,
            jnp.asarray(observed),
            jnp.float32(shrinkage),
            jnp.int32(self.max_rank or 0),
            jnp.int32(self.max_iters),
            jnp.float32(self.tol),
        )
        return np.asarray(Z) + self.mean_, shrinkage, int(it)

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "SoftImpute":
        """Complete the fit matrix once; it is kept as the reference for later rows."""
        X, observed = self._start_fit(X, observed, layout)
        self.X_fit_, self.observed_fit_ = X, observed
        self.completed_, self.shrinkage_, self.n_iter_ = self._complete(X, observed)
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Complete ``[fit rows; X]`` (or reuse the fit result when ``X`` is the fit data) and return X's rows."""
        X, observed = self._start_impute(X, observed)
        if np.array_equal(observed, self.observed_fit_) and np.array_equal(X, self.X_fit_):
            completed = self.completed_
        else:
            n_fit = self.X_fit_.shape[0]
            stacked, _, _ = self._complete(
                np.concatenate([self.X_fit_, X]), np.concatenate([self.observed_fit_, observed])
            )
            completed = stacked[n_fit:]
        return finish(X, observed, completed, self.layout_, self.empty_)
