"""The scikit-learn estimator contract the :class:`~invimpute.Imputer` keeps, without importing scikit-learn.

scikit-learn recognises an estimator by its protocol, not its base classes: ``get_params``/``set_params``
(which :func:`sklearn.base.clone` uses), ``__sklearn_tags__``, ``__sklearn_is_fitted__``, ``fit_transform``
and ``set_output``. :class:`EstimatorContract` implements the part that does not depend on the method
(the tags, ``set_output`` handled dtype by dtype, ``get_feature_names_out``, the fitted check), so
``from invimpute import Imputer`` does not pay for importing scikit-learn (and SciPy with it); scikit-learn
is imported only when scikit-learn itself asks for the tags, or when a method that wraps it is fitted.

:class:`NotFittedError` is raised before ``fit``; when scikit-learn is loaded, the error raised is also
an instance of scikit-learn's ``NotFittedError``, so either ``except`` clause catches it.
"""

from __future__ import annotations

import sys

import numpy as np

from invimpute.tables import OUTPUTS


class NotFittedError(ValueError, AttributeError):
    """Raised by ``transform`` (and what needs a fitted estimator) before ``fit``; also an instance of
    scikit-learn's ``NotFittedError`` when scikit-learn is loaded."""


_BOTH: dict[type, type] = {}


def not_fitted(message: str) -> NotFittedError:
    """A :class:`NotFittedError` carrying ``message``: of a class that is also scikit-learn's
    ``NotFittedError`` when scikit-learn is loaded (checked now, so scikit-learn is never imported here)."""
    exceptions = sys.modules.get("sklearn.exceptions")
    theirs = getattr(exceptions, "NotFittedError", None)
    if theirs is None:
        return NotFittedError(message)
    if theirs not in _BOTH:
        _BOTH[theirs] = type("NotFittedError", (NotFittedError, theirs), {"__module__": __name__})
    return _BOTH[theirs](message)


class EstimatorContract:
    """The scikit-learn side of an estimator fitted on tables: tags, output type, feature names, fitted check.

    A subclass supplies ``get_params``/``set_params`` over its constructor arguments; nothing here
    imports scikit-learn.
    """

    def __sklearn_tags__(self):
        """scikit-learn's tags of a transformer that takes NaN, strings and categories and needs no target
        (called by scikit-learn, which is then loaded)."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(preserves_dtype=["float64", "float32"]),
                    input_tags=InputTags(allow_nan=True, string=True, categorical=True, sparse=False))

    def __sklearn_is_fitted__(self) -> bool:
        """Whether ``fit`` has run (what scikit-learn's ``check_is_fitted`` reads)."""
        return hasattr(self, "method_")

    def __sklearn_clone__(self):
        """A copy with the same constructor arguments, unfitted, keeping the ``set_output`` choice
        (what :func:`sklearn.base.clone` returns)."""
        twin = type(self)(**self.get_params(deep=False))
        if hasattr(self, "_sklearn_output_config"):
            twin._sklearn_output_config = dict(self._sklearn_output_config)
        return twin

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
        sklearn = sys.modules.get("sklearn")  # its global setting exists only once it is loaded
        if chosen is None and sklearn is not None and hasattr(sklearn, "get_config"):
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
            raise not_fitted(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                             "arguments before using this estimator (fit(X) before transform(X)).")


__all__ = ["NotFittedError", "EstimatorContract", "not_fitted"]
