"""Utility: machine-learning efficacy, train on synthetic and test on real (TSTR)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ._common import _align, _seed, _subsample

__all__ = ["ml_efficacy_score"]

_TASKS = ("auto", "classification", "regression")


def _infer_task(target):
    """Classification for non-numeric, boolean or few-valued integer targets."""
    dtype = target.dtype
    if pdt.is_bool_dtype(dtype) or not pdt.is_numeric_dtype(dtype):
        return "classification"
    values = target.dropna()
    if pdt.is_integer_dtype(dtype) or (values == values.round()).all():
        if values.nunique() <= 10:
            return "classification"
    return "regression"


def _features(real_x, synthetic_x):
    """Feature frames for the default model: ordinal codes for discrete columns.

    Categories are learned from the synthetic (training) rows; a category only
    the real rows have becomes missing. Numbers stay numbers (NaN allowed).
    """
    real_out, synthetic_out, categorical = {}, {}, []
    for name in real_x.columns:
        real_col, synthetic_col = real_x[name], synthetic_x[name]
        if pdt.is_bool_dtype(real_col.dtype) or not pdt.is_numeric_dtype(
            real_col.dtype
        ):
            if pdt.is_datetime64_any_dtype(real_col.dtype):
                real_out[name] = real_col.astype("int64").astype(float)
                synthetic_out[name] = (
                    pd.to_datetime(synthetic_col).astype("int64").astype(float)
                )
                categorical.append(False)
                continue
            keys_s = synthetic_col.astype(str).where(synthetic_col.notna())
            keys_r = real_col.astype(str).where(real_col.notna())
            categories = sorted(keys_s.dropna().unique())
            lookup = {c: i for i, c in enumerate(categories)}
            synthetic_out[name] = keys_s.map(lookup).astype(float)
            real_out[name] = keys_r.map(lookup).astype(float)
            categorical.append(0 < len(categories) <= 255)
        else:
            real_out[name] = pd.to_numeric(real_col, errors="coerce").astype(float)
            synthetic_out[name] = pd.to_numeric(synthetic_col, errors="coerce").astype(
                float
            )
            categorical.append(False)
    real_frame = pd.DataFrame(real_out, index=real_x.index)
    synthetic_frame = pd.DataFrame(synthetic_out, index=synthetic_x.index)
    return real_frame.to_numpy(), synthetic_frame.to_numpy(), np.asarray(categorical)


def ml_efficacy_score(
    real,
    synthetic,
    *,
    target,
    task="auto",
    estimator=None,
    max_rows=None,
    random_state=0,
):
    """Machine-learning efficacy: train on synthetic, test on real (TSTR).

    A model is fitted on the synthetic rows to predict ``target`` from the
    other columns, then scored on the real rows:

    - classification, binary target: ROC AUC (probability of the real
      table's second class in sorted order; 0.5 if the synthetic target has
      a single class);
    - classification, multiclass target: macro-averaged F1;
    - regression: R² (can be negative when the model is worse than
      predicting the mean).

    Compare with the same model trained on real rows (train-on-real) to see
    what is lost. The default model is a seeded
    ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``
    with native categorical splits (categories learned from the synthetic
    rows, unseen real categories treated as missing).

    Parameters
    ----------
    real : DataFrame of shape (n_samples, n_columns)
        The real test rows, with the target column.
    synthetic : DataFrame of shape (n_synthetic, n_columns)
        The synthetic training rows, with the same columns.
    target : str
        Name of the target column.
    task : {"auto", "classification", "regression"}, default="auto"
        "auto" picks classification for non-numeric, boolean, or integer
        targets with at most 10 distinct values, regression otherwise.
    estimator : estimator, default=None
        A scikit-learn model with ``fit`` and ``predict`` (and
        ``predict_proba`` for binary classification), fitted on the synthetic
        features. It gets raw columns: pass a Pipeline that encodes them. None
        uses the gradient-boosting default above.
    max_rows : int, default=None
        Use at most this many rows of each table, drawn with a fixed seed.
    random_state : int, default=0
        Seed of the default model and of the subsampling.

    Returns
    -------
    score : float
        ROC AUC, macro F1 or R² on the real rows; higher is better.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import ml_efficacy_score
    >>> adult = load_adult()
    >>> train, test = adult.iloc[:3000], adult.iloc[3000:4000]
    >>> ml_efficacy_score(test, train, target="income") > 0.8  # train on real
    True
    """
    from sklearn.base import clone
    from sklearn.metrics import f1_score, r2_score, roc_auc_score

    if task not in _TASKS:
        raise ValueError(f"task must be one of {list(_TASKS)}, got {task!r}.")
    (real_frame, synthetic_frame), _ = _align(
        real, synthetic, names=("real", "synthetic"), prepare=False
    )
    if target not in real_frame.columns:
        raise ValueError(
            f"target {target!r} is not a column of real; columns: "
            f"{list(real_frame.columns)}."
        )
    real_frame = _subsample(real_frame, max_rows, random_state, offset=0)
    synthetic_frame = _subsample(synthetic_frame, max_rows, random_state, offset=1)
    real_frame = real_frame[real_frame[target].notna()]
    synthetic_frame = synthetic_frame[synthetic_frame[target].notna()]
    if len(real_frame) == 0 or len(synthetic_frame) == 0:
        raise ValueError("ml_efficacy_score needs rows with a non-missing target.")
    if task == "auto":
        task = _infer_task(real_frame[target])
    real_y, synthetic_y = real_frame[target], synthetic_frame[target]
    real_x = real_frame.drop(columns=[target])
    synthetic_x = synthetic_frame.drop(columns=[target])
    seed = _seed(random_state)

    if estimator is None:
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )

        real_x, synthetic_x, categorical = _features(real_x, synthetic_x)
        params = dict(
            categorical_features=categorical if categorical.any() else None,
            random_state=seed,
        )
        if task == "classification":
            model = HistGradientBoostingClassifier(**params)
        else:
            model = HistGradientBoostingRegressor(**params)
    else:
        model = clone(estimator)

    if task == "regression":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(synthetic_x, pd.to_numeric(synthetic_y).astype(float))
            predictions = model.predict(real_x)
        return float(r2_score(pd.to_numeric(real_y).astype(float), predictions))

    # Compare labels by their string form: synthetic and real dtypes may differ.
    real_labels = real_y.astype(str).to_numpy()
    synthetic_labels = synthetic_y.astype(str).to_numpy()
    classes = np.unique(real_labels)
    if len(classes) < 2:
        raise ValueError(
            f"the real target {target!r} has a single class; ML efficacy for "
            "classification needs at least two."
        )
    if len(np.unique(synthetic_labels)) < 2:
        # Nothing to learn: the constant predictor's score.
        if len(classes) == 2:
            return 0.5
        constant = np.full(len(real_labels), synthetic_labels[0])
        return float(f1_score(real_labels, constant, average="macro", labels=classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(synthetic_x, synthetic_labels)
        if len(classes) == 2:
            proba = model.predict_proba(real_x)
            model_classes = list(model.classes_)
            positive = classes[1]
            scores = (
                proba[:, model_classes.index(positive)]
                if positive in model_classes
                else np.zeros(len(real_labels))
            )
            return float(roc_auc_score(real_labels == positive, scores))
        predictions = model.predict(real_x)
    return float(f1_score(real_labels, predictions, average="macro", labels=classes))
