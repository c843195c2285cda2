"""Uncertainty of imputed cells: the measures and Rubin's rules (:mod:`~invimpute.uncertainty.measures`, whose
public names are re-exported here), class distributions, calibration, multiple-imputation draws and per-cell
:class:`~invimpute.uncertainty.belief.Belief` frames."""

from invimpute.uncertainty.measures import *  # noqa: F401,F403  (the public namespace ``invimpute.uncertainty``)
from invimpute.uncertainty.measures import __all__
