"""Training autoencoders on incomplete data with masked losses, the step loop compiled
(:mod:`~invimpute.training.loop`)."""
