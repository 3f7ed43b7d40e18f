"""Scores of synthetic tables against real ones (SDMetrics-based)."""

from ._quality import build_metadata, quality_score

__all__ = ["build_metadata", "quality_score"]
