"""How the package runs: row-wise programs in padded chunks, host data onto the device without compiling,
durable file writes, and JAX's persistent compilation cache. The lowest layer: it imports nothing else of
the package."""
