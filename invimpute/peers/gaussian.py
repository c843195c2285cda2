"""A multivariate-normal model of the encoded table fitted by EM, and its conditional-mean fill (JAX).

The linear peer of :class:`~invimpute.methods.auto.Auto`: it captures what chained linear regressions
(scikit-learn's ``IterativeImputer`` with ``BayesianRidge``) capture, in one compiled program. Each EM
round fills every row's missing entries with their conditional mean given its observed entries,
``mu_m - inv(P_mm) P_mo (x_o - mu_o)`` with ``P`` the precision matrix, adds the conditional covariance
``inv(P_mm)`` to the second moments, and re-estimates ``mu`` and ``S`` (with a small ridge on the
diagonal, so the conditioning stays stable on collinear or one-hot columns). Each row's solve is over its
missing block only, padded to the most entries any row misses, ``vmap``ped over rows inside a
``lax.scan`` over rounds, so rows with any pattern of missing entries cost the same and nothing is
looped over in Python.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from invimpute.encoding.layout import Layout
from invimpute.peers.base import Fitted, finish
from invimpute.runtime.rows import map_rows

RIDGE = 1e-3
"""Added to the covariance diagonal, relative to each column's variance."""


def _conditional(x: jax.Array, o: jax.Array, mu: jax.Array, P: jax.Array, k: int):
    """One row's conditional mean (d,), and its missing block's conditional covariance (k, k) with the
    block's column indices (k,), from the precision matrix ``P`` (the inverse covariance).

    Given the observed entries, the missing ones are normal with covariance ``inv(P_mm)`` and mean
    ``mu_m - inv(P_mm) P_mo (x_o - mu_o)``: one ``k x k`` Cholesky solve, ``k`` the most entries any row
    misses, instead of a ``d x d`` solve per row. Slots beyond the row's own missing count are padding
    (identity, zero right-hand side).
    """
    idx = jnp.argsort(o, stable=True)[:k]                  # the missing columns first
    slot = ~o[idx]                                        # which of the k slots are truly missing
    pair = slot[:, None] & slot[None, :]
    P_mm = jnp.where(pair, P[idx][:, idx], jnp.eye(k))
    rhs = jnp.where(slot, (P @ jnp.where(o, x - mu, 0.0))[idx], 0.0)   # P_mo (x_o - mu_o)
    factor = jax.scipy.linalg.cho_factor(P_mm)
    sol = jax.scipy.linalg.cho_solve(factor, jnp.concatenate([rhs[:, None], jnp.eye(k)], axis=1))
    mean = jnp.where(o, x, x.at[idx].set(jnp.where(slot, mu[idx] - sol[:, 0], x[idx])))
    return mean, jnp.where(pair, sol[:, 1:], 0.0), idx


def _fill_rows(X, observed, mu, S, k):
    """Every row's conditional mean, and the sum over rows of the missing blocks' conditional covariances."""
    d = X.shape[1]
    if k == 0:
        return X, jnp.zeros((d, d))
    P = jnp.linalg.inv(S)
    means, blocks, idx = jax.vmap(_conditional, in_axes=(0, 0, None, None, None))(X, observed, mu, P, k)
    cov = jnp.zeros((d, d)).at[idx[:, :, None], idx[:, None, :]].add(blocks)
    return means, cov


@functools.partial(jax.jit, static_argnums=(2, 3))
def _em(X: jax.Array, observed: jax.Array, rounds: int, k: int):
    """``rounds`` EM steps from the observed means and variances: the fitted (mu, S)."""
    n = X.shape[0]
    count = jnp.maximum(observed.sum(0), 1.0)
    mu = jnp.where(observed, X, 0.0).sum(0) / count
    var = jnp.where(observed, (X - mu) ** 2, 0.0).sum(0) / count
    floor = RIDGE * jnp.maximum(var, 1e-6)
    S = jnp.diag(var + floor)

    def step(carry, _):
        mu, S = carry
        means, cov = _fill_rows(X, observed, mu, S, k)
        mu_new = means.mean(0)
        centred = means - mu_new
        S_new = (centred.T @ centred + cov) / n + jnp.diag(floor)
        return (mu_new, S_new), None

    (mu, S), _ = jax.lax.scan(step, (mu, S), None, length=rounds)
    return mu, S


@functools.partial(jax.jit, static_argnums=(2,))
def _fill(mu: jax.Array, S: jax.Array, k: int, X: jax.Array, observed: jax.Array) -> jax.Array:
    return _fill_rows(X, observed, mu, S, k)[0]


def missing_block(observed: np.ndarray) -> int:
    """The size of the padded missing block: the most entries any row misses, rounded up to a power of
    two (so tables of similar missingness share one compiled program)."""
    most = int((~np.asarray(observed, bool)).sum(axis=1).max(initial=0))
    return 0 if most == 0 else min(observed.shape[1], 1 << (most - 1).bit_length())


class GaussianEM(Fitted):
    """Conditional means under a multivariate normal fitted to the encoded table by ``rounds`` EM steps."""

    def __init__(self, rounds: int = 10, chunk_rows: int = 4096) -> None:
        self.rounds = rounds
        self.chunk_rows = chunk_rows

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "GaussianEM":
        """Fit the mean and covariance of the encoded table by EM on its observed entries."""
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, (int, np.integer)) or self.rounds < 1:
            raise ValueError(f"GaussianEM.rounds must be an integer >= 1, got {self.rounds!r}")
        X, observed = self._start_fit(X, observed, layout)
        mu, S = _em(jnp.asarray(X, jnp.float32), jnp.asarray(observed), int(self.rounds), missing_block(observed))
        self.mu_, self.cov_ = np.asarray(mu), np.asarray(S)
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Each row's missing entries: their conditional mean given the row's observed entries."""
        X, observed = self._start_impute(X, observed)
        program = functools.partial(_fill, jnp.asarray(self.mu_), jnp.asarray(self.cov_), missing_block(observed))
        out = np.asarray(map_rows(program, (X, observed), self.chunk_rows))
        return finish(X, observed, out, self.layout_, self.empty_)


__all__ = ["GaussianEM", "RIDGE", "missing_block"]
