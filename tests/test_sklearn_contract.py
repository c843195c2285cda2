"""scikit-learn's own estimator checks over ``Imputer(method=m)`` for every method, at tiny settings.

A check that cannot apply to an imputer is marked expected-to-fail with its reason (``EXPECTED``); none
is skipped silently. Tiny settings keep each fit to a fraction of a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
from sklearn import config_context  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from invimpute import METHODS, Imputer  # noqa: E402

NEURAL_TINY = dict(hidden=(8,), latent=2, epochs=2, batch_size=16, inversion={"steps": 3}, calibrate=False)
TINY = {
    "ae": NEURAL_TINY, "recurrent": NEURAL_TINY, "reverse": NEURAL_TINY,
    "mean": {},
    "knn": {},
    "iterative": {"method_options": {"max_iter": 2}},
    "missforest": {"method_options": {"max_iter": 1, "n_estimators": 3}},
    "softimpute": {"method_options": {"max_iters": 10}},
    "gain": {"method_options": {"iterations": 20, "batch_size": 16}},
    "miwae": {"method_options": {"n_steps": 20, "n_samples": 10, "hidden": 8, "batch_size": 16, "k": 2}},
}

EXPECTED: dict[str, str] = {}


def _expected(estimator: Imputer) -> dict[str, str]:
    return EXPECTED


@parametrize_with_checks([Imputer(m, **TINY[m]) for m in METHODS], expected_failed_checks=_expected)
def test_sklearn_checks(estimator, check):
    check(estimator)


# checks scikit-learn runs on its own estimators but parametrize_with_checks does not yield
EXTRA_CHECKS = [
    "check_dataframe_column_names_consistency",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
    "check_set_output_transform_polars",
    "check_global_set_output_transform_polars",
]


@pytest.mark.parametrize("check_name", EXTRA_CHECKS)
@pytest.mark.parametrize("method", METHODS)
def test_sklearn_output_and_name_checks(method, check_name):
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check_name)("Imputer", Imputer(method, **TINY[method]))
