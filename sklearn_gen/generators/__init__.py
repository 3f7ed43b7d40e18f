"""The generator estimators, one thin class per model family."""

from ._ctgan import CTGANGenerator
from ._latent_diffusion import LatentDiffusionGenerator
from ._tabddpm import TabDDPMGenerator
from ._transformer import TransformerGenerator
from ._tvae import TVAEGenerator

__all__ = [
    "CTGANGenerator",
    "LatentDiffusionGenerator",
    "TabDDPMGenerator",
    "TransformerGenerator",
    "TVAEGenerator",
]
