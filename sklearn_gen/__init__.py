"""sklearn_gen: deep generative models for tabular data as scikit-learn estimators.

Fit a generator on a DataFrame, ``sample`` realistic synthetic rows, tune it with
``GridSearchCV`` against SDMetrics quality, and compose it with scikit-learn.
"""

__version__ = "0.1.0"

from ._io import write_samples
from ._persistence import load_generator, save_generator
from ._privacy import DPConfig
from .augmentation import AugmentedEstimator, GenerativeOverSampler
from .base import BaseGenerator, is_generator
from .generators import (
    CTGANGenerator,
    LatentDiffusionGenerator,
    TabDDPMGenerator,
    TransformerGenerator,
    TVAEGenerator,
)
from .preprocessing import TabularEncoder
from .utils._pipeline import sample_pipeline

__all__ = [
    "AugmentedEstimator",
    "BaseGenerator",
    "CTGANGenerator",
    "DPConfig",
    "GenerativeOverSampler",
    "LatentDiffusionGenerator",
    "TabDDPMGenerator",
    "TransformerGenerator",
    "TVAEGenerator",
    "TabularEncoder",
    "__version__",
    "is_generator",
    "load_generator",
    "sample_pipeline",
    "save_generator",
    "write_samples",
]
