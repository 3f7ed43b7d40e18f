"""Per-column schema: what kind of values a column holds and how to restore them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = ["ColumnSchema", "KINDS", "infer_schema"]

#: Column kinds the encoder knows.
KINDS = ("continuous", "integer", "categorical", "boolean", "datetime")


@dataclass
class ColumnSchema:
    """What the encoder learned about one column.

    Parameters
    ----------
    name : hashable
        Column label: the DataFrame column name, or the integer position for arrays.
    kind : {"continuous", "integer", "categorical", "boolean", "datetime"}
        How the column is modelled. A column with no observed value (all
        missing) is categorical with no categories, so it decodes all-missing.
    dtype : object
        The original dtype (numpy or pandas extension dtype), restored on decode.
    categories : list or None
        Values of a categorical / boolean column in code order; missing values are
        not listed (see ``has_missing``).
    min, max : float or None
        Observed bounds of a numeric or datetime column (datetimes as int64 ns).
    decimals : int or None
        Decimal places every observed value of a float column fits in; decoded
        values are rounded to it. ``None`` means no rounding.
    has_missing : bool
        Whether the column had missing values at fit.
    missing_value : object
        The marker to write back for a missing cell (``np.nan``, ``pd.NA``,
        ``pd.NaT``, ``None``).
    n_missing : int
        Number of missing cells at fit.
    extra : dict
        Learned encoding parameters. Datetime columns: ``"resolution_ns"`` (the
        coarsest unit every value is a multiple of; decoded values are rounded to
        it). Numeric and datetime columns: ``"strategy"`` and ``"fill_value"`` (what
        a missing cell is encoded as); ``"means"``, ``"stds"``, ``"weights"``,
        ``"log_weights"`` of the kept modes (mode-specific); ``"quantiles"`` and
        ``"references"`` (quantile). Datetimes are handled as nanoseconds after
        ``min``.
    """

    name: Any
    kind: str
    dtype: Any
    categories: list | None = None
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    has_missing: bool = False
    missing_value: Any = None
    n_missing: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def is_discrete(self) -> bool:
        """Whether the column is categorical or boolean."""
        return self.kind in ("categorical", "boolean")


# ---------------------------------------------------------------------------
# Schema inference and the conversions between a column and its numbers.
# Everything below works on whole columns (vectorised); no loop over rows.
# ---------------------------------------------------------------------------


#: Largest number of decimals looked for when learning a float column's rounding.
MAX_DECIMALS = 14

#: Datetime resolutions tried, coarsest first, in nanoseconds.
_DATETIME_RESOLUTIONS_NS = (
    86_400 * 10**9,
    3_600 * 10**9,
    60 * 10**9,
    10**9,
    10**6,
    10**3,
    1,
)


def _is_object(dtype):
    """Whether ``dtype`` is numpy's object dtype (not an extension dtype)."""
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _default_missing_value(dtype):
    """The marker pandas itself uses for a missing cell of ``dtype``."""
    if isinstance(dtype, pd.CategoricalDtype):
        return np.nan
    if ptypes.is_datetime64_any_dtype(dtype):
        return pd.NaT
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return dtype.na_value
    if _is_object(dtype):
        return None
    return np.nan


def _infer_kind(series, force_discrete):
    dtype = series.dtype
    if force_discrete or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if len(series) and series.isna().all():
        # Nothing observed: a category-less column whose only state is "missing",
        # so it decodes all-missing (in its own dtype) whatever its dtype.
        return "categorical"
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_complex_dtype(dtype):
        raise ValueError(f"Complex data not supported (column {series.name!r}).")
    if ptypes.is_timedelta64_dtype(dtype):
        raise TypeError(
            f"Column {series.name!r} has dtype {dtype}, which TabularEncoder does not "
            "support; convert it to a number or list it in discrete_columns."
        )
    if ptypes.is_integer_dtype(dtype):
        return "integer"
    if ptypes.is_float_dtype(dtype):
        return "continuous"
    if _is_object(dtype):
        # Plain objects: booleans and numbers keep their kind; the rest is categorical.
        inferred = ptypes.infer_dtype(series, skipna=True)
        if inferred == "boolean":
            return "boolean"
        if inferred == "integer":
            return "integer"
        if inferred in ("floating", "mixed-integer-float"):
            return "continuous"
    return "categorical"


def _factorize_categories(observed):
    """Distinct observed values, sorted if they compare, else in order of appearance."""
    try:
        _, uniques = pd.factorize(observed, sort=True)
    except TypeError:  # mixed types that do not compare
        _, uniques = pd.factorize(observed, sort=False)
    return list(np.asarray(uniques, dtype=object))


def _learn_decimals(values):
    """Smallest number of decimals that every finite value is written with."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    for decimals in range(MAX_DECIMALS + 1):
        if np.array_equal(np.round(values, decimals), values):
            return decimals
    return None


def _datetime_ns(series):
    """int64 nanoseconds since the epoch (UTC for tz-aware columns) and the NaT mask."""
    index = pd.DatetimeIndex(series)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    mask = np.asarray(index.isna())
    return index.as_unit("ns").asi8.copy(), mask


def infer_schema(frame, discrete_columns=()):
    """Learn one :class:`ColumnSchema` per column of a DataFrame.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; it is not modified.
    discrete_columns : collection, default=()
        Column labels to model as categorical whatever their dtype.

    Returns
    -------
    schema : list of ColumnSchema
        In column order. ``extra`` is left empty for the encoder to fill.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_gen.preprocessing._schema import infer_schema
    >>> df = pd.DataFrame({"x": [1.5, None, 2.25], "c": ["a", "b", "a"]})
    >>> [(s.name, s.kind, s.decimals, s.has_missing) for s in infer_schema(df)]
    [('x', 'continuous', 2, True), ('c', 'categorical', None, False)]
    """
    discrete_columns = set(discrete_columns or ())
    schema = []
    for name in frame.columns:
        series = frame[name]
        kind = _infer_kind(series, name in discrete_columns)
        mask = np.asarray(series.isna())
        n_missing = int(mask.sum())
        missing_value = _default_missing_value(series.dtype)
        if n_missing and _is_object(series.dtype):
            missing_value = series[mask].iloc[0]  # keep the user's marker (None, nan…)
        column = ColumnSchema(
            name=name,
            kind=kind,
            dtype=series.dtype,
            has_missing=n_missing > 0,
            missing_value=missing_value,
            n_missing=n_missing,
        )
        if kind in ("categorical", "boolean"):
            if isinstance(series.dtype, pd.CategoricalDtype):
                column.categories = list(series.dtype.categories)
            else:
                column.categories = _factorize_categories(
                    series.to_numpy(dtype=object)[~mask]
                )
        elif kind == "datetime":
            ns, _ = _datetime_ns(series)
            observed = ns[~mask]
            if observed.size:
                column.min, column.max = int(observed.min()), int(observed.max())
                resolution = next(
                    r for r in _DATETIME_RESOLUTIONS_NS if not np.any(observed % r)
                )
            else:
                column.min = column.max = 0
                resolution = 1
            column.extra["resolution_ns"] = int(resolution)
        else:
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            observed = values[~mask]
            if observed.size and not np.all(np.isfinite(observed)):
                raise ValueError(
                    f"Column {name!r} contains infinity; TabularEncoder needs finite "
                    "values or missing values."
                )
            if observed.size:
                column.min, column.max = float(observed.min()), float(observed.max())
            else:
                column.min = column.max = 0.0
            column.decimals = 0 if kind == "integer" else _learn_decimals(observed)
        schema.append(column)
    return schema


def column_to_numeric(series, column):
    """A numeric or datetime column as float64 with NaN for missing cells.

    Datetimes become nanoseconds after ``column.min`` (so float64 keeps their
    precision); numbers are returned as they are.
    """
    if column.kind == "datetime":
        ns, mask = _datetime_ns(series)
        values = (ns - np.int64(column.min)).astype(np.float64)
        values[mask] = np.nan
        return values
    if _is_object(series.dtype):
        values = series.to_numpy(dtype=object, na_value=np.nan)
        try:
            return values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Column {column.name!r} was numeric at fit but holds non-numeric "
                f"values now ({exc}); convert them to numbers or missing values."
            ) from None
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def numeric_to_column(values, missing, column):
    """Inverse of :func:`column_to_numeric`: clip, round and restore the dtype.

    Parameters
    ----------
    values : ndarray of float64
        Decoded numbers (datetimes as nanoseconds after ``column.min``).
    missing : ndarray of bool
        Cells to set to the column's missing marker.
    column : ColumnSchema

    Returns
    -------
    array : ndarray or pandas ExtensionArray of the column's dtype
    """
    dtype = column.dtype
    if column.kind == "datetime":
        span = float(column.max - column.min)
        values = np.clip(values, 0.0, span)
        resolution = column.extra.get("resolution_ns", 1)
        ticks = np.rint(values / resolution).astype(np.int64) * resolution
        ns = ticks + np.int64(column.min)
        stamps = ns.view("datetime64[ns]").copy()
        stamps[missing] = np.datetime64("NaT")
        index = pd.DatetimeIndex(stamps)
        tz = getattr(dtype, "tz", None)
        if tz is not None:
            index = index.tz_localize("UTC").tz_convert(tz)
        unit = getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]
        return index.as_unit(unit).array if unit != "ns" else index.array

    values = np.clip(values, column.min, column.max)
    if column.kind == "integer":
        values = np.rint(values)
    elif column.decimals is not None:
        values = np.round(values, column.decimals)

    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        if numpy_dtype is not None and hasattr(dtype, "construct_array_type"):
            try:  # masked arrays (Int64, Float64, …): values + mask
                return dtype.construct_array_type()(
                    values.astype(numpy_dtype), missing.copy()
                )
            except TypeError:
                pass
        result = values.astype(object)
        result[missing] = column.missing_value
        return pd.array(result, dtype=dtype)
    if _is_object(dtype):
        if column.kind == "integer":
            result = values.astype(np.int64).astype(object)
        else:
            result = values.astype(object)
        result[missing] = column.missing_value
        return result
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(values, info.min, info.max).astype(dtype)
    result = values.astype(dtype)
    result[missing] = np.nan
    return result


def column_to_codes(series, column, categories_index=None):
    """Category codes ``0..K-1`` of a discrete column; missing cells get code ``K``.

    Raises
    ------
    ValueError
        On a value not seen at fit, or a missing value when the column had none.
    """
    n_categories = len(column.categories)
    mask = np.asarray(series.isna())
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) and dtype == column.dtype:
        codes = series.cat.codes.to_numpy().astype(np.intp)
    else:
        if categories_index is None:
            categories_index = pd.Index(column.categories, dtype=object)
        values = series.to_numpy(dtype=object)
        try:
            codes = categories_index.get_indexer(values)
        except TypeError as exc:
            raise ValueError(
                f"Column {column.name!r} holds values that cannot be compared with its "
                f"categories: {exc}"
            ) from None
        unknown = (codes < 0) & ~mask
        if unknown.any():
            examples = pd.unique(values[unknown])[:5].tolist()
            if not n_categories:
                raise ValueError(
                    f"Column {column.name!r} was entirely missing during fit, so it "
                    f"can only hold missing values; got {examples}. Refit on data "
                    "where the column has values."
                )
            raise ValueError(
                f"Column {column.name!r} has {int(unknown.sum())} value(s) not seen "
                f"during fit, e.g. {examples}; known categories: "
                f"{column.categories[:10]}{'…' if n_categories > 10 else ''}. Refit "
                "on data that includes them, or map them to known categories."
            )
    if mask.any():
        if not column.has_missing:
            raise ValueError(
                f"Column {column.name!r} has {int(mask.sum())} missing value(s), but "
                "had none during fit. Fill them in, or refit on data with missing "
                "values in this column."
            )
        codes = codes.copy()
        codes[mask] = n_categories
    return codes


def codes_to_column(codes, column):
    """Inverse of :func:`column_to_codes`: values of the column's dtype."""
    dtype = column.dtype
    n_categories = len(column.categories)
    missing = codes >= n_categories
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(np.where(missing, -1, codes), dtype=dtype)
    lookup = np.empty(n_categories + 1, dtype=object)
    lookup[:n_categories] = column.categories
    lookup[n_categories] = column.missing_value
    values = lookup[codes]
    if _is_object(dtype):
        return values
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        if numpy_dtype is not None and hasattr(dtype, "construct_array_type"):
            try:  # masked arrays (boolean, Int64, …)
                filled = values.copy()
                filled[missing] = lookup[0] if n_categories else 0
                return dtype.construct_array_type()(
                    filled.astype(numpy_dtype), missing.copy()
                )
            except (TypeError, ValueError):
                pass
        values = values.copy()
        values[missing] = None
        return pd.array(values, dtype=dtype)
    if missing.any() and np.issubdtype(dtype, np.floating):
        values = values.copy()
        values[missing] = np.nan
    if dtype.kind in "mM":  # numpy cannot cast an object NaT: let pandas do it
        values = values.copy()
        values[missing] = None
        return pd.array(values, dtype=dtype)
    return values.astype(dtype)
