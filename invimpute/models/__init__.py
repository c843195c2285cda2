"""Flax NNX autoencoders (:mod:`~invimpute.models.networks`), output heads (:mod:`~invimpute.models.heads`)
and masked losses (:mod:`~invimpute.models.losses`): pure functions of parameters, inputs and keys."""
