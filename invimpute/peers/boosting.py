"""Gradient-boosted trees per column, in JAX: a non-linear tabular peer (issue 27).

Each single-column group of the encoded table (a number, a flag, a [0, 1] column) is regressed on the other
encoded columns by boosted *oblivious* trees: every level of a tree splits all its nodes on one
(column, threshold) pair, as CatBoost's trees do, so a tree is a few arrays and a level is one histogram.
Inputs are read as quantile bins of their observed values with a bin of their own for a missing entry, and
each split sends that bin to the side that fits best, so a row's missing inputs need no fill (the native
missing-value handling of LightGBM and scikit-learn's ``HistGradientBoostingRegressor``). Each tree reads a
seeded subset of at most :data:`MAX_FEATURES` input columns, which bounds the cost of wide tables and
decorrelates the trees. With ``chain`` > 1 the column models are fitted again on the table as the previous
pass filled it (the rounds of MissForest), so a column also learns from the others' imputed values.

One compiled program fits a shard of the target columns' trees (a ``lax.map`` over targets of a ``lax.scan``
over boosting rounds, the levels unrolled) on at most :data:`MAX_ROWS` rows (a seeded sample of a longer
table), the shards run at once on a CPU's cores; one more program predicts. Rows, columns and targets are
padded to shape buckets (:func:`bucket`), so tables of similar shape share both programs (and the
persistent compilation cache's copy of them) instead of compiling their own. Categorical groups are not targets (:attr:`BoostedTrees.covers_` is
False there and they get their observed frequencies), but their entries are inputs.
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
from invimpute.runtime.threads import concurrently, workers

BINS = 32
"""Bins per input column: bin 0 holds missing entries, the others quantiles of the observed values."""
DEPTH, ROUNDS, RATE, L2 = 6, 100, 0.1, 1.0
"""The defaults: levels per tree (64 leaves), boosting rounds, shrinkage, and the L2 penalty on leaf values
(the usual settings of gradient boosting: LightGBM's and scikit-learn's 100 rounds at 0.1, 31 leaves)."""
MAX_ROWS = 5_000
"""Rows the trees are fitted on (a seeded sample of a longer table)."""
MAX_FEATURES = 16
"""Input columns each tree reads (a seeded subset where the table has more)."""
CHAIN = 3
"""Passes of the column models (see :class:`BoostedTrees`): the first reads a missing input as its own bin;
each further pass is fitted again on the table as the previous one filled it, reading every entry as a
value, as MissForest's rounds do. Chosen on development tables (2,000-row samples, 30% MCAR, seeds 3 and 4;
``benchmarks/results/boosted_chain_dev.md``): after three passes the RMSE was 12.5% lower on
breast_diagnostic, 7.1% on letter, 2.3% on spam and within 0.7% either way on california, magic and breast."""
SHARD_TARGETS = 3
"""Target columns per shard at least: a table of fewer than twice as many fits its trees in one program."""
CHUNK_ROWS = 4_096
"""Rows per compiled chunk of the prediction."""


def bin_edges(X: np.ndarray, observed: np.ndarray, bins: int = BINS) -> np.ndarray:
    """(d, bins - 2) thresholds per column: quantiles of its observed values (0 where none is observed)."""
    levels = np.linspace(0.0, 1.0, bins)[1:-1]
    seen = observed.any(axis=0)
    values = np.where(observed, X, np.nan)[:, seen]
    edges = np.zeros((X.shape[1], bins - 2), np.float32)
    if values.size:
        edges[seen] = np.nanquantile(values, levels, axis=0).T
    return edges


def to_bins(X: np.ndarray, observed: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(n, d) int32 bin of every entry: 0 where missing, else 1 + its rank among the column's thresholds."""
    out = np.zeros(X.shape, np.int32)
    for j in range(X.shape[1]):
        out[:, j] = 1 + np.searchsorted(edges[j], X[:, j], side="right")
    return np.where(observed, out, 0).astype(np.int32)


def _goes_right(column: jax.Array, threshold: jax.Array, missing_right: jax.Array) -> jax.Array:
    """Which rows a split sends right: values above the threshold bin, and the missing bin if so chosen."""
    return (column > threshold) | ((column == 0) & missing_right)


def _histogram(leaf: jax.Array, bins: jax.Array, gh: jax.Array, leaves: int) -> tuple[jax.Array, jax.Array]:
    """(leaves, features, BINS) sums of the gradients and of the hessians ``gh`` (n, 2) per leaf, input
    column and bin: one scatter of both."""
    n, f = bins.shape
    index = (leaf[:, None] * f + jnp.arange(f)) * BINS + bins
    flat = jnp.zeros((leaves * f * BINS, 2), gh.dtype).at[index.ravel()].add(
        jnp.broadcast_to(gh[:, None, :], (n, f, 2)).reshape(n * f, 2))
    return flat[:, 0].reshape(leaves, f, BINS), flat[:, 1].reshape(leaves, f, BINS)


def _best_split(G: jax.Array, H: jax.Array, allowed: jax.Array):
    """The (missing goes right, column, threshold bin) pair of largest gain, summed over the leaves:
    thresholds between value bins, the missing bin sent left or right. The running sums over the value
    bins are one product with a triangular matrix each (``jnp.cumsum`` lowers to a windowed reduction on
    a CPU, and at the deepest level the split cost a tree more than its histograms)."""
    bins = G.shape[-1]
    upto = jnp.triu(jnp.ones((bins - 1, bins - 2), G.dtype))  # value bins 1..t left of threshold t
    Gv, Hv = G[..., 1:] @ upto, H[..., 1:] @ upto
    Gm, Hm = G[..., :1], H[..., :1]
    Gt, Ht = G.sum(-1, keepdims=True), H.sum(-1, keepdims=True)

    def gain(GL, HL):  # (features, BINS - 2), summed over the leaves
        return (GL ** 2 / (HL + L2) + (Gt - GL) ** 2 / (Ht - HL + L2)).sum(axis=0)

    gains = jnp.stack([gain(Gv + Gm, Hv + Hm), gain(Gv, Hv)])  # missing left, missing right
    gains = jnp.where(allowed[None, :, None], gains, -jnp.inf)
    best = jnp.argmax(gains.ravel())
    per_side = G.shape[1] * (bins - 2)
    return best // per_side == 1, (best % per_side) // (bins - 2), best % (bins - 2) + 1


def bucket(n: int, step: int = 8, fine: int = 3) -> int:
    """``n`` rounded up to a shape bucket: a multiple of ``step`` and of 2 ** (bit length of ``n`` minus
    ``fine``), so padding adds at most 1 / 2 ** ``fine`` and tables of similar size share a program."""
    grain = max(step, 1 << max(0, int(n).bit_length() - fine))
    return -(-int(n) // grain) * grain


def single_columns(layout: Layout) -> np.ndarray:
    """(d,) bool: the encoded columns that are a source column of their own (a number, a flag, a [0, 1]
    column), the ones the trees regress; a categorical group's one-hot entries are only inputs."""
    return np.bincount(layout.group_array)[layout.group_array] == 1


def _pad_to(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` with zeros appended along each axis up to ``shape``."""
    a = np.asarray(a)
    return np.pad(a, [(0, size - n) for n, size in zip(a.shape, shape)])


def _boost_column(shape: tuple[int, int, float, int], bins: jax.Array, n_inputs: jax.Array, y: jax.Array,
                  w: jax.Array, own: jax.Array, subsets: jax.Array):
    """One target column's trees: ``(base, (columns, thresholds, missing_right, values))``, the split
    arrays (rounds, depth) and leaf values (rounds, 2 ** depth) for ``shape`` = (rounds, depth, rate,
    features per tree), each tree reading the input columns ``subsets`` (rounds, features) among the first
    ``n_inputs`` (the rest are padding); squared loss on the rows where ``w``."""
    rounds, depth, rate, _ = shape
    n = bins.shape[0]
    base = (w * y).sum() / jnp.maximum(w.sum(), 1.0)

    def tree(pred, subset):
        sub = bins[:, subset]
        allowed = (subset != own) & (subset < n_inputs)
        g, h = w * (pred - y), w
        gh = jnp.stack([g, h], axis=1)
        leaf = jnp.zeros(n, jnp.int32)
        splits = []
        for level in range(depth):
            right, col, threshold = _best_split(*_histogram(leaf, sub, gh, 2 ** level), allowed)
            leaf = 2 * leaf + _goes_right(sub[:, col], threshold, right).astype(jnp.int32)
            splits.append((subset[col], threshold, right))
        G = jax.ops.segment_sum(g, leaf, 2 ** depth)
        H = jax.ops.segment_sum(h, leaf, 2 ** depth)
        values = -rate * G / (H + L2)
        columns, thresholds, rights = (jnp.stack(a) for a in zip(*splits))
        return pred + values[leaf], (columns, thresholds, rights, values)

    _, trees = jax.lax.scan(tree, jnp.full(n, base), subsets)
    return base, trees


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _subsets(key: jax.Array, targets: int, rounds: int, inputs: int, width: int) -> jax.Array:
    """(targets, rounds, width) input columns of every tree: a seeded subset of the ``inputs`` columns per
    tree where there are more than ``width``, else all of them followed by padding columns."""
    def one(k):
        return jax.random.permutation(k, inputs)[:width] if width < inputs else jnp.arange(width)

    return jax.vmap(lambda k: jax.vmap(one)(jax.random.split(k, rounds)))(jax.random.split(key, targets))


@functools.partial(jax.jit, static_argnums=0)
def _fit_padded(shape, bins, n_inputs, Y, W, own, subsets, rows):
    """The targets one after another in a compiled loop, each on its rows ``rows`` (t, k) of the table:
    those where it is observed first (a row where it is missing adds nothing to its trees, so the scatter
    of every level runs over k rows instead of all of them). On a CPU the batched histogram scatter of a
    ``vmap`` over targets ran a quarter slower (spam's shape: 1.8 s against 1.4 s)."""
    def one(column):
        y, w, o, s, r = column
        return _boost_column(shape, bins[r], n_inputs, y[r], w[r], o, s)

    return jax.lax.map(one, (Y.T, W.T, own, subsets, rows))


def fit_trees(shape: tuple[int, int, float, int], bins: jax.Array, X: jax.Array, weight: jax.Array,
              targets: jax.Array, key: jax.Array):
    """Every target column's trees: ``base`` (t,) and the tree arrays with a leading target axis;
    ``shape`` = (rounds, depth, rate, features per tree), ``targets`` (t,) the encoded columns regressed,
    ``weight`` (n, d) 1 where observed. Each tree's input columns are drawn from ``key`` beforehand. The
    targets are cut into equal shards, one compiled program each, run at once on the CPU's cores
    (:func:`~invimpute.runtime.threads.concurrently`; one shard elsewhere), each target's trees the same
    whatever its shard. Each target is fitted on the rows where it is observed (padded with weightless
    ones). Rows, input columns and shard targets are padded to :func:`bucket` sizes (weightless rows,
    columns no tree may split on, targets with no rows), so tables of similar shape share the program."""
    rounds, depth, rate, features = shape
    bins, X, weight, targets = (np.asarray(a) for a in (bins, X, weight, targets))
    (n, d), t = bins.shape, len(targets)
    width = min(features, bucket(d))
    subsets = np.asarray(_subsets(key, t, rounds, d, width))
    shards = max(1, min(workers(), t // SHARD_TARGETS))
    size = bucket(-(-t // shards), 4, 4)
    n_pad, d_pad, t_pad = bucket(n, 128, 4), bucket(d), shards * size
    grid = to_device(_pad_to(bins, (n_pad, d_pad)))
    own = _pad_to(targets + 1, (t_pad,)) - 1  # a padding target has no own column (-1)
    Y, W = _pad_to(X[:, targets], (n_pad, t_pad)), _pad_to(weight[:, targets], (n_pad, t_pad))
    subsets = _pad_to(subsets, (t_pad,) + subsets.shape[1:])
    keep = min(bucket(max(int((W > 0).sum(axis=0).max()), 1), 128, 4), n_pad)
    rows = np.argsort(W <= 0, axis=0, kind="stable")[:keep].T.astype(np.int32)  # each target's observed rows first

    def shard(s: int):
        part = slice(s * size, (s + 1) * size)
        out = _fit_padded((rounds, depth, float(rate), width), grid, np.int32(d), to_device(Y[:, part]),
                          to_device(W[:, part]), to_device(own[part]), to_device(subsets[part]),
                          to_device(rows[part]))
        return jax.device_get(out)

    parts = concurrently(shard, range(shards))
    base = np.concatenate([b for b, _ in parts])[:t]
    return base, tuple(np.concatenate([trees[i] for _, trees in parts])[:t] for i in range(4))


def _predict_column(bins: jax.Array, base: jax.Array, trees) -> jax.Array:
    def add(total, tree):
        columns, thresholds, rights, values = tree
        leaf = jnp.zeros(bins.shape[0], jnp.int32)
        for level in range(columns.shape[0]):
            leaf = 2 * leaf + _goes_right(bins[:, columns[level]], thresholds[level], rights[level]).astype(jnp.int32)
        return total + values[leaf], None

    total, _ = jax.lax.scan(add, jnp.full(bins.shape[0], base), trees)
    return total


@jax.jit
def _predict_chunk(base, trees, bins):
    return jax.vmap(_predict_column, in_axes=(None, 0, 0), out_axes=1)(bins, base, trees)


def predict_trees(bins: np.ndarray, base: np.ndarray, trees) -> np.ndarray:
    """(n, t) predictions of the target columns for rows of input bins (n, d), in fixed-size chunks of
    rows; input columns and targets padded to :func:`bucket` sizes, as in :func:`fit_trees`."""
    bins, base = np.asarray(bins), np.asarray(base)
    (n, d), t = bins.shape, len(base)
    d_pad, t_pad = bucket(d), bucket(t, 4, 4)
    padded = tuple(_pad_to(np.asarray(a), (t_pad,) + np.shape(a)[1:]) for a in trees)
    out = map_rows(functools.partial(_predict_chunk, to_device(_pad_to(base, (t_pad,))), padded),
                   (_pad_to(bins, (n, d_pad)),), CHUNK_ROWS)
    return np.asarray(out)[:, :t]


class BoostedTrees(Fitted):
    """Gradient-boosted oblivious trees per single-column group (see the module doc).

    Args:
      rounds: boosting rounds (trees per column).
      depth: levels per tree (``2 ** depth`` leaves).
      rate: shrinkage of each tree's values.
      max_features: input columns each tree reads (a seeded subset where the table has more).
      max_rows: rows the trees are fitted on (a seeded sample beyond it).
      chain: passes of the column models (:data:`CHAIN`): each pass after the first is fitted on the
        previous pass's fill and reads the filled entries as values; imputation runs the passes in turn.
    """

    def __init__(self, rounds: int = ROUNDS, depth: int = DEPTH, rate: float = RATE,
                 max_features: int = MAX_FEATURES, max_rows: int = MAX_ROWS, chain: int = CHAIN) -> None:
        self.rounds = rounds
        self.depth = depth
        self.rate = rate
        self.max_features = max_features
        self.max_rows = max_rows
        self.chain = chain

    def validate(self) -> tuple[int, int, float, int]:
        """Check the settings (a clear error naming the bad one) and return the static settings of the fit
        program: (rounds, depth, rate, features per tree)."""
        for name in ("rounds", "depth", "max_features", "max_rows", "chain"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"BoostedTrees {name} must be an integer >= 1, got {value!r}")
        if self.depth > 10:
            raise ValueError(f"BoostedTrees depth must be at most 10 (2 ** depth leaves per tree), got {self.depth}")
        if not 0.0 < float(self.rate) <= 1.0:
            raise ValueError(f"BoostedTrees rate must be in (0, 1], got {self.rate!r}")
        return int(self.rounds), int(self.depth), float(self.rate), int(self.max_features)

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "BoostedTrees":
        """Bin the inputs and fit every covered column's trees, pass after pass, on a seeded sample of at
        most ``max_rows`` rows."""
        shape = self.validate()
        X, observed = self._start_fit(X, observed, layout)
        k_rows, k_trees = jax.random.split(key)
        if len(X) > self.max_rows:
            rows = np.sort(np.asarray(jax.random.permutation(k_rows, len(X)))[: self.max_rows])
            X, observed = X[rows], observed[rows]
        self.covers_ = single_columns(layout) & ~self.empty_
        self.targets_ = np.flatnonzero(self.covers_).astype(np.int32)
        self.edges_ = bin_edges(X, observed)
        if not self.targets_.size:
            return self
        fill, weight, passes = np.where(observed, X, self.mean_[None, :]), to_device(observed, np.float32), []
        for c in range(int(self.chain)):
            bins = self._bins(fill, observed, c)
            base, trees = fit_trees(shape, to_device(bins), to_device(fill), weight, to_device(self.targets_),
                                    jax.random.fold_in(k_trees, c))
            passes.append((base, trees))
            if c < self.chain - 1:
                fill = self._filled(fill, observed, predict_trees(bins, base, trees))
        self.base_ = np.stack([np.asarray(b) for b, _ in passes])
        self.columns_, self.thresholds_, self.rights_, self.values_ = (
            np.stack([np.asarray(t[i]) for _, t in passes]) for i in range(4))
        return self

    def _bins(self, fill: np.ndarray, observed: np.ndarray, chain_pass: int) -> np.ndarray:
        """The input bins of pass ``chain_pass``: missing entries in their own bin on the first pass, the
        previous pass's fill read as values on the others."""
        return to_bins(fill, observed if chain_pass == 0 else np.ones_like(observed), self.edges_)

    def _filled(self, fill: np.ndarray, observed: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """``fill`` with the covered columns' missing entries replaced by a pass's predictions ``pred``."""
        out = fill.copy()
        out[:, self.targets_] = np.where(observed[:, self.targets_], fill[:, self.targets_], pred)
        return out

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """The trees' prediction of every missing covered entry (the passes in turn); the observed means
        (frequencies) elsewhere."""
        X, observed = self._start_impute(X, observed)
        out = np.where(observed, X, self.mean_[None, :])
        if self.targets_.size:
            for c in range(self.base_.shape[0]):
                trees = (self.columns_[c], self.thresholds_[c], self.rights_[c], self.values_[c])
                out = self._filled(out, observed, predict_trees(self._bins(out, observed, c), self.base_[c], trees))
        return finish(X, observed, out, self.layout_, self.empty_)


__all__ = ["BoostedTrees", "single_columns", "bin_edges", "to_bins", "fit_trees", "predict_trees", "BINS", "DEPTH", "ROUNDS", "RATE",
           "L2", "bucket", "MAX_ROWS", "MAX_FEATURES", "CHAIN", "SHARD_TARGETS", "CHUNK_ROWS"]
