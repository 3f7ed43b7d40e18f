"""Schema inference and encoding of mixed-type tables for the generators."""

from ._encoder import TabularEncoder
from ._identifiers import IdentifierColumn, detect_identifiers
from ._layout import Layout, Span
from ._schema import ColumnSchema

__all__ = [
    "ColumnSchema",
    "IdentifierColumn",
    "Layout",
    "Span",
    "TabularEncoder",
    "detect_identifiers",
]
