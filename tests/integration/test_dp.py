"""Differentially private training and identifier columns, end to end."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sklearn_gen import CTGANGenerator, DPConfig, TVAEGenerator
from sklearn_gen.metrics import column_shapes_score, get_scorer

from ..conftest import make_generator

GENERATORS = [TVAEGenerator, CTGANGenerator]


def _private(cls, privacy, **overrides):
    params = dict(privacy=privacy, batch_size=100, epochs=3)
    if cls is CTGANGenerator:
        params["pac"] = 1
    params.update(overrides)
    return make_generator(cls, **params)


@pytest.mark.parametrize("cls", GENERATORS)
def test_budget_is_spent_and_reported(cls, adult):
    adult = adult.iloc[:600].copy()
    before = adult.copy()
    gen = _private(cls, DPConfig(epsilon=2.0)).fit(adult)
    epsilon, delta = gen.privacy_spent_
    # The noise multiplier is derived so that `epochs` epochs use the budget.
    assert 1.9 < epsilon <= 2.0
    assert delta == pytest.approx(1 / (10 * len(adult)))
    assert gen.n_iter_ == 3
    steps = sum(s for _, _, s in gen.net_.accountant_.history)
    assert steps == 3 * round(len(adult) / 100)
    assert gen.net_.sample_rate_ == pytest.approx(100 / len(adult))
    assert not gen.net_.budget_exhausted_
    adult.equals(before) or pytest.fail("fit modified the user's DataFrame")
    # Reproducible, picklable, and no Opacus bookkeeping left on the weights.
    again = _private(cls, DPConfig(epsilon=2.0)).fit(adult)
    pd.testing.assert_frame_equal(
        gen.sample(50, random_state=1), again.sample(50, random_state=1)
    )
    loaded = pickle.loads(pickle.dumps(gen))
    pd.testing.assert_frame_equal(
        gen.sample(50, random_state=1), loaded.sample(50, random_state=1)
    )
    assert loaded.privacy_spent_ == gen.privacy_spent_
    for module in gen.net_._modules:
        for p in getattr(gen.net_, module + "_").parameters():
            assert not hasattr(p, "summed_grad") and not hasattr(p, "grad_sample")
    # A refit without privacy forgets the spent budget.
    plain = clone(gen).set_params(privacy=None).fit(adult)
    assert not hasattr(plain, "privacy_spent_")


def test_critic_steps_are_accounted(adult):
    adult = adult.iloc[:600]
    gen = _private(
        CTGANGenerator, DPConfig(epsilon=3.0), discriminator_steps=2, epochs=2
    ).fit(adult)
    steps = sum(s for _, _, s in gen.net_.accountant_.history)
    assert steps == 2 * 2 * round(len(adult) / 100)
    assert gen.privacy_spent_[0] <= 3.0


@pytest.mark.parametrize("cls", GENERATORS)
def test_training_stops_when_the_budget_is_reached(cls, adult):
    # Epsilon after 1, 2, 3, 4 epochs of 15 steps at rate 1/15: 0.61, 0.82, 0.99,
    # 1.13: training stops after the third epoch.
    config = DPConfig(epsilon=1.0, noise_multiplier=2.0)
    gen = _private(cls, config, epochs=50).fit(adult)
    assert gen.n_iter_ == 3
    assert gen.net_.budget_exhausted_
    assert gen.privacy_spent_[0] <= 1.0
    # One more epoch would have overspent.
    epoch_steps = gen.net_.batches_per_epoch_ * gen.net_._steps_per_batch()
    assert gen.net_._epsilon_after(epoch_steps) > 1.0
    # History rows are whole epochs.
    assert len(gen.history_[:, "train_loss"]) == gen.n_iter_
    n_iter = gen.n_iter_
    with pytest.warns(UserWarning, match="budget"):
        gen.partial_fit(adult)
    assert gen.n_iter_ == n_iter and gen.privacy_spent_[0] <= 1.0


def test_a_budget_too_small_for_one_epoch_is_an_error(adult):
    gen = _private(TVAEGenerator, DPConfig(epsilon=0.01, noise_multiplier=0.5))
    with pytest.raises(ValueError, match="does not allow a single epoch"):
        gen.fit(adult)


def test_a_tiny_budget_costs_fidelity(adult):
    """Same seed, same model: the private one (epsilon=0.1) is clearly worse."""
    columns = ["age", "education", "sex", "hours-per-week", "income", "relationship"]
    train, test = adult[columns].iloc[:1000], adult[columns].iloc[1000:]
    params = dict(
        epochs=8,
        batch_size=100,
        embedding_dim=16,
        compress_dims=(32,),
        decompress_dims=(32,),
        continuous="quantile",
    )
    plain = make_generator(TVAEGenerator, **params).fit(train)
    private = make_generator(TVAEGenerator, privacy=DPConfig(0.1), **params).fit(train)
    assert private.privacy_spent_[0] <= 0.1
    assert private.net_.noise_multiplier_ > 10
    plain_score = column_shapes_score(test, plain.sample(500, random_state=0))
    private_score = column_shapes_score(test, private.sample(500, random_state=0))
    assert private_score < plain_score - 0.08


# ------------------------------------------------------------- identifiers


def _with_identifiers(frame, seed=0):
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out.insert(0, "customer_id", rng.permutation(10**6)[: len(out)] + 1)
    out["email"] = [
        f"user{i}.{int(rng.integers(10**6))}@{'mail.com' if i % 4 else 'work.org'}"
        for i in range(len(out))
    ]
    out["Code"] = [f"C-{v:06d}" for v in rng.permutation(10**6)[: len(out)]]
    return out


@pytest.mark.parametrize("cls", GENERATORS)
def test_identifier_columns_are_regenerated_never_copied(cls, adult):
    data = _with_identifiers(adult.iloc[:500])
    before = data.copy()
    gen = make_generator(cls, epochs=1).fit(data)
    assert data.equals(before)
    assert [(c.name, c.format) for c in gen.identifiers_] == [
        ("customer_id", "integer"),
        ("email", "email"),
        ("Code", "pattern"),
    ]
    # Not modelled: the encoder never saw them.
    assert {"customer_id", "email", "Code"}.isdisjoint(
        s.name for s in gen.encoder_.schema_
    )
    rows = gen.sample(2000, random_state=0)
    assert list(rows.columns) == list(data.columns)
    assert (rows.dtypes == data.dtypes).all()
    for name in ("customer_id", "email", "Code"):
        assert rows[name].is_unique
        assert not rows[name].isin(data[name]).any()
    assert rows["email"].str.fullmatch(r"[a-z0-9]{10}@(mail\.com|work\.org)").all()
    assert rows["Code"].str.fullmatch(r"[A-Z]-\d{6}").all()
    pd.testing.assert_frame_equal(rows, gen.sample(2000, random_state=0))
    assert not gen.sample(100)["customer_id"].isin(rows["customer_id"]).all()
    # transform / inverse_transform / score / scorers ignore them.
    latent = gen.transform(data)
    assert latent.shape[0] == len(data)
    decoded = gen.inverse_transform(latent[:20])
    assert list(decoded.columns) == list(data.columns)
    assert not decoded["customer_id"].isin(data["customer_id"]).any()
    assert 0 < gen.score(data) <= 1
    assert 0 < get_scorer("column_shapes")(gen, data) <= 1
    with pytest.raises(ValueError, match="identifier column"):
        gen.sample(5, conditions={"customer_id": 3})
    conditioned = gen.sample(20, conditions={"sex": " Female"}, random_state=0)
    assert (conditioned["sex"] == " Female").all()
    assert conditioned["customer_id"].is_unique


def test_identifier_modes(adult):
    data = _with_identifiers(adult.iloc[:300])
    dropped = make_generator(TVAEGenerator, identifiers="drop").fit(data)
    rows = dropped.sample(10)
    assert list(rows.columns) == list(adult.columns)
    assert 0 < dropped.score(data) <= 1
    assert 0 < get_scorer("quality")(dropped, data) <= 1
    with pytest.raises(ValueError, match="look like direct identifiers"):
        make_generator(TVAEGenerator, identifiers="error").fit(data)
    kept = make_generator(TVAEGenerator, identifiers="keep").fit(data)
    assert kept.identifiers_ == []
    assert "customer_id" in {s.name for s in kept.encoder_.schema_}
    with pytest.raises(ValueError, match="identifiers"):
        make_generator(TVAEGenerator, identifiers="hash").fit(data)
    with pytest.raises(ValueError, match="nothing to model"):
        make_generator(TVAEGenerator).fit(data[["customer_id", "email"]])


def test_identifiers_with_a_target_and_arrays(adult):
    data = _with_identifiers(adult.iloc[:400])
    X, y = data.drop(columns="income"), data["income"]
    gen = make_generator(CTGANGenerator, epochs=1).fit(X, y)
    rows, labels = gen.sample(50, conditions={"income": " >50K"}, random_state=0)
    assert (labels == " >50K").all()
    assert not rows["customer_id"].isin(X["customer_id"]).any()
    # An ndarray with a row-number column (a permutation of consecutive ints).
    n = 1200
    rng = np.random.default_rng(0)
    array = np.column_stack(
        [rng.permutation(n), rng.normal(size=n), rng.normal(size=n)]
    )
    gen = make_generator(TVAEGenerator, epochs=1).fit(array)
    assert [c.name for c in gen.identifiers_] == [0]
    out = gen.sample(300, random_state=0)
    assert isinstance(out, np.ndarray) and out.shape == (300, 3)
    assert out[:, 0].min() >= n and len(np.unique(out[:, 0])) == 300


def test_private_training_with_identifiers(adult):
    data = _with_identifiers(adult.iloc[:600])
    gen = _private(TVAEGenerator, DPConfig(epsilon=1.0)).fit(data)
    assert gen.privacy_spent_[0] <= 1.0
    rows = gen.sample(200, random_state=0)
    assert not rows["email"].isin(data["email"]).any()
