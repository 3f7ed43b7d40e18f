"""Does augmenting the minority class with generated rows help a classifier?

Protocol (issue 7). For each imbalanced dataset, 5-fold stratified cross-validation
on real rows. In each fold the training rows are resampled by

- ``real``: nothing (real rows only);
- ``SMOTE`` / ``SMOTENC``: imbalanced-learn's SMOTE (all-numeric tables) or
  SMOTENC (tables with string columns);
- ``TVAE`` / ``CTGAN``: :class:`sklearn_gen.GenerativeOverSampler` with
  :class:`~sklearn_gen.TVAEGenerator` / :class:`~sklearn_gen.CTGANGenerator`,

all with ``sampling_strategy="auto"`` (the minority class is brought to the majority's
size), fitted on the training fold only. LogisticRegression (one-hot + scaling) and
HistGradientBoostingClassifier (native categorical splits) are trained on the resampled
fold and scored on the held-out real fold: balanced accuracy, ROC AUC and the
minority class's F1. One resampling per fold and method is shared by both
classifiers (as two imblearn Pipelines with the same sampler and seed would compute).

On the first fold, SDMetrics' BinaryClassifierPrecisionEfficacy and
BinaryClassifierRecallEfficacy (real training fold vs real + the synthetic rows, an
XGBoost classifier, scored on the held-out fold) are reported too, when xgboost is
installed (SDMetrics needs it for these two metrics).

Datasets (../shared/datasets): ``adult`` with its minority class (income >50K)
subsampled to 5 %, ``credit_default`` (22 % positive, ``ID`` dropped) and
``bank_marketing`` (11.7 % positive, ``duration`` dropped as the UCI notes advise),
each stratified-subsampled to ``--rows`` rows (4,000 by default; generators get 20 epochs) with a fixed seed.

Run::

    python benchmarks/bench_augmentation.py            # full: ~10-15 min on 2 cores
    python benchmarks/bench_augmentation.py --quick    # ~1 min smoke run

Writes benchmarks/results/augmentation[_quick].{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from imblearn.over_sampling import SMOTE, SMOTENC
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

import sklearn_gen
from sklearn_gen import CTGANGenerator, GenerativeOverSampler, TVAEGenerator

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATASETS = HERE.parents[1] / "shared" / "datasets"
SEED = 0


# ------------------------------------------------------------------ data


def _subsample(X, y, n_rows):
    if n_rows is None or len(X) <= n_rows:
        return X.reset_index(drop=True), y.reset_index(drop=True)
    X, _, y, _ = train_test_split(
        X, y, train_size=n_rows, stratify=y, random_state=SEED
    )
    return X.reset_index(drop=True), y.reset_index(drop=True)


def load_adult_5pct(n_rows):
    df = pd.read_csv(DATASETS / "adult.csv")
    y = (df.pop("income").str.strip() == ">50K").astype(int)
    n_major = int((y == 0).sum())
    n_minor = int(round(0.05 / 0.95 * n_major))
    rng = np.random.RandomState(SEED)
    keep = np.r_[
        np.flatnonzero(y == 0),
        rng.choice(np.flatnonzero(y == 1), n_minor, replace=False),
    ]
    return _subsample(df.iloc[keep], y.iloc[keep], n_rows)


def load_credit_default(n_rows):
    df = pd.read_csv(DATASETS / "credit_default.csv").drop(columns=["ID"])
    y = df.pop("default payment next month").astype(int)
    return _subsample(df, y, n_rows)


def load_bank_marketing(n_rows):
    df = pd.read_csv(DATASETS / "bank_marketing.csv").drop(columns=["duration"])
    y = (df.pop("y") == "yes").astype(int)
    return _subsample(df, y, n_rows)


LOADERS = {
    "adult_5pct": load_adult_5pct,
    "credit_default": load_credit_default,
    "bank_marketing": load_bank_marketing,
}


# ------------------------------------------------------------------ models


def make_classifiers(X):
    cat = [c for c in X.columns if X[c].dtype == object]
    num = [c for c in X.columns if c not in cat]
    logreg = make_pipeline(
        ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
                ("num", StandardScaler(), num),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    hgb = make_pipeline(
        ColumnTransformer(
            [
                (
                    "cat",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value", unknown_value=np.nan
                    ),
                    cat,
                ),
                ("num", "passthrough", num),
            ]
        ),
        HistGradientBoostingClassifier(
            categorical_features=list(range(len(cat))) or None, random_state=SEED
        ),
    )
    return {"LogisticRegression": logreg, "HistGradientBoosting": hgb}


def make_samplers(X, epochs, fold):
    cat = [c for c in X.columns if X[c].dtype == object]
    if cat:
        smote_name, smote = "SMOTENC", SMOTENC(categorical_features=cat, random_state=SEED)
    else:
        smote_name, smote = "SMOTE", SMOTE(random_state=SEED)
    tvae = TVAEGenerator(epochs=epochs, device="cpu", random_state=SEED)
    ctgan = CTGANGenerator(epochs=epochs, device="cpu", random_state=SEED)
    return {
        "real": None,
        smote_name: smote,
        "TVAE": GenerativeOverSampler(tvae, random_state=fold),
        "CTGAN": GenerativeOverSampler(ctgan, random_state=fold),
    }


# ------------------------------------------------------------------ SDMetrics


def _efficacy(X_train, y_train, X_syn, y_syn, X_test, y_test):
    """SDMetrics' precision / recall efficacy, or the reason they were not run."""
    try:
        import xgboost  # noqa: F401  (SDMetrics' only classifier for these metrics)
        from sdmetrics.single_table.data_augmentation import (
            BinaryClassifierPrecisionEfficacy,
            BinaryClassifierRecallEfficacy,
        )
    except ImportError as exc:
        return {"error": f"not computed: {exc}"}
    target = "__target__"

    # One category dtype per string column, shared by the three tables: SDMetrics
    # casts each table to 'category' on its own and then concatenates real and
    # synthetic, which falls back to object (refused by XGBoost) when the two
    # category sets differ.
    dtypes = {
        c: pd.CategoricalDtype(sorted(set(X_train[c]) | set(X_syn[c]) | set(X_test[c])))
        for c in X_train.columns
        if X_train[c].dtype == object
    }

    def table(X, y):
        out = X.reset_index(drop=True).astype(dtypes)
        out[target] = np.asarray(y).astype(str)
        return out

    metadata = {
        "columns": {
            **{
                c: {"sdtype": "categorical" if X_train[c].dtype == object else "numerical"}
                for c in X_train.columns
            },
            target: {"sdtype": "categorical"},
        }
    }
    out = {}
    for name, metric, kwargs in [
        ("precision_efficacy", BinaryClassifierPrecisionEfficacy, {"fixed_recall_value": 0.9}),
        ("recall_efficacy", BinaryClassifierRecallEfficacy, {"fixed_precision_value": 0.9}),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            breakdown = metric.compute_breakdown(
                real_training_data=table(X_train, y_train),
                synthetic_data=table(X_syn, y_syn),
                real_validation_data=table(X_test, y_test),
                metadata=metadata,
                table_name=None,
                prediction_column_name=target,
                minority_class_label="1",
                classifier="XGBoost",
                **kwargs,
            )
        key = "precision" if name.startswith("precision") else "recall"
        out[name] = {
            "score": float(breakdown["score"]),
            f"real_{key}": float(breakdown["real_data_baseline"][f"{key}_score_validation"]),
            f"augmented_{key}": float(
                breakdown["augmented_data"][f"{key}_score_validation"]
            ),
        }
    return out


# ------------------------------------------------------------------ run


def run_dataset(name, n_rows, n_folds, epochs, log):
    X, y = LOADERS[name](n_rows)
    info = {
        "rows": len(X),
        "columns": X.shape[1],
        "minority_share": float(y.mean()),
        "string_columns": int(sum(X[c].dtype == object for c in X.columns)),
    }
    log(f"{name}: {info}")
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=SEED)
    records, efficacy = [], {}
    for fold, (train, test) in enumerate(folds.split(X, y)):
        X_train, y_train = X.iloc[train], y.iloc[train]
        X_test, y_test = X.iloc[test], y.iloc[test]
        for method, sampler in make_samplers(X, epochs, fold).items():
            start = time.perf_counter()
            if sampler is None:
                X_fit, y_fit = X_train, y_train
            else:
                X_fit, y_fit = sampler.fit_resample(X_train, y_train)
            resample_s = time.perf_counter() - start
            n_syn = len(X_fit) - len(X_train)
            if fold == 0 and sampler is not None:
                efficacy[method] = _efficacy(
                    X_train, y_train, X_fit.iloc[len(X_train):], y_fit.iloc[len(X_train):],
                    X_test, y_test,
                )
            for clf_name, clf in make_classifiers(X).items():
                start = time.perf_counter()
                clf.fit(X_fit, y_fit)
                fit_s = time.perf_counter() - start
                proba = clf.predict_proba(X_test)[:, 1]
                pred = clf.predict(X_test)
                records.append(
                    dict(
                        dataset=name,
                        classifier=clf_name,
                        method=method,
                        fold=fold,
                        balanced_accuracy=balanced_accuracy_score(y_test, pred),
                        roc_auc=roc_auc_score(y_test, proba),
                        minority_f1=f1_score(y_test, pred, pos_label=1),
                        n_synthetic=n_syn,
                        resample_seconds=resample_s,
                        classifier_seconds=fit_s,
                    )
                )
            log(f"  fold {fold} {method:8s} +{n_syn} rows, resample {resample_s:.1f} s")
    return info, records, efficacy


METRICS = ["balanced_accuracy", "roc_auc", "minority_f1"]


def summarise(records):
    df = pd.DataFrame(records)
    agg = df.groupby(["dataset", "classifier", "method"], sort=False).agg(
        **{f"{m}_mean": (m, "mean") for m in METRICS},
        **{f"{m}_std": (m, "std") for m in METRICS},
        resample_seconds=("resample_seconds", "mean"),
    )
    return agg.reset_index()


def to_markdown(summary, efficacy, meta):
    lines = [
        "# Augmentation benchmark: real vs SMOTE(NC) vs generated minority rows",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}  ",
        f"Rows per dataset: {meta['rows']} (stratified subsample, seed {SEED}); "
        f"{meta['folds']}-fold stratified CV; generator epochs: {meta['epochs']}; "
        f"wall time {meta['wall_seconds']:.0f} s.",
        "",
        "Mean ± std over folds, scored on the real held-out fold. Best mean per "
        "dataset × classifier in **bold**. `resample s` is the mean time to "
        "resample one training fold (generator fit + sampling).",
        "",
        "| dataset | classifier | method | balanced acc. | ROC AUC | minority F1 | resample s |",
        "|---|---|---|---|---|---|---|",
    ]
    for (ds, clf), group in summary.groupby(["dataset", "classifier"], sort=False):
        best = {m: group[f"{m}_mean"].max() for m in METRICS}
        for _, row in group.iterrows():
            cells = []
            for m in METRICS:
                text = f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_std']:.3f}"
                cells.append(f"**{text}**" if row[f"{m}_mean"] == best[m] else text)
            lines.append(
                f"| {ds} | {clf} | {row['method']} | " + " | ".join(cells)
                + f" | {row['resample_seconds']:.1f} |"
            )
    lines += [
        "",
        "## SDMetrics data-augmentation metrics (fold 0, XGBoost inside SDMetrics)",
        "",
        "`score` is SDMetrics' (0.5 = no change; > 0.5 = augmentation raised the "
        "precision at recall 0.9, or the recall at precision 0.9).",
        "",
        "| dataset | method | precision efficacy | real → augmented precision "
        "| recall efficacy | real → augmented recall |",
        "|---|---|---|---|---|---|",
    ]
    for ds, per_method in efficacy.items():
        for method, values in per_method.items():
            if "error" in values:
                lines.append(f"| {ds} | {method} | {values['error']} | | | |")
                continue
            p, r = values["precision_efficacy"], values["recall_efficacy"]
            lines.append(
                f"| {ds} | {method} | {p['score']:.3f} | "
                f"{p['real_precision']:.3f} → {p['augmented_precision']:.3f} | "
                f"{r['score']:.3f} | {r['real_recall']:.3f} → {r['augmented_recall']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def plot(summary, path):
    """Bar charts of the three metrics; returns False when matplotlib is absent."""
    try:
        import matplotlib
    except ImportError:
        print(f"matplotlib is not installed: {path.name} not written (run again "
              "with --plot-only once it is).", flush=True)
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(summary.groupby(["dataset", "classifier"], sort=False).groups)
    methods = list(dict.fromkeys(summary["method"]))
    fig, axes = plt.subplots(1, len(METRICS), figsize=(5 * len(METRICS), 4.5), sharey=False)
    width = 0.8 / len(methods)
    x = np.arange(len(groups))
    for ax, metric in zip(axes, METRICS):
        for i, method in enumerate(methods):
            sub = summary.set_index(["dataset", "classifier"])
            sub = sub[sub["method"] == method].reindex(groups)
            ax.bar(
                x + (i - (len(methods) - 1) / 2) * width,
                sub[f"{metric}_mean"],
                width,
                yerr=sub[f"{metric}_std"],
                label=method,
                capsize=2,
            )
        low = summary[f"{metric}_mean"].min()
        ax.set_ylim(max(0.0, low - 0.1), min(1.0, summary[f"{metric}_mean"].max() + 0.05))
        ax.set_xticks(x)
        ax.set_xticklabels(
            [f"{d}\n{'LR' if c.startswith('Log') else 'HGB'}" for d, c in groups],
            fontsize=7,
        )
        ax.set_title(metric.replace("_", " "))
    axes[0].legend(fontsize=8)
    fig.suptitle("Held-out real folds: training on real vs resampled rows")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="~1 min smoke run")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--datasets", nargs="*", default=None, choices=list(LOADERS))
    parser.add_argument(
        "--plot-only", action="store_true",
        help="redraw the png from the json of an earlier run (with --quick: the quick one)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    quick = args.quick
    suffix = "_quick" if quick else ""
    if args.plot_only:
        payload = json.loads((RESULTS / f"augmentation{suffix}.json").read_text())
        plot(pd.DataFrame(payload["summary"]), RESULTS / f"augmentation{suffix}.png")
        return
    rows = args.rows or (1500 if quick else 4000)
    folds = args.folds or (2 if quick else 5)
    epochs = args.epochs or (3 if quick else 20)
    datasets = args.datasets or (["adult_5pct"] if quick else list(LOADERS))

    start = time.perf_counter()
    all_records, info, efficacy = [], {}, {}
    for name in datasets:
        info[name], records, efficacy[name] = run_dataset(
            name, rows, folds, epochs, lambda m: print(m, flush=True)
        )
        all_records += records
    wall = time.perf_counter() - start
    summary = summarise(all_records)
    meta = {
        "command": "python benchmarks/" + " ".join([Path(__file__).name] + sys.argv[1:]
                                                   if argv is None else
                                                   [Path(__file__).name] + list(argv)),
        "machine": (
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"torch {torch.__version__} with 1 thread, no GPU used, Python "
            f"{platform.python_version()}, sklearn_gen {sklearn_gen.__version__}"
        ),
        "rows": rows,
        "folds": folds,
        "epochs": epochs,
        "wall_seconds": wall,
    }
    RESULTS.mkdir(exist_ok=True)
    payload = {
        **meta,
        "datasets": info,
        "summary": summary.to_dict(orient="records"),
        "sdmetrics_efficacy_fold0": efficacy,
        "records": all_records,
    }
    (RESULTS / f"augmentation{suffix}.json").write_text(json.dumps(payload, indent=1))
    markdown = to_markdown(summary, efficacy, meta)
    (RESULTS / f"augmentation{suffix}.md").write_text(markdown)
    plot(summary, RESULTS / f"augmentation{suffix}.png")
    print(markdown)


if __name__ == "__main__":
    main()
