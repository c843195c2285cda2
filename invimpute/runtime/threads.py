"""Independent compiled programs run at once on a CPU's cores.

XLA's CPU runtime runs a program's loops (a ``lax.map``, a ``lax.scan``) on one core, and programs
dispatched from one Python thread run one after another even when dispatched asynchronously; programs
dispatched from several threads run at once. :func:`concurrently` runs independent calls on one thread
per core, so a loop-bound program split into shards (the trees of different target columns) keeps every
core busy. On an accelerator, which runs a program's parallel work itself, the calls run in turn.
Only for programs of XLA's own operations: the Gaussian model's fill, whose batched solves call LAPACK,
hung when two threads ran it at once (jax 0.10.2, 2 cores).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import jax

T = TypeVar("T")


def workers() -> int:
    """Threads that run programs at once: the cores this process may use on a CPU backend, else 1."""
    if jax.default_backend() != "cpu":
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity call on this platform (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def concurrently(fn: Callable[[T], Any], items: Iterable[T]) -> list:
    """``[fn(item) for item in items]``, the calls run at once on up to :func:`workers` threads; the
    results in the items' order, an exception raised as the loop would raise it."""
    items = list(items)
    threads = min(workers(), len(items))
    if threads < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, items))


__all__ = ["workers", "concurrently"]
