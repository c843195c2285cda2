"""Imputation methods on encoded matrices behind one protocol, their registry
(:mod:`~invimpute.methods.registry`), and ``method="auto"`` (:mod:`~invimpute.methods.auto`)."""
