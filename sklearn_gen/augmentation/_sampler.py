"""GenerativeOverSampler: imbalanced-learn over-sampling with a deep generator."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from imblearn.utils._validation import ArraysTransformer
from scipy import sparse
from sklearn.base import _fit_context, clone
from sklearn.preprocessing import label_binarize
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

__all__ = ["GenerativeOverSampler"]


def _default_generator():
    from ..generators import TVAEGenerator

    return TVAEGenerator()


def _derive_seed(rng):
    return int(rng.randint(np.iinfo(np.int32).max))


def _seeded_clone(generator, rng):
    """Clone ``generator`` (or the default) and seed it from ``rng`` when given."""
    gen = clone(_default_generator() if generator is None else generator)
    if rng is not None and "random_state" in gen.get_params(deep=False):
        gen.set_params(random_state=_derive_seed(rng))
    return gen


def _sample_labelled(generator, labels, random_state):
    """Draw one synthetic row per entry of ``labels`` from a generator fitted with y.

    Returns ``X_new`` (the fitted X's type) and checks that the sampled target
    equals the requested labels, row for row.
    """
    name = generator.target_name_
    conditions = pd.DataFrame({name: pd.Series(labels, dtype=object)})
    X_new, y_new = generator.sample(
        len(labels), conditions=conditions, random_state=random_state
    )
    got = np.asarray(y_new, dtype=object)
    if got.shape != (len(labels),) or not np.all(got == np.asarray(labels, dtype=object)):
        raise RuntimeError(
            f"{type(generator).__name__} did not return the requested class labels "
            "under conditions={target_name_: label}; cannot label synthetic rows."
        )
    return X_new


def _target_for(X, y):
    """``y`` as the generator should get it beside ``X``.

    For a DataFrame whose column labels are all integers, the target is labelled
    with the next integer (a string label would mix label types, which
    scikit-learn's feature-name validation refuses); otherwise the generator
    names it (``"y"``, or another free name).
    """
    if not isinstance(X, pd.DataFrame):
        return y
    columns = list(X.columns)
    if columns and all(
        isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in columns
    ):
        return pd.Series(y, name=max(columns) + 1)
    return pd.Series(y)


def _concat_rows(X, X_new):
    """Real rows then synthetic rows, in X's type (DataFrame dtypes kept)."""
    if isinstance(X, pd.DataFrame):
        X_new = pd.DataFrame(X_new, columns=X.columns)
        out = pd.concat([X.reset_index(drop=True), X_new], ignore_index=True)
        # Category columns whose categories differ fall back to object in concat.
        for col, dtype in X.dtypes.items():
            if out[col].dtype != dtype:
                try:
                    out[col] = out[col].astype(dtype)
                except (TypeError, ValueError):
                    pass
        return out
    return np.concatenate([np.asarray(X), np.asarray(X_new, dtype=np.asarray(X).dtype)])


class GenerativeOverSampler(BaseOverSampler):
    """Over-sample classes with rows drawn from a class-conditional generator.

    An imbalanced-learn sampler: ``fit_resample(X, y)`` fits a clone of
    ``generator`` on ``(X, y)`` (the label is one more modelled column), draws for
    each class the number of rows that ``sampling_strategy`` (and
    ``augmentation_ratio``) ask for with ``conditions={target_name_: label}``,
    and returns the real rows followed by the synthetic ones. As a step of
    :class:`imblearn.pipeline.Pipeline` it runs during ``fit`` only, so the
    generator sees the training rows of each fold and never the rows it is
    evaluated on.

    It is a class of its own, not a method of the generators: imbalanced-learn's
    ``Pipeline`` refuses an intermediate step that has both ``transform`` and
    ``fit_resample``, and every generator has ``transform``.

    Parameters
    ----------
    generator : generator instance, default=None
        The generator to clone and fit, e.g. :class:`~sklearn_gen.TVAEGenerator`
        or :class:`~sklearn_gen.CTGANGenerator`. It must accept ``fit(X, y)`` and
        ``sample(n, conditions=..., random_state=...)`` returning ``(X, y)``.
        None means ``TVAEGenerator()`` with its default settings.

    sampling_strategy : float, str, dict or callable, default='auto'
        How many rows each class should have after resampling, with
        imbalanced-learn's meanings:

        - float: the ratio :math:`N_{rm} / N_{M}` of the minority class's size
          after resampling over the majority class's size (binary only);
        - ``'minority'``: resample the minority class only;
          ``'not minority'``: every class but the minority;
          ``'not majority'``: every class but the majority;
          ``'all'``: every class; ``'auto'``: same as ``'not majority'``.
          The targeted classes are brought to the majority class's size;
        - dict: ``{label: n_rows}``, the number of rows wanted for each targeted
          class (at least its current count); ``{}`` targets no class;
        - callable: ``f(y)`` returning such a dict.

    augmentation_ratio : float, default=0.0
        Synthetic rows added to *every* class on top of ``sampling_strategy``, as a
        fraction of the class's size after ``sampling_strategy`` is met: a class
        that ``sampling_strategy`` brings to ``t`` rows ends with
        ``t + round(augmentation_ratio * t)`` rows. With
        ``sampling_strategy={}`` and ``augmentation_ratio=1.0`` every class
        doubles and the class ratio is kept; with ``sampling_strategy='auto'`` and
        ``augmentation_ratio=1.0`` the classes are balanced, then doubled.

    random_state : int, RandomState instance or None, default=None
        Seeds the generator's clone (its ``random_state`` is replaced by a seed
        drawn from this one) and the sampling. None leaves the generator's own
        ``random_state`` in charge (an int there still makes the output
        repeatable).

    Attributes
    ----------
    sampling_strategy_ : dict
        ``{label: n_synthetic}``: the number of synthetic rows drawn for each
        class (imbalanced-learn's meaning, plus the ``augmentation_ratio`` rows).

    generator_ : generator instance
        The generator fitted on ``(X, y)`` by the last ``fit_resample``.

    n_features_in_ : int
        Number of features seen in ``fit_resample``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` is a DataFrame with string column names.

    See Also
    --------
    AugmentedEstimator : Fits a generator and an estimator on real + synthetic
        rows in one ``fit``, for plain scikit-learn pipelines.
    imblearn.over_sampling.SMOTENC : Interpolation-based over-sampling for mixed
        numeric and categorical data.

    Notes
    -----
    ``X`` may be a DataFrame with mixed column types (numeric, string,
    categorical, boolean, datetime, with missing values): it is given to the
    generator as it is, and the resampled DataFrame keeps its dtypes. Arrays
    (numeric or object) come back with their dtype. Sparse input is not
    supported: the generators model dense tables.

    Every requested row is produced: the generators sample ``conditions``
    exactly (CTGAN natively, TVAE by bounded rejection) and raise an error rather
    than return fewer rows, so the class counts after ``fit_resample`` are the
    ones asked for.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_gen import GenerativeOverSampler, TVAEGenerator
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> sampler = GenerativeOverSampler(
    ...     TVAEGenerator(epochs=1, device="cpu"), random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> np.bincount(y), np.bincount(y_res)
    (array([269,  31]), array([269, 269]))
    >>> X_res.shape
    (538, 20)

    Double every class and keep the class ratio:

    >>> sampler.set_params(sampling_strategy={}, augmentation_ratio=1.0)
    GenerativeOverSampler(...)
    >>> np.bincount(sampler.fit_resample(X, y)[1])
    array([538,  62])
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "generator": [HasMethods(["fit", "sample"]), None],
        "augmentation_ratio": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        generator=None,
        *,
        sampling_strategy="auto",
        augmentation_ratio=0.0,
        random_state=None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.generator = generator
        self.augmentation_ratio = augmentation_ratio
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    def _check_X_y(self, X, y, accept_sparse=None):
        """Validate without coercing: DataFrames keep their column dtypes."""
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if isinstance(X, pd.DataFrame):
            sparse_cols = {
                col: dtype.subtype
                for col, dtype in X.dtypes.items()
                if isinstance(dtype, pd.SparseDtype)
            }
            if sparse_cols:
                # A dense copy for the generator; the output gets the dtypes back.
                X = X.astype(sparse_cols)
        else:
            if sparse.issparse(X):
                raise TypeError(
                    f"{type(self).__name__} does not accept sparse input: the "
                    "generators model dense tables. Convert X with X.toarray()."
                )
            X = check_array(
                X,
                dtype=None,
                ensure_all_finite=False,
                ensure_min_samples=2,
                input_name="X",
                estimator=self,
            )
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, np.asarray(y), binarize_y

    @_fit_context(
        # The generator's own parameters are validated by its fit.
        prefer_skip_nested_validation=False
    )
    def fit_resample(self, X, y, **params):
        """Fit the generator on ``(X, y)`` and return real plus synthetic rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The training table; mixed column types are kept as they are.

        y : array-like of shape (n_samples,)
            Class labels.

        **params : dict
            Unused; kept for imbalanced-learn's signature.

        Returns
        -------
        X_resampled : DataFrame or ndarray of shape (n_samples_new, n_features)
            The real rows (first, in order) followed by the synthetic ones; same
            type (and, for DataFrames, dtypes) as ``X``.

        y_resampled : ndarray or Series of shape (n_samples_new,)
            The labels of ``X_resampled``.
        """
        check_classification_targets(y)
        arrays_transformer = ArraysTransformer(X, y)
        X, y, binarize_y = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(
            self.sampling_strategy, y, self._sampling_type
        )
        X_res, y_res = self._fit_resample(X, y, **params)
        if binarize_y:
            y_res = label_binarize(y_res, classes=np.unique(y))
        return arrays_transformer.transform(X_res, y_res)

    def _synthetic_counts(self, y):
        """``{label: n_synthetic}`` from ``sampling_strategy_`` and the ratio."""
        labels, counts = np.unique(y, return_counts=True)
        out = {}
        for label, count in zip(labels, counts):
            n_new = int(self.sampling_strategy_.get(label, 0))
            target = int(count) + n_new
            n_new += int(round(self.augmentation_ratio * target))
            out[label] = n_new
        return out

    def _fit_resample(self, X, y, **params):
        counts = self._synthetic_counts(y)
        # imbalanced-learn's keys (the targeted classes), plus the classes that
        # augmentation_ratio adds rows to.
        self.sampling_strategy_ = {
            label: n
            for label, n in counts.items()
            if label in self.sampling_strategy_ or n > 0
        }
        rng = None if self.random_state is None else check_random_state(self.random_state)
        generator = _seeded_clone(self.generator, rng)
        self.generator_ = generator.fit(X, _target_for(X, y))
        labels = np.concatenate(
            [np.full(n, label, dtype=y.dtype) for label, n in counts.items()]
            + [np.empty(0, dtype=y.dtype)]
        )
        if len(labels) == 0:
            return X, y.copy()
        seed = None if rng is None else _derive_seed(rng)
        X_new = _sample_labelled(self.generator_, labels, seed)
        return _concat_rows(X, X_new), np.concatenate([y, labels])
