"""Row-wise programs over a whole table, in fixed-size padded chunks that never recompile.

Every program that treats the rows of a matrix independently (prediction, reverse training and its
multiple-imputation draws, Monte-Carlo dropout passes, bottleneck-code norms, MIWAE's importance
sampling) runs through :func:`map_rows`: the rows are padded with zeros up to a whole number of chunks
of :func:`chunk_size` rows, each chunk's row axis is sharded over the local devices, the caller's
jit-compiled per-chunk program runs on every chunk, and the padding is dropped. The chunk size is a
power of two (up to the batch size) and a multiple of the device count, so the compiled program is
keyed on the model structure, the settings and the chunk shape only: tables of any length, the last,
padded chunk included, reuse one program per chunk size. :func:`in_blocks` is the in-program half: a
``lax.map`` over blocks of a chunk's rows, for programs whose per-row memory is large.

Per-row random keys come from :func:`map_rows` too, split once over the padded rows rather than per
chunk, so a row's key does not depend on the chunk it lands in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def chunk_size(n: int, batch_size: int, n_devices: int = 1) -> int:
    """Rows per compiled chunk: the next power of two up to ``batch_size``, a multiple of the devices.

    Rounding small inputs up to a power of two keeps the number of distinct compiled shapes small.
    """
    size = min(batch_size, 1 << max(0, math.ceil(math.log2(max(n, 1)))))
    return max(n_devices, math.ceil(size / n_devices) * n_devices)


def row_sharding() -> NamedSharding | None:
    """The sharding of a chunk's leading (row) axis over all local devices; None on a single device."""
    devices = jax.local_devices()
    if len(devices) == 1:
        return None
    return NamedSharding(Mesh(np.asarray(devices), ("rows",)), PartitionSpec("rows"))


def _pad_rows(a: Any, n_pad: int) -> Any:
    """``a`` with zero (False) rows appended up to ``n_pad`` rows, staying a NumPy or a device array."""
    widths = ((0, n_pad - a.shape[0]),) + ((0, 0),) * (a.ndim - 1)
    return jnp.pad(a, widths) if isinstance(a, jax.Array) else np.pad(np.asarray(a), widths)


def map_rows(
    program: Callable[..., Any],
    rows: Sequence[Any],
    batch_size: int,
    *,
    key: jax.Array | None = None,
    key_shape: tuple[int, ...] = (),
) -> Any:
    """``program`` applied to every chunk of the row arrays ``rows``; its outputs for the ``n`` rows.

    ``rows`` are NumPy or JAX arrays sharing their leading axis of ``n`` rows. ``program`` takes one
    chunk of each (and, with ``key``, a chunk of per-row keys) and returns an array or a pytree of
    arrays with rows first; it is normally a ``jax.jit``-compiled function with its static arguments
    and the arrays it shares across rows bound by ``functools.partial``. Chunks hold
    ``chunk_size(n, batch_size, n_devices)`` rows. ``key`` splits into keys of shape
    ``key_shape + (n_pad,)`` over the padded rows (as ``jax.random.split(key, key_shape + (n_pad,))``),
    handed to ``program`` rows first: ``(rows, *key_shape)``. The outputs are device arrays.
    """
    n = rows[0].shape[0]
    sharding = row_sharding()
    size = chunk_size(n, batch_size, 1 if sharding is None else len(sharding.mesh.devices.flat))
    n_pad = math.ceil(max(n, 1) / size) * size
    padded = [_pad_rows(a, n_pad) for a in rows]
    if key is not None:
        keys = jax.random.split(key, tuple(key_shape) + (n_pad,))
        padded.append(jnp.moveaxis(keys, -1, 0) if key_shape else keys)
    outs = []
    for start in range(0, n_pad, size):
        chunk = [a[start:start + size] for a in padded]
        if sharding is not None:
            chunk = [jax.device_put(c, sharding) for c in chunk]
        outs.append(program(*chunk))
    if len(outs) == 1:
        return jax.tree.map(lambda o: o[:n], outs[0])
    return jax.tree.map(lambda *o: jnp.concatenate(o)[:n], *outs)


def in_blocks(fn: Callable[..., Any], arrays: Sequence[jax.Array], block: int) -> Any:
    """``fn`` on consecutive blocks of ``block`` rows of ``arrays``, one after another (``lax.map``).

    For use inside a compiled per-chunk program whose rows would not fit in memory all at once; the
    chunk's row count must be a multiple of ``block``. ``fn`` takes one block of each array and returns
    arrays with rows first; the blocks' outputs are joined back into rows.
    """
    n = arrays[0].shape[0]
    if n % block:
        raise ValueError(f"in_blocks: {n} rows are not a whole number of {block}-row blocks")
    blocked = [a.reshape((n // block, block) + a.shape[1:]) for a in arrays]
    out = jax.lax.map(lambda xs: fn(*xs), blocked)
    return jax.tree.map(lambda o: o.reshape((n,) + o.shape[2:]), out)


__all__ = ["chunk_size", "row_sharding", "map_rows", "in_blocks"]
