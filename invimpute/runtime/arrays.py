"""Host data onto the device without compiling anything.

``jnp.asarray`` on a NumPy array (and ``jnp.int32(3)`` on a Python number) compiles an identity or
conversion program for each shape and dtype it meets; a fresh process pays for each again (traced,
lowered and looked up in the compilation cache), tens of them in a default fit. ``jax.device_put`` of
data converted on the host compiles nothing and holds the same values.
"""

from __future__ import annotations

import jax
import numpy as np


def to_device(x, dtype=None) -> jax.Array:
    """``x`` (NumPy data, a number or a JAX array) as a JAX array, of ``dtype`` where given; NumPy data
    is converted on the host (the same rounding) and placed with ``jax.device_put``."""
    if isinstance(x, jax.Array):
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.astype(dtype)
    return jax.device_put(np.asarray(x) if dtype is None else np.asarray(x, dtype))


__all__ = ["to_device"]
