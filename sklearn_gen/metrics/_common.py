"""Shared plumbing of the metric functions: aligning tables, subsampling, encoding.

Every metric function takes a real and a synthetic table (DataFrames or arrays),
checks that they describe the same columns, turns our schema into SDMetrics
metadata (via :func:`~sklearn_gen.metrics.build_metadata`) and, where the metric
is costly, subsamples rows with a fixed seed.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._quality import (
    _as_frame,
    _infer_schema_metadata,
    _prepare,
    _string_labels,
    build_metadata,
)

_DISCRETE = ("categorical", "boolean")


def _check_frame(frame, argname):
    if frame.shape[0] == 0:
        raise ValueError(f"{argname} has no rows; the metric needs at least one.")
    if frame.shape[1] == 0:
        raise ValueError(f"{argname} has no columns.")
    if frame.columns.has_duplicates:
        duplicated = list(dict.fromkeys(frame.columns[frame.columns.duplicated()]))
        raise ValueError(f"{argname} has duplicated column names: {duplicated}.")


def _check_same_columns(reference, other, names):
    ref_name, other_name = names
    ref_columns = list(reference.columns)
    other_columns = list(other.columns)
    if set(ref_columns) != set(other_columns):
        missing = [c for c in ref_columns if c not in set(other_columns)]
        extra = [c for c in other_columns if c not in set(ref_columns)]
        parts = []
        if missing:
            parts.append(f"missing from {other_name}: {missing}")
        if extra:
            parts.append(f"not in {ref_name}: {extra}")
        raise ValueError(
            f"{ref_name} and {other_name} must have the same columns; "
            + "; ".join(parts)
            + "."
        )


def _check_max_rows(max_rows):
    if max_rows is None:
        return None
    if isinstance(max_rows, (bool, np.bool_)) or not isinstance(
        max_rows, numbers.Integral
    ):
        raise TypeError(f"max_rows must be a positive int or None, got {max_rows!r}.")
    if max_rows < 1:
        raise ValueError(f"max_rows must be a positive int or None, got {max_rows}.")
    return int(max_rows)


def _subsample(frame, max_rows, random_state, offset=0):
    """At most ``max_rows`` rows of ``frame``, drawn without replacement.

    The draw only depends on ``random_state`` (plus ``offset``, so that two
    tables of the same length are not subsampled at the same positions), and the
    kept rows stay in their original order.
    """
    max_rows = _check_max_rows(max_rows)
    if max_rows is None or len(frame) <= max_rows:
        return frame
    rng = np.random.RandomState(_seed(random_state, offset))
    keep = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def _seed(random_state, offset=0):
    """An int seed from ``random_state`` (None means 0: metrics are deterministic)."""
    if random_state is None:
        random_state = 0
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(
        random_state, numbers.Integral
    ):
        raise TypeError(
            f"random_state must be an int, a RandomState or None, got {random_state!r}."
        )
    return (int(random_state) + int(offset)) % (2**32 - 1)


def _schema_metadata(schema, real_frame):
    """SDMetrics metadata (string keys) for ``real_frame``, checked against schema."""
    columns = list(real_frame.columns)
    mapping = _string_labels(columns)
    if schema is None:
        metadata = _infer_schema_metadata(real_frame)
    else:
        schema = [column for column in schema]
        described = {column.name for column in schema}
        unknown = [column.name for column in schema if column.name not in mapping]
        absent = [c for c in columns if c not in described]
        if unknown or absent:
            raise ValueError(
                "schema does not describe the columns of real: "
                f"schema columns not in the data: {unknown}; "
                f"data columns not in the schema: {absent}."
            )
        metadata = build_metadata(schema, data=real_frame)
    return {"columns": {mapping[c]: metadata["columns"][mapping[c]] for c in columns}}


def _align(*tables, names, schema=None, max_rows=None, random_state=0, prepare=True):
    """Check and align tables of the same columns.

    Parameters
    ----------
    *tables : DataFrame or ndarray
        The first one is the reference (the real table): the others are
        reordered to its columns; arrays take its column names.
    names : tuple of str
        The argument names, for error messages.
    schema : list of ColumnSchema or None
        Column kinds; inferred from the reference when None.
    max_rows : int or None
        Subsample each table to at most this many rows (fixed seed).
    prepare : bool
        Rename columns to strings and convert dtypes as SDMetrics expects.

    Returns
    -------
    frames : list of DataFrame
    metadata : dict
        SDMetrics metadata ``{"columns": {str_name: {"sdtype": ...}}}``.
    """
    reference = _as_frame(tables[0], argname=names[0])
    frames = [reference]
    for table, name in zip(tables[1:], names[1:], strict=True):
        frames.append(_as_frame(table, columns=reference.columns, argname=name))
    for frame, name in zip(frames, names, strict=True):
        _check_frame(frame, name)
    for frame, name in zip(frames[1:], names[1:], strict=True):
        _check_same_columns(reference, frame, (names[0], name))
    columns = list(reference.columns)
    frames = [reference] + [frame[columns] for frame in frames[1:]]
    metadata = _schema_metadata(schema, reference)
    frames = [
        _subsample(frame, max_rows, random_state, offset=i)
        for i, frame in enumerate(frames)
    ]
    if prepare:
        mapping = _string_labels(columns)
        frames = [_prepare(frame.rename(columns=mapping), metadata) for frame in frames]
    return frames, metadata


def _schema_or_infer(schema, real_frame):
    """A list of ColumnSchema for ``real_frame``: ``schema`` or inferred."""
    if schema is not None:
        return list(schema)
    from ..preprocessing._schema import infer_schema

    return infer_schema(real_frame)


def _to_float(column, sdtype):
    """Numeric (float64) values of a prepared numerical or datetime column."""
    if sdtype == "datetime":
        values = column.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        values[column.isna().to_numpy()] = np.nan
        return values
    return column.to_numpy(dtype=float, na_value=np.nan)


def _category_codes(frames, name):
    """Integer codes of a discrete column over several tables (categories of all).

    Missing values get a code of their own; categories are ordered by their
    string form, so codes do not depend on row order.

    Returns
    -------
    codes : list of ndarray of int64
        One per table.
    categories : list
        The value of each code (None for missing).
    """
    values = [
        frame[name].astype(object).where(frame[name].notna(), None) for frame in frames
    ]
    originals = {}
    keys = []
    for v in values:
        key = v.map(_category_key)
        keys.append(key)
        first = ~key.duplicated().to_numpy()
        for k, x in zip(key[first], v[first], strict=True):
            originals.setdefault(k, x)
    ordered = sorted(originals)
    lookup = {key: code for code, key in enumerate(ordered)}
    codes = [k.map(lookup).to_numpy(dtype=np.int64) for k in keys]
    return codes, [originals[k] for k in ordered]


def _category_key(value):
    if value is None:
        return "\x00<missing>"
    return f"{type(value).__name__}:{value}"


def _numeric_embedding(frames, metadata, *, scale_on=0):
    """Standardised numeric + one-hot matrices of prepared tables (same columns).

    Numerical and datetime columns are standardised with the mean and standard
    deviation of ``frames[scale_on]`` (missing values become that mean, and a
    0/1 missing indicator column is added when any table has them);
    categorical and boolean columns are one-hot encoded over the categories of
    *all* tables, so a category only one table has does not break anything.
    Each one-hot block is scaled by ``1/sqrt(2)`` so that two different
    categories are at distance 1, like one standard deviation.
    """
    blocks = [[] for _ in frames]
    for name, meta in metadata["columns"].items():
        sdtype = meta["sdtype"]
        if sdtype in ("numerical", "datetime"):
            values = [_to_float(frame[name], sdtype) for frame in frames]
            base = values[scale_on]
            finite = base[np.isfinite(base)]
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size else 1.0
            if not np.isfinite(std) or std == 0:
                std = 1.0
            missing = [~np.isfinite(v) for v in values]
            any_missing = any(m.any() for m in missing)
            for block, v, m in zip(blocks, values, missing, strict=True):
                z = np.where(m, 0.0, (np.where(m, mean, v) - mean) / std)
                block.append(z[:, None])
                if any_missing:
                    block.append(m[:, None].astype(float))
        else:
            codes, categories = _category_codes(frames, name)
            eye = np.eye(len(categories)) / np.sqrt(2.0)
            for block, c in zip(blocks, codes, strict=True):
                block.append(eye[c])
    return [
        np.hstack(block) if block else np.zeros((len(f), 0))
        for block, f in zip(blocks, frames, strict=True)
    ]
