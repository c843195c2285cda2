"""The public estimator: :class:`~invimpute.estimator.imputer.Imputer` and the scikit-learn contract it keeps
(:mod:`~invimpute.estimator.contract`)."""
