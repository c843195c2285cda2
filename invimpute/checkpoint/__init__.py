"""Versioned, integrity-checked checkpoints of a fitted :class:`~invimpute.Imputer`
(:mod:`~invimpute.checkpoint.store`, whose public names are re-exported here): every method's state as a JSON
tree plus named arrays (:mod:`~invimpute.checkpoint.methods`, :mod:`~invimpute.checkpoint.state`), never code."""

from invimpute.checkpoint.store import *  # noqa: F401,F403  (the public namespace ``invimpute.checkpoint``)
from invimpute.checkpoint.store import __all__
