"""Interval conditions in the base class: validation, matching, rejection sampling."""

import numpy as np
import pandas as pd
import pytest

from sklearn_gen import CTGANGenerator, TVAEGenerator
from sklearn_gen.base import (
    _in_intervals,
    _interval_bounds,
    _interval_cells,
    _with_intervals,
)
from sklearn_gen.utils.estimator_checks import make_mixed_frame

from ..conftest import make_generator


@pytest.fixture(scope="module")
def mixed():
    return make_mixed_frame(400)


@pytest.fixture(scope="module")
def tvae(mixed):
    return make_generator(TVAEGenerator, epochs=3).fit(mixed)


def test_tuples_become_closed_intervals_and_interval_dtype_becomes_object():
    values = pd.Series([(1, 2.5), 3.0, None], dtype=object)
    out = _with_intervals(values)
    assert out[0] == pd.Interval(1, 2.5, closed="both") and out[1] == 3.0
    assert values[0] == (1, 2.5)  # the input is left as it was
    assert _interval_cells(out).tolist() == [True, False, False]
    typed = pd.Series(pd.arrays.IntervalArray.from_tuples([(0, 1), (2, 3)]))
    assert _with_intervals(typed).dtype == object
    assert _interval_cells(typed).tolist() == [True, True]
    assert not _interval_cells(pd.Series([1.0, 2.0])).any()


def test_interval_bounds_and_membership_respect_closed_ends():
    intervals = [
        pd.Interval(0, 1, closed="both"),
        pd.Interval(0, 1, closed="neither"),
        pd.Interval(0, 1, closed="left"),
        pd.Interval(0, 1, closed="right"),
    ]
    low, high, cl, ch = _interval_bounds(intervals, "continuous")
    assert cl.tolist() == [True, False, True, False]
    assert ch.tolist() == [True, False, False, True]
    at_zero = _in_intervals(np.zeros(4), low, high, cl, ch)
    at_one = _in_intervals(np.ones(4), low, high, cl, ch)
    assert at_zero.tolist() == [True, False, True, False]
    assert at_one.tolist() == [True, False, False, True]
    assert not _in_intervals(np.array([np.nan]), low[:1], high[:1], cl[:1], ch[:1])[0]
    stamps = [pd.Interval(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02"))]
    low, high, _, _ = _interval_bounds(stamps, "datetime")
    assert high[0] - low[0] == 86_400e9


def test_match_with_interval_targets(tvae, mixed):
    schemas = tvae._columns_by_name()
    rows = mixed.head(50)
    target = {"num": pd.Interval(5.0, 20.0, closed="both"), "city": "Porto"}
    mask = tvae._match(rows, target, schemas)
    expected = rows["num"].between(5.0, 20.0) & (rows["city"] == "Porto")
    assert mask.tolist() == expected.tolist()
    window = pd.Interval(
        pd.Timestamp("2024-03-01"), pd.Timestamp("2024-06-01"), closed="left"
    )
    mask = tvae._match(rows, {"when": window}, schemas)
    assert (
        mask.tolist()
        == ((rows["when"] >= window.left) & (rows["when"] < window.right)).tolist()
    )


def test_rejection_sampling_keeps_rows_inside_intervals(tvae):
    rows = tvae.sample(60, conditions={"num": (0.0, 15.0)}, random_state=0)
    assert len(rows) == 60 and rows["num"].between(0.0, 15.0).all()
    # The sampled values are kept, not overwritten by one exact value.
    assert rows["num"].nunique() > 5
    rows = tvae.sample(
        30,
        conditions={"count": pd.Interval(1, 4, closed="neither"), "city": "Lisbon"},
        random_state=0,
    )
    assert set(rows["count"]) <= {2, 3} and (rows["city"] == "Lisbon").all()
    window = (pd.Timestamp("2024-02-01"), pd.Timestamp("2024-08-01"))
    rows = tvae.sample(20, conditions={"when": window}, random_state=0)
    assert rows["when"].between(*window).all()


def test_per_row_intervals_and_values_mixed_in_one_column(tvae):
    conditions = pd.DataFrame(
        {
            "num": pd.Series(
                [(10.0, 40.0), 12.5, pd.Interval(-10.0, 5.0), 12.5], dtype=object
            )
        }
    )
    rows = tvae.sample(conditions=conditions, random_state=0)
    assert 10.0 <= rows["num"][0] <= 40.0 and -10.0 < rows["num"][2] <= 5.0
    assert rows["num"][1] == 12.5 and rows["num"][3] == 12.5
    assert conditions["num"][0] == (10.0, 40.0)  # the conditions are not modified


def test_ctgan_rejection_handles_intervals_beside_native_categories(mixed):
    gen = make_generator(CTGANGenerator, epochs=2).fit(mixed)
    rows = gen.sample(
        20, conditions={"city": "Faro", "num": (-20.0, 50.0)}, random_state=0
    )
    assert (rows["city"] == "Faro").all() and rows["num"].between(-20.0, 50.0).all()


@pytest.mark.parametrize(
    "conditions, message",
    [
        ({"city": pd.Interval(0, 1)}, "only for numeric"),
        ({"city": ("Faro", "Porto")}, "never seen"),  # a tuple may be a category
        ({"num": (1e6, 2e6)}, "hold no value"),
        ({"count": (1.2, 1.8)}, "integers only"),
        ({"count": pd.Interval(2, 3, closed="neither")}, "integers only"),
        ({"num": (5.0, 1.0)}, "invalid interval for column 'num'"),
        ({"num": ("a", "b")}, "invalid interval for column 'num'"),
        (
            {"when": (pd.Timestamp("2030-01-01"), pd.Timestamp("2031-01-01"))},
            "hold no value",
        ),
    ],
)
def test_bad_intervals_raise_naming_the_column(tvae, conditions, message):
    with pytest.raises(ValueError, match=message):
        tvae.sample(5, conditions=conditions)


def test_open_and_closed_ends_at_the_edge_of_the_range(tvae, mixed):
    top = float(mixed["num"].max())
    with pytest.raises(ValueError, match="hold no value"):
        tvae.sample(5, conditions={"num": pd.Interval(top, top + 5, closed="right")})
    frame = tvae._normalise_conditions(
        3, {"num": pd.Interval(top, top + 5, closed="both")}
    )
    assert frame["num"][0] == pd.Interval(top, top + 5, closed="both")
    assert tvae._normalise_conditions(2, {"count": (-np.inf, 0)})["count"][1].right == 0
