"""The fitted description of a table: every column's slice of the encoded matrix, kind, categories and scaling.

:class:`Schema` is what :class:`~invimpute.encoding.encoder.TableEncoder` learns and what checkpoints, jobs and
beliefs read; its :attr:`~Schema.layout` is the per-entry description the networks and losses use.
"""

from __future__ import annotations

from dataclasses import dataclass

from invimpute.encoding.layout import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout

OTHER = "<other>"
"""The label of a capped categorical column's "other" slot (in beliefs' probability frames)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One source column: its name, kind, slice in the encoded matrix and how to encode it."""

    name: object
    kind: str  # "categorical" | "boolean" | "numeric"
    start: int
    stop: int
    dtype: str
    categories: tuple = ()
    offset: float = 0.0
    scale: float = 1.0
    bounded: bool = False  # numeric values lie in [0, 1] once scaled
    low: float | None = None  # the observed range of a numeric column (outliers left out): fills are clipped into it
    high: float | None = None
    rare: tuple = ()  # a capped categorical column's levels beyond its frequent ones, sharing one "other" slot
    rare_counts: tuple = ()  # how often each rare level was observed at fit (the odds of an "other" fill)
    outliers: int = 0  # observed values beyond the fences at fit (see invimpute.tables.scaling.fences)
    clip_low: float | None = None  # a numeric column's fences: a value beyond them is encoded as missing
    clip_high: float | None = None

    @property
    def levels(self) -> tuple:
        """Every level seen at fit: the one-hot ones, then the rare ones."""
        return tuple(self.categories) + tuple(self.rare)

    @property
    def slots(self) -> tuple:
        """The label of each encoded entry of a categorical column: its levels, then :data:`OTHER` if capped."""
        return tuple(self.categories) + ((OTHER,) if self.rare else ())


@dataclass(frozen=True)
class Schema:
    """The fitted description of a table: its columns in order and how each is encoded
    (:attr:`~invimpute.encoding.encoder.TableEncoder.schema` after ``fit``; saved in checkpoints).

    Attributes:
      columns: one :class:`ColumnSpec` per source column, in order (name, kind, categories, encoded span,
        scaling).
      scaling: how numeric columns were scaled (``"minmax"``, ``"standard"`` or ``"none"``).
      input_kind: ``"frame"`` or ``"array"``: what the table came in as, and goes back out as.
      array_dtype: an array input's dtype, restored on output.
    """

    columns: tuple[ColumnSpec, ...]
    scaling: str
    input_kind: str  # "frame" or "array"
    array_dtype: str = "float64"

    @property
    def width(self) -> int:
        return self.columns[-1].stop if self.columns else 0

    @property
    def names(self) -> list:
        return [c.name for c in self.columns]

    @property
    def layout(self) -> Layout:
        kind: list[int] = []
        group: list[int] = []
        for i, c in enumerate(self.columns):
            if c.kind == "categorical":
                code = CATEGORICAL
            elif c.kind == "boolean":
                code = BINARY
            else:
                code = UNIT if c.bounded else NUMERIC
            kind += [code] * (c.stop - c.start)
            group += [i] * (c.stop - c.start)
        return Layout(kind=tuple(kind), group=tuple(group))

    def to_dict(self) -> dict:
        return {
            "scaling": self.scaling,
            "input_kind": self.input_kind,
            "array_dtype": self.array_dtype,
            "columns": [
                {
                    "name": c.name, "kind": c.kind, "start": c.start, "stop": c.stop, "dtype": c.dtype,
                    "categories": list(c.categories), "offset": c.offset, "scale": c.scale,
                    "bounded": c.bounded, "low": c.low, "high": c.high, "rare": list(c.rare),
                    "rare_counts": [int(k) for k in c.rare_counts], "outliers": int(c.outliers),
                    "clip_low": c.clip_low, "clip_high": c.clip_high,
                }
                for c in self.columns
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Schema":
        cols = tuple(
            ColumnSpec(
                name=c["name"], kind=c["kind"], start=c["start"], stop=c["stop"], dtype=c["dtype"],
                categories=tuple(c["categories"]), offset=c["offset"], scale=c["scale"],
                bounded=c["bounded"], low=c.get("low"), high=c.get("high"), rare=tuple(c.get("rare", ())),
                rare_counts=tuple(c.get("rare_counts", ())), outliers=c.get("outliers", 0),
                clip_low=c.get("clip_low"), clip_high=c.get("clip_high"),
            )
            for c in d["columns"]
        )
        return cls(columns=cols, scaling=d["scaling"], input_kind=d["input_kind"], array_dtype=d["array_dtype"])


__all__ = ["ColumnSpec", "Schema", "OTHER"]
