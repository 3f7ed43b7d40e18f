"""The generator estimators, one thin class per model family."""

from ._ctgan import CTGANGenerator
from ._tvae import TVAEGenerator

__all__ = ["CTGANGenerator", "TVAEGenerator"]
