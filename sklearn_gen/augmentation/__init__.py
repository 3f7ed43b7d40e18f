"""Data augmentation with generators: an imbalanced-learn sampler and a meta-estimator.

:class:`GenerativeOverSampler` is the ``fit_resample`` sampler for
:class:`imblearn.pipeline.Pipeline`; :class:`AugmentedEstimator` fits a generator and
an estimator in one ``fit``, for plain scikit-learn pipelines and cross-validation.
"""

from ._augmented import AugmentedEstimator
from ._sampler import GenerativeOverSampler

__all__ = ["AugmentedEstimator", "GenerativeOverSampler"]
