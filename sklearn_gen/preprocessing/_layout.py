"""The column layout of an encoded table.

A :class:`TabularEncoder` turns a table into a float matrix. The networks need to
know which output units belong together and which activation and loss each group
takes: a :class:`Layout` is that map, a tuple of :class:`Span` objects in column
order. It is plain data (no torch), so every layer can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Span", "Layout", "ACTIVATIONS", "ROLES"]

#: Activations a span can ask for.
#:
#: ``"tanh"``: one bounded scalar in [-1, 1]; ``"linear"``: one unbounded scalar
#: (e.g. a quantile-normal value); ``"softmax"``: a one-hot block, decoded by argmax;
#: ``"code"``: one integer category code in ``[0, n_categories)`` stored as a float,
#: for networks with embedding layers (the network outputs ``n_categories`` logits).
ACTIVATIONS = ("tanh", "linear", "softmax", "code")

#: What a span holds. ``"value"``: a continuous value; ``"mode"``: the one-hot mode
#: of a mode-specific normalised value; ``"category"``: a categorical / boolean
#: value; ``"missing"``: a two-unit block ``[observed, missing]``.
ROLES = ("value", "mode", "category", "missing")


@dataclass(frozen=True)
class Span:
    """A contiguous block of encoded units that belongs to one original column.

    Parameters
    ----------
    column : str
        Name of the original column.
    start, stop : int
        Slice of the encoded matrix, ``X_encoded[:, start:stop]``.
    activation : {"tanh", "linear", "softmax", "code"}
        Output activation the network must apply to these units.
    role : {"value", "mode", "category", "missing"}
        What the units hold.
    n_categories : int or None, default=None
        Number of classes for ``"softmax"`` and ``"code"`` spans.

    Examples
    --------
    >>> from sklearn_gen.preprocessing import Span
    >>> s = Span("age", 0, 1, "tanh", "value")
    >>> s.width
    1
    """

    column: str
    start: int
    stop: int
    activation: str
    role: str
    n_categories: int | None = None

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"Span activation must be one of {ACTIVATIONS}, got {self.activation!r}."
            )
        if self.role not in ROLES:
            raise ValueError(f"Span role must be one of {ROLES}, got {self.role!r}.")

    @property
    def width(self) -> int:
        """Number of encoded units (columns of the encoded matrix)."""
        return self.stop - self.start

    @property
    def output_width(self) -> int:
        """Number of network output units: ``n_categories`` logits for a code span."""
        if self.activation == "code":
            return int(self.n_categories)
        return self.width

    @property
    def is_discrete(self) -> bool:
        """Whether the span holds a class (softmax block or code)."""
        return self.activation in ("softmax", "code")


class Layout:
    """Ordered spans covering every column of an encoded matrix.

    Parameters
    ----------
    spans : sequence of Span
        Contiguous, in order, starting at 0.

    Examples
    --------
    >>> from sklearn_gen.preprocessing import Layout, Span
    >>> layout = Layout([Span("age", 0, 1, "tanh", "value"),
    ...                  Span("age", 1, 4, "softmax", "mode", 3)])
    >>> layout.n_features, layout.columns
    (4, ('age',))
    """

    def __init__(self, spans):
        spans = tuple(spans)
        position = 0
        for span in spans:
            if span.start != position:
                raise ValueError(
                    f"Spans must be contiguous: span for column {span.column!r} starts "
                    f"at {span.start}, expected {position}."
                )
            position = span.stop
        self.spans = spans
        self.n_features = position

    def __iter__(self):
        return iter(self.spans)

    def __len__(self):
        return len(self.spans)

    def __getitem__(self, index):
        return self.spans[index]

    def __repr__(self):
        return f"Layout(n_features={self.n_features}, n_spans={len(self.spans)})"

    def __eq__(self, other):
        return isinstance(other, Layout) and self.spans == other.spans

    def __hash__(self):
        return hash(self.spans)

    @property
    def columns(self) -> tuple:
        """Original column names, in order, each once."""
        return tuple(dict.fromkeys(span.column for span in self.spans))

    @property
    def output_width(self) -> int:
        """Total number of network output units (code spans count their logits)."""
        return sum(span.output_width for span in self.spans)

    def spans_for(self, column) -> tuple:
        """Spans of one original column.

        Parameters
        ----------
        column : str
            Original column name.

        Returns
        -------
        spans : tuple of Span
        """
        found = tuple(span for span in self.spans if span.column == column)
        if not found:
            raise KeyError(f"Column {column!r} is not in the layout.")
        return found

    def select(self, activation=None, role=None) -> tuple:
        """Spans with the given activation and/or role."""
        return tuple(
            span
            for span in self.spans
            if (activation is None or span.activation == activation)
            and (role is None or span.role == role)
        )

    def output_slices(self):
        """``(span, start, stop)`` in the network's output coordinates.

        Identical to the encoded coordinates unless there are code spans, whose
        output is ``n_categories`` logits instead of one code.
        """
        position = 0
        for span in self.spans:
            yield span, position, position + span.output_width
            position += span.output_width

    def index_array(self, activation=None, role=None) -> np.ndarray:
        """Encoded column indices of the selected spans, concatenated."""
        parts = [
            np.arange(span.start, span.stop)
            for span in self.select(activation=activation, role=role)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
