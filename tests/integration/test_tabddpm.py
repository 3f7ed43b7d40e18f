"""TabDDPMGenerator on real tables (small configurations, a few seconds each)."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gen import TabDDPMGenerator
from sklearn_gen.nn._diffusion import TabDDPMModule

from ..conftest import make_generator

SMALL = dict(epochs=3, batch_size=256, dims=(32, 32), embedding_dim=16, n_timesteps=50)


def _small(**overrides):
    return make_generator(TabDDPMGenerator, **{**SMALL, **overrides})


@pytest.fixture(scope="module")
def fitted_adult(adult):
    X, y = adult.drop(columns="income"), adult["income"]
    return _small().fit(X, y), X, y


def test_samples_keep_columns_dtypes_and_categories(fitted_adult):
    gen, X, y = fitted_adult
    X_new, y_new = gen.sample(400, random_state=0)
    assert list(X_new.columns) == list(X.columns) and len(X_new) == 400
    assert (X_new.dtypes == X.dtypes).all()
    for column in X.select_dtypes(include="object"):
        assert set(X_new[column]) <= set(X[column])
    for column in X.select_dtypes(include="number"):
        assert X_new[column].between(X[column].min(), X[column].max()).all()
    assert not X_new.isna().any().any()
    assert set(y_new) <= set(y) and len(y_new) == 400
    # The multinomial blocks are really sampled: more than one category appears.
    assert X_new["workclass"].nunique() > 1 and X_new["education"].nunique() > 1
    history = gen.history_
    assert len(history) == SMALL["epochs"] == gen.n_iter_
    for key in ("train_loss", "train_loss_gaussian", "train_loss_multinomial"):
        assert np.isfinite(history[:, key]).all()
    assert gen.transform(X).shape == (len(X), gen.encoder_.layout_.n_features)


def test_conditions_are_exact_by_inpainting(fitted_adult):
    gen, X, y = fitted_adult
    rare = X["workclass"].value_counts().index[-1]
    conditions = {"workclass": rare, "age": 37, "income": " >50K"}
    X_new, y_new = gen.sample(60, conditions=conditions, random_state=0)
    assert (X_new["workclass"] == rare).all() and (X_new["age"] == 37).all()
    assert (y_new == " >50K").all()
    # Inpainting, not rejection: every candidate already matches.
    schemas = gen._columns_by_name()
    candidates = gen._generate_candidates(
        200, conditions, torch.Generator().manual_seed(0)
    )
    assert gen._match(candidates, conditions, schemas).all()
    # A continuous-valued condition with a fractional value: written exactly.
    X_new, _ = gen.sample(20, conditions={"fnlwgt": 123456.0}, random_state=0)
    assert (X_new["fnlwgt"] == 123456).all()
    # Per-row conditions on the target keep their order.
    labels = pd.DataFrame({"income": [" <=50K", " >50K", " >50K", " <=50K"]})
    _, y_rows = gen.sample(conditions=labels, random_state=0)
    assert list(y_rows) == list(labels["income"])


def test_conditions_on_a_missing_numeric_value(adult):
    X = adult.copy()
    hours = X["hours-per-week"].astype(float)
    hours[np.random.RandomState(0).rand(len(X)) < 0.2] = np.nan
    X["hours-per-week"] = hours
    gen = _small().fit(X)
    spans = gen.encoder_.layout_.spans_for("hours-per-week")
    assert [s.role for s in spans] == ["value", "missing"]
    sample = gen.sample(300, random_state=0)
    assert (
        sample["hours-per-week"].isna().any() and sample["hours-per-week"].notna().any()
    )
    missing = gen.sample(25, conditions={"hours-per-week": np.nan}, random_state=0)
    assert missing["hours-per-week"].isna().all()
    present = gen.sample(25, conditions={"hours-per-week": 40.0}, random_state=0)
    assert (present["hours-per-week"] == 40.0).all()


def test_taxis_missing_categories_and_datetimes(taxis):
    gen = _small(epochs=2).fit(taxis)
    sample = gen.sample(300, random_state=0)
    assert list(sample.columns) == list(taxis.columns)
    assert (sample.dtypes == taxis.dtypes).all()
    assert sample["pickup"].between(taxis["pickup"].min(), taxis["pickup"].max()).all()
    assert set(sample["pickup_zone"].dropna()) <= set(taxis["pickup_zone"].dropna())
    rows = gen.sample(
        10, conditions={"pickup_zone": np.nan, "color": "green"}, random_state=0
    )
    assert rows["pickup_zone"].isna().all() and (rows["color"] == "green").all()


def test_class_target_conditions_the_denoiser_on_its_label(fitted_adult, adult):
    gen, X, y = fitted_adult
    module = gen.net_.module_
    assert module.label_block is not None and module.denoiser.n_classes == 2
    # Unconditional rows draw their class from the training frequencies.
    _, y_new = gen.sample(3000, random_state=0)
    expected = (y == " >50K").mean()
    tolerance = 4 * np.sqrt(expected * (1 - expected) / 3000)
    assert abs((y_new == " >50K").mean() - expected) < tolerance
    # The label reaches the denoiser ("no label" is another embedding).
    x, t = torch.zeros(4, module.n_features), torch.full((4,), 10)
    labels = torch.tensor([0, 1, 0, 1])
    assert not torch.equal(module(x, t, labels), module(x, t))
    torch.testing.assert_close(
        module(x, t), module(x, t, torch.full((4,), module.null_label))
    )
    # A condition on another column leaves the target to the model.
    X_c, y_c = gen.sample(80, conditions={"sex": " Female"}, random_state=0)
    assert (X_c["sex"] == " Female").all() and y_c.nunique() == 2


def test_no_label_without_a_class_target(adult):
    X = adult.iloc[:300]
    assert _small(epochs=1).fit(X).net_.module_.label_block is None
    off = _small(epochs=1, class_conditional=False)
    assert (
        off.fit(X.drop(columns="income"), X["income"]).net_.module_.label_block is None
    )
    # A float target is a regression target (integers would be classes).
    age = X["age"] + 0.25
    regression = _small(epochs=1).fit(X.drop(columns="age"), age)
    assert regression.net_.module_.label_block is None
    assert regression.sample(5, random_state=0)[1].between(age.min(), age.max()).all()


def test_periodic_numerical_embedding(fitted_adult):
    _, X, y = fitted_adult
    gen = _small(epochs=2, numerical_embedding="periodic").fit(X, y)
    embedding = gen.net_.module_.denoiser.numerical_embedding
    assert embedding.frequencies.shape[0] == gen.net_.module_.diffusion.n_numerical
    X_new, _ = gen.sample(50, random_state=0)
    assert (X_new.dtypes == X.dtypes).all() and not X_new.isna().any().any()
    assert _small(epochs=1).fit(X).net_.module_.denoiser.numerical_embedding is None


def test_random_state_reproducibility(adult):
    X = adult.iloc[:400]
    a = _small(epochs=2).fit(X).sample(50, random_state=3)
    gen = _small(epochs=2).fit(X)
    pd.testing.assert_frame_equal(a, gen.sample(50, random_state=3))
    assert not a.equals(gen.sample(50, random_state=4))
    assert not gen.sample(50).equals(gen.sample(50))


def test_pickle_round_trip_on_cpu(fitted_adult):
    gen, _, _ = fitted_adult
    expected = gen.sample(30, random_state=5)
    restored = pickle.loads(pickle.dumps(gen))
    X_new, y_new = restored.sample(30, random_state=5)
    pd.testing.assert_frame_equal(X_new, expected[0])
    pd.testing.assert_series_equal(y_new, expected[1])
    assert restored.device_ == "cpu"


def test_fewer_sample_steps_work_and_differ(adult):
    X = adult.iloc[:400]
    gen = _small(epochs=2, sample_steps=None).fit(X)
    full = gen.sample(40, random_state=0)
    gen.set_params(sample_steps=7)
    strided = gen.sample(40, random_state=0)
    assert strided.shape == full.shape and not strided.equals(full)
    gen.set_params(sample_steps=5000)  # more than n_timesteps: every timestep
    pd.testing.assert_frame_equal(gen.sample(40, random_state=0), full)
    gen.set_params(sample_steps=3, eta=0.0)
    assert gen.sample(40, random_state=0).notna().all().all()


def test_linear_schedule_dropout_and_no_ema(adult):
    X = adult.iloc[:300, :6]
    gen = _small(epochs=2, scheduler="linear", dropout=0.2, ema_decay=0.0).fit(X)
    assert gen.net_.sampling_module() is gen.net_.module_
    assert gen.sample(20, random_state=0).shape == (20, 6)
    ema = _small(epochs=2).fit(X)
    assert ema.net_.sampling_module() is ema.net_.ema_module_
    assert isinstance(ema.net_.ema_module_, TabDDPMModule)
    # The average lags the trained weights.
    trained = torch.cat([p.flatten() for p in ema.net_.module_.parameters()])
    averaged = torch.cat([p.flatten() for p in ema.net_.ema_module_.parameters()])
    assert not torch.equal(trained, averaged)


def test_partial_fit_continues_and_restores_the_learning_rate(adult):
    X = adult.iloc[:300]
    gen = _small(epochs=2, lr=3e-3).fit(X)
    assert gen.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(3e-3)
    updates = gen.net_.ema_updates_
    gen.partial_fit(X)
    assert gen.n_iter_ == 4 and gen.net_.ema_updates_ > updates
    assert gen.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(3e-3)


def test_only_numeric_and_only_categorical_tables():
    rng = np.random.RandomState(0)
    numeric = pd.DataFrame({"a": rng.normal(size=200), "b": rng.gamma(2.0, size=200)})
    gen = _small(epochs=2).fit(numeric)
    assert gen.net_.module_.diffusion.n_blocks == 0
    assert gen.sample(10, conditions={"a": 0.5}, random_state=0)["a"].eq(0.5).all()
    categorical = pd.DataFrame(
        {"c": rng.choice(list("xyz"), 200), "d": rng.rand(200) < 0.3}
    )
    gen = _small(epochs=2).fit(categorical)
    assert gen.net_.module_.diffusion.n_numerical == 0
    rows = gen.sample(10, conditions={"d": True}, random_state=0)
    assert rows["d"].all() and rows["c"].isin(list("xyz")).all()


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(scheduler="quadratic"), InvalidParameterError, "scheduler"),
        (dict(n_timesteps=0), InvalidParameterError, "n_timesteps"),
        (dict(sample_steps=0), InvalidParameterError, "sample_steps"),
        (dict(eta=1.5), InvalidParameterError, "eta"),
        (dict(dropout=1.0), InvalidParameterError, "dropout"),
        (dict(ema_decay=1.0), InvalidParameterError, "ema_decay"),
        (dict(lr=0), InvalidParameterError, "lr"),
        (dict(dims=(32, 0)), ValueError, "dims"),
        (dict(dims="wide"), InvalidParameterError, "dims"),
        (
            dict(numerical_embedding="spline"),
            InvalidParameterError,
            "numerical_embedding",
        ),
        (dict(class_conditional="yes"), InvalidParameterError, "class_conditional"),
    ],
)
def test_bad_parameters_raise_clear_errors(adult, params, error, match):
    with pytest.raises(error, match=match):
        _small(**params).fit(adult.iloc[:50])


def test_bad_sample_steps_set_after_fit(adult):
    gen = _small(epochs=1).fit(adult.iloc[:100])
    gen.set_params(sample_steps=2.5)
    with pytest.raises(ValueError, match="sample_steps"):
        gen.sample(3)
