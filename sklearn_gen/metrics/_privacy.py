"""Privacy: distance to closest record (DCR), exact copies, and attack-based risks
(membership inference, attribute inference)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ._common import (
    _align,
    _category_codes,
    _numeric_embedding,
    _seed,
    _subsample,
    _to_float,
)
from ._quality import _as_frame, _string_labels

__all__ = [
    "attribute_inference_score",
    "dcr_share",
    "exact_copy_rate",
    "membership_inference_score",
]


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


def membership_inference_score(
    train,
    synthetic,
    holdout,
    *,
    method="distance",
    schema=None,
    max_rows=None,
    random_state=0,
):
    """ROC AUC of a membership-inference attack that only sees the synthetic rows.

    The attacker gets the synthetic table and a set of candidate real rows, half
    of them training rows (members) and half held-out rows (non-members), and
    scores each candidate by how strongly the synthetic data points at it:

    - ``method="distance"``: minus the distance to the nearest synthetic row (a
      generator that memorises puts synthetic rows on top of its training rows);
    - ``method="density_ratio"``: the DOMIAS attack (van Breugel et al., 2023),
      the log ratio of the synthetic data's density to the population's density
      at the candidate, both estimated with Gaussian kernels of the same
      bandwidth (a quarter of the reference rows' median nearest-neighbour
      spacing); half of the
      held-out rows serve as the population reference (and are not candidates).
      It flags over-representation in dense regions that the distance attack
      misses.

    The score is the attack's ROC AUC: 0.5 means the synthetic data tells
    members and non-members apart no better than chance (ideal), 1 means every
    member is found. The training rows are subsampled (fixed seed) to the number
    of non-member candidates, so the two classes are balanced.

    Distances and kernels work in the space of :func:`dcr_share`: numbers
    standardised on the synthetic rows (what the attacker has), categories
    one-hot encoded.

    Parameters
    ----------
    train : DataFrame or ndarray of shape (n_train, n_columns)
        The rows the generator was fitted on.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic rows, with the same columns.
    holdout : DataFrame or ndarray of shape (n_holdout, n_columns)
        Real rows from the same distribution, not used to fit the generator.
    method : {"distance", "density_ratio"}, default="distance"
        The attack.
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``train`` when None.
    max_rows : int, default=None
        Use at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the subsampling.

    Returns
    -------
    auc : float
        In [0, 1]; 0.5 is ideal, higher means members are exposed.

    See Also
    --------
    dcr_share : the share of synthetic rows closer to a training row.

    References
    ----------
    .. [1] B. van Breugel, H. Sun, Z. Qian, M. van der Schaar, "Membership
       Inference Attacks against Synthetic Data through Overfitting Detection",
       AISTATS 2023.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import membership_inference_score
    >>> adult = load_adult()
    >>> train, holdout = adult.iloc[:1000], adult.iloc[1000:2000]
    >>> fresh = adult.iloc[2000:3000]  # an ideal "generator": new rows
    >>> round(membership_inference_score(train, fresh, holdout), 1)
    0.5
    >>> membership_inference_score(train, train, holdout) > 0.95  # copies
    True
    """
    from sklearn.metrics import roc_auc_score

    if method not in ("distance", "density_ratio"):
        raise ValueError(
            f"method must be 'distance' or 'density_ratio', got {method!r}."
        )
    (train_frame, synthetic_frame, holdout_frame), metadata = _align(
        train,
        synthetic,
        holdout,
        names=("train", "synthetic", "holdout"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    reference_frame = None
    if method == "density_ratio":
        if len(holdout_frame) < 4:
            raise ValueError(
                "method='density_ratio' needs at least 4 holdout rows (half of them "
                "are the population reference)."
            )
        order = np.random.RandomState(_seed(random_state, 11)).permutation(
            len(holdout_frame)
        )
        half = len(order) // 2
        reference_frame = holdout_frame.iloc[np.sort(order[:half])]
        holdout_frame = holdout_frame.iloc[np.sort(order[half:])]
    members = _subsample(train_frame, len(holdout_frame), random_state, offset=7)
    non_members = _subsample(holdout_frame, len(members), random_state, offset=8)
    frames = [synthetic_frame, members, non_members]
    if reference_frame is not None:
        frames.append(reference_frame)
    embedded = _numeric_embedding(frames, metadata, scale_on=0)
    synthetic_x, candidates = embedded[0], np.vstack(embedded[1:3])
    labels = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    if method == "distance":
        scores = -_nearest_distance(candidates, synthetic_x)
    else:
        bandwidth = _kernel_bandwidth(embedded[3])
        scores = _log_density(synthetic_x, candidates, bandwidth) - _log_density(
            embedded[3], candidates, bandwidth
        )
    return float(roc_auc_score(labels, scores))


#: DOMIAS kernel bandwidth, as a fraction of the reference rows' median
#: nearest-neighbour spacing (in a one-hot space of tens of dimensions, rules of
#: thumb such as Scott's smooth every local excess away).
_DOMIAS_BANDWIDTH = 0.25


def _kernel_bandwidth(reference):
    """``_DOMIAS_BANDWIDTH`` times the median spacing of the reference rows."""
    from sklearn.neighbors import NearestNeighbors

    if len(reference) < 2:
        return 1.0
    spacing, _ = NearestNeighbors(n_neighbors=2).fit(reference).kneighbors(reference)
    positive = spacing[:, 1][spacing[:, 1] > 0]
    return _DOMIAS_BANDWIDTH * (float(np.median(positive)) if positive.size else 1.0)


def _log_density(points, queries, bandwidth, n_neighbors=30):
    """Gaussian kernel density of ``points`` at ``queries``, up to a constant (log).

    The sum runs over each query's ``n_neighbors`` nearest points (the others add
    nothing measurable). The normalising constant is omitted: it depends only on
    the bandwidth and the dimension, so it cancels in a density ratio with the
    same bandwidth.
    """
    from scipy.special import logsumexp
    from sklearn.neighbors import NearestNeighbors

    k = min(n_neighbors, len(points))
    distances, _ = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(queries)
    return logsumexp(-0.5 * (distances / bandwidth) ** 2, axis=1) - np.log(len(points))


def _discretised_codes(frames, name, sdtype, n_bins):
    """Integer codes of one column over (real, synthetic), numbers binned.

    Numerical and datetime columns are cut into ``n_bins`` equal-width bins over
    the real values, the outer edges opened to infinity (as SDMetrics'
    DisclosureProtection does); missing values are a category of their own.
    """
    if sdtype in ("numerical", "datetime"):
        values = [_to_float(frame[name], sdtype) for frame in frames]
        real = values[0]
        finite = real[np.isfinite(real)]
        if finite.size:
            _, bins = pd.cut(finite, n_bins, retbins=True)
            bins[0], bins[-1] = -np.inf, np.inf
        else:
            bins = np.array([-np.inf, np.inf])
        binned = []
        for v in values:
            codes = pd.cut(v, bins, labels=False).astype(float)
            codes[~np.isfinite(v)] = -1  # missing: a category of its own
            binned.append(pd.Series(codes, dtype=float).fillna(-1).to_numpy(np.int64))
        return binned
    codes, _ = _category_codes(frames, name)
    return codes


def attribute_inference_score(
    real,
    synthetic,
    *,
    sensitive,
    known=None,
    method="cap",
    n_bins=10,
    schema=None,
    max_rows=None,
    random_state=0,
):
    """Protection of a sensitive column against attribute inference (CAP attack).

    An attacker knows some columns of a real person's row (``known``) and uses
    the synthetic table to guess the person's ``sensitive`` value: among the
    synthetic rows whose known columns equal the person's, the share having the
    person's true sensitive value is the attack's *correct attribution
    probability* (CAP, Taub et al., 2018). The score compares the mean CAP over
    the real rows with random guessing:

    ``min(1, (1 - mean CAP) / (1 - 1 / n_categories))``

    1 means the synthetic data helps the attacker no more than guessing among
    the sensitive column's values (ideal); 0 means every attributed value is
    correct. This is SDMetrics' ``DisclosureProtection`` (and its
    ``CategoricalCAP`` attacker), computed with grouped counts instead of a loop
    over rows: the same value, in milliseconds instead of minutes. Numerical and
    datetime columns are cut into ``n_bins`` equal-width bins of the real
    values; missing values are a category.

    Give the training rows as ``real`` to measure the risk for the people the
    generator saw.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real rows attacked (typically the training rows).
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic rows, with the same columns.
    sensitive : str or list of str
        The column(s) the attacker wants to learn.
    known : list of str, default=None
        The columns the attacker knows. None means every other column (the
        strongest attacker; with many columns, exact matches are rare).
    method : {"cap", "zero_cap"}, default="cap"
        "cap" ignores real rows whose known values no synthetic row has;
        "zero_cap" counts them as a CAP of 0.
    n_bins : int, default=10
        Bins of the numerical and datetime columns.
    schema : list of ColumnSchema, default=None
        Column kinds; inferred from ``real`` when None.
    max_rows : int, default=None
        Use at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the subsampling.

    Returns
    -------
    score : float
        In [0, 1]; higher is better (1: no more disclosure than guessing). NaN
        when no real row has a match (``method="cap"``) or the sensitive column
        has a single value.

    References
    ----------
    .. [1] J. Taub, M. Elliot, M. Pampaka, D. Smith, "Differential Correct
       Attribution Probability for Synthetic Data: An Exploration", PSD 2018.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import attribute_inference_score
    >>> adult = load_adult()
    >>> train = adult.iloc[:1000]
    >>> known = ["age", "sex", "race", "marital-status"]
    >>> copies = attribute_inference_score(
    ...     train, train, sensitive="income", known=known)
    >>> fresh = attribute_inference_score(
    ...     train, adult.iloc[1000:2000], sensitive="income", known=known)
    >>> bool(copies < fresh)
    True
    """
    if method not in ("cap", "zero_cap"):
        raise ValueError(f"method must be 'cap' or 'zero_cap', got {method!r}.")
    if isinstance(n_bins, (bool, np.bool_)) or not isinstance(n_bins, numbers.Integral):
        raise TypeError(f"n_bins must be a positive int, got {n_bins!r}.")
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins}.")
    reference = _as_frame(real, argname="real")
    columns = list(reference.columns)
    if not isinstance(sensitive, (list, tuple)):
        sensitive = [sensitive]
    sensitive = list(sensitive)
    for name in sensitive:
        if name not in columns:
            raise ValueError(f"sensitive column {name!r} is not a column of real.")
    if known is None:
        known = [c for c in columns if c not in sensitive]
    else:
        known = [known] if not isinstance(known, (list, tuple)) else list(known)
        unknown = [c for c in known if c not in columns]
        if unknown:
            raise ValueError(f"known columns {unknown} are not columns of real.")
        overlap = [c for c in known if c in sensitive]
        if overlap:
            raise ValueError(f"columns {overlap} are both known and sensitive.")
    if not known:
        raise ValueError("The attacker must know at least one column (known).")
    (real_frame, synthetic_frame), metadata = _align(
        reference,
        synthetic,
        names=("real", "synthetic"),
        schema=schema,
        max_rows=max_rows,
        random_state=random_state,
    )
    mapping = _string_labels(columns)
    sdtypes = {name: meta["sdtype"] for name, meta in metadata["columns"].items()}
    frames = (real_frame, synthetic_frame)
    coded = {}
    for name in known + sensitive:
        label = mapping[name]
        coded[label] = _discretised_codes(frames, label, sdtypes[label], n_bins)
    key_labels = [mapping[c] for c in known]
    sensitive_labels = [mapping[c] for c in sensitive]
    real_codes = pd.DataFrame({k: v[0] for k, v in coded.items()})
    synthetic_codes = pd.DataFrame({k: v[1] for k, v in coded.items()})
    both = key_labels + sensitive_labels
    per_key = synthetic_codes.groupby(key_labels, sort=False).size().rename("_n_key")
    per_pair = synthetic_codes.groupby(both, sort=False).size().rename("_n_pair")
    joined = real_codes.join(per_key, on=key_labels).join(per_pair, on=both)
    cap = joined["_n_pair"].fillna(0.0) / joined["_n_key"]
    if method == "zero_cap":
        cap = cap.fillna(0.0)
    cap = cap.dropna()
    n_values = np.prod([real_codes[c].nunique() for c in sensitive_labels])
    baseline = 1.0 - 1.0 / float(n_values)
    if cap.empty or baseline == 0:
        return float("nan")
    protection = 1.0 - float(cap.mean())
    return float(min(protection / baseline, 1.0))
