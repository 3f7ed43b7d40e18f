"""Why a synthetic table is detectable: which columns and pairs give it away."""

from __future__ import annotations

from itertools import combinations
from math import ceil, sqrt

import numpy as np
import pandas as pd
from pandas.api import types as pdt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

from ._quality import _as_frame

__all__ = ["explain_detection"]

#: Largest number of categories HistGradientBoosting takes as a native
#: categorical feature (``max_bins`` is 255 and one bin is kept for missing values).
_MAX_NATIVE_CATEGORIES = 254


def _check_tables(real, synthetic):
    """Both tables as DataFrames with the same columns, synthetic in real's order."""
    real = _as_frame(real, argname="real")
    synthetic = _as_frame(synthetic, columns=real.columns, argname="synthetic")
    for argname, frame in (("real", real), ("synthetic", synthetic)):
        if frame.shape[0] < 2:
            raise ValueError(
                f"{argname} has {frame.shape[0]} rows; at least 2 are needed."
            )
        if frame.shape[1] == 0:
            raise ValueError(f"{argname} has no columns.")
        if frame.columns.has_duplicates:
            duplicated = list(dict.fromkeys(frame.columns[frame.columns.duplicated()]))
            raise ValueError(f"{argname} has duplicated column names: {duplicated}.")
    real_columns = list(real.columns)
    synthetic_columns = list(synthetic.columns)
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
    return real.reset_index(drop=True), synthetic[real_columns].reset_index(drop=True)


def _subsample(frame, max_rows, rng):
    """At most ``max_rows`` rows of ``frame``, drawn without replacement."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    index = np.sort(rng.choice(len(frame), size=int(max_rows), replace=False))
    return frame.iloc[index].reset_index(drop=True)


def _column_kinds(real, schema=None):
    """``"numeric"``, ``"datetime"`` or ``"categorical"`` for each column."""
    if schema is not None:
        by_name = {column.name: column.kind for column in schema}
        missing = [name for name in real.columns if name not in by_name]
        if missing:
            raise ValueError(f"schema does not describe the columns {missing}.")
        mapping = {
            "continuous": "numeric",
            "integer": "numeric",
            "datetime": "datetime",
            "categorical": "categorical",
            "boolean": "categorical",
        }
        return {
            name: mapping.get(by_name[name], "categorical") for name in real.columns
        }
    kinds = {}
    for name in real.columns:
        dtype = real[name].dtype
        if pdt.is_bool_dtype(dtype):
            kinds[name] = "categorical"
        elif pdt.is_numeric_dtype(dtype):
            kinds[name] = "numeric"
        elif pdt.is_datetime64_any_dtype(dtype):
            kinds[name] = "datetime"
        else:
            kinds[name] = "categorical"
    return kinds


def _as_float(column, kind):
    """A float array of a numeric or datetime column; NaN where missing."""
    if kind == "datetime":
        values = pd.to_datetime(column, errors="coerce")
        if getattr(values.dtype, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        out = values.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        out[values.isna().to_numpy()] = np.nan
        return out
    if pdt.is_bool_dtype(column.dtype) or not pdt.is_numeric_dtype(column.dtype):
        column = pd.to_numeric(column, errors="coerce")
    return column.to_numpy(dtype=float, na_value=np.nan)


def _category_codes(real_column, synthetic_column):
    """Integer codes of a categorical column over the union of both tables.

    Returns the codes of ``real`` then ``synthetic`` (``-1`` for missing) and
    the number of categories. Codes follow the frequency in both tables
    (most frequent first, ties by first appearance), so they stay meaningful
    when a high-cardinality column is used as a number.
    """
    combined = pd.concat(
        [real_column.astype(object), synthetic_column.astype(object)],
        ignore_index=True,
    )
    codes, uniques = pd.factorize(combined, sort=False)
    n_categories = len(uniques)
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=n_categories)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(n_categories, dtype=np.int64)
    rank[order] = np.arange(n_categories)
    codes = np.where(present, rank[np.where(present, codes, 0)], -1)
    return codes[: len(real_column)], codes[len(real_column) :], n_categories


def _encode(real, synthetic, kinds):
    """The stacked feature matrix (real rows first) and the categorical mask.

    Categories are coded on both tables together, so a category that only the
    synthetic table has is just one more code. Categorical columns with more
    than 254 categories become their frequency rank, as numbers.
    """
    n_real = len(real)
    features = np.empty((n_real + len(synthetic), real.shape[1]), dtype=float)
    categorical = np.zeros(real.shape[1], dtype=bool)
    for j, name in enumerate(real.columns):
        kind = kinds[name]
        if kind == "categorical":
            real_codes, synthetic_codes, n_categories = _category_codes(
                real[name], synthetic[name]
            )
            codes = np.concatenate([real_codes, synthetic_codes]).astype(float)
            codes[codes < 0] = np.nan
            features[:, j] = codes
            categorical[j] = n_categories <= _MAX_NATIVE_CATEGORIES
        else:
            features[:n_real, j] = _as_float(real[name], kind)
            features[n_real:, j] = _as_float(synthetic[name], kind)
    return features, categorical


def _detector(categorical, seed, max_iter):
    """The real-vs-synthetic classifier: gradient boosting, fixed seed."""
    return HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        early_stopping=False,
        categorical_features=categorical if categorical.any() else None,
        random_state=seed,
    )


#: Quantile bins of a numeric column for the detector that sees that column
#: only, and per numeric column of a pair.
_COLUMN_BINS = 20
_PAIR_BINS = 10

#: Weight of the prior (the share of synthetic rows) in a bin's estimate.
_SMOOTHING = 2.0


def _levels(values, categorical, n_bins):
    """Integer bins of one feature: its category, or a quantile bin of the union.

    The quantiles are those of both tables together (no label is used);
    missing values are a bin of their own.
    """
    missing = np.isnan(values)
    if categorical:
        levels = np.where(missing, -1, values).astype(np.int64)
    else:
        finite = values[~missing]
        if len(finite) == 0:
            edges = np.array([])
        else:
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))
        levels = np.searchsorted(edges, np.where(missing, 0, values), side="right")
    levels = np.where(missing, levels.max(initial=0) + 1, levels)
    _, levels = np.unique(levels, return_inverse=True)
    return levels


def _binned_auc(features, categorical, labels, folds, n_bins):
    """Out-of-fold AUC of the binned detector on one or two features.

    The detector's score for a row is the share of synthetic rows in its cell
    (the product of the features' bins) on the training folds, smoothed
    towards the overall share: a histogram estimate of P(synthetic | cell),
    which is the best detector that sees only these features, up to the
    binning.
    """
    cells = np.zeros(len(labels), dtype=np.int64)
    for j in range(features.shape[1]):
        levels = _levels(features[:, j], categorical[j], n_bins)
        cells = cells * (levels.max() + 1) + levels
    _, cells = np.unique(cells, return_inverse=True)
    n_cells = cells.max() + 1
    proba = np.empty(len(labels), dtype=float)
    for train, test in folds:
        prior = labels[train].mean()
        counts = np.bincount(cells[train], minlength=n_cells)
        synthetic = np.bincount(cells[train], weights=labels[train], minlength=n_cells)
        share = (synthetic + _SMOOTHING * prior) / (counts + _SMOOTHING)
        proba[test] = share[cells[test]]
    return float(roc_auc_score(labels, proba))


def _grouped_folds(features, labels, n_splits, rng):
    """Stratified cross-validation folds in which identical rows share a fold.

    Every distinct row (after encoding, over both tables) is a group. Groups
    only in ``real``, only in ``synthetic`` and in both are dealt, each kind
    on its own and in a random order, to the ``n_splits`` folds in turn, so
    that each fold has about the same share of synthetic rows. Without this, a row that
    is in both tables (an exact copy) would be judged in a test fold by a
    detector trained on its twin with the opposite label, which pushes the AUC
    of two identical tables far *below* 0.5. Copies are a privacy matter
    (see the DCR metrics), not a sign that the rows look synthetic.
    """
    hashes = pd.util.hash_pandas_object(pd.DataFrame(features), index=False)
    _, groups = np.unique(hashes.to_numpy(), return_inverse=True)
    n_groups = groups.max() + 1
    has_real = np.bincount(groups, weights=labels == 0, minlength=n_groups) > 0
    has_synthetic = np.bincount(groups, weights=labels == 1, minlength=n_groups) > 0
    stratum = has_real.astype(int) + 2 * has_synthetic.astype(int)
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    for value in (1, 2, 3):
        members = np.flatnonzero(stratum == value)
        members = members[rng.permutation(len(members))]
        fold_of_group[members] = np.arange(len(members)) % n_splits
    fold = fold_of_group[groups]
    everything = np.arange(len(features))
    return [(everything[fold != k], everything[fold == k]) for k in range(n_splits)]


def _n_pair_columns(n_columns, top_pairs):
    """Smallest k with k (k - 1) / 2 >= top_pairs, at most n_columns."""
    if top_pairs <= 0 or n_columns < 2:
        return 0
    k = max(2, ceil((1 + sqrt(1 + 8 * top_pairs)) / 2))
    while k > 2 and (k - 1) * (k - 2) // 2 >= top_pairs:
        k -= 1
    return min(k, n_columns)


def explain_detection(
    real,
    synthetic,
    *,
    schema=None,
    random_state=0,
    max_rows=20000,
    n_splits=3,
    n_repeats=3,
    top_pairs=10,
    max_iter=100,
    n_threads=None,
):
    """Which columns and column pairs let a classifier tell synthetic rows from real.

    A gradient-boosting detector (``HistGradientBoostingClassifier``) learns to
    separate the rows of ``real`` (label 0) from those of ``synthetic``
    (label 1) with stratified cross-validation; its out-of-fold ROC AUC is the
    detection score (0.5: indistinguishable, 1: every row is told apart).
    Then, so that a user sees where a generator falls short:

    - **importance**: each column's permutation importance for the detector
      (the drop of its ROC AUC when the column is shuffled), on the held-out
      folds only. It counts what the column gives away alone *and* with the
      other columns;
    - **column AUC**: the out-of-fold AUC of a detector that sees that column
      only: how far the column's marginal distribution is from the real one.
      That detector is a histogram estimate of P(synthetic | value), learnt
      on the training folds: the value's category, or one of 20 quantile bins
      of the numbers (missing values are a bin of their own);
    - **pair AUC**: the same for a pair of columns (10 bins per numeric
      column, so the cells are the product of the two columns' bins), for the
      pairs among the most important columns (enough columns to form
      ``top_pairs`` pairs, to bound the cost). ``lift`` is the pair AUC minus
      the larger AUC of its two columns: a high lift flags a broken
      dependence between the two columns even when each marginal is right.

    Cross-validation folds are stratified, and rows that are identical (in
    either table) always share a fold: otherwise an exact copy of a real row
    would be judged by a detector trained on its twin with the other label,
    which drives the AUC of two identical tables far below 0.5.

    Categories are coded on both tables together, so categories that only the
    synthetic table has do not fail (unlike SDMetrics' LogisticDetection).
    Missing values are handled natively by the detector. The result is
    deterministic for a given integer ``random_state``.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns as ``real`` (in any order).
    schema : list of ColumnSchema, default=None
        Column kinds (e.g. ``generator.encoder_.schema_``). If None, numbers are
        numeric, datetimes datetimes and everything else categorical.
    random_state : int, RandomState instance or None, default=0
        Seeds the subsampling, the folds, the detectors and the permutations.
    max_rows : int or None, default=20000
        At most this many rows of each table are used, drawn with the seed.
        None uses every row.
    n_splits : int, default=3
        Number of stratified cross-validation folds.
    n_repeats : int, default=3
        Permutations of each column per held-out fold.
    top_pairs : int, default=10
        Number of column pairs to score: every pair among the ``k`` most
        important columns, with ``k`` the smallest count giving at least
        ``top_pairs`` pairs; the ``top_pairs`` best are returned. 0 skips pairs.
    max_iter : int, default=100
        Boosting iterations of the detector.
    n_threads : int or None, default=None
        Threads of the native thread pools (OpenMP, BLAS) while the detectors
        run, through ``threadpoolctl``. None keeps the current setting. On a
        machine whose cores are busy, 1 can be many times faster (OpenMP
        threads spin while they wait). The result does not depend on it.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With keys

        - ``auc`` (float): out-of-fold ROC AUC of the detector on all columns;
        - ``roc`` (DataFrame): ``fpr``, ``tpr`` and ``threshold`` of its ROC curve;
        - ``columns`` (DataFrame, one row per column, most important first):
          ``importance`` (mean drop of AUC), ``importance_std``, ``column_auc``,
          ``rank`` (1 = most important) and ``column_auc_rank``;
        - ``pairs`` (DataFrame, best pair first): ``column_1``, ``column_2``,
          ``pair_auc`` and ``lift``;
        - ``n_real``, ``n_synthetic`` (int): rows used from each table.

    Raises
    ------
    ValueError
        If the tables do not have the same columns, or have fewer than 2 rows
        (or fewer rows than ``n_splits`` after subsampling).

    See Also
    --------
    SyntheticReport : the full report, with plots of these rankings.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import explain_detection
    >>> real = load_adult().iloc[:1000]
    >>> synthetic = load_adult().iloc[1000:2000].reset_index(drop=True)
    >>> synthetic["age"] = synthetic["age"] + 10        # a generator that ages everyone
    >>> result = explain_detection(real, synthetic, random_state=0, top_pairs=3,
    ...                            n_threads=1)
    >>> result.columns.index[0]
    'age'
    >>> bool(result.columns.loc["age", "column_auc"] > 0.65)
    True
    """
    with threadpool_limits(limits=n_threads):
        return _explain_detection(
            real,
            synthetic,
            schema=schema,
            random_state=random_state,
            max_rows=max_rows,
            n_splits=n_splits,
            n_repeats=n_repeats,
            top_pairs=top_pairs,
            max_iter=max_iter,
        )


def _explain_detection(
    real,
    synthetic,
    *,
    schema,
    random_state,
    max_rows,
    n_splits,
    n_repeats,
    top_pairs,
    max_iter,
):
    """:func:`explain_detection` without the thread limit."""
    rng = check_random_state(random_state)
    real, synthetic = _check_tables(real, synthetic)
    real = _subsample(real, max_rows, rng)
    synthetic = _subsample(synthetic, max_rows, rng)
    if min(len(real), len(synthetic)) < n_splits:
        raise ValueError(
            f"Each table needs at least n_splits={n_splits} rows; got "
            f"{len(real)} real and {len(synthetic)} synthetic rows."
        )
    seed = int(rng.randint(np.iinfo(np.int32).max))
    kinds = _column_kinds(real, schema)
    features, categorical = _encode(real, synthetic, kinds)
    labels = np.r_[np.zeros(len(real), dtype=int), np.ones(len(synthetic), dtype=int)]
    columns = list(real.columns)
    folds = _grouped_folds(features, labels, n_splits, rng)

    # The detector on every column, with permutation importance on held-out folds.
    proba = np.empty(len(labels), dtype=float)
    importances = []
    for train, test in folds:
        detector = _detector(categorical, seed, max_iter)
        detector.fit(features[train], labels[train])
        proba[test] = detector.predict_proba(features[test])[:, 1]
        result = permutation_importance(
            detector,
            features[test],
            labels[test],
            scoring="roc_auc",
            n_repeats=n_repeats,
            random_state=seed,
        )
        importances.append(result.importances)
    auc = float(roc_auc_score(labels, proba))
    fpr, tpr, thresholds = roc_curve(labels, proba)
    # Rounded so that float noise (1e-17) does not pass for an importance.
    importances = np.round(np.concatenate(importances, axis=1), 12)

    # One detector per column.
    column_auc = np.empty(len(columns))
    for j in range(len(columns)):
        column_auc[j] = _binned_auc(
            features[:, [j]], categorical[[j]], labels, folds, _COLUMN_BINS
        )

    table = pd.DataFrame(
        {
            "importance": importances.mean(axis=1),
            "importance_std": importances.std(axis=1),
            "column_auc": column_auc,
        },
        index=pd.Index(columns, name="column"),
    )
    # Most important first; ties (e.g. all zero) by single-column AUC, then order.
    order = np.lexsort((np.arange(len(columns)), -column_auc, -table["importance"]))
    table = table.iloc[order]
    table["rank"] = np.arange(1, len(columns) + 1)
    table["column_auc_rank"] = (
        table["column_auc"].rank(ascending=False, method="first").astype(int)
    )

    # Pairs among the most important columns.
    k = _n_pair_columns(len(columns), top_pairs)
    position = {name: j for j, name in enumerate(columns)}
    top = [position[name] for name in table.index[:k]]
    rows = []
    for a, b in combinations(top, 2):
        pair_auc = _binned_auc(
            features[:, [a, b]], categorical[[a, b]], labels, folds, _PAIR_BINS
        )
        rows.append(
            {
                "column_1": columns[a],
                "column_2": columns[b],
                "pair_auc": pair_auc,
                "lift": pair_auc - max(column_auc[a], column_auc[b]),
            }
        )
    pairs = pd.DataFrame(rows, columns=["column_1", "column_2", "pair_auc", "lift"])
    if len(pairs):
        pairs = pairs.sort_values(
            ["pair_auc", "lift"], ascending=False, kind="stable"
        ).head(top_pairs)
    pairs = pairs.reset_index(drop=True)

    return Bunch(
        auc=auc,
        roc=pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds}),
        columns=table,
        pairs=pairs,
        n_real=len(real),
        n_synthetic=len(synthetic),
    )
