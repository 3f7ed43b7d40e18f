"""Tests for TabularEncoder: schema, layout, exact round trips, errors, sklearn API.

Round-trip tolerance. The encoded matrix is float32, so a decoded float keeps about
seven significant digits of its span's scale. Floats are compared with
``atol = FLOAT_RTOL[strategy] * (max - min)`` of their column; every other kind
(categorical, boolean, integer, datetime) and every NaN position must come back
exactly. Integers and datetimes are exact while their range in units of their
resolution stays well below 1e6 (the hypothesis strategies below stay inside it).
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.mixture import BayesianGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gen.preprocessing import ColumnSchema, Layout, TabularEncoder
from sklearn_gen.preprocessing._encoder import fit_dpgmm_1d

from ..conftest import read_shared

STRATEGIES = ("mode_specific", "quantile", "minmax")

#: Float round-trip tolerance, relative to the column's range, per strategy.
FLOAT_RTOL = {"mode_specific": 1e-6, "minmax": 1e-6, "quantile": 1e-5}


def assert_round_trip(original, decoded, strategy):
    """Exact for every kind but floats; floats within FLOAT_RTOL of their range."""
    assert isinstance(decoded, pd.DataFrame)
    assert list(decoded.columns) == list(original.columns)
    assert decoded.index.equals(pd.RangeIndex(len(original)))
    for name in original.columns:
        expected, actual = original[name].reset_index(drop=True), decoded[name]
        assert actual.dtype == expected.dtype, name
        np.testing.assert_array_equal(
            actual.isna().to_numpy(), expected.isna().to_numpy(), err_msg=str(name)
        )
        is_float = pd.api.types.is_float_dtype(expected.dtype) or (
            expected.dtype == object
            and pd.api.types.infer_dtype(expected, skipna=True)
            in ("floating", "mixed-integer-float")
        )
        if is_float:
            observed = expected.notna().to_numpy()
            e = expected[observed].to_numpy(dtype=np.float64)
            a = actual[observed].to_numpy(dtype=np.float64)
            span = float(e.max() - e.min()) if e.size else 0.0
            np.testing.assert_allclose(
                a, e, rtol=0, atol=FLOAT_RTOL[strategy] * span + 1e-300, err_msg=name
            )
        else:
            pd.testing.assert_series_equal(actual, expected, check_names=False)


# --------------------------------------------------------------------------
# Hypothesis: random mixed-type DataFrames
# --------------------------------------------------------------------------

TEXT = st.sampled_from(["a", "b", "c", "", "ü", "a b", "10"])
MINUTE = pd.Timedelta(minutes=1)


@st.composite
def mixed_frames(draw):
    """A DataFrame of 2-30 rows with 1-6 columns of every supported kind."""
    n = draw(st.integers(2, 30))
    kinds = draw(
        st.lists(
            st.sampled_from(
                [
                    "float",
                    "int",
                    "Int64",
                    "bool",
                    "boolean",
                    "object",
                    "string",
                    "category",
                    "datetime",
                    "datetime_tz",
                    "object_number",
                ]
            ),
            min_size=1,
            max_size=6,
        )
    )
    columns = {}
    for i, kind in enumerate(kinds):
        missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        if not draw(st.booleans()):
            missing = [False] * n  # half the columns have no missing values
        missing = np.array(missing)
        name = f"{kind}_{i}"
        if kind == "float":
            values = np.array(
                draw(
                    st.lists(
                        st.floats(-1e6, 1e6, allow_subnormal=False),
                        min_size=n,
                        max_size=n,
                    )
                )
            )
            values[missing] = np.nan
            columns[name] = values
        elif kind == "int":
            columns[name] = np.array(
                draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n)),
                dtype=np.int64,
            )
        elif kind == "Int64":
            values = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))
            columns[name] = pd.array(
                [None if m else v for v, m in zip(values, missing, strict=True)],
                dtype="Int64",
            )
        elif kind == "bool":
            columns[name] = np.array(
                draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool
            )
        elif kind == "boolean":
            values = draw(st.lists(st.booleans(), min_size=n, max_size=n))
            columns[name] = pd.array(
                [None if m else v for v, m in zip(values, missing, strict=True)],
                dtype="boolean",
            )
        elif kind in ("object", "string", "category"):
            values = draw(st.lists(TEXT, min_size=n, max_size=n))
            if kind == "object":
                marker = draw(st.sampled_from([None, np.nan]))
                values = np.array(
                    [marker if m else v for v, m in zip(values, missing, strict=True)],
                    dtype=object,
                )
                columns[name] = values
            elif kind == "string":
                columns[name] = pd.array(
                    [None if m else v for v, m in zip(values, missing, strict=True)],
                    dtype="string",
                )
            else:
                extra = draw(st.lists(st.sampled_from(["zz", "yy"]), unique=True))
                categories = sorted(set(values) | set(extra), reverse=True)
                columns[name] = pd.Categorical(
                    [None if m else v for v, m in zip(values, missing, strict=True)],
                    categories=categories,
                    ordered=draw(st.booleans()),
                )
        elif kind in ("datetime", "datetime_tz"):
            minutes = draw(st.lists(st.integers(0, 400_000), min_size=n, max_size=n))
            stamps = pd.Timestamp("2021-03-01") + np.array(minutes) * MINUTE
            stamps = pd.DatetimeIndex(stamps)
            if kind == "datetime_tz":
                stamps = stamps.tz_localize("UTC").tz_convert("America/New_York")
            columns[name] = stamps.where(~missing, pd.NaT)
        elif kind == "object_number":  # numbers in an object column, None for missing
            values = draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n))
            columns[name] = np.array(
                [None if m else v / 4 for v, m in zip(values, missing, strict=True)],
                dtype=object,
            )
    return pd.DataFrame(columns)


@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(df=mixed_frames(), categorical=st.sampled_from(["onehot", "ordinal"]))
def test_round_trip_random_frames(strategy, df, categorical):
    before = df.copy(deep=True)
    encoder = TabularEncoder(
        continuous=strategy, categorical=categorical, random_state=0
    ).fit(df)
    for assignment in ("argmax", "sample"):
        Z = encoder.encode(df, mode_assignment=assignment, random_state=1)
        assert Z.dtype == np.float32
        assert Z.shape == (len(df), encoder.layout_.n_features)
        assert np.isfinite(Z).all()
        Z_before = Z.copy()
        assert_round_trip(df, encoder.inverse_transform(Z), strategy)
        np.testing.assert_array_equal(Z, Z_before)  # inverse never mutates
    pd.testing.assert_frame_equal(df, before)  # fit/encode never mutate


# --------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_adult_round_trip(adult_full, strategy):
    encoder = TabularEncoder(continuous=strategy, random_state=0).fit(adult_full)
    kinds = {c.name: c.kind for c in encoder.schema_}
    assert kinds["age"] == "integer" and kinds["workclass"] == "categorical"
    Z = encoder.transform(adult_full)
    assert_round_trip(adult_full, encoder.inverse_transform(Z), strategy)


def test_adult_mode_specific_modes(adult_full):
    encoder = TabularEncoder(random_state=0).fit(adult_full)
    capital_gain = next(c for c in encoder.schema_ if c.name == "capital-gain")
    weights = capital_gain.extra["weights"]
    assert 1 < len(weights) <= 10
    np.testing.assert_allclose(weights.sum(), 1.0)
    # The zero spike of capital-gain (~92 % of rows) is one dominant mode.
    assert weights.max() > 0.85


def test_taxis_datetimes_and_missing_categories(taxis):
    assert taxis.isna().any().any()
    for strategy in STRATEGIES:
        encoder = TabularEncoder(continuous=strategy, random_state=0).fit(taxis)
        by_name = {c.name: c for c in encoder.schema_}
        assert by_name["pickup"].kind == "datetime"
        assert by_name["pickup"].extra["resolution_ns"] == 10**9
        with_missing = [
            c for c in encoder.schema_ if c.kind == "categorical" and c.has_missing
        ]
        assert with_missing
        for column in with_missing:
            (span,) = encoder.layout_.spans_for(column.name)
            assert span.n_categories == len(column.categories) + 1
        decoded = encoder.inverse_transform(encoder.transform(taxis))
        assert_round_trip(taxis, decoded, strategy)


def test_california_missing_float():
    df = read_shared("california_housing.csv")
    for strategy in STRATEGIES:
        encoder = TabularEncoder(continuous=strategy, random_state=0).fit(df)
        bedrooms = next(c for c in encoder.schema_ if c.name == "total_bedrooms")
        assert bedrooms.has_missing and bedrooms.n_missing == 207
        assert bedrooms.decimals == 0
        spans = encoder.layout_.spans_for("total_bedrooms")
        assert spans[-1].role == "missing" and spans[-1].width == 2
        decoded = encoder.inverse_transform(encoder.transform(df))
        assert_round_trip(df, decoded, strategy)


@pytest.mark.parametrize("loader", [load_wine, load_breast_cancer])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sklearn_datasets_round_trip(loader, strategy):
    df = loader(as_frame=True).frame
    encoder = TabularEncoder(continuous=strategy, random_state=0).fit(df)
    assert_round_trip(df, encoder.inverse_transform(encoder.transform(df)), strategy)


# --------------------------------------------------------------------------
# Schema and dtypes
# --------------------------------------------------------------------------


@pytest.fixture
def mixed():
    return pd.DataFrame(
        {
            "f": [1.5, np.nan, 2.25, 3.0, 1.5, np.nan, 7.125, 0.5],
            "i": np.arange(8, dtype=np.int32),
            "I": pd.array([1, None, 3, 4, 5, None, 7, 8], dtype="Int64"),
            "b": [True, False] * 4,
            "B": pd.array(
                [True, None, False, True, None, False, True, True], "boolean"
            ),
            "s": pd.array(["a", None, "b", "c", "a", "b", None, "c"], dtype="string"),
            "c": pd.Categorical(
                ["x", "y", None, "x", "y", "x", "x", "y"],
                categories=["y", "x", "z"],
                ordered=True,
            ),
            "o": ["a", 1, None, 2.5, "a", 1, "q", None],
            "d": pd.to_datetime(
                ["2020-01-01", None, "2021-05-03", "2020-01-02"] * 2
            ).tz_localize("Europe/Paris"),
            "du": pd.to_datetime(["2020-01-01 10:00:01"] * 8).as_unit("s"),
        }
    )


def test_schema_kinds(mixed):
    encoder = TabularEncoder(random_state=0).fit(mixed)
    schema = {c.name: c for c in encoder.schema_}
    assert all(isinstance(c, ColumnSchema) for c in encoder.schema_)
    assert [c.name for c in encoder.schema_] == list(mixed.columns)
    kinds = {name: c.kind for name, c in schema.items()}
    assert kinds == {
        "f": "continuous",
        "i": "integer",
        "I": "integer",
        "b": "boolean",
        "B": "boolean",
        "s": "categorical",
        "c": "categorical",
        "o": "categorical",
        "d": "datetime",
        "du": "datetime",
    }
    assert schema["f"].decimals == 3 and schema["f"].min == 0.5
    assert schema["f"].max == 7.125 and schema["f"].n_missing == 2
    assert schema["c"].categories == ["y", "x", "z"]
    assert schema["b"].categories == [False, True]
    assert schema["I"].missing_value is pd.NA
    assert schema["o"].missing_value is None
    assert schema["d"].dtype == mixed["d"].dtype


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_mixed_round_trip_exact(mixed, strategy):
    for categorical in ("onehot", "ordinal"):
        encoder = TabularEncoder(
            continuous=strategy, categorical=categorical, random_state=0
        ).fit(mixed)
        decoded = encoder.inverse_transform(encoder.transform(mixed))
        pd.testing.assert_frame_equal(decoded, mixed)
        assert decoded["c"].dtype == mixed["c"].dtype  # exact CategoricalDtype


def test_integral_floats_are_continuous_with_zero_decimals():
    df = pd.DataFrame({"x": [1.0, 2.0, 5.0, np.nan]})
    column = TabularEncoder().fit(df).schema_[0]
    assert column.kind == "continuous" and column.decimals == 0


def test_discrete_columns_forces_categorical():
    df = pd.DataFrame({"code": [3, 1, 3, 2, 1], "x": [0.1, 0.2, 0.3, 0.4, 0.5]})
    encoder = TabularEncoder(discrete_columns=["code"], random_state=0).fit(df)
    assert encoder.schema_[0].kind == "categorical"
    assert encoder.schema_[0].categories == [1, 2, 3]
    decoded = encoder.inverse_transform(encoder.transform(df))
    pd.testing.assert_frame_equal(decoded, df)
    with pytest.raises(ValueError, match="'nope'"):
        TabularEncoder(discrete_columns=["nope"]).fit(df)


@pytest.mark.parametrize(
    "array",
    [
        np.random.RandomState(0).normal(size=(40, 3)),
        np.random.RandomState(0).normal(size=(40, 3)).astype(np.float32),
        np.random.RandomState(0).randint(-5, 50, size=(40, 3)),
        np.random.RandomState(0).rand(40, 2) > 0.5,
        np.array([["a", 1.5], ["b", None], ["a", 2.0], ["c", 0.5]] * 5, dtype=object),
        np.array([["a", "x"], ["b", "y"], ["a", "y"]] * 5),
    ],
    ids=["float64", "float32", "int64", "bool", "object", "unicode"],
)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_ndarray_in_ndarray_out(array, strategy):
    before = array.copy()
    encoder = TabularEncoder(continuous=strategy, random_state=0).fit(array)
    assert [c.name for c in encoder.schema_] == list(range(array.shape[1]))
    assert not hasattr(encoder, "feature_names_in_")
    decoded = encoder.inverse_transform(encoder.transform(array))
    assert isinstance(decoded, np.ndarray)
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    np.testing.assert_array_equal(array, before)
    if array.dtype.kind == "f":
        atol = FLOAT_RTOL[strategy] * np.ptp(array, axis=0)
        assert np.all(np.abs(decoded - array) <= atol)
    else:
        assert pd.DataFrame(decoded).equals(pd.DataFrame(array))


def test_feature_names_in_and_n_features(mixed):
    encoder = TabularEncoder(random_state=0).fit(mixed)
    assert encoder.n_features_in_ == mixed.shape[1]
    np.testing.assert_array_equal(encoder.feature_names_in_, mixed.columns)


# --------------------------------------------------------------------------
# Layout and feature names
# --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("categorical", ["onehot", "ordinal"])
def test_layout_consistent_with_feature_names(mixed, strategy, categorical):
    encoder = TabularEncoder(
        continuous=strategy, categorical=categorical, random_state=0
    ).fit(mixed)
    layout = encoder.layout_
    assert isinstance(layout, Layout)
    position = 0
    for span in layout:
        assert span.start == position and span.stop > span.start
        position = span.stop
    assert position == layout.n_features
    names = encoder.get_feature_names_out()
    assert len(names) == layout.n_features and len(set(names)) == len(names)
    for span in layout:
        for name in names[span.start : span.stop]:
            assert name.startswith(f"{span.column}.")
    assert layout.columns == tuple(mixed.columns)
    Z = encoder.transform(mixed)
    for span in layout.select(activation="softmax"):
        np.testing.assert_array_equal(Z[:, span.start : span.stop].sum(axis=1), 1.0)
    for span in layout.select(activation="tanh"):
        assert np.all(np.abs(Z[:, span.start]) <= 1.0)
    for span in layout.select(activation="code"):
        codes = Z[:, span.start]
        assert np.all((codes >= 0) & (codes < span.n_categories))
        assert np.array_equal(codes, np.round(codes))


def test_feature_names_out_example():
    df = pd.DataFrame({"age": [23.0, 35.0, np.nan, 41.0], "sex": ["F", "M", "F", None]})
    encoder = TabularEncoder(continuous="minmax").fit(df)
    assert encoder.get_feature_names_out().tolist() == [
        "age.value",
        "age.observed",
        "age.missing",
        "sex.category_F",
        "sex.category_M",
        "sex.missing",
    ]
    encoder = TabularEncoder(random_state=0).fit(df)
    names = encoder.get_feature_names_out().tolist()
    assert names[0] == "age.value" and names[1] == "age.mode_0"
    encoder = TabularEncoder(categorical="ordinal").fit(df)
    assert encoder.get_feature_names_out().tolist()[-1] == "sex.code"
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    names = TabularEncoder(continuous="minmax").fit(X).get_feature_names_out()
    assert names.tolist() == ["x0.value", "x1.value"]


def test_mode_specific_layout(adult):
    encoder = TabularEncoder(random_state=0).fit(adult)
    value, mode = encoder.layout_.spans_for("age")
    assert (value.activation, value.role, value.width) == ("tanh", "value", 1)
    assert (mode.activation, mode.role) == ("softmax", "mode")
    assert mode.width == mode.n_categories == len(encoder.schema_[0].extra["means"])
    quantile = TabularEncoder(continuous="quantile").fit(adult)
    (span,) = quantile.layout_.spans_for("age")
    assert (span.activation, span.role) == ("linear", "value")


# --------------------------------------------------------------------------
# Mode assignment and determinism
# --------------------------------------------------------------------------


def test_transform_deterministic_with_int_random_state(adult):
    encoder = TabularEncoder(random_state=0).fit(adult)
    np.testing.assert_array_equal(encoder.transform(adult), encoder.transform(adult))
    refit = TabularEncoder(random_state=0).fit(adult)
    np.testing.assert_array_equal(encoder.transform(adult), refit.transform(adult))
    # An explicit generator advances: two draws differ, same seed agrees.
    rng = np.random.RandomState(3)
    first = encoder.encode(adult, random_state=rng)
    second = encoder.encode(adult, random_state=rng)
    assert not np.array_equal(first, second)
    again = encoder.encode(adult, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(first, again)
    # numpy Generators are accepted too.
    g1 = encoder.encode(adult, random_state=np.random.default_rng(5))
    g2 = encoder.encode(adult, random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(g1, g2)


def test_argmax_and_sample_assignment(adult):
    encoder = TabularEncoder(mode_assignment="argmax", random_state=0).fit(adult)
    argmax = encoder.transform(adult)
    np.testing.assert_array_equal(
        argmax, encoder.encode(adult, mode_assignment="argmax")
    )
    sampled = encoder.encode(adult, mode_assignment="sample", random_state=0)
    mode_columns = encoder.layout_.index_array(role="mode")
    assert not np.array_equal(argmax[:, mode_columns], sampled[:, mode_columns])
    # Both decode to the same table.
    pd.testing.assert_frame_equal(
        encoder.inverse_transform(argmax), encoder.inverse_transform(sampled)
    )
    with pytest.raises(ValueError, match="mode_assignment"):
        encoder.encode(adult, mode_assignment="mean")


def test_sampled_modes_follow_posterior():
    rng = np.random.RandomState(0)
    x = np.concatenate([rng.normal(0, 1, 3000), rng.normal(3, 1, 3000)])[:, None]
    encoder = TabularEncoder(max_modes=2, weight_threshold=0.0, random_state=0).fit(x)
    extra = encoder.schema_[0].extra
    means, stds, weights = extra["means"], extra["stds"], extra["weights"]
    point = np.full((20000, 1), means.mean())  # between the two modes
    Z = encoder.encode(point, mode_assignment="sample", random_state=0)
    density = weights / stds * np.exp(-0.5 * ((point[0, 0] - means) / stds) ** 2)
    expected = density / density.sum()
    observed = Z[:, 1:3].mean(axis=0)
    np.testing.assert_allclose(observed, expected, atol=0.02)


# --------------------------------------------------------------------------
# inverse_transform on network-like output
# --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_inverse_transform_logits_bounds_rounding(mixed, strategy):
    encoder = TabularEncoder(continuous=strategy, random_state=0).fit(mixed)
    rng = np.random.RandomState(0)
    Z = rng.normal(scale=3.0, size=(500, encoder.layout_.n_features))
    decoded = encoder.inverse_transform(Z)
    assert list(decoded.dtypes) == list(mixed.dtypes)
    schema = {c.name: c for c in encoder.schema_}
    f = decoded["f"].dropna()
    assert f.between(schema["f"].min, schema["f"].max).all()
    np.testing.assert_array_equal(f, f.round(3))
    assert decoded["I"].dropna().between(1, 8).all()
    assert set(decoded["c"].dropna()) <= {"x", "y", "z"}
    assert set(decoded["o"].dropna()) <= {"a", 1, 2.5, "q"}
    d = decoded["d"].dropna()
    assert d.between(mixed["d"].min(), mixed["d"].max()).all()
    assert schema["d"].extra["resolution_ns"] == 3600 * 10**9  # Paris midnights
    assert (d.dt.floor("h") == d).all()
    # Missing values appear, with the column's own marker.
    assert (
        decoded["s"].isna().any() and decoded["s"].dropna().isin(["a", "b", "c"]).all()
    )
    assert decoded["o"].isna().any()
    assert all(v is None for v in decoded["o"][decoded["o"].isna()])


def test_inverse_transform_non_finite(mixed):
    encoder = TabularEncoder(random_state=0).fit(mixed)
    Z = encoder.transform(mixed)
    Z[0, :] = np.nan
    Z[1, :] = np.inf
    Z[2, :] = -np.inf
    before = Z.copy()
    decoded = encoder.inverse_transform(Z)
    assert list(decoded.dtypes) == list(mixed.dtypes)
    np.testing.assert_array_equal(Z, before)
    f = decoded["f"].dropna()
    assert f.between(0.5, 7.125).all()


@pytest.mark.parametrize("categorical", ["onehot", "ordinal"])
def test_inverse_transform_zero_rows(mixed, categorical):
    encoder = TabularEncoder(categorical=categorical, random_state=0).fit(mixed)
    empty = encoder.inverse_transform(np.zeros((0, encoder.layout_.n_features)))
    assert empty.shape == (0, mixed.shape[1])
    assert list(empty.dtypes) == list(mixed.dtypes)


def test_inverse_transform_noisy_codes():
    df = pd.DataFrame({"c": list("abcab")})
    encoder = TabularEncoder(categorical="ordinal").fit(df)
    (span,) = encoder.layout_
    assert (span.activation, span.width, span.n_categories) == ("code", 1, 3)
    decoded = encoder.inverse_transform(np.array([[-3.0], [0.4], [1.6], [2.2], [9.0]]))
    assert decoded["c"].tolist() == ["a", "a", "c", "c", "c"]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_unknown_category_names_column_and_value(mixed):
    encoder = TabularEncoder(random_state=0).fit(mixed)
    bad = mixed.copy()
    bad["s"] = pd.array(["a", "zebra"] + [None] * 6, dtype="string")
    with pytest.raises(ValueError, match=r"Column 's'.*zebra"):
        encoder.transform(bad)


def test_missing_value_not_seen_at_fit():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    encoder = TabularEncoder(continuous="minmax").fit(df)
    with pytest.raises(ValueError, match="Column 'x'.*missing"):
        encoder.transform(pd.DataFrame({"x": [np.nan, 2.0], "c": ["a", "b"]}))
    with pytest.raises(ValueError, match="Column 'c'.*missing"):
        encoder.transform(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", None]}))


def test_column_errors(mixed):
    encoder = TabularEncoder(random_state=0).fit(mixed)
    with pytest.raises(ValueError, match="'s'"):
        encoder.transform(mixed.drop(columns="s"))
    with pytest.raises(ValueError, match="order"):
        encoder.transform(mixed[list(mixed.columns[::-1])])
    X = np.random.RandomState(0).normal(size=(10, 3))
    array_encoder = TabularEncoder(continuous="minmax").fit(X)
    with pytest.raises(ValueError, match="2 features.*expecting 3"):
        array_encoder.transform(X[:, :2])
    with pytest.raises(ValueError, match="shape"):
        array_encoder.inverse_transform(np.zeros((4, 2)))


def test_integer_column_labels_order_error():
    df = pd.DataFrame({0: [1.0, 2.0], 5: ["a", "b"]})
    encoder = TabularEncoder(continuous="minmax").fit(df)
    with pytest.raises(ValueError, match="order"):
        encoder.transform(df[[5, 0]])
    with pytest.raises(ValueError, match=r"missing column\(s\) \[5\]"):
        encoder.transform(df[[0]])


def test_input_validation_errors():
    with pytest.raises(ValueError, match="2D"):
        TabularEncoder().fit(np.arange(5.0))
    with pytest.raises(ValueError, match="1 sample"):
        TabularEncoder().fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="0 feature"):
        TabularEncoder().fit(np.ones((3, 0)))
    with pytest.raises(ValueError, match="unique"):
        TabularEncoder().fit(pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"]))
    with pytest.raises(ValueError, match="infinity"):
        TabularEncoder().fit(pd.DataFrame({"x": [1.0, np.inf]}))
    with pytest.raises(ValueError, match="continuous"):
        TabularEncoder(continuous="log").fit(np.ones((3, 1)))


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TabularEncoder().transform(np.ones((3, 1)))


# --------------------------------------------------------------------------
# Mixture, persistence, sklearn API
# --------------------------------------------------------------------------


def test_batched_mixture_matches_sklearn():
    rng = np.random.RandomState(0)
    x = np.concatenate(
        [rng.normal(-4, 0.5, 1500), rng.normal(1, 1.0, 3000), rng.normal(6, 0.3, 500)]
    )
    ((weights, means, stds),), n_iter = fit_dpgmm_1d(
        [x], random_state=0, return_n_iter=True
    )
    assert 1 <= n_iter <= 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = BayesianGaussianMixture(
            n_components=10,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3,
            random_state=0,
        ).fit(x[:, None])

    def mean_log_likelihood(w, m, sd):
        z = (x[:, None] - m) / sd
        dens = (w / (sd * np.sqrt(2 * np.pi)) * np.exp(-0.5 * z * z)).sum(axis=1)
        return np.log(dens).mean()

    ours = mean_log_likelihood(weights, means, stds)
    ref = mean_log_likelihood(
        reference.weights_,
        reference.means_[:, 0],
        np.sqrt(reference.covariances_[:, 0, 0]),
    )
    assert abs(ours - ref) < 0.01
    # The two outer clusters get the same component as scikit-learn's fit.
    ref_stds = np.sqrt(reference.covariances_[:, 0, 0])
    for target in (-4, 6):
        k = np.argmin(np.abs(means - target))
        r = np.argmin(np.abs(reference.means_[:, 0] - target))
        assert abs(means[k] - reference.means_[r, 0]) < 0.01
        assert abs(weights[k] - reference.weights_[r]) < 0.005
        assert abs(stds[k] - ref_stds[r]) < 0.01


def test_several_columns_fit_together_like_alone():
    rng = np.random.RandomState(0)
    a, b = rng.normal(0, 1, 500), rng.exponential(2.0, 300)
    together = fit_dpgmm_1d([a, b], random_state=0)
    alone = fit_dpgmm_1d([b], random_state=0)[0]
    assert len(together) == 2
    assert together[1][0].shape == alone[0].shape == (10,)


def test_gmm_subsample_parameter(adult):
    small = TabularEncoder(gmm_max_samples=200, random_state=0).fit(adult)
    decoded = small.inverse_transform(small.transform(adult))
    assert_round_trip(adult, decoded, "mode_specific")  # coverage keeps it exact


def test_pickle_round_trip(mixed):
    encoder = TabularEncoder(random_state=0).fit(mixed)
    clone = pickle.loads(pickle.dumps(encoder))
    np.testing.assert_array_equal(clone.transform(mixed), encoder.transform(mixed))


def test_tags():
    tags = TabularEncoder().__sklearn_tags__()
    assert tags.input_tags.allow_nan and tags.input_tags.string
    assert tags.input_tags.categorical
    assert tags.transformer_tags.preserves_dtype == []


@parametrize_with_checks(
    [
        TabularEncoder(continuous="minmax", mode_assignment="argmax", random_state=0),
        TabularEncoder(random_state=0),
    ],
    # Every sklearn check passes for both configurations; nothing is expected to fail.
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
