"""Logical consistency: rows that respect the schema and user constraints."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ._common import _align, _schema_or_infer

__all__ = ["consistency_score", "diagnostic_score"]

#: Relative tolerance on numeric bounds (decoding rounds floats).
_BOUND_RTOL = 1e-9


def _numeric_valid(column, schema):
    values = pd.to_numeric(column, errors="coerce").astype(float)
    present = column.notna().to_numpy()
    numbers = values.to_numpy()
    # A present cell that is not a number breaks the dtype.
    valid = ~present | np.isfinite(numbers)
    span = 0.0
    if schema.min is not None and schema.max is not None:
        span = abs(float(schema.max) - float(schema.min))
    tol = _BOUND_RTOL * max(span, 1.0)
    with np.errstate(invalid="ignore"):
        if schema.min is not None:
            valid &= ~present | (numbers >= float(schema.min) - tol)
        if schema.max is not None:
            valid &= ~present | (numbers <= float(schema.max) + tol)
        if schema.kind == "integer":
            valid &= ~present | (np.abs(numbers - np.round(numbers)) <= 1e-9)
    return valid


def _datetime_valid(column, schema):
    present = column.notna().to_numpy()
    if pdt.is_datetime64_any_dtype(column.dtype):
        parsed = column
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fmt = schema.extra.get("datetime_format") if schema.extra else None
            parsed = pd.to_datetime(column, errors="coerce", format=fmt)
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    parsed_ok = parsed.notna().to_numpy()
    valid = ~present | parsed_ok
    ns = np.where(parsed_ok, parsed.to_numpy(dtype="datetime64[ns]").astype("int64"), 0)
    if schema.min is not None:
        valid &= ~present | ~parsed_ok | (ns >= int(schema.min))
    if schema.max is not None:
        valid &= ~present | ~parsed_ok | (ns <= int(schema.max))
    return valid


def _discrete_valid(column, schema):
    present = column.notna().to_numpy()
    if schema.categories is None:
        return np.ones(len(column), dtype=bool)
    known = set(schema.categories)
    values = column.astype(object).to_numpy()
    valid = np.fromiter((v in known for v in values), dtype=bool, count=len(values))
    return ~present | valid


def _row_validity(frame, schema):
    """Boolean mask of the rows of ``frame`` that respect every column schema."""
    valid = np.ones(len(frame), dtype=bool)
    for column_schema in schema:
        column = frame[column_schema.name]
        kind = column_schema.kind
        if kind in ("continuous", "integer"):
            ok = _numeric_valid(column, column_schema)
        elif kind == "datetime":
            ok = _datetime_valid(column, column_schema)
        else:
            ok = _discrete_valid(column, column_schema)
        if not column_schema.has_missing:
            ok &= column.notna().to_numpy()
        valid &= ok
    return valid


def _constraint_mask(constraint, frame):
    mask = constraint(frame)
    mask = np.asarray(mask)
    if mask.shape != (len(frame),):
        raise ValueError(
            f"constraint {constraint!r} must return one boolean per row "
            f"({len(frame)},), got shape {mask.shape}."
        )
    if mask.dtype != bool:
        if mask.dtype == object or not np.isin(mask, [0, 1]).all():
            raise ValueError(
                f"constraint {constraint!r} must return booleans, got dtype "
                f"{mask.dtype}."
            )
        mask = mask.astype(bool)
    return mask


def consistency_score(
    real, synthetic, *, schema=None, constraints=None, return_mask=False
):
    """Share of synthetic rows that are logically valid.

    A synthetic row is valid when, for every column (per its
    :class:`~sklearn_gen.preprocessing.ColumnSchema`):

    - numbers parse as numbers, lie within the schema's ``[min, max]``
      bounds, and are whole for ``integer`` columns;
    - datetimes parse and lie within the bounds;
    - categorical and boolean values are known categories;
    - a missing value only appears in a column that had missing values;

    and every user constraint holds for it. A generator's schema
    (``generator.encoder_.schema_``) holds the bounds and categories of the
    training table; with ``schema=None`` they are inferred from ``real``.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table (for the columns and, with ``schema=None``, the bounds).
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns.
    schema : list of ColumnSchema, default=None
        Column kinds, bounds and categories; inferred from ``real`` when None.
    constraints : callable or list of callables, default=None
        Business rules: each gets the synthetic DataFrame (real column labels)
        and returns a boolean array with one entry per row (True = valid),
        e.g. ``lambda df: df["age"] >= df["education-num"] + 5``.
    return_mask : bool, default=False
        Also return the per-row boolean mask.

    Returns
    -------
    score : float
        In [0, 1]; 1 means every synthetic row is valid.
    mask : ndarray of bool of shape (n_synthetic,)
        Only when ``return_mask=True``.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import consistency_score
    >>> real = load_adult().iloc[:1000]
    >>> consistency_score(real, real)
    1.0
    >>> broken = real.assign(age=real["age"].where(real.index % 4 > 0, -1))
    >>> consistency_score(real, broken)
    0.75
    >>> consistency_score(real, real, constraints=lambda df: df["age"] < 60) < 1.0
    True
    """
    (real_frame, synthetic_frame), _ = _align(
        real, synthetic, names=("real", "synthetic"), schema=schema, prepare=False
    )
    schema = _schema_or_infer(schema, real_frame)
    valid = _row_validity(synthetic_frame.reset_index(drop=True), schema)
    if constraints is not None:
        if callable(constraints):
            constraints = [constraints]
        for constraint in constraints:
            if not callable(constraint):
                raise TypeError(
                    f"constraints must be callables (frame -> bool mask), got "
                    f"{constraint!r}."
                )
            valid &= _constraint_mask(
                constraint, synthetic_frame.reset_index(drop=True)
            )
    score = float(valid.mean())
    if return_mask:
        return score, valid
    return score


def diagnostic_score(real, synthetic, *, schema=None, max_rows=None, random_state=0):
    """SDMetrics DiagnosticReport overall score.

    The mean of SDMetrics' *Data Validity* (per column: BoundaryAdherence of
    numbers and datetimes to the real range, CategoryAdherence of categories
    to the real ones) and *Data Structure* (same column names) properties.
    Unlike :func:`consistency_score` it averages over columns rather than
    counting whole valid rows, and takes the bounds from ``real``.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns.
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``real`` when None.
    max_rows : int, default=None
        Use at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the subsampling (only used with ``max_rows``).

    Returns
    -------
    score : float
        In [0, 1]; 1 means every value is valid.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import diagnostic_score
    >>> real = load_adult().iloc[:1000]
    >>> diagnostic_score(real, real)
    1.0
    """
    (real_data, synthetic_data), metadata = _align(
        real,
        synthetic,
        names=("real", "synthetic"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from sdmetrics.reports.single_table.diagnostic_report import (
                DiagnosticReport,
            )

            report = DiagnosticReport()
            report.generate(real_data, synthetic_data, metadata, verbose=False)
        except ImportError:  # pragma: no cover - future sdmetrics
            from sdmetrics.reports import DiagnosticReport

            report = DiagnosticReport()
            report.generate(
                {"table": real_data},
                {"table": synthetic_data},
                {"tables": {"table": metadata}},
                verbose=False,
            )
    return float(report.get_score())
