"""Checks every generator must pass, beyond scikit-learn's estimator checks.

scikit-learn's ``parametrize_with_checks`` never calls ``sample``. These checks do:
they fit a generator on a small mixed-type table and test what a user relies on —
``sample`` before ``fit`` fails clearly, columns / dtypes / categories / missing
values survive, seeds reproduce rows, ``conditions`` are honoured exactly, pickling
keeps the model, and ``clone`` plus ``GridSearchCV`` work with the default ``score``.

Use them in a third-party generator's test suite::

    from sklearn_gen.utils.estimator_checks import parametrize_with_generator_checks

    @parametrize_with_generator_checks([MyGenerator(epochs=1, random_state=0)])
    def test_my_generator(generator, check):
        check(generator)
"""

from __future__ import annotations

import io
import pickle
from functools import partial

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

__all__ = [
    "check_clone_grid_search",
    "check_conditions_exact",
    "check_fit_does_not_mutate_input",
    "check_fit_reproducible",
    "check_fit_with_target",
    "check_ndarray_round_trip",
    "check_pickle_round_trip",
    "check_sample_n_samples",
    "check_sample_not_fitted",
    "check_sample_reproducible",
    "check_sample_round_trip",
    "check_transform_inverse_transform",
    "make_mixed_frame",
    "parametrize_with_generator_checks",
    "yield_generator_checks",
]


def make_mixed_frame(n_samples=240, random_state=0):
    """A small table with every column kind a generator must handle.

    Columns: ``num`` (float with NaN), ``count`` (int64), ``score`` (nullable
    ``Int64`` with NA), ``flag`` (bool), ``city`` (object strings, one of three),
    ``level`` (ordered ``category``), ``when`` (datetime64).

    Parameters
    ----------
    n_samples : int, default=240
        Number of rows.
    random_state : int, default=0
        Seed.

    Returns
    -------
    frame : DataFrame

    Examples
    --------
    >>> from sklearn_gen.utils.estimator_checks import make_mixed_frame
    >>> make_mixed_frame(10).shape
    (10, 7)
    """
    rng = np.random.RandomState(random_state)
    city = rng.choice(["Lisbon", "Porto", "Faro"], size=n_samples, p=[0.5, 0.3, 0.2])
    base = np.where(city == "Lisbon", 30.0, np.where(city == "Porto", 10.0, -5.0))
    num = np.round(base + rng.normal(0, 3, n_samples), 2)
    num[rng.rand(n_samples) < 0.1] = np.nan
    score = pd.array(rng.randint(0, 100, n_samples), dtype="Int64")
    score[rng.rand(n_samples) < 0.1] = pd.NA
    level = pd.Categorical(
        rng.choice(["low", "mid", "high"], size=n_samples),
        categories=["low", "mid", "high"],
        ordered=True,
    )
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.randint(0, 365 * 24, n_samples), unit="h"
    )
    return pd.DataFrame(
        {
            "num": num,
            "count": rng.poisson(3, n_samples).astype(np.int64),
            "score": score,
            "flag": rng.rand(n_samples) < 0.4,
            "city": city.astype(object),
            "level": level,
            "when": when,
        }
    )


def _fresh(generator, **params):
    return clone(generator).set_params(**params)


def check_sample_not_fitted(name, generator):
    """``sample``, ``transform`` and ``score`` before ``fit`` raise NotFittedError."""
    generator = clone(generator)
    X = make_mixed_frame(20)
    for method, args in (("sample", (5,)), ("transform", (X,)), ("score", (X,))):
        try:
            getattr(generator, method)(*args)
        except NotFittedError:
            continue
        raise AssertionError(f"{name}.{method} before fit did not raise NotFittedError")


def check_sample_round_trip(name, generator):
    """Columns, dtypes, category sets, bounds and the missing pattern survive."""
    X = make_mixed_frame()
    fitted = _fresh(generator).fit(X)
    sample = fitted.sample(300, random_state=0)
    assert isinstance(sample, pd.DataFrame), f"{name}: DataFrame in must give DataFrame out"
    assert list(sample.columns) == list(X.columns), f"{name}: columns changed"
    assert len(sample) == 300
    for column in X.columns:
        assert sample[column].dtype == X[column].dtype, (
            f"{name}: column {column!r} came back as {sample[column].dtype}, "
            f"fitted as {X[column].dtype}"
        )
        if not X[column].isna().any():
            assert not sample[column].isna().any(), (
                f"{name}: column {column!r} had no missing values but the sample has"
            )
    assert set(sample["city"]) <= set(X["city"]), f"{name}: unseen city values"
    assert set(sample["level"].dropna()) <= set(X["level"].cat.categories)
    for column in ("num", "count", "when"):
        values = sample[column].dropna()
        assert values.min() >= X[column].min() and values.max() <= X[column].max(), (
            f"{name}: column {column!r} left the range seen at fit"
        )
    assert np.allclose(sample["num"].dropna(), sample["num"].dropna().round(2)), (
        f"{name}: 'num' has more decimals than the data"
    )


def check_sample_reproducible(name, generator):
    """The same ``random_state`` gives the same rows; ``None`` gives new ones."""
    fitted = _fresh(generator).fit(make_mixed_frame())
    a = fitted.sample(50, random_state=1)
    b = fitted.sample(50, random_state=1)
    pd.testing.assert_frame_equal(a, b)
    c = fitted.sample(50, random_state=2)
    assert not a.equals(c), f"{name}: different seeds gave identical rows"
    d, e = fitted.sample(50), fitted.sample(50)
    assert not d.equals(e), f"{name}: repeated sample() calls repeated the same rows"


def check_fit_reproducible(name, generator):
    """Two fits with the same int ``random_state`` sample the same rows (CPU)."""
    X = make_mixed_frame()
    a = _fresh(generator, random_state=0).fit(X).sample(40, random_state=0)
    b = _fresh(generator, random_state=0).fit(X).sample(40, random_state=0)
    pd.testing.assert_frame_equal(a, b)


def check_conditions_exact(name, generator):
    """Conditions hold in every row; bad conditions give a clear ValueError."""
    X = make_mixed_frame()
    fitted = _fresh(generator).fit(X)
    rows = fitted.sample(30, conditions={"city": "Faro"}, random_state=0)
    assert len(rows) == 30 and (rows["city"] == "Faro").all()
    rows = fitted.sample(20, conditions={"flag": True, "level": "mid"}, random_state=0)
    assert len(rows) == 20 and rows["flag"].all() and (rows["level"] == "mid").all()
    per_row = pd.DataFrame({"city": ["Porto", "Lisbon", "Porto", "Faro"]})
    rows = fitted.sample(conditions=per_row, random_state=0)
    assert list(rows["city"]) == list(per_row["city"])
    rows = fitted.sample(10, conditions={"num": 12.5}, random_state=0)
    assert (rows["num"] == 12.5).all()
    for bad, message in (
        ({"town": "Faro"}, "town"),
        ({"city": "Paris"}, "Paris"),
        ({"num": 1e9}, "num"),
    ):
        try:
            fitted.sample(5, conditions=bad)
        except ValueError as exc:
            assert message in str(exc), f"{name}: error {exc!r} does not name {message!r}"
        else:
            raise AssertionError(f"{name}: conditions {bad} did not raise ValueError")
    try:
        fitted.sample(5, conditions=[("city", "Faro")])
    except TypeError:
        pass
    else:
        raise AssertionError(f"{name}: a list of conditions did not raise TypeError")


def check_sample_n_samples(name, generator):
    """``sample(0)`` is empty with the right columns; bad ``n_samples`` errors."""
    X = make_mixed_frame()
    fitted = _fresh(generator).fit(X)
    empty = fitted.sample(0)
    assert empty.shape == (0, X.shape[1]) and list(empty.columns) == list(X.columns)
    assert len(fitted.sample()) == len(X), f"{name}: default n_samples is the fit size"
    for bad, error in ((-1, ValueError), (2.5, TypeError), ("3", TypeError), (True, TypeError)):
        try:
            fitted.sample(bad)
        except error:
            continue
        raise AssertionError(f"{name}: sample({bad!r}) did not raise {error.__name__}")


def check_pickle_round_trip(name, generator):
    """pickle / joblib keep the model: the same seed samples the same rows."""
    fitted = _fresh(generator).fit(make_mixed_frame())
    expected = fitted.sample(25, random_state=3)
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(restored.sample(25, random_state=3), expected)
    buffer = io.BytesIO()
    joblib.dump(fitted, buffer)
    buffer.seek(0)
    pd.testing.assert_frame_equal(joblib.load(buffer).sample(25, random_state=3), expected)


def check_clone_grid_search(name, generator):
    """``clone`` keeps parameters; GridSearchCV picks by the default ``score``."""
    cloned = clone(generator)
    assert cloned.get_params() == generator.get_params()
    X = make_mixed_frame(150)
    search = GridSearchCV(
        clone(generator), {"batch_size": [32, 64]}, cv=2, error_score="raise"
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores >= 0) & (scores <= 1)), f"{name}: scores outside [0, 1]"
    assert search.best_estimator_.sample(5).shape == (5, X.shape[1])


def check_fit_does_not_mutate_input(name, generator):
    """``fit``, ``transform``, ``score`` and conditional ``sample`` leave inputs as given."""
    X = make_mixed_frame()
    original = X.copy(deep=True)
    conditions = pd.DataFrame({"city": ["Porto", "Faro"]})
    conditions_copy = conditions.copy(deep=True)
    fitted = _fresh(generator).fit(X)
    fitted.transform(X)
    fitted.score(X)
    fitted.sample(conditions=conditions, random_state=0)
    pd.testing.assert_frame_equal(X, original)
    pd.testing.assert_frame_equal(conditions, conditions_copy)


def check_ndarray_round_trip(name, generator):
    """An ndarray in gives an ndarray of the same dtype out."""
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=120), rng.randint(0, 5, 120)]).astype(np.float64)
    fitted = _fresh(generator).fit(X)
    sample = fitted.sample(30, random_state=0)
    assert isinstance(sample, np.ndarray) and sample.dtype == X.dtype
    assert sample.shape == (30, 2)
    assert np.all(sample[:, 1] == np.round(sample[:, 1])), f"{name}: integers not kept"
    rows = fitted.sample(10, conditions={1: 2.0}, random_state=0)
    assert np.all(rows[:, 1] == 2.0)


def check_fit_with_target(name, generator):
    """``fit(X, y)`` samples ``(X, y)`` and conditions on the target's classes."""
    X = make_mixed_frame()
    y = pd.Series(np.where(X["count"] > 3, "high", "low"), name="label")
    fitted = _fresh(generator).fit(X.drop(columns="count"), y)
    assert fitted.target_name_ == "label"
    X_new, y_new = fitted.sample(20, random_state=0)
    assert list(X_new.columns) == [c for c in X.columns if c != "count"]
    assert len(y_new) == 20 and set(y_new) <= {"high", "low"}
    _, y_high = fitted.sample(15, conditions={"label": "high"}, random_state=0)
    assert (y_high == "high").all()
    Z = fitted.transform(X.drop(columns="count"))
    assert Z.shape[0] == len(X) and np.isfinite(Z).all()


def check_transform_inverse_transform(name, generator):
    """``transform`` is deterministic; ``inverse_transform`` decodes it to rows."""
    X = make_mixed_frame()
    fitted = _fresh(generator).fit(X)
    Z1, Z2 = fitted.transform(X), fitted.transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    assert Z1.dtype == np.float32 and Z1.shape == (len(X), fitted.get_feature_names_out().size)
    decoded = fitted.inverse_transform(Z1)
    assert list(decoded.columns) == list(X.columns) and len(decoded) == len(X)
    for column in X.columns:
        assert decoded[column].dtype == X[column].dtype


_CHECKS = (
    check_sample_not_fitted,
    check_sample_round_trip,
    check_sample_reproducible,
    check_fit_reproducible,
    check_conditions_exact,
    check_sample_n_samples,
    check_pickle_round_trip,
    check_clone_grid_search,
    check_fit_does_not_mutate_input,
    check_ndarray_round_trip,
    check_fit_with_target,
    check_transform_inverse_transform,
)


def yield_generator_checks(generator):
    """Yield ``partial(check, name)`` for every generator check.

    Parameters
    ----------
    generator : BaseGenerator
        An unfitted generator instance (small ``epochs`` keeps the checks fast).

    Yields
    ------
    check : callable
        Call it with the generator.
    """
    name = type(generator).__name__
    for check in _CHECKS:
        yield partial(check, name)


def parametrize_with_generator_checks(generators):
    """A pytest ``parametrize`` decorator running every generator check.

    Parameters
    ----------
    generators : list of BaseGenerator
        Unfitted generator instances.

    Returns
    -------
    decorator : pytest.mark.parametrize
        Parametrizes ``(generator, check)``.
    """
    import pytest

    cases, ids = [], []
    for generator in generators:
        for check in yield_generator_checks(generator):
            cases.append((generator, check))
            ids.append(f"{type(generator).__name__}-{check.func.__name__}")
    return pytest.mark.parametrize("generator, check", cases, ids=ids)
