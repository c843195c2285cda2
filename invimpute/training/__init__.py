"""Training autoencoders on incomplete data with masked losses: the settings (:mod:`~invimpute.training.config`),
the compiled programs (:mod:`~invimpute.training.programs`) and the fit that drives them
(:mod:`~invimpute.training.loop`)."""
