"""A multivariate-normal model of the encoded table fitted by EM, and its conditional-mean fill (JAX).

The linear peer of :class:`~invimpute.methods.auto.Auto`: it captures what chained linear regressions
(scikit-learn's ``IterativeImputer`` with ``BayesianRidge``) capture, in one compiled program. Each EM
round fills every row's missing entries with their conditional mean given its observed entries,
``mu_m - inv(P_mm) P_mo (x_o - mu_o)`` with ``P`` the precision matrix, adds the conditional covariance
``inv(P_mm)`` to the second moments, and re-estimates ``mu`` and ``S`` (with a small ridge on the
diagonal, so the conditioning stays stable on collinear or one-hot columns). Each row's solve is over its
missing block only, padded to a block size, ``vmap``ped over rows inside a ``lax.scan`` over rounds (and
over chunks of :data:`CHUNK_ROWS` rows inside each round, so memory stays ``CHUNK_ROWS x k x k`` whatever
the number of rows), so rows with any pattern of missing entries cost the same and nothing is looped over
in Python. The rows are taken in order of how many entries they miss, and each chunk is solved with the
smallest block of a short ladder (:func:`block_ladder`) that holds its rows: most rows miss far fewer
entries than the one that misses most, and a solve costs about the cube of its block.

Bounded cost: the block ``k`` is at most the modelled width, and the model covers only the numeric and
boolean columns and the categorical groups of at most :data:`MAX_LEVELS` entries, narrowest first, up to
:data:`MAX_WIDTH` encoded entries in all (:func:`modelled_columns`). A wider group (a zip code, a date read
as text) has no Gaussian fill: :attr:`GaussianEM.covers_` says which entries the model fills, and the rest
get the observed mean (mode frequencies) and no Gaussian candidate in ``auto``. Without the cap a row
missing a 1,400-level category solved a 1,400 x 1,400 block per row (137 GB on a 2,000-row table).
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

RIDGE = 1e-3
"""Added to the covariance diagonal, relative to each column's variance."""
MAX_LEVELS = 32
"""Widest categorical group (in encoded entries) the model covers."""
MAX_WIDTH = 256
"""Most encoded entries the model covers (so the widest block any row solves): every numeric column of the
benchmark tables (the widest, news, has 58), and their categorical groups."""
CHUNK_ROWS = 512
"""Rows whose blocks are solved at once inside an EM round."""
SMALLEST_BLOCK, LADDER = 4, 3
"""The smallest block a chunk of rows is solved with, and the most block sizes a solve compiles
(:func:`block_ladder`: each is one more branch to compile)."""


def modelled_columns(layout: Layout, max_levels: int = MAX_LEVELS, max_width: int = MAX_WIDTH) -> np.ndarray:
    """Boolean (d,): the encoded entries the Gaussian model covers: groups of at most ``max_levels``
    entries, narrowest first (ties in column order), while their total stays within ``max_width``."""
    group = layout.group_array
    sizes = np.bincount(group, minlength=layout.n_groups)
    keep, total = np.zeros(layout.n_groups, bool), 0
    for g in np.argsort(sizes, kind="stable"):
        if sizes[g] > max_levels or total + sizes[g] > max_width:
            break
        keep[g], total = True, total + int(sizes[g])
    return keep[group]


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


def block_ladder(k: int) -> tuple[int, ...]:
    """The block sizes a chunk of rows may be solved with when no row misses more than ``k`` entries:
    ``k`` and its halves, at most :data:`LADDER` sizes and none below :data:`SMALLEST_BLOCK` (a chunk takes
    the smallest that holds its rows)."""
    sizes = [k]
    while len(sizes) < LADDER and sizes[-1] // 2 >= SMALLEST_BLOCK:
        sizes.append(sizes[-1] // 2)
    return tuple(sorted(sizes))


def _fill_rows(X, observed, mu, S, k, weight=None):
    """Every row's conditional mean, and the (``weight``-weighted) sum over rows of the missing blocks'
    conditional covariances, :data:`CHUNK_ROWS` rows at a time (padding rows are fully observed, so they
    add nothing).

    The rows are taken in order of how many entries they miss, and each chunk is solved with the smallest
    block of :func:`block_ladder` that holds its rows (a ``lax.switch``, so shapes and the compiled
    program do not depend on the mask): a solve costs about the cube of its block, and most rows miss far
    fewer entries than the row that misses most (on spam at 20% MCAR: 11 at the median, 22 at most, so
    most chunks solve blocks of 16 instead of 32). Rows that fit one chunk are solved with the full block
    as they come: the chunk holds the row that misses most, and the ladder's branches would only cost
    compilation."""
    n, d = X.shape
    if k == 0:
        return X, jnp.zeros((d, d))
    weight = jnp.ones(n) if weight is None else weight
    P = jnp.linalg.inv(S)
    ladder = block_ladder(k) if n > CHUNK_ROWS else (k,)  # one chunk holds the row that misses most anyway
    order = jnp.argsort((~observed).sum(axis=1), stable=True) if len(ladder) > 1 else None
    if order is not None:
        X, observed, weight = X[order], observed[order], weight[order]
    chunk = min(CHUNK_ROWS, n)
    pad = (-n) % chunk
    Xc = jnp.pad(X, ((0, pad), (0, 0))).reshape(-1, chunk, d)
    Oc = jnp.pad(observed, ((0, pad), (0, 0)), constant_values=True).reshape(-1, chunk, d)
    Wc = jnp.pad(weight, (0, pad)).reshape(-1, chunk)

    def solve(block):
        def run(cov, x, o, w):
            means, blocks, idx = jax.vmap(_conditional, in_axes=(0, 0, None, None, None))(x, o, mu, P, block)
            return cov.at[idx[:, :, None], idx[:, None, :]].add(blocks * w[:, None, None]), means
        return run

    def one_chunk(cov, rows):  # a ladder of one block is one branch, which lax.switch inlines
        x, o, w = rows
        branch = jnp.searchsorted(jnp.asarray(ladder), (~o).sum(axis=1).max())
        return jax.lax.switch(branch, [solve(b) for b in ladder], cov, x, o, w)

    cov, means = jax.lax.scan(one_chunk, jnp.zeros((d, d)), (Xc, Oc, Wc))
    means = means.reshape(-1, d)[:n]
    return (means if order is None else jnp.zeros((n, d), means.dtype).at[order].set(means)), cov


def _em_weighted(X: jax.Array, observed: jax.Array, weight: jax.Array, rounds, k: int, warm=False, mu0=None,
                 S0=None):
    """``rounds`` EM steps with each row counted ``weight`` times (a bootstrap resample when the weights are
    resampling counts or Dirichlet draws), from (``mu0``, ``S0``) where ``warm``, else from the weighted
    observed means and variances: (mu, S). ``rounds`` and ``warm`` may be traced, so a fit and a warm refit
    share one compiled program."""
    w = weight / jnp.mean(weight)
    wo = observed * w[:, None]
    count = jnp.maximum(wo.sum(0), 1.0)
    mu = jnp.where(observed, X, 0.0).T @ w / count
    var = (jnp.where(observed, (X - mu) ** 2, 0.0) * wo).sum(0) / count
    floor = RIDGE * jnp.maximum(var, 1e-6)
    S = jnp.diag(var + floor)
    start = (mu, S) if mu0 is None else (jnp.where(warm, mu0, mu), jnp.where(warm, S0, S))
    total = w.sum()

    def step(_, carry):
        mu, S = carry
        means, cov = _fill_rows(X, observed, mu, S, k, w)
        mu_new = means.T @ w / total
        centred = means - mu_new
        S_new = ((centred * w[:, None]).T @ centred + cov) / total + jnp.diag(floor)
        return mu_new, S_new

    return jax.lax.fori_loop(0, rounds, step, start)


def _run_em(X: np.ndarray, observed: np.ndarray, rounds: int, start=None) -> tuple[np.ndarray, np.ndarray]:
    d = X.shape[1]
    mu0, S0 = start if start is not None else (np.zeros(d, np.float32), np.zeros((d, d), np.float32))
    mu, S = _em(to_device(X, np.float32), to_device(observed), np.int32(rounds), missing_block(observed),
                np.bool_(start is not None), to_device(mu0, np.float32), to_device(S0, np.float32))
    return np.asarray(mu), np.asarray(S)


@functools.partial(jax.jit, static_argnums=(3,))
def _em(X: jax.Array, observed: jax.Array, rounds: jax.Array, k: int, warm: jax.Array, mu0: jax.Array,
        S0: jax.Array):
    """``rounds`` EM steps (a traced count, so a fit and a warm refit share one compiled program) from
    (``mu0``, ``S0``) where ``warm``, else from the observed means and variances: the fitted (mu, S)."""
    return _em_weighted(X, observed, jnp.ones(X.shape[0], X.dtype), rounds, k, warm, mu0, S0)


@functools.partial(jax.jit, static_argnums=(2,))
def _fill(mu: jax.Array, S: jax.Array, k: int, X: jax.Array, observed: jax.Array) -> jax.Array:
    return _fill_rows(X, observed, mu, S, k)[0]


@functools.partial(jax.jit, static_argnums=(2,))
def _variance(mu: jax.Array, S: jax.Array, k: int, X: jax.Array, observed: jax.Array) -> jax.Array:
    """Each row's conditional variance of every entry given its observed ones (0 where observed)."""
    P = jnp.linalg.inv(S)

    def row(x, o):
        _, block, idx = _conditional(x, o, mu, P, k)
        return jnp.zeros(x.shape[0]).at[idx].add(jnp.diagonal(block))

    return jax.vmap(row)(X, observed)


def _joint_row(x, o, z, mu, P, k):
    """One row's missing block drawn from its conditional normal given the observed entries: the
    conditional mean plus ``L z``, ``L`` the Cholesky factor of the conditional covariance (padding
    slots get no noise)."""
    mean, block, idx = _conditional(x, o, mu, P, k)
    slot = ~o[idx]
    chol = jnp.linalg.cholesky(jnp.where(slot[:, None] & slot[None, :], block, jnp.eye(k)))
    noise = jnp.where(slot, chol @ z, 0.0)
    return mean.at[idx].add(noise), mean


@functools.partial(jax.jit, static_argnums=(3, 4))
def _bootstrap_models(X: jax.Array, observed: jax.Array, weights: jax.Array, rounds: int, k: int, mu0: jax.Array,
                      S0: jax.Array):
    """One EM fit per row-weight vector of ``weights`` (M, n), each resumed from the fitted (``mu0``,
    ``S0``): the M models' (mu (M, d), S (M, d, d)); ``lax.map`` over M keeps memory at one fit's. A
    reweighting moves the fixed point by about one standard error, so EM converges to each refit's own
    estimate in a few rounds; from the diagonal start it would stop short of it, every refit shrunk
    alike towards independence (attenuated relations, too little spread between draws)."""
    return jax.lax.map(lambda w: _em_weighted(X, observed, w, rounds, k, True, mu0, S0), weights)


@functools.partial(jax.jit, static_argnums=(0,))
def _draw_chunk(k: int, mu: jax.Array, S: jax.Array, X: jax.Array, observed: jax.Array, keys: jax.Array):
    """A chunk of rows drawn under each of M models: the draws and the models' conditional means,
    both (rows, M, d); ``keys`` (rows, M) give each row and model its own noise."""
    P = jnp.linalg.inv(S)

    def per_model(m, Pm, key_col):
        z = jax.vmap(lambda kk: jax.random.normal(kk, (k,)))(key_col)
        return jax.vmap(_joint_row, in_axes=(0, 0, 0, None, None, None))(X, observed, z, m, Pm, k)

    draws, means = jax.vmap(per_model, in_axes=(0, 0, 1))(mu, P, keys)
    return jnp.swapaxes(draws, 0, 1), jnp.swapaxes(means, 0, 1)


def missing_block(observed: np.ndarray) -> int:
    """The size of the padded missing block: the most entries any row misses, rounded up to a power of
    two (so tables of similar missingness share one compiled program)."""
    most = int((~np.asarray(observed, bool)).sum(axis=1).max(initial=0))
    return 0 if most == 0 else min(observed.shape[1], 1 << (most - 1).bit_length())


class GaussianEM(Fitted):
    """Conditional means under a multivariate normal fitted to the encoded table by ``rounds`` EM steps.

    The model covers the entries :func:`modelled_columns` picks (``max_levels``, ``max_width``);
    :attr:`covers_` marks them, and the other entries are filled with their observed mean. With
    ``max_rows``, EM runs on a seeded sample of that many rows of a longer table (a mean and covariance
    are estimated well from a few thousand rows; every row is still filled at imputation).
    """

    def __init__(self, rounds: int = 10, chunk_rows: int = 4096, max_levels: int = MAX_LEVELS,
                 max_width: int = MAX_WIDTH, max_rows: int | None = None) -> None:
        self.rounds = rounds
        self.max_rows = max_rows
        self.chunk_rows = chunk_rows
        self.max_levels = max_levels
        self.max_width = max_width

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "GaussianEM":
        """Fit the mean and covariance of the covered entries by EM on their observed values."""
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, (int, np.integer)) or self.rounds < 1:
            raise ValueError(f"GaussianEM.rounds must be an integer >= 1, got {self.rounds!r}")
        X, observed = self._start_fit(X, observed, layout)
        self.covers_ = modelled_columns(layout, self.max_levels, self.max_width)
        X, observed = self._rows(X[:, self.covers_], observed[:, self.covers_], key)
        if X.shape[1] == 0:  # nothing to model: every entry takes its observed mean
            self.mu_, self.cov_ = np.zeros(0, np.float32), np.zeros((0, 0), np.float32)
            return self
        self.mu_, self.cov_ = _run_em(X, observed, int(self.rounds))
        return self

    def _rows(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
        """The rows EM sees: all of them, or a seeded sample of ``max_rows`` (drawn from ``key``)."""
        if self.max_rows is None or X.shape[0] <= self.max_rows:
            return X, observed
        rows = np.sort(np.asarray(jax.random.choice(key, X.shape[0], (int(self.max_rows),), replace=False)))
        return X[rows], observed[rows]

    def warm_refit(self, X: np.ndarray, observed: np.ndarray, rounds: int,
                   key: jax.Array | None = None) -> "GaussianEM":
        """Refit on ``X`` (more observed cells than at fit, same layout) by ``rounds`` EM steps from the
        fitted mean and covariance: EM resumes near its fixed point instead of starting from the
        diagonal model, so a few rounds do what :attr:`rounds` did from scratch. ``key`` draws the row
        sample when ``max_rows`` is set."""
        self._check_fitted()
        X, observed = self._start_fit(X, observed, self.layout_)
        key = jax.random.key(0) if key is None else key
        X, observed = self._rows(X[:, self.covers_], observed[:, self.covers_], key)
        if X.shape[1] == 0:
            return self
        self.mu_, self.cov_ = _run_em(X, observed, int(rounds), (self.mu_, self.cov_))
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Each row's missing covered entries: their conditional mean given the row's observed covered
        entries; the other missing entries: their observed mean."""
        X, observed = self._start_impute(X, observed)
        out = np.where(observed, X, self.mean_[None, :])
        cover = self.covers_
        if cover.any():
            sub_obs = observed[:, cover]
            program = functools.partial(_fill, to_device(self.mu_), to_device(self.cov_), missing_block(sub_obs))
            out[:, cover] = np.asarray(map_rows(program, (X[:, cover], sub_obs), self.chunk_rows))
        return finish(X, observed, out, self.layout_, self.empty_)

    def conditional_variance(self, X: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """(n, covered entries) each missing covered entry's variance given its row's observed covered
        entries under the fitted model (0 where observed): how much a row's observed cells pin it down.

        Args:
          X, observed: (n, d) the encoded rows and their observed mask.

        Returns:
          float64 (n, covered entries).
        """
        self._check_fitted()
        cover = self.covers_
        o = np.asarray(observed, bool)[:, cover]
        if not cover.any() or o.all():
            return np.zeros(o.shape)
        x = np.where(o, np.asarray(X, np.float32)[:, cover], 0.0).astype(np.float32)
        program = functools.partial(_variance, to_device(self.mu_), to_device(self.cov_), missing_block(o))
        return np.asarray(map_rows(program, (x, o), self.chunk_rows), np.float64)

    def posterior_draws(self, fit_x: np.ndarray, fit_observed: np.ndarray, X: np.ndarray, observed: np.ndarray,
                        key: jax.Array, n_draws: int) -> tuple[np.ndarray, np.ndarray]:
        """Joint draws of the covered entries, carrying the model's own uncertainty (an approximate
        Bayesian bootstrap, as Amelia II's EMB does with a resampling bootstrap).

        For each of ``n_draws`` draws the model is refitted by EM (:attr:`rounds` rounds, resumed from the
        fitted model) on the rows of ``fit_x`` weighted by Dirichlet(1, ..., 1) weights (Rubin's Bayesian
        bootstrap), and each row of ``X`` gets its missing
        covered entries drawn together from that model's conditional normal given the row's observed
        covered entries, so entries of a row are correlated as the model says.

        Args:
          fit_x, fit_observed: (m, d) the encoded table the model was fitted on and its observed mask.
          X, observed: (n, d) the rows to draw for.
          key: the PRNG key of the bootstrap weights and the noise.
          n_draws: M.

        Returns:
          ``(draws, means)``, both (M, n, covered entries): the draws, and each refitted model's
          conditional means (the draws without the cell noise); observed entries hold their values.
        """
        self._check_fitted()
        cover = self.covers_
        fx, fo = (np.asarray(a)[:, cover] for a in (fit_x, fit_observed))
        o = np.asarray(observed, bool)[:, cover]
        x = np.where(o, np.asarray(X, np.float32)[:, cover], 0.0).astype(np.float32)
        if not cover.any() or n_draws < 1 or o.all():
            empty = np.broadcast_to(x, (max(n_draws, 0),) + x.shape).copy()
            return empty, empty.copy()
        k_w, k_z = jax.random.split(key)
        weights = jax.random.dirichlet(k_w, jnp.ones(fx.shape[0]), (n_draws,)) * fx.shape[0]
        mu, S = _bootstrap_models(to_device(np.where(fo, fx, 0.0), np.float32), to_device(fo), weights,
                                  int(self.rounds), missing_block(fo), to_device(self.mu_), to_device(self.cov_))
        program = functools.partial(_draw_chunk, missing_block(o), mu, S)
        draws, means = map_rows(program, (x, o), max(1, CHUNK_ROWS // n_draws), key=k_z, key_shape=(n_draws,))
        draws, means = (np.swapaxes(np.asarray(a), 0, 1) for a in (draws, means))
        return np.where(o, x, draws), np.where(o, x, means)


__all__ = ["GaussianEM", "RIDGE", "MAX_LEVELS", "MAX_WIDTH", "CHUNK_ROWS", "SMALLEST_BLOCK", "LADDER", "block_ladder", "missing_block", "modelled_columns"]
