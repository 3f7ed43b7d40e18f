"""Diversity: coverage of categories and ranges, k-NN precision and recall."""

from __future__ import annotations

import warnings

import numpy as np

from ._common import _align, _numeric_embedding, _to_float

__all__ = ["coverage_score", "nn_precision_score", "nn_recall_score"]


def coverage_score(real, synthetic, *, schema=None, max_rows=None, random_state=0):
    """Coverage of the real categories and ranges by the synthetic table.

    The mean over columns of SDMetrics' ``CategoryCoverage`` (share of the
    real categories that appear in the synthetic column; categorical and
    boolean columns) and ``RangeCoverage`` (share of the real ``[min, max]``
    range spanned by the synthetic column; numerical and datetime columns,
    clipped to [0, 1]). Missing values are ignored; a column with a single
    real value or category-free column does not count.

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
        In [0, 1]; 1 means every category and the whole range of each column
        appear in the synthetic table. Mode collapse lowers it.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import coverage_score
    >>> real = load_adult().iloc[:1000]
    >>> coverage_score(real, real)
    1.0
    >>> coverage_score(real, real[real["workclass"] == " Private"]) < 1.0
    True
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.single_column import CategoryCoverage, RangeCoverage

    (real_data, synthetic_data), metadata = _align(
        real,
        synthetic,
        names=("real", "synthetic"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    scores = []
    for name, meta in metadata["columns"].items():
        sdtype = meta["sdtype"]
        if sdtype in ("numerical", "datetime"):
            real_values = _to_float(real_data[name], sdtype)
            synthetic_values = _to_float(synthetic_data[name], sdtype)
            real_values = real_values[np.isfinite(real_values)]
            synthetic_values = synthetic_values[np.isfinite(synthetic_values)]
            if real_values.size == 0 or real_values.min() == real_values.max():
                continue
            if synthetic_values.size == 0:
                scores.append(0.0)
                continue
            score = RangeCoverage.compute(real_values, synthetic_values)
        else:
            if real_data[name].notna().sum() == 0:
                continue
            score = CategoryCoverage.compute(
                real_data[name].astype(str).where(real_data[name].notna()),
                synthetic_data[name].astype(str).where(synthetic_data[name].notna()),
            )
        if score is not None and np.isfinite(score):
            scores.append(min(max(float(score), 0.0), 1.0))
    if not scores:
        return float("nan")
    return float(np.mean(scores))


def _kth_neighbour_radii(points, k):
    """Distance of each point to its k-th nearest other point."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(points) - 1)
    if k < 1:
        return np.zeros(len(points))
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    return distances[:, k]


def _in_manifold(queries, points, radii, chunk=2048):
    """Whether each query lies within ``radii[j]`` of some ``points[j]``."""
    from sklearn.metrics.pairwise import euclidean_distances

    inside = np.zeros(len(queries), dtype=bool)
    sq_points = (points**2).sum(axis=1)
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        distances = euclidean_distances(block, points, Y_norm_squared=sq_points)
        inside[start : start + chunk] = (distances <= radii[None, :] + 1e-9).any(axis=1)
    return inside


def _nn_embed(real, synthetic, schema, max_rows, random_state):
    (real_data, synthetic_data), metadata = _align(
        real,
        synthetic,
        names=("real", "synthetic"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    return _numeric_embedding([real_data, synthetic_data], metadata, scale_on=0)


_NN_DOC = """
    Precision and recall for generative models (Kynkäänniemi et al., 2019,
    "Improved precision and recall metric for assessing generative models"):
    each real row defines a ball reaching its ``k``-th nearest real neighbour,
    the union of the balls estimates the real data manifold; likewise for the
    synthetic rows. Rows are embedded with numerical and datetime columns
    standardised on the real table (plus a missing indicator where needed) and
    categorical columns one-hot encoded, a category change counting as one
    standard deviation.
"""


def nn_precision_score(
    real, synthetic, *, k=5, schema=None, max_rows=5000, random_state=0
):
    """k-NN precision: share of synthetic rows that lie on the real data manifold.
    {nn_doc}
    Precision is the fraction of synthetic rows that fall inside at least one
    real row's ball: low precision means the generator produces implausible
    rows (fidelity of individual rows).

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns.
    k : int, default=5
        Neighbour rank that sets each ball's radius (the paper uses 3 to 5).
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``real`` when None.
    max_rows : int or None, default=5000
        Use at most this many rows of each table, drawn with a fixed seed (the
        cost grows with the product of the two sizes). None uses every row.
    random_state : int, default=0
        Seed of the subsampling.

    Returns
    -------
    score : float
        In [0, 1]; higher is better.

    See Also
    --------
    nn_recall_score : the share of real rows on the synthetic manifold.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import nn_precision_score
    >>> adult = load_adult()
    >>> real, other_real = adult.iloc[:1000], adult.iloc[1000:2000]
    >>> nn_precision_score(real, other_real) > 0.8
    True
    >>> nn_precision_score(real, other_real.assign(age=other_real["age"] * 3)) < 0.5
    True
    """
    real_x, synthetic_x = _nn_embed(real, synthetic, schema, max_rows, random_state)
    radii = _kth_neighbour_radii(real_x, k)
    return float(_in_manifold(synthetic_x, real_x, radii).mean())


def nn_recall_score(
    real, synthetic, *, k=5, schema=None, max_rows=5000, random_state=0
):
    """k-NN recall: share of real rows that lie on the synthetic data manifold.
    {nn_doc}
    Recall is the fraction of real rows that fall inside at least one
    synthetic row's ball: low recall means the generator misses parts of the
    real distribution (diversity, mode collapse).

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns.
    k : int, default=5
        Neighbour rank that sets each ball's radius.
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``real`` when None.
    max_rows : int or None, default=5000
        Use at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the subsampling.

    Returns
    -------
    score : float
        In [0, 1]; higher is better.

    See Also
    --------
    nn_precision_score : the share of synthetic rows on the real manifold.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import nn_recall_score
    >>> adult = load_adult()
    >>> real, other_real = adult.iloc[:1000], adult.iloc[1000:2000]
    >>> nn_recall_score(real, other_real) > 0.8
    True
    >>> collapsed = other_real[other_real["workclass"] == " Private"]
    >>> nn_recall_score(real, collapsed) < nn_recall_score(real, other_real)
    True
    """
    real_x, synthetic_x = _nn_embed(real, synthetic, schema, max_rows, random_state)
    radii = _kth_neighbour_radii(synthetic_x, k)
    return float(_in_manifold(real_x, synthetic_x, radii).mean())


nn_precision_score.__doc__ = nn_precision_score.__doc__.replace("{nn_doc}", _NN_DOC)
nn_recall_score.__doc__ = nn_recall_score.__doc__.replace("{nn_doc}", _NN_DOC)
