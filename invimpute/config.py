"""The settings the :class:`~invimpute.Imputer` passes whole to its parts, and how they are given.

Every setting has one home, a frozen dataclass with one default per field: :class:`ModelConfig` (which
autoencoder), :class:`~invimpute.training.loop.TrainConfig` (how it is trained),
:class:`~invimpute.inversion.batch.InversionConfig` (reverse training), :class:`UncertaintyConfig`
(calibration and multiple imputation) and :class:`EncodingConfig` (what counts as missing, how columns
are encoded). The Imputer takes each as an instance, a dict of its fields, or None for the defaults;
:func:`coerce` turns any of those into the instance and names an unknown field with the valid ones.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from invimpute.encoding.encoder import MAX_LEVELS
from invimpute.encoding.missingness import AUTO
from invimpute.encoding.treatment import check_overrides
from invimpute.models.networks import ACTIVATIONS, ConvAutoencoder, reference_mlp, symmetric_mlp
from invimpute.tables.scaling import SCALINGS

ARCHITECTURES = ("auto", "mlp", "reference", "conv")
HEADS = ("typed", "sigmoid")
MIN_WIDTH, MAX_WIDTH = 256, 256
"""The first hidden layer of the default MLP: eight units per encoded column, within [MIN_WIDTH, MAX_WIDTH]
(the second has half as many). A floor of 128 made a 699-row table's call 3.5x faster at the same error,
but cost letter 1.9-2.2% RMSE at 1,500 rows to full size on development masks
(``benchmarks/results/width_dev.md``), so small tables keep 256 units."""

C = TypeVar("C")


def coerce(cls: type[C], value: Any, name: str) -> C:
    """``value`` as a ``cls`` instance: itself, ``cls(**value)`` for a dict, ``cls()`` for None."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        valid = [f.name for f in fields(cls)]
        unknown = [k for k in value if k not in valid]
        if unknown:
            raise ValueError(f"unknown {name} settings {unknown}; valid {cls.__name__} fields: {valid}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
    raise TypeError(f"{name} must be a {cls.__name__}, a dict of its fields or None, got {type(value).__name__}")


def with_fields(config: C, changes: Mapping[str, Any], name: str) -> C:
    """``config`` with ``changes`` applied (``set_params(train__steps=...)``); unknown names raise."""
    valid = [f.name for f in fields(config)]
    unknown = [k for k in changes if k not in valid]
    if unknown:
        raise ValueError(f"unknown {name} settings {unknown}; valid {type(config).__name__} fields: {valid}")
    return replace(config, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()})


def as_dict(config: Any) -> dict[str, Any]:
    """The fields of a config dataclass as a plain dict (for ``get_params`` and manifests)."""
    assert is_dataclass(config)
    return {f.name: getattr(config, f.name) for f in fields(config)}


def _choice(cls: str, name: str, value: Any, valid: Sequence) -> None:
    if value not in valid:
        raise ValueError(f"{cls}.{name} must be one of {tuple(valid)}, got {value!r}")


def _rate(cls: str, name: str, value: Any, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not ((0.0 < value) if low_open else (0.0 <= value)) or not value < 1.0:
        raise ValueError(f"{cls}.{name} must be a number in {'(0' if low_open else '[0'}, 1), got {value!r}")


def _widths(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value or any(
            isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in value):
        raise ValueError(f"ModelConfig.hidden must be a non-empty sequence of integers >= 1 (or None to size "
                         f"it from the table), got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """Which autoencoder to build.

    Attributes:
      architecture: ``"auto"`` (``"conv"`` on images, ``"mlp"`` on tables), ``"mlp"`` (symmetric, with a
        missing-indicator input), ``"reference"`` (study 1's masked MLP) or ``"conv"`` (images: a
        convolutional autoencoder, :class:`~invimpute.models.networks.ConvAutoencoder`).
      hidden, latent: layer widths; None sizes them from the encoded width (:meth:`widths`).
      dropout: dropout rate on hidden layers (also the source of Monte-Carlo draws).
      mask_input: feed the missing indicator to the network beside the values.
      skip: a linear path from the input to the output scores beside the bottleneck, for the part of
        each column that is linear in the others; None: on for ``ae``, ``recurrent`` and ``auto``, off for
        ``reverse`` (reverse training reads the model through its bottleneck and refuses it).
      activation: hidden-layer nonlinearity, by name.
      dtype: parameter and compute dtype (``"float32"`` or ``"bfloat16"``).
      head: ``"typed"`` (softmax per categorical group, sigmoid for [0, 1], identity for numbers) or
        ``"sigmoid"`` (study 1's sigmoid on every output).
    """

    architecture: str = "auto"
    hidden: tuple[int, ...] | None = None
    latent: int | None = None
    dropout: float = 0.0
    mask_input: bool = True
    skip: bool | None = None
    activation: str = "relu"
    dtype: str = "float32"
    head: str = "typed"

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        _choice("ModelConfig", "architecture", self.architecture, ARCHITECTURES)
        _choice("ModelConfig", "head", self.head, HEADS)
        _choice("ModelConfig", "activation", self.activation, sorted(ACTIVATIONS))
        _choice("ModelConfig", "dtype", self.dtype, ("float32", "bfloat16", "float16"))
        _widths(self.hidden)
        if self.latent is not None and (isinstance(self.latent, bool) or not isinstance(self.latent, (int, np.integer))
                                        or self.latent < 1):
            raise ValueError(f"ModelConfig.latent must be an integer >= 1 or None, got {self.latent!r}")
        _rate("ModelConfig", "dropout", self.dropout)
        if self.skip not in (None, True, False):
            raise ValueError(f"ModelConfig.skip must be True, False or None, got {self.skip!r}")

    def for_algorithm(self, algorithm: str) -> "ModelConfig":
        """This config with ``skip=None`` resolved for ``algorithm`` (off for reverse training only)."""
        return self if self.skip is not None else replace(self, skip=algorithm != "reverse")

    def widths(self, features: int) -> tuple[tuple[int, ...], int]:
        """(hidden widths, latent width) for ``features`` encoded columns: given ones as they are, else
        two hidden layers of :data:`MAX_WIDTH` and half of it and a bottleneck as wide as the table (8 to 64): enough capacity to learn the relations of
        a small table, and a step cost that keeps wide tables within the time of the fast peers."""
        hidden = self.hidden
        if hidden is None:
            first = int(min(MAX_WIDTH, max(MIN_WIDTH, 8 * features)))
            hidden = (first, first // 2)
        latent = self.latent if self.latent is not None else int(min(64, max(8, features)))
        return tuple(int(h) for h in hidden), int(latent)

    def build(self, features: int, seed: int | jax.Array, image_shape: tuple[int, int] | None = None) -> nnx.Module:
        """A freshly initialised autoencoder for ``features`` encoded columns (``seed``: an int or a PRNG key).

        The parameters are drawn by one compiled program per structure (:func:`_initialiser`), reused for
        every seed: drawn eagerly, each layer's initialiser would compile programs of its own, seconds of a
        fresh process's first fit. The values are those of building the model eagerly from the same seed.
        """
        key = seed if isinstance(seed, jax.Array) else jax.random.key(seed)
        hashable = replace(self, hidden=None if self.hidden is None else tuple(int(h) for h in self.hidden))
        graphdef, init = _initialiser(hashable, int(features), None if image_shape is None else tuple(image_shape))
        return nnx.merge(graphdef, init(key))

    def construct(self, features: int, seed: int | jax.Array, image_shape: tuple[int, int] | None = None) -> nnx.Module:
        """The autoencoder :meth:`build` makes, built eagerly (one random draw at a time)."""
        dtype = jnp.dtype(self.dtype)
        common = dict(seed=seed, dropout=self.dropout, activation=self.activation, skip=bool(self.skip), dtype=dtype)
        if self.architecture == "reference":
            return reference_mlp(features, **common)
        architecture = self.architecture
        if architecture == "auto":
            architecture = "conv" if image_shape is not None else "mlp"
        if architecture == "mlp":
            hidden, latent = self.widths(features)
            return symmetric_mlp(features, hidden, latent, mask_input=self.mask_input, **common)
        if image_shape is None:
            raise ValueError("ModelConfig.architecture='conv' needs image input (an (n, height, width) array)")
        h, w = image_shape
        if h * w != features:
            raise ValueError(f"image shape {image_shape} has {h * w} pixels, the data has {features} columns")
        return ConvAutoencoder(h, w, latent=self.latent or 64, mask_input=self.mask_input, dropout=self.dropout,
                               dtype=dtype, rngs=nnx.Rngs(seed))


@functools.lru_cache(maxsize=32)
def _initialiser(config: ModelConfig, features: int, image_shape: tuple[int, int] | None):
    """(graph definition, compiled ``key -> parameters``) of ``config``'s model for ``features`` columns."""
    graphdef = nnx.graphdef(nnx.eval_shape(lambda: config.construct(features, jax.random.key(0), image_shape)))
    return graphdef, jax.jit(lambda key: nnx.state(config.construct(features, key, image_shape)))


@dataclass(frozen=True)
class UncertaintyConfig:
    """Calibration at fit time and the sources of spread of multiple imputation (neural methods).

    Attributes:
      calibrate: hold ``fraction`` of the observed cells out of training and fit on them the temperature
        of categorical beliefs and the numeric interval scale (needed for calibrated beliefs and numeric
        sampling; ``auto`` uses the same cells to choose its fill per column).
      fraction: share of observed cells held out for it.
      restarts: reverse training from perturbed starts (``reverse`` only).
      dropout: Monte-Carlo dropout in the model.
      sample_categorical: draw categorical / boolean cells from their calibrated distributions.
      sample_numeric: draw numeric cells from ``N(mean, calibrated sd)``.
    """

    calibrate: bool = True
    fraction: float = 0.1
    restarts: bool = True
    dropout: bool = True
    sample_categorical: bool = True
    sample_numeric: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        for name in ("calibrate", "restarts", "dropout", "sample_categorical", "sample_numeric"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"UncertaintyConfig.{name} must be True or False, got {getattr(self, name)!r}")
        _rate("UncertaintyConfig", "fraction", self.fraction, low_open=True)


@dataclass(frozen=True)
class EncodingConfig:
    """What counts as missing and how columns become numbers.

    Attributes:
      scaling: numeric columns ``"standard"`` (zero mean, unit variance: heavy-tailed columns train as
        easily as the others), ``"minmax"`` into [0, 1], or ``"none"`` (see
        :class:`~invimpute.encoding.encoder.TableEncoder`).
      categorical: names of numeric columns to treat as categories.
      tokens: strings that mean missing (see :func:`~invimpute.encoding.missingness.detect`): ``"auto"``
        (unambiguous tokens such as ``""``, ``"NA"``, ``"NULL"`` everywhere; ``"none"``, ``"None"``, ``"na"``,
        ``"?"`` judged per column and the judgement reported in ``report_``), a sequence (exactly those, in
        every column), a dict column -> sequence (exactly those in that column, ``"auto"`` elsewhere: ``{"exp":
        []}`` keeps every ``"none"`` of ``exp``), or None for none.
      sentinels: numbers that mean missing, per column (a dict) or everywhere (a sequence).
      max_levels: levels a categorical column keeps one-hot; a column with more keeps its most frequent
        ones and one "other" slot for the rest, and fills only levels seen in it (see
        :mod:`invimpute.encoding.encoder`). None one-hot encodes every level (cost grows with the levels).
      memory_limit: bytes the fit may need, by the estimate of
        :func:`~invimpute.encoding.encoder.check_fits`, before it refuses the table with an error naming
        its widest columns; None: the machine's physical memory.
      columns: a dict column -> treatment overriding the one decided from the column's values (see
        :mod:`invimpute.encoding.treatment`): ``"number"``, ``"integer"``, ``"boolean"``, ``"category"``,
        ``"high_cardinality"``, ``"datetime"``, ``"constant"`` or ``"passthrough"`` (given back untouched,
        never a feature).
    """

    scaling: str = "standard"
    categorical: tuple = ()
    tokens: str | tuple[str, ...] | Mapping | None = AUTO
    sentinels: Mapping | Sequence | None = None
    max_levels: int | None = MAX_LEVELS
    memory_limit: float | None = None
    columns: Mapping | None = None

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        _choice("EncodingConfig", "scaling", self.scaling, SCALINGS)
        tokens = self.tokens
        if isinstance(tokens, str) and tokens != AUTO:
            raise ValueError(f"EncodingConfig.tokens must be 'auto', a sequence of strings, a dict column -> "
                             f"strings or None, got {tokens!r}")
        if isinstance(tokens, Mapping) and any(isinstance(v, str) or not isinstance(v, (Sequence, type(None)))
                                               for v in tokens.values()):
            raise ValueError(f"EncodingConfig.tokens as a dict maps each column to a list of strings that mean "
                             f"missing there (for example {{'exp': ['?']}}), got {tokens!r}")
        check_overrides(self.columns)
        m = self.max_levels
        if m is not None and (isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 2):
            raise ValueError(f"EncodingConfig.max_levels must be an integer >= 2 or None (every level one-hot), "
                             f"got {m!r}")
        b = self.memory_limit
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float, np.integer, np.floating))
                              or not b > 0):
            raise ValueError(f"EncodingConfig.memory_limit must be a number of bytes > 0 or None (the machine's "
                             f"memory), got {b!r}")

    def memory_bytes(self) -> float:
        """The byte limit in force: ``memory_limit``, or the machine's physical memory."""
        if self.memory_limit is not None:
            return float(self.memory_limit)
        try:
            return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return float("inf")


__all__ = ["ModelConfig", "UncertaintyConfig", "EncodingConfig", "coerce", "with_fields", "as_dict",
           "ARCHITECTURES", "HEADS"]
