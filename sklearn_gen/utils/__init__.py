"""Utilities: generator discovery, estimator checks for generators, pipeline sampling."""

from ._pipeline import sample_pipeline
from .discovery import all_generators

__all__ = ["all_generators", "sample_pipeline"]
