"""Tests for Span and Layout, the column map of an encoded table."""

import numpy as np
import pytest

from sklearn_gen.preprocessing import Layout, Span


@pytest.fixture
def layout():
    return Layout(
        [
            Span("age", 0, 1, "tanh", "value"),
            Span("age", 1, 4, "softmax", "mode", 3),
            Span("age", 4, 6, "softmax", "missing", 2),
            Span("job", 6, 7, "code", "category", 12),
            Span("x", 7, 8, "linear", "value"),
        ]
    )


def test_span_properties():
    span = Span("c", 3, 7, "softmax", "category", 4)
    assert span.width == 4 and span.output_width == 4 and span.is_discrete
    code = Span("c", 0, 1, "code", "category", 50)
    assert code.width == 1 and code.output_width == 50 and code.is_discrete
    value = Span("v", 0, 1, "tanh", "value")
    assert not value.is_discrete and value.n_categories is None


def test_span_is_frozen_and_hashable():
    span = Span("c", 0, 1, "tanh", "value")
    with pytest.raises(AttributeError):
        span.start = 2
    assert span == Span("c", 0, 1, "tanh", "value") and len({span, span}) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(activation="relu", role="value"), "activation"),
        (dict(activation="tanh", role="target"), "role"),
    ],
)
def test_span_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Span("c", 0, 1, **kwargs)


def test_layout_basics(layout):
    assert layout.n_features == 8
    assert len(layout) == 5 and layout[0].column == "age"
    assert [s.column for s in layout] == ["age", "age", "age", "job", "x"]
    assert layout.columns == ("age", "job", "x")
    assert layout.output_width == 1 + 3 + 2 + 12 + 1
    assert "n_features=8" in repr(layout)


def test_layout_equality_and_hash(layout):
    same = Layout(list(layout))
    assert same == layout and hash(same) == hash(layout)
    assert layout != Layout(list(layout)[:2]) and layout != "layout"


def test_layout_must_be_contiguous():
    with pytest.raises(ValueError, match="contiguous.*'b'.*starts at 2, expected 1"):
        Layout([Span("a", 0, 1, "tanh", "value"), Span("b", 2, 3, "tanh", "value")])
    with pytest.raises(ValueError, match="contiguous"):
        Layout([Span("a", 1, 2, "tanh", "value")])
    assert Layout([]).n_features == 0


def test_spans_for_and_select(layout):
    assert [s.role for s in layout.spans_for("age")] == ["value", "mode", "missing"]
    with pytest.raises(KeyError, match="'nope'"):
        layout.spans_for("nope")
    assert [s.column for s in layout.select(activation="softmax")] == ["age", "age"]
    assert [s.column for s in layout.select(role="value")] == ["age", "x"]
    assert layout.select(activation="tanh", role="mode") == ()


def test_output_slices_expand_code_spans(layout):
    slices = [(s.column, s.role, a, b) for s, a, b in layout.output_slices()]
    assert slices == [
        ("age", "value", 0, 1),
        ("age", "mode", 1, 4),
        ("age", "missing", 4, 6),
        ("job", "category", 6, 18),
        ("x", "value", 18, 19),
    ]


def test_index_array(layout):
    np.testing.assert_array_equal(
        layout.index_array(activation="softmax"), [1, 2, 3, 4, 5]
    )
    np.testing.assert_array_equal(layout.index_array(role="value"), [0, 7])
    empty = layout.index_array(role="value", activation="softmax")
    assert empty.size == 0 and empty.dtype == np.intp
