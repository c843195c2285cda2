"""Tests of the baseline imputation backends: MeanMode, KNN, Iterative, SoftImpute, GAIN, MIWAE, BoostedTrees.

Every backend is checked against the protocol (shape, dtype, no NaN, observed entries unchanged,
bounded columns in [0, 1], caller's arrays untouched, missing-entry fill ignored, same key -> same
output, new rows at impute time) and for accuracy: on a correlated low-rank table with 20% MCAR each
method except MeanMode itself must beat mean imputation's RMSE on the removed entries. Iteration
counts are small so the file runs in well under a minute on two CPU cores.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

import jax
import numpy as np
import pytest

from invimpute.peers.baselines import KNN, Iterative, MeanMode, SoftImpute
from invimpute.peers.boosting import BoostedTrees
from invimpute.peers.gain import GAIN
from invimpute.encoding.layout import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout
from invimpute.peers.miwae import MIWAE
from invimpute.peers.neighbours import NearestNeighbours, knn_fill

HAVE_SKLEARN = importlib.util.find_spec("sklearn") is not None

pytestmark = pytest.mark.filterwarnings("ignore:.*Early stopping criterion not reached")

METHODS: dict[str, Callable[[], object]] = {
    "mean_mode": MeanMode,
    "soft_impute": SoftImpute,
    "gain": lambda: GAIN(iterations=1500, chunk_size=500),
    "miwae": lambda: MIWAE(epochs=40, n_samples=50),
    "nearest_neighbours": NearestNeighbours,
    "boosted": lambda: BoostedTrees(rounds=20, depth=4, chain=2),
}
"""Small configurations (the trees: fewer, shallower, two passes). GAIN needs about 1000 steps to beat the mean here (300 do not, on some seeds);
the steps are cheap, compilation is what costs. The scikit-learn methods join when it is installed."""
if HAVE_SKLEARN:
    METHODS |= {
        "knn": lambda: KNN(n_neighbors=5),
        "iterative_bayesian_ridge": lambda: Iterative("bayesian_ridge", max_iter=5),
        "iterative_extra_trees": lambda: Iterative("extra_trees", max_iter=3, n_estimators=10),
    }

N_ROWS, N_COLS, N_FIT = 600, 8, 500
"""Every test fits on N_FIT rows of N_COLS columns and imputes all N_ROWS rows (the last ones unseen),
so the jit-compiled GAIN and MIWAE functions compile once for the whole file."""


def _low_rank_table(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rank-2-plus-noise table min-max scaled into [0, 1], its MCAR observed mask and the masked X."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N_ROWS, 2))
    full = z @ rng.normal(size=(2, N_COLS)) + 0.1 * rng.normal(size=(N_ROWS, N_COLS))
    full = (full - full.min(0)) / (full.max(0) - full.min(0))
    observed = rng.random(full.shape) >= 0.2
    X = np.where(observed, full, np.nan).astype(np.float32)
    return full.astype(np.float32), observed, X


def _fit(name: str, X: np.ndarray, observed: np.ndarray, layout: Layout, seed: int = 0) -> tuple[object, jax.Array]:
    """The method fitted on the first N_FIT rows, and a key for impute."""
    k_fit, k_imp = jax.random.split(jax.random.key(seed))
    return METHODS[name]().fit(X[:N_FIT], observed[:N_FIT], layout, k_fit), k_imp


def _fit_impute(name: str, X: np.ndarray, observed: np.ndarray, layout: Layout, seed: int = 0) -> np.ndarray:
    method, k_imp = _fit(name, X, observed, layout, seed)
    return method.impute(X, observed, k_imp)


def _rmse(out: np.ndarray, full: np.ndarray, observed: np.ndarray) -> float:
    return float(np.sqrt(np.mean((out[~observed] - full[~observed]) ** 2)))


@pytest.fixture(scope="module")
def table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _low_rank_table()


@pytest.fixture(scope="module")
def imputed(table: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """Each method fitted once on the first N_FIT rows and applied to all rows (shared by several tests)."""
    _, observed, X = table
    return {name: _fit_impute(name, X, observed, Layout.uniform(N_COLS)) for name in METHODS}


def _check_contract(out: np.ndarray, X: np.ndarray, observed: np.ndarray, layout: Layout) -> None:
    assert out.shape == X.shape
    assert np.issubdtype(out.dtype, np.floating)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[observed], X[observed])
    bounded = np.isin(layout.kind_array, (UNIT, BINARY, CATEGORICAL))
    assert (out[:, bounded] >= 0.0).all() and (out[:, bounded] <= 1.0).all()


@pytest.mark.parametrize("name", METHODS)
def test_output_contract_on_fit_and_new_rows(name: str, table, imputed) -> None:
    _, observed, X = table
    out = imputed[name]
    _check_contract(out, X, observed, Layout.uniform(N_COLS))
    assert not np.allclose(out[N_FIT:][~observed[N_FIT:]], 0.0)


@pytest.mark.parametrize("name", METHODS)
def test_same_key_same_output_and_inputs_untouched(name: str, table, imputed) -> None:
    _, observed, X = table
    X_before, observed_before = X.copy(), observed.copy()
    again = _fit_impute(name, X, observed, Layout.uniform(N_COLS))
    np.testing.assert_array_equal(again, imputed[name])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(observed, observed_before)


@pytest.mark.parametrize("name", METHODS)
def test_missing_fill_value_is_ignored(name: str, table, imputed) -> None:
    _, observed, X = table
    method, k_imp = _fit(name, np.where(observed, X, np.float32(-7.0)), observed, Layout.uniform(N_COLS))
    out = method.impute(np.where(observed, X, np.float32(123.0)), observed, k_imp)
    np.testing.assert_allclose(out, imputed[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [n for n in METHODS if n != "mean_mode"])
def test_beats_mean_imputation(name: str, table, imputed) -> None:
    """MeanMode is the reference here, so it is the one method not asked to beat itself."""
    full, observed, _ = table
    mean_rmse = _rmse(imputed["mean_mode"], full, observed)
    assert _rmse(imputed[name], full, observed) < 0.9 * mean_rmse
    new = slice(N_FIT, None)
    assert _rmse(imputed[name][new], full[new], observed[new]) < _rmse(imputed["mean_mode"][new], full[new], observed[new])


def test_mean_mode_values_and_categorical_mode() -> None:
    rng = np.random.default_rng(0)
    n = 200
    category = rng.choice(3, size=n, p=[0.2, 0.5, 0.3])
    X = np.concatenate([rng.random((n, 1)), np.eye(3)[category]], axis=1).astype(np.float32)
    observed = rng.random((n, 2)) >= 0.3
    observed = np.concatenate([observed[:, :1], np.repeat(observed[:, 1:], 3, axis=1)], axis=1)
    layout = Layout(kind=(UNIT, CATEGORICAL, CATEGORICAL, CATEGORICAL), group=(0, 1, 1, 1))
    out = MeanMode().fit(X, observed, layout, jax.random.key(0)).impute(X, observed, jax.random.key(1))
    missing_rows = ~observed[:, 1]
    assert missing_rows.any()
    counts = np.bincount(category[observed[:, 1]], minlength=3)
    np.testing.assert_allclose(out[missing_rows, 1:], np.tile(counts / counts.sum(), (missing_rows.sum(), 1)), rtol=1e-6)
    assert (out[missing_rows, 1:].argmax(axis=1) == np.bincount(category[observed[:, 1]]).argmax()).all()
    np.testing.assert_allclose(out[~observed[:, 0], 0], X[observed[:, 0], 0].mean(), rtol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_mixed_layout_with_an_empty_column(name: str) -> None:
    """Numeric, unit, binary and categorical columns; a column never observed in fit gets the fallback 0."""
    rng = np.random.default_rng(3)
    X = np.concatenate(
        [
            rng.normal(size=(N_ROWS, 1)) * 5.0,
            rng.random((N_ROWS, 2)),
            rng.integers(0, 2, (N_ROWS, 1)),
            np.eye(3)[rng.integers(0, 3, N_ROWS)],
            rng.random((N_ROWS, 1)),
        ],
        axis=1,
    ).astype(np.float32)
    kind = (NUMERIC, UNIT, UNIT, BINARY) + (CATEGORICAL,) * 3 + (UNIT,)
    layout = Layout(kind=kind, group=(0, 1, 2, 3, 4, 4, 4, 5))
    per_group = rng.random((N_ROWS, 6)) >= 0.25
    per_group[:N_FIT, 5] = False
    observed = per_group[:, layout.group_array]
    method, k_imp = _fit(name, X, observed, layout)
    out = method.impute(X, observed, k_imp)
    _check_contract(out, X, observed, layout)
    np.testing.assert_array_equal(out[~observed[:, 7], 7], 0.0)


def test_soft_impute_stacking_copy_of_fit_rows_gives_fit_result(table) -> None:
    _, observed, X = table
    method = SoftImpute().fit(X, observed, Layout.uniform(N_COLS), jax.random.key(0))
    assert 1 <= method.n_iter_ <= method.max_iters and method.shrinkage_ > 0
    X_fit = np.where(observed, X, 0.0).astype(np.float32)
    stacked, _, _ = method._complete(np.concatenate([X_fit, X_fit]), np.concatenate([observed, observed]))
    np.testing.assert_allclose(stacked[N_ROWS:], method.completed_, atol=1e-4)
    np.testing.assert_array_equal(method.impute(X, observed, jax.random.key(1))[~observed], method.completed_[~observed])


def test_soft_impute_one_step_is_a_thresholded_truncated_svd(table) -> None:
    """After one iteration the missing entries are S_lambda of the centred mean-filled matrix, rank-capped."""
    _, observed, X = table
    method = SoftImpute(shrinkage=0.5, max_rank=2, max_iters=1).fit(X, observed, Layout.uniform(N_COLS), jax.random.key(0))
    assert method.n_iter_ == 1
    start = np.where(observed, X - method.mean_, 0.0)
    U, s, Vt = np.linalg.svd(start, full_matrices=False)
    s = np.maximum(s - 0.5, 0.0)
    s[2:] = 0.0
    expected = (U * s) @ Vt + method.mean_
    np.testing.assert_allclose(method.completed_[~observed], expected[~observed], atol=1e-4)


@pytest.mark.skipif(not HAVE_SKLEARN, reason="needs scikit-learn")
def test_unknown_iterative_estimator_raises(table) -> None:
    _, observed, X = table
    with pytest.raises(ValueError, match="unknown estimator"):
        Iterative("svm").fit(X, observed, Layout.uniform(N_COLS), jax.random.key(0))


@pytest.mark.parametrize("factory", [KNN, Iterative], ids=["knn", "iterative"])
def test_missing_sklearn_raises_helpful_import_error(factory, table, monkeypatch) -> None:
    _, observed, X = table
    for module in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    method = factory()
    with pytest.raises(ImportError, match=r"pip install 'invimpute\[baselines\]'"):
        method.fit(X, observed, Layout.uniform(N_COLS), jax.random.key(0))


@pytest.mark.skipif(not HAVE_SKLEARN, reason="the reference is scikit-learn's KNNImputer")
@pytest.mark.parametrize("weights_rows", [(0.2, 80), (0.5, 60)])
def test_compiled_knn_equals_sklearn_when_the_pool_holds_every_donor(weights_rows) -> None:
    """With the pool as large as the donor set the search is exact: scikit-learn's fill, to float precision
    (continuous data, so no ties in distance)."""
    from sklearn.impute import KNNImputer

    rate, n = weights_rows
    rng = np.random.default_rng(3)
    X = rng.random((n, 6)).astype(np.float32)
    observed = rng.random(X.shape) >= rate
    observed[np.arange(n), rng.integers(0, 6, n)] = True  # every row observes something
    ours = knn_fill(X, observed, X, observed, n_neighbors=3, pool=n)
    ref = KNNImputer(n_neighbors=3).fit_transform(np.where(observed, X, np.nan)).astype(np.float32)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


@pytest.mark.parametrize("m, pool", [(1000, 32), (1001, 32), (37, 32), (300, 5), (16, 16)])
def test_two_stage_search_finds_the_nearest_donors(m, pool) -> None:
    """``nearest`` returns the ``pool`` smallest distances of each row in order, as one ``top_k`` over every
    donor does, with a donor count that is or is not a whole number of groups, unreachable (infinite)
    donors, and many ties (distances on a coarse grid)."""
    import jax.numpy as jnp

    from invimpute.peers.neighbours import nearest

    rng = np.random.default_rng(m)
    dist = np.round(rng.random((40, m)) * 20).astype(np.float32)
    dist[rng.random(dist.shape) < 0.1] = np.inf
    near, idx = nearest(jnp.asarray(dist), pool)
    ref, _ = jax.lax.top_k(-jnp.asarray(dist), pool)
    np.testing.assert_array_equal(np.asarray(near), -np.asarray(ref))
    np.testing.assert_array_equal(np.take_along_axis(dist, np.asarray(idx), axis=1), np.asarray(near))
    assert all(len(set(row)) == pool for row in np.asarray(idx)[np.isfinite(np.asarray(near)).all(axis=1)])


def test_compiled_knn_max_donors_and_errors(table) -> None:
    _, observed, X = table
    layout = Layout.uniform(N_COLS)
    method = NearestNeighbours(max_donors=100).fit(X[:N_FIT], observed[:N_FIT], layout, jax.random.key(0))
    assert method.donors_.shape == (100, N_COLS)
    again = NearestNeighbours(max_donors=100).fit(X[:N_FIT], observed[:N_FIT], layout, jax.random.key(0))
    np.testing.assert_array_equal(method.donors_, again.donors_)
    with pytest.raises(ValueError, match="n_neighbors"):
        NearestNeighbours(n_neighbors=0).fit(X, observed, layout, jax.random.key(0))


def test_gaussian_em_fill_is_the_conditional_mean_of_its_fitted_normal() -> None:
    """On a complete fit table EM returns the sample moments (plus its ridge); the fill of a damaged row is
    then ``mu_m + S_mo S_oo^-1 (x_o - mu_o)``, computed here independently with NumPy."""
    from invimpute.peers.gaussian import GaussianEM, missing_block

    rng = np.random.default_rng(4)
    A = rng.normal(size=(5, 5))
    X = (rng.normal(size=(400, 5)) @ A).astype(np.float32)
    g = GaussianEM(rounds=3).fit(X, np.ones_like(X, bool), Layout(kind=(0,) * 5, group=tuple(range(5))), jax.random.key(0))
    np.testing.assert_allclose(g.mu_, X.mean(0), atol=1e-4)
    Q = rng.normal(size=(6, 5)).astype(np.float32)
    obs = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 0],
                    [0, 1, 0, 1, 0]], bool)
    out = g.impute(Q, obs, jax.random.key(0))
    mu, S = g.mu_.astype(np.float64), g.cov_.astype(np.float64)
    for x, o, got in zip(Q, obs, out):
        m = ~o
        want = x.astype(np.float64).copy()
        if m.any():
            want[m] = mu[m] + (S[np.ix_(m, o)] @ np.linalg.solve(S[np.ix_(o, o)], x[o] - mu[o]) if o.any() else 0.0)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert missing_block(obs) == 5 and missing_block(np.ones((3, 4), bool)) == 0  # capped at the width
    assert missing_block(np.array([[0, 0, 0, 1, 1, 1, 1, 1]], bool)) == 4           # 3 missing: a block of 4


def test_gaussian_chunks_solved_with_smaller_blocks_give_the_full_block_solution(monkeypatch) -> None:
    """Rows are taken in order of how many entries they miss and each chunk is solved with the smallest
    block that holds its rows: the fills and the summed conditional covariances equal those of every row
    solved with the full block, and come back in the rows' own order."""
    import jax.numpy as jnp

    from invimpute.peers import gaussian

    rng = np.random.default_rng(5)
    d, n = 16, 90
    A = rng.normal(size=(d, d))
    S = jnp.asarray(A @ A.T / d + np.eye(d), jnp.float32)
    X = jnp.asarray(rng.normal(size=(n, d)), jnp.float32)
    counts = rng.choice([0, 1, 3, 7, 12, 16], size=n)  # every block of the ladder (4, 8, 16) is needed
    observed = jnp.asarray(np.argsort(rng.random((n, d)), axis=1) >= counts[:, None])
    mu = jnp.zeros(d)
    monkeypatch.setattr(gaussian, "CHUNK_ROWS", 8)
    assert gaussian.block_ladder(16) == (4, 8, 16)
    means, cov = gaussian._fill_rows(X, observed, mu, S, 16)
    monkeypatch.setattr(gaussian, "LADDER", 1)  # one block for every chunk: the full one
    want_means, want_cov = gaussian._fill_rows(X, observed, mu, S, 16)
    np.testing.assert_allclose(means, want_means, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cov, want_cov, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(means)[np.asarray(observed)], np.asarray(X)[np.asarray(observed)])
