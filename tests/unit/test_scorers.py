"""Tests of the metric functions and generator scorers, on real Adult rows."""

import numpy as np
import pandas as pd
import pytest

from sklearn_gen import TVAEGenerator
from sklearn_gen.metrics import (
    column_pair_trends_score,
    column_shapes_score,
    consistency_score,
    coverage_score,
    dcr_share,
    detection_score,
    diagnostic_score,
    evaluate_synthetic,
    exact_copy_rate,
    get_scorer,
    get_scorer_names,
    make_generator_scorer,
    ml_efficacy_score,
    nn_precision_score,
    nn_recall_score,
    quality_score,
)
from tests.conftest import make_generator

FIDELITY_AND_DIVERSITY = [
    column_shapes_score,
    column_pair_trends_score,
    lambda r, s: column_pair_trends_score(r, s, all_pairs=False),
    detection_score,
    lambda r, s: detection_score(r, s, method="gradient_boosting"),
    coverage_score,
    nn_precision_score,
    nn_recall_score,
    consistency_score,
    diagnostic_score,
]


@pytest.fixture(scope="module")
def halves(adult_full):
    """Two disjoint 1,500-row samples of Adult: same distribution, other rows."""
    rows = adult_full.sample(3000, random_state=1).reset_index(drop=True)
    return rows.iloc[:1500].reset_index(drop=True), rows.iloc[1500:].reset_index(
        drop=True
    )


@pytest.mark.parametrize("metric", FIDELITY_AND_DIVERSITY)
def test_identical_tables_score_one(adult, metric):
    rows = adult.iloc[:800]
    assert metric(rows, rows) == pytest.approx(1.0)
    # Row order does not matter.
    assert metric(rows, rows.iloc[::-1]) == pytest.approx(1.0)


def test_other_real_rows_score_high(halves):
    real, other = halves
    assert column_shapes_score(real, other) > 0.95
    assert column_pair_trends_score(real, other) > 0.9
    assert detection_score(real, other) > 0.85
    assert detection_score(real, other, method="gradient_boosting") > 0.8
    assert nn_precision_score(real, other) > 0.85
    assert nn_recall_score(real, other) > 0.85


def test_shuffled_column_lowers_pair_trends_not_shapes(adult):
    rng = np.random.RandomState(0)
    # education-num is a recoding of education: shuffling it breaks that pair.
    shuffled = adult.assign(
        **{"education-num": rng.permutation(adult["education-num"])}
    )
    assert column_shapes_score(adult, shuffled) == pytest.approx(1.0)
    trends = column_pair_trends_score(adult, shuffled)
    assert trends < 0.99
    # Only pairs involving the shuffled column moved: 14 of 105 pairs.
    assert trends > 1 - 14 / 105
    # Its strongest pair (with education) is one of the few the thresholded
    # variant keeps, so that one drops much more.
    assert column_pair_trends_score(adult, shuffled, all_pairs=False) < trends - 0.02
    # Shuffling a column related to no other one barely moves the score.
    unrelated = adult.assign(fnlwgt=rng.permutation(adult["fnlwgt"]))
    assert column_pair_trends_score(adult, unrelated) > trends


def test_shifted_column_lowers_shapes_and_is_detected(adult):
    shifted = adult.assign(age=adult["age"] + 15)
    shapes = column_shapes_score(adult, shifted)
    # One column of 15 is off: the KS complement of age drops, others stay at 1.
    assert 1 - 1 / 15 < shapes < 0.99
    assert detection_score(adult, shifted, method="gradient_boosting") < 0.5
    assert detection_score(adult, shifted) < 0.5
    far = adult.assign(age=adult["age"] + 60)
    assert nn_precision_score(adult, far) < 0.5


def test_collapsed_sample_loses_coverage_and_recall(halves):
    real, other = halves
    collapsed = other[other["workclass"] == " Private"]
    assert coverage_score(real, collapsed) < coverage_score(real, other)
    assert nn_recall_score(real, collapsed) < nn_recall_score(real, other) - 0.05


def test_pair_trends_variants_differ(halves):
    real, other = halves
    rng = np.random.RandomState(0)
    independent = other.apply(lambda column: rng.permutation(column.to_numpy()))
    all_pairs = column_pair_trends_score(real, independent, all_pairs=True)
    thresholded = column_pair_trends_score(real, independent, all_pairs=False)
    assert all_pairs != pytest.approx(thresholded)
    # The QualityReport uses the thresholded variant.
    _, report = quality_score(real, independent, return_report=True)
    properties = report.get_properties().set_index("Property")["Score"]
    assert properties["Column Pair Trends"] == pytest.approx(thresholded)


def test_detection_is_deterministic_and_seeded(halves):
    real, other = halves
    first = detection_score(real, other, random_state=0)
    assert detection_score(real, other, random_state=0) == first
    gb = detection_score(real, other, method="gradient_boosting", max_rows=800)
    assert detection_score(real, other, method="gradient_boosting", max_rows=800) == gb
    assert detection_score(real, other, random_state=1) != first


@pytest.mark.parametrize(
    "metric", [column_pair_trends_score, nn_precision_score, coverage_score]
)
def test_subsampling_is_deterministic(halves, metric):
    real, other = halves
    assert metric(real, other, max_rows=500) == metric(real, other, max_rows=500)


def test_detection_handles_category_only_in_synthetic(halves):
    real, other = halves
    synthetic = other.copy()
    synthetic.loc[:499, "workclass"] = "Never-seen-before"
    for method in ("logistic", "gradient_boosting"):
        # SDMetrics' LogisticDetection raises here; the new category is detected.
        assert (
            detection_score(real, synthetic, method=method)
            < detection_score(real, other, method=method) - 0.1
        )


def test_detection_rejects_unknown_method(adult):
    with pytest.raises(ValueError, match="gradient_boosting"):
        detection_score(adult, adult, method="svm")


def test_consistency_flags_invalid_rows(adult):
    broken = adult.copy()
    broken.loc[:99, "age"] = adult["age"].max() + 10  # out of bounds
    broken.loc[100:149, "sex"] = "Unknown"  # unknown category
    broken["hours-per-week"] = broken["hours-per-week"].astype(float)
    broken.loc[150:159, "hours-per-week"] = 40.5  # not an integer
    score, mask = consistency_score(adult, broken, return_mask=True)
    assert score == pytest.approx(1 - 160 / len(adult))
    assert not mask[:160].any() and mask[160:].all()


def test_consistency_constraints(adult):
    rule = lambda df: df["age"] >= 25  # noqa: E731
    expected = float((adult["age"] >= 25).mean())
    assert consistency_score(adult, adult, constraints=rule) == pytest.approx(expected)
    assert consistency_score(adult, adult, constraints=[rule, rule]) == pytest.approx(
        expected
    )
    with pytest.raises(ValueError, match="one boolean per row"):
        consistency_score(adult, adult, constraints=lambda df: [True])


def test_consistency_uses_generator_schema(adult):
    gen = make_generator(TVAEGenerator).fit(adult)
    narrow = adult[adult["age"] < 40]
    # Bounds from the narrow table reject older rows; the generator's schema,
    # learned on all of adult, accepts them.
    assert consistency_score(narrow, adult) < 1.0
    assert consistency_score(narrow, adult, schema=gen.encoder_.schema_) == 1.0


def test_diagnostic_detects_out_of_range(adult):
    broken = adult.assign(age=adult["age"] + 200)
    assert diagnostic_score(adult, broken) < 0.99


def test_ml_efficacy_classification_and_regression(halves):
    real, other = halves
    auc = ml_efficacy_score(real, other, target="income")
    assert 0.8 < auc <= 1.0
    rng = np.random.RandomState(0)
    noise = other.assign(income=rng.permutation(other["income"].to_numpy()))
    assert ml_efficacy_score(real, noise, target="income") < 0.65
    r2 = ml_efficacy_score(real, other, target="age", task="regression")
    assert 0.2 < r2 < 1.0
    f1 = ml_efficacy_score(real, other, target="race")  # multiclass: macro F1
    assert 0.0 < f1 <= 1.0


def test_ml_efficacy_custom_estimator(halves):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    real, other = halves
    numeric = ["age", "education-num", "hours-per-week"]
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), numeric),
            (OneHotEncoder(handle_unknown="ignore"), ["sex", "relationship"]),
        ),
        LogisticRegression(),
    )
    assert ml_efficacy_score(real, other, target="income", estimator=model) > 0.75


def test_ml_efficacy_errors(adult):
    with pytest.raises(ValueError, match="not a column"):
        ml_efficacy_score(adult, adult, target="salary")
    with pytest.raises(ValueError, match="task"):
        ml_efficacy_score(adult, adult, target="income", task="ranking")


def test_privacy_flags_copies(adult_full):
    rows = adult_full.sample(3000, random_state=2).reset_index(drop=True)
    train, holdout, fresh = rows.iloc[:1000], rows.iloc[1000:2000], rows.iloc[2000:]
    copies = train.sample(500, random_state=0)
    assert dcr_share(train, copies, holdout) == pytest.approx(1.0)
    assert exact_copy_rate(train, copies) == 1.0
    assert dcr_share(train, fresh, holdout) == pytest.approx(0.5, abs=0.06)
    assert exact_copy_rate(train, fresh) < 0.01
    # Half copies, half fresh rows.
    mixed = pd.concat([copies, fresh.iloc[:500]], ignore_index=True)
    assert exact_copy_rate(train, mixed) == pytest.approx(0.5, abs=0.01)
    assert 0.7 < dcr_share(train, mixed, holdout) < 0.8


def test_arrays_take_real_columns(adult):
    array = adult.to_numpy()
    assert coverage_score(adult, array) == pytest.approx(1.0)
    assert column_shapes_score(adult, array) == pytest.approx(1.0)


def test_mismatched_columns_are_named(adult):
    other = adult.drop(columns=["age"]).assign(height=1.0)
    for metric in (column_shapes_score, detection_score, nn_recall_score):
        with pytest.raises(ValueError, match=r"missing from synthetic: \['age'\]"):
            metric(adult, other)
    with pytest.raises(ValueError, match=r"not in train: \['height'\]"):
        dcr_share(adult, other, adult)


def test_empty_table_is_an_error(adult):
    with pytest.raises(ValueError, match="synthetic has no rows"):
        column_shapes_score(adult, adult.iloc[:0])


# ------------------------------------------------------------------ scorers


def test_get_scorer_names_and_unknown_name():
    names = get_scorer_names()
    for name in (
        "quality",
        "column_shapes",
        "column_pair_trends",
        "column_pair_trends_thresholded",
        "detection",
        "detection_gb",
        "coverage",
        "nn_precision",
        "nn_recall",
        "consistency",
        "diagnostic",
        "ml_efficacy",
    ):
        assert name in names
        assert callable(get_scorer(name))
    with pytest.raises(ValueError, match="Valid names: .*'quality'"):
        get_scorer("qualty")
    with pytest.raises(ValueError, match="training rows"):
        get_scorer("dcr_share")


@pytest.fixture(scope="module")
def fitted(adult):
    train = adult.iloc[:1000]
    return make_generator(TVAEGenerator).fit(train), adult.iloc[1000:]


def test_scorer_is_deterministic_and_matches_score(fitted):
    gen, test = fitted
    scorer = get_scorer("quality")
    value = scorer(gen, test)
    assert value == scorer(gen, test)
    assert value == pytest.approx(gen.score(test))
    assert 0.0 < value < 1.0
    assert "quality" in repr(scorer)


def test_scorer_sign_and_seed(fitted):
    gen, test = fitted
    positive = make_generator_scorer(coverage_score)(gen, test)
    negative = make_generator_scorer(coverage_score, greater_is_better=False)(gen, test)
    assert negative == -positive
    seeded = make_generator_scorer("column_shapes", random_state=123)
    assert seeded(gen, test) == seeded(gen, test)
    assert seeded(gen, test) != get_scorer("column_shapes")(gen, test)


def test_scorer_with_target(adult):
    X, y = adult.drop(columns=["income"]), adult["income"]
    gen = make_generator(TVAEGenerator).fit(X.iloc[:1000], y.iloc[:1000])
    X_test, y_test = X.iloc[1000:], y.iloc[1000:]
    # ml_efficacy takes the sampled target as its target column.
    score = get_scorer("ml_efficacy")(gen, X_test, y_test)
    assert 0.0 <= score <= 1.0
    with pytest.raises(ValueError, match="needs a target"):
        get_scorer("ml_efficacy")(gen, X_test)
    # With y the target is compared as a column too.
    with_y = get_scorer("column_shapes")(gen, X_test, y_test)
    without_y = get_scorer("column_shapes")(gen, X_test)
    assert with_y != without_y


def test_scorer_on_array_generator(adult):
    numeric = adult[["age", "education-num", "hours-per-week"]].to_numpy(dtype=float)
    gen = make_generator(TVAEGenerator).fit(numeric[:1000])
    value = get_scorer("detection")(gen, numeric[1000:])
    assert 0.0 <= value <= 1.0


# --------------------------------------------------------- evaluate_synthetic


def test_evaluate_synthetic_contract(halves, adult_full):
    real, other = halves
    train = adult_full.iloc[:1500]
    scores = evaluate_synthetic(real, other, max_rows=1000)
    assert isinstance(scores, pd.Series) and scores.dtype == float
    assert "ml_efficacy" not in scores and "dcr_share" not in scores
    assert {"quality", "column_pair_trends", "detection_gb", "nn_recall"} <= set(
        scores.index
    )
    full = evaluate_synthetic(
        real, other, train=train, target="income", metrics=None, max_rows=1000
    )
    train_metrics = [
        "ml_efficacy",
        "dcr_share",
        "exact_copy_rate",
        "membership_inference",
        "attribute_inference",
    ]
    assert set(train_metrics) <= set(full.index)
    assert full.drop(train_metrics).equals(scores)
    some = evaluate_synthetic(real, other, metrics=["coverage", "quality"])
    assert list(some.index) == ["quality", "coverage"]
    assert some["quality"] == pytest.approx(quality_score(real, other))
    assert some["coverage"] == pytest.approx(coverage_score(real, other))


def test_evaluate_synthetic_errors(adult):
    with pytest.raises(ValueError, match="Unknown metric names"):
        evaluate_synthetic(adult, adult, metrics=["quallity"])
    with pytest.raises(ValueError, match="needs target"):
        evaluate_synthetic(adult, adult, metrics=["ml_efficacy"])
    with pytest.raises(ValueError, match="needs train"):
        evaluate_synthetic(adult, adult, metrics=["dcr_share"])
