"""Scores of synthetic tables against real ones (SDMetrics-based)."""

from ._consistency import consistency_score, diagnostic_score
from ._diversity import coverage_score, nn_precision_score, nn_recall_score
from ._explain import explain_detection
from ._fidelity import column_pair_trends_score, column_shapes_score, detection_score
from ._privacy import (
    attribute_inference_score,
    dcr_share,
    exact_copy_rate,
    membership_inference_score,
)
from ._quality import build_metadata, quality_score
from ._reports import SyntheticReport
from ._scorers import (
    evaluate_synthetic,
    get_scorer,
    get_scorer_names,
    make_generator_scorer,
)
from ._utility import ml_efficacy_score

__all__ = [
    "SyntheticReport",
    "attribute_inference_score",
    "build_metadata",
    "column_pair_trends_score",
    "column_shapes_score",
    "consistency_score",
    "coverage_score",
    "dcr_share",
    "detection_score",
    "diagnostic_score",
    "evaluate_synthetic",
    "exact_copy_rate",
    "explain_detection",
    "get_scorer",
    "get_scorer_names",
    "make_generator_scorer",
    "membership_inference_score",
    "ml_efficacy_score",
    "nn_precision_score",
    "nn_recall_score",
    "quality_score",
]
