"""The peer imputers the inversion engine is compared with and blended with: mean/mode, KNN, iterative,
MissForest, SoftImpute (:mod:`~invimpute.peers.baselines`), the compiled KNN (:mod:`~invimpute.peers.neighbours`),
the Gaussian EM model (:mod:`~invimpute.peers.gaussian`), GAIN and MIWAE, over one shared base
(:mod:`~invimpute.peers.base`)."""
