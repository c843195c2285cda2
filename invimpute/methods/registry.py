"""Imputation methods on encoded matrices, behind one small protocol, and the registry of their names.

A method sees only arrays: ``X`` float32 (n, d), ``observed`` bool (n, d) (True where present) and the
:class:`~invimpute.encoding.layout.Layout`. ``fit`` learns from the incomplete matrix; ``impute`` returns a full
(n, d) matrix in the encoded domain (categorical groups as probabilities, decoded later by arg-max).
:class:`Autoencoding` implements the library's own methods (``ae``, ``recurrent``, ``reverse``); the
peers live in :mod:`invimpute.peers.baselines`, :mod:`invimpute.peers.gain`, :mod:`invimpute.peers.miwae` and
:mod:`invimpute.peers.remasker`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

if TYPE_CHECKING:
    import pandas as pd

from invimpute.models.heads import apply_head
from invimpute.inversion.batch import InversionConfig, code_radius, column_means, invert
from invimpute.encoding.layout import UNIT, Layout
from invimpute.encoding.missingness import ImageDamage
from invimpute.config import ModelConfig
from invimpute.scoring.selection import blend, choose_columns, seeded_rng, selection_frame, weight_matrix
from invimpute.runtime.progress import stage
from invimpute.training.loop import TrainConfig, fit_members, one_pass
from invimpute.inversion.validated import invert_validated
from invimpute.peers.neighbours import KNN_DONORS, NearestNeighbours


class Method(Protocol):
    """What :class:`~invimpute.Imputer` needs of an imputation method."""

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "Method": ...

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray: ...


NEURAL = ("ae", "recurrent", "reverse")
REVERSE_CANDIDATES = ("mean", "one_pass", "reverse")
"""What ``reverse`` scores per column on held-out cells: column means, the model's one pass, reverse training."""
CHOICES = ("fit", "batch")
"""When ``reverse`` chooses each column's fill: once at fit, on the cells held out for early stopping, or
on every batch it repairs, on pseudo-damage copied from that batch's own damage
(:func:`~invimpute.inversion.validated.invert_validated`)."""


def steps_per_evaluation(train: TrainConfig, n_rows: int) -> int:
    """Optimiser steps between two evaluations of a fit of ``train`` on ``n_rows`` rows (its training
    history has one entry per evaluation)."""
    block, _ = train.plan(n_rows)
    return block * train.steps_per_epoch(n_rows)


@functools.partial(jax.jit, static_argnums=1)
def _member_keys(key: jax.Array, members: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A fit's random draws from its ``key``, in one program: each member's parameter seed and training
    key, and the key of the choice between fills."""
    k_members, k_check = jax.random.split(key)
    member_keys = jax.random.split(k_members, members)
    seeds = jax.vmap(lambda k: jax.random.randint(k, (), 0, 2**31 - 1))(member_keys)
    return seeds, jax.vmap(jax.random.fold_in)(member_keys, jnp.arange(members)), k_check


def row_groups(image_shape: tuple[int, int]) -> tuple[int, ...]:
    """The pixel row of every pixel of a flattened ``image_shape`` image: what ``corruption_by="row"`` hides together."""
    h, w = image_shape
    return tuple(int(i) // w for i in range(h * w))


class Autoencoding:
    """The library's methods: train autoencoder(s) with a masked loss, then fill missing entries.

    ``algorithm="ae"``: one masked forward pass. ``"recurrent"``: study 1, refill after every evaluation
    with weight ``w`` during training, and the same refill rule iterated at imputation time.
    ``"reverse"``: reverse training (:func:`~invimpute.inversion.batch.invert`) through the frozen model.
    ``train.members`` > 1 trains that many models from split keys together
    (:func:`~invimpute.training.loop.fit_members`, one compiled program over the members) and averages
    their fills. ``choice`` (``reverse`` only): ``"fit"`` chooses each column's fill once, on the cells held
    out at fit; ``"batch"`` chooses it on every batch repaired, among the one pass and reverse training in
    input and latent mode, on pseudo-damage laid out like the batch's own damage: for damage the training
    never showed, at about three times the cost, and the repair of a row then depends on its batch.
    """

    def __init__(
        self,
        algorithm: str = "reverse",
        model: ModelConfig = ModelConfig(),
        train: TrainConfig = TrainConfig(),
        inversion: InversionConfig = InversionConfig(),
        image_shape: tuple[int, int] | None = None,
        progress: bool = False,
        choice: str = "fit",
    ) -> None:
        self.algorithm = algorithm
        self.choice = choice
        self.model_config = model.for_algorithm(algorithm)
        self.train_config = train
        self.inversion_config = inversion
        self.image_shape = image_shape
        self.progress = progress
        self.models_: list[nnx.Module] = []
        self.histories_: list = []
        self.steps_per_evaluation_: int | None = None

    def validate(self) -> None:
        """Raise ValueError naming the first setting that cannot work with this algorithm."""
        if self.algorithm not in NEURAL:
            raise ValueError(f"unknown neural method {self.algorithm!r}; choose one of {NEURAL}")
        if self.choice not in CHOICES:
            raise ValueError(f"choice must be one of {CHOICES}, got {self.choice!r}")
        if self.choice != "fit" and self.algorithm != "reverse":
            raise ValueError(f"choice={self.choice!r} is for method='reverse' (the others have no fill to choose)")
        if self.choice == "batch" and self.inversion_config.init in ("fill", "knn"):
            raise ValueError(f"choice='batch' scores reverse training on cells it hides from the batch, and "
                             f"InversionConfig(init={self.inversion_config.init!r}) would start those cells from a "
                             f"fill that saw them; use init='auto', 'model' or 'mean', or choice='fit'")
        self.model_config.validate()
        self.train_config.validate()
        if self.algorithm == "reverse":
            self.inversion_config.validate()
            if self.model_config.skip:
                raise ValueError(
                    "ModelConfig.skip=True is for method='ae' or 'recurrent': reverse training reads the model "
                    "through its bottleneck (encode/decode), which the skip path bypasses; set skip=False")
        if self.train_config.corruption_by in ("row", "mixed") and self.image_shape is None:
            raise ValueError(f"TrainConfig.corruption_by={self.train_config.corruption_by!r} needs image input "
                             "(an (n, height, width) array)")

    def resolved_inversion_config(self) -> InversionConfig:
        """The inversion settings as this method runs them, ``"auto"`` resolved: on images (unless
        ``choice="batch"``, which scores its own candidates) reverse training starts from the fill of the
        nearest training images (``init="knn"``) and, through a model read by its bottleneck, optimises the
        code (``mode="latent"``); on tables it starts from the one pass and optimises the missing entries."""
        inv = self.inversion_config
        images = self.image_shape is not None and self.choice == "fit"
        model = self.model_config
        bottleneck = model.architecture in ("auto", "conv") or (model.architecture == "mlp" and model.skip is False)
        if inv.init == "auto":
            inv = replace(inv, init="knn" if images else "model")
        if inv.mode == "auto":
            inv = replace(inv, mode="latent" if images and bottleneck else "input")
        return inv

    def training_layout(self, layout: Layout) -> Layout:
        """The layout the model is trained with: study 1's sigmoid-everything head when ``head="sigmoid"``."""
        return Layout(kind=(UNIT,) * layout.width, group=layout.group) if self.model_config.head == "sigmoid" else layout

    def resolved_train_config(self, n_rows: int) -> TrainConfig:
        """The training settings as :func:`~invimpute.training.loop.fit` takes them on ``n_rows`` rows: the
        refill weight set, the batch and step size (:meth:`~invimpute.training.config.TrainConfig.resolved`)
        and ``corruption_by`` resolved for the data (``"auto"``: the image step size and mixed
        image damage on images, the table ones on tables;
        ``"row"``: one group per pixel row; ``"mixed"``: an :class:`~invimpute.encoding.missingness.ImageDamage`)."""
        train = self.train_config
        if self.algorithm == "recurrent" and train.recurrent_weight is None:
            train = replace(train, recurrent_weight=0.5)
        train = train.resolved(n_rows, image=self.image_shape is not None)
        by = train.corruption_by
        if by == "auto":
            by = "mixed" if self.image_shape is not None else "cell"
        if by == "row":
            by = row_groups(self.image_shape)
        elif by == "mixed":
            by = ImageDamage(*self.image_shape)
        if by is not train.corruption_by:
            train = replace(train, corruption_by=by)
        return train

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "Autoencoding":
        self.validate()
        self.layout_ = self.training_layout(layout)
        train = self.resolved_train_config(X.shape[0])
        seeds, fit_keys, k_check = _member_keys(key, train.members)
        models = [self.model_config.build(X.shape[1], int(seed), self.image_shape) for seed in np.asarray(seeds)]
        results = fit_members(models, X, observed, self.layout_, train, fit_keys, progress=self.progress)
        self._keep(results, X, observed, k_check)
        self.weights_ = None
        held = results[0].held
        if self.algorithm == "reverse" and self.choice == "fit" and held.any():
            with stage("reverse: score one pass and reverse training on held-out cells", enabled=self.progress):
                self._check_inversion(np.asarray(X, np.float32), np.asarray(observed, bool), held, k_check)
        return self

    def _keep(self, results: list, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> None:
        """Keep the trained members, their histories and fills, and what imputation reads of the table (the
        donor rows of reverse training's KNN start under ``InversionConfig(init="knn")``)."""
        self.models_ = [r.model for r in results]
        self.histories_ = [r.history for r in results]
        self.steps_per_evaluation_ = steps_per_evaluation(self.resolved_train_config(X.shape[0]), X.shape[0])
        self.fills_ = [r.filled for r in results]
        self.mean_ = column_means(X, observed)
        inv = self.resolved_inversion_config()
        if self.algorithm == "reverse" and inv.code_penalty == "sphere" and inv.radius is None:
            self.radii_ = [code_radius(m, X, observed) for m in self.models_]
        else:
            self.radii_ = [inv.radius] * len(self.models_)
        self.fit_data_ = (X, observed)
        self.neighbours_ = None
        if inv.init == "knn":  # its cost scales with the rows repaired, as the inversion's does
            self.neighbours_ = NearestNeighbours(max_donors=KNN_DONORS).fit(X, observed, self.layout_, key)

    def inversion_start(self, X: np.ndarray, observed: np.ndarray, key: jax.Array,
                        neighbours: NearestNeighbours | None = None) -> tuple[np.ndarray, InversionConfig]:
        """``(X, config)`` as :func:`~invimpute.inversion.batch.invert` takes them, for every member: under
        ``init="knn"`` the missing entries hold the nearest donors' fill (of ``neighbours``, by default the
        fitted ones) and the config starts from it (``init="fill"``); else as given."""
        cfg = self.resolved_inversion_config()
        if cfg.init != "knn":
            return X, cfg
        start = (neighbours or self.neighbours_).impute(X, observed, key)
        return np.where(observed, X, start).astype(np.float32), replace(cfg, init="fill")

    def warm_refit(self, X: np.ndarray, observed: np.ndarray, key: jax.Array, share: float,
                   rate: float) -> "Autoencoding":
        """Train the fitted members further on ``(X, observed)`` (normally every observed cell, after a fit
        on fewer): ``share`` of the optimiser steps the first fit took to its kept evaluation (at least one
        evaluation block), at ``rate`` times its step size on a fresh cosine schedule, with no cell held
        out. A warm start, so the refit costs a fraction of a fit."""
        if not self.models_:
            raise RuntimeError("this method is not fitted yet: call fit first")
        train = self.resolved_train_config(X.shape[0])
        per_block = steps_per_evaluation(train, X.shape[0])
        kept = max(h.best_epoch + 1 for h in self.histories_) * per_block
        steps = max(per_block, round(share * kept))
        config = replace(train, steps=steps, epochs=None, validation_fraction=0.0,
                         learning_rate=train.step_size() * rate)
        keys = jax.random.split(key, len(self.models_))
        results = fit_members(self.models_, X, observed, self.layout_, config, keys, progress=self.progress)
        self._keep(results, np.asarray(X, np.float32), np.asarray(observed, bool), key)
        return self

    def _check_inversion(self, X: np.ndarray, observed: np.ndarray, held: np.ndarray, key: jax.Array) -> None:
        """Score the one-pass fill, reverse training from it and the column means on the cells held out for
        early stopping, and keep per column the one pass unless reverse training, a blend or the column
        means beat it clearly there (:mod:`invimpute.scoring.selection`): reverse training is kept only where it
        helps, and the fill departs from the same model's one pass only on clear evidence, judged for the
        table as a whole (``family_wise``) so that a wide table does not leave it on some column's noise."""
        train = observed & ~held
        neighbours = None  # donors without the held-out cells, so that no row is its own donor for them
        if self.neighbours_ is not None:
            neighbours = NearestNeighbours(max_donors=self.neighbours_.max_donors).fit(X, train, self.layout_, key)
        fills = self._candidate_fills(X, train, key, REVERSE_CANDIDATES, column_means(X, train), neighbours)
        preds = np.stack([fills[n] for n in REVERSE_CANDIDATES], axis=-1)
        group = self.layout_.group_array
        self.choices_ = choose_columns(list(REVERSE_CANDIDATES), preds, X, held, group, seeded_rng(key),
                                      incumbent="one_pass", strict_mean=False, family_wise=True)
        self.weights_ = weight_matrix(list(REVERSE_CANDIDATES), self.choices_, group)

    def _candidate_fills(self, X: np.ndarray, observed: np.ndarray, key: jax.Array, names, means: np.ndarray,
                         neighbours: NearestNeighbours | None = None) -> dict[str, np.ndarray]:
        """The ensemble-mean fill of each of ``names`` (``"mean"``: ``means``, ``"one_pass"``, ``"reverse"``;
        reverse training's start computed once for every member, from ``neighbours`` under a KNN start)."""
        out = {}
        if "mean" in names:
            out["mean"] = np.broadcast_to(np.asarray(means, np.float32), X.shape)
        if "one_pass" in names:
            out["one_pass"] = np.mean([self._impute_one(i, m, X, observed, jax.random.fold_in(key, i), "ae")
                                       for i, m in enumerate(self.models_)], axis=0)
        if "reverse" in names:
            start = self.inversion_start(X, observed, key, neighbours)
            out["reverse"] = np.mean([self._impute_one(i, m, X, observed, jax.random.fold_in(key, i), "reverse", start)
                                      for i, m in enumerate(self.models_)], axis=0)
        return out

    def reverse_fill(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Reverse training (:func:`~invimpute.inversion.batch.invert` under this method's
        ``InversionConfig``) through every fitted member, whatever this method's algorithm, the members'
        repairs averaged: what ``auto``'s ``inverted`` candidate fills with.

        Args:
          X: the encoded rows, (n, d); missing entries may hold anything.
          observed: (n, d) bool, True where a value is present.
          key: the PRNG key of the inversion.

        Returns:
          The repaired rows, (n, d); observed entries as in ``X``.
        """
        if not self.models_:
            raise RuntimeError("this method is not fitted yet: call fit first")
        X = np.asarray(X, np.float32)
        observed = np.asarray(observed, bool)
        fill = self._candidate_fills(X, observed, key, ("reverse",), self.mean_)["reverse"]
        return np.where(observed, X, fill).astype(np.float32)

    def trained_samples(self) -> int:
        """Rows passed through each member while it trained (optimiser steps taken, evaluations included,
        times the rows per step): the work reverse training's cost is weighed against."""
        if not self.models_:
            raise RuntimeError("this method is not fitted yet: call fit first")
        X, _ = self.fit_data_
        rows = min(self.resolved_train_config(X.shape[0]).rows_per_step(X.shape[0]), X.shape[0])
        evaluations = max(len(h.loss) for h in self.histories_)
        return int(evaluations * self.steps_per_evaluation_ * rows)

    def selection_table(self, schema) -> "pd.DataFrame | None":
        """For ``reverse``: per source column, the held-out error of the column means, the one-pass fill and
        reverse training, and the weight each has in the fill (None when no cell was held out)."""
        if getattr(self, "weights_", None) is None or not hasattr(self, "choices_"):
            return None
        return selection_frame(list(REVERSE_CANDIDATES), self.choices_, schema.names)

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        if not self.models_:
            raise RuntimeError("this method is not fitted yet: call fit first")
        if self.algorithm == "reverse" and self.choice == "batch":
            out = np.mean([self._validated_one(i, model, X, observed, jax.random.fold_in(key, i))
                           for i, model in enumerate(self.models_)], axis=0)
        elif getattr(self, "weights_", None) is not None:
            names = [n for c, n in enumerate(REVERSE_CANDIDATES) if np.any(self.weights_[c] > 0)]
            out = blend(self.weights_, self._candidate_fills(X, observed, key, names, self.mean_), list(REVERSE_CANDIDATES))
        else:
            start = self.inversion_start(X, observed, key) if self.algorithm == "reverse" else None
            out = np.mean([self._impute_one(i, model, X, observed, jax.random.fold_in(key, i), start=start)
                           for i, model in enumerate(self.models_)], axis=0)
        return np.where(observed, X, out).astype(np.float32)

    def _impute_one(self, i: int, model: nnx.Module, X: np.ndarray, observed: np.ndarray, key: jax.Array,
                    algorithm: str | None = None, start: tuple | None = None) -> np.ndarray:
        """Member ``i``'s fill by ``algorithm`` (default: this method's); ``start``: reverse training's
        :meth:`inversion_start`, when the caller computed it once for every member."""
        algorithm = algorithm or self.algorithm
        if algorithm == "ae":
            return one_pass(model, X, observed, self.layout_)
        if algorithm == "recurrent":
            if self.is_fit_data(X, observed):
                return self.fills_[i]
            train = self.resolved_train_config(X.shape[0])
            return np.asarray(_refill(model, X, observed, self.layout_, train.recurrent_weight, train.refill_steps))
        X, cfg = start if start is not None else self.inversion_start(X, observed, key)
        return invert(model, X, observed, self.layout_, replace(cfg, radius=self.radii_[i]), key, mean=self.mean_).x

    def _validated_one(self, i: int, model: nnx.Module, X: np.ndarray, observed: np.ndarray,
                       key: jax.Array) -> np.ndarray:
        """Model ``i``'s repair chosen on the batch: the one pass, this method's reverse training, and the
        same in latent mode (:func:`~invimpute.inversion.validated.invert_validated`)."""
        X, cfg = self.inversion_start(X, observed, key)
        cfg = replace(cfg, radius=self.radii_[i])
        configs = {"reverse": cfg, "latent": replace(cfg, mode="latent")}
        return invert_validated(model, X, observed, self.layout_, configs, key).x

    def is_fit_data(self, X: np.ndarray, observed: np.ndarray) -> bool:
        """Whether ``(X, observed)`` is the table the method was fitted on (recurrent keeps its training fills)."""
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


def peers() -> dict[str, Callable[..., Method]]:
    """Every peer method name :class:`~invimpute.Imputer` accepts, mapped to a factory of its keyword options."""
    from invimpute.peers import baselines
    from invimpute.peers import boosting
    from invimpute.peers import gain
    from invimpute.peers import gaussian
    from invimpute.peers import miwae
    from invimpute.peers import remasker

    return {
        "mean": baselines.MeanMode,
        "knn": baselines.KNN,
        "iterative": baselines.Iterative,
        "missforest": functools.partial(baselines.Iterative, estimator="extra_trees"),
        "softimpute": baselines.SoftImpute,
        "gaussian": gaussian.GaussianEM,
        "boosted": boosting.BoostedTrees,
        "gain": gain.GAIN,
        "miwae": miwae.MIWAE,
        "remasker": remasker.ReMasker,
    }


PEERS = ("mean", "knn", "iterative", "missforest", "softimpute", "gaussian", "boosted", "gain", "miwae", "remasker")

__all__ = ["Method", "Autoencoding", "peers", "PEERS", "NEURAL", "CHOICES", "row_groups", "steps_per_evaluation"]
