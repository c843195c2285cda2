"""The public estimator: a thin scikit-learn style shell that wires detection, encoding and a method.

``Imputer(method=...).fit(X)`` finds the missing cells (:mod:`invimpute.encoding.missingness`), encodes the table
(:mod:`invimpute.encoding.encoder`), and fits the chosen method on the encoded matrix
(:mod:`invimpute.methods.registry`); ``transform`` fills the missing cells and decodes them back. Observed cells
are copied from the caller's object at the end, so they come back bit-identical by construction, and the
caller's object is never modified. Images, given as (n, height, width) arrays in [0, 1], are flattened
to rows and repaired with the same machinery.

Tables come in and go out through :mod:`invimpute.tables` (pandas, polars, pyarrow, NumPy, array-likes;
the output has the input's type unless ``set_output`` asks otherwise). The estimator keeps scikit-learn's
transformer protocol (parameters, tags, error wording; see :mod:`invimpute.estimator.contract`) without
importing scikit-learn; scikit-learn stays optional: without it the same class works on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import jax
import numpy as np
import pandas as pd

from invimpute.methods.auto import Auto
from invimpute.methods.auto_options import auto_arguments, check_auto_options
from invimpute.uncertainty.belief import Belief, belief_frames, draw_imputations, fit_calibrated, widened
from invimpute.uncertainty.blended import auto_calibration, auto_draws
from invimpute.config import EncodingConfig, ModelConfig, UncertaintyConfig, as_dict, coerce, with_fields
from invimpute.encoding.encoder import TableEncoder, check_fits
from invimpute.estimator.contract import EstimatorContract, NotFittedError
from invimpute.inversion.batch import InversionConfig
from invimpute.methods.history import training_history
from invimpute.methods.registry import NEURAL, PEERS, Autoencoding, peers
from invimpute.encoding.missingness import detect, missing_report, with_outliers
from invimpute.encoding.treatment import Plan, Treatment, decide
from invimpute.tables import (Table, check_feature_names, check_n_features, feature_names, merge_filled, read_table,
                              write_table)
from invimpute.runtime import compile_cache
from invimpute.training.loop import TrainConfig
from invimpute.runtime.progress import stage

METHODS = ("auto",) + NEURAL + PEERS
"""Every ``method`` name :class:`Imputer` accepts: ``"auto"``, the library's autoencoders
(:data:`~invimpute.methods.registry.NEURAL`) and the peers (:data:`~invimpute.methods.registry.PEERS`)."""
CONFIGS: dict[str, type] = {
    "model": ModelConfig, "train": TrainConfig, "inversion": InversionConfig,
    "uncertainty": UncertaintyConfig, "encoding": EncodingConfig,
}
"""The Imputer's nested settings: parameter name -> the config dataclass it holds (``train__steps``...)."""


@dataclass(frozen=True)
class Settings:
    """Every setting of one :class:`Imputer`, resolved into config objects and validated together."""

    method: str
    model: ModelConfig
    train: TrainConfig
    inversion: InversionConfig
    uncertainty: UncertaintyConfig
    encoding: EncodingConfig
    options: dict
    seed: int
    progress: bool


def _validate_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}; every random draw derives from it")
    return int(seed)


class Imputer(EstimatorContract):
    """Fill missing cells of a table or an image set.

    ``X`` may be a pandas DataFrame or Series, a polars or pyarrow table (or anything with
    ``__arrow_c_stream__`` / ``__dataframe__``), a NumPy array or a list of rows; the result has the same
    type (``set_output(transform="pandas" | "polars")`` or scikit-learn's ``transform_output`` asks for
    another), every column its dtype and every observed cell its value and type. Images, given as an
    (n, height, width) array in [0, 1], are repaired pixel by pixel. scikit-learn's
    ``get_params``/``set_params`` are replaced by the nested ones below.

    Args:
      method: one of :data:`METHODS`. ``"auto"`` (the default: a masked-prediction autoencoder and fast
        peers, chosen or blended per column on held-out observed cells, see
        :class:`~invimpute.methods.auto.Auto`); the library's autoencoders: ``"reverse"`` (reverse
        training: gradient descent over the missing entries through the frozen network), ``"ae"`` (one
        masked pass), ``"recurrent"`` (study 1's refill during training); or a peer: ``"mean"``
        (mean/mode), ``"knn"``, ``"iterative"`` (scikit-learn's IterativeImputer), ``"missforest"``
        (the same with extra trees), ``"softimpute"``, ``"gaussian"`` (a multivariate normal fitted by
        EM), ``"boosted"`` (gradient-boosted trees per column), ``"gain"``, ``"miwae"``,
        ``"remasker"`` (ReMasker: a transformer masked autoencoder over column tokens).
      model: the autoencoder, a :class:`~invimpute.config.ModelConfig` or a dict of its fields.
      train: its training, a :class:`~invimpute.training.loop.TrainConfig` or a dict (budget in ``steps``,
        sized from the table when None; ``epochs`` accepted instead).
      inversion: reverse training, an :class:`~invimpute.inversion.batch.InversionConfig` or a dict.
      uncertainty: calibration and multiple imputation, a :class:`~invimpute.config.UncertaintyConfig`
        or a dict.
      encoding: what counts as missing and how columns are encoded, an
        :class:`~invimpute.config.EncodingConfig` or a dict.
      options: keyword options of a peer method (``{"n_neighbors": 10}`` for ``"knn"``...), and for
        ``"reverse"`` ``{"choice": "batch"}``: choose each column's fill on every batch repaired, from
        pseudo-damage laid out like the batch's own damage, instead of once at fit (for damage the
        training never showed; see :func:`~invimpute.inversion.validated.invert_validated`); for
        ``"auto"`` ``{"candidates": [...]}``: the candidates to score (default: all of
        :data:`~invimpute.methods.auto.CANDIDATES`).
      seed: the one seed every random draw derives from: the same seed gives the same fills.
      progress: show a progress bar (tqdm) of the training evaluations, with the running loss; off by
        default.

    Nested settings are reachable as ``get_params()["train__steps"]`` and ``set_params(train__steps=...)``,
    so grid searches work over any field.

    After fitting, ``report_`` says per column what it holds, its treatment (``number``, ``integer``,
    ``boolean``, ``category``, ``high_cardinality``, ``datetime``, ``constant`` or ``passthrough``; see
    :mod:`invimpute.encoding.treatment`), why, its missing cells and how each ambiguous missing-value word
    was judged; ``plan_`` holds those decisions (``encoding={"columns": {...}}`` overrides them).
    Passed-through columns (identifiers, free text) are no feature and come back exactly as given, missing
    cells included.
    Attributes:
      settings_: every setting resolved and validated at fit (:class:`Settings`).
      encoder_: the fitted :class:`~invimpute.encoding.encoder.TableEncoder` (column kinds, categories,
        scaling); ``layout_`` is its encoded layout.
      method_: the fitted method on the encoded matrix (:class:`~invimpute.methods.auto.Auto`,
        :class:`~invimpute.methods.registry.Autoencoding` or a peer).
      selection_: for ``"auto"`` (and ``"reverse"`` with held-out cells), a DataFrame with one row per
        source column: every candidate's held-out error and weight, the choice and the rule that made
        it; None for other methods.
      history_: the training record, one row per evaluation (``candidate``, ``member``, ``step``,
        ``train_loss``, ``held_out_loss``, ``best``); None for methods that do not train. Saved with
        checkpoints.
      report_: per column of the table seen at fit: what it holds (``found``), its ``treatment`` and why
        (``detail``), the cells found missing (NaN/None, tokens, sentinels), how each ambiguous missing-value
        word was judged (``tokens``) and the ``outliers`` left out of its scaling.
      plan_: the per-column treatments behind ``report_`` (:class:`~invimpute.encoding.treatment.Plan`).
      calibration_: the fitted calibration of the beliefs of ``auto`` and the neural methods, or None.
      image_shape_: (height, width) when fitted on images, else None.
      key_impute_: the PRNG key of imputation (fixed at fit, so transforms repeat).
      n_features_in_, feature_names_in_: scikit-learn's record of the columns seen at fit
        (``feature_names_in_`` only when every name is a string).

    Examples:
      A table with missing cells, filled by the default method:

      >>> import numpy as np, pandas as pd
      >>> import invimpute as ii
      >>> df = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0] * 10, "b": ["x", None, "y", "x"] * 10})
      >>> imp = ii.Imputer(seed=0, train={"steps": 200}).fit(df)
      >>> filled = imp.transform(df)              # same type, dtypes and observed cells
      >>> imp.selection_["choice"]                # each column's fill, proved on held-out cells
      >>> imp.history_                            # the network's training and held-out loss

      Reverse training with a progress bar, five multiple imputations and per-cell belief:

      >>> imp = ii.Imputer("reverse", train={"steps": 500}, progress=True).fit(df)
      >>> tables = imp.multiple_imputations(df, 5)
      >>> belief = imp.belief(df)                 # probabilities, intervals per missing cell
    """

    def __init__(
        self,
        method: str = "auto",
        *,
        model: ModelConfig | Mapping | None = None,
        train: TrainConfig | Mapping | None = None,
        inversion: InversionConfig | Mapping | None = None,
        uncertainty: UncertaintyConfig | Mapping | None = None,
        encoding: EncodingConfig | Mapping | None = None,
        options: Mapping | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.method = method
        self.model = model
        self.train = train
        self.inversion = inversion
        self.uncertainty = uncertainty
        self.encoding = encoding
        self.options = options
        self.seed = seed
        self.progress = progress

    # ---- scikit-learn parameter protocol ----------------------------------------------------------
    _PARAMS = ("method", "model", "train", "inversion", "uncertainty", "encoding", "options", "seed", "progress")

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return list(cls._PARAMS)

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments; with ``deep``, also every config field as ``name__field``."""
        out = {name: getattr(self, name) for name in self._PARAMS}
        if deep:
            for name, cls in CONFIGS.items():
                for field, value in as_dict(coerce(cls, getattr(self, name), name)).items():
                    out[f"{name}__{field}"] = value
        return out

    def set_params(self, **params) -> "Imputer":
        """Set constructor arguments or config fields (``train__steps=...``); an unknown name raises."""
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, sep, field = key.partition("__")
            if sep and name in CONFIGS:
                nested.setdefault(name, {})[field] = value
            elif not sep and name in self._PARAMS:
                setattr(self, name, value)
            else:
                raise ValueError(f"unknown parameter {key!r} for Imputer; valid parameters: {list(self._PARAMS)} "
                                 f"and config fields as {'/'.join(CONFIGS)}__<field>")
        for name, changes in nested.items():
            setattr(self, name, with_fields(coerce(CONFIGS[name], getattr(self, name), name), changes, name))
        return self

    def __repr__(self) -> str:
        shown = [repr(self.method)] if self.method != "auto" else []
        shown += [f"{k}={getattr(self, k)!r}" for k in self._PARAMS[1:]
                  if getattr(self, k) is not None and not (k == "seed" and self.seed == 0)
                  and not (k == "progress" and not self.progress)]
        text = f"Imputer({', '.join(shown)})"
        selection = getattr(self, "selection_", None)
        if selection is not None:
            counts = selection["choice"].value_counts()
            text += f"  # fitted: {', '.join(f'{n} column(s) {c}' for c, n in counts.items())}"
        return text

    # ---- configuration ---------------------------------------------------------------------------
    def settings(self) -> Settings:
        """Every setting resolved into config objects and validated; the one place bad settings raise."""
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {list(METHODS)}")
        configs = {name: coerce(cls, getattr(self, name), name) for name, cls in CONFIGS.items()}
        for config in configs.values():
            config.validate()
        if self.options is not None and not isinstance(self.options, Mapping):
            raise TypeError(f"options must be a dict of keyword options for the peer method, got {self.options!r}")
        if self.options and self.method == "reverse":
            unknown = set(self.options) - {"choice"}
            if unknown:
                raise ValueError(f"options {sorted(unknown)} are not options of method 'reverse': it takes "
                                 f"options={{'choice': 'fit' | 'batch'}}, its other settings from model=, train= "
                                 f"and inversion=")
        elif self.options and self.method == "auto":
            check_auto_options(self.options)
        elif self.options and self.method not in PEERS:
            raise ValueError(f"options are keyword options of a peer method ({list(PEERS)}) or 'choice' of "
                             f"'reverse'; method {self.method!r} takes its settings from model=, train= and inversion=")
        return Settings(method=self.method, options=dict(self.options or {}), seed=_validate_seed(self.seed),
                        progress=bool(self.progress), **configs)

    def _build_method(self, settings: Settings, image_shape: tuple[int, int] | None):
        if settings.method in NEURAL:
            method = Autoencoding(settings.method, model=settings.model, train=settings.train,
                                  inversion=settings.inversion, image_shape=image_shape, progress=settings.progress,
                                  **settings.options)
            method.validate()
            return method
        if settings.method == "auto":
            return Auto(model=settings.model, train=settings.train, inversion=settings.inversion,
                        fraction=settings.uncertainty.fraction, image_shape=image_shape, progress=settings.progress,
                        **auto_arguments(settings.options))
        return peers()[settings.method](**settings.options)

    # ---- data plumbing ---------------------------------------------------------------------------
    def _read(self, data) -> Table:
        return read_table(data, images=True, owner=type(self).__name__)

    def _detect(self, frame: pd.DataFrame, encoding: EncodingConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(the observed mask, the per-column missingness report with each ambiguous token's judgement)."""
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise ValueError(f"the table is empty (shape {frame.shape}); give at least one row and one column")
        all_float = all(isinstance(t, np.dtype) and t.kind == "f" for t in frame.dtypes)
        if all_float and encoding.sentinels is None:
            observed = pd.DataFrame(~np.isnan(frame.to_numpy()), index=frame.index, columns=frame.columns)
            return observed, missing_report(observed).assign(tokens="")
        found = detect(frame, tokens=encoding.tokens, sentinels=encoding.sentinels)
        tokens = ["; ".join(found.decisions.get(c, ())) for c in found.report.index]
        return found.observed, found.report.assign(tokens=tokens)

    def _encode(self, frame: pd.DataFrame, observed: pd.DataFrame):
        """The encoded matrix and mask of the modelled columns of ``frame`` (see :class:`Plan`)."""
        work, work_observed = self.plan_.prepare(frame, observed)
        return self.encoder_.encode(work.where(work_observed.to_numpy(), np.nan), work_observed)

    def _plan(self, frame: pd.DataFrame, observed: pd.DataFrame, encoding: EncodingConfig, images: bool) -> Plan:
        if images:
            return Plan.plain(frame)
        return decide(frame, observed, encoding.columns, tuple(encoding.categorical))

    # ---- estimator API ---------------------------------------------------------------------------
    def fit(self, X, y=None) -> "Imputer":
        """Learn the encoding and the method from the incomplete data ``X``; ``X`` is not modified."""
        self._fit(X)
        return self

    def _fit(self, X):
        settings = self.settings()
        compile_cache.ensure()  # compiled programs are kept on disk: a later process loads them
        table = self._read(X)
        frame, image_shape = table.frame, table.image_shape
        observed, missing_report = self._detect(frame, settings.encoding)
        self.plan_ = self._plan(frame, observed, settings.encoding, image_shape is not None)
        scaling = "none" if image_shape is not None else settings.encoding.scaling
        # a column the user set to "category" keeps every level one-hot; others past max_levels are capped
        one_hot = tuple(t.name for t in self.plan_.columns if t.treatment == "category" and t.overridden)
        self.encoder_ = TableEncoder(scaling=scaling, categorical=self.plan_.categorical,
                                     max_levels=settings.encoding.max_levels, one_hot=one_hot)
        # fit on the caller's frame (the mask picks the observed cells) so each column's dtype is the
        # caller's: masking first would turn an int column with sentinel cells into float64.
        work, work_observed = self.plan_.prepare(frame, observed)
        self.encoder_.fit(work, work_observed)
        check_fits(self.encoder_.schema, len(frame), settings.encoding.memory_bytes())
        self.report_ = with_outliers(_report(missing_report, self.plan_), observed, self.encoder_.schema)
        Xe, Oe = self._encode(frame, observed)
        self.settings_ = settings
        self.image_shape_ = image_shape
        self.layout_ = self.encoder_.schema.layout
        self.method_ = self._build_method(settings, image_shape)
        k_fit, self.key_impute_ = jax.random.split(jax.random.key(settings.seed))
        self.calibration_ = None
        if settings.uncertainty.calibrate and settings.method in NEURAL:
            self.calibration_ = fit_calibrated(self.method_, Xe, Oe, self.layout_, k_fit, settings.uncertainty.fraction)
        else:  # auto and the networks show their own stages; a peer's fit is one stage
            with stage(f"fit {settings.method}", enabled=settings.progress and settings.method in PEERS):
                self.method_.fit(Xe, Oe, self.layout_, k_fit)
        if settings.uncertainty.calibrate and settings.method == "auto":
            self.calibration_ = auto_calibration(self.method_, Xe, self.layout_)
        selection = getattr(self.method_, "selection_table", None)
        self.selection_ = selection(self.encoder_.schema) if selection is not None else None
        self.n_features_in_ = frame.shape[1]
        self._remember_names(feature_names(table))
        return table, observed, Xe, Oe

    def restore_fitted(self, encoder: TableEncoder, image_shape: tuple[int, int] | None, key_impute: jax.Array,
                       plan: Plan | None = None):
        """Install a saved encoder, column plan and imputation key, and return a fresh, unfitted method for them.

        This is how :func:`invimpute.checkpoint.store.load` rebuilds a fitted Imputer without training: the
        caller fills the returned method with its saved state. Without a ``plan`` (checkpoints saved before
        treatments existed) every column is modelled as the encoder's schema says.
        """
        self.settings_ = self.settings()
        self.encoder_ = encoder
        self.plan_ = plan if plan is not None else _plan_of(encoder)
        self.image_shape_ = None if image_shape is None else tuple(image_shape)
        self.layout_ = encoder.schema.layout
        self.method_ = self._build_method(self.settings_, self.image_shape_)
        self.key_impute_ = key_impute
        self.n_features_in_ = len(self.plan_.columns)
        names = self.plan_.names
        self._remember_names(np.asarray(names, dtype=object) if all(isinstance(n, str) for n in names) else None)
        self.report_ = self.plan_.table()
        self.calibration_ = None
        self.selection_ = None
        return self.method_

    @property
    def history_(self) -> pd.DataFrame | None:
        """The training record of the fitted method, one row per evaluation (None for methods that do not
        train); read from the method's state, so a loaded checkpoint has it too.

        Columns ``candidate`` (``"network"`` under ``auto``, else the method's name), ``member``,
        ``step`` (optimiser steps done), ``train_loss``, ``held_out_loss`` (NaN where no cell is held
        out) and ``best`` (the evaluation whose parameters were kept); see
        :func:`~invimpute.methods.history.training_history`.
        """
        return training_history(self.method_)

    def transform(self, X):
        """A copy of ``X`` with every missing cell filled; observed cells are returned unchanged."""
        return self.transform_with_mask(X)[0]

    def _uncertainty_method(self, what: str) -> None:
        method = self.settings_.method if hasattr(self, "settings_") else self.method
        if method not in NEURAL and method != "auto":
            raise ValueError(f"method {method!r} gives no {what}: a peer has no held-out cells to calibrate it on; "
                             f"use 'auto' (the default), 'ae', 'recurrent' or 'reverse'")
        self._check_fitted()

    def _encoded(self, X):
        compile_cache.ensure()
        table = self._read(X)
        fitted, got = getattr(self, "feature_names_in_", None), feature_names(table)
        check_feature_names(fitted, got, type(self).__name__)
        check_n_features(self.n_features_in_, table.frame.shape[1], type(self).__name__)
        if table.kind == "numpy" or (fitted is None) != (got is None):  # columns by position, as scikit-learn
            table = dataclasses.replace(table, frame=table.frame.set_axis(self.plan_.names, axis=1))
        frame, image_shape = table.frame, table.image_shape
        if image_shape != self.image_shape_:
            raise ValueError(f"fitted on {'images ' + str(self.image_shape_) if self.image_shape_ else 'a table'}, got "
                             f"{'images ' + str(image_shape) if image_shape else 'a table'}")
        observed, _ = self._detect(frame, self.settings_.encoding)
        Xe, Oe = self._encode(frame, observed)
        return table, observed, Xe, Oe

    def multiple_imputations(self, X, n: int) -> list:
        """``n`` completed copies of ``X`` (multiple imputation) that differ where the data does not pin a
        value down (sources of spread: :class:`~invimpute.config.UncertaintyConfig`); observed cells are
        identical in all of them and the same seed gives the same tables. ``auto`` (the default) and the
        neural methods; ``auto``'s draws are proper (each row's cells drawn together from a Gaussian model
        refitted on a bootstrap of the rows, see :func:`~invimpute.uncertainty.blended.auto_draws`), so
        analyses pooled over them with :func:`~invimpute.uncertainty.measures.rubin_pool` keep their coverage."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n (the number of imputations) must be an integer >= 1, got {n!r}")
        self._uncertainty_method("multiple imputations")
        table, observed, Xe, Oe = self._encoded(X)
        missing = self.plan_.imputable(observed.to_numpy())
        if not missing.any():
            return [self._write(table, None, missing) for _ in range(n)]
        u = coerce(UncertaintyConfig, self.uncertainty, "uncertainty")  # draw-time settings: read at each call
        u.validate()
        if isinstance(self.method_, Auto):
            draws = auto_draws(self.method_, Xe, Oe, self.layout_, jax.random.fold_in(self.key_impute_, 1), int(n),
                               point_key=self.key_impute_, calibration=self.calibration_,
                               sample_categorical=u.sample_categorical)
            return [self._write(table, self._fills(d, table, draws=True), missing) for d in draws]
        draws = draw_imputations(
            self.method_, Xe, Oe, self.layout_, jax.random.fold_in(self.key_impute_, 1), int(n),
            point_key=self.key_impute_, calibration=self.calibration_, restarts=u.restarts,
            dropout=u.dropout, sample_categorical=u.sample_categorical, sample_numeric=u.sample_numeric,
        )
        return [self._write(table, self._fills(d, table, draws=True), missing) for d in draws]

    def belief(self, X, *, level: float = 0.9) -> Belief:
        """A degree of belief for every missing cell of ``X`` (see :class:`~invimpute.uncertainty.belief.Belief`).

        Categorical and boolean cells get the (calibrated) probability of each category and of the one
        ``transform`` picks; numeric cells a mean, standard deviation and central ``level`` interval in
        the data's units. ``auto`` (the default) and the neural methods; calibrated on held-out cells
        when fitted with ``uncertainty.calibrate`` (``auto``: the cells it chose its fill on).
        """
        self._uncertainty_method("per-cell belief")
        table, observed, Xe, Oe = self._encoded(X)
        filled = self.method_.impute(Xe, Oe, self.key_impute_)
        modelled = [j for j, t in enumerate(self.plan_.columns) if t.imputed]
        modelled_belief = belief_frames(filled, ~observed.to_numpy()[:, modelled], self.encoder_.schema, table.index,
                                        table.columns[modelled], self.calibration_, level)
        constants = {t.name: t.value for t in self.plan_.columns if t.treatment == "constant"}
        return widened(modelled_belief, table.columns, constants, self.plan_.imputable(observed.to_numpy()))

    def transform_with_mask(self, X):
        """``transform(X)`` and the (rows, columns) observed mask it found (the batch job checks it)."""
        self._check_fitted()
        table, observed, Xe, Oe = self._encoded(X)
        return self._finish(table, observed, Xe, Oe), ~self.plan_.imputable(observed.to_numpy())

    def fit_transform(self, X, y=None):
        """``fit(X)`` then fill ``X`` (for ``recurrent``, the fills refined during training)."""
        table, observed, Xe, Oe = self._fit(X)
        return self._finish(table, observed, Xe, Oe)

    def _finish(self, table: Table, observed: pd.DataFrame, Xe: np.ndarray, Oe: np.ndarray):
        missing = self.plan_.imputable(observed.to_numpy())
        if not missing.any():
            return self._write(table, None, missing)
        progress = bool(self.progress)  # a display setting: the current one, not the one at fit
        if hasattr(self.method_, "progress"):
            self.method_.progress = progress
        with stage(f"impute {len(Xe):,} rows", enabled=progress and not isinstance(self.method_, Auto)):
            filled = self.method_.impute(Xe, Oe, self.key_impute_)
        return self._write(table, self._fills(filled, table), missing)

    def _fills(self, filled: np.ndarray, table: Table, draws: bool = False) -> pd.DataFrame:
        """Every column's fills (by position) from the method's encoded fill, as the column's treatment writes
        them; ``draws`` when ``filled`` is a random draw (see :meth:`TableEncoder.decode`)."""
        return self.plan_.restore(self.encoder_.decode(filled, draws=draws), table.frame)

    def _write(self, table: Table, decoded: pd.DataFrame | None, missing: np.ndarray):
        """The caller's table with the decoded fills merged in, as the type the caller (or ``set_output``) wants."""
        merged = table.base.copy() if decoded is None else merge_filled(table.base, decoded, missing)
        return write_table(table, merged, self._output(), self.get_feature_names_out())


def _report(missing: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """``report_``: per column, its missing cells (and the judged tokens), what it holds and what was done."""
    treatments = plan.table()
    treatments.index = missing.index
    return pd.concat([treatments, missing], axis=1)


def _plan_of(encoder: TableEncoder) -> Plan:
    """The plan of a checkpoint saved before treatments existed: every column modelled by its encoded kind."""
    kinds = {"categorical": "category", "boolean": "boolean"}
    return Plan(columns=tuple(Treatment(c.name, kinds.get(c.kind, "number"), c.kind, "saved without treatments")
                              for c in encoder.schema.columns))


__all__ = ["Imputer", "NotFittedError", "Settings", "METHODS", "CONFIGS"]
