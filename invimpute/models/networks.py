"""Flax NNX autoencoders with an explicit bottleneck.

Every model maps a flat sample ``x`` (..., d) and its missing indicator (..., d) to raw output scores
(..., d); :mod:`invimpute.models.heads` turns scores into values. Each also exposes ``encode`` (to the
bottleneck code) and ``decode`` (code to scores), which the inversion engine's bottleneck regulariser and
latent mode use. Dropout is explicit: pass a PRNG ``key`` to turn it on, none for a deterministic pass,
so the models hold no random state and stay pure functions of (parameters, inputs, key).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

def _identity(x: jax.Array) -> jax.Array:
    return x


ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "elu": jax.nn.elu,
    "tanh": jnp.tanh,
    "swish": jax.nn.swish,
    "identity": _identity,
}
"""Hidden activations by name; models store the name and look the function up here, so they pickle."""


def _activation(name: str) -> Callable[[jax.Array], jax.Array]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    """Inverted dropout of ``x`` with drop probability ``rate``; the identity when ``key`` is None."""
    if key is None or rate <= 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


def _keys(key: jax.Array | None, n: int) -> list[jax.Array | None]:
    return [None] * n if key is None else list(jax.random.split(key, n))


class MLPAutoencoder(nnx.Module):
    """An MLP autoencoder: encoder widths → bottleneck → decoder widths → d output scores.

    Args:
      features: width ``d`` of a sample.
      encoder: hidden widths before the bottleneck.
      latent: bottleneck width.
      decoder: hidden widths after the bottleneck (empty for the reference model of study 1).
      mask_input: append the missing indicator to the input (input width 2d), as study 1 does.
      dropout: drop rate after every hidden layer (training only).
      activation: hidden activation; ``latent_activation`` for the bottleneck.
      skip: add a linear map from the input straight to the output scores, beside the bottleneck: the
        part of each column that is a linear function of the others need not squeeze through the code.
        ``encode``/``decode`` stay the bottleneck path alone.
      dtype: compute dtype (``jnp.bfloat16`` on accelerators); parameters stay float32.
    """

    def __init__(
        self,
        features: int,
        encoder: Sequence[int],
        latent: int,
        decoder: Sequence[int] = (),
        *,
        mask_input: bool = True,
        dropout: float = 0.0,
        activation: str = "relu",
        latent_activation: str = "relu",
        skip: bool = False,
        dtype: jnp.dtype | None = None,
        rngs: nnx.Rngs,
    ) -> None:
        if features < 1 or latent < 1:
            raise ValueError(f"features and latent must be positive, got {features} and {latent}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.features = features
        self.mask_input = mask_input
        self.dropout_rate = dropout
        _activation(activation)
        _activation(latent_activation)
        self.activation = activation
        self.latent_activation = latent_activation
        width_in = 2 * features if mask_input else features
        enc_widths = [width_in, *encoder, latent]
        dec_widths = [latent, *decoder, features]
        self.encoder_layers = nnx.List(
            [nnx.Linear(a, b, dtype=dtype, rngs=rngs) for a, b in zip(enc_widths[:-1], enc_widths[1:])]
        )
        self.decoder_layers = nnx.List(
            [nnx.Linear(a, b, dtype=dtype, rngs=rngs) for a, b in zip(dec_widths[:-1], dec_widths[1:])]
        )
        self.skip = nnx.Linear(width_in, features, dtype=dtype, rngs=rngs) if skip else None

    def _input(self, x: jax.Array, missing: jax.Array | None) -> jax.Array:
        if not self.mask_input:
            return x
        m = jnp.zeros_like(x) if missing is None else missing.astype(x.dtype)
        return jnp.concatenate([x, m], axis=-1)

    def encode(self, x: jax.Array, missing: jax.Array | None = None, *, key: jax.Array | None = None) -> jax.Array:
        """Bottleneck code of ``x``; ``missing`` (1 where missing) is appended when ``mask_input``."""
        return self._encode(self._input(x, missing), key)

    def _encode(self, h: jax.Array, key: jax.Array | None) -> jax.Array:
        ks = _keys(key, len(self.encoder_layers))
        for i, layer in enumerate(self.encoder_layers):
            h = layer(h)
            last = i == len(self.encoder_layers) - 1
            h = _activation(self.latent_activation if last else self.activation)(h)
            h = dropout(h, self.dropout_rate, ks[i])
        return h

    def decode(self, z: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        """Output scores (logits) for a bottleneck code ``z``."""
        h = z
        ks = _keys(key, len(self.decoder_layers))
        for i, layer in enumerate(self.decoder_layers):
            h = layer(h)
            if i < len(self.decoder_layers) - 1:
                h = dropout(_activation(self.activation)(h), self.dropout_rate, ks[i])
        return h.astype(jnp.float32)

    def __call__(self, x: jax.Array, missing: jax.Array | None = None, *, key: jax.Array | None = None) -> jax.Array:
        k1, k2 = _keys(key, 2)
        h = self._input(x, missing)
        out = self.decode(self._encode(h, k1), key=k2)
        return out if self.skip is None else out + self.skip(h).astype(jnp.float32)


def reference_mlp(features: int, *, seed: int | jax.Array = 0, dropout: float = 0.5, **kwargs) -> MLPAutoencoder:
    """Study 1's masked MLP: input values ‖ missing mask, ReLU widths min(2000, 8d), min(500, 2d), ceil(d/2).

    Args:
      features: width ``d`` of a sample.
      seed: the seed (or PRNG key) of the initial parameters.
      dropout: drop rate after every hidden layer (training only).
      **kwargs: further :class:`MLPAutoencoder` options (``activation``, ``skip``, ``dtype``...).

    Returns:
      The :class:`MLPAutoencoder`, with no decoder layers after the bottleneck.
    """
    d = features
    return MLPAutoencoder(
        d, encoder=(min(2000, 8 * d), min(500, 2 * d)), latent=math.ceil(d / 2), decoder=(),
        mask_input=True, dropout=dropout, rngs=nnx.Rngs(seed), **kwargs,
    )


def symmetric_mlp(
    features: int, hidden: Sequence[int] | None = None, latent: int | None = None, *, seed: int | jax.Array = 0, **kwargs
) -> MLPAutoencoder:
    """A symmetric MLP autoencoder (encoder widths mirrored in the decoder) with an explicit bottleneck.

    Args:
      features: width ``d`` of a sample.
      hidden: the encoder's hidden widths; None for (min(2000, 8d), min(500, 2d)).
      latent: the bottleneck width; None for max(2, ceil(d / 2)).
      seed: the seed (or PRNG key) of the initial parameters.
      **kwargs: further :class:`MLPAutoencoder` options (``mask_input``, ``dropout``, ``skip``...).

    Returns:
      The :class:`MLPAutoencoder`.
    """
    d = features
    hidden = tuple(hidden) if hidden is not None else (min(2000, 8 * d), min(500, 2 * d))
    latent = latent if latent is not None else max(2, math.ceil(d / 2))
    return MLPAutoencoder(d, encoder=hidden, latent=latent, decoder=tuple(reversed(hidden)), rngs=nnx.Rngs(seed), **kwargs)


class ConvAutoencoder(nnx.Module):
    """A convolutional autoencoder for square single-channel images given as flat vectors (h*w,).

    Two stride-2 convolutions down, a dense bottleneck, two stride-2 transposed convolutions up. With
    ``mask_input`` the missing indicator is a second input channel.

    Args:
      height, width: the image size (padded with zeros to multiples of 4 inside, the output cropped back).
      channels: the two convolutions' output channels.
      latent: bottleneck width.
      mask_input: give the missing indicator as a second input channel.
      dropout: drop rate after the bottleneck (training only).
      dtype: compute dtype (``jnp.bfloat16`` on accelerators); parameters stay float32.
      rngs: the parameters' random streams (``nnx.Rngs(seed)``).
    """

    def __init__(
        self,
        height: int = 28,
        width: int = 28,
        channels: Sequence[int] = (32, 64),
        latent: int = 64,
        *,
        mask_input: bool = False,
        dropout: float = 0.0,
        dtype: jnp.dtype | None = None,
        rngs: nnx.Rngs,
    ) -> None:
        if height < 1 or width < 1:
            raise ValueError(f"ConvAutoencoder needs a positive image size, got {height}x{width}")
        c1, c2 = channels
        self.height, self.width, self.features = height, width, height * width
        self.padded = (height + (-height) % 4, width + (-width) % 4)
        self.mask_input = mask_input
        self.dropout_rate = dropout
        self.c2 = c2
        cin = 2 if mask_input else 1
        self.conv1 = nnx.Conv(cin, c1, (3, 3), strides=2, dtype=dtype, rngs=rngs)
        self.conv2 = nnx.Conv(c1, c2, (3, 3), strides=2, dtype=dtype, rngs=rngs)
        flat = (self.padded[0] // 4) * (self.padded[1] // 4) * c2
        self.to_latent = nnx.Linear(flat, latent, dtype=dtype, rngs=rngs)
        self.from_latent = nnx.Linear(latent, flat, dtype=dtype, rngs=rngs)
        self.deconv1 = nnx.ConvTranspose(c2, c1, (3, 3), strides=2, dtype=dtype, rngs=rngs)
        self.deconv2 = nnx.ConvTranspose(c1, 1, (3, 3), strides=2, dtype=dtype, rngs=rngs)

    def encode(self, x: jax.Array, missing: jax.Array | None = None, *, key: jax.Array | None = None) -> jax.Array:
        lead = x.shape[:-1]
        img = x.reshape(-1, self.height, self.width, 1)
        if self.mask_input:
            m = jnp.zeros_like(x) if missing is None else missing.astype(x.dtype)
            img = jnp.concatenate([img, m.reshape(-1, self.height, self.width, 1)], axis=-1)
        hp, wp = self.padded
        img = jnp.pad(img, ((0, 0), (0, hp - self.height), (0, wp - self.width), (0, 0)))
        h = jax.nn.relu(self.conv1(img))
        h = jax.nn.relu(self.conv2(h))
        z = self.to_latent(h.reshape(h.shape[0], -1))
        z = dropout(z, self.dropout_rate, key)
        return z.reshape(*lead, -1)

    def decode(self, z: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        lead = z.shape[:-1]
        h = jax.nn.relu(self.from_latent(z.reshape(-1, z.shape[-1])))
        h = h.reshape(-1, self.padded[0] // 4, self.padded[1] // 4, self.c2)
        h = jax.nn.relu(self.deconv1(h))
        h = self.deconv2(h)[:, : self.height, : self.width]
        return h.reshape(*lead, self.features).astype(jnp.float32)

    def __call__(self, x: jax.Array, missing: jax.Array | None = None, *, key: jax.Array | None = None) -> jax.Array:
        return self.decode(self.encode(x, missing, key=key))


def weight_penalty(model: nnx.Module, l1: float = 0.0, l2: float = 0.0) -> jax.Array:
    """L1/L2 penalty summed over every kernel (weight matrix) of ``model``; biases are not penalised."""
    total = jnp.zeros(())
    if l1 == 0.0 and l2 == 0.0:
        return total
    for path, value in nnx.iter_graph(model):
        if isinstance(value, nnx.Param) and path and path[-1] == "kernel":
            w = value[...]
            total = total + l1 * jnp.abs(w).sum() + l2 * jnp.square(w).sum()
    return total
