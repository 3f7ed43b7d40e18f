"""PyTorch modules and losses (no scikit-learn here).

Every module reads a :class:`~sklearn_gen.preprocessing.Layout` to know which output
units are scalars and which are class blocks.
"""

from ._ctgan import (
    CTGANDiscriminatorModule,
    CTGANGeneratorModule,
    CTGANLoss,
    ConditionalVector,
    activate_outputs,
    gradient_penalty,
)
from ._losses import ELBOLoss, SpanLoss
from ._outputs import SpanIndex, sample_outputs
from ._tvae import TVAEModule

__all__ = [
    "CTGANDiscriminatorModule",
    "CTGANGeneratorModule",
    "CTGANLoss",
    "ConditionalVector",
    "ELBOLoss",
    "SpanIndex",
    "SpanLoss",
    "TVAEModule",
    "activate_outputs",
    "gradient_penalty",
    "sample_outputs",
]
