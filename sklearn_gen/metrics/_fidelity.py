"""Fidelity: column shapes, column pair trends and detection (C2ST) scores."""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from ._common import _align, _category_codes, _seed, _to_float

__all__ = ["column_shapes_score", "column_pair_trends_score", "detection_score"]

#: SDMetrics QualityReport's thresholds since 0.27 (|Pearson/Spearman| > 0.5 for
#: numeric pairs, Cramér's V > 0.3 for the others).
_REPORT_CORRELATION_THRESHOLD = 0.5
_REPORT_ASSOCIATION_THRESHOLD = 0.3


def _properties():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from sdmetrics.reports.single_table._properties import (
            ColumnPairTrends,
            ColumnShapes,
        )
    return ColumnShapes, ColumnPairTrends


def _property_score(prop, real, synthetic, metadata):
    prop.num_rows_subsample = None  # SDMetrics would subsample without a seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = prop.get_score(real, synthetic, metadata)
    return float(score)


def column_shapes_score(real, synthetic, *, schema=None, max_rows=None, random_state=0):
    """SDMetrics *Column Shapes* score: how well each column's marginal matches.

    Per column, the KSComplement (1 minus the Kolmogorov-Smirnov statistic) for
    numerical and datetime columns and the TVComplement (1 minus the total
    variation distance of the category frequencies) for categorical and boolean
    columns, averaged over the columns. This is the first half of
    :func:`quality_score`.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns (in any order). An array
        takes the column names of ``real``.
    schema : list of ColumnSchema, default=None
        Column kinds (e.g. ``generator.encoder_.schema_``); inferred from
        ``real`` when None.
    max_rows : int, default=None
        Score at most this many rows of each table, drawn with a fixed seed.
        None uses every row.
    random_state : int, default=0
        Seed of the subsampling (only used with ``max_rows``).

    Returns
    -------
    score : float
        In [0, 1]; 1 means identical marginals.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import column_shapes_score
    >>> real = load_adult().iloc[:1000]
    >>> column_shapes_score(real, real)
    1.0
    >>> shifted = real.assign(age=real["age"] + 10)
    >>> column_shapes_score(real, shifted) < 0.99
    True
    """
    (real_data, synthetic_data), metadata = _align(
        real,
        synthetic,
        names=("real", "synthetic"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    ColumnShapes, _ = _properties()
    return _property_score(ColumnShapes(), real_data, synthetic_data, metadata)


def column_pair_trends_score(
    real, synthetic, *, all_pairs=True, schema=None, max_rows=None, random_state=0
):
    """SDMetrics *Column Pair Trends* score: how well pairwise dependence matches.

    For each pair of columns, the CorrelationSimilarity (``1 - |corr_real -
    corr_synth| / 2``, Pearson) of two numerical/datetime columns, or the
    ContingencySimilarity (1 minus the total variation distance of the joint
    frequency tables, numbers binned) of any other pair, averaged over pairs.

    Two variants, selected by ``all_pairs``:

    - ``all_pairs=True`` (default): every column pair counts. This is the
      definition the published papers (CTGAN, TabDDPM, TabSyn...) and SDMetrics
      before 0.27 use, and the one sklearn_gen's benchmarks quote.
    - ``all_pairs=False``: only the pairs SDMetrics' QualityReport keeps since
      version 0.27 — numeric pairs whose real absolute correlation > 0.5 and other
      pairs whose real association (Cramér's V) > 0.3. This is the *Column
      Pair Trends* inside :func:`quality_score`. It is NaN when no pair is
      strongly related in the real table.

    Every row is used (SDMetrics would subsample 50,000 rows without a seed),
    unless ``max_rows`` asks for a seeded subsample.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns.
    all_pairs : bool, default=True
        Average over every pair (True) or over the strongly related pairs only,
        as SDMetrics' QualityReport does (False).
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``real`` when None.
    max_rows : int, default=None
        Score at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the subsampling (only used with ``max_rows``).

    Returns
    -------
    score : float
        In [0, 1]; 1 means the same pairwise trends.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import column_pair_trends_score
    >>> real = load_adult().iloc[:1000]
    >>> column_pair_trends_score(real, real)
    1.0
    >>> rng = np.random.RandomState(0)
    >>> shuffled = real.assign(education=rng.permutation(real["education"].to_numpy()))
    >>> column_pair_trends_score(real, shuffled) < 1.0
    True
    """
    (real_data, synthetic_data), metadata = _align(
        real,
        synthetic,
        names=("real", "synthetic"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    if len(metadata["columns"]) < 2:
        raise ValueError("column_pair_trends_score needs at least two columns.")
    _, ColumnPairTrends = _properties()
    prop = ColumnPairTrends()
    if all_pairs:
        prop.real_correlation_threshold = 0
        prop.real_association_threshold = 0
    else:
        prop.real_correlation_threshold = _REPORT_CORRELATION_THRESHOLD
        prop.real_association_threshold = _REPORT_ASSOCIATION_THRESHOLD
    return _property_score(prop, real_data, synthetic_data, metadata)


# ----------------------------------------------------------------- detection


def _detection_features(frames, metadata, *, method):
    """Feature matrices of prepared tables for a real-vs-synthetic classifier.

    Numerical and datetime columns become floats (NaN kept: the pipelines
    impute or handle them). Discrete columns are one-hot encoded
    (``"logistic"``) or ordinal-coded (``"gradient_boosting"``) over the
    categories of *both* tables, so a category only the synthetic table has
    is encoded rather than raising (SDMetrics fits its encoder on the real
    table only).

    Returns
    -------
    matrices : list of ndarray
    feature_names : list of str
        One per feature column (``"column"`` or ``"column=category"``).
    categorical : ndarray of bool
        Which features are ordinal category codes (gradient boosting only).
    """
    blocks = [[] for _ in frames]
    names = []
    categorical = []
    for name, meta in metadata["columns"].items():
        sdtype = meta["sdtype"]
        if sdtype in ("numerical", "datetime"):
            for block, frame in zip(blocks, frames, strict=True):
                block.append(_to_float(frame[name], sdtype)[:, None])
            names.append(name)
            categorical.append(False)
            continue
        codes, categories = _category_codes(frames, name)
        n_categories = len(categories)
        if method == "logistic":
            eye = np.eye(n_categories)
            for block, c in zip(blocks, codes, strict=True):
                block.append(eye[c])
            names.extend(f"{name}={category}" for category in categories)
            categorical.extend([False] * n_categories)
        else:
            for block, c in zip(blocks, codes, strict=True):
                block.append(c[:, None].astype(float))
            names.append(name)
            # Native categorical splits need at most 255 categories.
            categorical.append(n_categories <= 255)
    matrices = [np.hstack(block) for block in blocks]
    for matrix in matrices:
        matrix[~np.isfinite(matrix)] = np.nan
    return matrices, names, np.asarray(categorical, dtype=bool)


def _detector(method, categorical, random_state):
    if method == "logistic":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import RobustScaler

        # The pipeline of SDMetrics' LogisticDetection.
        return Pipeline(
            [
                ("imputer", SimpleImputer()),
                ("scaler", RobustScaler()),
                ("classifier", LogisticRegression(solver="lbfgs")),
            ]
        )
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        categorical_features=categorical if categorical.any() else None,
        random_state=random_state,
    )


_METHODS = ("logistic", "gradient_boosting")


def _detection_aucs(
    real, synthetic, *, method, schema, max_rows, random_state, n_splits
):
    """Per-fold ROC AUCs of a real-vs-synthetic classifier (real = positive)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}.")
    (real_data, synthetic_data), metadata = _align(
        real,
        synthetic,
        names=("real", "synthetic"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    (real_x, synthetic_x), _, categorical = _detection_features(
        [real_data, synthetic_data], metadata, method=method
    )
    X = np.vstack([real_x, synthetic_x])
    y = np.r_[np.ones(len(real_x)), np.zeros(len(synthetic_x))]
    if min(len(real_x), len(synthetic_x)) < n_splits:
        raise ValueError(
            f"detection needs at least n_splits={n_splits} rows in each table, got "
            f"{len(real_x)} real and {len(synthetic_x)} synthetic rows."
        )
    seed = _seed(random_state)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    aucs = []
    for train, test in folds.split(X, y):
        model = _detector(method, categorical, seed)
        # One BLAS thread: lbfgs on ~100 features gains nothing from more, and on
        # a busy machine spinning BLAS threads made it 8x slower (measured).
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore")  # lbfgs ConvergenceWarning, as in SDMetrics
            model.fit(X[train], y[train])
            proba = model.predict_proba(X[test])[:, 1]
        aucs.append(float(roc_auc_score(y[test], proba)))
    return np.asarray(aucs)


def detection_score(
    real,
    synthetic,
    *,
    method="logistic",
    schema=None,
    max_rows=None,
    random_state=0,
    n_splits=3,
):
    """Detection (C2ST) score: how hard it is to tell synthetic rows from real ones.

    A classifier learns to separate real from synthetic rows in
    ``n_splits``-fold stratified cross-validation; with ``AUC`` its ROC AUC on
    each held-out fold, the score is ``1 - mean(max(AUC, 0.5) * 2 - 1)``, the
    scale of SDMetrics' ``LogisticDetection``: 1 means indistinguishable (AUC
    0.5), 0 means perfectly separable (AUC 1).

    - ``method="logistic"``: SDMetrics' LogisticDetection — the same
      pipeline (mean imputation, RobustScaler, lbfgs LogisticRegression on
      one-hot categories) and formula, with two fixes: the folds are shuffled
      with a fixed seed (SDMetrics uses none, so its score changes from call
      to call), and the one-hot encoding is fitted on both tables (SDMetrics
      fits it on the real one and raises when the synthetic table has a
      category the real one lacks). Boolean columns are encoded as categories
      (SDMetrics drops them).
    - ``method="gradient_boosting"``: a stricter detector,
      ``HistGradientBoostingClassifier`` (native categorical splits, seeded),
      which also catches non-linear and interaction artefacts a linear model
      misses. Same scale.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns.
    method : {"logistic", "gradient_boosting"}, default="logistic"
        The detector.
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``real`` when None.
    max_rows : int, default=None
        Use at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the folds, the detector and the subsampling.
    n_splits : int, default=3
        Number of cross-validation folds (SDMetrics uses 3).

    Returns
    -------
    score : float
        In [0, 1]; 1 is best (indistinguishable).

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import detection_score
    >>> adult = load_adult()
    >>> real, other_real = adult.iloc[:1000], adult.iloc[1000:2000]
    >>> detection_score(real, other_real) > 0.8
    True
    >>> shifted = other_real.assign(age=other_real["age"] + 20)
    >>> detection_score(real, shifted, method="gradient_boosting") < 0.2
    True
    """
    aucs = _detection_aucs(
        real,
        synthetic,
        method=method,
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
        n_splits=n_splits,
    )
    return float(1.0 - np.mean(np.maximum(aucs, 0.5) * 2 - 1))
