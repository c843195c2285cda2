"""Missing cells: simulating missingness for experiments (MCAR, MAR, MNAR, pixel rows, patches, groups of
columns) and, re-exported from :mod:`invimpute.encoding.detection`, finding them in real tables.

Convention: ``observed`` masks are True where a value is present; the simulators return ``missing``
masks, True where a cell is to be removed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from invimpute.encoding.detection import (AMBIGUOUS_TOKENS, AUTO, DEFAULT_TOKENS, UNAMBIGUOUS_TOKENS, Detection, detect,
                                          judge_token, missing_report, with_outliers)
from invimpute.encoding.layout import Layout

def _key(seed_or_key: int | jax.Array) -> jax.Array:
    if isinstance(seed_or_key, (int, np.integer)):
        return jax.random.key(int(seed_or_key))
    return seed_or_key



def mcar_mask(
    key: int | jax.Array,
    shape: tuple[int, ...],
    rate: float,
    observed: np.ndarray | None = None,
) -> np.ndarray:
    """Missing completely at random, with an exact fraction: ``round(rate * n)`` cells chosen uniformly.

    ``n`` counts the cells that are currently observed (all cells when ``observed`` is None), so the
    removed fraction of the available cells is exact, as the reference study does it.

    Args:
      key: a seed or a JAX PRNG key.
      shape: the table's shape.
      rate: the fraction of available cells to remove, in [0, 1).
      observed: True where a cell is present (only those can be removed); None for all cells.

    Returns:
      A boolean ``missing`` mask of ``shape``, True where a cell is removed.
    """
    _check_rate(rate)
    avail = np.ones(shape, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    if avail.shape != tuple(shape):
        raise ValueError(f"observed has shape {avail.shape}, expected {tuple(shape)}")
    flat = np.flatnonzero(avail.ravel())
    k = int(round(rate * flat.size))
    order = np.asarray(jax.random.permutation(_key(key), flat.size))
    out = np.zeros(avail.size, dtype=bool)
    out[flat[order[:k]]] = True
    return out.reshape(shape)


def _check_rate(rate: float) -> None:
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")


def _solve_intercept(logits: np.ndarray, rate: float) -> float:
    """The intercept b such that mean(sigmoid(logits + b)) == rate (bisection)."""
    lo, hi = -50.0, 50.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if (1.0 / (1.0 + np.exp(-(logits + mid)))).mean() > rate:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _standardise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    mu = np.nanmean(x, axis=0)
    sd = np.nanstd(x, axis=0)
    return np.nan_to_num((x - mu) / np.where(sd > 0, sd, 1.0))


def mar_mask(
    key: int | jax.Array,
    x: np.ndarray,
    rate: float,
    driver_fraction: float = 0.3,
) -> np.ndarray:
    """Missing at random: a logistic model of always-observed driver columns sets each cell's odds.

    A random ``driver_fraction`` of the columns stay fully observed; each other column's cells go
    missing with probability ``sigmoid(x_drivers @ w + b)``, random weights ``w`` per column and ``b``
    solved so that the expected rate over the whole table is ``rate``.

    Args:
      key: a seed or a JAX PRNG key.
      x: the complete table, a numeric (n, p) array (standardised inside).
      rate: the expected fraction of the whole table's cells to remove, in [0, 1).
      driver_fraction: the share of columns kept fully observed as drivers.

    Returns:
      A boolean (n, p) ``missing`` mask, True where a cell is removed (never in a driver column).
    """
    _check_rate(rate)
    z = _standardise(x)
    n, p = z.shape
    k_perm, k_w, k_u = jax.random.split(_key(key), 3)
    n_drivers = max(1, int(round(driver_fraction * p)))
    if n_drivers >= p:
        raise ValueError(f"mar_mask needs at least 2 columns and driver_fraction < 1, got p={p}")
    perm = np.asarray(jax.random.permutation(k_perm, p))
    drivers, targets = perm[:n_drivers], perm[n_drivers:]
    w = np.asarray(jax.random.normal(k_w, (n_drivers, targets.size)))
    logits = z[:, drivers] @ w / np.sqrt(n_drivers)
    target_rate = min(rate * p / targets.size, 0.99)
    probs = np.empty_like(logits)
    for j in range(targets.size):
        b = _solve_intercept(logits[:, j], target_rate)
        probs[:, j] = 1.0 / (1.0 + np.exp(-(logits[:, j] + b)))
    u = np.asarray(jax.random.uniform(k_u, probs.shape))
    out = np.zeros((n, p), dtype=bool)
    out[:, targets] = u < probs
    return out


def mnar_mask(
    key: int | jax.Array,
    x: np.ndarray,
    rate: float,
    side: str = "high",
    strength: float = 2.0,
) -> np.ndarray:
    """Missing not at random by self-masking: a cell's own value sets its odds of going missing.

    With ``side="high"`` large values are more likely to be removed (censoring from above), with
    ``side="low"`` small ones. The intercept of each column is solved so the expected rate is ``rate``.

    Args:
      key: a seed or a JAX PRNG key.
      x: the complete table, a numeric (n, p) array (standardised inside).
      rate: the expected fraction of each column's cells to remove, in [0, 1).
      side: ``"high"`` or ``"low"``: which values go missing more often.
      strength: the logistic slope on the standardised value.

    Returns:
      A boolean (n, p) ``missing`` mask, True where a cell is removed.
    """
    _check_rate(rate)
    if side not in ("high", "low"):
        raise ValueError(f"side must be 'high' or 'low', got {side!r}")
    z = _standardise(x) * (strength if side == "high" else -strength)
    probs = np.empty_like(z)
    for j in range(z.shape[1]):
        b = _solve_intercept(z[:, j], rate)
        probs[:, j] = 1.0 / (1.0 + np.exp(-(z[:, j] + b)))
    u = np.asarray(jax.random.uniform(_key(key), probs.shape))
    return u < probs


def row_mask(
    key: int | jax.Array,
    n: int,
    height: int,
    width: int,
    n_rows: int,
    contiguous: bool = True,
) -> np.ndarray:
    """Whole pixel rows removed from each of ``n`` images.

    Args:
      key: a seed or a JAX PRNG key.
      n: the number of images.
      height, width: the image size in pixels.
      n_rows: the pixel rows removed from each image, in 1..height.
      contiguous: True removes one band of ``n_rows`` adjacent rows at a random offset per image;
        False removes ``n_rows`` rows chosen at random per image.

    Returns:
      A boolean (n, height, width) ``missing`` mask, True where a pixel is removed.
    """
    if not 0 < n_rows <= height:
        raise ValueError(f"n_rows must be in 1..{height}, got {n_rows}")
    k = _key(key)
    if contiguous:
        start = np.asarray(jax.random.randint(k, (n,), 0, height - n_rows + 1))
        r = np.arange(height)[None, :]
        rows = (r >= start[:, None]) & (r < start[:, None] + n_rows)
    else:
        scores = np.asarray(jax.random.uniform(k, (n, height)))
        ranks = np.argsort(np.argsort(scores, axis=1), axis=1)
        rows = ranks < n_rows
    return np.broadcast_to(rows[:, :, None], (n, height, width)).copy()


def patch_mask(
    key: int | jax.Array,
    n: int,
    height: int,
    width: int,
    patch: tuple[int, int],
) -> np.ndarray:
    """One rectangular patch at a random place in each of ``n`` images.

    Args:
      key: a seed or a JAX PRNG key.
      n: the number of images.
      height, width: the image size in pixels.
      patch: the patch's (height, width), which must fit in the image.

    Returns:
      A boolean (n, height, width) ``missing`` mask, True inside each image's patch.
    """
    ph, pw = patch
    if not (0 < ph <= height and 0 < pw <= width):
        raise ValueError(f"patch {patch} does not fit in a {height}x{width} image")
    ky, kx = jax.random.split(_key(key))
    y0 = np.asarray(jax.random.randint(ky, (n,), 0, height - ph + 1))
    x0 = np.asarray(jax.random.randint(kx, (n,), 0, width - pw + 1))
    ys = np.arange(height)[None, :, None]
    xs = np.arange(width)[None, None, :]
    return (
        (ys >= y0[:, None, None]) & (ys < (y0 + ph)[:, None, None])
        & (xs >= x0[:, None, None]) & (xs < (x0 + pw)[:, None, None])
    )



def group_mask(
    key: int | jax.Array,
    n: int,
    groups: Sequence[Sequence[int]],
    n_lost: int = 1,
) -> np.ndarray:
    """Whole groups of related columns lost together, as when a sensor fails.

    Args:
      key: a seed or a JAX PRNG key.
      n: the number of rows.
      groups: the column indices of each group; together they cover columns ``0..d-1``, each once.
      n_lost: the groups every row loses, drawn at random without replacement.

    Returns:
      A boolean (n, d) ``missing`` mask, True in every column of a row's lost groups.
    """
    cols = sorted(c for g in groups for c in g)
    if cols != list(range(len(cols))):
        raise ValueError("groups must cover the columns 0..d-1, each exactly once")
    if not 0 < n_lost <= len(groups):
        raise ValueError(f"n_lost must be in 1..{len(groups)}, got {n_lost}")
    scores = np.asarray(jax.random.uniform(_key(key), (n, len(groups))))
    lost = np.argsort(np.argsort(scores, axis=1), axis=1) < n_lost
    member = np.zeros((len(groups), len(cols)), bool)
    for i, g in enumerate(groups):
        member[i, list(g)] = True
    return (lost.astype(np.int32) @ member.astype(np.int32)) > 0


IMAGE_DAMAGES = ("cells", "rows", "band", "rectangle")
"""The kinds of damage :class:`ImageDamage` draws from, one per image per step."""


@dataclass(frozen=True)
class ImageDamage:
    """Mixed damage of flattened ``height`` x ``width`` images, the training corruption of image models.

    Every image draws one kind of :data:`IMAGE_DAMAGES` at random: scattered pixels, whole pixel rows at
    random, one band of adjacent rows, or one rectangle of random aspect ratio at a random place, each
    covering about ``rate`` of the image. A model trained under all of them has seen no single kind of
    damage as the only one, so what it learns is the images, not one mask's shape (hashable: it is part
    of the static training settings).

    Attributes:
      height, width: the image size in pixels.
    """

    height: int
    width: int

    def hide(self, key: jax.Array, observed: jax.Array, rate: float | jax.Array) -> jax.Array:
        """The observed pixels to hide from a batch of flattened images (a pure function of ``key``).

        Args:
          key: a JAX PRNG key.
          observed: (n, height * width) bool, True where a pixel is present.
          rate: the share of each image to cover, a scalar or one per image ((n,) or (n, 1)).

        Returns:
          An (n, height * width) bool mask, True at the observed pixels hidden.
        """
        h, w = self.height, self.width
        n = observed.shape[0]
        k_kind, k_cell, k_row, k_start, k_aspect, k_y, k_x = jax.random.split(key, 7)
        rate = jnp.broadcast_to(jnp.asarray(rate, jnp.float32).reshape(-1), (n,))
        kind = jax.random.randint(k_kind, (n,), 0, len(IMAGE_DAMAGES))
        cells = jax.random.uniform(k_cell, (n, h, w)) < rate[:, None, None]
        rows = jnp.broadcast_to((jax.random.uniform(k_row, (n, h)) < rate[:, None])[:, :, None], (n, h, w))
        ys, xs = jnp.arange(h)[None, :, None], jnp.arange(w)[None, None, :]
        span = jnp.clip(jnp.round(rate * h), 1, h).astype(jnp.int32)
        start = jnp.floor(jax.random.uniform(k_start, (n,)) * (h - span + 1)).astype(jnp.int32)
        band = jnp.broadcast_to((ys >= start[:, None, None]) & (ys < (start + span)[:, None, None]), (n, h, w))
        aspect = jnp.exp(jax.random.uniform(k_aspect, (n,), minval=-1.0, maxval=1.0))
        rh = jnp.clip(jnp.round(jnp.sqrt(rate * h * w * aspect)), 1, h).astype(jnp.int32)
        rw = jnp.clip(jnp.round(rate * h * w / rh), 1, w).astype(jnp.int32)
        y0 = jnp.floor(jax.random.uniform(k_y, (n,)) * (h - rh + 1)).astype(jnp.int32)
        x0 = jnp.floor(jax.random.uniform(k_x, (n,)) * (w - rw + 1)).astype(jnp.int32)
        rect = ((ys >= y0[:, None, None]) & (ys < (y0 + rh)[:, None, None])
                & (xs >= x0[:, None, None]) & (xs < (x0 + rw)[:, None, None]))
        chosen = jnp.stack([cells, rows, band, rect])[kind, jnp.arange(n)]
        return chosen.reshape(n, h * w) & (rate[:, None] > 0) & observed


@functools.partial(jax.jit, static_argnames=("layout", "groups"))
def hide_cells(
    key: jax.Array, observed: jax.Array, layout: Layout, rate: float | jax.Array, groups: tuple[int, ...] | None = None
) -> jax.Array:
    """A mask (like ``observed``) of observed cells of an encoded matrix to hide, drawn per group of columns.

    The sampler behind denoising, early-stopping hold-outs and calibration hold-outs (a pure JAX function
    of ``key``, compiled once per layout and shape). ``groups`` names the group of each encoded column
    (default: the layout's, so a one-hot group goes together); every group is hidden with probability
    ``rate`` (a scalar, or one per row).
    """
    group = np.asarray(layout.group if groups is None else groups, dtype=np.int32)
    u = jax.random.uniform(key, observed.shape[:-1] + (int(group.max()) + 1,))
    return (u < rate)[..., jnp.asarray(group)] & observed


def apply_mask(data: pd.DataFrame | np.ndarray, missing: np.ndarray) -> pd.DataFrame | np.ndarray:
    """A copy of ``data`` with the cells where ``missing`` is True set to NaN (the input is not modified).

    Args:
      data: a DataFrame or an array.
      missing: a boolean mask of ``data``'s shape (from :func:`mcar_mask` and its siblings).

    Returns:
      A copy of the same type; integer and boolean columns become float64 and categorical columns
      object, so that they can hold NaN.
    """
    missing = np.asarray(missing, dtype=bool)
    if missing.shape != data.shape:
        raise ValueError(f"mask has shape {missing.shape}, data has shape {data.shape}; they must match")
    if isinstance(data, pd.DataFrame):
        out = data.copy()
        for j, col in enumerate(data.columns):
            m = missing[:, j]
            if m.any():
                s = out[col]
                if s.dtype.kind in "iub":
                    s = s.astype("float64")
                elif isinstance(s.dtype, pd.CategoricalDtype):
                    s = s.astype(object)
                out[col] = s.where(~m, np.nan)
        return out
    out = np.array(data, dtype=np.float64 if np.asarray(data).dtype.kind in "iub" else None, copy=True)
    out[missing] = np.nan
    return out


__all__ = [
    "DEFAULT_TOKENS", "UNAMBIGUOUS_TOKENS", "AMBIGUOUS_TOKENS", "AUTO", "Detection", "detect", "judge_token",
    "missing_report", "with_outliers", "mcar_mask", "mar_mask", "mnar_mask",
    "row_mask", "patch_mask", "group_mask", "apply_mask", "hide_cells", "IMAGE_DAMAGES", "ImageDamage",
]
