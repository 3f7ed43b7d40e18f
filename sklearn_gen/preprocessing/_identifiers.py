"""Columns that identify people: detection, and fresh values of the same format.

A direct identifier (a customer id, an email address, a phone number, a full name)
is unique per person. A generator gains nothing by modelling it, and a model that
learns it as a category can only reproduce real values, a direct privacy leak.
:func:`detect_identifiers` flags such columns conservatively (by name, pattern and
uniqueness) and :func:`generate_identifiers` draws fresh unique values of the same
format without reading any training value: the generators use both (their
``identifiers`` parameter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = ["IdentifierColumn", "detect_identifiers", "generate_identifiers"]

#: Fewest non-missing values before a column can be called an identifier.
MIN_ROWS = 20
#: Share of values that must match a pattern (emails, phones, names, shapes).
MATCH_SHARE = 0.98
#: Share of distinct values among non-missing ones for pattern-based formats.
UNIQUE_SHARE = 0.9
#: An email domain is kept in generated addresses only if this many rows use it;
#: rarer domains (a small company, a personal domain) are replaced by example.com.
MIN_DOMAIN_COUNT = 10
#: Most shapes (character-class templates) remembered per column.
MAX_SHAPES = 20

#: Column-name tokens that mark an identifier (the last token of the name).
_ID_TOKENS = {"id", "uuid", "guid", "identifier", "ssn"}
#: Normalised column names that hold a person's name.
_NAME_COLUMNS = {
    "name", "fullname", "firstname", "lastname", "surname", "forename", "givenname",
    "familyname", "middlename", "customername", "patientname", "clientname",
    "personname", "username", "employeename", "contactname",
}  # fmt: skip

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'\-]+@([A-Za-z0-9\-]+\.)+[A-Za-z]{2,}$")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]{5,}[0-9]$")
_PERSON_NAME = re.compile(r"^[A-Za-z][A-Za-z'\-.]*( [A-Za-z][A-Za-z'\-.]*){0,3}$")


@dataclass
class IdentifierColumn:
    """A column treated as a direct identifier, and how to make fresh values for it.

    Parameters
    ----------
    name : hashable
        The column label.
    format : {"integer", "email", "uuid", "phone", "name", "pattern"}
        What the values look like.
    dtype : object
        The column's dtype, restored on generation.
    missing_share : float
        Share of missing cells at fit (generated at the same rate).
    missing_value : object
        The marker written for a missing cell.
    params : dict
        Format parameters learned from the column (never its values): for
        "integer", ``low`` and ``high`` (the observed range; fresh values lie
        above it); for "email", ``domains`` and ``weights`` (domains used by at
        least ``MIN_DOMAIN_COUNT`` rows); for "uuid", ``upper``; for "phone",
        "name" and "pattern", ``shapes`` and ``weights`` (character-class
        templates such as ``"AA-9999"``).
    """

    name: Any
    format: str
    dtype: Any
    missing_share: float = 0.0
    missing_value: Any = None
    params: dict = field(default_factory=dict)


def _name_tokens(name):
    """Lower-case tokens of a column name (``CustomerID`` -> ``["customer", "id"]``)."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [t for t in re.split(r"[^A-Za-z0-9]+", text.lower()) if t]


def _has_id_name(name):
    tokens = _name_tokens(name)
    return bool(tokens) and tokens[-1] in _ID_TOKENS


def _is_name_column(name):
    return "".join(_name_tokens(name)) in _NAME_COLUMNS


def _shape(value):
    """Character-class template: letters -> A / a, digits -> 9, the rest kept."""
    out = re.sub(r"[A-Z]", "A", value)
    out = re.sub(r"[a-z]", "a", out)
    return re.sub(r"[0-9]", "9", out)


def _shape_params(strings):
    """The most common shapes of ``strings`` and their frequencies."""
    shapes = pd.Series(strings).map(_shape).value_counts()
    top = shapes.iloc[:MAX_SHAPES]
    return {
        "shapes": list(top.index),
        "weights": list((top / top.sum()).astype(float)),
        "share": float(top.iloc[0] / shapes.sum()) if len(shapes) else 0.0,
    }


def _looks_temporal(strings):
    """Whether (a sample of) the strings parse as dates or times."""
    sample = strings[:200]
    if not any(any(c.isdigit() for c in s) for s in sample):
        return False
    try:
        parsed = pd.to_datetime(pd.Series(sample), errors="coerce", format="mixed")
    except (TypeError, ValueError):
        return False
    return bool(parsed.notna().mean() >= MATCH_SHARE)


def _integral_values(series):
    """The column's non-missing values as int64, or None if they are not integers."""
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return None
    if ptypes.is_integer_dtype(dtype):
        return series.dropna().to_numpy(dtype=np.int64)
    if ptypes.is_float_dtype(dtype):
        values = series.dropna().to_numpy(dtype=np.float64)
        finite = values.size > 0 and bool(np.all(np.isfinite(values)))
        if finite and np.all(values == np.round(values)):
            if np.all(np.abs(values) < 2**53):
                return values.astype(np.int64)
        return None
    if ptypes.is_object_dtype(dtype):
        if ptypes.infer_dtype(series, skipna=True) == "integer":
            return series.dropna().to_numpy(dtype=np.int64)
    return None


def _detect_column(name, series):
    """An :class:`IdentifierColumn` for ``series``, or None."""
    mask = np.asarray(series.isna())
    n = int((~mask).sum())
    if n < MIN_ROWS:
        return None
    dtype = series.dtype
    if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_bool_dtype(dtype):
        return None
    base = dict(
        name=name,
        dtype=dtype,
        missing_share=float(mask.mean()),
        missing_value=series[mask].iloc[0] if mask.any() else None,
    )
    integers = _integral_values(series)
    if integers is not None:
        if np.unique(integers).size != n:
            return None
        low, high = int(integers.min()), int(integers.max())
        # An id by name, or a row number: a permutation of >= 1000 consecutive
        # integers. Other unique integers (amounts, weights) are measurements.
        if _has_id_name(name) or (n >= 1000 and high - low + 1 == n):
            params = {"low": low, "high": high}
            return IdentifierColumn(format="integer", params=params, **base)
        return None
    if ptypes.is_numeric_dtype(dtype):
        return None
    if isinstance(dtype, pd.CategoricalDtype):
        values = series.dropna().astype(object)
    else:
        values = series.dropna()
    if not all(isinstance(v, str) for v in values.iloc[:1000]):
        return None
    strings = values.astype(str)
    n_unique = strings.nunique()
    unique_share = n_unique / n
    if unique_share < UNIQUE_SHARE:
        return None
    stripped = strings.str.strip()

    def share(pattern):
        return float(stripped.str.fullmatch(pattern).mean())

    if share(_EMAIL) >= MATCH_SHARE:
        domains = stripped.str.rsplit("@", n=1).str[-1].str.lower().value_counts()
        kept = domains[domains >= MIN_DOMAIN_COUNT]
        return IdentifierColumn(
            format="email",
            params={
                "domains": list(kept.index),
                "weights": list((kept / domains.sum()).astype(float)),
            },
            **base,
        )
    if share(_UUID) >= MATCH_SHARE:
        upper = float(stripped.str.contains("[A-F]").mean()) > 0.5
        return IdentifierColumn(format="uuid", params={"upper": upper}, **base)
    if _looks_temporal(list(stripped)):
        return None
    digits = stripped.str.count(r"[0-9]")
    if (
        share(_PHONE) >= MATCH_SHARE
        and float(((digits >= 7) & (digits <= 15)).mean()) >= MATCH_SHARE
    ):
        return IdentifierColumn(format="phone", params=_shape_params(stripped), **base)
    if _is_name_column(name) and share(_PERSON_NAME) >= MATCH_SHARE:
        return IdentifierColumn(format="name", params=_shape_params(stripped), **base)
    if n_unique == n:
        params = _shape_params(stripped)
        has_digit = any("9" in s for s in params["shapes"][:1])
        if _has_id_name(name) or (params["share"] >= 0.9 and has_digit):
            return IdentifierColumn(format="pattern", params=params, **base)
    return None


def detect_identifiers(frame, exclude=()):
    """Columns of ``frame`` that look like direct identifiers of people.

    Detection is conservative: a column is flagged only when it is (nearly)
    unique per row **and** its name or values say what it is. Measurements
    that happen to be unique (amounts, weights, timestamps) are not flagged.

    ========  ===============================================================
    format    rule (on the non-missing values; at least 20 of them)
    ========  ===============================================================
    integer   integers, all distinct, and the name ends in ``id`` / ``uuid``
              / ``guid`` / ``identifier`` / ``ssn`` (``ID``, ``customer_id``,
              ``CustomerID``), or a permutation of >= 1000 consecutive
              integers (a row number)
    email     >= 98 % look like ``local@domain.tld``, >= 90 % distinct
    uuid      >= 98 % are UUIDs, >= 90 % distinct
    phone     >= 98 % are digits with ``+ ( ) - . space`` (7 to 15 digits),
              >= 90 % distinct; strings that parse as dates are skipped
    name      a person-name column name (``name``, ``first_name``,
              ``full_name``, ``customer_name`` ...), >= 98 % are one to four
              words of letters, >= 90 % distinct
    pattern   strings, all distinct, and either an id-like name or >= 90 %
              share one letter/digit template with a digit (``C00123``,
              ``AB-1234``)
    ========  ===============================================================

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; it is not modified.
    exclude : collection, default=()
        Column labels never flagged (e.g. the target).

    Returns
    -------
    identifiers : list of IdentifierColumn
        In column order.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_gen.preprocessing import detect_identifiers
    >>> df = pd.DataFrame({
    ...     "customer_id": range(100),
    ...     "email": [f"user{i}@mail.com" for i in range(100)],
    ...     "age": [20 + i % 50 for i in range(100)],
    ... })
    >>> [(c.name, c.format) for c in detect_identifiers(df)]
    [('customer_id', 'integer'), ('email', 'email')]
    """
    exclude = set(exclude or ())
    found = []
    for name in frame.columns:
        if name in exclude:
            continue
        column = _detect_column(name, frame[name])
        if column is not None:
            found.append(column)
    return found


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

_UPPER = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
_LOWER = np.array(list("abcdefghijklmnopqrstuvwxyz"))
_DIGITS = np.array(list("0123456789"))
_LOCAL = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))


def _fill_shapes(shapes, weights, n, rng):
    """``n`` strings, each a template drawn by ``weights`` with random characters."""
    if n == 0:
        return np.array([], dtype=object)
    chosen = rng.choice(len(shapes), size=n, p=np.asarray(weights) / np.sum(weights))
    out = np.empty(n, dtype=object)
    for k in np.unique(chosen):
        template = np.array(list(shapes[k]))
        rows = np.flatnonzero(chosen == k)
        grid = np.broadcast_to(template, (rows.size, template.size)).copy()
        for symbol, alphabet in (("A", _UPPER), ("a", _LOWER), ("9", _DIGITS)):
            where = template == symbol
            if where.any():
                size = (rows.size, int(where.sum()))
                grid[:, where] = rng.choice(alphabet, size=size)
        out[rows] = ["".join(r) for r in grid]
    return out


def _unique_strings(draw, n, rng, max_rounds=20):
    """``n`` distinct strings from ``draw(k, rng)``, redrawing duplicates."""
    values = draw(n, rng)
    for _ in range(max_rounds):
        duplicated = pd.Series(values).duplicated().to_numpy()
        if not duplicated.any():
            return values
        values[duplicated] = draw(int(duplicated.sum()), rng)
    raise ValueError(
        f"Could not draw {n} distinct identifier values of this format: it has too "
        "few possible values. Use identifiers='drop' for this table."
    )


def _generate_integers(column, n, rng):
    low, high = column.params["low"], column.params["high"]
    span = high - low + 1
    pool = max(10 * n, span, 1)
    dtype = column.dtype
    numpy_dtype = getattr(dtype, "numpy_dtype", dtype)
    limit_high, limit_low = 2**62, -(2**62)
    if isinstance(numpy_dtype, np.dtype) and numpy_dtype.kind in "iu":
        info = np.iinfo(numpy_dtype)
        limit_high, limit_low = int(info.max), int(info.min)
    # Fresh values lie above the observed range (below it when there is no room):
    # they can never equal a training id.
    if high + pool <= limit_high:
        start = high + 1
    elif low - pool >= limit_low:
        start = low - pool
    else:
        raise ValueError(
            f"No room for {n} fresh ids outside the observed range of column "
            f"{column.name!r} in its dtype {dtype}."
        )
    offsets = rng.choice(pool, size=n, replace=False)
    return start + offsets.astype(np.int64)


def _generate_emails(column, n, rng):
    domains = column.params["domains"]
    weights = column.params["weights"]
    total = float(np.sum(weights)) if domains else 0.0

    def draw(k, rng):
        first = rng.choice(_LOWER, size=(k, 1))
        rest = rng.choice(_LOCAL, size=(k, 9))
        local = ["".join(r) for r in np.hstack([first, rest])]
        # Rows whose domain was rare (or absent) get example.com.
        options = list(domains) + ["example.com"]
        probs = list(np.asarray(weights, dtype=float)) + [max(1.0 - total, 0.0)]
        probs = np.asarray(probs) / np.sum(probs)
        picked = rng.choice(len(options), size=k, p=probs)
        emails = [f"{a}@{options[d]}" for a, d in zip(local, picked)]
        return np.array(emails, dtype=object)

    return _unique_strings(draw, n, rng)


def _generate_uuids(column, n, rng):
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexes = [bytes(r).hex() for r in raw]
    values = [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes]
    if column.params.get("upper"):
        values = [v.upper() for v in values]
    return np.array(values, dtype=object)


def generate_identifiers(column, n_samples, rng):
    """``n_samples`` fresh values of an identifier column (distinct, same format).

    Nothing here reads training values: only the format learned by
    :func:`detect_identifiers`. Integers are drawn above the observed range, so
    they never equal a training id; emails get random 10-character local parts
    (at a domain used by at least ``MIN_DOMAIN_COUNT`` training rows, else
    example.com); UUIDs are random (version 4); phones, names and other patterns
    fill a learned character template with random letters and digits, so a
    coincidence with a real value is a matter of chance, as for any random string
    of that format.

    Parameters
    ----------
    column : IdentifierColumn
    n_samples : int
    rng : numpy.random.Generator

    Returns
    -------
    values : ndarray or pandas ExtensionArray of ``column.dtype``
    """
    n = int(n_samples)
    fmt = column.format
    if fmt == "integer":
        values = _generate_integers(column, n, rng)
    elif fmt == "email":
        values = _generate_emails(column, n, rng)
    elif fmt == "uuid":
        values = _unique_strings(lambda k, r: _generate_uuids(column, k, r), n, rng)
    else:
        shapes, weights = column.params["shapes"], column.params["weights"]
        values = _unique_strings(
            lambda k, r: _fill_shapes(shapes, weights, k, r), n, rng
        )
    missing = rng.random(n) < column.missing_share if column.missing_share else None
    return _restore_dtype(values, missing, column)


def _restore_dtype(values, missing, column):
    dtype = column.dtype
    if column.format == "integer":
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            out = pd.array(values, dtype=dtype)
            if missing is not None:
                out[missing] = pd.NA
            return out
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            out = values.astype(dtype)
            if missing is not None:
                out[missing] = np.nan
            return out
        if isinstance(dtype, np.dtype) and dtype.kind == "O":
            out = values.astype(object)
            if missing is not None:
                out[missing] = column.missing_value
            return out
        return values.astype(dtype)
    out = np.asarray(values, dtype=object)
    if missing is not None:
        out = out.copy()
        out[missing] = column.missing_value
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical(out)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return pd.array(out, dtype=dtype)
    return out
