"""The public estimator: a thin scikit-learn style shell that wires detection, encoding and a method.

``Imputer(method=...).fit(X)`` finds the missing cells (:mod:`invimpute.missingness`), encodes the table
(:mod:`invimpute.encoding`), and fits the chosen method on the encoded matrix
(:mod:`invimpute.methods`); ``transform`` fills the missing cells and decodes them back. Observed cells
are copied from the caller's object at the end, so they come back bit-identical by construction, and the
caller's object is never modified. Images, given as (n, height, width) arrays in [0, 1], are flattened
to rows and repaired with the same machinery.

Tables come in and go out through :mod:`invimpute.tables` (pandas, polars, pyarrow, NumPy, array-likes;
the output has the input's type unless ``set_output`` asks otherwise). With scikit-learn installed the
estimator is a scikit-learn transformer (``BaseEstimator``, ``TransformerMixin``, its tags, its error
wording); scikit-learn stays optional: without it the same class works on its own.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import fields

import jax
import numpy as np
import pandas as pd

from invimpute.belief import Belief, belief_frames, draw_imputations, fit_calibrated
from invimpute.encoding import TableEncoder
from invimpute.inversion import InversionConfig
from invimpute.methods import METHODS, NEURAL, Autoencoding, ModelConfig, registry
from invimpute.missingness import DEFAULT_TOKENS, detect
from invimpute.tables import (OUTPUTS, Table, check_feature_names, check_n_features, feature_names,
                              merge_filled, read_table, write_table)
from invimpute.training import TrainConfig

try:  # scikit-learn is optional: with it, Imputer is a scikit-learn transformer
    import sklearn
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.exceptions import NotFittedError

    _BASES: tuple = (TransformerMixin, BaseEstimator)
    _CLASS_OPTIONS: dict = {"auto_wrap_output_keys": None}  # set_output is handled here, dtype by dtype
except ImportError:  # pragma: no cover - exercised where scikit-learn is absent
    sklearn = None
    _BASES, _CLASS_OPTIONS = (), {}

    class NotFittedError(ValueError, AttributeError):
        """Raised by ``transform`` before ``fit`` (scikit-learn's exception when it is installed)."""


class Imputer(*_BASES, **_CLASS_OPTIONS):
    """Fill missing cells of a table or an image set.

    ``X`` may be a pandas DataFrame or Series, a polars or pyarrow table (or anything with
    ``__arrow_c_stream__`` / ``__dataframe__``), a NumPy array or a list of rows; the result has the same
    type (``set_output(transform="pandas" | "polars")`` or scikit-learn's ``transform_output`` asks for
    another), every column its dtype and every observed cell its value and type.

    Args:
      method: ``"reverse"`` (reverse training, the default), ``"ae"`` (one masked pass),
        ``"recurrent"`` (study 1), or a peer: ``"mean"``, ``"knn"``, ``"iterative"``,
        ``"missforest"``, ``"softimpute"``, ``"gain"``, ``"miwae"``.
      model: ``"mlp"`` (symmetric autoencoder), ``"reference"`` (study 1's masked MLP) or ``"conv"``.
      hidden, latent, dropout, mask_input, skip, activation, dtype: the autoencoder's shape (see
        :class:`~invimpute.methods.ModelConfig`).
      loss: ``"typed"`` (CE per categorical group, BCE for flags, MSE for numbers) or ``"mse"``.
      head: ``"typed"`` (softmax per categorical group) or ``"sigmoid"`` (study 1's sigmoid output).
      epochs, batch_size, learning_rate, schedule, weight_decay, l1, l2, recurrent_weight, corruption,
        corruption_spread, target,
        corruption_by (``"cell"``, or ``"row"`` to hide whole pixel rows of images during training),
        validation_fraction, patience: training (see :class:`~invimpute.training.TrainConfig`).
      inversion: reverse-training settings, an :class:`~invimpute.inversion.InversionConfig` or a dict.
      ensemble: number of autoencoders trained from split keys whose fills are averaged.
      calibrate: for the neural methods, hold ``calibration_fraction`` of the observed cells out of
        training and fit on them the temperature of categorical beliefs and the numeric interval scale
        (see :mod:`invimpute.belief`); needed for calibrated :meth:`belief` and numeric sampling.
      mi_restarts, mi_dropout, mi_sample_categorical, mi_sample_numeric: the sources of spread between
        the tables of ``transform(X, n_imputations=M)``: restarts of reverse training from perturbed
        starts (``reverse`` only), Monte-Carlo dropout in the model, sampling categorical / boolean cells
        from their calibrated distributions, and sampling numeric cells from ``N(mean, calibrated sd)``.
      method_options: keyword options passed to a peer method.
      scaling, categorical: encoding (see :class:`~invimpute.encoding.TableEncoder`).
      tokens, sentinels: what counts as missing (see :func:`~invimpute.missingness.detect`).
      seed: the one seed every random draw derives from.
      progress: show progress bars.
    """

    def __init__(
        self,
        method: str = "reverse",
        *,
        model: str = "mlp",
        hidden: Sequence[int] | None = None,
        latent: int | None = None,
        dropout: float = 0.5,
        mask_input: bool = True,
        skip: bool = False,
        activation: str = "relu",
        dtype: str = "float32",
        loss: str = "typed",
        head: str = "typed",
        epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        schedule: str = "constant",
        weight_decay: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        recurrent_weight: float | None = None,
        corruption: float = 0.0,
        corruption_spread: bool = False,
        target: str = "observed",
        corruption_by: str = "cell",
        validation_fraction: float = 0.0,
        patience: int = 20,
        inversion: InversionConfig | Mapping | None = None,
        ensemble: int = 1,
        calibrate: bool = True,
        calibration_fraction: float = 0.1,
        mi_restarts: bool = True,
        mi_dropout: bool = True,
        mi_sample_categorical: bool = True,
        mi_sample_numeric: bool = False,
        method_options: Mapping | None = None,
        scaling: str = "minmax",
        categorical: Sequence = (),
        tokens: Sequence[str] | None = DEFAULT_TOKENS,
        sentinels: Mapping | Sequence | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.method = method
        self.model = model
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.mask_input = mask_input
        self.skip = skip
        self.activation = activation
        self.dtype = dtype
        self.loss = loss
        self.head = head
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.weight_decay = weight_decay
        self.l1 = l1
        self.l2 = l2
        self.recurrent_weight = recurrent_weight
        self.corruption = corruption
        self.corruption_spread = corruption_spread
        self.target = target
        self.corruption_by = corruption_by
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.inversion = inversion
        self.ensemble = ensemble
        self.calibrate = calibrate
        self.calibration_fraction = calibration_fraction
        self.mi_restarts = mi_restarts
        self.mi_dropout = mi_dropout
        self.mi_sample_categorical = mi_sample_categorical
        self.mi_sample_numeric = mi_sample_numeric
        self.method_options = method_options
        self.scaling = scaling
        self.categorical = categorical
        self.tokens = tokens
        self.sentinels = sentinels
        self.seed = seed
        self.progress = progress

    # ---- scikit-learn parameter protocol ----------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "Imputer":
        """Set constructor arguments; an unknown name raises and lists the valid ones."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"unknown parameter {name!r} for Imputer; valid parameters: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = {k: v for k, v in self.get_params().items() if k in defaults and not _same(v, defaults[k])}
        return f"Imputer({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # ---- scikit-learn estimator contract ------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.sparse = False
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def set_output(self, *, transform: str | None = None) -> "Imputer":
        """Choose the type ``transform`` returns: ``"default"`` (the input's own type), ``"pandas"`` or ``"polars"``.

        ``None`` leaves it unchanged; until set, scikit-learn's global ``transform_output`` decides.
        """
        if transform is None:
            return self
        if transform not in OUTPUTS:
            raise ValueError(f"set_output(transform=...) must be one of {OUTPUTS} or None, got {transform!r}")
        self._sklearn_output_config = {"transform": transform}  # the attribute scikit-learn's clone carries
        return self

    def _output(self) -> str:
        chosen = getattr(self, "_sklearn_output_config", {}).get("transform")
        if chosen is None and sklearn is not None:
            chosen = sklearn.get_config().get("transform_output", "default")
        return chosen or "default"

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The output column names: the fitted ``feature_names_in_``, else ``x0, x1, ...`` (as scikit-learn)."""
        self._check_fitted()
        fitted = getattr(self, "feature_names_in_", None)
        if input_features is not None:
            names = np.asarray(input_features, dtype=object)
            if fitted is not None and not np.array_equal(names, fitted):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(names) != self.n_features_in_:
                raise ValueError(f"input_features should have length equal to number of features "
                                 f"({self.n_features_in_}), got {len(names)}")
            return names
        if fitted is not None:
            return fitted.copy()
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)

    def _remember_names(self, names: np.ndarray | None) -> None:
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    # ---- configuration ---------------------------------------------------------------------------
    def inversion_config(self) -> InversionConfig:
        """The reverse-training settings as an :class:`InversionConfig`."""
        if self.inversion is None:
            return InversionConfig()
        if isinstance(self.inversion, InversionConfig):
            return self.inversion
        if isinstance(self.inversion, Mapping):
            valid = [f.name for f in fields(InversionConfig)]
            unknown = [k for k in self.inversion if k not in valid]
            if unknown:
                raise ValueError(f"unknown inversion settings {unknown}; valid: {valid}")
            return InversionConfig(**self.inversion)
        raise TypeError(f"inversion must be an InversionConfig or a dict, got {type(self.inversion).__name__}")

    def _build_method(self, image_shape: tuple[int, int] | None):
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {list(METHODS)}")
        if self.method in NEURAL:
            model = ModelConfig(
                kind=self.model,
                hidden=tuple(self.hidden) if self.hidden is not None else None,
                latent=self.latent,
                dropout=self.dropout,
                mask_input=self.mask_input,
                skip=self.skip,
                activation=self.activation,
                image_shape=image_shape,
                dtype=self.dtype,
            )
            train = TrainConfig(
                epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                schedule=self.schedule, weight_decay=self.weight_decay, loss=self.loss, l1=self.l1, l2=self.l2,
                recurrent_weight=self.recurrent_weight, corruption=self.corruption,
                corruption_spread=self.corruption_spread, target=self.target,
                corruption_groups=self._corruption_groups(image_shape),
                validation_fraction=self.validation_fraction, patience=self.patience, progress=self.progress,
            )
            train.validate()
            inversion = self.inversion_config()
            if self.method == "reverse":
                inversion.validate()
                if self.skip:
                    raise ValueError(
                        "skip=True is for method='ae' or 'recurrent': reverse training reads the model through "
                        "its bottleneck (encode/decode), which the skip path bypasses; set skip=False"
                    )
            if self.head not in ("typed", "sigmoid"):
                raise ValueError(f"head must be 'typed' or 'sigmoid', got {self.head!r}")
            return Autoencoding(
                self.method, model=model, train=train, inversion=inversion,
                ensemble=self.ensemble, head=self.head,
            )
        return registry()[self.method](**dict(self.method_options or {}))

    def _corruption_groups(self, image_shape: tuple[int, int] | None) -> tuple[int, ...] | None:
        """Columns hidden together by training corruption: ``"cell"`` one by one, ``"row"`` whole pixel rows."""
        if self.corruption_by == "cell":
            return None
        if self.corruption_by == "row":
            if image_shape is None:
                raise ValueError("corruption_by='row' needs image input (an (n, height, width) array)")
            h, w = image_shape
            return tuple(int(i) // w for i in range(h * w))
        raise ValueError(f"corruption_by must be 'cell' or 'row', got {self.corruption_by!r}")

    # ---- data plumbing ---------------------------------------------------------------------------
    def _read(self, data) -> Table:
        return read_table(data, images=True, owner=type(self).__name__)

    def _detect(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise ValueError(f"the table is empty (shape {frame.shape}); give at least one row and one column")
        all_float = all(isinstance(t, np.dtype) and t.kind == "f" for t in frame.dtypes)
        if all_float and self.sentinels is None:
            observed = pd.DataFrame(~np.isnan(frame.to_numpy()), index=frame.index, columns=frame.columns)
            self.report_ = None
            return observed
        found = detect(frame, tokens=self.tokens, sentinels=self.sentinels)
        self.report_ = found.report
        return found.observed

    def _encode(self, frame: pd.DataFrame, observed: pd.DataFrame):
        return self.encoder_.encode(frame.where(observed.to_numpy(), np.nan), observed)

    # ---- estimator API ---------------------------------------------------------------------------
    def fit(self, X, y=None) -> "Imputer":
        """Learn the encoding and the method from the incomplete data ``X``; ``X`` is not modified."""
        self._fit(X)
        return self

    def _fit(self, X):
        table = self._read(X)
        frame, image_shape = table.frame, table.image_shape
        observed = self._detect(frame)
        scaling = "none" if image_shape is not None else self.scaling
        self.encoder_ = TableEncoder(scaling=scaling, categorical=tuple(self.categorical))
        # fit on the caller's frame (the mask picks the observed cells) so each column's dtype is the
        # caller's: masking first would turn an int column with sentinel cells into float64.
        self.encoder_.fit(frame, observed)
        Xe, Oe = self._encode(frame, observed)
        self.image_shape_ = image_shape
        self.layout_ = self.encoder_.schema.layout
        self.method_ = self._build_method(image_shape)
        k_fit, self.key_impute_ = jax.random.split(jax.random.key(self.seed))
        if self.calibrate and self.method in NEURAL:
            self.calibration_ = fit_calibrated(self.method_, Xe, Oe, self.layout_, k_fit, self.calibration_fraction)
        else:
            self.method_.fit(Xe, Oe, self.layout_, k_fit)
            self.calibration_ = None
        self.n_features_in_ = frame.shape[1]
        self._remember_names(feature_names(table))
        return table, observed, Xe, Oe

    def _restore_fitted(self, encoder: TableEncoder, image_shape: tuple[int, int] | None, key_impute: jax.Array):
        """Install a saved encoder and imputation key, and return a fresh, unfitted method for them.

        This is how :func:`invimpute.checkpoint.load` rebuilds a fitted Imputer without training: the
        caller fills the returned method with its saved state.
        """
        self.encoder_ = encoder
        self.image_shape_ = None if image_shape is None else tuple(image_shape)
        self.layout_ = encoder.schema.layout
        self.method_ = self._build_method(self.image_shape_)
        self.key_impute_ = key_impute
        self.n_features_in_ = len(encoder.schema.columns)
        names = encoder.schema.names
        self._remember_names(np.asarray(names, dtype=object) if all(isinstance(n, str) for n in names) else None)
        self.report_ = None
        self.calibration_ = None
        return self.method_

    def _check_fitted(self) -> None:
        if not hasattr(self, "method_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                                 "arguments before using this estimator (fit(X) before transform(X)).")

    def transform(self, X, *, n_imputations: int | None = None):
        """A copy of ``X`` with every missing cell filled; observed cells are returned unchanged.

        With ``n_imputations=M`` (neural methods), a list of M completed copies (multiple imputation) that
        differ where the data does not pin a value down (sources of spread: the ``mi_*`` parameters);
        observed cells are identical in all of them and the same seed gives the same M tables.
        """
        if n_imputations is None:
            return self._transform_observed(X)[0]
        return self._multiple(X, n_imputations)

    def _uncertainty_method(self, what: str) -> None:
        if self.method not in NEURAL:
            raise ValueError(f"method {self.method!r} gives no {what}; use 'ae', 'recurrent' or 'reverse'")
        self._check_fitted()

    def _encoded(self, X):
        table = self._read(X)
        fitted, got = getattr(self, "feature_names_in_", None), feature_names(table)
        check_feature_names(fitted, got, type(self).__name__)
        check_n_features(self.n_features_in_, table.frame.shape[1], type(self).__name__)
        if table.kind == "numpy" or (fitted is None) != (got is None):  # columns by position, as scikit-learn
            table = dataclasses.replace(table, frame=table.frame.set_axis(self.encoder_.schema.names, axis=1))
        frame, image_shape = table.frame, table.image_shape
        if image_shape != self.image_shape_:
            raise ValueError(f"fitted on {'images ' + str(self.image_shape_) if self.image_shape_ else 'a table'}, got "
                             f"{'images ' + str(image_shape) if image_shape else 'a table'}")
        observed = self._detect(frame)
        Xe, Oe = self._encode(frame, observed)
        return table, observed, Xe, Oe

    def _multiple(self, X, n_imputations: int) -> list:
        if isinstance(n_imputations, bool) or not isinstance(n_imputations, (int, np.integer)) or n_imputations < 1:
            raise ValueError(f"n_imputations must be an integer >= 1 (or None for one table), got {n_imputations!r}")
        self._uncertainty_method("multiple imputations")
        table, observed, Xe, Oe = self._encoded(X)
        missing = ~observed.to_numpy()
        if not missing.any():
            return [self._write(table, None, missing) for _ in range(n_imputations)]
        draws = draw_imputations(
            self.method_, Xe, Oe, self.layout_, jax.random.fold_in(self.key_impute_, 1), int(n_imputations),
            point_key=self.key_impute_, calibration=self.calibration_, restarts=self.mi_restarts,
            dropout=self.mi_dropout, sample_categorical=self.mi_sample_categorical,
            sample_numeric=self.mi_sample_numeric,
        )
        if not np.all(np.isfinite(draws)):
            raise FloatingPointError(f"method {self.method!r} produced non-finite values in multiple imputation")
        return [self._write(table, self.encoder_.decode(d), missing) for d in draws]

    def belief(self, X, *, level: float = 0.9) -> Belief:
        """A degree of belief for every missing cell of ``X`` (see :class:`~invimpute.belief.Belief`).

        Categorical and boolean cells get the (calibrated) probability of each category and of the one
        ``transform`` picks; numeric cells a mean, standard deviation and central ``level`` interval in
        the data's units. Neural methods only; calibrated when fitted with ``calibrate=True``.
        """
        self._uncertainty_method("per-cell belief")
        table, observed, Xe, Oe = self._encoded(X)
        filled = self.method_.impute(Xe, Oe, self.key_impute_)
        return belief_frames(filled, ~observed.to_numpy(), self.encoder_.schema, table.index, table.columns,
                             self.calibration_, level)

    def _transform_observed(self, X):
        """``transform(X)`` and the (rows, columns) observed mask it found, which :mod:`invimpute.job` checks."""
        self._check_fitted()
        table, observed, Xe, Oe = self._encoded(X)
        return self._finish(table, observed, Xe, Oe), observed.to_numpy()

    def fit_transform(self, X, y=None):
        """``fit(X)`` then fill ``X`` (for ``recurrent``, the fills refined during training)."""
        table, observed, Xe, Oe = self._fit(X)
        return self._finish(table, observed, Xe, Oe)

    def _finish(self, table: Table, observed: pd.DataFrame, Xe: np.ndarray, Oe: np.ndarray):
        missing = ~observed.to_numpy()
        if not missing.any():
            return self._write(table, None, missing)
        filled = self.method_.impute(Xe, Oe, self.key_impute_)
        if not np.all(np.isfinite(filled)):
            raise FloatingPointError(
                f"method {self.method!r} produced non-finite values; try a smaller learning_rate or more epochs"
            )
        return self._write(table, self.encoder_.decode(filled), missing)

    def _write(self, table: Table, decoded: pd.DataFrame | None, missing: np.ndarray):
        """The caller's table with the decoded fills merged in, as the type the caller (or ``set_output``) wants."""
        merged = table.base.copy() if decoded is None else merge_filled(table.base, decoded, missing)
        return write_table(table, merged, self._output(), self.get_feature_names_out())


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


__all__ = ["Imputer", "NotFittedError"]
