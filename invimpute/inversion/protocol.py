"""What a model must implement to be inverted: the protocol :func:`~invimpute.inversion.batch.invert`,
:func:`~invimpute.inversion.validated.invert_validated` and :func:`~invimpute.inversion.draws.invert_draws`
read, and the check that a user's own Flax NNX module follows it.

Input mode (the default) needs only the call, ``model(x, missing) -> scores``: ``x`` a sample (d,) or a
batch (b, d) of encoded values, ``missing`` the same shape with 1.0 where an entry is missing (a model
that takes no mask input may ignore it), and one pre-activation score per encoded column back, the same
shape as ``x`` (the library applies the output head of the :class:`~invimpute.encoding.layout.Layout`).
Latent mode, a code penalty (``code_penalty="sphere"`` or ``"l2"``) and
:func:`~invimpute.inversion.batch.code_radius` also need ``encode(x, missing) -> code`` (one code
vector per sample) and ``decode(code) -> scores``. Mask input: during reverse training the solver passes
the indicator of the entries it hides from the model in each step of the ``"masked"`` objective (and,
with ``InversionConfig(feed_mask=True)``, of the sample's missing entries); elsewhere zeros, so the
proposed values are read as data. Dropout and any randomness come from an optional keyword ``key`` (None
at inference), never from NNX ``Rngs`` state in the model: the model must be a pure function of its
parameters and inputs, which is what lets the solver ``vmap`` and ``jit`` it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import jax
import jax.numpy as jnp
from flax import nnx


@runtime_checkable
class Invertible(Protocol):
    """A model reverse training can run through in input mode: ``model(x, missing) -> scores``.

    A structural type (``isinstance(model, Invertible)`` checks the method is there): subclass
    ``flax.nnx.Module`` and define the call; there is nothing to inherit from here.

    Args:
      *args, **kwargs: the model's own constructor arguments (the protocol constrains only its methods).
    """

    def __call__(self, x: jax.Array, missing: jax.Array | None = None, *, key: jax.Array | None = None) -> jax.Array:
        """Pre-activation scores of every encoded entry of ``x``.

        Args:
          x: encoded values, (d,) or (b, d); missing entries hold the solver's proposal (or zero).
          missing: 1.0 where an entry is hidden from the model, same shape as ``x`` (None: nothing hidden).
          key: a PRNG key for dropout or other noise; None at inference and during reverse training.

        Returns:
          Scores, the shape of ``x``.
        """
        ...


@runtime_checkable
class LatentInvertible(Invertible, Protocol):
    """A model reverse training can also run through in latent mode (and with a code penalty):
    ``encode`` and ``decode`` besides the call.

    Args:
      *args, **kwargs: the model's own constructor arguments (the protocol constrains only its methods).
    """

    def encode(self, x: jax.Array, missing: jax.Array | None = None, *, key: jax.Array | None = None) -> jax.Array:
        """The bottleneck code of ``x``.

        Args:
          x, missing, key: as for the call.

        Returns:
          The code, (k,) per sample ((b, k) for a batch).
        """
        ...

    def decode(self, code: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        """Scores of every encoded entry from a code.

        Args:
          code: (k,) or (b, k).
          key: as for the call.

        Returns:
          Scores, (d,) or (b, d).
        """
        ...


def check_model(model: object, width: int, latent: bool) -> None:
    """Raise a clear error where ``model`` does not follow the protocol (traced on shapes only, nothing
    is computed).

    Args:
      model: the model to invert.
      width: the encoded width ``d`` of the rows it will repair.
      latent: whether ``encode``/``decode`` are needed too (latent mode or a code penalty).

    Raises:
      TypeError: ``model`` is no Flax NNX module, or lacks a method the mode needs, or cannot be called so.
      ValueError: its scores do not have one entry per encoded column.
    """
    name = type(model).__name__
    if not isinstance(model, nnx.Module):
        raise TypeError(f"the model must be a Flax NNX module (nnx.Module), got {name}: reverse training "
                        f"splits it into structure and parameters (nnx.split)")
    if not isinstance(model, Invertible):
        raise TypeError(f"{name} is not callable: reverse training needs model(x, missing) -> scores")
    if latent and not isinstance(model, LatentInvertible):
        raise TypeError(f"latent mode and code penalties need a model with encode(x, missing) -> code and "
                        f"decode(code) -> scores; {name} lacks {'encode' if not hasattr(model, 'encode') else 'decode'}")
    graphdef, params = nnx.split(model)
    x = jax.ShapeDtypeStruct((2, width), jnp.float32)

    def scores(p, x):
        m = nnx.merge(graphdef, p)
        return m(x, jnp.zeros_like(x))

    def decoded(p, x):
        m = nnx.merge(graphdef, p)
        return m.decode(m.encode(x, jnp.zeros_like(x)))

    for what, fn in (("model(x, missing)", scores),) + ((("decode(encode(x, missing))", decoded),) if latent else ()):
        try:
            out = jax.eval_shape(fn, params, x)
        except Exception as exc:  # noqa: BLE001 - any failure to trace is the caller's model, reported as such
            raise TypeError(f"{name}: {what} failed on a batch of shape (2, {width}) with a missing indicator "
                            f"of the same shape: {type(exc).__name__}: {exc}") from exc
        shape = getattr(out, "shape", None)
        if shape != (2, width):
            raise ValueError(f"{name}: {what} returned shape {shape} for input of shape (2, {width}); it must "
                             f"return one score per encoded column, the shape of x")


__all__ = ["Invertible", "LatentInvertible", "check_model"]
