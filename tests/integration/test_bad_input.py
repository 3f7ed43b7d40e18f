"""Bad input: every generator refuses it with a clear error or handles it correctly.

The catalogue of issue 9, parametrised over every generator. Each case either raises
a ``ValueError`` / ``TypeError`` whose message names the column or parameter and says
what to do, or checks the correct behaviour. Every case, including the raising ones,
also checks that the user's DataFrame (and ``y``) is left exactly as it was.
"""

import contextlib
import copy

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.utils.discovery import all_generators

from ..conftest import make_generator

GENERATORS = [cls for _, cls in all_generators()]
IDS = [cls.__name__ for cls in GENERATORS]

FEATURES = ["age", "workclass", "education-num", "sex", "hours-per-week"]


# ---------------------------------------------------------------------- helpers


def _assert_same(before, after):
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(after, before, check_exact=True)
        assert after.columns.equals(before.columns)
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(after, before, check_exact=True)
    elif isinstance(before, np.ndarray):
        assert after.dtype == before.dtype
        np.testing.assert_array_equal(after, before)
    else:
        assert after == before


@contextlib.contextmanager
def unchanged(*inputs):
    """Check that the call inside leaves every input exactly as it was.

    Put it outside ``pytest.raises`` so that raising calls are checked too:
    ``with unchanged(X, y), pytest.raises(ValueError, match=...):``.
    """
    before = [copy.deepcopy(x) for x in inputs]
    yield
    for b, a in zip(before, inputs, strict=True):
        _assert_same(b, a)


def _fit(cls, X, y=None, **overrides):
    with unchanged(X, y):
        return make_generator(cls, **overrides).fit(X, y)


def _features(sample):
    return sample[0] if isinstance(sample, tuple) else sample


# ---------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def table(adult):
    """300 real rows of Adult (ints and strings) plus a float column with gaps."""
    X = adult[FEATURES].head(300).copy()
    rng = np.random.RandomState(0)
    score = np.round(rng.normal(50.0, 10.0, len(X)), 2)
    score[rng.rand(len(X)) < 0.1] = np.nan
    X["score"] = score
    y = adult["income"].head(300).rename("income")
    return X, y


@pytest.fixture(scope="module", params=GENERATORS, ids=IDS)
def cls(request):
    return request.param


@pytest.fixture(scope="module")
def fitted(cls, table):
    """A generator fitted on the table with ``y`` (reused by the read-only cases)."""
    X, y = table
    return _fit(cls, X, y)


# ---------------------------------------------------------------- empty tables


def test_no_rows_is_refused(cls, table):
    X, y = table
    empty = X.iloc[:0]
    with unchanged(empty), pytest.raises(
        ValueError, match=r"0 sample.*at least 2 rows"
    ):
        make_generator(cls).fit(empty)
    with unchanged(empty, y.iloc[:0]), pytest.raises(ValueError, match="0 sample"):
        make_generator(cls).fit(empty, y.iloc[:0])
    nothing = pd.DataFrame()
    with unchanged(nothing), pytest.raises(ValueError, match="0 sample"):
        make_generator(cls).fit(nothing)


def test_no_columns_is_refused(cls, table):
    X, _ = table
    no_columns = X.iloc[:, :0]
    with unchanged(no_columns), pytest.raises(
        ValueError, match=r"0 feature.*at least one column"
    ):
        make_generator(cls).fit(no_columns)


def test_one_row_is_refused(cls, table):
    X, y = table
    one = X.head(1)
    with unchanged(one), pytest.raises(ValueError, match=r"1 sample.*at least 2 rows"):
        make_generator(cls).fit(one)
    with unchanged(one, y.head(1)), pytest.raises(ValueError, match="1 sample"):
        make_generator(cls).fit(one, y.head(1))


def test_fewer_rows_than_batch_size_trains_on_one_smaller_batch(cls, table):
    X, y = table
    # 5 rows: smaller than batch_size=64 and not a multiple of CTGAN's pac=4.
    small, small_y = X.head(5), y.head(5)
    gen = _fit(cls, small, small_y)
    rows, labels = gen.sample(7, random_state=0)
    assert list(rows.columns) == list(X.columns) and len(rows) == 7
    assert (rows.dtypes == X.dtypes).all()
    assert set(labels) <= set(small_y)
    for column in ["workclass", "sex"]:
        assert set(rows[column]) <= set(small[column])
    with unchanged(small):
        assert np.isfinite(gen.transform(small)).all()
    two = _fit(cls, X.head(2))  # the smallest table accepted
    assert len(two.sample(3, random_state=0)) == 3


# ------------------------------------------------------- degenerate columns


def test_constant_columns_come_back_constant(cls, table):
    X, y = table
    X = X.assign(
        const_float=3.25,
        const_int=np.int64(7),
        const_cat="same",
        const_bool=True,
    )
    gen = _fit(cls, X, y)
    rows, _ = gen.sample(60, random_state=0)
    assert (rows["const_float"] == 3.25).all()
    assert (rows["const_int"] == 7).all()
    assert (rows["const_cat"] == "same").all()
    assert rows["const_bool"].all()
    assert (rows.dtypes == X.dtypes).all()
    with unchanged(X):
        assert np.isfinite(gen.transform(X)).all()
    with unchanged(X, y):
        assert 0.0 <= gen.score(X, y) <= 1.0
    rows, _ = gen.sample(5, conditions={"const_cat": "same"}, random_state=0)
    assert (rows["const_cat"] == "same").all()


def test_all_missing_columns_come_back_all_missing(cls, table):
    X, y = table
    X = X.assign(
        gone_float=np.nan,
        gone_object=pd.Series([None] * len(X), dtype=object),
        gone_int=pd.array([pd.NA] * len(X), dtype="Int64"),
        gone_time=pd.Series(pd.NaT, index=X.index, dtype="datetime64[ns]"),
    )
    gone = ["gone_float", "gone_object", "gone_int", "gone_time"]
    gen = _fit(cls, X, y)
    rows, _ = gen.sample(60, random_state=0)
    assert rows[gone].isna().all().all()
    assert (rows.dtypes == X.dtypes).all()
    assert rows["gone_object"].map(lambda v: v is None).all()  # the user's marker
    assert not rows[FEATURES].isna().any().any()
    with unchanged(X):
        assert np.isfinite(gen.transform(X)).all()
    with unchanged(X, y):
        assert 0.0 <= gen.score(X, y) <= 1.0
    # A value in a column that was all missing at fit cannot be represented.
    bad = X.head(3).assign(gone_float=1.5)
    with unchanged(bad), pytest.raises(ValueError, match="'gone_float'.*missing"):
        gen.transform(bad)


def test_infinite_values_are_refused(cls, table, fitted):
    X, y = table
    for value in (np.inf, -np.inf):
        bad = X.assign(score=X["score"].where(X.index != 3, value))
        with unchanged(bad), pytest.raises(
            ValueError, match=r"\['score'\].*infinite.*NaN"
        ):
            make_generator(cls).fit(bad)
        with unchanged(bad), pytest.raises(ValueError, match=r"\['score'\].*infinite"):
            fitted.transform(bad)
        with unchanged(bad, y), pytest.raises(
            ValueError, match=r"\['score'\].*infinite"
        ):
            fitted.score(bad, y)
    bad_y = y.map({" <=50K": 0.0, " >50K": np.inf})
    with unchanged(X, bad_y), pytest.raises(ValueError, match=r"y .*infinite.*NaN"):
        make_generator(cls).fit(X, bad_y)


def test_mixed_type_object_column_is_categorical_and_keeps_types(cls, table):
    X, _ = table
    values = np.array([1, "a", 2.5, "b", "1"], dtype=object)
    X = X.assign(mixed=values[np.arange(len(X)) % len(values)])
    gen = _fit(cls, X)
    empty = gen.sample(0)  # no y: a DataFrame alone
    assert isinstance(empty, pd.DataFrame) and empty.shape == (0, X.shape[1])
    assert (empty.dtypes == X.dtypes).all()
    rows = gen.sample(200, random_state=0)
    assert rows["mixed"].dtype == object
    seen = {(type(v), v) for v in values}
    assert {(type(v), v) for v in rows["mixed"]} <= seen
    for value in (1, "1", "a"):
        rows = gen.sample(8, conditions={"mixed": value}, random_state=0)
        assert rows["mixed"].map(lambda v, w=value: type(v) is type(w) and v == w).all()
    with unchanged(X):
        assert np.isfinite(gen.transform(X)).all()


def test_category_seen_once_is_kept_and_can_be_conditioned_on(cls, table):
    X, y = table
    workclass = X["workclass"].copy()
    workclass.iloc[10] = "Astronaut"
    X = X.assign(workclass=workclass)
    labels = y.copy()
    labels.iloc[20] = "unique"
    gen = _fit(cls, X, labels)
    schema = gen.encoder_.schema_
    assert "Astronaut" in next(s for s in schema if s.name == "workclass").categories
    assert "unique" in next(s for s in schema if s.name == "income").categories
    rows, _ = gen.sample(5, conditions={"workclass": "Astronaut"}, random_state=0)
    assert (rows["workclass"] == "Astronaut").all()
    _, out = gen.sample(5, conditions={"income": "unique"}, random_state=0)
    assert (out == "unique").all()


def test_thousands_of_categories_round_trip_with_seen_categories_only(cls):
    rng = np.random.RandomState(0)
    names = np.array([f"city_{i:04d}" for i in range(3000)], dtype=object)
    codes = np.concatenate([rng.permutation(3000), rng.randint(0, 3000, 2000)])
    X = pd.DataFrame(
        {"city": names[codes], "value": np.round(rng.normal(size=5000), 3)}
    )
    fast = dict(epochs=1, batch_size=500)
    if cls.__name__ == "LatentDiffusionGenerator":
        fast = dict(epochs=2, vae_epochs=1, batch_size=500)
    gen = _fit(cls, X, **fast)
    (city,) = (s for s in gen.encoder_.schema_ if s.name == "city")
    assert len(city.categories) == 3000
    rows = gen.sample(500, random_state=0)
    assert rows["city"].dtype == object
    assert set(rows["city"]) <= set(names)
    rows = gen.sample(4, conditions={"city": "city_2999"}, random_state=0)
    assert (rows["city"] == "city_2999").all()


# --------------------------------------------------------------- column names


def test_duplicate_column_names_are_refused(cls, table, fitted):
    X, y = table
    dupes = X.set_axis(["age", "age", *X.columns[2:]], axis=1)
    with unchanged(dupes), pytest.raises(ValueError, match=r"unique.*'age'.*[Rr]ename"):
        make_generator(cls).fit(dupes)
    with unchanged(dupes), pytest.raises(ValueError, match=r"unique.*'age'"):
        fitted.transform(dupes)
    with unchanged(dupes, y), pytest.raises(ValueError, match=r"unique.*'age'"):
        fitted.score(dupes, y)


def test_integer_column_names_are_kept(cls, table):
    X, y = table
    X = X.set_axis([10, 20, 30, 40, 50, 60], axis=1)
    gen = _fit(cls, X, y)
    rows, labels = gen.sample(20, random_state=0)
    assert list(rows.columns) == [10, 20, 30, 40, 50, 60]
    assert (rows.dtypes == X.dtypes).all()
    assert set(labels) <= set(y)
    rows, _ = gen.sample(6, conditions={40: " Female"}, random_state=0)
    assert (rows[40] == " Female").all()
    _, labels = gen.sample(6, conditions={gen.target_name_: " >50K"}, random_state=0)
    assert (labels == " >50K").all()
    with unchanged(X):
        assert gen.transform(X).shape[0] == len(X)
    with unchanged(X, y):
        assert 0.0 <= gen.score(X, y) <= 1.0
    swapped = X[[20, 10, 30, 40, 50, 60]]
    with unchanged(swapped), pytest.raises(ValueError, match=r"order.*\[10, 20"):
        gen.transform(swapped)
    with unchanged(swapped, y), pytest.raises(ValueError, match=r"order.*\[10, 20"):
        gen.score(swapped, y)


def test_mixed_int_and_string_column_names_are_refused(cls, table):
    X, _ = table
    mixed = X.set_axis([0, "workclass", 2, "sex", 4, "score"], axis=1)
    with unchanged(mixed), pytest.raises(
        TypeError, match=r"string names.*astype\(str\)"
    ):
        make_generator(cls).fit(mixed)


def test_array_input_round_trips_as_array(cls):
    rng = np.random.RandomState(0)
    X = np.round(rng.normal(size=(120, 3)), 3)
    gen = _fit(cls, X)
    out = gen.sample(0)
    assert isinstance(out, np.ndarray) and out.shape == (0, 3) and out.dtype == X.dtype
    with unchanged(X):
        assert gen.transform(X).shape[0] == 120
    with unchanged(X), pytest.raises(ValueError, match="3 features"):
        gen.transform(X[:, :2])


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize("method", ["transform", "score"])
def test_columns_must_match_fit_at_transform_and_score(fitted, table, method):
    X, y = table

    def call(frame):
        if method == "score":
            with unchanged(frame, y):
                return fitted.score(frame, y)
        with unchanged(frame):
            return fitted.transform(frame)

    reordered = X[X.columns[::-1]]
    hint = r"(?s)same order.*X\[generator.feature_names_in_\]"
    with pytest.raises(ValueError, match=hint):
        call(reordered)
    with pytest.raises(ValueError, match=r"missing:\n- sex"):
        call(X.drop(columns="sex"))
    with pytest.raises(ValueError, match=r"unseen at fit time:\n- extra"):
        call(X.assign(extra=1))
    with pytest.raises(ValueError, match="0 sample"):
        call(X.iloc[:0])
    with pytest.raises(ValueError, match=r"0 feature|missing:\n- age"):
        call(X.iloc[:, :0])


def test_unseen_values_at_transform_name_the_column(fitted, table):
    X, y = table
    bad = X.head(5).assign(workclass=["Astronaut"] * 5)
    with unchanged(bad), pytest.raises(
        ValueError, match=r"'workclass'.*not seen during fit.*Astronaut"
    ):
        fitted.transform(bad)
    with unchanged(bad, y.head(5)):  # score compares distributions: no encoding
        assert 0.0 <= fitted.score(bad, y.head(5)) <= 1.0
    gaps = X.head(5).assign(age=[np.nan, 30, 40, 50, 60])
    with unchanged(gaps), pytest.raises(ValueError, match=r"'age'.*missing.*none"):
        fitted.transform(gaps)
    words = X.head(5).assign(age=["old", 30, 40, 50, 60])
    with unchanged(words), pytest.raises(ValueError, match=r"'age'.*numeric.*'old'"):
        fitted.transform(words)


# ------------------------------------------------------------------ n_samples


def test_sample_zero_rows_keeps_columns_and_dtypes(fitted, table):
    X, y = table
    rows, labels = fitted.sample(0)
    assert rows.shape == (0, X.shape[1]) and list(rows.columns) == list(X.columns)
    assert (rows.dtypes == X.dtypes).all()
    assert isinstance(labels, pd.Series) and len(labels) == 0
    assert labels.dtype == y.dtype and labels.name == "income"
    rows, labels = fitted.sample(0, conditions={"sex": " Female"})
    assert rows.shape == (0, X.shape[1]) and (rows.dtypes == X.dtypes).all()
    empty = pd.DataFrame({"sex": pd.Series([], dtype=object)})
    with unchanged(empty):
        rows, _ = fitted.sample(conditions=empty)
    assert rows.shape == (0, X.shape[1])


def test_bad_n_samples_is_refused(fitted):
    with pytest.raises(ValueError, match=r"n_samples must be >= 0, got -1"):
        fitted.sample(-1)
    for bad in (2.5, 3.0, "5", True, [3]):
        with pytest.raises(TypeError, match=r"n_samples must be .*int"):
            fitted.sample(bad)
    for good in (np.int64(4), np.int32(4), np.uint8(4)):
        rows, labels = fitted.sample(good, random_state=0)
        assert len(rows) == 4 and len(labels) == 4


# ----------------------------------------------------------------- conditions


def test_conditions_on_unknown_columns_or_values_are_refused(fitted, table):
    X, y = table
    cases = [
        ({"gender": " Female"}, r"'gender'.*not fitted on.*Known columns"),
        ({"workclass": "Astronaut"}, r"'Astronaut'.*'workclass'.*never seen.*Known"),
        ({"income": "rich"}, r"'rich'.*'income'.*never seen"),
        ({"age": 500}, r"500.*'age'.*outside the range"),
        ({"score": -1e9}, r"'score'.*outside the range"),
        ({"age": 30.5}, r"'age'.*whole number"),
        ({"age": "thirty"}, r"'age'.*numbers"),
        ({"age": np.nan}, r"missing.*'age'.*none"),
        ({"age": (50, 30)}, r"invalid interval.*'age'"),
        ({"age": (200, 300)}, r"\(200, 300\]|'age'.*no value"),
        ({"age": pd.Interval(30, 30, closed="neither")}, r"'age'.*no value"),
        ({"sex": (1, 2)}, r"'sex'.*never seen.*interval applies only to numeric"),
        ({"sex": [" Female", " Male"]}, r"'sex'.*one value.*DataFrame"),
        ({}, r"empty dict.*None"),
    ]
    for conditions, match in cases:
        with unchanged(X, y), pytest.raises(ValueError, match=match):
            fitted.sample(5, conditions=conditions)
    frame = pd.DataFrame({"sex": [" Female"] * 3})
    with unchanged(frame), pytest.raises(ValueError, match=r"3 rows.*n_samples=5"):
        fitted.sample(5, conditions=frame)


@pytest.mark.parametrize(
    "conditions",
    [
        [(" Female",)],
        pd.Series({"sex": " Female"}),
        "sex= Female",
        np.array([[" Female"]], dtype=object),
    ],
    ids=["list", "series", "str", "ndarray"],
)
def test_conditions_of_another_type_are_a_type_error(fitted, conditions):
    before = copy.deepcopy(conditions)
    with pytest.raises(TypeError, match=r"conditions must be a dict.*DataFrame.*got"):
        fitted.sample(5, conditions=conditions)
    _assert_same(before, conditions)


def test_conditions_frame_is_not_modified(fitted):
    frame = pd.DataFrame(
        {"sex": [" Female", " Male", " Female"], "age": [30, (40, 50), 60]},
        index=[7, 3, 5],
    )
    with unchanged(frame):
        rows, _ = fitted.sample(conditions=frame, random_state=0)
    assert rows["sex"].tolist() == [" Female", " Male", " Female"]
    assert rows["age"].iloc[0] == 30 and rows["age"].iloc[2] == 60
    assert 40 <= rows["age"].iloc[1] <= 50


# ------------------------------------------------------------------------- y


def test_y_with_one_class_is_modelled_as_a_constant(cls, table):
    X, _ = table
    y = pd.Series(["yes"] * len(X), name="label")
    gen = _fit(cls, X, y)
    assert gen.target_is_discrete_
    rows, labels = gen.sample(30, random_state=0)
    assert (labels == "yes").all() and len(rows) == 30
    _, labels = gen.sample(5, conditions={"label": "yes"}, random_state=0)
    assert (labels == "yes").all()
    with pytest.raises(ValueError, match=r"'no'.*'label'.*never seen"):
        gen.sample(5, conditions={"label": "no"})
    ones = np.ones(len(X), dtype=np.int64)  # a numeric single class
    gen = _fit(cls, X, ones)
    assert gen.target_is_discrete_
    _, labels = gen.sample(30, random_state=0)
    assert isinstance(labels, pd.Series) and (labels == 1).all()


def test_y_of_the_wrong_length_is_refused(cls, table, fitted):
    X, y = table
    short = y.iloc[:-1]
    with unchanged(X, short), pytest.raises(
        ValueError, match=r"y must be 1-D with one value per row of X"
        r" \(300 rows\); got 299"
    ):
        make_generator(cls).fit(X, short)
    with unchanged(X, short), pytest.raises(ValueError, match=r"y .*300 rows.*299"):
        fitted.score(X, short)
    two = pd.concat([y, y], axis=1)
    with unchanged(X, two), pytest.raises(ValueError, match=r"y must be one column"):
        make_generator(cls).fit(X, two)
    # partial_fit checks y like fit (it used to fail inside pandas).
    warm = copy.deepcopy(fitted)
    with unchanged(X, short), pytest.raises(
        ValueError, match=r"y must be 1-D with one value per row of X"
        r" \(300 rows\); got 299"
    ):
        warm.partial_fit(X, short)
    with unchanged(X, two), pytest.raises(ValueError, match=r"y must be one column"):
        warm.partial_fit(X, two)
    assert warm.n_iter_ == fitted.n_iter_  # nothing was trained


def test_unchanged_helper_detects_a_modification(table):
    X, y = table
    X, y = X.copy(), y.copy()
    with pytest.raises(AssertionError):
        with unchanged(X):
            X.iloc[0, 0] = -1
    with pytest.raises(AssertionError):
        with unchanged(y):
            y.index = y.index + 1
