"""Generator scorers for GridSearchCV / cross_validate, and ``evaluate_synthetic``."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._common import _subsample
from ._consistency import consistency_score, diagnostic_score
from ._diversity import coverage_score, nn_precision_score, nn_recall_score
from ._fidelity import column_pair_trends_score, column_shapes_score, detection_score
from ._privacy import (
    attribute_inference_score,
    dcr_share,
    exact_copy_rate,
    membership_inference_score,
)
from ._quality import _as_frame, quality_score
from ._utility import ml_efficacy_score

__all__ = [
    "evaluate_synthetic",
    "get_scorer",
    "get_scorer_names",
    "make_generator_scorer",
]


@dataclass(frozen=True)
class _Metric:
    """A named metric: its function, fixed options, group and best value."""

    function: object
    options: dict = field(default_factory=dict)
    group: str = "fidelity"
    best: float = 1.0
    needs_target: bool = False
    needs_train: bool = False


#: Every metric ``evaluate_synthetic`` knows, in report order. All but the
#: privacy ones are "greater is better" and have a scorer of the same name.
_METRICS = {
    "quality": _Metric(quality_score),
    "column_shapes": _Metric(column_shapes_score),
    "column_pair_trends": _Metric(column_pair_trends_score, {"all_pairs": True}),
    "column_pair_trends_thresholded": _Metric(
        column_pair_trends_score, {"all_pairs": False}
    ),
    "detection": _Metric(detection_score, {"method": "logistic"}),
    "detection_gb": _Metric(detection_score, {"method": "gradient_boosting"}),
    "coverage": _Metric(coverage_score, group="diversity"),
    "nn_precision": _Metric(nn_precision_score, group="diversity"),
    "nn_recall": _Metric(nn_recall_score, group="diversity"),
    "consistency": _Metric(consistency_score, group="consistency"),
    "diagnostic": _Metric(diagnostic_score, group="consistency"),
    "ml_efficacy": _Metric(ml_efficacy_score, group="utility", needs_target=True),
    "dcr_share": _Metric(dcr_share, group="privacy", best=0.5, needs_train=True),
    "exact_copy_rate": _Metric(
        exact_copy_rate, group="privacy", best=0.0, needs_train=True
    ),
    "membership_inference": _Metric(
        membership_inference_score, group="privacy", best=0.5, needs_train=True
    ),
    "attribute_inference": _Metric(
        attribute_inference_score,
        group="privacy",
        best=1.0,
        needs_train=True,
        needs_target=True,
    ),
}

#: Names usable with ``get_scorer``: every metric that only needs the held-out
#: fold (a scorer never sees the training rows, so no privacy scorer).
_SCORER_NAMES = tuple(name for name, m in _METRICS.items() if not m.needs_train)


def _accepts(function, name):
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return name in parameters


def _real_frame(generator, X):
    """``X`` as a DataFrame with the generator's feature columns."""
    if hasattr(generator, "_validated_frame") and hasattr(
        generator, "_feature_columns_"
    ):
        real = generator._validated_frame(X, reset=False)
        real.columns = generator._feature_columns_
        return real
    if isinstance(X, pd.DataFrame):
        return X.copy()
    return pd.DataFrame(np.asarray(X)).infer_objects()


def _scoring_tables(generator, X, y, seed):
    """Real fold and a same-size synthetic sample (and the schema and target name).

    When ``y`` is given (the generator was fitted with a target), it becomes a
    column of the real table, and the sampled target one of the synthetic table.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(generator)
    real = _real_frame(generator, X)
    output = generator.sample(len(real), random_state=seed)
    if isinstance(output, tuple):
        synthetic, synthetic_y = output
    else:
        synthetic, synthetic_y = output, None
    synthetic = (
        synthetic.reset_index(drop=True)
        if isinstance(synthetic, pd.DataFrame)
        else pd.DataFrame(np.asarray(synthetic))
    )
    sampled_columns = getattr(generator, "_sampled_columns", None)
    synthetic.columns = (
        sampled_columns() if sampled_columns is not None else list(real.columns)
    )
    # Identifier columns are not modelled (the generator's ``identifiers``).
    identifiers = [c.name for c in getattr(generator, "identifiers_", None) or ()]
    if identifiers:
        real = real.drop(columns=identifiers, errors="ignore")
        synthetic = synthetic.drop(columns=identifiers, errors="ignore")
    real = real.reset_index(drop=True)
    target_name = getattr(generator, "target_name_", None)
    encoder = getattr(generator, "encoder_", None)
    schema = list(getattr(encoder, "schema_", None) or []) or None
    if schema is not None:
        schema = [s for s in schema if s.name in set(real.columns)]
    if y is not None:
        if synthetic_y is None:
            raise ValueError(
                "The scorer got y but the generator samples no target: fit the "
                "generator with y (fit(X, y)) to score with a target."
            )
        target_name = target_name if target_name is not None else "target"
        if target_name in real.columns:
            raise ValueError(
                f"The target name {target_name!r} is also a feature column."
            )
        real[target_name] = np.asarray(y)
        synthetic[target_name] = np.asarray(synthetic_y)
        if encoder is not None:
            schema = list(encoder.schema_)
    if not getattr(generator, "_input_is_frame_", True):
        # Arrays were sampled back as one dtype; restore per-column dtypes.
        synthetic = synthetic.astype(real.dtypes.to_dict())
    return real, synthetic, schema, (target_name if y is not None else None)


class _GeneratorScorer:
    """Callable ``scorer(generator, X, y=None) -> float``; see make_generator_scorer."""

    def __init__(self, metric, sign, kwargs, random_state, name=None):
        self._metric = metric
        self._sign = sign
        self._kwargs = kwargs
        self._random_state = random_state
        self._name = name

    def __repr__(self):
        label = self._name or getattr(self._metric, "__name__", repr(self._metric))
        options = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        sign = "" if self._sign > 0 else ", greater_is_better=False"
        return f"make_generator_scorer({label}{sign}{options})"

    def _seed(self, generator):
        if self._random_state is not None:
            return self._random_state
        return getattr(generator, "_score_seed_", 0)

    def __call__(self, generator, X, y=None):
        real, synthetic, schema, target_name = _scoring_tables(
            generator, X, y, self._seed(generator)
        )
        kwargs = dict(self._kwargs)
        if _accepts(self._metric, "target") and "target" not in kwargs:
            if target_name is None:
                raise ValueError(
                    f"{self!r} needs a target: fit the generator with y and pass y "
                    "to the scorer (GridSearchCV does when fitted with y), or give "
                    "target=<column name> to make_generator_scorer."
                )
            kwargs["target"] = target_name
        if (
            schema is not None
            and "schema" not in kwargs
            and _accepts(self._metric, "schema")
        ):
            kwargs["schema"] = schema
        return self._sign * float(self._metric(real, synthetic, **kwargs))


def make_generator_scorer(
    metric, *, greater_is_better=True, random_state=None, **kwargs
):
    """Make a scorer ``scorer(generator, X, y=None) -> float`` from a metric.

    The scorer draws ``len(X)`` rows from the fitted generator with a fixed
    seed, then returns ``metric(X, synthetic, **kwargs)``, so it can be used
    as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.model_selection.cross_validate`: each candidate is scored
    on the held-out fold, and the same fitted generator always gets the same
    score (a search must not rank candidates by sampling noise).

    When the generator was fitted with ``y``, it samples a target too: with
    ``y`` passed to the scorer, the target is compared as one more column
    (named ``generator.target_name_``) and is the default ``target`` of
    metrics that take one (``ml_efficacy_score``). Without ``y``, only the
    features are compared. The generator's schema
    (``generator.encoder_.schema_``) is passed to metrics that take
    ``schema``.

    Parameters
    ----------
    metric : callable or str
        A function ``metric(real, synthetic, **kwargs) -> float`` (any of
        this module's functions, or your own), or the name of a built-in
        scorer (see :func:`get_scorer_names`).
    greater_is_better : bool, default=True
        False negates the metric (like scikit-learn's ``neg_*`` scorers), so
        that a greater score is always better. Every built-in name is already
        "greater is better".
    random_state : int, default=None
        Seed of the sample. None uses the seed each generator fixed at fit
        (``_score_seed_``, the one :meth:`BaseGenerator.score` uses), or 0 for
        a generator that has none.
    **kwargs
        Options passed to ``metric`` on every call (e.g. ``max_rows=2000``,
        ``target="income"``, ``constraints=[...]``).

    Returns
    -------
    scorer : callable
        ``scorer(generator, X, y=None) -> float``.

    See Also
    --------
    get_scorer : a built-in scorer by name.

    Examples
    --------
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn_gen import TVAEGenerator
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import column_pair_trends_score, make_generator_scorer
    >>> X = load_adult().iloc[:600]
    >>> scorer = make_generator_scorer(column_pair_trends_score, max_rows=300)
    >>> gen = TVAEGenerator(epochs=1, device="cpu", random_state=0).fit(X.iloc[:400])
    >>> score = scorer(gen, X.iloc[400:])
    >>> 0.0 <= score <= 1.0 and score == scorer(gen, X.iloc[400:])
    True
    """
    if isinstance(metric, str):
        spec = _lookup(metric)
        return _GeneratorScorer(
            spec.function,
            1 if greater_is_better else -1,
            {**spec.options, **kwargs},
            random_state,
            name=metric,
        )
    if not callable(metric):
        raise TypeError(
            f"metric must be a callable (real, synthetic, **kwargs) -> float or a "
            f"scorer name, got {metric!r}."
        )
    return _GeneratorScorer(
        metric, 1 if greater_is_better else -1, dict(kwargs), random_state
    )


def _lookup(name):
    if name not in _SCORER_NAMES:
        extra = ""
        if name in _METRICS:
            extra = (
                f" {name!r} needs the training rows, which a scorer never sees; "
                f"call sklearn_gen.metrics.{_METRICS[name].function.__name__} "
                "or evaluate_synthetic(..., train=...) instead."
            )
        raise ValueError(
            f"{name!r} is not a valid generator scorer name.{extra} "
            f"Valid names: {sorted(_SCORER_NAMES)}."
        )
    return _METRICS[name]


def get_scorer(scoring, **kwargs):
    """A built-in generator scorer by name.

    ==================================  =============================================
    name                                metric (all: greater is better, best 1)
    ==================================  =============================================
    ``quality``                         :func:`quality_score` (SDMetrics QualityReport)
    ``column_shapes``                   :func:`column_shapes_score`
    ``column_pair_trends``              :func:`column_pair_trends_score`, all pairs
    ``column_pair_trends_thresholded``  same, QualityReport's pairs (0.5 / 0.3)
    ``detection``                       :func:`detection_score`, logistic
    ``detection_gb``                    :func:`detection_score`, gradient boosting
    ``coverage``                        :func:`coverage_score`
    ``nn_precision``                    :func:`nn_precision_score`
    ``nn_recall``                       :func:`nn_recall_score`
    ``consistency``                     :func:`consistency_score` (generator schema)
    ``diagnostic``                      :func:`diagnostic_score`
    ``ml_efficacy``                     :func:`ml_efficacy_score` (needs y or target)
    ==================================  =============================================

    Parameters
    ----------
    scoring : str or callable
        A name above, or a callable scorer, returned unchanged.
    **kwargs
        Options for the metric (e.g. ``max_rows=2000``), as in
        :func:`make_generator_scorer`.

    Returns
    -------
    scorer : callable
        ``scorer(generator, X, y=None) -> float``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_gen import TVAEGenerator
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import get_scorer
    >>> X = load_adult().iloc[:600]
    >>> scoring = {name: get_scorer(name) for name in ("quality", "coverage")}
    >>> search = GridSearchCV(
    ...     TVAEGenerator(epochs=1, device="cpu", random_state=0),
    ...     {"embedding_dim": [8, 16]}, scoring=scoring, refit="quality", cv=2,
    ... ).fit(X)
    >>> sorted(search.cv_results_)[-2:]
    ['std_test_coverage', 'std_test_quality']
    """
    if callable(scoring) and not kwargs:
        return scoring
    if not isinstance(scoring, str):
        raise TypeError(
            f"scoring must be a scorer name or a callable, got {scoring!r}."
        )
    return make_generator_scorer(scoring, **kwargs)


def get_scorer_names():
    """Names of the built-in generator scorers.

    Returns
    -------
    names : list of str
        Sorted; each works with :func:`get_scorer`.

    Examples
    --------
    >>> from sklearn_gen.metrics import get_scorer_names
    >>> "quality" in get_scorer_names()
    True
    """
    return sorted(_SCORER_NAMES)


def evaluate_synthetic(
    real,
    synthetic,
    *,
    train=None,
    target=None,
    metrics=None,
    schema=None,
    random_state=0,
    max_rows=None,
):
    """Every applicable metric of a synthetic table against real rows.

    ======================================  ===========  =====================
    metric                                  group        best value
    ======================================  ===========  =====================
    ``quality``                             fidelity     1
    ``column_shapes``                       fidelity     1
    ``column_pair_trends`` (all pairs)      fidelity     1
    ``column_pair_trends_thresholded``      fidelity     1
    ``detection`` (logistic)                fidelity     1
    ``detection_gb`` (gradient boosting)    fidelity     1
    ``coverage``                            diversity    1
    ``nn_precision``, ``nn_recall``         diversity    1
    ``consistency``, ``diagnostic``         consistency  1
    ``ml_efficacy`` (only with ``target``)  utility      1 (R²/AUC/macro F1)
    ``dcr_share`` (only with ``train``)     privacy      0.5
    ``exact_copy_rate`` (only with train)   privacy      0
    ``membership_inference`` (with train)   privacy      0.5 (attack ROC AUC)
    ``attribute_inference`` (train+target)  privacy      1 (protection of the
                                                         target column)
    ======================================  ===========  =====================

    Values are the raw metric values (not negated): all are "greater is
    better" except the privacy ones.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        Real rows the generator did **not** see (the held-out 20 %): the
        reference for every metric, and the holdout of ``dcr_share``.
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns.
    train : DataFrame or ndarray of shape (n_train, n_columns), default=None
        The rows the generator was fitted on. Enables the privacy metrics:
        :func:`dcr_share`, :func:`exact_copy_rate`,
        :func:`membership_inference_score` (``real`` is the held-out half of
        the attacker's candidates) and, with ``target``,
        :func:`attribute_inference_score` (the attacker knows every other
        column of a training row and infers its ``target``).
    target : str, default=None
        Target column; enables ``ml_efficacy`` (train on synthetic, test on
        ``real``).
    metrics : list of str, default=None
        Compute only these (names above). None computes every applicable one.
    schema : list of ColumnSchema, default=None
        Column kinds, bounds and categories (e.g.
        ``generator.encoder_.schema_``); inferred from ``real`` when None.
    random_state : int, default=0
        Seed of every subsample, fold and model: the same call gives the same
        numbers.
    max_rows : int, default=None
        Use at most this many rows of each table for every metric. None
        keeps each function's default (every row, 5,000 for the k-NN ones).

    Returns
    -------
    scores : pandas.Series of float
        Indexed by metric name, in the order of the table above.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import evaluate_synthetic
    >>> adult = load_adult()
    >>> train, real, synthetic = adult.iloc[:2000], adult.iloc[2000:3000], adult.iloc[3000:4000]
    >>> scores = evaluate_synthetic(real, synthetic, train=train, target="income",
    ...                             metrics=["quality", "coverage", "dcr_share"])
    >>> list(scores.index)
    ['quality', 'coverage', 'dcr_share']
    >>> bool((scores > 0.4).all())
    True
    """  # noqa: E501
    applicable = [
        name
        for name, spec in _METRICS.items()
        if (target is not None or not spec.needs_target)
        and (train is not None or not spec.needs_train)
    ]
    if metrics is None:
        names = applicable
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        names = list(dict.fromkeys(metrics))
        unknown = [n for n in names if n not in _METRICS]
        if unknown:
            raise ValueError(
                f"Unknown metric names {unknown}; valid names: {list(_METRICS)}."
            )
        for name in names:
            if _METRICS[name].needs_target and target is None:
                raise ValueError(f"metric {name!r} needs target=<column name>.")
            if _METRICS[name].needs_train and train is None:
                raise ValueError(f"metric {name!r} needs train=<training rows>.")
        names = [n for n in _METRICS if n in names]

    results = {}
    if "quality" in names:
        # One QualityReport gives the overall score and both of its properties.
        real_q = _as_frame(real, argname="real")
        synthetic_q = _as_frame(synthetic, columns=real_q.columns, argname="synthetic")
        real_q = _subsample(real_q, max_rows, random_state, offset=0)
        synthetic_q = _subsample(synthetic_q, max_rows, random_state, offset=1)
        score, report = quality_score(
            real_q, synthetic_q, schema=schema, return_report=True
        )
        properties = report.get_properties().set_index("Property")["Score"]
        results["quality"] = score
        results["column_shapes"] = float(properties["Column Shapes"])
        results["column_pair_trends_thresholded"] = float(
            properties["Column Pair Trends"]
        )
    for name in names:
        if name in results:
            continue
        spec = _METRICS[name]
        function = spec.function
        kwargs = dict(spec.options)
        if _accepts(function, "random_state"):
            kwargs["random_state"] = random_state
        if max_rows is not None and _accepts(function, "max_rows"):
            kwargs["max_rows"] = max_rows
        if spec.needs_train:
            if name in ("dcr_share", "membership_inference"):
                value = function(train, synthetic, real, schema=schema, **kwargs)
            elif name == "attribute_inference":
                value = function(
                    train, synthetic, sensitive=target, schema=schema, **kwargs
                )
            else:
                value = function(train, synthetic, schema=schema, **kwargs)
        elif spec.needs_target:
            value = function(real, synthetic, target=target, **kwargs)
        elif name == "quality":  # pragma: no cover - handled above
            value = function(real, synthetic, schema=schema)
        else:
            value = function(real, synthetic, schema=schema, **kwargs)
        results[name] = float(value)
    return pd.Series({name: results[name] for name in names}, dtype=float, name="score")
