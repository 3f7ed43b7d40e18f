"""GenerativeOverSampler and AugmentedEstimator: API contracts on small arrays.

Class counts, labels, seeds, clone/pickle, and the estimator checks of
imbalanced-learn (sampler) and scikit-learn (meta-estimator). The tests on real
mixed-type tables, pipelines and fold leakage are in
tests/integration/test_augmentation.py.
"""

import pickle
from collections import Counter

import numpy as np
import pytest
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gen import AugmentedEstimator, CTGANGenerator, GenerativeOverSampler, TVAEGenerator
from sklearn_gen.augmentation._augmented import _balance_allocation, _largest_remainder

from ..conftest import make_generator


def _tvae(**overrides):
    return make_generator(TVAEGenerator, **overrides)


@pytest.fixture(scope="module")
def imbalanced():
    """Three classes of 30 / 60 / 150 rows."""
    X, y = make_classification(
        n_samples=240,
        n_features=5,
        n_informative=3,
        n_classes=3,
        weights=[0.125, 0.25, 0.625],
        flip_y=0,
        random_state=0,
    )
    return X, y


# ---------------------------------------------------------------- estimator checks

#: imbalanced-learn's sampler checks that cannot apply. None: all 16 that it
#: collects for this sampler pass (check_samplers_sparse is not collected, because
#: the tags say sparse input is refused — the generators model dense tables).
SAMPLER_EXPECTED_FAILED = {}


@imblearn_parametrize_with_checks(
    [GenerativeOverSampler(_tvae(), random_state=0)],
    expected_failed_checks=lambda est: SAMPLER_EXPECTED_FAILED,
)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


#: scikit-learn checks that cannot apply to AugmentedEstimator, with the reason.
AUGMENTED_EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight weighs the real rows in the estimator's fit only; the "
        "generator is fitted on the rows as given, so a row with weight 2 and the "
        "same row repeated give the generator different tables and thus different "
        "synthetic rows (and different predictions)."
    ),
}


@parametrize_with_checks(
    [
        AugmentedEstimator(LogisticRegression(), _tvae(), random_state=0),
        AugmentedEstimator(Ridge(), _tvae(), random_state=0),
    ],
    expected_failed_checks=lambda est: AUGMENTED_EXPECTED_FAILED,
)
def test_sklearn_checks_augmented_estimator(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- sampler counts


@pytest.mark.parametrize(
    "strategy, expected",
    [
        ("auto", {0: 150, 1: 150, 2: 150}),
        ("not majority", {0: 150, 1: 150, 2: 150}),
        ("minority", {0: 150, 1: 60, 2: 150}),
        ("all", {0: 150, 1: 150, 2: 150}),
        ("not minority", {0: 30, 1: 150, 2: 150}),
        ({0: 45, 1: 100}, {0: 45, 1: 100, 2: 150}),
        ({}, {0: 30, 1: 60, 2: 150}),
        (lambda y: {0: 31}, {0: 31, 1: 60, 2: 150}),
    ],
    ids=["auto", "not_majority", "minority", "all", "not_minority", "dict", "empty",
         "callable"],
)
def test_sampler_class_counts_match_sampling_strategy(imbalanced, strategy, expected):
    X, y = imbalanced
    sampler = GenerativeOverSampler(_tvae(), sampling_strategy=strategy, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert dict(Counter(y_res.tolist())) == expected
    assert X_res.shape == (sum(expected.values()), X.shape[1])
    # Real rows first, unchanged; sampling_strategy_ counts the synthetic rows.
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    n_real = Counter(y.tolist())
    assert {k: v for k, v in sampler.sampling_strategy_.items() if v} == {
        k: expected[k] - n_real[k] for k in expected if expected[k] > n_real[k]
    }


def test_sampler_float_ratio_binary():
    X, y = make_classification(n_samples=200, weights=[0.9], flip_y=0, random_state=0)
    n_major = int((y == 0).sum())
    X_res, y_res = GenerativeOverSampler(
        _tvae(), sampling_strategy=0.5, random_state=0
    ).fit_resample(X, y)
    assert int((y_res == 1).sum()) == int(n_major * 0.5)
    assert int((y_res == 0).sum()) == n_major


@pytest.mark.parametrize(
    "strategy, ratio, expected",
    [
        ({}, 1.0, {0: 60, 1: 120, 2: 300}),  # doubles every class, keeps the ratio
        ("auto", 1.0, {0: 300, 1: 300, 2: 300}),  # balance, then double
        ({}, 0.1, {0: 33, 1: 66, 2: 165}),
    ],
)
def test_sampler_augmentation_ratio_adds_rows_to_every_class(
    imbalanced, strategy, ratio, expected
):
    X, y = imbalanced
    sampler = GenerativeOverSampler(
        _tvae(), sampling_strategy=strategy, augmentation_ratio=ratio, random_state=0
    )
    _, y_res = sampler.fit_resample(X, y)
    assert dict(Counter(y_res.tolist())) == expected


class _LabelCheckingTVAE(TVAEGenerator):
    """Records the labels each conditional ``sample`` call was asked for and gave."""

    calls = []

    def sample(self, n_samples=None, *, conditions=None, random_state=None):
        out = super().sample(n_samples, conditions=conditions, random_state=random_state)
        asked = None if conditions is None else list(conditions[self.target_name_])
        type(self).calls.append((asked, list(np.asarray(out[1]))))
        return out


def test_synthetic_rows_carry_the_requested_labels(imbalanced):
    X, y = imbalanced
    _LabelCheckingTVAE.calls.clear()
    sampler = GenerativeOverSampler(
        make_generator(_LabelCheckingTVAE), sampling_strategy={0: 100, 1: 80},
        random_state=0,
    )
    _, y_res = sampler.fit_resample(X, y)
    [(asked, got)] = _LabelCheckingTVAE.calls
    # The sampler asks the generator for exactly these labels, gets them back row
    # for row, and labels the synthetic rows (after the real ones) with them.
    assert sorted(asked) == [0] * 70 + [1] * 20
    assert got == asked
    assert list(y_res[len(y):]) == asked


def test_sampler_refuses_a_generator_that_ignores_conditions(imbalanced):
    class IgnoresConditions(TVAEGenerator):
        def sample(self, n_samples=None, *, conditions=None, random_state=None):
            return super().sample(n_samples, random_state=random_state)

    X, y = imbalanced
    sampler = GenerativeOverSampler(make_generator(IgnoresConditions), random_state=0)
    with pytest.raises(RuntimeError, match="requested class labels"):
        sampler.fit_resample(X, y)


def test_sampler_string_labels_and_object_arrays():
    rng = np.random.RandomState(0)
    X = np.column_stack(
        [rng.choice(["a", "b", "c"], 120).astype(object), rng.normal(size=120)]
    ).astype(object)
    y = np.array(["yes"] * 20 + ["no"] * 100)
    X_res, y_res = GenerativeOverSampler(_tvae(), random_state=0).fit_resample(X, y)
    assert X_res.dtype == object and y_res.dtype == y.dtype
    assert Counter(y_res.tolist()) == {"yes": 100, "no": 100}
    assert set(X_res[:, 0]) <= {"a", "b", "c"}


def test_sampler_seed_repeats_and_fits_a_clone(imbalanced):
    X, y = imbalanced
    gen = _tvae(random_state=None)
    a = GenerativeOverSampler(gen, random_state=3).fit_resample(X, y)[0]
    sampler = GenerativeOverSampler(gen, random_state=3)
    b = sampler.fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not hasattr(gen, "net_")  # the given generator is never fitted
    assert sampler.generator_ is not gen and hasattr(sampler.generator_, "net_")
    c = GenerativeOverSampler(gen, random_state=4).fit_resample(X, y)[0]
    assert not np.array_equal(a, c)


def test_sampler_parameter_validation(imbalanced):
    X, y = imbalanced
    with pytest.raises(InvalidParameterError):
        GenerativeOverSampler(_tvae(), augmentation_ratio=-1).fit_resample(X, y)
    with pytest.raises(InvalidParameterError):
        GenerativeOverSampler(object()).fit_resample(X, y)
    with pytest.raises(ValueError, match="greater or equal"):
        GenerativeOverSampler(_tvae(), sampling_strategy={0: 10}).fit_resample(X, y)


def test_sampler_default_generator_is_tvae():
    X, y = make_classification(n_samples=60, n_features=3, n_informative=2,
                               n_redundant=0, weights=[0.8], random_state=0)
    sampler = GenerativeOverSampler(random_state=0)
    # Keep the default's architecture but train one epoch, through set_params.
    sampler.set_params(generator=TVAEGenerator(epochs=1, device="cpu"))
    sampler.fit_resample(X, y)
    assert GenerativeOverSampler().generator is None
    from sklearn_gen.augmentation._sampler import _default_generator

    assert isinstance(_default_generator(), TVAEGenerator)


# ---------------------------------------------------------------- meta-estimator


def test_augmented_estimator_type_follows_the_estimator():
    assert is_classifier(AugmentedEstimator(LogisticRegression()))
    assert not is_regressor(AugmentedEstimator(LogisticRegression()))
    assert is_regressor(AugmentedEstimator(Ridge()))
    assert not hasattr(AugmentedEstimator(Ridge()), "predict_proba")
    assert not hasattr(AugmentedEstimator(SVC()), "predict_proba")
    assert hasattr(AugmentedEstimator(SVC(probability=True)), "predict_proba")
    assert hasattr(AugmentedEstimator(SVC()), "decision_function")


@pytest.mark.parametrize(
    "class_balance, n_synthetic, expected",
    [
        ("preserve", 1.0, {0: 30, 1: 60, 2: 150}),
        ("preserve", 24, {0: 3, 1: 6, 2: 15}),
        ("balance", 90, {0: 60, 1: 30, 2: 0}),  # both reach 90 < 150
        ("balance", 360, {0: 170, 1: 140, 2: 50}),  # all end at 200
        ("balance", 0, None),
    ],
)
def test_augmented_classifier_per_class_counts(imbalanced, class_balance, n_synthetic,
                                               expected):
    X, y = imbalanced
    clf = AugmentedEstimator(
        LogisticRegression(), _tvae(), n_synthetic=n_synthetic,
        class_balance=class_balance, random_state=0,
    ).fit(X, y)
    assert clf.synthetic_counts_ == expected
    assert clf.n_synthetic_ == (0 if expected is None else sum(expected.values()))
    if expected is None:
        assert clf.generator_ is None
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert 0.5 < clf.score(X, y) <= 1


def test_allocation_helpers():
    assert list(_largest_remainder(10, [1, 1, 1])) == [4, 3, 3]
    assert _largest_remainder(7, [5, 2, 9]).sum() == 7
    rng = np.random.RandomState(0)
    for _ in range(50):
        counts = rng.randint(1, 50, size=rng.randint(2, 6))
        total = int(rng.randint(0, 200))
        fast = _balance_allocation(total, counts)
        # Reference: give rows one at a time to the currently smallest class.
        slow = np.zeros_like(counts)
        for _ in range(total):
            slow[np.argmin(counts + slow)] += 1
        assert fast.sum() == total
        np.testing.assert_array_equal(np.sort(counts + fast), np.sort(counts + slow))


def test_synthetic_weight_reaches_the_estimator(imbalanced):
    X, y = imbalanced

    class RecordingLR(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            type(self).seen = (len(X), None if sample_weight is None else sample_weight.copy())
            return super().fit(X, y, sample_weight=sample_weight)

    AugmentedEstimator(RecordingLR(), _tvae(), n_synthetic=10, random_state=0).fit(X, y)
    assert RecordingLR.seen == (250, None)  # weight 1: no sample_weight passed
    weights = np.arange(len(y), dtype=float)
    AugmentedEstimator(
        RecordingLR(), _tvae(), n_synthetic=10, synthetic_weight=0.25, random_state=0
    ).fit(X, y, sample_weight=weights)
    n, seen = RecordingLR.seen
    assert n == 250
    np.testing.assert_array_equal(seen, np.r_[weights, np.full(10, 0.25)])


def test_synthetic_weight_needs_sample_weight_support(imbalanced):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = imbalanced
    est = AugmentedEstimator(KNeighborsClassifier(), _tvae(), synthetic_weight=0.5)
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        est.fit(X, y)


def test_augmented_regressor_samples_y_jointly():
    X, y = make_regression(n_samples=150, n_features=4, noise=1.0, random_state=0)
    reg = AugmentedEstimator(Ridge(), _tvae(), n_synthetic=0.5, random_state=0).fit(X, y)
    assert reg.n_synthetic_ == 75 and reg.synthetic_counts_ is None
    assert reg.generator_.target_name_ == 4 and not reg.generator_.target_is_discrete_
    X_new, y_new = reg.generator_.sample(5, random_state=0)
    assert X_new.shape == (5, 4) and y_new.dtype.kind == "f"
    assert reg.predict(X).shape == (150,)


def test_augmented_estimator_clone_and_pickle(imbalanced):
    X, y = imbalanced
    est = AugmentedEstimator(LogisticRegression(C=0.5), _tvae(), n_synthetic=20,
                             class_balance="balance", random_state=0)
    cloned = clone(est)
    assert cloned.get_params()["estimator__C"] == 0.5
    assert cloned.get_params()["generator__epochs"] == 2
    assert cloned.generator is not est.generator
    est.fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    for a, b in zip(restored.generator_.sample(10, random_state=0),
                    est.generator_.sample(10, random_state=0)):
        np.testing.assert_array_equal(a, b)


def test_sampler_clone_and_pickle(imbalanced):
    X, y = imbalanced
    sampler = GenerativeOverSampler(make_generator(CTGANGenerator),
                                    sampling_strategy="minority", random_state=0)
    assert clone(sampler).get_params()["generator__pac"] == 4
    X_res, y_res = sampler.fit_resample(X, y)
    restored = pickle.loads(pickle.dumps(sampler))
    assert restored.sampling_strategy_ == sampler.sampling_strategy_
    X2, y2 = clone(restored).fit_resample(X, y)
    np.testing.assert_array_equal(X2, X_res)
    np.testing.assert_array_equal(y2, y_res)
