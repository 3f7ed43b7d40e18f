"""The generator estimators, one thin class per model family."""

from ._tvae import TVAEGenerator

__all__ = ["TVAEGenerator"]
