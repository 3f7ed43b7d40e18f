"""AugmentedEstimator: train an estimator on real plus generated rows."""

from __future__ import annotations

import copy
import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from ._sampler import (
    _concat_rows,
    _derive_seed,
    _sample_labelled,
    _seeded_clone,
    _target_for,
)

__all__ = ["AugmentedEstimator"]


def _estimator_has(attr):
    """Check the fitted ``estimator_`` if there is one, else ``estimator``."""

    def check(self):
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


def _largest_remainder(total, weights):
    """Split the integer ``total`` in proportion to ``weights`` (sums exactly)."""
    weights = np.asarray(weights, dtype=float)
    quotas = total * weights / weights.sum()
    out = np.floor(quotas).astype(int)
    remainder = total - out.sum()
    if remainder:
        order = np.argsort(-(quotas - out), kind="stable")
        out[order[:remainder]] += 1
    return out


def _balance_allocation(total, counts):
    """Give ``total`` rows to the smallest classes first (water-filling).

    Classes are raised to a common level, smallest first; the rows that do not
    fill a whole level go one each to the smallest classes. O(k log k).
    """
    counts = np.asarray(counts, dtype=np.int64)
    order = np.argsort(counts, kind="stable")
    sorted_counts = counts[order]
    k = len(counts)
    level = sorted_counts[0]
    m = 1  # classes currently at ``level``
    remaining = int(total)
    while m < k and remaining >= (sorted_counts[m] - level) * m:
        remaining -= int((sorted_counts[m] - level) * m)
        level = sorted_counts[m]
        m += 1
    level += remaining // m
    extra = remaining % m
    final = np.maximum(sorted_counts, level)
    final[:extra] += 1  # ties broken towards the (stable-)smallest classes
    out = np.empty_like(counts)
    out[order] = final - sorted_counts
    return out


class AugmentedEstimator(MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator on its training rows plus rows from a generator.

    ``fit(X, y)`` clones ``generator`` and fits it on ``(X, y)`` — the rows it
    is given and no others — samples ``n_synthetic`` rows with their targets,
    and fits a clone of ``estimator`` on the real rows followed by the synthetic
    ones. Prediction is the fitted estimator's. Because the generator is fitted
    inside ``fit``, ``cross_val_score``, ``GridSearchCV`` and a
    :class:`~sklearn.pipeline.Pipeline` ending in this estimator fit it on the
    training folds only: it never sees a test fold.

    It is a classifier when ``estimator`` is one (with ``classes_``,
    ``predict_proba`` and ``decision_function`` when the estimator has them) and
    a regressor when ``estimator`` is one.

    Parameters
    ----------
    estimator : estimator instance
        The classifier or regressor to train on real + synthetic rows. A
        :class:`~sklearn.pipeline.Pipeline` (e.g. one-hot encoding then a linear
        model) is fine: it receives the table as given, in ``X``'s type.

    generator : generator instance, default=None
        The generator to clone and fit on ``(X, y)``, e.g.
        :class:`~sklearn_gen.TVAEGenerator` or :class:`~sklearn_gen.CTGANGenerator`.
        None means ``TVAEGenerator()`` with its default settings. Pass one
        explicitly to tune it, e.g. ``GridSearchCV(est, {"generator__epochs":
        [100, 300]})``.

    n_synthetic : int or float, default=1.0
        Number of synthetic rows: an int is a count; a float is a fraction of the
        number of training rows (``1.0`` doubles the training set). ``0`` fits
        the estimator on the real rows only (a baseline in a grid search).

    class_balance : {"preserve", "balance"}, default="preserve"
        For classifiers, how the synthetic rows are shared among classes (each
        class's rows are drawn with ``conditions={target: label}``):

        - ``"preserve"``: in proportion to the class frequencies in ``y``, so
          the augmented set keeps the class ratio;
        - ``"balance"``: to the classes with the fewest rows (real + synthetic)
          first, so the augmented set is as balanced as ``n_synthetic`` allows
          (with enough rows, every class ends equal, then grows equally).

        Ignored for regressors, whose targets are sampled jointly with ``X``.

    synthetic_weight : float, default=1.0
        Sample weight of each synthetic row in the estimator's fit (real rows
        weigh 1, or their ``sample_weight``). A value other than 1 needs an
        estimator whose ``fit`` accepts ``sample_weight``.

    random_state : int, RandomState instance or None, default=None
        Seeds the generator's clone (its ``random_state`` is replaced by a seed
        drawn from this one) and the sampling. None leaves the generator's own
        ``random_state`` in charge. The estimator's ``random_state`` is not
        touched.

    Attributes
    ----------
    estimator_ : estimator instance
        The estimator fitted on real + synthetic rows.

    generator_ : generator instance
        The generator fitted on the training rows.

    n_synthetic_ : int
        Number of synthetic rows added.

    synthetic_counts_ : dict
        For classifiers, ``{label: n_rows}`` of synthetic rows per class.

    classes_ : ndarray of shape (n_classes,)
        The class labels (classifiers only).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` is a DataFrame with string column names.

    See Also
    --------
    GenerativeOverSampler : The imbalanced-learn sampler (``fit_resample``) for
        :class:`imblearn.pipeline.Pipeline`.

    Notes
    -----
    For classifiers the generator models the label as a categorical column and
    each class's rows are sampled conditionally on it, so every synthetic row
    carries the label it was drawn for. For regressors the generator models
    ``y`` jointly with ``X`` and ``sample`` returns both.

    ``fit`` parameters other than ``sample_weight`` are passed to the
    estimator's ``fit`` unchanged; per-row parameters cannot be extended to the
    synthetic rows, so do not pass them.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_gen import AugmentedEstimator, TVAEGenerator
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = AugmentedEstimator(
    ...     LogisticRegression(), TVAEGenerator(epochs=1, device="cpu"),
    ...     n_synthetic=0.5, random_state=0)
    >>> clf.fit(X, y).n_synthetic_
    100
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> cross_val_score(clf, X, y, cv=3).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "generator": [HasMethods(["fit", "sample"]), None],
        "n_synthetic": [
            Interval(numbers.Integral, 0, None, closed="left"),
            Interval(numbers.Real, 0, None, closed="left"),
        ],
        "class_balance": [StrOptions({"preserve", "balance"})],
        "synthetic_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        generator=None,
        *,
        n_synthetic=1.0,
        class_balance="preserve",
        synthetic_weight=1.0,
        random_state=None,
    ):
        self.estimator = estimator
        self.generator = generator
        self.n_synthetic = n_synthetic
        self.class_balance = class_balance
        self.synthetic_weight = synthetic_weight
        self.random_state = random_state

    # ------------------------------------------------------------------ tags

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.target_tags.required = True
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        # The generators accept NaN, strings and categories; the estimator decides.
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.categorical = inner.input_tags.categorical
        tags.input_tags.sparse = False
        return tags

    @property
    def _is_classifier(self):
        return get_tags(self.estimator).estimator_type == "classifier"

    # ------------------------------------------------------------------ fit

    def _check_fit_data(self, X, y):
        if not isinstance(X, pd.DataFrame):
            X = check_array(
                X,
                dtype=self._array_dtype(),
                ensure_all_finite="allow-nan" if get_tags(self).input_tags.allow_nan
                else True,
                ensure_min_samples=2,
                input_name="X",
                estimator=self,
            )
        X, y = validate_data(self, X, y, reset=True, skip_check_array=True)
        if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
            y = y.iloc[:, 0]
        y_values = column_or_1d(
            y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y, warn=True
        )
        if len(y_values) != len(X):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {len(X)} and "
                f"{len(y_values)}."
            )
        if self._is_classifier:
            check_classification_targets(y_values)
        else:
            # A regression target is a number; the generator then models it as a
            # continuous column (an object array of numbers would look categorical).
            y_values = check_array(
                y_values, ensure_2d=False, dtype="numeric", input_name="y",
                estimator=self,
            )
        return X, y_values

    def _array_dtype(self):
        # Arrays keep their dtype (object included) when the estimator takes
        # strings; otherwise they are validated as numbers, as it would do itself.
        return None if get_tags(self).input_tags.string else "numeric"

    def _n_total(self, n_rows):
        if isinstance(self.n_synthetic, numbers.Integral):
            return int(self.n_synthetic)
        return int(round(self.n_synthetic * n_rows))

    @_fit_context(
        # The generator and the estimator validate their own parameters.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the generator on ``(X, y)``, then the estimator on real + synthetic.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training rows; mixed column types are given to the generator and the
            estimator as they are.

        y : array-like of shape (n_samples,)
            Class labels (classifiers) or numeric targets (regressors).

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the real rows in the estimator's fit (the generator does
            not use them). Synthetic rows weigh ``synthetic_weight``.

        **fit_params : dict
            Passed to ``estimator.fit`` unchanged (not per-row parameters).

        Returns
        -------
        self : object
            The fitted meta-estimator.
        """
        X, y = self._check_fit_data(X, y)
        n_rows = len(y)
        n_total = self._n_total(n_rows)
        rng = None if self.random_state is None else check_random_state(self.random_state)
        weighted = sample_weight is not None or self.synthetic_weight != 1.0
        if weighted and not has_fit_parameter(self.estimator, "sample_weight"):
            raise ValueError(
                f"{type(self.estimator).__name__}.fit does not accept sample_weight; "
                "use synthetic_weight=1.0 and no sample_weight with it."
            )

        self.generator_ = None
        self.synthetic_counts_ = None
        X_new, y_new = None, None
        if n_total > 0:
            generator = _seeded_clone(self.generator, rng)
            self.generator_ = generator.fit(X, _target_for(X, y))
            seed = None if rng is None else _derive_seed(rng)
            if self._is_classifier:
                labels, counts = np.unique(y, return_counts=True)
                if self.class_balance == "preserve":
                    per_class = _largest_remainder(n_total, counts)
                else:
                    per_class = _balance_allocation(n_total, counts)
                self.synthetic_counts_ = {
                    label: int(n) for label, n in zip(labels, per_class)
                }
                y_new = np.concatenate(
                    [np.full(n, label, dtype=y.dtype) for label, n in zip(labels, per_class)]
                )
                X_new = _sample_labelled(self.generator_, y_new, seed)
            else:
                X_new, y_new = self.generator_.sample(n_total, random_state=seed)
                y_new = np.asarray(y_new, dtype=y.dtype)
        self.n_synthetic_ = 0 if y_new is None else len(y_new)

        if X_new is not None:
            X_all = _concat_rows(X, X_new)
            y_all = np.concatenate([y, y_new])
        else:
            X_all, y_all = X, y
        if weighted:
            real_weight = _check_sample_weight(sample_weight, np.empty((n_rows, 0)))
            fit_params["sample_weight"] = np.concatenate(
                [real_weight, np.full(self.n_synthetic_, float(self.synthetic_weight))]
            )
        self.estimator_ = clone(self.estimator).fit(X_all, y_all, **fit_params)
        return self

    # ------------------------------------------------------------ predict

    def _check_predict_data(self, X):
        check_is_fitted(self)
        if not isinstance(X, pd.DataFrame):
            X = check_array(
                X,
                dtype=self._array_dtype(),
                ensure_all_finite="allow-nan" if get_tags(self).input_tags.allow_nan
                else True,
                input_name="X",
                estimator=self,
            )
        return validate_data(self, X, reset=False, skip_check_array=True)

    @property
    def classes_(self):
        """The class labels of the fitted estimator (classifiers only)."""
        return self.estimator_.classes_

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the estimator fitted on real + synthetic rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        X = self._check_predict_data(X)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted estimator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._check_predict_data(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the fitted estimator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._check_predict_data(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        X = self._check_predict_data(X)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None):
        """The fitted estimator's ``score`` on ``(X, y)``.

        Accuracy for most classifiers, :math:`R^2` for most regressors.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Test rows.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        X = self._check_predict_data(X)
        if sample_weight is None:
            return self.estimator_.score(X, y)
        return self.estimator_.score(X, y, sample_weight=sample_weight)
