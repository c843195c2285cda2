"""ReMasker: imputing tabular data with masked autoencoding (Du, Melis & Wang, ICLR 2024), in JAX / Flax NNX.

Written from the paper's description; the public repository (tydusky/remasker) was read for its settings
only. Each table column is a *token*: its value, min-max scaled by the fitted rows, goes through a
per-column linear map, plus a learned column embedding. A transformer *encoder* attends over the
visible tokens only (the observed cells not re-masked); a transformer *decoder* sees every token, the
encoder's output at the visible ones and a learned mask token at the missing and re-masked ones (plus a
decoder column embedding), and predicts every cell. Training re-masks a fraction ``mask_ratio`` of each
row's observed cells on every step and fits the prediction to the observed cells (re-masked and visible
alike), as the paper's loss does. Imputation is one pass with every observed cell visible.

Published settings (the paper and the issue): mask ratio 0.5, embedding 32-64, encoder depth 4-8,
decoder depth 2-6, 600 epochs, batch 64, AdamW. Defaults here: embedding 64, encoder depth 8, decoder
depth 6, 4 heads, MLP ratio 4, AdamW with betas (0.9, 0.95) as the repository uses; the learning rate
1e-3 (for batch 64, scaled linearly with the batch as the repository does), weight decay 0.05, a
linear warm-up over the first ``warmup_fraction`` of the steps (0.0667: 40 of 600 epochs) then a
half-cycle cosine to ``min_lr`` (1e-5), per step, are this module's choices in the repository's form
(its warm-up then half-cycle cosine), not checked against its argument defaults.

Differences from the repository, each for a reason stated:

- every observed cell is re-masked independently with probability ``mask_ratio`` (at least one cell of
  each row left visible), where the repository keeps a fixed count of tokens per row; attention masks
  give the encoder the visible tokens only, so shapes stay static under ``jit``;
- the per-column linear map has its own weights per column (the repository shares one 1x1 convolution
  over columns and adds a fixed sine-cosine position code): a column token should say which column it is;
- a categorical column (a one-hot group of the library's encoding) is one token whose map reads the whole
  group, and its prediction is a softmax over the group trained with cross-entropy (the repository
  handles numbers only); numeric, [0, 1] and binary columns are predicted by a linear head and trained
  with squared error on the min-max scale, as the paper does;
- minibatches are drawn with replacement each step (the repository walks a shuffled epoch); an "epoch"
  is ``ceil(n / batch_size)`` steps.

The step loop runs inside ``lax.scan`` in chunks of ``chunk_size`` steps (one compiled program per
chunk length). ``max_steps`` caps the steps (a CPU budget); ``history_`` holds each chunk's mean loss.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from invimpute.encoding.layout import CATEGORICAL, NUMERIC, Layout
from invimpute.models.heads import apply_head
from invimpute.models.losses import typed_loss
from invimpute.peers.base import Fitted, finish
from invimpute.runtime.rows import map_rows

__all__ = ["ReMasker", "ReMaskerNet"]

_EPS = 1e-8
_IMPUTE_ROWS = 1024
"""Rows per compiled chunk at impute time (bounds the attention's memory)."""


def token_layout(layout: Layout) -> Layout:
    """The layout the network predicts in: categorical groups as they are, every other column numeric
    (identity head, squared error on the min-max scale)."""
    kind = tuple(CATEGORICAL if k == CATEGORICAL else NUMERIC for k in layout.kind)
    return Layout(kind=kind, group=layout.group)


class _Attention(nnx.Module):
    """Multi-head self-attention whose keys are limited by a (batch, tokens) ``visible`` mask."""

    def __init__(self, dim: int, heads: int, rngs: nnx.Rngs) -> None:
        if dim % heads:
            raise ValueError(f"embed_dim ({dim}) must be a multiple of num_heads ({heads})")
        self.heads = heads
        self.qkv = nnx.Linear(dim, 3 * dim, rngs=rngs)
        self.out = nnx.Linear(dim, dim, rngs=rngs)

    def __call__(self, x: jax.Array, visible: jax.Array | None) -> jax.Array:
        b, t, d = x.shape
        q, k, v = jnp.split(self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads), 3, axis=2)
        q, k, v = (a[:, :, 0] for a in (q, k, v))
        logits = jnp.einsum("bqhc,bkhc->bhqk", q, k) / math.sqrt(d // self.heads)
        if visible is not None:  # a row with nothing visible attends uniformly (never NaN)
            logits = jnp.where(visible[:, None, None, :], logits, -1e9)
        weights = jax.nn.softmax(logits, axis=-1)
        return self.out(jnp.einsum("bhqk,bkhc->bqhc", weights, v).reshape(b, t, d))


class _Block(nnx.Module):
    """A pre-norm transformer block: attention, then a GELU MLP, each with a residual connection."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int, rngs: nnx.Rngs) -> None:
        self.norm1 = nnx.LayerNorm(dim, epsilon=1e-6, rngs=rngs)
        self.attn = _Attention(dim, heads, rngs)
        self.norm2 = nnx.LayerNorm(dim, epsilon=1e-6, rngs=rngs)
        self.fc1 = nnx.Linear(dim, mlp_ratio * dim, rngs=rngs)
        self.fc2 = nnx.Linear(mlp_ratio * dim, dim, rngs=rngs)

    def __call__(self, x: jax.Array, visible: jax.Array | None) -> jax.Array:
        x = x + self.attn(self.norm1(x), visible)
        return x + self.fc2(jax.nn.gelu(self.fc1(self.norm2(x))))


class ReMaskerNet(nnx.Module):
    """The masked autoencoder over column tokens: ``net(x, visible)`` gives raw scores (batch, width).

    ``x`` is the (batch, width) encoded row (0 where missing); ``visible`` the (batch, n_groups) tokens
    the encoder may read. ``group`` names each encoded column's token (its source column).
    """

    def __init__(self, group: tuple[int, ...], embed_dim: int, depth: int, decoder_depth: int, num_heads: int,
                 mlp_ratio: int, rngs: nnx.Rngs) -> None:
        width, n_groups = len(group), max(group) + 1
        init = nnx.initializers.normal(0.02)
        self.group = tuple(int(g) for g in group)
        self.in_w = nnx.Param(init(rngs.params(), (width, embed_dim)))
        self.in_b = nnx.Param(jnp.zeros((n_groups, embed_dim)))
        self.enc_col = nnx.Param(init(rngs.params(), (n_groups, embed_dim)))
        self.encoder = nnx.List([_Block(embed_dim, num_heads, mlp_ratio, rngs) for _ in range(depth)])
        self.enc_norm = nnx.LayerNorm(embed_dim, epsilon=1e-6, rngs=rngs)
        self.dec_embed = nnx.Linear(embed_dim, embed_dim, rngs=rngs)
        self.mask_token = nnx.Param(init(rngs.params(), (embed_dim,)))
        self.dec_col = nnx.Param(init(rngs.params(), (n_groups, embed_dim)))
        self.decoder = nnx.List([_Block(embed_dim, num_heads, mlp_ratio, rngs) for _ in range(decoder_depth)])
        self.dec_norm = nnx.LayerNorm(embed_dim, epsilon=1e-6, rngs=rngs)
        self.out_w = nnx.Param(init(rngs.params(), (width, embed_dim)))
        self.out_b = nnx.Param(jnp.zeros((width,)))

    def __call__(self, x: jax.Array, visible: jax.Array) -> jax.Array:
        member = jnp.asarray(np.eye(max(self.group) + 1, dtype=np.float32)[list(self.group)])
        tokens = jnp.einsum("bw,wd,wg->bgd", x, self.in_w[...], member) + self.in_b[...] + self.enc_col[...]
        for block in self.encoder:
            tokens = block(tokens, visible)
        h = self.dec_embed(self.enc_norm(tokens))
        h = jnp.where(visible[..., None], h, self.mask_token[...]) + self.dec_col[...]
        for block in self.decoder:
            h = block(h, None)
        h = self.dec_norm(h)[:, jnp.asarray(self.group)]  # (batch, width, dim): each column reads its token
        return (h * self.out_w[...]).sum(-1) + self.out_b[...]


def _leaf_name(path: tuple) -> str:
    """A plain name for one parameter of the network (``encoder/0/attn/qkv/kernel``): the fitted parameters are
    kept as a name -> array dict, which pickles and checkpoints as plain arrays."""
    parts = []
    for entry in path:
        parts.append(str(next((getattr(entry, a) for a in ("key", "idx", "name") if hasattr(entry, a)), entry)))
    return "/".join(parts)


def remask(key: jax.Array, observed_tokens: jax.Array, ratio: float) -> jax.Array:
    """The visible tokens of one training step: each observed token hidden with probability ``ratio``,
    and, in a row where that hides every observed token, the observed token of smallest draw kept."""
    u = jax.random.uniform(key, observed_tokens.shape)
    visible = observed_tokens & (u >= ratio)
    u_obs = jnp.where(observed_tokens, u, 2.0)
    first = observed_tokens & (u_obs == u_obs.min(axis=1, keepdims=True))
    return visible | (first & ~visible.any(axis=1, keepdims=True))


def _optimizer(lr: float, min_lr: float, weight_decay: float, warmup: int, total: int) -> optax.GradientTransformation:
    """AdamW (betas 0.9, 0.95) under a linear warm-up and a half-cycle cosine decay to ``min_lr``."""
    schedule = optax.warmup_cosine_decay_schedule(0.0, lr, max(warmup, 1), max(total, warmup + 1), min_lr)
    return optax.adamw(schedule, b1=0.9, b2=0.95, weight_decay=weight_decay)


@partial(jax.jit, static_argnames=("graphdef", "layout", "hyper", "n_steps", "batch_size", "ratio"))
def _train_chunk(graphdef, params, opt_state, key, X, O, OT, *, layout: Layout, hyper: tuple, n_steps: int,
                 batch_size: int, ratio: float):
    """``n_steps`` AdamW steps in one ``lax.scan``; returns the new parameters, optimiser state and mean loss."""
    tx = _optimizer(*hyper)
    n = X.shape[0]

    def step(carry, k):
        params, opt_state = carry
        k_idx, k_mask = jax.random.split(k)
        idx = jax.random.randint(k_idx, (batch_size,), 0, n)
        x, o, ot = X[idx], O[idx], OT[idx]
        visible = remask(k_mask, ot, ratio)

        def loss_fn(p):
            scores = nnx.merge(graphdef, p)(jnp.where(o, x, 0.0), visible)
            return typed_loss(scores, x, o.astype(jnp.float32), layout)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), jax.random.split(key, n_steps))
    return params, opt_state, losses.mean()


@partial(jax.jit, static_argnames=("graphdef", "layout"))
def _predict(graphdef, params, x, o, ot, *, layout: Layout):
    """The one-pass fill of a chunk of rows: every observed token visible, values through the head."""
    scores = nnx.merge(graphdef, params)(jnp.where(o, x, 0.0), ot)
    return apply_head(scores, layout)


class ReMasker(Fitted):
    """ReMasker as a peer of :class:`~invimpute.Imputer` (``Imputer(method="remasker", options={...})``).

    ``epochs`` passes of ``ceil(n / batch_size)`` steps each, capped at ``max_steps`` when given (the
    budget of a CPU run; the cosine schedule then spans the capped run). ``learning_rate`` is the rate
    at batch 64, scaled linearly with ``batch_size``.
    """

    def __init__(self, embed_dim: int = 64, depth: int = 8, decoder_depth: int = 6, num_heads: int = 4,
                 mlp_ratio: int = 4, mask_ratio: float = 0.5, epochs: int = 600, batch_size: int = 64,
                 learning_rate: float = 1e-3, min_lr: float = 1e-5, weight_decay: float = 0.05,
                 warmup_fraction: float = 0.0667, max_steps: int | None = None, chunk_size: int = 500) -> None:
        self.embed_dim = embed_dim
        self.depth = depth
        self.decoder_depth = decoder_depth
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.mask_ratio = mask_ratio
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.min_lr = min_lr
        self.weight_decay = weight_decay
        self.warmup_fraction = warmup_fraction
        self.max_steps = max_steps
        self.chunk_size = chunk_size

    def _check(self) -> None:
        """Raise ValueError naming the first option out of range."""
        for name in ("embed_dim", "depth", "num_heads", "mlp_ratio", "epochs", "batch_size", "chunk_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ReMasker option {name} must be >= 1, got {getattr(self, name)}")
        if self.decoder_depth < 0:
            raise ValueError(f"ReMasker option decoder_depth must be >= 0, got {self.decoder_depth}")
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"ReMasker option mask_ratio must be in [0, 1), got {self.mask_ratio}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"ReMasker option max_steps must be >= 1 or None, got {self.max_steps}")

    def steps_for(self, n_rows: int) -> int:
        """The optimiser steps a fit on ``n_rows`` rows takes: epochs x ceil(n / batch), capped at max_steps."""
        steps = int(self.epochs) * max(1, math.ceil(n_rows / int(self.batch_size)))
        return steps if self.max_steps is None else min(steps, int(self.max_steps))

    def _scale(self, X: np.ndarray) -> np.ndarray:
        """Non-categorical columns min-max scaled by their observed fit range; categorical entries unchanged."""
        return (X - self.low_) / self.span_

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "ReMasker":
        """Train the masked autoencoder on the observed cells of the fit rows."""
        self._check()
        X, observed = self._start_fit(X, observed, layout)
        scaled = (layout.kind_array != CATEGORICAL) & ~self.empty_
        low = np.where(observed, X, np.inf).min(axis=0, initial=np.inf)
        high = np.where(observed, X, -np.inf).max(axis=0, initial=-np.inf)
        self.low_ = np.where(scaled, low, 0.0).astype(np.float32)
        self.span_ = np.where(scaled, high - self.low_ + _EPS, 1.0).astype(np.float32)
        self.token_layout_ = token_layout(layout)
        k_init, k_train = jax.random.split(key)
        seed = int(jax.random.randint(k_init, (), 0, 2**31 - 1))
        graphdef, params = nnx.split(self._network(layout, seed))
        n = X.shape[0]
        total = self.steps_for(n)
        warmup = int(round(float(self.warmup_fraction) * total))
        hyper = (float(self.learning_rate) * int(self.batch_size) / 64, float(self.min_lr), float(self.weight_decay),
                 int(warmup), int(total))
        opt_state = _optimizer(*hyper).init(params)
        data = self._device_rows(X, observed)
        history, done = [], 0
        while done < total:
            n_steps = min(int(self.chunk_size), total - done)
            k_train, k_chunk = jax.random.split(k_train)
            params, opt_state, loss = _train_chunk(
                graphdef, params, opt_state, k_chunk, *data, layout=self.token_layout_, hyper=hyper, n_steps=n_steps,
                batch_size=int(self.batch_size), ratio=float(self.mask_ratio))
            history.append(float(loss))
            done += n_steps
        leaves = jax.tree_util.tree_leaves_with_path(params)
        self.params_ = {_leaf_name(path): np.asarray(leaf) for path, leaf in leaves}
        self.steps_ = total
        self.history_ = np.asarray(history, dtype=np.float32)
        return self

    def _network(self, layout: Layout, seed: int) -> ReMaskerNet:
        """A freshly initialised network of this method's shape for ``layout``."""
        return ReMaskerNet(layout.group, int(self.embed_dim), int(self.depth), int(self.decoder_depth),
                           int(self.num_heads), int(self.mlp_ratio), nnx.Rngs(seed))

    def _device_rows(self, X: np.ndarray, observed: np.ndarray) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Scaled rows, the per-entry observed mask and the per-token observed mask, as device arrays."""
        group = self.layout_.group_array
        tokens = np.zeros((X.shape[0], self.layout_.n_groups), dtype=bool)
        for g in range(self.layout_.n_groups):  # a token is observed when its (whole) group is
            tokens[:, g] = observed[:, group == g].all(axis=1)
        Xs = np.where(observed, self._scale(X), 0.0).astype(np.float32)
        return jnp.asarray(Xs), jnp.asarray(observed), jnp.asarray(tokens)

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """One decoder pass with every observed cell visible; missing cells take its prediction."""
        del key  # the pass is deterministic
        X, observed = self._start_impute(X, observed)
        graphdef, template = nnx.split(self._network(self.layout_, 0))
        params = jax.tree_util.tree_map_with_path(lambda p, _: jnp.asarray(self.params_[_leaf_name(p)]), template)
        program = partial(_predict, graphdef, params, layout=self.token_layout_)
        values = np.asarray(map_rows(program, self._device_rows(X, observed), _IMPUTE_ROWS))
        imputed = values * self.span_ + self.low_
        return finish(X, observed, imputed, self.layout_, self.empty_)
