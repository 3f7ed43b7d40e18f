"""TransformerGenerator on real tables: sampling, exact conditions, likelihoods."""

import copy
import doctest
import io
import itertools
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from sklearn_gen import TransformerGenerator
from sklearn_gen.generators import _transformer

from ..conftest import make_generator


@pytest.fixture(scope="module")
def fitted_adult(adult):
    return make_generator(TransformerGenerator, epochs=3).fit(adult)


@pytest.fixture(scope="module")
def trained_adult(adult_full):
    """A short but real fit (a few thousand rows), for likelihood comparisons."""
    train = adult_full.sample(4000, random_state=1).reset_index(drop=True)
    gen = make_generator(
        TransformerGenerator,
        epochs=12,
        batch_size=256,
        n_bins=32,
        embedding_dim=32,
        n_heads=4,
        n_layers=2,
        feedforward_dim=64,
    )
    return gen.fit(train)


@pytest.fixture(scope="module")
def fitted_taxis(taxis):
    return make_generator(TransformerGenerator, epochs=2).fit(taxis)


# ------------------------------------------------------------------ sampling


def test_adult_sample_keeps_columns_dtypes_categories_and_ranges(adult, fitted_adult):
    sample = fitted_adult.sample(3000, random_state=0)
    assert list(sample.columns) == list(adult.columns)
    assert (sample.dtypes == adult.dtypes).all()
    for column in adult.select_dtypes("object"):
        assert set(sample[column]) <= set(adult[column]), column
    for column in adult.select_dtypes("number"):
        assert sample[column].between(adult[column].min(), adult[column].max()).all()
    assert not sample.isna().any().any()


def test_numeric_values_are_not_stuck_on_bin_centres(adult, fitted_adult):
    sample = fitted_adult.sample(3000, random_state=0)
    # 16 bins in the test configuration, yet fnlwgt takes thousands of values.
    assert sample["fnlwgt"].nunique() > 1000
    assert sample["age"].nunique() > 40


def test_taxis_datetimes_and_missing_values(taxis, fitted_taxis):
    sample = fitted_taxis.sample(1500, random_state=0)
    assert (sample.dtypes == taxis.dtypes).all()
    assert sample["pickup"].between(taxis["pickup"].min(), taxis["pickup"].max()).all()
    with_nan = set(taxis.columns[taxis.isna().any()])
    assert set(sample.columns[sample.isna().any()]) <= with_nan
    assert sample[list(with_nan)].isna().any().any()


def test_same_seed_same_rows_and_fit_is_reproducible(adult, fitted_adult):
    a = fitted_adult.sample(200, random_state=3)
    pd.testing.assert_frame_equal(a, fitted_adult.sample(200, random_state=3))
    assert not a.equals(fitted_adult.sample(200, random_state=4))
    again = make_generator(TransformerGenerator, epochs=3).fit(adult)
    pd.testing.assert_frame_equal(again.sample(200, random_state=3), a)


def test_pickle_keeps_samples_and_likelihoods(adult, fitted_adult):
    expected = fitted_adult.sample(100, random_state=7)
    scores = fitted_adult.score_samples(adult.head(50))
    restored = pickle.loads(pickle.dumps(fitted_adult))
    pd.testing.assert_frame_equal(restored.sample(100, random_state=7), expected)
    buffer = io.BytesIO()
    joblib.dump(fitted_adult, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    pd.testing.assert_frame_equal(loaded.sample(100, random_state=7), expected)
    np.testing.assert_array_equal(loaded.score_samples(adult.head(50)), scores)


def test_temperature_changes_the_spread(adult):
    gen = make_generator(TransformerGenerator, epochs=3).fit(adult)
    base = gen.sample(3000, random_state=0)
    gen.set_params(temperature=0.3)
    cold = gen.sample(3000, random_state=0)
    assert cold["occupation"].nunique() <= base["occupation"].nunique()
    top = adult["relationship"].value_counts().index[0]
    assert (cold["relationship"] == top).mean() > (base["relationship"] == top).mean()


# ------------------------------------------------------------ conditions


def test_categorical_conditions_are_exact(adult, fitted_adult):
    rows = fitted_adult.sample(300, conditions={"sex": " Female"}, random_state=0)
    assert len(rows) == 300 and (rows["sex"] == " Female").all()
    rare = adult["native-country"].value_counts().index[-1]  # seen once or twice
    rows = fitted_adult.sample(
        50, conditions={"native-country": rare, "income": " >50K"}, random_state=0
    )
    assert ((rows["native-country"] == rare) & (rows["income"] == " >50K")).all()


def test_numeric_value_and_interval_conditions_are_exact(fitted_adult):
    rows = fitted_adult.sample(
        100, conditions={"age": 37, "fnlwgt": 123456}, random_state=0
    )
    assert (rows["age"] == 37).all() and (rows["fnlwgt"] == 123456).all()
    rows = fitted_adult.sample(500, conditions={"age": (30, 40)}, random_state=0)
    assert rows["age"].between(30, 40).all() and rows["age"].nunique() == 11
    rows = fitted_adult.sample(
        300,
        conditions={
            "hours-per-week": pd.Interval(40, 45, closed="neither"),
            "sex": " Male",
        },
        random_state=0,
    )
    assert (
        rows["hours-per-week"].between(41, 44).all() and (rows["sex"] == " Male").all()
    )
    # An interval in the tail the model rarely samples is still met in every row.
    rows = fitted_adult.sample(
        200, conditions={"capital-gain": (5000, 20000)}, random_state=0
    )
    assert rows["capital-gain"].between(5000, 20000).all()


def test_several_intervals_use_importance_resampling(fitted_adult):
    conditions = {
        "age": (50, 60),
        "hours-per-week": (10, 30),
        "education-num": (13, 16),
    }
    rows = fitted_adult.sample(200, conditions=conditions, random_state=0)
    for column, (low, high) in conditions.items():
        assert rows[column].between(low, high).all(), column


def test_per_row_conditions_frame(fitted_adult):
    conditions = pd.DataFrame(
        {
            "sex": [" Male", " Female", " Female", " Male"],
            "age": pd.Series([(20, 25), 60, pd.Interval(70, 90), 33], dtype=object),
        }
    )
    rows = fitted_adult.sample(conditions=conditions, random_state=0)
    assert list(rows["sex"]) == list(conditions["sex"])
    assert 20 <= rows["age"][0] <= 25 and rows["age"][1] == 60
    assert 70 < rows["age"][2] <= 90 and rows["age"][3] == 33


def test_conditions_on_taxis_datetimes_floats_and_missing(taxis, fitted_taxis):
    window = (pd.Timestamp("2019-03-05"), pd.Timestamp("2019-03-12"))
    rows = fitted_taxis.sample(100, conditions={"pickup": window}, random_state=0)
    assert rows["pickup"].between(*window).all()
    rows = fitted_taxis.sample(100, conditions={"fare": (10.0, 12.5)}, random_state=0)
    assert rows["fare"].between(10.0, 12.5).all()
    assert np.allclose(rows["fare"], rows["fare"].round(2))
    column = next(c for c in taxis.columns if taxis[c].isna().any())
    rows = fitted_taxis.sample(30, conditions={column: np.nan}, random_state=0)
    assert rows[column].isna().all()


def test_bad_conditions_name_the_problem(fitted_adult):
    with pytest.raises(ValueError, match="integer"):
        fitted_adult.sample(5, conditions={"age": 37.5})
    with pytest.raises(ValueError, match="only for numeric"):
        fitted_adult.sample(5, conditions={"sex": pd.Interval(0, 1)})
    with pytest.raises(ValueError, match="age"):
        fitted_adult.sample(5, conditions={"age": (200, 300)})


def test_fixed_order_conditions_natively_on_a_prefix_else_by_rejection(adult):
    order = ["sex", "race"] + [c for c in adult.columns if c not in ("sex", "race")]
    gen = make_generator(TransformerGenerator, epochs=2, order=order).fit(adult)
    assert gen.net_.order[:2] == [
        list(adult.columns).index("sex"),
        list(adult.columns).index("race"),
    ]
    native = gen._generation_order(
        gen._normalise_conditions(5, {"race": " White", "sex": " Male"})
    )
    assert native == [gen.net_.order]
    assert gen.orders_ == [order]  # a fixed order is the only one
    rows = gen.sample(40, conditions={"race": " White", "sex": " Male"}, random_state=0)
    assert ((rows["race"] == " White") & (rows["sex"] == " Male")).all()
    assert (
        gen._generation_order(gen._normalise_conditions(5, {"income": " >50K"})) is None
    )
    rows = gen.sample(40, conditions={"income": " >50K"}, random_state=0)  # rejection
    assert (rows["income"] == " >50K").all()
    with pytest.raises(ValueError, match="order"):
        make_generator(TransformerGenerator, epochs=1, order=["sex"]).fit(adult)


def test_order_ensemble_is_drawn_at_fit_with_the_natural_order_first(adult):
    X, y = adult.drop(columns="income"), adult["income"]
    natural = list(X.columns) + ["income"]
    gen = make_generator(TransformerGenerator, epochs=1, n_orders=5).fit(X, y)
    assert len(gen.orders_) == 5 and gen.orders_[0] == natural
    for order in gen.orders_:
        assert sorted(order) == sorted(natural) and order[-1] == "income"
    assert len({tuple(order) for order in gen.orders_}) == 5
    again = make_generator(TransformerGenerator, epochs=1, n_orders=5).fit(X, y)
    assert again.orders_ == gen.orders_
    one = make_generator(TransformerGenerator, epochs=1, n_orders=1).fit(adult)
    assert one.orders_ == [list(adult.columns)]


def test_rows_are_generated_across_the_orders(fitted_adult, monkeypatch):
    gen = fitted_adult
    seen = []
    original = _transformer.TransformerGenerator._draw_in_order

    def spy(self, n_samples, generator, order, plans):
        seen.append((tuple(order), n_samples))
        return original(self, n_samples, generator, order, plans)

    monkeypatch.setattr(_transformer.TransformerGenerator, "_draw_in_order", spy)
    assert len(gen.sample(800, random_state=0)) == 800
    orders = {tuple(gen._orders()[k]) for k in range(len(gen.orders_))}
    assert {order for order, _ in seen} <= orders
    assert len(seen) > len(orders) // 2 and sum(n for _, n in seen) == 800
    # Conditions come first; the other columns follow each order's sequence.
    seen.clear()
    gen.sample(300, conditions={"sex": " Female"}, random_state=0)
    sex = list(gen.feature_names_in_).index("sex")
    assert len({order for order, _ in seen}) > 1
    assert all(order[0] == sex for order, _ in seen)


# ------------------------------------------------------------ likelihood


def test_score_samples_shape_and_finiteness(adult, fitted_adult, taxis, fitted_taxis):
    scores = fitted_adult.score_samples(adult)
    assert scores.shape == (len(adult),) and np.isfinite(scores).all()
    scores = fitted_taxis.score_samples(taxis)
    assert scores.shape == (len(taxis),) and np.isfinite(scores).all()
    # Batch-invariant, and deterministic.
    np.testing.assert_allclose(
        fitted_adult.score_samples(adult.iloc[5:9]),
        fitted_adult.score_samples(adult)[5:9],
    )


def test_impossible_rows_get_minus_infinity(adult, fitted_adult):
    rows = adult.head(3).copy()
    rows.loc[0, "age"] = 200
    rows.loc[1, "sex"] = "unknown"
    scores = fitted_adult.score_samples(rows)
    assert scores[0] == -np.inf and scores[1] == -np.inf and np.isfinite(scores[2])


def test_real_rows_score_higher_than_rows_with_shuffled_columns(
    adult_full, trained_adult
):
    holdout = adult_full.drop(trained_adult_rows(adult_full)).sample(
        2000, random_state=2
    )
    holdout = holdout.reset_index(drop=True)
    rng = np.random.RandomState(0)
    shuffled = holdout.apply(
        lambda column: column.to_numpy()[rng.permutation(len(column))]
    )
    shuffled = shuffled.astype(holdout.dtypes.to_dict())
    real = trained_adult.score_samples(holdout)
    fake = trained_adult.score_samples(shuffled)
    real, fake = real[np.isfinite(real)], fake[np.isfinite(fake)]
    assert real.mean() > fake.mean() + 1.0


def trained_adult_rows(adult_full):
    return adult_full.sample(4000, random_state=1).index


def test_probabilities_sum_to_one_over_every_categorical_row():
    rng = np.random.RandomState(0)
    n = 400
    a = rng.choice(["x", "y", "z"], n)
    b = np.where(
        a == "x", rng.choice(["p", "q"], n, p=[0.9, 0.1]), rng.choice(["p", "q"], n)
    )
    b = b.astype(object)
    b[rng.rand(n) < 0.2] = None
    frame = pd.DataFrame({"a": a, "b": b, "c": rng.rand(n) < 0.3})
    gen = make_generator(TransformerGenerator, epochs=5).fit(frame)
    grid = pd.DataFrame(
        list(itertools.product(["x", "y", "z"], ["p", "q", None], [False, True])),
        columns=["a", "b", "c"],
    ).astype({"b": object})
    total = np.exp(gen.score_samples(grid)).sum()
    assert total == pytest.approx(1.0, abs=1e-6)


def test_integer_masses_sum_to_one_and_match_sampling_frequencies():
    rng = np.random.RandomState(0)
    n = 500
    kind = rng.choice(["u", "v"], n)
    count = np.where(kind == "u", rng.poisson(2, n), rng.poisson(6, n)).clip(0, 12)
    frame = pd.DataFrame({"count": count.astype(np.int64), "kind": kind})
    gen = make_generator(TransformerGenerator, epochs=5, n_bins=8).fit(frame)
    grid = pd.DataFrame(
        list(itertools.product(range(count.min(), count.max() + 1), ["u", "v"])),
        columns=["count", "kind"],
    )
    probs = np.exp(gen.score_samples(grid))
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)
    sample = gen.sample(100_000, random_state=0)
    freq = sample.groupby(["count", "kind"]).size() / len(sample)
    freq = freq.reindex(pd.MultiIndex.from_frame(grid), fill_value=0.0).to_numpy()
    np.testing.assert_allclose(freq, probs, atol=0.005)


def test_density_of_a_float_column_integrates_to_one():
    rng = np.random.RandomState(0)
    n = 400
    group = rng.choice(["g", "h"], n)
    x = np.where(group == "g", rng.normal(0, 1, n), rng.normal(3, 0.5, n))
    x = x + rng.uniform(0, 1e-9, n)  # full float precision: no learned rounding
    x[:40] = 0.0  # an atom
    frame = pd.DataFrame({"group": group, "x": x})
    gen = make_generator(TransformerGenerator, epochs=3).fit(frame)
    assert gen.encoder_.schema_[1].decimals is None
    grid = np.linspace(x.min(), x.max(), 200_001)
    total = 0.0
    for value in ("g", "h"):
        rows = pd.DataFrame({"group": value, "x": grid})
        density = np.exp(gen.score_samples(rows))
        atom = gen.score_samples(pd.DataFrame({"group": [value], "x": [0.0]}))
        is_atom = grid == 0.0
        total += np.trapezoid(np.where(is_atom, 0.0, density), grid) + np.exp(atom[0])
    assert total == pytest.approx(1.0, abs=0.01)


def test_score_samples_is_the_log_mean_likelihood_over_the_orders(adult, fitted_adult):
    rows = adult.head(30)
    mixture = fitted_adult.score_samples(rows)
    single = copy.deepcopy(fitted_adult)
    per_order = []
    for order in fitted_adult.orders_:
        single.orders_ = [order]
        per_order.append(single.score_samples(rows))
    per_order = np.stack(per_order)
    assert len(per_order) == 16 and np.ptp(per_order, axis=0).max() > 1e-3
    expected = logsumexp(per_order, axis=0) - np.log(len(per_order))
    np.testing.assert_allclose(mixture, expected, rtol=1e-10)


def test_target_is_marginalised_or_scored_jointly(adult):
    X, y = adult.drop(columns="income"), adult["income"]
    gen = make_generator(TransformerGenerator, epochs=3).fit(X, y)
    rows = X.head(20)
    marginal = gen.score_samples(rows)
    joint = np.stack(
        [
            gen.score_samples(rows, pd.Series([label] * len(rows)))
            for label in y.unique()
        ]
    )
    np.testing.assert_allclose(logsumexp(joint, axis=0), marginal, rtol=1e-9)
    assert (joint <= marginal + 1e-12).all()
    order = list(X.columns) + ["income"]
    order[0], order[-1] = order[-1], order[0]
    fixed = make_generator(TransformerGenerator, epochs=1, order=order).fit(X, y)
    with pytest.raises(ValueError, match="target last"):
        fixed.score_samples(rows)
    assert np.isfinite(fixed.score_samples(rows, y.head(20))).all()


def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(_transformer.TransformerGenerator, "TransformerGenerator"):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted > 0
    assert runner.summarize(verbose=False).failed == 0
