"""Privacy: distance to closest record (DCR) share and exact copies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import _align, _numeric_embedding, _subsample

__all__ = ["dcr_share", "exact_copy_rate"]


def _nearest_distance(queries, points):
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors(n_neighbors=1).fit(points).kneighbors(queries)
    return distances[:, 0]


def dcr_share(train, synthetic, holdout, *, schema=None, max_rows=None, random_state=0):
    """Share of synthetic rows closer to a training row than to a held-out row.

    The distance-to-closest-record (DCR) test of memorisation: every synthetic
    row's nearest neighbour is looked up among the training rows and among
    held-out real rows the generator never saw. A generator that learned the
    distribution (and copies nothing) is as close to one as to the other:
    about 50 %. A share well above 0.5 means synthetic rows sit on top of
    training rows — memorisation, a privacy risk. Ties (equal distances) count
    half. The training rows are subsampled to the number of held-out rows
    (fixed seed) so both sets are equally dense.

    Distances are Euclidean in the space of :func:`nn_precision_score`:
    numbers standardised on the training rows, categories one-hot encoded.

    Parameters
    ----------
    train : DataFrame or ndarray of shape (n_train, n_columns)
        The rows the generator was fitted on.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic rows, with the same columns.
    holdout : DataFrame or ndarray of shape (n_holdout, n_columns)
        Real rows from the same distribution, not used to fit the generator.
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``train`` when None.
    max_rows : int, default=None
        Use at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the subsampling.

    Returns
    -------
    share : float
        In [0, 1]; 0.5 is ideal, higher means closer to the training rows.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import dcr_share
    >>> adult = load_adult()
    >>> train, holdout = adult.iloc[:1000], adult.iloc[1000:2000]
    >>> round(dcr_share(train, adult.iloc[2000:3000], holdout), 1)  # a fresh sample
    0.5
    >>> dcr_share(train, train.iloc[:500], holdout)  # copies of the training rows
    1.0
    """
    (train_frame, synthetic_frame, holdout_frame), metadata = _align(
        train,
        synthetic,
        holdout,
        names=("train", "synthetic", "holdout"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    train_frame = _subsample(train_frame, len(holdout_frame), random_state, offset=7)
    train_x, synthetic_x, holdout_x = _numeric_embedding(
        [train_frame, synthetic_frame, holdout_frame], metadata, scale_on=0
    )
    to_train = _nearest_distance(synthetic_x, train_x)
    to_holdout = _nearest_distance(synthetic_x, holdout_x)
    closer = (to_train < to_holdout).astype(float)
    ties = np.isclose(to_train, to_holdout, rtol=0, atol=1e-12)
    closer[ties] = 0.5
    return float(closer.mean())


def _row_keys(frame, metadata):
    """One hashable key per row, equal for equal rows (NaN equals NaN)."""
    parts = {}
    for name, meta in metadata["columns"].items():
        column = frame[name]
        if meta["sdtype"] == "numerical":
            parts[name] = column.astype(float).round(9)
        elif meta["sdtype"] == "datetime":
            parts[name] = column.astype("int64").where(column.notna(), -1)
        else:
            parts[name] = column.astype(str).where(column.notna(), "\x00<missing>")
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


def exact_copy_rate(train, synthetic, *, schema=None):
    """Share of synthetic rows that are exact copies of a training row.

    Rows are compared on every column (numbers to 9 decimals, missing equal to
    missing). Real tables can hold duplicate rows, so compare with the rate a
    held-out real sample gets (``exact_copy_rate(train, holdout)``).

    Parameters
    ----------
    train : DataFrame or ndarray of shape (n_train, n_columns)
        The rows the generator was fitted on.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic rows, with the same columns.
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``train`` when None.

    Returns
    -------
    rate : float
        In [0, 1]; lower is better (0: no copies).

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import exact_copy_rate
    >>> adult = load_adult()
    >>> train = adult.iloc[:2000]
    >>> exact_copy_rate(train, train.iloc[:500])
    1.0
    >>> exact_copy_rate(train, adult.iloc[2000:3000]) < 0.01
    True
    """
    (train_frame, synthetic_frame), metadata = _align(
        train, synthetic, names=("train", "synthetic"), schema=schema
    )
    train_keys = _row_keys(train_frame, metadata)
    synthetic_keys = _row_keys(synthetic_frame, metadata)
    return float(np.isin(synthetic_keys, train_keys).mean())
