"""Reverse training: one sample's solver (:mod:`~invimpute.inversion.solver`), every row of a table
(:mod:`~invimpute.inversion.batch`), M draws per row (:mod:`~invimpute.inversion.draws`) and the choice per
batch on pseudo-damage (:mod:`~invimpute.inversion.validated`)."""
