"""k-nearest-neighbour imputation over every donor row, in one compiled program per chunk of rows (JAX).

The fast neighbour candidate of :class:`~invimpute.methods.auto.Auto`. Distances are scikit-learn's NaN-aware
Euclidean distances (squared differences over the coordinates both rows observe, scaled by
``d / n_common``), computed for a chunk of query rows against all donors with one matrix product (the
donors' side of it computed once per pool).
Each missing entry is the mean of that column over the ``n_neighbors`` nearest donors *that observe it*,
searched among the ``pool`` nearest donors overall: exact whenever ``pool`` holds ``n_neighbors`` donors
observing the column (at 20% missing cells a pool of 32 holds about 26 per column), and otherwise the
mean of those it holds, or the column mean when it holds none. Ties in distance may be broken
differently from scikit-learn's. The query chunks run
through :func:`~invimpute.runtime.rows.map_rows`, so a table of any length compiles one program per chunk size.

scikit-learn's ``KNNImputer`` (:class:`~invimpute.peers.baselines.KNN`) stays the peer in benchmarks; this is
the library's own implementation, which draws on every donor row at a fraction of its cost.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from invimpute.encoding.layout import Layout
from invimpute.peers.base import Fitted, finish
from invimpute.runtime.rows import map_rows

KNN_DONORS, KNN_WORK = 20_000, 6.4e9
"""Rows KNN draws its neighbours from (a seeded sample of the fit rows beyond that), at most
``KNN_DONORS`` and at most ``KNN_WORK`` / (rows x encoded width) (:func:`knn_donors`): its distances cost
rows x donors x width multiply-adds per pass, so this bounds the time of ``auto``'s KNN candidate on long
or wide tables to that of letter (20,000 x 16, every row a donor). Reverse training's start from KNN
(``InversionConfig(init="knn")``) keeps up to ``KNN_DONORS`` donors whatever the width: its cost scales
with the rows it repairs, as the inversion's does. On development masks of credit (30,000 x 23, seeds 3-5;
``benchmarks/results/speed_batch_dev.md``) 9,000 donors instead of 20,000 left auto's RMSE within 0.0002
per seed and halved the KNN passes' time; on one letter mask 10,000 donors instead of 20,000 raised
auto's RMSE by 2.8%, so the bound leaves tables of letter's size alone."""


def knn_donors(n_rows: int, width: int) -> int:
    """KNN's donor rows on a table of ``n_rows`` x ``width`` encoded columns (see :data:`KNN_DONORS`)."""
    return int(max(1, min(KNN_DONORS, KNN_WORK // max(1, n_rows * width))))


CHUNK = 512
"""Query rows per compiled chunk: bounds the (chunk x donors) distance matrix in memory (40 MB at 20,000 donors)."""


@jax.jit
def donor_terms(D: jax.Array, Do: jax.Array) -> jax.Array:
    """The donors' side of :func:`nan_euclidean`, computed once per donor pool: (m, 3d) columns
    ``[observed, value², value]`` (zero where missing)."""
    Df, Dz = Do.astype(jnp.float32), jnp.where(Do, D, 0.0).astype(jnp.float32)
    return jnp.concatenate([Df, Dz * Dz, Dz], axis=1)


def distances(q: jax.Array, qo: jax.Array, terms: jax.Array) -> jax.Array:
    """Squared NaN-aware Euclidean distances (b, m) from query rows ``q`` (observed where ``qo``) to the
    donors of ``terms`` (:func:`donor_terms`): the squared differences and the count of coordinates in
    common come out of one matrix product; pairs with none in common are infinitely far."""
    d = q.shape[1]
    qf, qz = qo.astype(jnp.float32), jnp.where(qo, q, 0.0).astype(jnp.float32)
    A = jnp.concatenate([qz * qz, qf, -2.0 * qz], axis=1)
    counts = jnp.concatenate([qf, jnp.zeros((q.shape[0], 2 * d), jnp.float32)], axis=1)
    both = jnp.concatenate([A, counts], axis=0) @ terms.T
    sq, common = both[: q.shape[0]], both[q.shape[0]:]
    scaled = jnp.maximum(sq, 0.0) * (d / jnp.maximum(common, 1.0))
    return jnp.where(common > 0, scaled, jnp.inf)


def nan_euclidean(q: jax.Array, qo: jax.Array, D: jax.Array, Do: jax.Array) -> jax.Array:
    """Squared NaN-aware Euclidean distances (b, n) between query rows ``q`` and donors ``D``.

    ``qo`` and ``Do`` mark the observed entries (values at missing entries are ignored); pairs with
    no coordinate in common are infinitely far.
    """
    return distances(q, qo, donor_terms(D, Do))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _fill_chunk(n_neighbors: int, pool: int, donors, donor_obs, terms, mean, q, qo):
    """One chunk's fill: per column, the mean over the nearest donors of the pool that observe it."""
    dist = distances(q, qo, terms)
    _, idx = jax.lax.top_k(-dist, pool)                       # (b, pool), nearest first
    reachable = jnp.isfinite(jnp.take_along_axis(dist, idx, axis=1))[:, :, None]  # some coordinate in common
    vals = donors[idx]                                        # (b, pool, d)
    usable = donor_obs[idx] & reachable
    rank = jnp.cumsum(usable, axis=1)
    chosen = usable & (rank <= n_neighbors)
    count = chosen.sum(axis=1)
    total = jnp.where(chosen, vals, 0.0).sum(axis=1)
    return jnp.where(count > 0, total / jnp.maximum(count, 1), mean[None, :])


def knn_fill(donors: np.ndarray, donor_obs: np.ndarray, X: np.ndarray, observed: np.ndarray,
             n_neighbors: int = 5, pool: int = 32, mean: np.ndarray | None = None) -> np.ndarray:
    """Every row of ``X`` (n, d) filled from its nearest ``donors`` (m, d); observed entries kept.

    ``mean`` (d,) fills an entry no donor of the pool observes (default: the donors' observed means).
    """
    if mean is None:
        count = np.maximum(donor_obs.sum(0), 1)
        mean = np.where(donor_obs, donors, 0.0).sum(0) / count
    pool = int(min(max(pool, n_neighbors), donors.shape[0]))
    donors, donor_obs = jnp.asarray(donors, jnp.float32), jnp.asarray(donor_obs, bool)
    program = functools.partial(_fill_chunk, int(n_neighbors), pool, donors, donor_obs,
                                donor_terms(donors, donor_obs), jnp.asarray(mean, jnp.float32))
    filled = np.asarray(map_rows(program, (np.asarray(X, np.float32), np.asarray(observed, bool)), CHUNK))
    return np.where(observed, X, filled).astype(np.float32)


class NearestNeighbours(Fitted):
    """k-nearest-neighbour imputation with the fit rows as donors, every one of them (see the module doc).

    Args:
      n_neighbors: donors averaged per missing entry.
      pool: nearest donors overall among which each column's ``n_neighbors`` observing donors are found.
      max_donors: keep at most this many fit rows as donors (a seeded sample; None: all of them).
    """

    def __init__(self, n_neighbors: int = 5, pool: int = 32, max_donors: int | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.pool = pool
        self.max_donors = max_donors

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "NearestNeighbours":
        """Store the fit rows (or a seeded sample of ``max_donors`` of them) as the donor pool."""
        if self.n_neighbors < 1 or self.pool < 1:
            raise ValueError(f"n_neighbors and pool must be >= 1, got {self.n_neighbors} and {self.pool}")
        X, observed = self._start_fit(X, observed, layout)
        if self.max_donors is not None and X.shape[0] > self.max_donors:
            rows = np.sort(np.asarray(jax.random.choice(key, X.shape[0], (self.max_donors,), replace=False)))
            X, observed = X[rows], observed[rows]
        self.donors_, self.donor_obs_ = X, observed
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Fill each row's missing entries from its nearest donors."""
        X, observed = self._start_impute(X, observed)
        if observed.all():
            return X.copy()
        filled = knn_fill(self.donors_, self.donor_obs_, X, observed, self.n_neighbors, self.pool, self.mean_)
        return finish(X, observed, filled, self.layout_, self.empty_)


__all__ = ["KNN_DONORS", "KNN_WORK", "knn_donors", "NearestNeighbours", "knn_fill", "nan_euclidean", "donor_terms", "distances"]
