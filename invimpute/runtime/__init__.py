"""How the package runs: row-wise programs in padded chunks, host data onto the device without compiling,
durable file writes, JAX's persistent compilation cache, and independent programs run at once on a CPU's
cores. The lowest layer: it imports nothing else of the package."""
