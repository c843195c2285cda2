"""The scikit-learn estimator contract the :class:`~invimpute.Imputer` keeps: bases, tags, output type, names.

With scikit-learn installed, :data:`BASES` are its ``TransformerMixin`` and ``BaseEstimator`` and
:class:`NotFittedError` is its exception; without it the same classes work on their own.
:class:`EstimatorContract` holds what does not depend on the method: the tags, ``set_output`` (handled
dtype by dtype, so scikit-learn's own wrapping is switched off), ``get_feature_names_out`` and the
not-fitted check.
"""

from __future__ import annotations

import numpy as np

from invimpute.tables import OUTPUTS

try:  # scikit-learn is optional: with it, Imputer is a scikit-learn transformer
    import sklearn
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.exceptions import NotFittedError

    BASES: tuple = (TransformerMixin, BaseEstimator)
    CLASS_OPTIONS: dict = {"auto_wrap_output_keys": None}  # set_output is handled here, dtype by dtype
except ImportError:  # pragma: no cover - exercised where scikit-learn is absent
    sklearn = None
    BASES, CLASS_OPTIONS = (), {}

    class NotFittedError(ValueError, AttributeError):
        """Raised by ``transform`` before ``fit`` (scikit-learn's exception when it is installed)."""


class EstimatorContract:
    """The scikit-learn side of an estimator fitted on tables: tags, output type, feature names, fitted check."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.sparse = False
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def set_output(self, *, transform: str | None = None) -> "EstimatorContract":
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

    def _check_fitted(self) -> None:
        if not hasattr(self, "method_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                                 "arguments before using this estimator (fit(X) before transform(X)).")


__all__ = ["BASES", "CLASS_OPTIONS", "NotFittedError", "EstimatorContract"]
