"""TabularEncoder: a mixed-type table to and from a float matrix with a layout."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.special import digamma, ndtr, ndtri
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._layout import Layout, Span
from ._schema import (
    codes_to_column,
    column_to_codes,
    column_to_numeric,
    infer_schema,
    numeric_to_column,
)

__all__ = ["TabularEncoder"]

#: Mode-specific values are clipped to this bound, as in CTGAN / TVAE.
_VALUE_CLIP = 0.99
#: Quantile-to-normal probabilities are kept this far from 0 and 1.
_QUANTILE_EPS = 1e-7
#: Mixture fits are batched so one (distinct values x components) array stays
#: under this many elements (16 MB of float64).
_GMM_BATCH_ELEMENTS = 2_000_000


# ---------------------------------------------------------------------------
# Batched variational Dirichlet-process Gaussian mixtures in one dimension.
#
# All columns are fitted together on one flat array: each column's distinct
# values, sorted, with their counts as weights (exactly the same EM as on the
# raw values, since equal values share responsibilities), one contiguous
# segment per column. Per-segment sums use ``np.add.reduceat``.
# ---------------------------------------------------------------------------


def _segment_draw(weights, starts, stops, rng):
    """Index of one element per segment, drawn with probability ``weights``."""
    cum = np.cumsum(weights)
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    totals = cum[stops - 1] - before
    target = before + rng.random(len(starts)) * totals
    index = np.searchsorted(cum, target, side="right")
    return np.clip(index, starts, stops - 1), totals


def _kmeans_1d(x, counts, segment, starts, stops, n_components, rng, n_iter=20):
    """Weighted k-means++ seeding then Lloyd iterations; returns labels ``(N,)``."""
    n_columns = len(starts)
    centers = np.empty((n_columns, n_components))
    first, _ = _segment_draw(counts, starts, stops, rng)
    centers[:, 0] = x[first]
    d2 = counts * (x - centers[segment, 0]) ** 2
    for k in range(1, n_components):
        pick, totals = _segment_draw(d2, starts, stops, rng)
        # Fewer distinct values than components: repeat the first centre.
        centers[:, k] = np.where(totals > 0, x[pick], centers[:, 0])
        d2 = np.minimum(d2, counts * (x - centers[segment, k]) ** 2)
    components = np.arange(n_components)
    for _ in range(n_iter):
        labels = np.argmin(np.abs(x[:, None] - centers[segment]), axis=1)
        onehot = (labels[:, None] == components) * counts[:, None]
        sizes = np.add.reduceat(onehot, starts, axis=0)
        sums = np.add.reduceat(onehot * x[:, None], starts, axis=0)
        new = np.where(sizes > 0, sums / np.where(sizes > 0, sizes, 1), centers)
        if np.allclose(new, centers):
            break
        centers = new
    return np.argmin(np.abs(x[:, None] - centers[segment]), axis=1)


def _variational_m_step(resp_weighted, x, x2, starts, priors, reg_covar):
    """Posterior parameters of weights, means and precisions, ``(C, K)`` each."""
    mean_prior, var_prior, beta0, nu0, gamma0 = priors
    nk = np.add.reduceat(resp_weighted, starts, axis=0) + 10 * np.finfo(np.float64).eps
    xk = np.add.reduceat(resp_weighted * x[:, None], starts, axis=0) / nk
    sk = np.add.reduceat(resp_weighted * x2[:, None], starts, axis=0) / nk - xk**2
    sk = np.maximum(sk, 0.0) + reg_covar
    tail = np.cumsum(nk[:, ::-1], axis=1)[:, ::-1] - nk
    alpha, beta_stick = 1.0 + nk, gamma0 + tail
    beta = beta0 + nk
    means = (beta0 * mean_prior + nk * xk) / beta
    nu = nu0 + nk
    covariances = (
        var_prior + nk * sk + nk * beta0 / beta * (xk - mean_prior) ** 2
    ) / nu
    return alpha, beta_stick, beta, means, nu, covariances


def _fit_segments(
    parts,
    weights_parts,
    *,
    n_components,
    weight_concentration_prior,
    max_iter,
    tol,
    reg_covar,
    rng,
):
    """Variational EM for the columns of one batch (see :func:`fit_dpgmm_1d`).

    Returns ``(weights, means, covariances, n_iter)``, arrays of shape ``(C, K)``
    in standardised units.
    """
    n_columns = len(parts)
    sizes = np.array([len(p) for p in parts])
    stops = np.cumsum(sizes)
    starts = stops - sizes
    segment = np.repeat(np.arange(n_columns), sizes)
    x = np.concatenate(parts)
    counts = np.concatenate(weights_parts)
    x2 = x * x
    n = np.add.reduceat(counts, starts)
    # Priors as in scikit-learn: data mean and (unbiased) data variance.
    mean_prior = np.add.reduceat(counts * x, starts) / n
    var_prior = np.add.reduceat(counts * (x - mean_prior[segment]) ** 2, starts)
    var_prior = var_prior / np.maximum(n - 1, 1)
    var_prior = np.where(var_prior > 0, var_prior, 1.0)
    priors = (
        mean_prior[:, None],
        var_prior[:, None],
        1.0,
        1.0,
        weight_concentration_prior,
    )

    labels = _kmeans_1d(x, counts, segment, starts, stops, n_components, rng)
    resp = (labels[:, None] == np.arange(n_components)).astype(np.float64)
    previous = np.full(n_columns, -np.inf)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        alpha, beta_stick, beta, means, nu, covariances = _variational_m_step(
            resp * counts[:, None], x, x2, starts, priors, reg_covar
        )
        # E-step: expected log weights (stick breaking) and log likelihoods.
        dg_sum = digamma(alpha + beta_stick)
        log_weights = digamma(alpha) - dg_sum
        log_weights[:, 1:] += np.cumsum(digamma(beta_stick) - dg_sum, axis=1)[:, :-1]
        precision = 1.0 / covariances
        const = (
            log_weights
            + 0.5 * np.log(precision)
            - 0.5 * np.log(2 * np.pi)
            - 0.5 * np.log(nu)
            + 0.5 * (np.log(2.0) + digamma(0.5 * nu) - 1.0 / beta)
        )
        # log_prob = const - precision / 2 * (x - mean)^2, then a normalised exp.
        resp = x[:, None] - means[segment]
        np.square(resp, out=resp)
        resp *= -0.5 * precision[segment]
        resp += const[segment]
        top = resp.max(axis=1, keepdims=True)
        resp -= top
        np.exp(resp, out=resp)
        total = resp.sum(axis=1, keepdims=True)
        resp /= total
        log_norm = np.log(total[:, 0]) + top[:, 0]
        current = np.add.reduceat(counts * log_norm, starts) / n
        if np.all(np.abs(current - previous) < tol):
            break
        previous = current
    # Final M-step on the last responsibilities, as scikit-learn does.
    alpha, beta_stick, beta, means, nu, covariances = _variational_m_step(
        resp * counts[:, None], x, x2, starts, priors, reg_covar
    )
    weights = alpha / (alpha + beta_stick)
    weights[:, 1:] *= np.cumprod(beta_stick / (alpha + beta_stick), axis=1)[:, :-1]
    weights /= weights.sum(axis=1, keepdims=True)
    return weights, means, covariances, n_iter


def fit_dpgmm_1d(
    columns,
    *,
    n_components=10,
    weight_concentration_prior=1e-3,
    max_iter=100,
    tol=1e-5,
    reg_covar=1e-6,
    random_state=None,
    return_n_iter=False,
):
    """Fit one variational Dirichlet-process Gaussian mixture per 1-D sample.

    The model and updates are those of scikit-learn's
    :class:`~sklearn.mixture.BayesianGaussianMixture` with
    ``weight_concentration_prior_type="dirichlet_process"`` and its default priors
    (mean prior = data mean, mean precision prior 1, degrees of freedom prior 1,
    covariance prior = data variance), initialised by k-means(++). All columns are
    fitted together in one batched numpy computation over their distinct values
    weighted by counts, which gives the same updates as the raw values at a
    fraction of the cost for columns with repeated values. Each column is
    standardised first, so ``reg_covar`` is relative to its variance.

    Parameters
    ----------
    columns : list of 1-D ndarray
        Observed (finite) values of each column.
    n_components : int, default=10
        Upper bound on the number of components.
    weight_concentration_prior : float, default=1e-3
        Dirichlet-process concentration; small values prune unused components.
    max_iter : int, default=100
        Maximum number of variational EM iterations.
    tol : float, default=1e-5
        Stop when the mean per-sample log-normaliser of every column changes by
        less than this.
    reg_covar : float, default=1e-6
        Added to each component variance (in standardised units).
    random_state : int, RandomState instance or None
        Seeds the k-means++ initialisation.
    return_n_iter : bool, default=False
        Also return the number of EM iterations run.

    Returns
    -------
    params : list of (weights, means, stds)
        Expected stick-breaking weights (summing to 1), means and standard deviations
        (square root of the expected covariance) of every component, per column, in
        the columns' original units.
    n_iter : int
        Only with ``return_n_iter=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.preprocessing._encoder import fit_dpgmm_1d
    >>> rng = np.random.RandomState(0)
    >>> x = np.concatenate([rng.normal(-5, 1, 500), rng.normal(5, 1, 500)])
    >>> weights, means, stds = fit_dpgmm_1d([x], random_state=0)[0]
    >>> keep = weights > 0.005
    >>> sorted(set(np.round(means[keep]).tolist()))  # every kept mode near -5 or 5
    [-5.0, 5.0]
    >>> round(float(weights[means < 0].sum()), 2)
    0.5
    """
    rng = check_random_state(random_state)
    n_columns = len(columns)
    if n_columns == 0:
        return ([], 0) if return_n_iter else []
    centers = np.zeros(n_columns)
    scales = np.ones(n_columns)
    parts, weights_parts = [], []
    for i, values in enumerate(columns):
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:  # nothing observed: a dummy point
            values = np.zeros(1)
        centers[i] = values.mean()
        std = values.std()
        scales[i] = std if std > 0 else 1.0
        distinct, counts = np.unique(values, return_counts=True)
        parts.append((distinct - centers[i]) / scales[i])
        weights_parts.append(counts.astype(np.float64))
    # Batches of columns, so the (values x components) arrays stay small.
    budget = max(_GMM_BATCH_ELEMENTS // n_components, 1)
    batches, current, size = [], [], 0
    for i, part in enumerate(parts):
        if current and size + len(part) > budget:
            batches.append(current)
            current, size = [], 0
        current.append(i)
        size += len(part)
    batches.append(current)
    result, n_iter = [None] * n_columns, 0
    for batch in batches:
        weights, means, covariances, batch_iter = _fit_segments(
            [parts[i] for i in batch],
            [weights_parts[i] for i in batch],
            n_components=n_components,
            weight_concentration_prior=weight_concentration_prior,
            max_iter=max_iter,
            tol=tol,
            reg_covar=reg_covar,
            rng=rng,
        )
        n_iter = max(n_iter, batch_iter)
        for row, i in enumerate(batch):
            result[i] = (
                weights[row].copy(),
                means[row] * scales[i] + centers[i],
                np.sqrt(covariances[row]) * scales[i],
            )
    return (result, n_iter) if return_n_iter else result


# ---------------------------------------------------------------------------
# Per-strategy encoders of one numeric column (vectorised over rows).
# ---------------------------------------------------------------------------


def _mode_log_posterior(x, extra):
    """Unnormalised log posterior of each kept mode, ``(n, K)``; infeasible modes
    (whose normalised value would be clipped) are excluded where any is feasible."""
    means, stds, log_weights = extra["means"], extra["stds"], extra["log_weights"]
    z = (x[:, None] - means) / stds
    log_post = log_weights - np.log(stds) - 0.5 * z * z
    feasible = np.abs(z) <= 4 * _VALUE_CLIP
    any_feasible = feasible.any(axis=1, keepdims=True)
    return np.where(feasible | ~any_feasible, log_post, -np.inf)


def _prune_modes(x, weights, means, stds, weight_threshold):
    """Keep the components that matter and make sure they cover every value.

    Kept: components with weight above the threshold, plus any pruned component
    that is the only one able to encode some training value unclipped. A value
    still beyond ``4 * 0.99`` standard deviations of every kept mode widens its
    most probable mode just enough to cover it. So every training value survives
    the round trip (CTGAN would clip such values, losing them).

    Returns
    -------
    keep : ndarray of bool
    stds : ndarray
        Standard deviations, possibly widened (all components).
    """
    keep = weights > weight_threshold
    if not keep.any():
        keep = weights == weights.max()
    stds = np.maximum(stds, np.finfo(np.float64).tiny)
    if x.size == 0:
        return keep, stds
    z = np.abs(x[:, None] - means) / stds
    feasible = z <= 4 * _VALUE_CLIP
    uncovered = ~(feasible[:, keep].any(axis=1)) & feasible.any(axis=1)
    if uncovered.any():
        z_unc = z[uncovered]
        log_post = np.where(
            feasible[uncovered],
            np.log(np.maximum(weights, 1e-300)) - np.log(stds) - 0.5 * z_unc * z_unc,
            -np.inf,
        )
        keep = keep.copy()
        keep[np.unique(np.argmax(log_post, axis=1))] = True
    outside = ~(feasible[:, keep].any(axis=1))
    if outside.any():
        kept = np.flatnonzero(keep)
        z_out = z[outside][:, kept]
        log_post = np.log(np.maximum(weights[kept], 1e-300)) - np.log(stds[kept])
        best = kept[np.argmax(log_post - 0.5 * z_out * z_out, axis=1)]
        needed = np.abs(x[outside] - means[best]) / (4 * _VALUE_CLIP) * (1 + 1e-9)
        stds = stds.copy()
        np.maximum.at(stds, best, needed)
    return keep, stds


def _encode_mode_specific(x, extra, assignment, rng):
    """Normalised values ``(n,)`` and mode indices ``(n,)``."""
    log_post = _mode_log_posterior(x, extra)
    n_modes = log_post.shape[1]
    if assignment == "argmax" or n_modes == 1:
        modes = np.argmax(log_post, axis=1)
    else:
        # One uniform per row against the cumulative posterior: a vectorised draw.
        post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        cum = np.cumsum(post, axis=1)
        u = rng.random(x.shape[0]) * cum[:, -1]
        modes = np.minimum((cum <= u[:, None]).sum(axis=1), n_modes - 1)
    values = (x - extra["means"][modes]) / (4 * extra["stds"][modes])
    return np.clip(values, -_VALUE_CLIP, _VALUE_CLIP), modes


def _decode_mode_specific(values, mode_block, extra):
    modes = np.argmax(mode_block, axis=1)
    values = np.clip(values, -1.0, 1.0)
    return values * 4 * extra["stds"][modes] + extra["means"][modes]


def _encode_quantile(x, extra):
    quantiles, references = extra["quantiles"], extra["references"]
    # Average of the interpolations from both ends, so ties map to their middle.
    p = 0.5 * (
        np.interp(x, quantiles, references)
        - np.interp(-x, -quantiles[::-1], -references[::-1])
    )
    return ndtri(np.clip(p, _QUANTILE_EPS, 1 - _QUANTILE_EPS))


def _decode_quantile(values, extra):
    quantiles = extra["quantiles"]
    p = ndtr(values)
    decoded = np.interp(p, extra["references"], quantiles)
    # Probabilities clipped at encoding go back to the exact bounds (as sklearn does).
    decoded[p <= 2 * _QUANTILE_EPS] = quantiles[0]
    decoded[p >= 1 - 2 * _QUANTILE_EPS] = quantiles[-1]
    return decoded


def _numeric_bounds(column):
    if column.kind == "datetime":
        return 0.0, float(column.max - column.min)
    return float(column.min), float(column.max)


def _encode_minmax(x, column):
    lo, hi = _numeric_bounds(column)
    if hi <= lo:
        return np.zeros_like(x)
    return np.clip(2.0 * (x - lo) / (hi - lo) - 1.0, -1.0, 1.0)


def _decode_minmax(values, column):
    lo, hi = _numeric_bounds(column)
    return lo + (np.clip(values, -1.0, 1.0) + 1.0) * 0.5 * (hi - lo)


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Encode a mixed-type table as a float matrix, and decode it back.

    Each column gets a kind (continuous, integer, categorical, boolean, datetime)
    learned at fit, and one or more *spans* of encoded units, listed in
    ``layout_``: numeric and datetime columns a normalised value (plus a one-hot
    mode for mode-specific normalisation), discrete columns a one-hot block or an
    integer code, and columns with missing values a two-unit ``[observed, missing]``
    indicator. :meth:`inverse_transform` restores column names, order, dtypes
    (including pandas nullable, category and tz-aware datetime dtypes), category
    sets, missing markers, bounds and rounding. All work is vectorised over rows.

    Parameters
    ----------
    continuous : {"mode_specific", "quantile", "minmax"}, default="mode_specific"
        Encoding of continuous, integer and datetime columns.

        - ``"mode_specific"``: mode-specific normalisation (CTGAN / TVAE). A
          variational Dirichlet-process Gaussian mixture is fitted per column;
          modes with weight above ``weight_threshold`` are kept; a value becomes
          ``(x - mu_k) / (4 sigma_k)`` clipped to [-0.99, 0.99] (a ``"tanh"`` span)
          plus the one-hot mode ``k`` (a ``"softmax"`` span).
        - ``"quantile"``: quantile-to-normal transform (a ``"linear"`` span).
        - ``"minmax"``: scaled to [-1, 1] (a ``"tanh"`` span).
    max_modes : int, default=10
        Number of mixture components fitted per column (an upper bound on modes).
    weight_threshold : float, default=0.005
        Mixture components with a smaller expected weight are dropped.
    categorical : {"onehot", "ordinal"}, default="onehot"
        ``"onehot"``: a ``"softmax"`` span of one unit per category;
        ``"ordinal"``: one ``"code"`` span holding the category index, for networks
        with embedding layers.
    discrete_columns : list of column labels, default=None
        Columns to treat as categorical whatever their dtype.
    mode_assignment : {"sample", "argmax"}, default="sample"
        How :meth:`transform` picks the mode of a mode-specific value: draw it from
        the posterior (as CTGAN does for training) or take the most probable one.
    gmm_max_samples : int or None, default=50_000
        Each column's mixture is fitted on at most this many observed values, drawn
        at random without replacement (``None``: all of them). This bounds fit time
        and memory on large tables; smaller values fit faster at some cost in
        mixture likelihood (measured in ``benchmarks/results/encoder.md``). The
        mixtures are fitted on each column's distinct values weighted by their
        counts, so columns with repeated values are cheap whatever their length.
    gmm_max_iter : int, default=100
        Maximum variational EM iterations of the mixtures.
    n_quantiles : int, default=1000
        Number of quantiles of the ``"quantile"`` strategy (capped at the number of
        observed values).
    random_state : int, RandomState instance or None, default=None
        Seeds the mixtures' initialisation and subsampling at fit, and the mode
        draws of :meth:`transform` (a fresh generator per call, so an int gives the
        same output every call).

    Attributes
    ----------
    schema_ : list of ColumnSchema
        What was learned about each column, in column order.
    layout_ : Layout
        The spans of the encoded matrix.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit, when they are all strings.

    See Also
    --------
    sklearn.preprocessing.QuantileTransformer : Quantile-to-normal of numeric data.
    sklearn.mixture.BayesianGaussianMixture : The mixture model fitted per column.

    Notes
    -----
    The encoded matrix is float32, so a value keeps about seven significant digits
    of its span's scale: integers and datetimes decode exactly while their range
    (in units of their resolution) stays well below ``1e6`` per mode or range.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_gen.preprocessing import TabularEncoder
    >>> df = pd.DataFrame({"age": [23, 35, 58, 41], "sex": ["F", "M", "F", None]})
    >>> enc = TabularEncoder(continuous="minmax", random_state=0).fit(df)
    >>> enc.get_feature_names_out().tolist()
    ['age.value', 'sex.category_F', 'sex.category_M', 'sex.missing']
    >>> Z = enc.transform(df)
    >>> Z.shape, Z.dtype
    ((4, 4), dtype('float32'))
    >>> enc.inverse_transform(Z).equals(df)
    True
    """

    _parameter_constraints: dict = {
        "continuous": [StrOptions({"mode_specific", "quantile", "minmax"})],
        "max_modes": [Interval(Integral, 1, None, closed="left")],
        "weight_threshold": [Interval(Real, 0, 1, closed="left")],
        "categorical": [StrOptions({"onehot", "ordinal"})],
        "discrete_columns": ["array-like", None],
        "mode_assignment": [StrOptions({"sample", "argmax"})],
        "gmm_max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "gmm_max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_quantiles": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        continuous="mode_specific",
        max_modes=10,
        weight_threshold=0.005,
        categorical="onehot",
        discrete_columns=None,
        mode_assignment="sample",
        gmm_max_samples=50_000,
        gmm_max_iter=100,
        n_quantiles=1000,
        random_state=None,
    ):
        self.continuous = continuous
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.categorical = categorical
        self.discrete_columns = discrete_columns
        self.mode_assignment = mode_assignment
        self.gmm_max_samples = gmm_max_samples
        self.gmm_max_iter = gmm_max_iter
        self.n_quantiles = n_quantiles
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    # ------------------------------------------------------------------ input

    def _validate_frame(self, X, *, reset):
        """``(DataFrame, array dtype or None)``; the DataFrame shares X's data."""
        if hasattr(X, "iloc") and hasattr(X, "columns"):
            frame, array_dtype = X, None
        else:
            if hasattr(X, "toarray") or hasattr(X, "tocsr"):
                raise TypeError(
                    "TabularEncoder does not accept sparse input; pass a DataFrame or "
                    "a dense array."
                )
            array = np.asarray(X)
            if array.ndim != 2:
                raise ValueError(
                    f"Expected 2D array, got {array.ndim}D array instead. Reshape "
                    "your data, e.g. with array.reshape(-1, 1) for a single feature."
                )
            frame, array_dtype = pd.DataFrame(array, copy=False), array.dtype
        if frame.ndim != 2:
            raise ValueError(f"Expected a 2D table, got {frame.ndim}D input.")
        n_samples, n_columns = frame.shape
        if n_columns == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={frame.shape}) while a minimum "
                "of 1 is required by TabularEncoder."
            )
        if n_samples == 0 or (reset and n_samples < 2):
            raise ValueError(
                f"Found array with {n_samples} sample(s) (shape={frame.shape}) while a "
                f"minimum of {2 if reset else 1} is required by TabularEncoder; it "
                f"cannot learn from {n_samples} sample."
            )
        if not frame.columns.is_unique:
            duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
            raise ValueError(f"Column names must be unique; duplicated: {duplicated}.")
        if not reset and array_dtype is None and self._array_dtype_ is None:
            self._check_columns(frame)  # names the missing / extra columns
        validate_data(self, X=frame, skip_check_array=True, reset=reset)
        if not reset and list(frame.columns) != [c.name for c in self.schema_]:
            # Fitted on an array, or given one: columns are matched by position.
            frame = frame.set_axis([c.name for c in self.schema_], axis=1)
        return frame, array_dtype

    def _check_columns(self, frame):
        if isinstance(frame.columns, pd.RangeIndex):
            return  # unnamed columns: matched by position after the count check
        expected = [column.name for column in self.schema_]
        present = list(frame.columns)
        missing = [name for name in expected if name not in set(present)]
        if missing:
            raise ValueError(f"X is missing column(s) {missing} seen during fit.")
        extra = [name for name in present if name not in set(expected)]
        if extra:
            raise ValueError(f"X has column(s) {extra} not seen during fit.")
        if present != expected:
            raise ValueError(
                f"X has the fitted columns in a different order: got {present}, "
                f"expected {expected}."
            )

    # ------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn each column's schema and encoding.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table. Any dtype, including object, string, category, boolean,
            pandas nullable and datetime columns; missing values allowed.
        y : None
            Ignored.

        Returns
        -------
        self : TabularEncoder
            Fitted encoder.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_gen.preprocessing import TabularEncoder
        >>> X = np.random.RandomState(0).normal(size=(100, 2))
        >>> TabularEncoder(random_state=0).fit(X).layout_.n_features > 2
        True
        """
        frame, array_dtype = self._validate_frame(X, reset=True)
        self._array_dtype_ = array_dtype
        discrete = self.discrete_columns
        if discrete is not None:
            unknown = [c for c in discrete if c not in set(frame.columns)]
            if unknown:
                raise ValueError(f"discrete_columns {unknown} are not columns of X.")
        schema = infer_schema(frame, discrete or ())
        rng = check_random_state(self.random_state)

        numeric = [column for column in schema if not column.is_discrete]
        observed = {}
        for column in numeric:
            values = column_to_numeric(frame[column.name], column)
            kept = values[~np.isnan(values)]
            observed[column.name] = kept
            column.extra["strategy"] = self.continuous
            column.extra["fill_value"] = float(kept.mean()) if kept.size else 0.0

        if self.continuous == "mode_specific" and numeric:
            samples = []
            for column in numeric:
                values = observed[column.name]
                if (
                    self.gmm_max_samples is not None
                    and values.size > self.gmm_max_samples
                ):
                    values = values[
                        rng.choice(values.size, self.gmm_max_samples, replace=False)
                    ]
                samples.append(values)
            mixtures = fit_dpgmm_1d(
                samples,
                n_components=self.max_modes,
                max_iter=self.gmm_max_iter,
                random_state=rng,
            )
            for column, (weights, means, stds) in zip(numeric, mixtures, strict=True):
                keep, stds = _prune_modes(
                    observed[column.name], weights, means, stds, self.weight_threshold
                )
                order = np.argsort(means[keep], kind="stable")
                kept_weights = weights[keep][order]
                column.extra.update(
                    means=means[keep][order],
                    stds=np.maximum(stds[keep][order], np.finfo(np.float64).tiny),
                    weights=kept_weights / kept_weights.sum(),
                )
                column.extra["log_weights"] = np.log(column.extra["weights"])
        elif self.continuous == "quantile":
            for column in numeric:
                values = observed[column.name]
                if values.size == 0:
                    values = np.zeros(1)
                n_quantiles = max(min(self.n_quantiles, values.size), 2)
                references = np.linspace(0.0, 1.0, n_quantiles)
                column.extra.update(
                    references=references,
                    quantiles=np.maximum.accumulate(np.quantile(values, references)),
                )

        self.schema_ = schema
        self.layout_ = Layout(self._build_spans(schema))
        return self

    def _build_spans(self, schema):
        spans, position = [], 0

        def add(name, width, activation, role, n_categories=None):
            nonlocal position
            spans.append(
                Span(name, position, position + width, activation, role, n_categories)
            )
            position += width

        for column in schema:
            if column.is_discrete:
                n_categories = len(column.categories) + int(column.has_missing)
                if self.categorical == "onehot":
                    add(column.name, n_categories, "softmax", "category", n_categories)
                else:
                    add(column.name, 1, "code", "category", n_categories)
                continue
            strategy = column.extra["strategy"]
            if strategy == "mode_specific":
                add(column.name, 1, "tanh", "value")
                n_modes = len(column.extra["means"])
                add(column.name, n_modes, "softmax", "mode", n_modes)
            elif strategy == "quantile":
                add(column.name, 1, "linear", "value")
            else:
                add(column.name, 1, "tanh", "value")
            if column.has_missing:
                add(column.name, 2, "softmax", "missing", 2)
        return spans

    # ------------------------------------------------------------- transform

    def transform(self, X):
        """Encode X as a float32 matrix laid out as ``layout_``.

        Mode-specific values get their mode by ``mode_assignment``; ``"sample"``
        uses a fresh ``check_random_state(random_state)`` on each call.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Table with the fitted columns, in the fitted order.

        Returns
        -------
        Z : ndarray of shape (n_samples, layout_.n_features), dtype float32
            The encoded table.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_gen.preprocessing import TabularEncoder
        >>> df = pd.DataFrame({"c": ["a", "b", "a"]})
        >>> TabularEncoder().fit(df).transform(df)
        array([[1., 0.],
               [0., 1.],
               [1., 0.]], dtype=float32)
        """
        return self.encode(X)

    def encode(self, X, *, mode_assignment=None, random_state=None):
        """Encode X, choosing how mode-specific values get their mode.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Table with the fitted columns, in the fitted order.
        mode_assignment : {"sample", "argmax"} or None, default=None
            ``"sample"``: draw each value's mode from its posterior (as CTGAN does
            during training); ``"argmax"``: the most probable mode. ``None`` uses
            the ``mode_assignment`` parameter.
        random_state : int, RandomState, numpy Generator or None, default=None
            Source of the ``"sample"`` draws (a generator passed in advances).
            ``None`` uses a fresh ``check_random_state(self.random_state)``.

        Returns
        -------
        Z : ndarray of shape (n_samples, layout_.n_features), dtype float32
            The encoded table.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_gen.preprocessing import TabularEncoder
        >>> X = np.random.RandomState(0).normal(size=(50, 1))
        >>> enc = TabularEncoder(random_state=0).fit(X)
        >>> rng = np.random.RandomState(1)
        >>> Z = enc.encode(X, mode_assignment="sample", random_state=rng)
        >>> np.allclose(enc.inverse_transform(Z), X, atol=1e-5)
        True
        """
        check_is_fitted(self)
        if mode_assignment is None:
            mode_assignment = self.mode_assignment
        if mode_assignment not in ("sample", "argmax"):
            raise ValueError(
                "mode_assignment must be 'sample' or 'argmax', got "
                f"{mode_assignment!r}."
            )
        if random_state is None:
            rng = check_random_state(self.random_state)
        elif isinstance(random_state, np.random.Generator):
            rng = random_state
        else:
            rng = check_random_state(random_state)
        frame, _ = self._validate_frame(X, reset=False)
        n_samples = frame.shape[0]
        out = np.zeros((n_samples, self.layout_.n_features), dtype=np.float32)
        spans_by_column = {}
        for span in self.layout_:
            spans_by_column.setdefault(span.column, []).append(span)
        for column in self.schema_:
            series = frame[column.name]
            spans = spans_by_column[column.name]
            if column.is_discrete:
                codes = column_to_codes(series, column)
                span = spans[0]
                if span.activation == "code":
                    out[:, span.start] = codes
                else:
                    out[np.arange(n_samples), span.start + codes] = 1.0
                continue
            values = column_to_numeric(series, column)
            missing = np.isnan(values)
            if missing.any():
                if not column.has_missing:
                    raise ValueError(
                        f"Column {column.name!r} has {int(missing.sum())} missing "
                        "value(s), but had none during fit. Fill them in, or refit on "
                        "data with missing values in this column."
                    )
                values = np.where(missing, column.extra["fill_value"], values)
            value_span = spans[0]
            strategy = column.extra["strategy"]
            if strategy == "mode_specific":
                encoded, modes = _encode_mode_specific(
                    values, column.extra, mode_assignment, rng
                )
                out[:, value_span.start] = encoded
                out[np.arange(n_samples), spans[1].start + modes] = 1.0
            elif strategy == "quantile":
                out[:, value_span.start] = _encode_quantile(values, column.extra)
            else:
                out[:, value_span.start] = _encode_minmax(values, column)
            if column.has_missing:
                missing_span = spans[-1]
                out[:, missing_span.start] = ~missing
                out[:, missing_span.start + 1] = missing
        return out

    # ------------------------------------------------------ inverse transform

    def inverse_transform(self, X):
        """Decode an encoded matrix back to a table like the one seen at fit.

        Softmax spans may hold logits, probabilities or one-hot rows (decoded by
        argmax); tanh spans are clipped to [-1, 1]; code spans are rounded and
        clipped. Values are clipped to the fitted bounds and rounded as learned.
        Non-finite entries are read as 0 (NaN) or as very large values (inf).

        Parameters
        ----------
        X : array-like of shape (n_samples, layout_.n_features)
            Encoded rows (e.g. a network's output). Not modified.

        Returns
        -------
        table : DataFrame or ndarray of shape (n_samples, n_features_in_)
            A DataFrame with the fitted column names, order and dtypes, or an
            ndarray of the fitted dtype when the encoder was fitted on an array.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_gen.preprocessing import TabularEncoder
        >>> df = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")})
        >>> enc = TabularEncoder(continuous="minmax").fit(df)
        >>> enc.inverse_transform(enc.transform(df))
              n
        0     1
        1  <NA>
        2     3
        """
        check_is_fitted(self)
        Z = np.asarray(X)
        if Z.ndim != 2 or Z.shape[1] != self.layout_.n_features:
            raise ValueError(
                f"Expected an encoded matrix of shape (n_samples, "
                f"{self.layout_.n_features}), got shape {Z.shape}."
            )
        Z = Z.astype(np.float64, copy=False)
        if not np.isfinite(Z).all():  # a diverged network: read NaN as 0 (copies)
            Z = np.nan_to_num(Z, nan=0.0, posinf=1e300, neginf=-1e300)
        spans_by_column = {}
        for span in self.layout_:
            spans_by_column.setdefault(span.column, []).append(span)
        data = {}
        for column in self.schema_:
            spans = spans_by_column[column.name]
            if column.is_discrete:
                span = spans[0]
                if span.activation == "code":
                    codes = np.clip(
                        np.rint(np.nan_to_num(Z[:, span.start])),
                        0,
                        span.n_categories - 1,
                    ).astype(np.intp)
                else:
                    codes = np.argmax(Z[:, span.start : span.stop], axis=1)
                data[column.name] = codes_to_column(codes, column)
                continue
            value = Z[:, spans[0].start]
            strategy = column.extra["strategy"]
            if strategy == "mode_specific":
                mode_span = spans[1]
                values = _decode_mode_specific(
                    value, Z[:, mode_span.start : mode_span.stop], column.extra
                )
            elif strategy == "quantile":
                values = _decode_quantile(value, column.extra)
            else:
                values = _decode_minmax(value, column)
            if column.has_missing:
                missing_span = spans[-1]
                missing = Z[:, missing_span.start + 1] > Z[:, missing_span.start]
            else:
                missing = np.zeros(Z.shape[0], dtype=bool)
            data[column.name] = numeric_to_column(values, missing, column)
        frame = pd.DataFrame(data, columns=[column.name for column in self.schema_])
        if self._array_dtype_ is not None:
            return frame.to_numpy(dtype=self._array_dtype_)
        return frame

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded units.

        ``"<col>.value"``, ``"<col>.mode_<k>"``, ``"<col>.category_<value>"``,
        ``"<col>.code"``, and ``"<col>.observed"`` / ``"<col>.missing"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; defaults to ``feature_names_in_`` or ``x0``,
            ``x1``, ... when fitted without string names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per column of the encoded matrix.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_gen.preprocessing import TabularEncoder
        >>> df = pd.DataFrame({"x": [0.5, None, 2.0]})
        >>> TabularEncoder(continuous="quantile").fit(df).get_feature_names_out()
        array(['x.value', 'x.observed', 'x.missing'], dtype=object)
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        label = {
            column.name: str(name)
            for column, name in zip(self.schema_, names, strict=True)
        }
        by_name = {column.name: column for column in self.schema_}
        out = []
        for span in self.layout_:
            prefix = label[span.column]
            column = by_name[span.column]
            if span.role == "value":
                out.append(f"{prefix}.value")
            elif span.role == "mode":
                out.extend(f"{prefix}.mode_{k}" for k in range(span.width))
            elif span.role == "missing":
                out.extend([f"{prefix}.observed", f"{prefix}.missing"])
            elif span.activation == "code":
                out.append(f"{prefix}.code")
            else:
                out.extend(f"{prefix}.category_{value}" for value in column.categories)
                if column.has_missing:
                    out.append(f"{prefix}.missing")
        return np.asarray(out, dtype=object)
