"""Tables to matrices: which cells are missing (:mod:`~invimpute.encoding.missingness`), the fitted
description of a table (:mod:`~invimpute.encoding.schema`), the encoded columns' kinds
(:mod:`~invimpute.encoding.layout`) and the encoder itself (:mod:`~invimpute.encoding.encoder`)."""
