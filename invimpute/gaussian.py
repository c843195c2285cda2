"""A multivariate-normal model of the encoded table fitted by EM, and its conditional-mean fill (JAX).

The linear peer of :class:`~invimpute.auto.Auto`: it captures what chained linear regressions
(scikit-learn's ``IterativeImputer`` with ``BayesianRidge``) capture, in one compiled program. Each EM
round fills every row's missing entries with their conditional mean given its observed entries,
``mu_m + S_mo S_oo^-1 (x_o - mu_o)``, adds the conditional covariance ``S_mm - S_mo S_oo^-1 S_om`` to
the second moments, and re-estimates ``mu`` and ``S`` (with a small ridge on the diagonal, so the
conditioning stays stable on collinear or one-hot columns). Each row's solve is a masked ``d x d``
system, ``vmap``ped over rows inside a ``lax.scan`` over rounds, so rows with any pattern of missing
entries cost the same and nothing is looped over in Python.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from invimpute.layout import Layout
from invimpute.peers_base import Fitted, finish

RIDGE = 1e-3
"""Added to the covariance diagonal, relative to each column's variance."""


def _conditional(x: jax.Array, o: jax.Array, mu: jax.Array, S: jax.Array):
    """One row's conditional mean (d,) and the conditional covariance of its missing part (d, d)."""
    oo = o[:, None] & o[None, :]
    M = jnp.where(oo, S, 0.0) + jnp.diag(jnp.where(o, 0.0, 1.0))
    rhs = jnp.concatenate([jnp.where(o, x - mu, 0.0)[:, None], jnp.where(o[:, None], S, 0.0)], axis=1)
    sol = jnp.linalg.solve(M, rhs)  # S_oo^-1 (x_o - mu_o) and S_oo^-1 S_o: (zero rows where missing)
    mean = jnp.where(o, x, mu + S @ sol[:, 0])
    cond = S - S @ sol[:, 1:]
    mm = (~o)[:, None] & (~o)[None, :]
    return mean, jnp.where(mm, cond, 0.0)


@functools.partial(jax.jit, static_argnums=(2,))
def _em(X: jax.Array, observed: jax.Array, rounds: int):
    """``rounds`` EM steps from the observed means and variances: the fitted (mu, S)."""
    n = X.shape[0]
    count = jnp.maximum(observed.sum(0), 1.0)
    mu = jnp.where(observed, X, 0.0).sum(0) / count
    var = jnp.where(observed, (X - mu) ** 2, 0.0).sum(0) / count
    floor = RIDGE * jnp.maximum(var, 1e-6)
    S = jnp.diag(var + floor)

    def step(carry, _):
        mu, S = carry
        means, covs = jax.vmap(_conditional, in_axes=(0, 0, None, None))(X, observed, mu, S)
        mu_new = means.mean(0)
        centred = means - mu_new
        S_new = (centred.T @ centred + covs.sum(0)) / n + jnp.diag(floor)
        return (mu_new, S_new), None

    (mu, S), _ = jax.lax.scan(step, (mu, S), None, length=rounds)
    return mu, S


@jax.jit
def _fill(X: jax.Array, observed: jax.Array, mu: jax.Array, S: jax.Array) -> jax.Array:
    return jax.vmap(_conditional, in_axes=(0, 0, None, None))(X, observed, mu, S)[0]


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
        mu, S = _em(jnp.asarray(X, jnp.float32), jnp.asarray(observed), int(self.rounds))
        self.mu_, self.cov_ = np.asarray(mu), np.asarray(S)
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Each row's missing entries: their conditional mean given the row's observed entries."""
        X, observed = self._start_impute(X, observed)
        n = X.shape[0]
        size = int(min(self.chunk_rows, max(n, 1)))
        pad = (-n) % size
        Xp = np.pad(X, ((0, pad), (0, 0)))
        Op = np.pad(observed, ((0, pad), (0, 0)), constant_values=True)
        out = np.concatenate([np.asarray(_fill(Xp[s:s + size], Op[s:s + size], self.mu_, self.cov_))
                              for s in range(0, n + pad, size)])[:n]
        return finish(X, observed, out, self.layout_, self.empty_)


__all__ = ["GaussianEM", "RIDGE"]
