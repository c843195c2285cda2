"""invimpute: missing-data imputation by gradient-based input inversion, in JAX.

Flax autoencoders are trained on incomplete tables with masked losses; reverse training then repairs
each damaged sample by gradient descent over only its missing entries through the frozen network,
``vmap``ped and ``jit``-compiled over many samples at once.
"""

from invimpute import checkpoint, compile_cache, datasets, distributed, job, metrics, missingness, tables, uncertainty
from invimpute.belief import Belief, Calibration
from invimpute.encoding import TableEncoder
from invimpute.schema import Schema
from invimpute.heads import apply_head, inverse_head
from invimpute.imputer import Imputer, NotFittedError
from invimpute.inversion import InversionConfig, InversionResult, code_radius, invert
from invimpute.inversion_draws import invert_draws
from invimpute.layout import BINARY, CATEGORICAL, NUMERIC, UNIT, Layout
from invimpute.losses import masked_mse, typed_loss
from invimpute.auto import Auto
from invimpute.config import EncodingConfig, ModelConfig, UncertaintyConfig
from invimpute.imputer import METHODS
from invimpute.missingness import apply_mask, detect, group_mask, mar_mask, mcar_mask, mnar_mask, patch_mask, row_mask
from invimpute.models import ConvAutoencoder, MLPAutoencoder, reference_mlp, symmetric_mlp
from invimpute.training import FitResult, History, TrainConfig, fit, fit_members, predict
from invimpute.uncertainty import PooledEstimate, rubin_pool
from invimpute.validated import ValidatedInversion, invert_validated

__version__ = "0.1.0"

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
    "METHODS", "datasets", "metrics", "missingness", "checkpoint", "job", "distributed", "compile_cache",
]
