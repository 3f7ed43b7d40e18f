"""CTGANGenerator on real tables: round-trips, native conditions, optimisers, seeds."""

import io
import pickle
import warnings
from functools import partial

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import EarlyStopping

from sklearn_gen import CTGANGenerator
from sklearn_gen.base import BaseGenerator
from sklearn_gen.nn import CTGANDiscriminatorModule, gradient_penalty

from ..conftest import make_generator

#: A configuration that learns to follow the conditional vector in well under a
#: second on 1,500 rows (few, large steps with a high generator learning rate).
FAST_CONDITIONING = dict(
    epochs=10, batch_size=200, pac=10, generator_lr=1e-2, discriminator_lr=1e-3
)


@pytest.fixture(scope="module")
def fitted_adult(adult):
    return make_generator(CTGANGenerator, epochs=3).fit(adult)


@pytest.fixture(scope="module")
def conditioned_adult(adult):
    return make_generator(CTGANGenerator, **FAST_CONDITIONING).fit(adult)


def test_adult_sample_keeps_columns_dtypes_and_categories(adult, fitted_adult):
    sample = fitted_adult.sample(2000, random_state=0)
    assert list(sample.columns) == list(adult.columns)
    assert (sample.dtypes == adult.dtypes).all()
    for column in adult.select_dtypes("object"):
        assert set(sample[column]) <= set(adult[column]), column
    for column in adult.select_dtypes("number"):
        assert sample[column].between(adult[column].min(), adult[column].max()).all()
    assert not sample.isna().any().any()
    # transform is the encoded table, and decodes back to the same rows.
    Z = fitted_adult.transform(adult.iloc[:50])
    assert Z.shape == (50, fitted_adult.encoder_.layout_.n_features)
    pd.testing.assert_frame_equal(
        fitted_adult.inverse_transform(Z)[["workclass", "sex", "income"]],
        adult.iloc[:50][["workclass", "sex", "income"]],
    )


def _counting(gen):
    """Record the number of candidate rows every ``_generate`` call draws."""
    drawn = []
    original = gen._generate

    def generate(n_samples, generator, **kwargs):
        drawn.append(n_samples)
        return original(n_samples, generator, **kwargs)

    gen._generate = generate
    return drawn


@pytest.mark.parametrize(
    "column, value", [("race", " Other"), ("native-country", " Mexico")]
)
def test_native_conditioning_of_a_rare_category_is_exact_and_cheap(
    adult, conditioned_adult, column, value
):
    gen = pickle.loads(pickle.dumps(conditioned_adult))  # a private copy to patch
    assert (adult[column] == value).mean() < 0.02  # rare: under 2 % of rows
    drawn = _counting(gen)
    rows = gen.sample(300, conditions={column: value}, random_state=0)
    assert len(rows) == 300 and (rows[column] == value).all()
    native = sum(drawn)
    # The same model without the conditional vector (the base class's rejection).
    gen._generate_candidates = partial(BaseGenerator._generate_candidates, gen)
    drawn.clear()
    try:
        rows = gen.sample(300, conditions={column: value}, random_state=0)
        assert (rows[column] == value).all()
    except ValueError as exc:  # plain rejection may exhaust its candidate budget
        assert "Could only generate" in str(exc)
    rejection = sum(drawn)
    assert native * 5 <= rejection, (native, rejection)


def test_conditions_on_target_and_several_columns(adult):
    X, y = adult.drop(columns="income"), adult["income"]
    gen = make_generator(CTGANGenerator, **FAST_CONDITIONING).fit(X, y)
    X_new, y_new = gen.sample(100, conditions={"income": " >50K"}, random_state=0)
    assert (y_new == " >50K").all() and list(X_new.columns) == list(X.columns)
    X_new, y_new = gen.sample(
        40, conditions={"sex": " Female", "income": " >50K"}, random_state=0
    )
    assert (X_new["sex"] == " Female").all() and (y_new == " >50K").all()
    # Numeric conditions fall back to rejection; unmeetable ones say so.
    X_new, _ = gen.sample(20, conditions={"age": 40}, random_state=0)
    assert (X_new["age"] == 40).all()
    with pytest.raises(ValueError, match="Atlantis"):
        gen.sample(5, conditions={"native-country": " Atlantis"})


def test_history_has_both_losses_and_they_move(fitted_adult):
    history = fitted_adult.history_
    assert fitted_adult.n_iter_ == 3
    generator_loss = np.array(history[:, "train_loss"])
    critic_loss = np.array(history[:, "train_loss_discriminator"])
    assert np.isfinite(generator_loss).all() and np.isfinite(critic_loss).all()
    assert np.ptp(generator_loss) > 0 and np.ptp(critic_loss) > 0
    batch = history[-1, "batches", -1]
    assert {"train_loss", "train_loss_discriminator"} <= set(batch)


def test_each_optimizer_gets_its_own_network_and_learning_rate(adult):
    gen = make_generator(
        CTGANGenerator, epochs=1, generator_lr=1e-3, discriminator_lr=3e-3,
        discriminator_decay=0.5,
    ).fit(adult.iloc[:300])
    net = gen.net_
    (group_g,) = net.optimizer_.param_groups
    (group_d,) = net.optimizer_discriminator_.param_groups
    assert group_g["lr"] == 1e-3 and group_d["lr"] == 3e-3
    assert group_d["weight_decay"] == 0.5 and group_d["betas"] == (0.5, 0.9)
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    assert ids(group_g["params"]) == ids(net.module_.parameters())
    assert ids(group_d["params"]) == ids(net.discriminator_.parameters())
    net.set_params(optimizer_discriminator__lr=1e-5)  # grid-searchable on the net
    assert net.optimizer_discriminator_.param_groups[0]["lr"] == 1e-5
    assert net.optimizer_.param_groups[0]["lr"] == 1e-3
    # Training tables are dropped after fit: only the model is kept.
    assert not hasattr(net, "_tables")


def test_progress_bar_and_early_stopping_callbacks(adult, capsys):
    stopper = EarlyStopping(
        monitor="train_loss_discriminator",
        patience=2,
        threshold=100.0,
        threshold_mode="abs",
    )
    gen = make_generator(CTGANGenerator, epochs=20, verbose=1, callbacks=[stopper])
    gen.fit(adult.iloc[:300])
    assert gen.n_iter_ < 20  # stopped on the critic's loss
    err = capsys.readouterr().err
    assert "CTGANGenerator" in err and "train_loss_discriminator" in err


def test_batch_size_must_be_a_multiple_of_pac(adult):
    with pytest.raises(ValueError, match=r"batch_size \(50\).*pac \(8\)"):
        CTGANGenerator(epochs=1, batch_size=50, pac=8).fit(adult.iloc[:100])


def test_invalid_parameters_are_named():
    X = load_breast_cancer().data[:50]
    with pytest.raises(ValueError, match="generator_dim"):
        CTGANGenerator(epochs=1, batch_size=10, generator_dim=(0,)).fit(X)
    with pytest.raises(ValueError, match="discriminator_lr"):
        CTGANGenerator(epochs=1, batch_size=10, discriminator_lr=-1.0).fit(X)


def test_seeds_reproduce_fits_and_samples(adult):
    data = adult.iloc[:400]
    a = make_generator(CTGANGenerator, epochs=2).fit(data)
    b = make_generator(CTGANGenerator, epochs=2).fit(data)
    pd.testing.assert_frame_equal(
        a.sample(50, random_state=1), b.sample(50, random_state=1)
    )
    pd.testing.assert_frame_equal(
        a.sample(20, conditions={"sex": " Female"}, random_state=2),
        b.sample(20, conditions={"sex": " Female"}, random_state=2),
    )
    c = make_generator(CTGANGenerator, epochs=2, random_state=1).fit(data)
    assert not a.sample(50, random_state=1).equals(c.sample(50, random_state=1))


def test_global_random_state_is_left_alone(adult):
    np.random.seed(123)
    torch.manual_seed(123)
    expected_np = np.random.get_state()[1].copy()
    expected_torch = torch.random.get_rng_state().clone()
    gen = make_generator(CTGANGenerator, epochs=1).fit(adult.iloc[:300])
    gen.sample(10, conditions={"sex": " Male"})
    np.testing.assert_array_equal(np.random.get_state()[1], expected_np)
    assert torch.equal(torch.random.get_rng_state(), expected_torch)


def test_pickle_round_trip_keeps_sampling(fitted_adult):
    expected = fitted_adult.sample(100, random_state=7)
    conditioned = fitted_adult.sample(30, conditions={"race": " Black"}, random_state=7)
    buffer = io.BytesIO()
    joblib.dump(fitted_adult, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    pd.testing.assert_frame_equal(loaded.sample(100, random_state=7), expected)
    pd.testing.assert_frame_equal(
        loaded.sample(30, conditions={"race": " Black"}, random_state=7), conditioned
    )
    assert loaded.history_[-1, "train_loss_discriminator"] == pytest.approx(
        fitted_adult.history_[-1, "train_loss_discriminator"]
    )


def test_grid_search_over_pac_and_embedding_dim(adult):
    search = GridSearchCV(
        make_generator(CTGANGenerator, epochs=1),
        {"pac": [2, 4], "embedding_dim": [4, 8]},
        cv=2,
        error_score="raise",
    ).fit(adult.iloc[:400])
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores > 0) & (scores <= 1))
    assert search.best_estimator_.sample(3).shape == (3, adult.shape[1])


def test_partial_fit_accumulates_category_counts(adult):
    gen = make_generator(CTGANGenerator, epochs=1)
    gen.partial_fit(adult.iloc[:300])
    first = gen.net_.module_.condition_counts.sum().item()
    gen.partial_fit(adult.iloc[:200])  # (new rows must hold no unseen category)
    assert gen.n_iter_ == 2
    n_columns = len(gen.net_.criterion_.condition.columns)
    assert gen.net_.module_.condition_counts.sum().item() == first + 200 * n_columns


def test_diverging_training_stops_with_a_clear_error(adult):
    gen = make_generator(
        CTGANGenerator, epochs=3, generator_lr=1e12, discriminator_lr=1e12
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FloatingPointError, match="learning rate"):
            gen.fit(adult.iloc[:500])


def test_training_by_sampling_pairs_conditions_with_matching_rows(adult):
    gen = make_generator(CTGANGenerator, epochs=1).fit(adult.iloc[:500])
    net = gen.net_
    encoded = torch.from_numpy(gen.transform(adult.iloc[:500]))
    net._build_condition_tables(encoded)
    net.rng_ = torch.Generator().manual_seed(0)
    ids, cond, rows = net._training_conditions(4000)
    condition = net.criterion_.condition
    unit_enc, _, unit_column, _ = condition.tensors("cpu")
    assert torch.equal(cond.argmax(dim=1), ids) and torch.all(cond.sum(dim=1) == 1)
    # Every real row has the category its condition names.
    assert torch.all(rows[torch.arange(len(ids)), unit_enc[ids]] == 1)
    # Columns are drawn uniformly; within a column, by log-frequency.
    per_column = torch.bincount(unit_column[ids], minlength=condition.n_columns)
    uniform = torch.full((condition.n_columns,), 1 / condition.n_columns)
    assert torch.allclose(per_column / len(ids), uniform, atol=0.03)
    sex = condition.columns.index("sex")
    start, width = condition.offsets[sex], condition.widths[sex]
    counts = net._tables["counts"][start : start + width].double()
    expected = torch.log1p(counts) / torch.log1p(counts).sum()
    got = torch.bincount(ids[unit_column[ids] == sex] - start, minlength=width).double()
    assert torch.allclose(got / got.sum(), expected, atol=0.06)
    del net.rng_, net._tables


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    # A linear critic whose packed input weight has norm 1: ||grad|| = 1 everywhere.
    critic = CTGANDiscriminatorModule(3, (), pac=2, dropout=0.0)
    with torch.no_grad():
        critic.head.weight.copy_(torch.tensor([[0.6, 0.0, 0.0, 0.0, 0.8, 0.0]]))
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    rng = torch.Generator().manual_seed(0)
    penalty = gradient_penalty(critic, real, fake, rng).item()
    assert penalty == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.head.weight.mul_(3.0)  # norm 3: penalty 10 * (3 - 1)^2
    assert gradient_penalty(critic, real, fake, rng).item() == pytest.approx(40.0)
    with pytest.raises(ValueError, match="pac"):
        critic(torch.randn(5, 3))


def test_numeric_table_without_categorical_columns():
    X = load_breast_cancer().data[:120, :5]
    gen = make_generator(CTGANGenerator, epochs=2).fit(X)  # fewer rows than batch_size
    assert gen.net_.criterion_.condition.n_conditions == 0
    sample = gen.sample(30, random_state=0)
    assert sample.shape == (30, 5) and np.isfinite(sample).all()
