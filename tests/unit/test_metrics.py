"""Tests for sklearn_gen.metrics: quality_score and build_metadata, on real data."""

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.datasets import load_adult
from sklearn_gen.metrics import build_metadata, quality_score
from sklearn_gen.metrics._quality import _infer_sdtypes
from sklearn_gen.preprocessing import ColumnSchema


@pytest.fixture(scope="module")
def adult():
    """A 3,000-row slice of Adult: enough for stable scores, fast to score."""
    return load_adult().iloc[:3000].reset_index(drop=True)


def _shuffle_columns(df, seed=0):
    """Each column permuted on its own: same marginals, no dependence."""
    rng = np.random.RandomState(seed)
    return df.apply(lambda column: rng.permutation(column.to_numpy()))


def test_identical_tables_score_one(adult):
    assert quality_score(adult, adult) == pytest.approx(1.0)
    # Row order does not matter.
    assert quality_score(adult, adult.iloc[::-1]) == pytest.approx(1.0)


def test_shuffled_columns_lose_pair_trends(adult):
    shuffled = _shuffle_columns(adult)
    score, report = quality_score(adult, shuffled, return_report=True)
    properties = report.get_properties().set_index("Property")["Score"]
    # The marginals are untouched, the dependence between columns is gone.
    assert properties["Column Shapes"] == pytest.approx(1.0)
    assert properties["Column Pair Trends"] < 0.9
    assert 0.5 < score < 0.95


def test_independent_columns_score_lower_than_shuffled(adult):
    rng = np.random.RandomState(0)
    independent = pd.DataFrame(
        {
            name: (
                rng.uniform(column.min(), column.max(), len(column)).round()
                if column.dtype.kind in "iuf"
                else rng.choice(column.unique(), len(column))
            )
            for name, column in adult.items()
        }
    )
    shuffled_score = quality_score(adult, _shuffle_columns(adult))
    independent_score = quality_score(adult, independent)
    assert independent_score < shuffled_score
    assert independent_score < 0.8


def test_score_is_deterministic(adult):
    synthetic = _shuffle_columns(adult, seed=1)
    assert quality_score(adult, synthetic) == quality_score(adult, synthetic)


def test_ndarray_inputs(adult):
    real = load_adult(as_frame=False)[:3000]  # object array, as a user may pass
    assert real.dtype == object
    assert quality_score(real, real) == pytest.approx(1.0)
    # Numbers in an object array are scored as numbers, like the DataFrame.
    shuffled = _shuffle_columns(adult)
    expected = quality_score(adult, shuffled)
    assert quality_score(real, shuffled.to_numpy(dtype=object)) == pytest.approx(
        expected
    )
    # A DataFrame against an array: the array takes the DataFrame's columns.
    assert quality_score(adult, shuffled.to_numpy()) == pytest.approx(expected)


def test_numeric_ndarray_with_schema():
    rng = np.random.RandomState(0)
    real = rng.normal(size=(400, 3))
    schema = [ColumnSchema(i, "continuous", np.dtype("float64")) for i in range(3)]
    assert quality_score(real, real, schema=schema) == pytest.approx(1.0)
    shifted = quality_score(real, real + 3.0, schema=schema)
    assert shifted < 0.6


def test_columns_in_another_order_are_matched(adult):
    assert quality_score(adult, adult[adult.columns[::-1]]) == pytest.approx(1.0)


def test_different_columns_raise_naming_them(adult):
    synthetic = adult.drop(columns=["age"]).rename(columns={"sex": "gender"})
    with pytest.raises(ValueError, match="same columns") as excinfo:
        quality_score(adult, synthetic)
    message = str(excinfo.value)
    assert "'age'" in message and "'sex'" in message and "'gender'" in message


def test_array_of_wrong_width_raises(adult):
    with pytest.raises(ValueError, match="same columns"):
        quality_score(adult, adult.to_numpy()[:, :5])


def test_empty_and_duplicated_inputs_raise(adult):
    with pytest.raises(ValueError, match="synthetic has no rows"):
        quality_score(adult, adult.iloc[:0])
    duplicated = pd.concat([adult[["age"]], adult[["age"]]], axis=1)
    with pytest.raises(ValueError, match="duplicated column names"):
        quality_score(duplicated, duplicated)


def test_schema_must_describe_the_columns(adult):
    schema = [ColumnSchema("age", "integer", np.dtype("int64"))]
    with pytest.raises(ValueError, match="data columns not in the schema"):
        quality_score(adult, adult, schema=schema)


def test_build_metadata_maps_kinds_and_names():
    schema = [
        ColumnSchema("a", "continuous", np.dtype("float64")),
        ColumnSchema("b", "integer", pd.Int64Dtype()),
        ColumnSchema("c", "categorical", np.dtype("object")),
        ColumnSchema("d", "boolean", pd.BooleanDtype()),
        ColumnSchema("e", "datetime", np.dtype("datetime64[ns]")),
        ColumnSchema(3, "continuous", np.dtype("float64")),
    ]
    assert build_metadata(schema) == {
        "columns": {
            "a": {"sdtype": "numerical"},
            "b": {"sdtype": "numerical"},
            "c": {"sdtype": "categorical"},
            "d": {"sdtype": "boolean"},
            "e": {"sdtype": "datetime"},
            "3": {"sdtype": "numerical"},
        }
    }


def test_build_metadata_datetime_strings_get_a_format():
    data = pd.DataFrame({"when": ["2019-03-01 10:00:00", "2019-03-02 11:30:00"]})
    schema = [ColumnSchema("when", "datetime", np.dtype("object"))]
    assert build_metadata(schema, data=data) == {
        "columns": {
            "when": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d %H:%M:%S"}
        }
    }


def test_build_metadata_rejects_unknown_kind_and_colliding_names():
    with pytest.raises(ValueError, match="unknown kind"):
        build_metadata([ColumnSchema("a", "text", np.dtype("object"))])
    with pytest.raises(ValueError, match="distinct string column names"):
        build_metadata(
            [
                ColumnSchema(1, "continuous", np.dtype("float64")),
                ColumnSchema("1", "continuous", np.dtype("float64")),
            ]
        )


def test_infer_sdtypes_from_pandas_dtypes():
    n = 50
    df = pd.DataFrame(
        {
            "f": np.linspace(0, 1, n),
            "i": pd.array(range(n), dtype="Int64"),
            "b": np.arange(n) % 2 == 0,
            "s": pd.array(["x", "y"] * (n // 2), dtype="string"),
            "c": pd.Categorical(["u", "v"] * (n // 2)),
            "t": pd.date_range("2020-01-01", periods=n, tz="UTC"),
            "ts": pd.date_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
        }
    )
    assert _infer_sdtypes(df) == {
        "f": {"sdtype": "numerical"},
        "i": {"sdtype": "numerical"},
        "b": {"sdtype": "boolean"},
        "s": {"sdtype": "categorical"},
        "c": {"sdtype": "categorical"},
        "t": {"sdtype": "datetime"},
        "ts": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
    }


def test_mixed_dtypes_with_missing_values_score():
    """Nullable dtypes, NaN, tz-aware datetimes and date strings are all scored."""
    rng = np.random.RandomState(0)
    n = 400
    hours = pd.to_timedelta(rng.randint(0, 2000, n), unit="h")
    df = pd.DataFrame(
        {
            "i": pd.array(
                np.where(rng.rand(n) < 0.1, None, rng.randint(0, 9, n)), "Int64"
            ),
            "b": pd.array(
                np.where(rng.rand(n) < 0.1, None, rng.rand(n) < 0.5), "boolean"
            ),
            "f": np.where(rng.rand(n) < 0.1, np.nan, rng.normal(size=n)),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "t": (pd.Timestamp("2020-01-01") + hours).tz_localize("Europe/Paris"),
            "ts": (pd.Timestamp("2020-01-01") + hours).strftime("%Y-%m-%d %H:%M:%S"),
        }
    )
    assert quality_score(df, df) == pytest.approx(1.0)
    score = quality_score(
        df, df.apply(lambda c: c.sample(frac=1, random_state=1).to_numpy())
    )
    assert 0.0 <= score <= 1.0
