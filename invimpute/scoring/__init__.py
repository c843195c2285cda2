"""Scores against the truth (:mod:`~invimpute.scoring.metrics`) and choosing a fill per column from candidates
scored on held-out observed cells (:mod:`~invimpute.scoring.selection`), in pure NumPy."""
