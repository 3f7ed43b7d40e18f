"""An any-order autoregressive transformer over the columns of a table."""

from __future__ import annotations

import copy
import itertools
import numbers

import numpy as np
import pandas as pd
import torch
from scipy.special import logsumexp, ndtr, ndtri
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._training import adam_fused
from .._training._autoregressive import AutoregressiveNet
from ..base import (
    _SAMPLE_CHUNK,
    BaseGenerator,
    _in_intervals,
    _interval_bounds,
    _interval_cells,
    _numeric_condition_values,
)
from ..nn._autoregressive import AutoregressiveTransformer, ColumnPlan, TokenNLLLoss
from ..preprocessing import TabularEncoder
from ..preprocessing._encoder import _decode_quantile, _encode_quantile
from ..preprocessing._schema import column_to_codes, column_to_numeric
from ._docstrings import fill_shared_docs

#: Rows generated per block on the CPU with one torch thread: keeps the key/value
#: caches in cache (4096 rows sample 100k Adult rows in about 2/3 of the time of
#: one 65,536-row block). With more threads every operation is a synchronisation
#: point, so fewer, larger blocks win (on a busy 2-core machine, one block was
#: 3.6x faster than blocks of 4096 rows).
_CPU_SAMPLE_BLOCK = 4096
#: Rows scored per forward pass by ``score_samples``.
_SCORE_BLOCK = 4096


# ---------------------------------------------------------------------------
# Numerical columns: quantile levels, the values they decode to, their tokens.
# A level p in [0, 1] decodes (as TabularEncoder does) to Q(p), the piecewise
# linear interpolation of the column's fitted quantiles, clipped and rounded like
# the column; a value's token is the bin of its own (encoded) level.
# ---------------------------------------------------------------------------


def _lattice(schema):
    """``(step, multiplier)`` of the values a column decodes to.

    Integers: step 1; datetimes: their resolution (ns after ``min``); floats with
    learned decimals: ``10**-decimals`` (values are ``k / multiplier``); other
    floats: ``(0, None)`` (no rounding).
    """
    if schema.kind == "integer":
        return 1.0, 1.0
    if schema.kind == "datetime":
        return float(schema.extra.get("resolution_ns", 1)), None
    if schema.decimals is not None:
        return 10.0**-schema.decimals, 10.0**schema.decimals
    return 0.0, None


def _bounds(schema):
    """Observed range in ``column_to_numeric``'s units (datetimes: ns after min)."""
    if schema.kind == "datetime":
        return 0.0, float(schema.max - schema.min)
    return float(schema.min), float(schema.max)


def _round_like_decoder(x, schema, clip=True):
    """Round values as ``TabularEncoder.inverse_transform`` rounds the column."""
    lo, hi = _bounds(schema)
    if clip:
        x = np.clip(x, lo, hi)
    step, multiplier = _lattice(schema)
    if schema.kind == "datetime":
        return np.rint(x / step) * step
    if schema.kind == "integer":
        return np.rint(x)
    if multiplier is not None:
        return np.round(x, schema.decimals)
    return x


def _decoded_values(levels, schema):
    """The values quantile levels decode to (clipped and rounded)."""
    with np.errstate(divide="ignore"):
        z = ndtri(levels)
    return _round_like_decoder(_decode_quantile(z, schema.extra), schema)


def _value_tokens(x, schema, n_bins):
    """Bin tokens of observed values (as the encoded training table gives them)."""
    level = ndtr(_encode_quantile(x, schema.extra))
    return np.minimum(np.floor(level * n_bins), n_bins - 1).astype(np.int64)


def _level_thresholds(schema, n_bins, n_iter=64):
    """``thresholds[j-1]``: the smallest level whose decoded value has token >= j.

    Found by bisection for every ``j`` at once. The token of the value a level
    decodes to is then ``searchsorted(thresholds, level, side="right")``, which the
    sampler uses to feed the model exactly the token a real row with that value
    would have.
    """

    def token(levels):
        return _value_tokens(_decoded_values(levels, schema), schema, n_bins)

    j = np.arange(1, n_bins)
    lo, hi = np.zeros(n_bins - 1), np.ones(n_bins - 1)
    at_zero = token(np.zeros(1))[0] >= j
    never = token(np.ones(1))[0] < j
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        reached = token(mid) >= j
        hi = np.where(reached, mid, hi)
        lo = np.where(reached, lo, mid)
    thresholds = np.where(at_zero, 0.0, np.where(never, 2.0, hi))
    return np.maximum.accumulate(thresholds)


def _segment_level(v, j, quantiles, references):
    """Level where the segment ``j - 1 .. j`` of the quantile function reaches ``v``."""
    n = len(quantiles)
    k = np.clip(j, 1, n - 1)
    q0, q1 = quantiles[k - 1], quantiles[k]
    r0, r1 = references[k - 1], references[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        level = r0 + (v - q0) / (q1 - q0) * (r1 - r0)
    return np.where(j <= 0, 0.0, np.where(j >= n, 1.0, level))


def _level_sup(v, extra):
    """``sup {p : Q(p) <= v}`` (0 below the range, 1 above it)."""
    q, r = extra["quantiles"], extra["references"]
    return _segment_level(v, np.searchsorted(q, v, side="right"), q, r)


def _level_inf(v, extra):
    """``inf {p : Q(p) >= v}`` (0 below the range, 1 above it)."""
    q, r = extra["quantiles"], extra["references"]
    return _segment_level(v, np.searchsorted(q, v, side="left"), q, r)


def _bin_mass(probs, a, b):
    """Probability of the levels ``[a, b]`` (one pair per row of ``probs``) when bin
    ``k`` has probability ``probs[:, k]`` spread uniformly over it."""
    n_rows, n_bins = probs.shape
    rows = np.arange(n_rows)
    a = np.clip(a, 0.0, 1.0) * n_bins
    b = np.clip(np.maximum(a / n_bins, b), 0.0, 1.0) * n_bins
    ka = np.minimum(np.floor(a), n_bins - 1).astype(np.intp)
    kb = np.minimum(np.floor(b), n_bins - 1).astype(np.intp)
    cum = np.concatenate([np.zeros((n_rows, 1)), np.cumsum(probs, axis=1)], axis=1)
    same = probs[rows, ka] * (b - a)
    inner = cum[rows, kb] - cum[rows, np.minimum(ka + 1, n_bins)]
    split = (
        probs[rows, ka] * (ka + 1 - a)
        + np.maximum(inner, 0.0)
        + probs[rows, kb] * (b - kb)
    )
    return np.where(ka == kb, same, split)


@fill_shared_docs
class TransformerGenerator(BaseGenerator):
    """Any-order autoregressive transformer over the columns of a table.

    Each row is a sequence of column tokens. A categorical or boolean value is a
    token of its column; a numerical or datetime value is the index of its
    *quantile bin* (``n_bins`` bins of equal probability under the training data:
    equal-width bins of the quantile level ``Phi(z)`` of
    :class:`~sklearn_gen.preprocessing.TabularEncoder`'s quantile-normal score
    ``z``); a missing value is a token of its own. A causal transformer with column
    embeddings predicts each column given the columns placed before it: each input
    is the token of the previous column plus the embedding of the column to
    predict (there is no positional encoding). With ``order="random"`` it is
    trained on a fresh random column order per row and step, so it can predict any
    column from any subset of the others.

    **Refinement within a bin.** A sampled bin is refined *uniformly in quantile
    level* within the bin, and the level is decoded through the fitted quantile
    function (piecewise linear between the encoder's quantiles), then clipped and
    rounded like the column. Within a bin the values therefore follow the training
    data's own distribution, never a bin centre. The token fed to the later
    columns is the token of the decoded value, exactly what a real row with that
    value would give.

    **Sampling** runs one forward step per column over a key/value cache, for a
    whole batch of rows at once on the device; ``temperature`` scales every
    sampled column's logits. With ``order="random"`` the model is an *ensemble of
    orders* [2]_: ``n_orders`` column orders are drawn at fit (``orders_``; the
    natural order first), each row is generated in one of them picked uniformly,
    and :meth:`score_samples` is the log-likelihood of that mixture, so sampling
    and likelihood describe the same distribution. Each order's factorisation
    carries its own approximation errors; the mixture averages them out (Column
    Shapes error over three seeds, 16 orders against the natural order alone:
    2.4 against 3.8 % on bank marketing, 2.5 against 5.5 % on credit default;
    ``benchmarks/results/suite_shared.md``). With a fixed ``order``, that order
    is the only one.

    **Exact conditioning.** ``sample(n, conditions={...})`` places the conditioned
    columns first and samples the rest: a value (or a missing value) is fed in as
    its token and written exactly; an interval ``(low, high)`` or ``pd.Interval`` on
    a numerical or datetime column restricts that column's bins (and the level
    within the boundary bins) to the levels that decode inside the interval, so
    the value is sampled from the model's own conditional restricted to the
    interval. Conditions on values come first, then intervals. With one interval
    this is exact sampling from the model's conditional; when a sampled interval
    column precedes other conditions (several intervals, or a fixed ``order``),
    ``interval_candidates`` rows are drawn per requested row and one is picked by
    its importance weight (the model's probability of the later conditions).
    With a fixed ``order``, conditions are native only when the conditioned
    columns are the first ones of that order; otherwise the base class's bounded
    rejection sampling is used.

    **Likelihood.** :meth:`score_samples` returns each row's log-likelihood under
    the model (see there), so the generator doubles as a density model, e.g. for
    outlier detection. :meth:`score` stays the SDMetrics quality score like every
    generator's. ``transform`` returns the encoded table (quantile-normal scores,
    category codes, missing flags).

    Parameters
    ----------
    n_bins : int, default=100
        Quantile bins per numerical column.
    order : "random" or list of column labels, default="random"
        ``"random"``: train on random column orders (any-order), sample in the
        natural order, condition on any subset of columns. A list naming every
        column (the target, when ``fit`` gets ``y``, is appended if absent): train,
        sample and score in that order only.
    n_orders : int, default=16
        With ``order="random"``: how many column orders the sampling ensemble
        has (the natural order and ``n_orders - 1`` random ones, drawn at fit;
        with a target, every order ends with it). 1 samples and scores in the
        natural order only. Each order generates its share of the rows, so large
        samples cost about the same for any value (100,000 Adult rows: 5 % more
        time with 16 orders than with 1) and small ones pay a fixed cost per
        order; ``score_samples`` costs one forward pass per order.
    embedding_dim : int, default=64
        Width of the transformer.
    n_heads : int, default=4
        Attention heads; ``embedding_dim`` must be a multiple of it.
    n_layers : int, default=2
        Transformer blocks.
    feedforward_dim : int, default=128
        Hidden width of each block's feed-forward layer.
    dropout : float, default=0.0
        Dropout on the embeddings and the residual branches during training.
    lr : float, default=1e-3
        Learning rate of the AdamW optimiser.
    weight_decay : float, default=0.0
        Weight decay of the AdamW optimiser.
    temperature : float, default=1.0
        Divides the logits when sampling: below 1 sharpens the distribution,
        above 1 flattens it. :meth:`score_samples` ignores it.
    %(identifiers_parameter)s
    epochs : int, default=50
        Passes over the training table (per ``fit`` / ``partial_fit`` call).
    batch_size : int, default=512
        Rows per gradient step (capped at the number of rows).
    %(device_parameters)s
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch net (e.g. ``EarlyStopping(monitor="train_loss")``,
        ``Checkpoint``, ``LRScheduler``). Copied, never modified.

    Attributes
    ----------
    encoder_ : TabularEncoder
        The fitted encoder (``continuous="quantile"``, ``categorical="ordinal"``).
    net_ : skorch.NeuralNet
        The trained network wrapper; ``net_.module_`` is the transformer.
    history_ : skorch.History
        Per-epoch training history (``history_[:, "train_loss"]``: mean negative
        log-likelihood per column token, in nats).
    n_iter_ : int
        Number of epochs trained in total.
    orders_ : list of list
        The column orders of the ensemble (column labels; the target's name when
        fitted with ``y``): the natural order first. One order with a fixed
        ``order``.
    device_ : str
        The device the model lives on.
    n_train_rows_ : int
        Rows seen by the first fit (the default ``n_samples``).
    target_name_ : str or None
        Column name given to ``y`` when fitted with a target.
    identifiers_ : list of IdentifierColumn
        The columns treated as identifiers (not modelled).
    n_features_in_ : int
        Number of columns of ``X`` seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X`` when it is a DataFrame with string column names.

    See Also
    --------
    TVAEGenerator : A variational autoencoder.
    CTGANGenerator : A conditional GAN.
    sklearn.neighbors.KernelDensity : ``score_samples`` as a density model.

    Notes
    -----
    Any-order training fits every factorisation of the joint distribution with
    one network; they agree only as far as the network has learned. ``sample``
    and ``score_samples`` use the mixture of the ``orders_`` joints; a conditional
    sample puts the conditioned columns first and the others in each order's
    sequence, which is another reading of the same network (exact for the
    conditioned columns, approximate as a conditional of the mixture).

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017.
    .. [2] B. Uria, I. Murray, H. Larochelle, "A deep and tractable density
       estimator", ICML 2014 (order-agnostic training of autoregressive models).
    .. [3] A. Pannatier, E. Courdier, F. Fleuret, "sigma-GPTs: A new approach to
       autoregressive models", ECML PKDD 2024 (the next position's embedding in
       each input).

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import TransformerGenerator
    >>> X = load_wine(as_frame=True).frame.astype({"target": "category"})
    >>> gen = TransformerGenerator(epochs=1, random_state=0).fit(X)
    >>> gen.sample(5).shape
    (5, 14)
    >>> rows = gen.sample(4, conditions={"target": 2, "alcohol": (13.0, 14.0)},
    ...                   random_state=0)
    >>> rows["target"].tolist(), bool(rows["alcohol"].between(13.0, 14.0).all())
    ([2, 2, 2, 2], True)
    >>> gen.score_samples(X.head(3)).shape
    (3,)
    """

    _parameter_constraints = {
        **BaseGenerator._parameter_constraints,
        "n_bins": [Interval(numbers.Integral, 2, None, closed="left")],
        "order": [StrOptions({"random"}), list, tuple],
        "n_orders": [Interval(numbers.Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "feedforward_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    #: Candidate rows drawn per requested row when a sampled interval column
    #: precedes another condition (importance resampling).
    interval_candidates = 16

    def __init__(
        self,
        *,
        n_bins=100,
        order="random",
        n_orders=16,
        embedding_dim=64,
        n_heads=4,
        n_layers=2,
        feedforward_dim=128,
        dropout=0.0,
        lr=1e-3,
        weight_decay=0.0,
        temperature=1.0,
        identifiers="regenerate",
        epochs=50,
        batch_size=512,
        device="auto",
        data_parallel=False,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.n_bins = n_bins
        self.order = order
        self.n_orders = n_orders
        self.embedding_dim = embedding_dim
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.feedforward_dim = feedforward_dim
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.identifiers = identifiers
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.data_parallel = data_parallel
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ fit

    def _fit(self, X, y, *, warm_start):
        if self.embedding_dim % self.n_heads:
            raise ValueError(
                f"embedding_dim ({self.embedding_dim}) must be a multiple of n_heads "
                f"({self.n_heads})."
            )
        return super()._fit(X, y, warm_start=warm_start)

    def _make_encoder(self):
        return TabularEncoder(continuous="quantile", categorical="ordinal")

    def _fixed_order(self):
        """Column indices of the fixed ``order``, or None for random orders."""
        if isinstance(self.order, str):
            return None
        names = [schema.name for schema in self.encoder_.schema_]
        order = list(self.order)
        if self.target_name_ is not None and self.target_name_ not in order:
            order.append(self.target_name_)
        if (
            len(order) != len(names)
            or len(set(order)) != len(order)
            or any(name not in names for name in order)
        ):
            raise ValueError(
                f"order must be 'random' or a list naming every column once; got "
                f"{list(self.order)}, columns {names}."
            )
        return [names.index(name) for name in order]

    def _column_specs(self, layout):
        n_bins = int(self.n_bins)
        specs = []
        for schema in self.encoder_.schema_:
            spans = layout.spans_for(schema.name)
            if schema.is_discrete:
                specs.append(
                    dict(
                        kind="discrete",
                        code=spans[0].start,
                        n_tokens=spans[0].n_categories,
                    )
                )
                continue
            specs.append(
                dict(
                    kind="numeric",
                    value=spans[0].start,
                    missing=spans[-1].start if schema.has_missing else None,
                    n_tokens=n_bins + int(schema.has_missing),
                    thresholds=_level_thresholds(schema, n_bins).tolist(),
                )
            )
        return specs

    def _make_net(self, layout, net_kwargs):
        self._order_ = self._fixed_order()
        self.orders_ = self._draw_orders()
        return AutoregressiveNet(
            module=AutoregressiveTransformer,
            module__columns=self._column_specs(layout),
            module__n_bins=int(self.n_bins),
            module__n_features=layout.n_features,
            module__embedding_dim=int(self.embedding_dim),
            module__n_heads=int(self.n_heads),
            module__n_layers=int(self.n_layers),
            module__feedforward_dim=int(self.feedforward_dim),
            module__dropout=float(self.dropout),
            criterion=TokenNLLLoss,
            optimizer=torch.optim.AdamW,
            lr=float(self.lr),
            optimizer__weight_decay=float(self.weight_decay),
            optimizer__fused=adam_fused(self.device_),
            order=self._order_,
            **net_kwargs,
        )

    def _natural_order(self):
        order = self.__dict__.get("_order_")
        return (
            list(order)
            if order is not None
            else list(range(len(self.encoder_.schema_)))
        )

    def _draw_orders(self):
        """The ensemble's column orders (labels): natural first, then random ones.

        A function of the fit's seed only (so that rebuilding the net at load
        gives the same orders). With a target, every order ends with it, so that
        ``score_samples(X)`` can leave it out.
        """
        names = [schema.name for schema in self.encoder_.schema_]
        natural = self._natural_order()
        orders = [natural]
        if self._order_ is None:
            last = [natural[-1]] if self.target_name_ is not None else []
            free = natural[: len(natural) - len(last)]
            rng = np.random.RandomState([self._score_seed_, len(natural)])
            for _ in range(int(self.n_orders) - 1):
                orders.append([free[i] for i in rng.permutation(len(free))] + last)
        return [[names[i] for i in order] for order in orders]

    def _orders(self):
        """The ensemble's orders as column indices (one order before ``orders_``)."""
        orders = self.__dict__.get("orders_")
        if orders is None:
            return [self._natural_order()]
        index = {schema.name: i for i, schema in enumerate(self.encoder_.schema_)}
        return [[index[name] for name in order] for order in orders]

    # ------------------------------------------------------------------ sample

    def _draw(self, n_samples, generator, orders=None, plans=None):
        """Encoded rows (float64 tensor) and their log importance weights.

        Each row is generated in one of ``orders`` (default: the ensemble's),
        drawn uniformly per row: a sample of the mixture of their joints.
        """
        orders = self._orders() if orders is None else orders
        plans = plans or {}
        if len(orders) == 1:
            return self._draw_in_order(n_samples, generator, orders[0], plans)
        device = torch.device(self.device_)
        pick = torch.randint(
            len(orders), (n_samples,), generator=generator, device=device
        )
        encoded = torch.empty(
            (n_samples, self.net_.module_.n_features),
            dtype=torch.float64,
            device=device,
        )
        weights = torch.empty(n_samples, dtype=torch.float64, device=device)
        for k, order in enumerate(orders):
            rows = torch.nonzero(pick == k).squeeze(1)
            if not len(rows):
                continue
            part, weight = self._draw_in_order(
                len(rows),
                generator,
                order,
                {i: plan.take(rows) for i, plan in plans.items()},
            )
            encoded[rows] = part
            weights[rows] = weight
        return encoded, weights

    def _draw_in_order(self, n_samples, generator, order, plans):
        """``_draw`` with every row in one column ``order``."""
        module = self.net_.module_
        single_thread = self.device_ == "cpu" and torch.get_num_threads() == 1
        step = _CPU_SAMPLE_BLOCK if single_thread else max(n_samples, 1)
        encoded, weights = [], []
        for start in range(0, n_samples, step):
            stop = min(start + step, n_samples)
            tokens, levels, log_weight = module.generate(
                stop - start,
                order,
                generator,
                temperature=float(self.temperature),
                plans={i: plan.rows(start, stop) for i, plan in plans.items()},
            )
            encoded.append(module.to_encoded(tokens, levels))
            weights.append(log_weight)
        if not encoded:
            empty = torch.zeros((0, module.n_features), dtype=torch.float64)
            return empty.to(self.device_), torch.zeros(0, dtype=torch.float64)
        return torch.cat(encoded), torch.cat(weights)

    def _sample_encoded(self, n_samples, generator):
        return self._draw(n_samples, generator)[0]

    # ------------------------------------------------------------ conditions

    def _generation_order(self, frame):
        """Column order for a conditional sample, or None when not native.

        Value conditions first, then interval conditions, then the other columns.
        """
        index = {schema.name: i for i, schema in enumerate(self.encoder_.schema_)}
        has_interval = {
            name: _interval_cells(frame[name]).any() for name in frame.columns
        }
        given = [index[n] for n in frame.columns if not has_interval[n]]
        given += [index[n] for n in frame.columns if has_interval[n]]
        fixed = self.__dict__.get("_order_")
        if fixed is None:
            # The other columns follow in each ensemble order's own sequence.
            first = set(given)
            return [
                given + [i for i in order if i not in first] for order in self._orders()
            ]
        if set(fixed[: len(given)]) != set(given):
            return None
        return [list(fixed)]

    def _interval_levels(self, schema, intervals):
        """Allowed quantile levels ``(low, high)`` of interval conditions."""
        low, high, closed_low, closed_high = _interval_bounds(intervals, schema.kind)
        if schema.kind == "datetime":
            low, high = low - schema.min, high - schema.min
        extra = schema.extra
        step, multiplier = _lattice(schema)
        if step > 0:
            # The lattice values (what the column decodes to) inside each interval,
            # then the levels that round into them.
            scale = multiplier if multiplier is not None else 1.0 / step
            first = np.ceil(low * scale)
            first = np.where((first - 1) / scale >= low, first - 1, first)
            first = np.where(~closed_low & (first / scale <= low), first + 1, first)
            last = np.floor(high * scale)
            last = np.where((last + 1) / scale <= high, last + 1, last)
            last = np.where(~closed_high & (last / scale >= high), last - 1, last)
            lo, hi = _bounds(schema)
            first = np.maximum(first, np.ceil(lo * scale - 1e-6))
            last = np.minimum(last, np.floor(hi * scale + 1e-6))
            if (first > last).any():
                shown = list(np.asarray(intervals)[first > last][:5])
                raise ValueError(
                    f"conditions interval(s) {shown} "
                    f"for column {schema.name!r} hold no value the column takes (its "
                    f"values are multiples of {step:g} in the range seen at fit)."
                )
            a = _level_sup((first - 0.5) / scale, extra)
            b = _level_sup((last + 0.5) / scale, extra)
        else:
            a = np.where(closed_low, _level_inf(low, extra), _level_sup(low, extra))
            b = np.where(closed_high, _level_sup(high, extra), _level_inf(high, extra))
        return a, b

    def _condition_plans(self, frame):
        """Per-column :class:`ColumnPlan` arrays (numpy) and exact numeric values."""
        n_bins = int(self.n_bins)
        n = len(frame)
        schemas = self.encoder_.schema_
        index = {schema.name: i for i, schema in enumerate(schemas)}
        plans, exact_values = {}, {}
        for name in frame.columns:
            i, schema = index[name], schemas[index[name]]
            values = frame[name]
            intervals = _interval_cells(values)
            forced = ~intervals
            token = np.zeros(n, dtype=np.int64)
            if schema.is_discrete:
                token[:] = column_to_codes(values, schema)
                plans[i] = dict(forced=forced, token=token)
                continue
            level = np.full(n, 0.5)
            low, high = np.zeros(n), np.ones(n)
            if intervals.any():
                a, b = self._interval_levels(schema, values[intervals])
                low[intervals], high[intervals] = a, b
                # A zero-width interval (e.g. [v, v] on a float column) is a value.
                point = np.zeros(n, dtype=bool)
                point[intervals] = b <= a
                if point.any():
                    values = values.copy()
                    values[point] = [iv.left for iv in values[point]]
                    forced |= point
                    intervals = intervals & ~point
            x = column_to_numeric(values[forced].astype(object), schema)
            missing = np.isnan(x)
            fractional = ~missing & (x != np.rint(x))
            if schema.kind == "integer" and fractional.any():
                raise ValueError(
                    f"conditions for integer column {name!r} must be integers, got "
                    f"{list(values[forced][fractional][:3])}."
                )
            observed = x[~missing]
            rounded = _round_like_decoder(observed, schema)
            forced_token = np.full(len(x), n_bins, dtype=np.int64)
            forced_token[~missing] = _value_tokens(rounded, schema, n_bins)
            forced_level = np.full(len(x), 0.5)
            forced_level[~missing] = ndtr(_encode_quantile(observed, schema.extra))
            token[forced], level[forced] = forced_token, forced_level
            exact = forced.copy()
            exact[np.flatnonzero(forced)[missing]] = False
            exact_values[name] = (exact, values)
            plans[i] = dict(
                forced=forced,
                token=token,
                p=level,
                interval=intervals,
                low=low,
                high=high,
            )
        return plans, exact_values

    def _plans_on_device(self, plans, rows, repeats):
        device = self.device_
        out = {}
        for i, plan in plans.items():
            tensors = {}
            for key, value in plan.items():
                t = torch.as_tensor(value[rows]).to(device)
                tensors[key] = t.repeat_interleave(repeats) if repeats > 1 else t
            out[i] = ColumnPlan(**tensors)
        return out

    def _conditions_hold(self, out, frame):
        """Rows of ``out`` that meet every condition of ``frame`` (exact values of
        numerical columns are written afterwards and not checked)."""
        ok = np.ones(len(out), dtype=bool)
        for schema in self.encoder_.schema_:
            if schema.name not in frame.columns:
                continue
            values, got = frame[schema.name], out[schema.name]
            if schema.is_discrete:
                ok &= column_to_codes(got, schema) == column_to_codes(values, schema)
                continue
            intervals = _interval_cells(values)
            missing = values.isna().to_numpy() & ~intervals
            ok[missing] &= got.isna().to_numpy()[missing]
            if intervals.any():
                numeric = _numeric_condition_values(got[intervals], schema.kind)
                bounds = _interval_bounds(values[intervals], schema.kind)
                ok[intervals] &= _in_intervals(numeric, *bounds)
        return ok

    def _sample_conditioned(self, n_samples, conditions, generator):
        frame = self._normalise_conditions(n_samples, conditions)
        orders = self._generation_order(frame)
        if orders is None:
            return super()._sample_conditioned(n_samples, conditions, generator)
        plans, exact_values = self._condition_plans(frame)
        # Importance resampling is needed when a sampled interval column precedes
        # another condition in the generation order.
        conditioned = [i for i in orders[0] if i in plans]
        has_interval = [
            bool(plans[i].get("interval", np.zeros(1, bool)).any()) for i in conditioned
        ]
        repeats = 1
        if any(has_interval[:-1]):
            repeats = int(self.interval_candidates)
        result = self._generate(0, generator)
        parts, todo = [], np.arange(n_samples)
        for _ in range(4):
            if not len(todo):
                break
            out = self._native_conditioned(todo, orders, plans, repeats, generator)
            ok = self._conditions_hold(out, frame.iloc[todo].reset_index(drop=True))
            parts.append((todo[ok], out[ok]))
            todo = todo[~ok]
        if len(todo):
            raise ValueError(
                f"Could not generate {len(todo)} of {n_samples} rows meeting the "
                f"conditions (after 4 attempts)."
            )
        if parts:
            positions = np.concatenate([p for p, _ in parts])
            result = pd.concat([o for _, o in parts], ignore_index=True)
            result = result.iloc[np.argsort(positions, kind="stable")].reset_index(
                drop=True
            )
        for name, (exact, values) in exact_values.items():
            if exact.any():
                dtype = result[name].dtype
                if exact.all():
                    result[name] = values.astype(dtype).to_numpy()
                else:
                    result.loc[exact, name] = values[exact].astype(dtype).to_numpy()
        return result

    def _native_conditioned(self, rows, orders, plans, repeats, generator):
        """Decoded rows for the condition rows ``rows`` (one per row)."""
        chunk = max(_SAMPLE_CHUNK // repeats, 1)
        frames = []
        self._eval()
        with torch.inference_mode():
            for start in range(0, len(rows), chunk):
                part = rows[start : start + chunk]
                device_plans = self._plans_on_device(plans, part, repeats)
                encoded, log_weight = self._draw(
                    len(part) * repeats, generator, orders=orders, plans=device_plans
                )
                if repeats > 1:
                    scores = log_weight.view(len(part), repeats)
                    u = torch.rand(
                        scores.shape,
                        generator=generator,
                        device=scores.device,
                        dtype=torch.float64,
                    )
                    pick = torch.argmax(scores - torch.log(-torch.log(u)), dim=1)
                    encoded = encoded.view(len(part), repeats, -1)[
                        torch.arange(len(part), device=encoded.device), pick
                    ]
                frames.append(self.encoder_.inverse_transform(encoded.cpu().numpy()))
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------ likelihood

    def score_samples(self, X, y=None):
        """Log-likelihood of each row under the model.

        The log of the mean, over the ensemble's ``orders_``, of the row's
        likelihood in that order (the distribution ``sample`` draws from); in one
        order, the sum over columns of the log-probability of each column's value
        given the columns before it:

        - categorical and boolean values (and a missing value of any column):
          the log-probability of the token;
        - integer values, and datetimes (at the resolution they are decoded to):
          the log-probability of the value itself, i.e. of every quantile level
          that decodes to it (a probability mass; values are first rounded as the
          generator rounds its samples);
        - other numerical values: the log-density in the column's own units, per
          unit of the column, of the uniform-within-bin refinement through the
          fitted quantile function: ``log P(bin) + log(n_bins) + log dF/dx``; a
          value repeated in the training data so often that it fills a stretch of
          quantiles (an atom, e.g. a spike at 0) gets the log-probability of that
          atom instead.

        Values outside the range seen at fit, unseen categories and missing values
        in a column that had none get ``-inf``. With a table of discrete and
        integer columns only, ``exp(score_samples)`` sums to 1 over every possible
        row. Deterministic; ``temperature`` is not applied.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows with the columns seen at fit.
        y : array-like of shape (n_samples,), default=None
            The target when ``fit`` got one: the joint log-likelihood of ``(X,
            y)``. None: the log-likelihood of ``X`` alone (the target is generated
            last, so its term is dropped), which needs the target last in a fixed
            ``order``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            In nats.
        """
        check_is_fitted(self)
        frame = self._validated_frame(X, reset=False)
        frame.columns = list(self._feature_columns_)
        frame = self._drop_identifiers(frame)  # not modelled: no likelihood
        schemas = self.encoder_.schema_
        orders = self._orders()
        skip = None
        if self.target_name_ is not None:
            target = len(schemas) - 1
            if y is None:
                if any(order[-1] != target for order in orders):
                    raise ValueError(
                        "score_samples(X) without y needs the target last in order; "
                        "pass y for the joint log-likelihood."
                    )
                stand_in = self.encoder_.inverse_transform(
                    np.zeros((1, self.encoder_.layout_.n_features))
                )[self.target_name_].iloc[0]
                frame[self.target_name_] = pd.Series([stand_in] * len(frame)).array
                skip = target
            else:
                y_values = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
                if len(y_values) != len(frame):
                    raise ValueError(
                        f"y has {len(y_values)} values for {len(frame)} rows of X."
                    )
                frame[self.target_name_] = y_values
        n_bins = int(self.n_bins)
        n = len(frame)
        tokens = np.zeros((n, len(schemas)), dtype=np.int64)
        invalid = np.zeros(n, dtype=bool)
        numeric = {}
        for i, schema in enumerate(schemas):
            series = frame[schema.name]
            if schema.is_discrete:
                missing = series.isna().to_numpy()
                known = series.isin(list(schema.categories)).to_numpy() | (
                    missing & schema.has_missing
                )
                invalid |= ~known
                if known.any():
                    tokens[known, i] = column_to_codes(series[known], schema)
                continue
            x = column_to_numeric(series, schema)
            missing = np.isnan(x)
            if not schema.has_missing:
                invalid |= missing
            step, _ = _lattice(schema)
            lattice = schema.kind in ("integer", "datetime")
            observed = ~missing
            value = np.where(observed, x, 0.0)
            if lattice:
                value = _round_like_decoder(value, schema, clip=False)
            lo, hi = _bounds(schema)
            invalid |= observed & ((value < lo) | (value > hi))
            tokens[:, i] = np.where(
                observed,
                _value_tokens(_round_like_decoder(value, schema), schema, n_bins),
                n_bins,
            )
            numeric[i] = (observed, value, lattice, step)
        # One row per ensemble order; the mixture's log-likelihood at the end.
        log_lik = np.zeros((len(orders), n))
        self._eval()
        # In float64: the result does not depend on how rows are batched (float32
        # matrix products differ in the last bits with the batch size).
        module = copy.deepcopy(self.net_.module_).double()
        with torch.inference_mode():
            for k, start in itertools.product(
                range(len(orders)), range(0, n, _SCORE_BLOCK)
            ):
                order_t = torch.as_tensor(
                    orders[k], dtype=torch.long, device=self.device_
                )
                stop = min(start + _SCORE_BLOCK, n)
                batch = torch.as_tensor(tokens[start:stop], device=self.device_)
                log_probs = module(batch, order_t.expand(stop - start, -1))
                log_probs = log_probs.cpu().numpy()
                rows = np.arange(stop - start)
                for i, schema in enumerate(schemas):
                    if i == skip:
                        continue
                    lp = log_probs[:, i]
                    term = lp[rows, tokens[start:stop, i]]
                    if i in numeric:
                        observed, value, lattice, step = (
                            a[start:stop] if isinstance(a, np.ndarray) else a
                            for a in numeric[i]
                        )
                        if observed.any():
                            term = term.copy()
                            term[observed] = self._value_log_likelihood(
                                schema,
                                lp[observed, :n_bins],
                                value[observed],
                                lattice,
                                step,
                            )
                    log_lik[k, start:stop] += term
        with np.errstate(divide="ignore"):
            log_lik = logsumexp(log_lik, axis=0) - np.log(len(orders))
        log_lik[invalid] = -np.inf
        return log_lik

    def _value_log_likelihood(self, schema, log_probs, x, lattice, step):
        """Log-probability (lattice) or log-density of observed numerical values."""
        extra = schema.extra
        n_bins = log_probs.shape[1]
        probs = np.exp(log_probs)
        with np.errstate(divide="ignore", invalid="ignore"):
            if lattice:
                a = _level_sup(x - step / 2, extra)
                b = _level_sup(x + step / 2, extra)
                return np.log(_bin_mass(probs, a, b))
            a, b = _level_inf(x, extra), _level_sup(x, extra)
            atom = b - a > 1e-12
            out = np.empty(len(x))
            if atom.any():
                out[atom] = np.log(_bin_mass(probs[atom], a[atom], b[atom]))
            dense = ~atom
            if dense.any():
                q, r = extra["quantiles"], extra["references"]
                j = np.clip(np.searchsorted(q, x[dense], side="right"), 1, len(q) - 1)
                slope = (r[j] - r[j - 1]) / (q[j] - q[j - 1])
                k = np.minimum(np.floor(a[dense] * n_bins), n_bins - 1).astype(np.intp)
                out[dense] = (
                    log_probs[dense][np.arange(dense.sum()), k]
                    + np.log(n_bins)
                    + np.log(slope)
                )
            return out
