"""invimpute: missing-data imputation by gradient-based input inversion, in JAX.

Flax autoencoders are trained on incomplete tables with masked losses; reverse training then repairs
each damaged sample by gradient descent over only its missing entries through the frozen network,
``vmap``ped and ``jit``-compiled over many samples at once.

Every name below is loaded on first use (:pep:`562`): ``import invimpute`` costs only this file, and
``from invimpute import Imputer`` imports what the Imputer needs, not the optional libraries of the parts
a call does not reach (Ray, polars, pyarrow's writers; matplotlib, which ``invimpute.plot`` imports only
when it draws).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_WHERE = {
    "checkpoint": "invimpute.checkpoint",
    "plot": "invimpute.plot",
    "datasets": "invimpute.datasets",
    "distributed": "invimpute.distributed",
    "job": "invimpute.job",
    "tables": "invimpute.tables",
    "uncertainty": "invimpute.uncertainty",
    "missingness": "invimpute.encoding.missingness",
    "compile_cache": "invimpute.runtime.compile_cache",
    "metrics": "invimpute.scoring.metrics",
    "Belief": "invimpute.uncertainty.belief:Belief",
    "Calibration": "invimpute.uncertainty.belief:Calibration",
    "TableEncoder": "invimpute.encoding.encoder:TableEncoder",
    "Schema": "invimpute.encoding.schema:Schema",
    "apply_head": "invimpute.models.heads:apply_head",
    "inverse_head": "invimpute.models.heads:inverse_head",
    "Imputer": "invimpute.estimator.imputer:Imputer",
    "NotFittedError": "invimpute.estimator.imputer:NotFittedError",
    "InversionConfig": "invimpute.inversion.batch:InversionConfig",
    "InversionResult": "invimpute.inversion.batch:InversionResult",
    "code_radius": "invimpute.inversion.batch:code_radius",
    "invert": "invimpute.inversion.batch:invert",
    "invert_draws": "invimpute.inversion.draws:invert_draws",
    "Invertible": "invimpute.inversion.protocol:Invertible",
    "LangevinConfig": "invimpute.inversion.langevin:LangevinConfig",
    "fit_denoiser": "invimpute.inversion.langevin:fit_denoiser",
    "langevin_draws": "invimpute.inversion.langevin:langevin_draws",
    "LatentInvertible": "invimpute.inversion.protocol:LatentInvertible",
    "BINARY": "invimpute.encoding.layout:BINARY",
    "CATEGORICAL": "invimpute.encoding.layout:CATEGORICAL",
    "NUMERIC": "invimpute.encoding.layout:NUMERIC",
    "UNIT": "invimpute.encoding.layout:UNIT",
    "Layout": "invimpute.encoding.layout:Layout",
    "masked_mse": "invimpute.models.losses:masked_mse",
    "typed_loss": "invimpute.models.losses:typed_loss",
    "Auto": "invimpute.methods.auto:Auto",
    "EncodingConfig": "invimpute.config:EncodingConfig",
    "ModelConfig": "invimpute.config:ModelConfig",
    "UncertaintyConfig": "invimpute.config:UncertaintyConfig",
    "METHODS": "invimpute.estimator.imputer:METHODS",
    "apply_mask": "invimpute.encoding.missingness:apply_mask",
    "detect": "invimpute.encoding.missingness:detect",
    "group_mask": "invimpute.encoding.missingness:group_mask",
    "mar_mask": "invimpute.encoding.missingness:mar_mask",
    "mcar_mask": "invimpute.encoding.missingness:mcar_mask",
    "mnar_mask": "invimpute.encoding.missingness:mnar_mask",
    "patch_mask": "invimpute.encoding.missingness:patch_mask",
    "row_mask": "invimpute.encoding.missingness:row_mask",
    "ImageDamage": "invimpute.encoding.missingness:ImageDamage",
    "ConvAutoencoder": "invimpute.models.networks:ConvAutoencoder",
    "MLPAutoencoder": "invimpute.models.networks:MLPAutoencoder",
    "reference_mlp": "invimpute.models.networks:reference_mlp",
    "symmetric_mlp": "invimpute.models.networks:symmetric_mlp",
    "FitResult": "invimpute.training.loop:FitResult",
    "History": "invimpute.training.loop:History",
    "TrainConfig": "invimpute.training.loop:TrainConfig",
    "fit": "invimpute.training.loop:fit",
    "fit_members": "invimpute.training.loop:fit_members",
    "predict": "invimpute.training.loop:predict",
    "PooledEstimate": "invimpute.uncertainty.measures:PooledEstimate",
    "rubin_pool": "invimpute.uncertainty.measures:rubin_pool",
    "ValidatedInversion": "invimpute.inversion.validated:ValidatedInversion",
    "invert_validated": "invimpute.inversion.validated:invert_validated",
}
"""Public name -> ``module`` (a subpackage or module) or ``module:attribute``."""

__all__ = [
    "Imputer", "NotFittedError", "tables",
    "TableEncoder", "Schema", "Layout", "NUMERIC", "UNIT", "BINARY", "CATEGORICAL",
    "detect", "mcar_mask", "mar_mask", "mnar_mask", "row_mask", "patch_mask", "group_mask", "apply_mask",
    "ImageDamage",
    "MLPAutoencoder", "ConvAutoencoder", "reference_mlp", "symmetric_mlp",
    "ModelConfig", "UncertaintyConfig", "EncodingConfig", "Auto",
    "masked_mse", "typed_loss", "apply_head", "inverse_head",
    "TrainConfig", "History", "FitResult", "fit", "fit_members", "predict",
    "InversionConfig", "InversionResult", "invert", "invert_draws", "code_radius",
    "invert_validated", "ValidatedInversion", "Invertible", "LatentInvertible",
    "LangevinConfig", "fit_denoiser", "langevin_draws",
    "Belief", "Calibration", "PooledEstimate", "rubin_pool", "uncertainty",
    "METHODS", "plot", "datasets", "metrics", "missingness", "checkpoint", "job", "distributed", "compile_cache",
]


def __getattr__(name: str):
    target = _WHERE.get(name)
    if target is None:
        raise AttributeError(f"module 'invimpute' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    value = importlib.import_module(module)
    if attribute:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
