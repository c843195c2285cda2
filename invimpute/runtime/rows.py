"""Row-wise programs over a whole table, in fixed-size padded chunks that never recompile.

Every program that treats the rows of a matrix independently (prediction, reverse training and its
multiple-imputation draws, Monte-Carlo dropout passes, bottleneck-code norms, MIWAE's importance
sampling) runs through :func:`map_rows`: the rows are padded with zeros up to a whole number of chunks
of :func:`chunk_size` rows, the caller's jit-compiled per-chunk program runs on every chunk, and the
padding is dropped. With several local devices each chunk is cut into one equal slice per device and
the program runs on every slice as an independent single-device program (dispatched asynchronously, so
the devices work at once); each slice's output is copied to the host and the slices are joined there.
No program ever spans devices, so there is no in-program collective (all-gather): XLA's CPU collectives
wait for every device's thread at a rendezvous and abort the process after 40 s when devices outnumber
the cores or the machine is busy, which independent programs cannot do. The price: a program is
compiled once per device on its first call (the persistent compilation cache keeps each). The chunk size
(:func:`chunk_size`: the batch size, 256 rows, or a power of two for a few rows) is a multiple of the
device count, so the compiled program is keyed on the model structure, the settings and one of few chunk
shapes only: tables of any length, the last, padded chunk included, reuse it. :func:`in_blocks` is the
in-program half: a ``lax.map`` over blocks of a chunk's rows, for programs whose per-row memory is large.

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


SMALL_CHUNK, TINY_ROWS = 256, 64
"""Rows per chunk of an input shorter than the program's batch: :data:`SMALL_CHUNK` from :data:`TINY_ROWS`
rows up, so a table of a few hundred rows and any subset of its rows (``auto`` scores its candidates
on the rows with held-out cells, then fills the whole table) run one compiled program where a chunk of
the next power of two would compile one per size; below :data:`TINY_ROWS` rows the next power of two,
so a call on a few rows stays small."""


def chunk_size(n: int, batch_size: int, n_devices: int = 1) -> int:
    """Rows per compiled chunk: ``batch_size`` for ``n`` rows or more, :data:`SMALL_CHUNK` (at most
    ``batch_size``) for fewer, the next power of two under :data:`TINY_ROWS` rows; a multiple of the
    devices. Few distinct chunk shapes mean few compiled programs."""
    if n >= batch_size:
        size = batch_size
    elif n >= TINY_ROWS:
        size = min(batch_size, SMALL_CHUNK)
    else:
        size = min(batch_size, 1 << max(0, math.ceil(math.log2(max(n, 1)))))
    return max(n_devices, math.ceil(size / n_devices) * n_devices)


def row_devices() -> list:
    """The local devices a chunk's rows are split over (one slice each): all of them."""
    return list(jax.local_devices())


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
    ``chunk_size(n, batch_size, n_devices)`` rows; with several devices the program runs on each
    device's slice of a chunk (see the module docstring). ``key`` splits into keys of shape
    ``key_shape + (n_pad,)`` over the padded rows (as ``jax.random.split(key, key_shape + (n_pad,))``),
    handed to ``program`` rows first: ``(rows, *key_shape)``. The outputs are NumPy arrays, joined on
    the host.
    """
    n = rows[0].shape[0]
    devices = row_devices()
    size = chunk_size(n, batch_size, len(devices))
    n_pad = math.ceil(max(n, 1) / size) * size
    padded = [_pad_rows(a, n_pad) for a in rows]
    if key is not None:
        keys = jax.random.split(key, tuple(key_shape) + (n_pad,))
        padded.append(jnp.moveaxis(keys, -1, 0) if key_shape else keys)
    if len(devices) > 1:
        return _map_on_devices(program, padded, size, devices, n)
    outs = [program(*[a[start:start + size] for a in padded]) for start in range(0, n_pad, size)]
    return _joined(jax.device_get(outs), n)


def _joined(outs: list, n: int) -> Any:
    """The chunks' outputs (on the host) joined along rows, the padding dropped: on the host, since a
    device-side join or slice would compile a small program per shape."""
    return jax.tree.map(lambda *o: np.concatenate([np.asarray(x) for x in o])[:n], *outs)


def _map_on_devices(program: Callable[..., Any], padded: list, size: int, devices: list, n: int) -> Any:
    """Every chunk's per-device slices run as independent single-device programs; outputs joined on the host.

    All slices are dispatched before any output is read, so the devices compute at once; each output is
    then copied to the host by itself (``jax.device_get``), never gathered inside a program.
    """
    per = size // len(devices)
    outs = []
    for start in range(0, padded[0].shape[0], size):
        for d, device in enumerate(devices):
            lo = start + d * per
            outs.append(program(*[jax.device_put(a[lo:lo + per], device) for a in padded]))
    return _joined([jax.device_get(o) for o in outs], n)


def uncommitted(tree: Any) -> Any:
    """``tree`` with every array placed on the default device and not committed to any device.

    Arrays that a multi-device program left sharded or replicated over several devices (data-parallel
    training's parameters) cannot go into :func:`map_rows`' single-device programs; uncommitted arrays
    follow the rows to whichever device runs the slice. Arrays already uncommitted are returned as they are.
    """

    def one(a):
        if not isinstance(a, jax.Array) or not a.committed:
            return a
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(jnp.asarray(jax.device_get(jax.random.key_data(a))), impl=jax.random.key_impl(a))
        return jnp.asarray(jax.device_get(a))

    return jax.tree.map(one, tree)


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


__all__ = ["SMALL_CHUNK", "TINY_ROWS", "chunk_size", "row_devices", "map_rows", "uncommitted", "in_blocks"]
