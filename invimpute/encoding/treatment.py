"""What the imputer does with each column, decided from its values, reported, and overridable.

Every column gets one treatment (:data:`TREATMENTS`). The names and the thresholds below are public:
other parts of the library (the encoder's bounded encoding of many-level categories) build on them.
"""

from __future__ import annotations

HIGH_CARDINALITY = 50
"""A category column with more levels than this is a ``"high_cardinality"`` category."""

TREATMENTS: tuple[str, ...] = (
    "number", "integer", "boolean", "category", "high_cardinality", "datetime", "text_date", "constant",
    "passthrough",
)
"""The treatments a column can get (and the values ``encoding={"columns": {name: treatment}}`` accepts)."""

__all__ = ["HIGH_CARDINALITY", "TREATMENTS"]
