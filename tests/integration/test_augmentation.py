"""Augmentation on real mixed-type tables, in pipelines and under cross-validation.

The leakage tests record the rows each generator clone is fitted on (by their
DataFrame index, which scikit-learn's fold indexing keeps) and assert that no test
fold row is among them; a control shows the same assertion catches the hand-rolled
"fit the generator on the whole table" mistake.
"""

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_gen import AugmentedEstimator, CTGANGenerator, GenerativeOverSampler, TVAEGenerator

from ..conftest import INIT_PARAMS, make_generator


class RecordingTVAE(TVAEGenerator):
    """A TVAEGenerator that records the index labels of every table it is fitted on."""

    fitted_on = []

    def fit(self, X, y=None):
        type(self).fitted_on.append(np.asarray(X.index))
        return super().fit(X, y)


def _recording_generator():
    return RecordingTVAE(**INIT_PARAMS["TVAEGenerator"])


@pytest.fixture
def recording():
    RecordingTVAE.fitted_on.clear()
    yield RecordingTVAE
    RecordingTVAE.fitted_on.clear()


@pytest.fixture(scope="module")
def adult_xy(adult):
    """600 Adult rows with a non-default index (so row ids are not positions)."""
    df = adult.iloc[:600].copy()
    df.index = 10_000 + 7 * np.arange(len(df))
    y = (df.pop("income").str.strip() == ">50K").astype(int)
    return df, y


def _one_hot_logreg():
    return make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include=object)),
            (StandardScaler(), make_column_selector(dtype_include="number")),
        ),
        LogisticRegression(max_iter=500),
    )


def _assert_no_test_rows_seen(fitted_on, X, y, cv):
    splits = list(cv.split(X, y))
    assert len(fitted_on) == len(splits)
    for seen, (train, test) in zip(fitted_on, splits):
        leaked = set(seen) & set(X.index[test])
        assert not leaked, f"the generator saw {len(leaked)} test-fold rows"
        assert set(seen) == set(X.index[train])


def test_augmented_estimator_never_fits_the_generator_on_a_test_fold(adult_xy, recording):
    X, y = adult_xy
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    est = AugmentedEstimator(_one_hot_logreg(), _recording_generator(),
                             n_synthetic=0.3, random_state=0)
    scores = cross_val_score(est, X, y, cv=cv, scoring="roc_auc")
    assert scores.shape == (3,) and np.all(scores > 0.5)
    _assert_no_test_rows_seen(recording.fitted_on, X, y, cv)


def test_sampler_in_imblearn_pipeline_never_sees_a_test_fold(adult_xy, recording):
    X, y = adult_xy
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    pipe = ImbPipeline(
        [
            ("oversample", GenerativeOverSampler(_recording_generator(), random_state=0)),
            ("clf", _one_hot_logreg()),
        ]
    )
    scores = cross_val_score(pipe, X, y, cv=cv, scoring="balanced_accuracy")
    assert scores.shape == (3,)
    _assert_no_test_rows_seen(recording.fitted_on, X, y, cv)


def test_leakage_check_catches_a_generator_fitted_on_the_whole_table(adult_xy, recording):
    # Control: the hand-rolled loop this package replaces — one generator fitted on
    # every row, then cross-validation — must be caught by the same assertion.
    X, y = adult_xy
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    _recording_generator().fit(X, y)
    with pytest.raises(AssertionError, match="test-fold rows"):
        _assert_no_test_rows_seen(recording.fitted_on * 3, X, y, cv)


@pytest.mark.parametrize("generator_cls", [TVAEGenerator, CTGANGenerator])
def test_sampler_on_adult_keeps_dtypes_and_counts(adult, generator_cls):
    X = adult.drop(columns="income")
    X["sex"] = X["sex"].astype("category")
    y = adult["income"]
    counts = y.value_counts()
    sampler = GenerativeOverSampler(make_generator(generator_cls), random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == list(X.columns)
    assert (X_res.dtypes == X.dtypes).all()
    assert y_res.value_counts().to_dict() == {label: counts.max() for label in counts.index}
    synthetic = X_res.iloc[len(X):]
    for column in X.select_dtypes(include=["object", "category"]):
        assert set(synthetic[column]) <= set(X[column]), column
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X.reset_index(drop=True))
    assert sampler.sampling_strategy_ == {" >50K": int(counts.max() - counts.min())}


def test_augmented_estimator_last_in_a_pipeline_and_in_grid_search(adult_xy):
    X, y = adult_xy
    X_num = X.select_dtypes("number")
    pipe = make_pipeline(
        StandardScaler(),
        AugmentedEstimator(LogisticRegression(), make_generator(TVAEGenerator),
                           n_synthetic=0.5, class_balance="balance", random_state=0),
    )
    grid = GridSearchCV(
        pipe,
        {
            "augmentedestimator__generator__epochs": [1, 2],
            "augmentedestimator__estimator__C": [0.1, 1.0],
            "augmentedestimator__n_synthetic": [0, 0.5],
        },
        cv=2,
        scoring="roc_auc",
    )
    grid.fit(X_num, y)
    assert len(grid.cv_results_["params"]) == 8
    best = grid.best_estimator_[-1]
    assert best.estimator_.C == grid.best_params_["augmentedestimator__estimator__C"]
    if best.n_synthetic:
        assert best.generator_.epochs == grid.best_params_[
            "augmentedestimator__generator__epochs"
        ]
    assert grid.predict_proba(X_num).shape == (len(X), 2)
    np.testing.assert_array_equal(grid.classes_, [0, 1])


def test_augmented_estimator_on_mixed_dataframe(adult_xy):
    X, y = adult_xy
    est = AugmentedEstimator(_one_hot_logreg(), make_generator(CTGANGenerator),
                             n_synthetic=200, class_balance="balance", random_state=0)
    est.fit(X, y)
    counts = y.value_counts()
    assert counts[1] + 200 <= counts[0]  # 200 rows all go to the minority class
    assert est.synthetic_counts_ == {0: 0, 1: 200}
    assert list(est.feature_names_in_) == list(X.columns)
    assert est.predict(X.iloc[:5]).shape == (5,)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(X.iloc[:5, ::-1])
