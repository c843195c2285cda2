"""Tables in and out: any table a caller has, to the pandas frame the encoder reads, and back to its own type.

Split by the data flow: :mod:`~invimpute.tables.reading` (any table to a :class:`Table`, with the input
checks), :mod:`~invimpute.tables.filling` (the fills merged into a copy of the caller's table, dtype by
dtype), :mod:`~invimpute.tables.writing` (back to the caller's type) and :mod:`~invimpute.tables.names`
(scikit-learn's feature names).
"""

from invimpute.tables.filling import merge_filled
from invimpute.tables.names import check_feature_names, check_n_features, feature_names
from invimpute.tables.reading import Table, check_cells, read_table
from invimpute.tables.writing import OUTPUTS, write_table

__all__ = ["OUTPUTS", "Table", "read_table", "check_cells", "merge_filled", "write_table", "feature_names",
           "check_feature_names", "check_n_features"]
