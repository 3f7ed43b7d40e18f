"""TVAEGenerator on real tables: round-trips, seeds, conditions, sklearn composition."""

import io
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback, EarlyStopping

from sklearn_gen import TVAEGenerator, sample_pipeline

from ..conftest import make_generator


@pytest.fixture(scope="module")
def fitted_adult(adult):
    return make_generator(TVAEGenerator, epochs=3).fit(adult)


def test_adult_sample_keeps_columns_dtypes_and_categories(adult, fitted_adult):
    sample = fitted_adult.sample(2000, random_state=0)
    assert list(sample.columns) == list(adult.columns)
    assert (sample.dtypes == adult.dtypes).all()
    for column in adult.select_dtypes("object"):
        assert set(sample[column]) <= set(adult[column]), column
    for column in adult.select_dtypes("number"):
        assert sample[column].between(adult[column].min(), adult[column].max()).all()
    assert not sample.isna().any().any()


def test_adult_quality_score_is_in_unit_interval_and_deterministic(adult, fitted_adult):
    holdout = adult.iloc[:300]
    first, second = fitted_adult.score(holdout), fitted_adult.score(holdout)
    assert 0.0 <= first <= 1.0
    assert first == second


def test_adult_conditions_are_exact(fitted_adult):
    rows = fitted_adult.sample(200, conditions={"sex": " Female"}, random_state=0)
    assert len(rows) == 200 and (rows["sex"] == " Female").all()
    rows = fitted_adult.sample(
        50, conditions={"sex": " Male", "income": " >50K"}, random_state=0
    )
    assert ((rows["sex"] == " Male") & (rows["income"] == " >50K")).all()


def test_adult_bad_conditions_name_the_problem(fitted_adult):
    with pytest.raises(ValueError, match="gender"):
        fitted_adult.sample(5, conditions={"gender": " Female"})
    with pytest.raises(ValueError, match="Female.*sex|sex.*Female"):
        fitted_adult.sample(5, conditions={"sex": "Female"})  # no leading space
    with pytest.raises(ValueError, match="age"):
        fitted_adult.sample(5, conditions={"age": 500})


def test_unmeetable_condition_raises_instead_of_returning_fewer_rows(adult):
    gen = make_generator(TVAEGenerator, epochs=1)
    gen.condition_max_ratio = 2  # a tight budget, so a rare value cannot be met
    gen.fit(adult)
    rare = adult["native-country"].value_counts().index[-1]
    with pytest.raises(ValueError, match="Could only generate"):
        gen.sample(5000, conditions={"native-country": rare}, random_state=0)


def test_taxis_datetimes_and_missing_categories(taxis):
    gen = make_generator(TVAEGenerator, epochs=2).fit(taxis)
    sample = gen.sample(1500, random_state=0)
    assert (sample.dtypes == taxis.dtypes).all()
    assert sample["pickup"].between(taxis["pickup"].min(), taxis["pickup"].max()).all()
    for column in ("passengers", "color", "fare"):
        assert not sample[column].isna().any()
    # Columns with NaN at fit may produce NaN; the others never do.
    assert set(sample.columns[sample.isna().any()]) <= set(taxis.columns[taxis.isna().any()])


def test_california_nan_float_column_round_trip():
    from ..conftest import read_shared

    df = read_shared("california_housing.csv").sample(1200, random_state=0)
    gen = make_generator(TVAEGenerator, epochs=2).fit(df)
    sample = gen.sample(3000, random_state=0)
    assert sample["total_bedrooms"].dtype == np.float64
    assert not sample["median_income"].isna().any()
    assert set(sample["ocean_proximity"]) <= set(df["ocean_proximity"])


def test_same_seed_same_rows_after_joblib_round_trip(fitted_adult):
    expected = fitted_adult.sample(100, random_state=7)
    buffer = io.BytesIO()
    joblib.dump(fitted_adult, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    pd.testing.assert_frame_equal(loaded.sample(100, random_state=7), expected)
    np.testing.assert_array_equal(
        loaded.transform(fitted_adult.sample(10, random_state=1)),
        fitted_adult.transform(fitted_adult.sample(10, random_state=1)),
    )


def test_global_random_state_is_left_alone(adult):
    np.random.seed(123)
    torch.manual_seed(123)
    expected_np = np.random.get_state()[1].copy()
    expected_torch = torch.random.get_rng_state().clone()
    gen = make_generator(TVAEGenerator, epochs=1).fit(adult)
    gen.sample(10)
    np.testing.assert_array_equal(np.random.get_state()[1], expected_np)
    assert torch.equal(torch.random.get_rng_state(), expected_torch)


def test_grid_search_picks_by_quality(adult):
    search = GridSearchCV(
        make_generator(TVAEGenerator, epochs=1),
        {"embedding_dim": [4, 8]},
        cv=3,
        error_score="raise",
    ).fit(adult.iloc[:600])
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores > 0) & (scores <= 1))
    assert search.best_params_["embedding_dim"] in (4, 8)
    assert search.best_estimator_.sample(3).shape == (3, adult.shape[1])


def test_cross_validate_and_clone(adult):
    gen = make_generator(TVAEGenerator, epochs=1)
    result = cross_validate(gen, adult.iloc[:600], cv=2, error_score="raise")
    assert result["test_score"].shape == (2,)
    assert not hasattr(gen, "net_")  # the template is never fitted
    assert clone(gen).get_params() == gen.get_params()


def test_pipeline_sampling_maps_back_through_scaler():
    X = load_breast_cancer().data
    pipe = make_pipeline(StandardScaler(), make_generator(TVAEGenerator, epochs=3))
    pipe.fit(X)
    sample = sample_pipeline(pipe, 400, random_state=0)
    assert sample.shape == (400, X.shape[1])
    # Back in the original units: means are near the data's, far from 0 (scaled).
    ratio = sample.mean(axis=0) / X.mean(axis=0)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.5)


def test_sample_pipeline_refuses_steps_without_inverse_transform():
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.preprocessing import FunctionTransformer

    X = load_breast_cancer().data[:100]
    pipe = make_pipeline(
        FunctionTransformer(np.log1p), make_generator(TVAEGenerator, epochs=1)
    ).fit(X)
    assert sample_pipeline(pipe, 3).shape == (3, X.shape[1])  # FunctionTransformer inverts
    pipe = make_pipeline(VarianceThreshold(), make_generator(TVAEGenerator, epochs=1)).fit(X)
    sample_pipeline(pipe, 2)  # VarianceThreshold has inverse_transform too
    with pytest.raises(TypeError, match="last step"):
        sample_pipeline(make_pipeline(StandardScaler()).fit(X), 2)


def test_partial_fit_continues_training(adult):
    gen = make_generator(TVAEGenerator, epochs=2)
    gen.partial_fit(adult)
    first_loss = gen.history_[-1, "train_loss"]
    gen.partial_fit(adult.iloc[:500])
    assert gen.n_iter_ == 4
    assert gen.history_[-1, "train_loss"] < first_loss * 1.5
    with pytest.raises(ValueError, match="workclass"):
        gen.partial_fit(adult.assign(workclass="Astronaut"))


def test_user_callbacks_are_used_but_not_mutated(adult):
    class CountEpochs(Callback):
        def __init__(self):
            self.epochs_seen = 0

        def on_epoch_end(self, net, **kwargs):
            self.epochs_seen += 1

    counter = CountEpochs()
    stopper = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)
    gen = make_generator(TVAEGenerator, epochs=20, callbacks=[counter, stopper])
    gen.fit(adult)
    assert gen.n_iter_ < 20  # early stopping ended training
    assert counter.epochs_seen == 0  # the user's object was copied, not mutated
    assert gen.get_params()["callbacks"][0] is counter


def test_verbose_shows_a_progress_bar(adult, capsys):
    make_generator(TVAEGenerator, epochs=2, verbose=1).fit(adult.iloc[:300])
    err = capsys.readouterr().err
    assert "TVAEGenerator" in err and "2/2" in err


def test_fit_with_target_gives_class_conditional_rows(adult):
    X, y = adult.drop(columns="income"), adult["income"]
    gen = make_generator(TVAEGenerator, epochs=2).fit(X, y)
    X_new, y_new = gen.sample(100, conditions={"income": " >50K"}, random_state=0)
    assert (y_new == " >50K").all() and list(X_new.columns) == list(X.columns)
    assert gen.transform(X).shape == (len(X), gen.embedding_dim)


def test_invalid_parameters_are_named():
    X = load_breast_cancer().data[:50]
    with pytest.raises(InvalidParameterError, match="epochs"):
        TVAEGenerator(epochs=0).fit(X)
    with pytest.raises(ValueError, match="compress_dims"):
        TVAEGenerator(epochs=1, compress_dims=(0, 3)).fit(X)
    with pytest.raises(InvalidParameterError, match="continuous"):
        TVAEGenerator(epochs=1, continuous="log").fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error():
    X = load_breast_cancer().data[:50]
    with pytest.raises(ValueError, match="CUDA is not available"):
        TVAEGenerator(epochs=1, device="cuda").fit(X)
    gen = TVAEGenerator(epochs=1, device="auto", random_state=0).fit(X)
    assert gen.device_ == "cpu"


def test_diverging_training_stops_with_a_clear_error(adult):
    gen = make_generator(TVAEGenerator, epochs=3, lr=1e12, l2scale=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FloatingPointError, match="learning rate"):
            gen.fit(adult)


def test_infinite_values_are_refused_by_name(adult):
    bad = adult.assign(age=adult["age"].astype(float))
    bad.loc[3, "age"] = np.inf
    with pytest.raises(ValueError, match="age"):
        make_generator(TVAEGenerator).fit(bad)


def test_inverse_transform_decodes_latents(adult, fitted_adult):
    Z = fitted_adult.transform(adult.iloc[:50])
    assert Z.shape == (50, fitted_adult.embedding_dim) and Z.dtype == np.float32
    decoded = fitted_adult.inverse_transform(Z)
    assert list(decoded.columns) == list(adult.columns)
    with pytest.raises(ValueError, match="features"):
        fitted_adult.inverse_transform(Z[:, :3])


@pytest.mark.parametrize("cls_name", ["TVAEGenerator", "CTGANGenerator"])
def test_gmm_max_samples_reaches_the_encoder(cls_name, adult):
    import sklearn_gen

    cls = getattr(sklearn_gen, cls_name)
    small = make_generator(cls, epochs=1, gmm_max_samples=20).fit(adult)
    assert small.encoder_.gmm_max_samples == 20
    default = make_generator(cls, epochs=1).fit(adult)
    # Fewer values to fit the mixtures on: other modes, so another encoding.
    assert small.encoder_.layout_.n_features != default.encoder_.layout_.n_features or (
        not np.array_equal(small.transform(adult), default.transform(adult))
    )
