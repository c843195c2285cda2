"""Imputation methods on encoded matrices, behind one small protocol, and the registry of their names.

A method sees only arrays: ``X`` float32 (n, d), ``observed`` bool (n, d) (True where present) and the
:class:`~invimpute.layout.Layout`. ``fit`` learns from the incomplete matrix; ``impute`` returns a full
(n, d) matrix in the encoded domain (categorical groups as probabilities, decoded later by arg-max).
:class:`Autoencoding` implements the library's own methods (``ae``, ``recurrent``, ``reverse``); the
peers live in :mod:`invimpute.baselines`, :mod:`invimpute.gain` and :mod:`invimpute.miwae`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from invimpute.heads import apply_head
from invimpute.inversion import InversionConfig, code_radius, column_means, invert
from invimpute.layout import UNIT, Layout
from invimpute.models import ConvAutoencoder, MLPAutoencoder, reference_mlp, symmetric_mlp
from invimpute.training import TrainConfig, fit, predict


class Method(Protocol):
    """What :class:`~invimpute.Imputer` needs of an imputation method."""

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "Method": ...

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray: ...


NEURAL = ("ae", "recurrent", "reverse")
MODELS = ("mlp", "reference", "conv")


@dataclass(frozen=True)
class ModelConfig:
    """Which autoencoder to build: ``"mlp"`` (symmetric), ``"reference"`` (study 1) or ``"conv"`` (images)."""

    kind: str = "mlp"
    hidden: tuple[int, ...] | None = None
    latent: int | None = None
    dropout: float = 0.5
    mask_input: bool = True
    activation: str = "relu"
    image_shape: tuple[int, int] | None = None
    dtype: str = "float32"
    skip: bool = False

    def build(self, features: int, seed: int) -> nnx.Module:
        dtype = jnp.dtype(self.dtype)
        if self.kind == "reference":
            return reference_mlp(
                features, seed=seed, dropout=self.dropout, activation=self.activation, skip=self.skip, dtype=dtype
            )
        if self.kind == "mlp":
            return symmetric_mlp(
                features, self.hidden, self.latent, seed=seed, dropout=self.dropout,
                mask_input=self.mask_input, activation=self.activation, skip=self.skip, dtype=dtype,
            )
        if self.kind == "conv":
            if self.image_shape is None:
                raise ValueError("model='conv' needs image_shape=(height, width) (set automatically for image arrays)")
            h, w = self.image_shape
            if h * w != features:
                raise ValueError(f"image_shape {self.image_shape} has {h * w} pixels, the data has {features} columns")
            return ConvAutoencoder(
                h, w, latent=self.latent or 64, mask_input=self.mask_input, dropout=self.dropout,
                dtype=dtype, rngs=nnx.Rngs(seed),
            )
        raise ValueError(f"unknown model {self.kind!r}; choose one of {MODELS}")


class Autoencoding:
    """The library's methods: train autoencoder(s) with a masked loss, then fill missing entries.

    ``kind="ae"``: one masked forward pass. ``"recurrent"``: study 1, refill after every epoch with
    weight ``w`` during training, and the same refill rule iterated at imputation time. ``"reverse"``:
    reverse training (:func:`~invimpute.inversion.invert`) through the frozen model. ``ensemble`` > 1
    trains that many models from split keys and averages their fills.
    """

    def __init__(
        self,
        kind: str = "reverse",
        model: ModelConfig = ModelConfig(),
        train: TrainConfig = TrainConfig(),
        inversion: InversionConfig = InversionConfig(),
        ensemble: int = 1,
        refill_steps: int = 50,
        head: str = "typed",
    ) -> None:
        self.kind = kind
        self.model_config = model
        self.train_config = train
        self.inversion_config = inversion
        self.ensemble = ensemble
        self.refill_steps = refill_steps
        self.head = head
        self.models_: list[nnx.Module] = []
        self.histories_: list = []

    def _layout(self, layout: Layout) -> Layout:
        """The layout the model is trained with: study 1's sigmoid-everything head when ``head="sigmoid"``."""
        return Layout(kind=(UNIT,) * layout.width, group=layout.group) if self.head == "sigmoid" else layout

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "Autoencoding":
        if self.kind not in NEURAL:
            raise ValueError(f"unknown neural method {self.kind!r}; choose one of {NEURAL}")
        if isinstance(self.ensemble, bool) or not isinstance(self.ensemble, (int, np.integer)) or self.ensemble < 1:
            raise ValueError(f"ensemble must be an integer >= 1, got {self.ensemble!r}")
        self.layout_ = self._layout(layout)
        train = self.train_config
        if self.kind == "recurrent" and train.recurrent_weight is None:
            train = replace(train, recurrent_weight=0.5)
        self.models_, self.histories_, self.fills_ = [], [], []
        for i, k in enumerate(jax.random.split(key, self.ensemble)):
            seed = int(jax.random.randint(k, (), 0, 2**31 - 1))
            model = self.model_config.build(X.shape[1], seed)
            res = fit(model, X, observed, self.layout_, train, jax.random.fold_in(k, i))
            self.models_.append(res.model)
            self.histories_.append(res.history)
            self.fills_.append(res.filled)
        self.mean_ = column_means(X, observed)
        inv = self.inversion_config
        if self.kind == "reverse" and inv.code_penalty == "sphere" and inv.radius is None:
            self.radii_ = [code_radius(m, X, observed) for m in self.models_]
        else:
            self.radii_ = [inv.radius] * len(self.models_)
        self.fit_data_ = (X, observed)
        return self

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        if not self.models_:
            raise RuntimeError("this method is not fitted yet: call fit first")
        fills = []
        for i, model in enumerate(self.models_):
            k = jax.random.fold_in(key, i)
            if self.kind == "ae":
                fills.append(np.asarray(predict(model, jnp.where(observed, X, 0.0), ~observed, self.layout_)))
            elif self.kind == "recurrent":
                if self._is_fit_data(X, observed):
                    fills.append(self.fills_[i])
                else:
                    fills.append(np.asarray(_refill(model, X, observed, self.layout_, self.train_config.recurrent_weight or 0.5, self.refill_steps)))
            else:
                cfg = replace(self.inversion_config, radius=self.radii_[i])
                fills.append(invert(model, X, observed, self.layout_, cfg, k, mean=self.mean_).x)
        out = np.mean(fills, axis=0)
        return np.where(observed, X, out).astype(np.float32)

    def _is_fit_data(self, X: np.ndarray, observed: np.ndarray) -> bool:
        fx, fo = self.fit_data_
        return fx.shape == X.shape and np.array_equal(fo, observed) and np.array_equal(np.where(fo, fx, 0), np.where(observed, X, 0))


def _refill(model: nnx.Module, X: np.ndarray, observed: np.ndarray, layout: Layout, w: float, steps: int) -> jax.Array:
    """Study 1's refill rule iterated with the model fixed: ``x_miss <- (1 - w) x_miss + w * prediction``."""
    graphdef, params = nnx.split(model)
    return _refill_jit(graphdef, layout, steps, params, jnp.asarray(X), jnp.asarray(observed), w)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _refill_jit(graphdef, layout, steps, params, X, obs, w):
    model = nnx.merge(graphdef, params)
    missing = (~obs).astype(jnp.float32)

    def body(cur, _):
        pred = apply_head(model(cur, missing), layout)
        return jnp.where(obs, X, (1.0 - w) * cur + w * pred), None

    out, _ = jax.lax.scan(body, jnp.where(obs, X, 0.0), None, length=steps)
    return out


def registry() -> dict[str, Callable[..., Method]]:
    """Every method name :class:`~invimpute.Imputer` accepts, mapped to a factory of keyword options."""
    from invimpute import baselines, gain, miwae

    return {
        "ae": functools.partial(Autoencoding, "ae"),
        "recurrent": functools.partial(Autoencoding, "recurrent"),
        "reverse": functools.partial(Autoencoding, "reverse"),
        "mean": baselines.MeanMode,
        "knn": baselines.KNN,
        "iterative": baselines.Iterative,
        "missforest": functools.partial(baselines.Iterative, estimator="extra_trees"),
        "softimpute": baselines.SoftImpute,
        "gain": gain.GAIN,
        "miwae": miwae.MIWAE,
    }


METHODS = NEURAL + ("mean", "knn", "iterative", "missforest", "softimpute", "gain", "miwae")

__all__ = ["Method", "ModelConfig", "Autoencoding", "registry", "METHODS", "NEURAL", "MODELS", "MLPAutoencoder"]
