"""invimpute: missing-data imputation by gradient-based input inversion, in JAX.

Flax autoencoders are trained on incomplete tables with masked losses; reverse training then repairs
each damaged sample by gradient descent over only its missing entries through the frozen network,
``vmap``ped and ``jit``-compiled over many samples at once.
"""

from invimpute import checkpoint, datasets, distributed, job, tables, uncertainty
from invimpute.encoding import missingness
from invimpute.runtime import compile_cache
from invimpute.scoring import metrics
from invimpute.uncertainty.belief import Belief, Calibration
from invimpute.encoding.encoder import TableEncoder
from invimpute.encoding.schema import Schema
from invimpute.models.heads import apply_head, inverse_head
from invimpute.estimator.imputer import Imputer, NotFittedError
from invimpute.inversion.batch import InversionConfig, InversionResult, code_radius, invert
from invimpute.inversion.draws import invert_draws
from invimpute.encoding.layout import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout
from invimpute.models.losses import masked_mse, typed_loss
from invimpute.methods.auto import Auto
from invimpute.config import EncodingConfig, ModelConfig, UncertaintyConfig
from invimpute.estimator.imputer import METHODS
from invimpute.encoding.missingness import apply_mask, detect, group_mask, mar_mask, mcar_mask, mnar_mask, patch_mask, row_mask
from invimpute.models.networks import ConvAutoencoder, MLPAutoencoder, reference_mlp, symmetric_mlp
from invimpute.training.loop import FitResult, History, TrainConfig, fit, fit_members, predict
from invimpute.uncertainty.measures import PooledEstimate, rubin_pool
from invimpute.inversion.validated import ValidatedInversion, invert_validated

__version__ = "0.1.0"

_LAZY = {"plot": "invimpute.plot"}
"""Public modules imported on first use, not by ``import invimpute``: ``invimpute.plot`` (the figures,
which import matplotlib, the optional ``figures`` extra, only when they draw)."""


def __getattr__(name: str):
    """``invimpute.plot`` imported on first access (module ``__getattr__``, PEP 562)."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'invimpute' has no attribute {name!r}")

__all__ = [
    "Imputer", "NotFittedError", "tables",
    "TableEncoder", "Schema", "Layout", "NUMERIC", "UNIT", "BINARY", "CATEGORICAL",
    "detect", "mcar_mask", "mar_mask", "mnar_mask", "row_mask", "patch_mask", "group_mask", "apply_mask",
    "MLPAutoencoder", "ConvAutoencoder", "reference_mlp", "symmetric_mlp",
    "ModelConfig", "UncertaintyConfig", "EncodingConfig", "Auto",
    "masked_mse", "typed_loss", "apply_head", "inverse_head",
    "TrainConfig", "History", "FitResult", "fit", "fit_members", "predict",
    "InversionConfig", "InversionResult", "invert", "invert_draws", "code_radius",
    "invert_validated", "ValidatedInversion",
    "Belief", "Calibration", "PooledEstimate", "rubin_pool", "uncertainty",
    "METHODS", "plot", "datasets", "metrics", "missingness", "checkpoint", "job", "distributed", "compile_cache",
]
