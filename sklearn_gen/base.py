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
# Encoded values (rows x encoded width) per generation block, so that wide tables
# get fewer rows per block (at least 1,024): a block's intermediate tensors stay in
# cache and in bounded memory. Measured on TVAE, 1 thread, busy 2-core machine:
# 2,010 units wide (bench_scale.py's table), 2,048-row blocks sampled 1.5-2.6x
# faster than 65,536-row ones and peaked at 0.7 instead of 3.5 GiB; on Adult
# (146 units), 4,096-row blocks were 1.8x faster.
_SAMPLE_BLOCK_VALUES = 2**21

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


def _check_unique_columns(X):
    """Refuse a DataFrame with duplicated column names (naming them)."""
    if X.columns.duplicated().any():
        dupes = list(X.columns[X.columns.duplicated()].unique())
        raise ValueError(
            f"Column names must be unique; duplicated: {dupes}. Rename them so that "
            "each column has its own name (e.g. X.columns = [...])."
        )


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
        "data_parallel": ["boolean"],
    }

    #: Fraction of a numeric column's observed range within which a candidate row
    #: counts as matching a continuous condition.
    condition_tolerance = 0.01
    #: Candidate rows drawn at most per requested conditional row.
    condition_max_ratio = 200
    #: For families that steer generation towards a category (native conditions):
    #: below this share of steered candidates showing it, the category is written
    #: into them rather than left to rejection.
    steered_category_min_rate = 0.01

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

    def __getstate__(self):
        from ._persistence import VERSIONS_KEY, library_versions

        # Record the libraries the pickle depends on; loading it under other
        # versions warns (scikit-learn only checks its own estimators' pickles).
        return {**super().__getstate__(), VERSIONS_KEY: library_versions()}

    def __setstate__(self, state):
        from ._persistence import VERSIONS_KEY, check_versions

        state = dict(state)
        check_versions(state.pop(VERSIONS_KEY, None), type(self).__name__)
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
                       if min_samples > 1 else "; pass at least one row.")
                )
            if X.shape[1] < 1:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                    f"of 1 is required by {type(self).__name__}: pass a table with at "
                    "least one column."
                )
            _check_unique_columns(X)
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

    @staticmethod
    def _target_series(frame, y):
        """``y`` as a Series of one value per row of ``frame``, or a clear error."""
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise ValueError(
                    f"y must be one column; got a DataFrame with {y.shape[1]} columns. "
                    "Model several targets by putting them in X."
                )
            y = y.iloc[:, 0]
        if not isinstance(y, pd.Series):
            y = np.asarray(y)
            if y.ndim != 1:
                raise ValueError(
                    f"y must be 1-D with one value per row of X ({len(frame)} rows); "
                    f"got an array of shape {y.shape}. Pass a Series or a 1-D array."
                )
        y_series = y if isinstance(y, pd.Series) else pd.Series(y)
        if len(y_series) != len(frame):
            raise ValueError(
                f"y must be 1-D with one value per row of X ({len(frame)} rows); got "
                f"{len(y_series)} values."
            )
        if pd.api.types.is_numeric_dtype(y_series) and not pd.api.types.is_bool_dtype(
            y_series
        ):
            values = y_series.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(values).any():
                raise ValueError(
                    "y contains infinite values. A generator cannot learn or "
                    "reproduce ±inf: replace them with NaN (treated as missing) or "
                    "with finite values."
                )
        return y_series

    @staticmethod
    def _set_target(frame, name, y_series):
        """A copy of ``frame`` with ``y_series`` as its column ``name``."""
        frame = frame.copy()
        frame[name] = y_series.to_numpy() if isinstance(
            y_series.dtype, np.dtype
        ) else y_series.array
        return frame

    def _with_target(self, frame, y):
        """Append ``y`` to ``frame`` as the target column (at fit)."""
        if y is None:
            self.target_name_ = None
            return frame
        y_series = self._target_series(frame, y)
        name = y_series.name
        string_labels = all(isinstance(c, str) for c in frame.columns)
        if not self._input_is_frame_:
            # Array columns are labelled by position: the target is the next one.
            name = frame.shape[1]
        elif not string_labels:
            # Non-string labels (e.g. ints): a string target name would mix label
            # types, which scikit-learn refuses; keep the target's own non-string
            # name if free, else take the next free integer.
            if name is None or isinstance(name, str) or name in frame.columns:
                name = frame.shape[1]
                while name in frame.columns:
                    name += 1
        elif name is None or not isinstance(name, str) or name in frame.columns:
            name = "y" if "y" not in frame.columns else "target__y"
        self.target_name_ = name
        try:
            kind = type_of_target(y_series.to_numpy())
        except ValueError:
            kind = "unknown"
        self.target_is_discrete_ = kind in ("binary", "multiclass") or not (
            pd.api.types.is_numeric_dtype(y_series)
        )
        return self._set_target(frame, name, y_series)

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
        else:
            _check_unique_columns(X)
        try:
            X = validate_data(self, X, skip_check_array=True, reset=reset)
        except ValueError as exc:
            if not str(exc).startswith("The feature names should match"):
                raise
            raise ValueError(
                f"{exc}Pass the columns seen at fit, in that order: "
                "X[generator.feature_names_in_]."
            ) from None
        if (
            not reset
            and isinstance(X, pd.DataFrame)
            and getattr(self, "_input_is_frame_", False)
            and not hasattr(self, "feature_names_in_")
        ):
            # Non-string labels (e.g. ints): sklearn does not check them; we do, so
            # that columns are never matched to the wrong ones by position.
            expected, present = list(self._feature_columns_), list(X.columns)
            missing = [c for c in expected if c not in present]
            extra = [c for c in present if c not in expected]
            if missing or extra:
                raise ValueError(
                    f"X must have the columns seen at fit {expected}; missing: "
                    f"{missing}, not seen at fit: {extra}."
                )
            if present != expected:
                raise ValueError(
                    f"X has the columns seen at fit in a different order: got "
                    f"{present}, expected {expected}. Reorder them: X[{expected}]."
                )
        return self._as_frame(X, min_samples=min_samples)

    # ------------------------------------------------------------------ fit

    def _net_kwargs(self, n_rows):
        # The guard watches every loss the net records (its finite_loss_keys) and
        # quotes this generator's learning rates when one diverges.
        learning_rates = {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name == "lr" or name.endswith("_lr")
            if isinstance(value, numbers.Real)
        }
        callbacks = [("finite_loss", FiniteLossGuard(learning_rates=learning_rates))]
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
                frame = self._set_target(
                    frame, self.target_name_, self._target_series(frame, y)
                )
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
            self.device_ = self._resolve_device()
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

        from ._training._callbacks import TrainingRun

        # A run is the epochs of one fit call. partial_fit on a generator whose
        # run was interrupted (Ctrl-C, or a kill and a GeneratorCheckpoint file)
        # finishes that run: its remaining epochs, its random streams replayed
        # from the run's start (same encoding on the same rows), so on the CPU
        # it ends where the uninterrupted run would have.
        resume = self.__dict__.get("_resume_") if warm_start else None
        if resume is not None:
            rng.set_state(resume["fit_rng"])
        run = TrainingRun(
            int(self.epochs), fit_rng_state=rng.get_state(), resume=resume
        )
        encoded = self.encoder_.encode(
            frame, mode_assignment="sample", random_state=rng
        ).astype(np.float32, copy=False)
        if not warm_start:
            self.n_train_rows_ = len(frame)
            self._target_fill_ = self._target_fill_values(encoded)
        seed = torch_seed(rng)
        device = torch.device(self.device_)
        devices = [device.index or 0] if device.type == "cuda" else []

        def unfit():
            # Nothing usable is left: no fitted attribute either.
            for name in [v for v in vars(self) if v.endswith("_")]:
                if not name.startswith("__"):
                    delattr(self, name)

        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if warm_start:
                net = self.net_
                net.set_params(max_epochs=run.remaining)
            else:
                net = self._make_net(self.encoder_.layout_, self._net_kwargs(len(frame)))
                net.initialize()
            parallel = self._data_parallel(seed)
            # With data_parallel, each process draws its own noise.
            rank = parallel.rank if parallel is not None else 0
            net.rng_ = make_torch_generator((seed + rank) % 2**63, self.device_)
            if parallel is not None:
                net.data_parallel_ = parallel
                parallel.attach(net)
            # Restores a resumed run's streams; binds GeneratorCheckpoint callbacks.
            run.start(net, self)
            try:
                # skorch ends training quietly on KeyboardInterrupt (Ctrl-C):
                # run.stop tells, and drops an epoch cut short from the history.
                net.partial_fit(encoded)
                resume = run.stop(net)
            except BaseException as exc:
                # A first fit that failed, or non-finite weights (FiniteLossGuard).
                if not warm_start or isinstance(exc, FloatingPointError):
                    unfit()
                raise
            finally:
                del net.rng_
                if parallel is not None:
                    parallel.detach()
                    net.__dict__.pop("data_parallel_", None)
                    net.__dict__.pop("batch_rng_", None)
        if resume is not None and not warm_start and resume["done"] == 0:
            unfit()
            raise KeyboardInterrupt(
                f"{type(self).__name__}.fit was interrupted before its first epoch "
                "completed: nothing was learned and the generator is not fitted."
            )
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        privacy_spent = getattr(net, "privacy_spent", None)
        if privacy_spent is not None:  # a differentially private net
            self.privacy_spent_ = privacy_spent()
        if resume is None:
            self.__dict__.pop("_resume_", None)
        else:
            import warnings

            self._resume_ = resume
            warnings.warn(
                run.interrupted_message(self, net, resume), UserWarning, stacklevel=4
            )
        return self

    def _resolve_device(self):
        """``device_`` at fit: the ``device`` parameter, or this process's device."""
        if not self.data_parallel:
            return resolve_device(self.device)
        if getattr(self, "privacy", None) is not None:
            raise ValueError(
                "data_parallel=True cannot be combined with privacy: DP-SGD's "
                "accounting assumes one process sampling the whole table. Train "
                "private models in one process (data_parallel=False)."
            )
        device = str(self.device)
        if device not in ("auto", "cpu"):
            raise ValueError(
                f"data_parallel=True places each process on its own device, so "
                f"device must be 'auto' or 'cpu' (got {self.device!r}); choose the "
                "GPUs with accelerate launch or CUDA_VISIBLE_DEVICES instead."
            )
        from ._training._distributed import process_state

        state = process_state(cpu=device == "cpu" or not torch.cuda.is_available())
        return str(state.device) if state.device.type != "cpu" else "cpu"

    def _data_parallel(self, seed):
        """The DataParallel helper of this fit, or None when training alone."""
        if not self.data_parallel:
            return None
        from ._training._distributed import DataParallel, process_state

        state = process_state()
        if str(state.device) != self.device_ and state.device.type != "cpu":
            raise ValueError(
                f"This generator was fitted on {self.device_}, but this process "
                f"trains on {state.device}: continue a data-parallel fit in the "
                "same process layout it started in."
            )
        return DataParallel(state, batch_seed=seed)

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
                f"({type(n_samples).__name__}); pass a whole number of rows, e.g. "
                "int(n_samples)."
            )
        if n_samples < 0:
            raise ValueError(
                f"n_samples must be >= 0, got {n_samples}; sample(0) gives an empty "
                "table with the fitted columns."
            )
        if isinstance(conditions, pd.DataFrame) and len(conditions) != n_samples:
            raise ValueError(
                f"conditions is a DataFrame of {len(conditions)} rows (one per sample) "
                f"but n_samples={n_samples}; pass n_samples=None or a matching number."
            )
        return int(n_samples)

    def _eval(self):
        for name in self.net_._modules:
            getattr(self.net_, name + "_").eval()

    def _encoded_blocks(self, n_samples, generator, **sample_kwargs):
        """Encoded rows (numpy) in blocks of :meth:`_block_rows`, drawn in order.

        The blocks depend on ``n_samples`` and the fitted model only, so
        :meth:`_generate` and :meth:`sample_batches` draw the same rows from the
        same ``generator``. Inference mode is entered per block, never held
        across a ``yield``.
        """
        self._eval()
        block_rows = self._block_rows()
        for start in range(0, n_samples, block_rows):
            size = min(block_rows, n_samples - start)
            with torch.inference_mode():
                encoded = self._sample_encoded(size, generator, **sample_kwargs)
                block = encoded.cpu().numpy()
            yield block

    def _block_rows(self):
        """Rows per generation block: ``_SAMPLE_BLOCK_VALUES`` / encoded width.

        Between 1,024 and ``_SAMPLE_CHUNK`` rows (never more than the latter).
        """
        width = max(int(self.encoder_.layout_.n_features), 1)
        return int(min(_SAMPLE_CHUNK, max(1024, _SAMPLE_BLOCK_VALUES // width)))

    def _generate(self, n_samples, generator, **sample_kwargs):
        """``n_samples`` decoded rows (DataFrame with the fitted table's columns).

        ``sample_kwargs`` go to ``_sample_encoded`` (e.g. a native condition).
        """
        chunks = [
            self.encoder_.inverse_transform(block)
            for block in self._encoded_blocks(n_samples, generator, **sample_kwargs)
        ]
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
        n_samples, _, generator = self._start_sampling(
            n_samples, conditions, random_state
        )
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

    def sample_batches(
        self, n_samples=None, *, batch_rows=100_000, conditions=None, random_state=None
    ):
        """Generate rows batch by batch, holding one batch in memory at a time.

        For more rows than fit in memory: iterate and hand each batch on
        (:func:`~sklearn_gen.write_samples` streams them to a CSV or Parquet
        file). The arguments are checked when this method is called; rows are
        generated as the iterator is consumed.

        Parameters
        ----------
        n_samples : int, default=None
            Total number of rows. None means as many rows as the training table,
            or one per row of ``conditions`` when that is a DataFrame.
        batch_rows : int, default=100_000
            Rows per batch; only the last batch may be shorter. ``n_samples=0``
            yields no batch.
        conditions : dict or DataFrame, default=None
            As for :meth:`sample`. A dict applies to every batch; a DataFrame
            (one row per sample) is cut into consecutive slices, one per batch.
        random_state : int, RandomState instance or None, default=None
            Seed for this call. None continues the stream seeded at fit.

        Yields
        ------
        X_batch : DataFrame or ndarray of shape (n_batch_rows, n_features)
            Same type, columns and dtypes as :meth:`sample` returns. A DataFrame
            batch is indexed by its rows' positions in the whole sample.
        y_batch : Series or ndarray of shape (n_batch_rows,)
            Only when ``fit`` got ``y``: each item is then ``(X_batch, y_batch)``.

        Notes
        -----
        **Memory.** One batch of decoded rows (two while a batch spanning
        several generation blocks is concatenated) plus one generation block in
        the encoded space (about two million encoded values, 1,024 to 65,536
        rows), whatever ``n_samples``.

        **Reproducibility.** Without ``conditions``, the model's rows are drawn
        in blocks that depend on ``n_samples`` only and decoded row by row: the
        concatenated batches equal ``sample(n_samples, random_state=...)`` for
        every ``batch_rows``. With ``conditions``, each batch is sampled like
        ``sample`` with its own conditions, in turn from one stream: an int
        ``random_state`` repeats the rows for the same ``batch_rows``, but
        another ``batch_rows`` gives other (equally valid) rows. Identifier
        columns (``identifiers="regenerate"``) get fresh values per batch,
        distinct within a batch; integer identifiers are also distinct across
        batches (each batch's lie above the previous ones').

        Examples
        --------
        >>> from sklearn.datasets import load_wine
        >>> from sklearn_gen import TVAEGenerator
        >>> X = load_wine(as_frame=True).frame
        >>> gen = TVAEGenerator(epochs=1, random_state=0).fit(X)
        >>> [len(batch) for batch in gen.sample_batches(250, batch_rows=100)]
        [100, 100, 50]
        """
        if isinstance(batch_rows, (bool, np.bool_)) or not isinstance(
            batch_rows, numbers.Integral
        ):
            raise TypeError(
                f"batch_rows must be a positive int, got {batch_rows!r} "
                f"({type(batch_rows).__name__})."
            )
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be >= 1, got {batch_rows}.")
        n_samples, seed, generator = self._start_sampling(
            n_samples, conditions, random_state
        )
        if isinstance(conditions, dict):
            self._normalise_conditions(1, conditions)  # checked once, used per batch
        elif conditions is not None:
            self._normalise_conditions(n_samples, conditions)
        return self._iter_batches(
            n_samples, int(batch_rows), conditions, seed, generator
        )

    def _iter_batches(self, n_samples, batch_rows, conditions, seed, generator):
        starts = range(0, n_samples, batch_rows)
        if conditions is None:
            frames = self._decoded_batches(n_samples, batch_rows, generator)
        else:
            frames = (
                self._sample_conditioned(
                    min(batch_rows, n_samples - start),
                    conditions
                    if isinstance(conditions, dict)
                    else conditions.iloc[start : start + batch_rows],
                    generator,
                )
                for start in starts
            )
        id_floor = {}
        for k, frame in enumerate(frames):
            start = k * batch_rows
            if self._identifier_names():
                frame = self._add_batch_identifiers(frame, [seed, k], id_floor)
            out = self._format_output(frame)
            for item in out if isinstance(out, tuple) else (out,):
                if isinstance(item, (pd.DataFrame, pd.Series)):
                    item.index = pd.RangeIndex(start, start + len(item))
            yield out

    def _decoded_batches(self, n_samples, batch_rows, generator):
        """Unconditioned decoded rows in batches, cut from :meth:`_encoded_blocks`."""
        blocks = self._encoded_blocks(n_samples, generator)
        block, offset = None, 0
        for start in range(0, n_samples, batch_rows):
            need = min(batch_rows, n_samples - start)
            parts = []
            while need:
                if block is None or offset == len(block):
                    block, offset = next(blocks), 0
                take = min(need, len(block) - offset)
                rows = block[offset : offset + take]
                parts.append(self.encoder_.inverse_transform(rows))
                offset += take
                need -= take
            yield parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

    def _add_batch_identifiers(self, frame, seed, floor):
        """Fresh identifiers for one batch of :meth:`sample_batches`.

        ``floor`` maps an integer identifier column to the largest value written
        so far; this batch's values are drawn above it, so they stay distinct
        across batches.
        """
        import dataclasses

        from .preprocessing._identifiers import generate_identifiers

        if self._identifier_mode_ == "drop":
            return frame
        rng = np.random.default_rng(seed)
        for column in self.identifiers_:
            previous = floor.get(column.name)
            if column.format == "integer" and previous is not None:
                # Move the learned range up (same width): fresh values lie above it.
                shift = previous - column.params["high"]
                column = dataclasses.replace(
                    column,
                    params={
                        **column.params,
                        "low": column.params["low"] + shift,
                        "high": previous,
                    },
                )
            values = generate_identifiers(column, len(frame), rng)
            if column.format == "integer":
                present = pd.Series(values).dropna()
                if len(present):
                    if previous is not None and present.min() <= previous:
                        raise ValueError(
                            f"No room for distinct fresh ids in column "
                            f"{column.name!r} (dtype {column.dtype}) across batches; "
                            "sample fewer rows or use larger batches."
                        )
                    floor[column.name] = int(present.max())
            frame[column.name] = values
        return frame[self._column_order_]

    def _start_sampling(self, n_samples, conditions, random_state):
        """Checks shared by :meth:`sample` and :meth:`sample_batches`.

        Returns ``(n_samples, seed, generator)``: the number of rows, the torch
        seed of this call and a torch generator seeded with it.
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
        if random_state is None:
            rng = self._sample_rng_
        else:
            rng = check_random_state(random_state)
        seed = torch_seed(rng)
        return n_samples, seed, make_torch_generator(seed, self.device_)

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
            for name, value in conditions.items():
                if isinstance(value, (list, set, dict, np.ndarray, pd.Series)):
                    raise ValueError(
                        f"conditions[{name!r}] must be one value (or a (low, high) "
                        f"interval) for every row, got a {type(value).__name__}; for "
                        "one value per row, pass a DataFrame with one row per sample."
                    )
            frame = pd.DataFrame({k: [v] * n_samples for k, v in conditions.items()})
        elif isinstance(conditions, pd.DataFrame):
            _check_unique_columns(conditions)
            frame = conditions.reset_index(drop=True)
        else:
            raise TypeError(
                "conditions must be a dict {column: value} or a DataFrame with one row "
                f"per sample, got {type(conditions).__name__}."
            )
        columns = self._columns_by_name()
        for name in frame.columns:
            if frame[name].dtype == object and any(
                isinstance(v, (list, set, dict, np.ndarray, pd.Series))
                for v in frame[name]
            ):
                raise ValueError(
                    f"conditions for column {name!r} must hold one value (or a "
                    "(low, high) interval) per row, not a collection."
                )
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
                    + (
                        " A (low, high) interval applies only to numeric and "
                        "datetime columns."
                        if any(isinstance(v, tuple) for v in unknown)
                        else ""
                    )
                )
            return
        if schema.kind == "datetime":
            try:
                stamps = pd.to_datetime(present)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"conditions for datetime column {schema.name!r} must be "
                    f"timestamps, got {list(present[:3])}."
                ) from exc
            numeric = stamps.astype("int64").to_numpy(dtype=np.float64)
        else:
            try:
                numeric = pd.to_numeric(present).to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"conditions for numeric column {schema.name!r} must be numbers, "
                    f"got {list(present[:3])}."
                ) from exc
            fractional = np.isfinite(numeric) & (numeric != np.round(numeric))
            if schema.kind == "integer" and fractional.any():
                raise ValueError(
                    f"conditions for integer column {schema.name!r} must be whole "
                    f"numbers, got {list(present[fractional][:3])}; for a range, give "
                    "an interval (low, high)."
                )
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

    def _write_rare_categories(self, rows, steered):
        """Write steered categories the model seldom outputs into candidate rows.

        ``rows`` were generated *given* each ``{column: category}`` of ``steered``
        (a family's native conditioning). A category the model barely learned
        (e.g. seen once in training) still seldom comes out, and rejection alone
        would fail; below ``steered_category_min_rate`` of the rows it is written
        in, as continuous condition values are.
        """
        schemas = self._columns_by_name()
        for name, value in steered.items():
            if not schemas[name].is_discrete or pd.isna(value) or not len(rows):
                continue
            matched = (rows[name] == value).fillna(False).to_numpy(dtype=bool)
            if matched.mean() < self.steered_category_min_rate:
                rows.loc[~matched, name] = value
        return rows

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
        if y is not None:
            if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
                y = y.iloc[:, 0]
            shape = y.shape if isinstance(y, pd.Series) else np.asarray(y).shape
            if len(shape) != 1 or shape[0] != len(real):
                raise ValueError(
                    f"y must be 1-D with one value per row of X ({len(real)} rows); "
                    f"got shape {shape}."
                )
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
