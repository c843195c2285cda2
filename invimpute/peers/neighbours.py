"""k-nearest-neighbour imputation over every donor row, in one compiled program per chunk of rows (JAX).

The fast neighbour candidate of :class:`~invimpute.methods.auto.Auto`. Distances are scikit-learn's NaN-aware
Euclidean distances (squared differences over the coordinates both rows observe, scaled by
``d / n_common``), computed for a chunk of query rows against all donors with two matrix products (the
donors' side of them computed once per pool).
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
from invimpute.runtime.arrays import to_device
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


CHUNK = 128
"""Query rows per compiled chunk: bounds the (chunk x donors) distance matrix in memory (10 MB at 20,000
donors). Small enough for that matrix to stay in the CPU's cache between the matrix product and the
neighbour search: on letter's 20,000 rows a pass took about 1.2 s in chunks of 128 or 256 rows against
1.9 s in chunks of 512 (2-core CPU)."""


@jax.jit
def donor_terms(D: jax.Array, Do: jax.Array) -> jax.Array:
    """The donors' side of :func:`nan_euclidean`, computed once per donor pool: (m, 3d) columns
    ``[observed, value², value]`` (zero where missing)."""
    Df, Dz = Do.astype(jnp.float32), jnp.where(Do, D, 0.0).astype(jnp.float32)
    return jnp.concatenate([Df, Dz * Dz, Dz], axis=1)


def distances(q: jax.Array, qo: jax.Array, terms: jax.Array) -> jax.Array:
    """Squared NaN-aware Euclidean distances (b, m) from query rows ``q`` (observed where ``qo``) to the
    donors of ``terms`` (:func:`donor_terms`): the squared differences and the count of coordinates in
    common come out of two matrix products (3d and d wide); pairs with none in common are infinitely far."""
    d = q.shape[1]
    qf, qz = qo.astype(jnp.float32), jnp.where(qo, q, 0.0).astype(jnp.float32)
    sq = jnp.concatenate([qz * qz, qf, -2.0 * qz], axis=1) @ terms.T
    common = qf @ terms[:, :d].T
    scaled = jnp.maximum(sq, 0.0) * (d / jnp.maximum(common, 1.0))
    return jnp.where(common > 0, scaled, jnp.inf)


def nan_euclidean(q: jax.Array, qo: jax.Array, D: jax.Array, Do: jax.Array) -> jax.Array:
    """Squared NaN-aware Euclidean distances (b, n) between query rows ``q`` and donors ``D``.

    ``qo`` and ``Do`` mark the observed entries (values at missing entries are ignored); pairs with
    no coordinate in common are infinitely far.
    """
    return distances(q, qo, donor_terms(D, Do))


GROUP = 16
"""Donors per group of :func:`nearest`'s first stage. On letter (20,000 donors) the search took about a third
of the time of one ``top_k`` over every donor at 16 or 32, more at 8 or 64 (2-core CPU)."""


def nearest(dist: jax.Array, pool: int) -> tuple[jax.Array, jax.Array]:
    """The ``pool`` smallest entries of each row of ``dist`` (b, m), nearest first: (their distances,
    their column indices); the same set as one ``lax.top_k`` over each row, up to ties, at a fraction of
    its cost.

    The donors are cut into groups of :data:`GROUP`; a group holding one of the ``pool`` nearest has its
    minimum among the ``pool`` smallest group minima (at most ``pool`` groups have a minimum that
    small), so the search runs over the ``pool`` groups with the smallest minima only.
    """
    b, m = dist.shape
    groups = -(-m // GROUP)
    grouped = jnp.pad(dist, ((0, 0), (0, groups * GROUP - m)), constant_values=jnp.inf).reshape(b, groups, GROUP)
    _, chosen = jax.lax.top_k(-grouped.min(axis=2), min(pool, groups))
    chosen = jnp.sort(chosen, axis=1)  # candidates in donor order, so ties break towards the first donor
    candidates = jnp.take_along_axis(grouped, chosen[:, :, None], axis=1).reshape(b, -1)
    index = (chosen[:, :, None] * GROUP + jnp.arange(GROUP)).reshape(b, -1)
    neg, j = jax.lax.top_k(-candidates, pool)
    return -neg, jnp.minimum(jnp.take_along_axis(index, j, axis=1), m - 1)


_chunk_distances = jax.jit(distances)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _fill_from(n_neighbors: int, pool: int, donors, donor_obs, mean, dist):
    """A chunk's fill from its distances to the donors: per column, the mean over the nearest donors of the
    pool that observe it."""
    near, idx = nearest(dist, pool)                           # (b, pool), nearest first
    reachable = jnp.isfinite(near)[:, :, None]                # some coordinate in common (padding never is)
    vals = donors[idx]                                        # (b, pool, d)
    usable = donor_obs[idx] & reachable
    rank = jnp.cumsum(usable, axis=1)
    chosen = usable & (rank <= n_neighbors)
    count = chosen.sum(axis=1)
    total = jnp.where(chosen, vals, 0.0).sum(axis=1)
    return jnp.where(count > 0, total / jnp.maximum(count, 1), mean[None, :])


def _fill_chunk(n_neighbors: int, pool: int, donors, donor_obs, terms, mean, q, qo):
    """One chunk's fill, as two compiled programs: the distances, then the search and the means. In one
    program XLA fuses the distances into the search, which on a 2-core CPU made a pass over letter two
    to three times slower, depending on the chunk size."""
    return _fill_from(n_neighbors, pool, donors, donor_obs, mean, _chunk_distances(q, qo, terms))


def knn_fill(donors: np.ndarray, donor_obs: np.ndarray, X: np.ndarray, observed: np.ndarray,
             n_neighbors: int = 5, pool: int = 32, mean: np.ndarray | None = None) -> np.ndarray:
    """Every row of ``X`` (n, d) filled from its nearest ``donors`` (m, d); observed entries kept.

    ``mean`` (d,) fills an entry no donor of the pool observes (default: the donors' observed means).
    """
    if mean is None:
        count = np.maximum(donor_obs.sum(0), 1)
        mean = np.where(donor_obs, donors, 0.0).sum(0) / count
    pool = int(min(max(pool, n_neighbors), donors.shape[0]))
    donors, donor_obs = to_device(donors, np.float32), to_device(donor_obs, bool)
    program = functools.partial(_fill_chunk, int(n_neighbors), pool, donors, donor_obs,
                                donor_terms(donors, donor_obs), to_device(mean, np.float32))
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


__all__ = ["KNN_DONORS", "KNN_WORK", "knn_donors", "NearestNeighbours", "knn_fill", "nearest", "nan_euclidean", "donor_terms", "distances"]
