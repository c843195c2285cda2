"""The layout of an encoded matrix: what kind of value each encoded column holds.

Every part of the numerical core (losses, output heads, the inversion engine, the baselines) needs to
know, for each of the ``d`` encoded columns, whether it is an unbounded number, a number in [0, 1], a
binary flag or one entry of a categorical one-hot group. :class:`Layout` carries exactly that, as
hashable tuples so it can be a static argument of ``jax.jit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUMERIC = 0
"""Unbounded number (for example standard-scaled): identity head, squared error."""
UNIT = 1
"""Number scaled into [0, 1] (min-max scaling, pixel intensities): sigmoid head, squared error."""
BINARY = 2
"""A 0/1 flag (boolean column): sigmoid head, binary cross-entropy, decoded by thresholding at 0.5."""
CATEGORICAL = 3
"""One entry of a categorical one-hot group: softmax over the group, cross-entropy, decoded by arg-max."""

KIND_NAMES = {NUMERIC: "numeric", UNIT: "unit", BINARY: "binary", CATEGORICAL: "categorical"}


@dataclass(frozen=True)
class Layout:
    """Per encoded column: its kind code and the index of the source column (group) it belongs to.

    Attributes:
      kind: per encoded column ``j``, one of :data:`NUMERIC`, :data:`UNIT`, :data:`BINARY`,
        :data:`CATEGORICAL`.
      group: per encoded column ``j``, the index of the original table column it came from, so a
        categorical column's one-hot entries share one group; groups are numbered 0..n_groups-1 in order.
    """

    kind: tuple[int, ...]
    group: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.kind) != len(self.group):
            raise ValueError("Layout: `kind` and `group` must have the same length")
        if any(k not in KIND_NAMES for k in self.kind):
            raise ValueError(f"Layout: unknown kind code in {sorted(set(self.kind))}; use 0..3")

    @property
    def width(self) -> int:
        """Number of encoded columns ``d``."""
        return len(self.kind)

    @property
    def n_groups(self) -> int:
        """Number of source columns."""
        return (max(self.group) + 1) if self.group else 0

    @property
    def kind_array(self) -> np.ndarray:
        return np.asarray(self.kind, dtype=np.int32)

    @property
    def group_array(self) -> np.ndarray:
        return np.asarray(self.group, dtype=np.int32)

    @property
    def has_categorical(self) -> bool:
        return CATEGORICAL in self.kind

    @classmethod
    def uniform(cls, width: int, kind: int = UNIT) -> "Layout":
        """A layout of ``width`` independent columns of one kind (images, all-numeric tables)."""
        return cls(kind=(kind,) * width, group=tuple(range(width)))

    def group_slices(self) -> list[slice]:
        """The contiguous slice of encoded columns of each group, in group order."""
        g = self.group_array
        out = []
        for i in range(self.n_groups):
            idx = np.flatnonzero(g == i)
            out.append(slice(int(idx[0]), int(idx[-1]) + 1))
        return out
