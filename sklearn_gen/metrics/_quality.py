"""SDMetrics quality score with metadata built from our schema."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types as pdt

__all__ = ["quality_score", "build_metadata"]

#: SDMetrics sdtype for each ColumnSchema kind.
_SDTYPES = {
    "continuous": "numerical",
    "integer": "numerical",
    "categorical": "categorical",
    "boolean": "boolean",
    "datetime": "datetime",
}


def _column_key(name):
    """The string SDMetrics sees for a column label."""
    return name if isinstance(name, str) else str(name)


def _string_labels(labels):
    """Map column labels to strings, refusing two labels that collide."""
    mapping = {}
    seen = {}
    for label in labels:
        key = _column_key(label)
        if key in seen and seen[key] is not label and seen[key] != label:
            raise ValueError(
                f"Columns {seen[key]!r} and {label!r} both become {key!r} as strings; "
                "SDMetrics needs distinct string column names. Rename one of them."
            )
        seen[key] = label
        mapping[label] = key
    return mapping


def _guess_datetime_format(values):
    """A strftime format that parses every non-missing string in ``values``, or None."""
    values = pd.Series(values).dropna()
    if len(values) == 0 or not all(isinstance(v, str) for v in values.iloc[:1000]):
        return None
    from pandas.tseries.api import guess_datetime_format

    fmt = guess_datetime_format(str(values.iloc[0]))
    if fmt is None or "%d" not in fmt or "%m" not in fmt and "%b" not in fmt:
        return None
    try:
        pd.to_datetime(values, format=fmt)
    except (ValueError, TypeError):
        return None
    return fmt


def _infer_sdtypes(df):
    """SDMetrics sdtype (and datetime format) of each column, from pandas dtypes.

    Numbers are ``"numerical"``, booleans ``"boolean"``, datetime64 columns
    ``"datetime"``; object, string and category columns are ``"categorical"``,
    unless every value is a date string in one format, which makes them
    ``"datetime"`` with that ``datetime_format``.
    """
    columns = {}
    for name in df.columns:
        column = df[name]
        dtype = column.dtype
        if pdt.is_bool_dtype(dtype):
            meta = {"sdtype": "boolean"}
        elif pdt.is_numeric_dtype(dtype):
            meta = {"sdtype": "numerical"}
        elif pdt.is_datetime64_any_dtype(dtype):
            meta = {"sdtype": "datetime"}
        else:
            meta = {"sdtype": "categorical"}
            if pdt.is_object_dtype(dtype) or pdt.is_string_dtype(dtype):
                fmt = _guess_datetime_format(column)
                if fmt is not None:
                    meta = {"sdtype": "datetime", "datetime_format": fmt}
        columns[name] = meta
    return columns


def build_metadata(schema, data=None):
    """SDMetrics single-table metadata from a list of column schemas.

    Users of sklearn_gen never write SDMetrics metadata: it follows from the
    schema the :class:`~sklearn_gen.preprocessing.TabularEncoder` learned.
    Kinds map to sdtypes as ``continuous``/``integer`` -> ``"numerical"``,
    ``categorical`` -> ``"categorical"``, ``boolean`` -> ``"boolean"``,
    ``datetime`` -> ``"datetime"``.

    Parameters
    ----------
    schema : list of ColumnSchema
        One entry per column, e.g. ``encoder.schema_`` or
        ``generator.encoder_.schema_``.
    data : DataFrame, default=None
        The real table. Only used to give a ``datetime_format`` to datetime
        columns stored as strings, which SDMetrics needs to parse them.

    Returns
    -------
    metadata : dict
        ``{"columns": {name: {"sdtype": ...}, ...}}`` with string column names
        (non-string labels such as array positions become ``str(label)``).

    Examples
    --------
    >>> from sklearn_gen.metrics import build_metadata
    >>> from sklearn_gen.preprocessing import ColumnSchema
    >>> schema = [ColumnSchema("age", "integer", "int64"),
    ...           ColumnSchema("sex", "categorical", "object"),
    ...           ColumnSchema(2, "continuous", "float64")]
    >>> build_metadata(schema)
    {'columns': {'age': {'sdtype': 'numerical'}, 'sex': {'sdtype': 'categorical'}, '2': {'sdtype': 'numerical'}}}
    """  # noqa: E501
    mapping = _string_labels([column.name for column in schema])
    columns = {}
    for column in schema:
        try:
            sdtype = _SDTYPES[column.kind]
        except KeyError:
            raise ValueError(
                f"Column {column.name!r} has unknown kind {column.kind!r}; "
                f"expected one of {sorted(_SDTYPES)}."
            ) from None
        meta = {"sdtype": sdtype}
        if sdtype == "datetime":
            fmt = column.extra.get("datetime_format") if column.extra else None
            if (
                fmt is None
                and data is not None
                and column.name in data.columns
                and not pdt.is_datetime64_any_dtype(data[column.name].dtype)
            ):
                fmt = _guess_datetime_format(data[column.name])
            if fmt is not None:
                meta["datetime_format"] = fmt
        columns[mapping[column.name]] = meta
    return {"columns": columns}


def _as_frame(X, columns=None, argname="real"):
    """A DataFrame view of a table; arrays get ``columns`` or positions."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame()
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(
            f"{argname} must be a DataFrame or a 2-D array, got an array of shape "
            f"{array.shape}."
        )
    if columns is not None and len(columns) != array.shape[1]:
        columns = None
    frame = pd.DataFrame(array, columns=columns)
    # Object arrays (e.g. load_adult(as_frame=False)) hold numbers as objects.
    return frame.infer_objects()


def _infer_schema_metadata(real):
    """Metadata for ``real`` from the encoder's schema inference.

    Falls back on pandas dtypes (:func:`_infer_sdtypes`) when the inference is
    not available. Either way, a text column whose values are all dates in one
    format is scored as a datetime.
    """
    infer = _encoder_schema_inference()
    if infer is None:
        inferred = _infer_sdtypes(real)
    else:
        schema = infer(real)
        inferred = {}
        for column in schema:
            meta = build_metadata([column], data=real)["columns"][
                _column_key(column.name)
            ]
            if column.kind == "categorical" and (
                pdt.is_object_dtype(column.dtype) or pdt.is_string_dtype(column.dtype)
            ):
                fmt = _guess_datetime_format(real[column.name])
                if fmt is not None:
                    meta = {"sdtype": "datetime", "datetime_format": fmt}
            inferred[column.name] = meta
    return {"columns": {_column_key(name): meta for name, meta in inferred.items()}}


def _encoder_schema_inference():
    """The TabularEncoder's schema inference function, or None if unavailable."""
    try:
        from ..preprocessing._schema import infer_schema
    except ImportError:  # pragma: no cover - encoder not installed
        return None
    return infer_schema


def _prepare(frame, metadata):
    """Copy of ``frame`` in the dtypes SDMetrics handles (strings names already)."""
    out = {}
    for name, meta in metadata["columns"].items():
        column = frame[name]
        sdtype = meta["sdtype"]
        if sdtype == "numerical":
            if not pdt.is_numeric_dtype(column.dtype) or pdt.is_bool_dtype(
                column.dtype
            ):
                column = pd.to_numeric(column, errors="coerce")
            column = column.astype("float64")
        elif sdtype == "datetime":
            if not pdt.is_datetime64_any_dtype(column.dtype):
                column = pd.to_datetime(
                    column, format=meta.get("datetime_format"), errors="coerce"
                )
            if getattr(column.dtype, "tz", None) is not None:
                column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        else:  # categorical / boolean: plain objects, NaN for missing
            column = column.astype(object).where(column.notna(), np.nan)
        out[name] = column.reset_index(drop=True)
    return pd.DataFrame(out)


def _quality_report_class():
    """SDMetrics' single-table QualityReport class, and whether it is the unified one.

    The single-table report passes ``num_rows_subsample`` on to its properties
    (sdmetrics 0.32's unified report does not, so it would subsample at random);
    it is deprecated in favour of the unified report, which is the fallback.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            from sdmetrics.reports.single_table.quality_report import QualityReport
        except ImportError:  # pragma: no cover - future sdmetrics
            from sdmetrics.reports import QualityReport

            return QualityReport, True
    return QualityReport, False


def quality_score(real, synthetic, *, schema=None, return_report=False):
    """SDMetrics quality score of a synthetic table against the real one.

    The overall score of SDMetrics' single-table ``QualityReport``: the mean of
    *Column Shapes* (per column: KS complement for numbers and datetimes, TV
    complement for categories) and *Column Pair Trends* (correlation and
    contingency similarity of the column pairs that are related in the real
    data). 1 is a perfect match. The SDMetrics metadata is built from
    ``schema`` (see :func:`build_metadata`), never written by hand.

    The score is deterministic: SDMetrics would otherwise subsample 50,000 rows
    without a seed for the contingency tables of larger tables; here every row
    is used.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns as ``real`` (in any order).
        An array takes the column names of ``real``, in order.
    schema : list of ColumnSchema, default=None
        Column kinds, e.g. ``generator.encoder_.schema_``. If None, they are
        inferred from ``real`` (numbers are numerical, booleans boolean,
        datetimes datetime, everything else categorical).
    return_report : bool, default=False
        If True, also return the generated SDMetrics report, whose
        ``get_properties()`` and ``get_details(property_name)`` break the score
        down.

    Returns
    -------
    score : float
        In [0, 1].
    report : sdmetrics QualityReport
        Only when ``return_report=True``.

    Raises
    ------
    ValueError
        If the two tables do not have the same columns, or either is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import quality_score
    >>> real = load_adult().iloc[:2000]
    >>> round(quality_score(real, real), 3)
    1.0
    >>> rng = np.random.RandomState(0)
    >>> shuffled = real.apply(lambda column: rng.permutation(column.to_numpy()))
    >>> score = quality_score(real, shuffled)  # each column shuffled on its own
    >>> 0.5 < score < 0.95
    True
    """
    real_frame = _as_frame(real, argname="real")
    synthetic_frame = _as_frame(
        synthetic, columns=real_frame.columns, argname="synthetic"
    )
    for argname, frame in (("real", real_frame), ("synthetic", synthetic_frame)):
        if frame.shape[0] == 0:
            raise ValueError(
                f"{argname} has no rows; the quality score needs at least one."
            )
        if frame.shape[1] == 0:
            raise ValueError(f"{argname} has no columns.")
        if frame.columns.has_duplicates:
            duplicated = list(dict.fromkeys(frame.columns[frame.columns.duplicated()]))
            raise ValueError(f"{argname} has duplicated column names: {duplicated}.")

    real_columns = list(real_frame.columns)
    synthetic_columns = list(synthetic_frame.columns)
    if set(real_columns) != set(synthetic_columns):
        missing = [c for c in real_columns if c not in set(synthetic_columns)]
        extra = [c for c in synthetic_columns if c not in set(real_columns)]
        parts = []
        if missing:
            parts.append(f"missing from synthetic: {missing}")
        if extra:
            parts.append(f"not in real: {extra}")
        raise ValueError(
            "real and synthetic must have the same columns; " + "; ".join(parts) + "."
        )
    synthetic_frame = synthetic_frame[real_columns]

    mapping = _string_labels(real_columns)
    if schema is None:
        metadata = _infer_schema_metadata(real_frame)
    else:
        schema = list(schema)
        metadata = build_metadata(schema, data=real_frame)
        described = {column.name for column in schema}
        unknown = [column.name for column in schema if column.name not in mapping]
        absent = [c for c in real_columns if c not in described]
        if unknown or absent:
            raise ValueError(
                "schema does not describe the columns of real: "
                f"schema columns not in the data: {unknown}; "
                f"data columns not in the schema: {absent}."
            )
    real_frame = real_frame.rename(columns=mapping)
    synthetic_frame = synthetic_frame.rename(columns=mapping)
    # Keep the data's column order.
    metadata = {"columns": {c: metadata["columns"][c] for c in real_frame.columns}}

    real_data = _prepare(real_frame, metadata)
    synthetic_data = _prepare(synthetic_frame, metadata)

    report_class, unified = _quality_report_class()
    report = report_class()
    report.num_rows_subsample = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        if unified:
            report.generate(
                {"table": real_data},
                {"table": synthetic_data},
                {"tables": {"table": metadata}},
                verbose=False,
            )
        else:
            report.generate(real_data, synthetic_data, metadata, verbose=False)
    score = float(report.get_score())
    if return_report:
        return score, report
    return score
