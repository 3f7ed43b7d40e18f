"""Base class shared by every generator.

A generator is a scikit-learn estimator that learns the joint distribution of a table
and samples new rows from it. The pieces shared by every family live here once: input
validation, the :class:`~sklearn_gen.preprocessing.TabularEncoder`, seeding, device
handling, the skorch training loop, sampling in chunks, conditional sampling,
``transform`` / ``inverse_transform`` and the SDMetrics ``score``. A model family only
says which encoder configuration, network and objective it uses (the hooks at the end
of :class:`BaseGenerator`).
"""

from __future__ import annotations

import copy
import numbers
from abc import ABCMeta, abstractmethod

import numpy as np
import pandas as pd
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ._training import (
    EpochProgressBar,
    FiniteLossGuard,
    make_torch_generator,
    resolve_device,
    torch_seed,
)

__all__ = ["BaseGenerator", "is_generator"]

# Rows generated and decoded per chunk: bounds memory when sampling millions of rows.
_SAMPLE_CHUNK = 65_536

_NUMERIC_KINDS = ("continuous", "integer", "datetime")


def _with_intervals(values):
    """A condition column with its 2-tuples ``(low, high)`` as closed ``pd.Interval``.

    Interval-dtype columns become object columns of ``pd.Interval``; other columns
    are returned unchanged.
    """
    if isinstance(values.dtype, pd.IntervalDtype):
        return values.astype(object)
    if values.dtype != object:
        return values
    is_pair = np.fromiter(
        (isinstance(v, tuple) and len(v) == 2 for v in values), bool, len(values)
    )
    if not is_pair.any():
        return values
    values = values.copy()
    values[is_pair] = [
        pd.Interval(low, high, closed="both") for low, high in values[is_pair]
    ]
    return values


def _interval_cells(values):
    """Boolean mask of the cells of a condition column that are ``pd.Interval``."""
    if isinstance(values.dtype, pd.IntervalDtype):
        return values.notna().to_numpy()
    if values.dtype != object:
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((isinstance(v, pd.Interval) for v in values), bool, len(values))


def _interval_bounds(intervals, kind):
    """``(low, high, closed_low, closed_high)`` arrays of a sequence of intervals.

    Bounds are float64, datetimes as int64 nanoseconds since the epoch (UTC), as
    the schema's ``min`` / ``max``.
    """
    intervals = list(intervals)
    ends = [(iv.left, iv.right) for iv in intervals]
    if kind == "datetime":
        low = np.array([float(pd.Timestamp(a).value) for a, _ in ends])
        high = np.array([float(pd.Timestamp(b).value) for _, b in ends])
    else:
        low = np.array([float(a) for a, _ in ends])
        high = np.array([float(b) for _, b in ends])
    closed_low = np.array([iv.closed in ("left", "both") for iv in intervals], bool)
    closed_high = np.array([iv.closed in ("right", "both") for iv in intervals], bool)
    return low, high, closed_low, closed_high


def _in_intervals(got, low, high, closed_low, closed_high):
    """Whether each value of ``got`` lies in its interval (NaN never does)."""
    with np.errstate(invalid="ignore"):
        above = np.where(closed_low, got >= low, got > low)
        below = np.where(closed_high, got <= high, got < high)
    return above & below


def _numeric_condition_values(column, kind):
    """A numeric / datetime column as float64 (datetimes as ns), NaN where missing."""
    if kind == "datetime":
        index = pd.DatetimeIndex(column)
        got = index.as_unit("ns").asi8.astype(np.float64)
        got[np.asarray(index.isna())] = np.nan
        return got
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def is_generator(estimator):
    """Return True if ``estimator`` is a sklearn_gen generator.

    Parameters
    ----------
    estimator : object
        Estimator instance or class to test.

    Returns
    -------
    out : bool

    Examples
    --------
    >>> from sklearn_gen import TVAEGenerator, is_generator
    >>> is_generator(TVAEGenerator())
    True
    """
    try:
        return estimator.__sklearn_tags__().estimator_type == "generator"
    except (AttributeError, TypeError):
        return False


class BaseGenerator(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class for tabular generators (do not instantiate).

    Subclasses define ``__init__`` with their own parameters plus the shared ones
    (``epochs``, ``batch_size``, ``device``, ``random_state``, ``verbose``,
    ``callbacks``), extend ``_parameter_constraints``, and implement the hooks
    ``_make_encoder``, ``_make_net`` and ``_sample_encoded`` (and ``_represent`` /
    ``_unrepresent`` when their representation is not the encoded table).

    Notes
    -----
    **Inputs.** ``fit`` takes a DataFrame (any mix of float, integer, nullable,
    boolean, string, category and datetime columns, with missing values) or a 2-D
    array. ``sample`` returns the same type. When ``fit`` gets ``y``, the target is
    modelled as one more column (categorical when it is a class label), ``sample``
    returns ``(X, y)`` like :meth:`sklearn.mixture.GaussianMixture.sample`, and the
    target can be fixed with ``conditions={target_name_: label}``.

    **Randomness.** ``random_state`` seeds the encoder, the network initialisation,
    the batch order and every noise draw, through explicit generators: the global
    numpy and torch RNGs are left as they were. With an int ``random_state``, fit and
    sample are reproducible on the CPU. ``sample(random_state=None)`` draws from a
    stream seeded at fit, so repeated calls give *new* rows (unlike
    ``GaussianMixture.sample``, which repeats itself); pass an int for repeatable
    rows. ``score`` and ``transform`` are deterministic once fitted.

    **Conditions.** ``sample(conditions=...)`` fixes column values: a dict of
    ``{column: value}`` applied to every row, or a DataFrame with one row of values
    per requested sample. Unless a family has native conditioning, the base class
    uses rejection: it draws candidate rows and keeps the ones that match — exactly
    for categorical, boolean and integer columns; for continuous and datetime
    columns, within ``condition_tolerance`` of the column's observed range, after
    which the value is set exactly. A numeric or datetime column may instead be
    given an interval, a 2-tuple ``(low, high)`` (closed) or a ``pd.Interval``
    (its ``closed`` is respected): matching rows have a value inside it, kept as
    sampled. If the model cannot produce enough matching rows within a bounded
    number of candidates, a ``ValueError`` says so; it never returns fewer rows.
    """

    _parameter_constraints: dict = {
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, None],
        "identifiers": [StrOptions({"regenerate", "drop", "error", "keep"})],
    }

    #: Fraction of a numeric column's observed range within which a candidate row
    #: counts as matching a continuous condition.
    condition_tolerance = 0.01
    #: Candidate rows drawn at most per requested conditional row.
    condition_max_ratio = 200

    # ------------------------------------------------------------------ hooks

    @abstractmethod
    def _make_encoder(self):
        """Return an unfitted TabularEncoder configured for this family."""

    @abstractmethod
    def _make_net(self, layout, net_kwargs):
        """Return an uninitialised skorch net for ``layout``.

        ``net_kwargs`` holds the shared settings (device, batch size, epochs,
        callbacks, no train split) to pass to the net's constructor.
        """

    @abstractmethod
    def _sample_encoded(self, n_samples, generator):
        """Draw ``n_samples`` rows in the encoded space as a tensor on ``device_``.

        Called under ``torch.inference_mode()`` with the modules in eval mode.
        """

    def _represent(self, encoded):
        """Map an encoded batch (tensor) to the model's representation."""
        return encoded

    def _unrepresent(self, representation):
        """Map a representation batch (tensor) back to the encoded space."""
        return representation

    def _representation_width(self):
        """Number of features ``transform`` returns."""
        return self.encoder_.layout_.n_features

    # ------------------------------------------------------------------ tags

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "generator"
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = []
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags

    def __setstate__(self, state):
        super().__setstate__(state)
        # skorch maps a CUDA-trained net to the CPU when CUDA is absent at load
        # time; follow it, or sampling would ask for a device that is not there.
        net = self.__dict__.get("net_")
        if net is not None:
            self.device_ = str(net.device)

    # ------------------------------------------------------------------ input

    def _as_frame(self, X, *, min_samples=1):
        """Validate the table's shape and return it as a DataFrame (never a view).

        Arrays get integer column labels 0..n-1; DataFrames keep theirs. ``±inf``
        is refused with the offending columns named.
        """
        if isinstance(X, pd.DataFrame):
            if X.shape[0] < min_samples:
                raise ValueError(
                    f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) while "
                    f"a minimum of {min_samples} is required by {type(self).__name__}"
                    + (": a generator needs at least 2 rows to learn a distribution."
                       if min_samples > 1 else ".")
                )
            if X.shape[1] < 1:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                    f"of 1 is required by {type(self).__name__}."
                )
            if X.columns.duplicated().any():
                dupes = list(X.columns[X.columns.duplicated()].unique())
                raise ValueError(
                    f"Column names must be unique; duplicated: {dupes}. Rename them "
                    "before fitting."
                )
            frame = X.copy()
        else:
            array = check_array(
                X,
                dtype=None,
                ensure_all_finite=False,
                ensure_min_samples=min_samples,
                ensure_min_features=1,
                input_name="X",
                estimator=self,
            )
            frame = pd.DataFrame(array)
        numeric = frame.select_dtypes(include=["number"]).columns
        if len(numeric):
            values = frame[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.isinf(values).any(axis=0)
            if bad.any():
                names = [numeric[i] for i in np.flatnonzero(bad)]
                raise ValueError(
                    f"Columns {names} contain infinite values. A generator cannot "
                    "learn or reproduce ±inf: replace them with NaN (treated as "
                    "missing) or with finite values."
                )
        return frame

    def _with_target(self, frame, y):
        """Append ``y`` to ``frame`` as the target column (at fit)."""
        if y is None:
            self.target_name_ = None
            return frame
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise ValueError(
                    f"y must be one column; got a DataFrame with {y.shape[1]} columns. "
                    "Model several targets by putting them in X."
                )
            y = y.iloc[:, 0]
        y_series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
        if y_series.ndim != 1 or len(y_series) != len(frame):
            raise ValueError(
                f"y must be 1-D with one value per row of X ({len(frame)} rows); got "
                f"{len(y_series)} values."
            )
        name = y_series.name
        if not self._input_is_frame_:
            # Array columns are labelled by position: the target is the next one.
            name = frame.shape[1]
        elif name is None or name in frame.columns:
            name = "y" if "y" not in frame.columns else "target__y"
        self.target_name_ = name
        try:
            kind = type_of_target(y_series.to_numpy())
        except ValueError:
            kind = "unknown"
        self.target_is_discrete_ = kind in ("binary", "multiclass") or not (
            pd.api.types.is_numeric_dtype(y_series)
        )
        frame = frame.copy()
        frame[name] = y_series.to_numpy() if isinstance(
            y_series.dtype, np.dtype
        ) else y_series.array
        return frame

    def _validated_frame(self, X, *, reset):
        """``validate_data`` for names / feature counts, then :meth:`_as_frame`."""
        # Fitting needs two rows to learn anything; encoding one row is fine.
        min_samples = 2 if reset else 1
        if not isinstance(X, pd.DataFrame):
            # Shape errors (1-D input, sparse, complex) first, with sklearn's wording.
            X = check_array(
                X,
                dtype=None,
                ensure_all_finite=False,
                ensure_min_samples=min_samples,
                input_name="X",
                estimator=self,
            )
        X = validate_data(self, X, skip_check_array=True, reset=reset)
        return self._as_frame(X, min_samples=min_samples)

    # ------------------------------------------------------------------ fit

    def _net_kwargs(self, n_rows):
        callbacks = [("finite_loss", FiniteLossGuard())]
        if self.verbose:
            callbacks.append(
                ("epoch_progress", EpochProgressBar(self.epochs, type(self).__name__))
            )
        # Deep-copy: skorch initialises and mutates callback instances, and the
        # user's objects must stay as they were given.
        for i, callback in enumerate(copy.deepcopy(list(self.callbacks or []))):
            if isinstance(callback, tuple):
                callbacks.append(callback)
            else:
                callbacks.append((f"user_{i}_{type(callback).__name__}", callback))
        return dict(
            device=self.device_,
            batch_size=min(int(self.batch_size), n_rows),
            max_epochs=int(self.epochs),
            callbacks=callbacks,
            train_split=None,
            verbose=0,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the joint distribution of ``X`` (and ``y``, if given).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table. Columns may be numeric, boolean, string, categorical or
            datetime, with missing values.
        y : array-like of shape (n_samples,), default=None
            Optional target, modelled as one more column that ``sample`` returns
            and ``conditions`` can fix.

        Returns
        -------
        self : object
            The fitted generator.
        """
        return self._fit(X, y, warm_start=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for ``epochs`` more epochs on ``X`` (a warm start).

        The first call fits from scratch like :meth:`fit`. Later calls keep the
        encoder and the network and continue training on the new rows, which must
        have the same columns (and no category unseen at the first fit).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            New rows.
        y : array-like of shape (n_samples,), default=None
            Target, required exactly when the first fit had one.

        Returns
        -------
        self : object
        """
        fitted = hasattr(self, "net_")
        return self._fit(X, y, warm_start=fitted)

    def _fit(self, X, y, *, warm_start):
        if getattr(self, "privacy", None) is not None:
            from ._privacy import require_opacus

            require_opacus()  # fail before any work when Opacus is missing
        frame = self._validated_frame(X, reset=not warm_start)
        if warm_start and len(frame) < 2:
            raise ValueError("partial_fit needs at least 2 rows.")
        if warm_start:
            if (y is None) != (self.target_name_ is None):
                raise ValueError(
                    "partial_fit must get y exactly when the first fit got y "
                    f"(first fit target: {self.target_name_!r})."
                )
            if y is not None:
                y_series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
                frame = frame.copy()
                frame[self.target_name_] = np.asarray(y_series)
            frame = self._drop_identifiers(frame)
            rng = self._fit_rng_
        else:
            self._input_is_frame_ = isinstance(X, pd.DataFrame)
            self._input_dtype_ = None if self._input_is_frame_ else frame.to_numpy().dtype
            self._feature_columns_ = list(frame.columns)
            frame = self._with_target(frame, y)
            frame = self._split_identifiers(frame)
            self.__dict__.pop("privacy_spent_", None)
            rng = check_random_state(self.random_state)
            self.device_ = resolve_device(self.device)
            encoder = self._make_encoder()
            encoder.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
            if self.target_name_ is not None and self.target_is_discrete_:
                encoder.set_params(discrete_columns=[self.target_name_])
            self.encoder_ = encoder.fit(frame)
            self._sample_rng_ = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
            self._score_seed_ = int(rng.randint(np.iinfo(np.int32).max))
            self._fit_rng_ = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
            self._n_features_out = self._representation_width()
            rng = self._fit_rng_

        encoded = self.encoder_.encode(
            frame, mode_assignment="sample", random_state=rng
        ).astype(np.float32, copy=False)
        if not warm_start:
            self.n_train_rows_ = len(frame)
            self._target_fill_ = self._target_fill_values(encoded)
        seed = torch_seed(rng)
        device = torch.device(self.device_)
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if warm_start:
                net = self.net_
                net.set_params(max_epochs=int(self.epochs))
            else:
                net = self._make_net(self.encoder_.layout_, self._net_kwargs(len(frame)))
                net.initialize()
            net.rng_ = make_torch_generator(seed, self.device_)
            try:
                net.partial_fit(encoded)
            finally:
                del net.rng_
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        privacy_spent = getattr(net, "privacy_spent", None)
        if privacy_spent is not None:  # a differentially private net
            self.privacy_spent_ = privacy_spent()
        return self

    # ------------------------------------------------------------ identifiers

    def _identifier_names(self):
        return [column.name for column in getattr(self, "identifiers_", None) or ()]

    def _split_identifiers(self, frame):
        """At fit: find the identifier columns (see ``identifiers``), drop them."""
        from .preprocessing import detect_identifiers

        mode = getattr(self, "identifiers", "regenerate")
        self._identifier_mode_ = mode
        self._column_order_ = list(frame.columns)
        found = []
        if mode != "keep":
            exclude = () if self.target_name_ is None else (self.target_name_,)
            found = detect_identifiers(frame, exclude=exclude)
        self.identifiers_ = found
        if not found:
            return frame
        names = [column.name for column in found]
        described = ", ".join(f"{c.name!r} ({c.format})" for c in found)
        if mode == "error":
            raise ValueError(
                f"Columns {described} look like direct identifiers (unique per row). "
                "Drop them, or pass identifiers='regenerate' (replaced by fresh "
                "values of the same format), 'drop' or 'keep' (modelled as usual)."
            )
        if len(names) == frame.shape[1]:
            raise ValueError(
                f"Every column looks like a direct identifier ({described}): there "
                "is nothing to model. Pass identifiers='keep' to model them anyway."
            )
        return frame.drop(columns=names)

    def _drop_identifiers(self, frame):
        names = [name for name in self._identifier_names() if name in frame.columns]
        return frame.drop(columns=names) if names else frame

    def _add_identifiers(self, frame, seed):
        """Fresh identifier values in their columns (``identifiers="regenerate"``)."""
        if not self._identifier_names() or self._identifier_mode_ == "drop":
            return frame
        from .preprocessing._identifiers import generate_identifiers

        rng = np.random.default_rng(seed)
        for column in self.identifiers_:
            frame[column.name] = generate_identifiers(column, len(frame), rng)
        return frame[self._column_order_]

    def _sampled_columns(self):
        """The feature columns ``sample`` returns (in order)."""
        if getattr(self, "_identifier_mode_", None) == "drop":
            dropped = set(self._identifier_names())
            return [c for c in self._feature_columns_ if c not in dropped]
        return list(self._feature_columns_)

    def _target_fill_values(self, encoded):
        """Mean encoded value of the target's units: ``transform`` uses it for X alone."""
        if self.target_name_ is None:
            return None
        spans = self.encoder_.layout_.spans_for(self.target_name_)
        cols = np.concatenate([np.arange(s.start, s.stop) for s in spans])
        return cols, encoded[:, cols].mean(axis=0)

    # ------------------------------------------------------------------ sample

    def _check_n_samples(self, n_samples, conditions):
        if n_samples is None:
            if isinstance(conditions, pd.DataFrame):
                return len(conditions)
            return int(self.n_train_rows_)
        if isinstance(n_samples, (bool, np.bool_)) or not isinstance(
            n_samples, numbers.Integral
        ):
            raise TypeError(
                f"n_samples must be a non-negative int or None, got {n_samples!r} "
                f"({type(n_samples).__name__})."
            )
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}.")
        if isinstance(conditions, pd.DataFrame) and len(conditions) != n_samples:
            raise ValueError(
                f"conditions is a DataFrame of {len(conditions)} rows (one per sample) "
                f"but n_samples={n_samples}; pass n_samples=None or a matching number."
            )
        return int(n_samples)

    def _eval(self):
        for name in self.net_._modules:
            getattr(self.net_, name + "_").eval()

    def _generate(self, n_samples, generator, **sample_kwargs):
        """``n_samples`` decoded rows (DataFrame with the fitted table's columns).

        ``sample_kwargs`` go to ``_sample_encoded`` (e.g. a native condition).
        """
        self._eval()
        chunks = []
        with torch.inference_mode():
            for start in range(0, n_samples, _SAMPLE_CHUNK):
                size = min(_SAMPLE_CHUNK, n_samples - start)
                encoded = self._sample_encoded(size, generator, **sample_kwargs)
                chunks.append(self.encoder_.inverse_transform(encoded.cpu().numpy()))
        if not chunks:
            empty = np.zeros((0, self.encoder_.layout_.n_features), dtype=np.float32)
            return self.encoder_.inverse_transform(empty)
        frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
        return frame

    def sample(self, n_samples=None, *, conditions=None, random_state=None):
        """Generate new rows.

        Parameters
        ----------
        n_samples : int, default=None
            Number of rows. None means as many rows as the training table, or one
            per row of ``conditions`` when that is a DataFrame.
        conditions : dict or DataFrame, default=None
            Values to fix: ``{column: value}`` for every row, or a DataFrame with
            one row of values per sample (its columns are the conditioned ones).
            For a numeric or datetime column a value may be an interval: a
            2-tuple ``(low, high)`` (closed) or a ``pd.Interval``. Columns and
            values are checked against what the model saw at fit.
        random_state : int, RandomState instance or None, default=None
            Seed for this call. None continues a stream seeded at fit (new rows on
            every call).

        Returns
        -------
        X_new : DataFrame or ndarray of shape (n_samples, n_features)
            Same type, columns and dtypes as the ``X`` given to ``fit``.
        y_new : Series or ndarray of shape (n_samples,)
            Only when ``fit`` got ``y``: the sampled target.
        """
        check_is_fitted(self)
        n_samples = self._check_n_samples(n_samples, conditions)
        if conditions is not None and self._identifier_names():
            named = list(conditions) if isinstance(conditions, dict) else list(
                getattr(conditions, "columns", ())
            )
            fixed = [name for name in named if name in self._identifier_names()]
            if fixed:
                raise ValueError(
                    f"conditions names identifier column(s) {fixed}, which the "
                    "generator does not model (see the identifiers parameter)."
                )
        rng = self._sample_rng_ if random_state is None else check_random_state(random_state)
        generator = make_torch_generator(torch_seed(rng), self.device_)
        if conditions is None:
            frame = self._generate(n_samples, generator)
        else:
            frame = self._sample_conditioned(n_samples, conditions, generator)
        if self._identifier_names():
            seed = torch.randint(
                0, 2**62, (1,), generator=generator, device=generator.device
            )
            frame = self._add_identifiers(frame, int(seed.item()))
        return self._format_output(frame)

    def _format_output(self, frame):
        target = None
        if self.target_name_ is not None:
            target = frame[self.target_name_]
            frame = frame.drop(columns=[self.target_name_])
        frame = frame.reset_index(drop=True)
        if not self._input_is_frame_:
            frame = frame.to_numpy(dtype=self._input_dtype_)
            if target is not None:
                target = target.to_numpy()
        if target is None:
            return frame
        return frame, target.reset_index(drop=True) if isinstance(target, pd.Series) else target

    # ------------------------------------------------------------ conditions

    def _columns_by_name(self):
        return {schema.name: schema for schema in self.encoder_.schema_}

    def _normalise_conditions(self, n_samples, conditions):
        """Check ``conditions`` and return them as a DataFrame of ``n_samples`` rows."""
        if isinstance(conditions, dict):
            if not conditions:
                raise ValueError("conditions is an empty dict; pass None for no conditions.")
            frame = pd.DataFrame({k: [v] * n_samples for k, v in conditions.items()})
        elif isinstance(conditions, pd.DataFrame):
            frame = conditions.reset_index(drop=True)
        else:
            raise TypeError(
                "conditions must be a dict {column: value} or a DataFrame with one row "
                f"per sample, got {type(conditions).__name__}."
            )
        columns = self._columns_by_name()
        for name in frame.columns:
            if name not in columns:
                raise ValueError(
                    f"conditions names column {name!r}, which the generator was not "
                    f"fitted on. Known columns: {list(columns)}."
                )
            if columns[name].kind in _NUMERIC_KINDS:
                try:
                    frame[name] = _with_intervals(frame[name])
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"conditions gives an invalid interval for column {name!r}: "
                        f"{exc}"
                    ) from exc
            self._check_condition_values(columns[name], frame[name])
        return frame

    def _check_condition_values(self, schema, values):
        intervals = _interval_cells(values)
        if intervals.any():
            self._check_condition_intervals(schema, values[intervals])
            values = values[~intervals]
        missing = values.isna().to_numpy()
        if missing.any() and not schema.has_missing:
            raise ValueError(
                f"conditions asks for missing values in column {schema.name!r}, which "
                "had none at fit; the model cannot produce them."
            )
        present = values[~missing]
        if present.empty:
            return
        if schema.kind in ("categorical", "boolean"):
            known = pd.Index(schema.categories)
            unknown = pd.unique(present[~present.isin(known)])
            if len(unknown):
                shown = list(known[:20]) + (["..."] if len(known) > 20 else [])
                raise ValueError(
                    f"conditions value(s) {list(unknown)[:5]} for column "
                    f"{schema.name!r} were never seen at fit. Known values: {shown}."
                )
            return
        if schema.kind == "datetime":
            numeric = pd.to_datetime(present).astype("int64").to_numpy(dtype=np.float64)
        else:
            try:
                numeric = pd.to_numeric(present).to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"conditions for numeric column {schema.name!r} must be numbers, "
                    f"got {list(present[:3])}."
                ) from exc
        low, high = schema.min, schema.max
        if low is None or high is None:
            return
        outside = (numeric < low) | (numeric > high)
        if outside.any():
            if schema.kind == "datetime":
                low, high = pd.Timestamp(int(low)), pd.Timestamp(int(high))
            raise ValueError(
                f"conditions value(s) {list(present[outside][:5])} for column "
                f"{schema.name!r} lie outside the range seen at fit [{low}, {high}]; "
                "the model cannot produce them."
            )

    def _check_condition_intervals(self, schema, intervals):
        """Interval conditions must be on a numeric column and meet its range."""
        if schema.kind not in _NUMERIC_KINDS:
            raise ValueError(
                f"conditions gives an interval for column {schema.name!r}, which is "
                f"{schema.kind}; intervals are only for numeric and datetime columns."
            )
        try:
            bounds = _interval_bounds(intervals, schema.kind)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"conditions interval bounds for column {schema.name!r} must be "
                f"{'timestamps' if schema.kind == 'datetime' else 'numbers'}, got "
                f"{list(intervals[:3])}."
            ) from exc
        low, high, closed_low, closed_high = bounds
        lo, hi = float(schema.min), float(schema.max)
        if schema.kind == "integer":
            # The smallest and largest integers inside each interval.
            first = np.ceil(low)
            first[~closed_low & (first == low)] += 1
            last = np.floor(high)
            last[~closed_high & (last == high)] -= 1
            empty = np.maximum(first, lo) > np.minimum(last, hi)
        else:
            # Intersection with [lo, hi]: [a, b] with each end closed unless the
            # interval's own open end is the binding one.
            a, b = np.maximum(low, lo), np.minimum(high, hi)
            closed_a = np.where(low >= lo, closed_low, True)
            closed_b = np.where(high <= hi, closed_high, True)
            empty = (a > b) | ((a == b) & ~(closed_a & closed_b))
        if empty.any():
            shown = list(intervals[empty][:5])
            if schema.kind == "datetime":
                lo, hi = pd.Timestamp(int(lo)), pd.Timestamp(int(hi))
            raise ValueError(
                f"conditions interval(s) {shown} for column {schema.name!r} hold no "
                f"value the model can produce (range seen at fit [{lo}, {hi}]"
                + (", integers only" if schema.kind == "integer" else "") + ")."
            )

    def _match(self, candidates, target, schemas):
        """Boolean mask of candidate rows matching one condition tuple."""
        mask = np.ones(len(candidates), dtype=bool)
        for name, value in target.items():
            schema = schemas[name]
            column = candidates[name]
            if isinstance(value, pd.Interval):
                got = _numeric_condition_values(column, schema.kind)
                mask &= _in_intervals(got, *_interval_bounds([value], schema.kind))
            elif pd.isna(value):
                mask &= column.isna().to_numpy()
            elif schema.kind in ("continuous", "datetime"):
                got = _numeric_condition_values(column, schema.kind)
                if schema.kind == "datetime":
                    want = float(pd.Timestamp(value).value)
                else:
                    want = float(value)
                width = (schema.max - schema.min) if schema.max is not None else 0.0
                tol = self.condition_tolerance * (width or 1.0)
                with np.errstate(invalid="ignore"):
                    mask &= np.abs(got - want) <= tol
            else:
                mask &= (column == value).fillna(False).to_numpy(dtype=bool)
        return mask

    def _sample_conditioned(self, n_samples, conditions, generator):
        frame = self._normalise_conditions(n_samples, conditions)
        schemas = self._columns_by_name()
        result = self._generate(0, generator)
        if n_samples == 0:
            return result
        names = list(frame.columns)
        groups = frame.groupby(names, dropna=False, sort=False).indices
        parts, positions = [], []
        for key, rows in groups.items():
            key = key if isinstance(key, tuple) else (key,)
            target = dict(zip(names, key))
            parts.append(self._rejection_sample(len(rows), target, schemas, generator))
            positions.append(rows)
        out = pd.concat(parts, ignore_index=True)
        order = np.argsort(np.concatenate(positions), kind="stable")
        out = out.iloc[order].reset_index(drop=True)
        # Continuous matches are within a tolerance: write the exact requested values
        # (interval conditions keep the sampled values).
        for name in names:
            if schemas[name].kind in ("continuous", "datetime"):
                exact = ~_interval_cells(frame[name])
                if exact.all():
                    out[name] = frame[name].astype(out[name].dtype).to_numpy()
                elif exact.any():
                    out.loc[exact, name] = (
                        frame.loc[exact, name].astype(out[name].dtype).to_numpy()
                    )
        return out

    def _generate_candidates(self, n_samples, target, generator):
        """Candidate rows for the condition tuple ``target`` ({column: value}).

        The rejection loop keeps the candidates that match. Families with native
        conditioning override this to steer the model towards ``target``.
        """
        return self._generate(n_samples, generator)

    def _rejection_sample(self, n_needed, target, schemas, generator):
        """Draw candidates until ``n_needed`` rows match ``target`` (bounded)."""
        kept, n_kept, n_drawn = [], 0, 0
        budget = max(self.condition_max_ratio * n_needed, 10_000)
        rate = 0.5
        while n_kept < n_needed:
            if n_drawn >= budget:
                raise ValueError(
                    f"Could only generate {n_kept} of {n_needed} rows with conditions "
                    f"{target} after drawing {n_drawn} candidate rows (match rate "
                    f"{n_kept / max(n_drawn, 1):.2%}). The model rarely produces this "
                    "combination: train longer, condition on fewer columns, or use a "
                    "generator with native conditioning."
                )
            size = int(min(max((n_needed - n_kept) / max(rate, 1e-4) * 1.2, 1024), budget))
            candidates = self._generate_candidates(size, target, generator)
            mask = self._match(candidates, target, schemas)
            n_drawn += size
            hits = candidates[mask]
            kept.append(hits)
            n_kept += len(hits)
            rate = max(n_kept / n_drawn, 1e-4)
        return pd.concat(kept, ignore_index=True).iloc[:n_needed]

    # ------------------------------------------------------ representation

    def transform(self, X):
        """The model's representation of real rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows with the columns seen at fit.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_out), float32
            The latent posterior mean for VAE-like models, the encoded table
            otherwise. Deterministic.
        """
        check_is_fitted(self)
        frame = self._drop_identifiers(self._validated_frame(X, reset=False))
        if self.target_name_ is not None:
            # The target is not part of X: encode any valid stand-in value, then
            # replace its units by their training mean (the class frequencies for a
            # label), so the representation does not depend on the stand-in.
            stand_in = self.encoder_.inverse_transform(
                np.zeros((1, self.encoder_.layout_.n_features), dtype=np.float32)
            )[self.target_name_].iloc[0]
            frame[self.target_name_] = stand_in
        encoded = self.encoder_.encode(frame, mode_assignment="argmax").astype(np.float32)
        if self.target_name_ is not None:
            cols, fill = self._target_fill_
            encoded[:, cols] = fill
        self._eval()
        with torch.inference_mode():
            tensor = torch.from_numpy(encoded).to(self.device_)
            out = self._represent(tensor)
        return out.cpu().numpy().astype(np.float32, copy=False)

    def inverse_transform(self, X):
        """Rows from representations (a deterministic decode).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Representations, e.g. the output of :meth:`transform`.

        Returns
        -------
        X_original : DataFrame or ndarray of shape (n_samples, n_features)
            Decoded rows, the same type as the ``X`` given to ``fit`` (the target, if
            any, is dropped).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float32, input_name="X")
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform of "
                f"{type(self).__name__} expects {self._n_features_out} (the width of "
                "transform's output)."
            )
        self._eval()
        with torch.inference_mode():
            encoded = self._unrepresent(torch.from_numpy(Z).to(self.device_))
        frame = self.encoder_.inverse_transform(encoded.cpu().numpy())
        frame = self._add_identifiers(frame, self._score_seed_)
        out = self._format_output(frame)
        return out[0] if isinstance(out, tuple) else out

    # ------------------------------------------------------------ score

    def score(self, X, y=None):
        """SDMetrics quality of a fresh sample against ``X``, in [0, 1].

        Draws ``len(X)`` rows with a seed fixed at fit (so the score is
        deterministic) and returns the overall score of SDMetrics' QualityReport
        (the mean of Column Shapes and Column Pair Trends). Higher is better, so
        ``GridSearchCV(generator, grid)`` needs no ``scoring`` argument.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Real rows, typically held out.
        y : array-like of shape (n_samples,), default=None
            The target, compared too when the generator was fitted with one.

        Returns
        -------
        score : float
        """
        from .metrics import quality_score

        check_is_fitted(self)
        real = self._validated_frame(X, reset=False)
        real.columns = self._feature_columns_
        synthetic = self.sample(len(real), random_state=self._score_seed_)
        if isinstance(synthetic, tuple):
            synthetic, synthetic_y = synthetic
        else:
            synthetic_y = None
        synthetic = (
            synthetic if isinstance(synthetic, pd.DataFrame) else pd.DataFrame(synthetic)
        )
        synthetic.columns = self._sampled_columns()
        # Identifier columns are not modelled: nothing to score.
        real = self._drop_identifiers(real)
        synthetic = self._drop_identifiers(synthetic)
        schema = [s for s in self.encoder_.schema_ if s.name != self.target_name_]
        if y is not None and synthetic_y is not None:
            real[self.target_name_] = np.asarray(y)
            synthetic[self.target_name_] = np.asarray(synthetic_y)
            schema = list(self.encoder_.schema_)
        if not self._input_is_frame_:
            # Arrays were sampled back as one dtype; restore per-column dtypes.
            synthetic = synthetic.astype(real.dtypes.to_dict())
        return float(quality_score(real, synthetic, schema=schema))
