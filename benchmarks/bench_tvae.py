"""TVAEGenerator against SDV's TVAESynthesizer (and GaussianCopula) on Adult.

Protocol (DESIGN.md section 4): split Adult 80/20 with ``train_test_split(...,
random_state=0 + seed)``, fit every model on the 80 %, sample as many rows as the
80 % has, and measure the synthetic table against the real 20 % (holdout) and,
for the fidelity metrics, also against the real 80 % (train):

* fidelity: SDMetrics ``QualityReport`` Column Shapes and Column Pair Trends
  (reported as errors ``1 - score`` in %). SDMetrics >= 0.2x only averages the pair
  scores of pairs whose *real* correlation exceeds 0.5 (numerical pairs) or whose
  real Cramer's V exceeds 0.3 (``DEFAULT_REAL_CORRELATION_THRESHOLD`` /
  ``DEFAULT_REAL_ASSOCIATION_THRESHOLD`` in ``sdmetrics/reports/utils.py``), so we
  also report Column Pair Trends over *all* pairs (the ``ColumnPairTrends`` property
  with both thresholds at 0, the way the TVAE/TabSyn papers compute it);
  detection: SDMetrics ``LogisticDetection`` and a gradient-boosting C2ST (ROC AUC of
  a ``HistGradientBoostingClassifier`` telling real from synthetic, 0.5 is perfect);
* utility: TSTR, ROC AUC on the real holdout for ``income`` of a
  ``HistGradientBoostingClassifier`` trained on synthetic rows, beside the same model
  trained on the real 80 % (TRTR);
* privacy: DCR share, the share of synthetic rows whose nearest real row (in a
  standardised numeric + one-hot space) is a training row rather than a holdout row,
  with the training rows subsampled to the size of the holdout (so 50 % is ideal);
  ties count one half. Exact copies: synthetic rows equal to a training row in every
  column (the real holdout's own count of such rows is reported as a reference);
* cost: fit wall seconds (and CPU seconds, worker processes included), sampling
  rows/s, peak RSS during fit (process-wide, sampled every 20 ms).

The models are fitted in the same process, interleaved per seed (the order
alternates between seeds), with the same ``torch`` thread settings.

Run from the repository root with an environment that has ``sdv`` installed
(``pip install -e .[bench]``)::

    python benchmarks/bench_tvae.py --epochs 100 --seeds 0 1 2 --wait-quiet 600
    python benchmarks/bench_tvae.py --quick          # ~2 minute smoke run

It writes ``benchmarks/results/tvae_adult.json`` (every raw number, per seed, the
command and the machine) and ``tvae_adult.md`` (a summary table with ratios).
"""

import argparse
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import random
import resource
import shlex
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("/work/shared/datasets/adult.csv")
TARGET = "income"
POSITIVE = " >50K"

MODEL_LABELS = {
    "ours_tvae": "sklearn_gen TVAEGenerator",
    "sdv_tvae": "SDV TVAESynthesizer",
    "sdv_gaussian_copula": "SDV GaussianCopulaSynthesizer",
    "real_train": "Real 80 % (reference)",
}


def log(message):
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


# --------------------------------------------------------------------------- cost
class PeakRSS:
    """Track the process resident set size in a background thread."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def __enter__(self):
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        return False


def tree_cpu_seconds():
    """CPU seconds of this process and all its descendants.

    ``time.process_time`` misses worker processes (CTGAN's ``DataTransformer``
    runs joblib/loky workers, which outlive the call), so their ``/proc`` times
    are added, plus those of children already reaped.
    """
    tick = os.sysconf("SC_CLK_TCK")
    procs, children = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2 :].split()
        pid, ppid = int(entry), int(fields[1])
        procs[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        children.setdefault(ppid, []).append(pid)
    total, stack = 0.0, list(children.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        total += procs[pid]
        stack += children.get(pid, [])
    reaped = os.times()
    return time.process_time() + total + reaped.children_user + reaped.children_system


class OtherCPU:
    """Cores used by *other* processes while the block runs (from /proc/stat).

    The whole machine's busy time minus the CPU time of this process and its
    workers, over the wall time: 0 on an otherwise idle machine, about 1 when
    another job keeps one core busy. It says how much a timing was disturbed.
    """

    @staticmethod
    def busy_seconds():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self._busy, self._cpu, self._t = (
            self.busy_seconds(),
            tree_cpu_seconds(),
            time.perf_counter(),
        )
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._t
        own = tree_cpu_seconds() - self._cpu
        self.cores = max(
            0.0, (self.busy_seconds() - self._busy - own) / max(wall, 1e-9)
        )
        return False


def wait_for_quiet(max_wait, threshold=0.3, window=5.0):
    """Wait (up to ``max_wait`` s) until other processes use < ``threshold`` cores."""
    start = time.perf_counter()
    while True:
        with OtherCPU() as other:
            time.sleep(window)
        waited = time.perf_counter() - start
        if other.cores < threshold or waited >= max_wait:
            return waited, other.cores


def seed_globals(seed):
    """SDV/CTGAN draw from the global RNGs; seed them before each of their calls."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ------------------------------------------------------------------------ models
def sdv_metadata(train):
    from sdv.metadata import Metadata

    return Metadata.detect_from_dataframes({"adult": train}, infer_keys=None)


def fit_model(name, train, *, epochs, seed):
    """Fit one model; return a ``sample(n) -> DataFrame`` callable and info."""
    if name == "ours_tvae":
        from sklearn_gen import TVAEGenerator

        model = TVAEGenerator(
            epochs=epochs, batch_size=500, random_state=seed, device="cpu"
        ).fit(train)
        train_seconds = float(np.sum(model.history_[:, "dur"]))
        return (
            lambda n: model.sample(n, random_state=seed),
            {"train_loop_seconds": train_seconds},
        )
    if name == "sdv_tvae":
        from sdv.single_table import TVAESynthesizer

        metadata = sdv_metadata(train)
        model = TVAESynthesizer(
            metadata, epochs=epochs, batch_size=500, enable_gpu=False
        )
        seed_globals(seed)
        model.fit({"adult": train})

        def sample(n):
            seed_globals(seed)
            return _single(model.sample(n))

        return sample, {}
    if name == "sdv_gaussian_copula":
        from sdv.single_table import GaussianCopulaSynthesizer

        metadata = sdv_metadata(train)
        model = GaussianCopulaSynthesizer(metadata)
        seed_globals(seed)
        model.fit({"adult": train})

        def sample(n):
            seed_globals(seed)
            return _single(model.sample(n))

        return sample, {}
    raise ValueError(f"unknown model {name!r}")


def _single(result):
    """SDV 2 returns ``{table_name: DataFrame}`` from ``sample``."""
    if isinstance(result, dict):
        (result,) = result.values()
    return result


# ----------------------------------------------------------------------- metrics
def eval_metadata(df):
    columns = {}
    for name in df.columns:
        if pd.api.types.is_numeric_dtype(df[name]):
            columns[name] = {"sdtype": "numerical"}
        else:
            columns[name] = {"sdtype": "categorical"}
    return {"columns": columns}


def align(synthetic, like):
    """Same columns, order and (numeric vs string) kinds as the real table."""
    synthetic = synthetic[list(like.columns)].reset_index(drop=True).copy()
    for name in like.columns:
        if pd.api.types.is_numeric_dtype(like[name]):
            synthetic[name] = pd.to_numeric(synthetic[name], errors="coerce")
        else:
            synthetic[name] = synthetic[name].astype(object)
    return synthetic


def fidelity(real, synthetic, metadata, seed):
    from sdmetrics.reports.single_table import QualityReport
    from sdmetrics.reports.single_table._properties import ColumnPairTrends

    report = QualityReport()
    report.generate(real, synthetic, metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes")
    pair_details = report.get_details("Column Pair Trends")
    n_pairs_default = int(pair_details["Score"].notna().sum())

    # All pairs: the same property with both real-data thresholds at 0.
    all_pairs = ColumnPairTrends()
    all_pairs.real_correlation_threshold = 0
    all_pairs.real_association_threshold = 0
    trends_all = all_pairs.get_score(real, synthetic, metadata)
    n_pairs_all = int(all_pairs.details["Score"].notna().sum())

    detection = logistic_detection(real, synthetic, metadata, seed)

    return {
        "column_shapes_error_pct": 100 * (1 - float(properties["Column Shapes"])),
        "column_pair_trends_error_pct": 100
        * (1 - float(properties["Column Pair Trends"])),
        "column_pair_trends_all_pairs_error_pct": 100 * (1 - float(trends_all)),
        "n_pairs_quality_report": n_pairs_default,
        "n_pairs_all": n_pairs_all,
        "logistic_detection": float(detection),
        "column_shapes_per_column": {
            str(row["Column"]): float(row["Score"]) for _, row in shapes.iterrows()
        },
    }


def logistic_detection(real, synthetic, metadata, seed):
    """SDMetrics' ``LogisticDetection``, robust to categories absent from ``real``.

    ``LogisticDetection.compute`` one-hot encodes with categories learned from the
    real table only and raises on a synthetic category the real table lacks (the
    20 % holdout misses some rare Adult categories, e.g. ``" Without-pay"`` on small
    splits). This is the same computation -- SDMetrics' ``HyperTransformer``, its
    imputer + RobustScaler + LogisticRegression pipeline, 3 shuffled stratified
    folds, ``1 - mean(max(0.5, AUC) * 2 - 1)`` -- with the encoder fitted on real and
    synthetic rows together (identical when no category is unseen) and seeded folds.
    """
    from sdmetrics.single_table import LogisticDetection
    from sdmetrics.utils import HyperTransformer

    real, synthetic = LogisticDetection._drop_non_compute_columns(
        real, synthetic, metadata
    )
    ht = HyperTransformer()
    ht.fit(pd.concat([real, synthetic], ignore_index=True))
    X = np.concatenate(
        [
            ht.transform(real.reset_index(drop=True).copy()).to_numpy(dtype=float),
            ht.transform(synthetic.reset_index(drop=True).copy()).to_numpy(dtype=float),
        ]
    )
    X[np.isinf(X)] = np.nan
    y = np.r_[np.ones(len(real)), np.zeros(len(synthetic))]
    scores = []
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    for train_idx, test_idx in folds.split(X, y):
        proba = LogisticDetection._fit_predict(X[train_idx], y[train_idx], X[test_idx])
        scores.append(max(0.5, roc_auc_score(y[test_idx], proba)) * 2 - 1)
    return float(1 - np.mean(scores))


class TabularFeatures:
    """Ordinal codes for the gradient-boosting models (categories from real train)."""

    def __init__(self, train):
        self.columns = list(train.columns)
        self.categorical = [
            c for c in self.columns if not pd.api.types.is_numeric_dtype(train[c])
        ]
        self.encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
        ).fit(train[self.categorical].astype(str))

    def __call__(self, df, columns=None):
        columns = self.columns if columns is None else columns
        out = pd.DataFrame(index=range(len(df)))
        codes = self.encoder.transform(df[self.categorical].astype(str))
        for i, name in enumerate(self.categorical):
            out[name] = codes[:, i]
        for name in self.columns:
            if name not in self.categorical:
                out[name] = df[name].to_numpy(dtype=float)
        return out[columns], [c in self.categorical for c in columns]


def c2st_gbm(real, synthetic, features, seed, max_rows=10_000):
    """ROC AUC of a gradient-boosting real-vs-synthetic classifier (5-fold CV)."""
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic), max_rows)
    r = real.iloc[rng.choice(len(real), n, replace=False)]
    s = synthetic.iloc[rng.choice(len(synthetic), n, replace=False)]
    X, cat = features(pd.concat([r, s], ignore_index=True))
    y = np.r_[np.zeros(n), np.ones(n)]
    aucs = []
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for train_idx, test_idx in folds.split(X, y):
        clf = HistGradientBoostingClassifier(
            categorical_features=cat, random_state=seed
        )
        clf.fit(X.iloc[train_idx], y[train_idx])
        aucs.append(
            roc_auc_score(y[test_idx], clf.predict_proba(X.iloc[test_idx])[:, 1])
        )
    return float(np.mean(aucs))


def tstr(synthetic, holdout, features, seed):
    """Train on ``synthetic``, ROC AUC for ``income`` on the real holdout."""
    y_train = (synthetic[TARGET].astype(str) == POSITIVE).to_numpy()
    if y_train.all() or not y_train.any():
        return float("nan")
    predictors = [c for c in features.columns if c != TARGET]
    X_train, cat = features(synthetic, predictors)
    X_test, _ = features(holdout, predictors)
    y_test = (holdout[TARGET].astype(str) == POSITIVE).to_numpy()
    clf = HistGradientBoostingClassifier(categorical_features=cat, random_state=seed)
    clf.fit(X_train, y_train)
    return float(roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1]))


def _row_keys(df):
    frame = df.copy()
    for name in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].astype(float)
        else:
            frame[name] = frame[name].astype(str)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def exact_copies(rows, train):
    """How many of ``rows`` equal some training row in every column."""
    return int(np.isin(_row_keys(rows), _row_keys(train)).sum())


def dcr_share(synthetic, train, holdout, seed, max_synthetic=10_000):
    """Share of synthetic rows nearer to a training row than to a holdout row."""
    rng = np.random.default_rng(seed)
    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
    categorical = [c for c in train.columns if c not in numeric]
    mean = train[numeric].mean()
    std = train[numeric].std().replace(0, 1)
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(
        train[categorical].astype(str)
    )

    def embed(df):
        num = ((df[numeric].astype(float) - mean) / std).to_numpy()
        return np.hstack([num, onehot.transform(df[categorical].astype(str))])

    train_sub = train.iloc[rng.choice(len(train), len(holdout), replace=False)]
    syn = synthetic.iloc[
        rng.choice(len(synthetic), min(len(synthetic), max_synthetic), replace=False)
    ]
    syn_x = np.nan_to_num(embed(syn))
    d_train = NearestNeighbors(n_neighbors=1).fit(embed(train_sub)).kneighbors(syn_x)[0]
    d_hold = NearestNeighbors(n_neighbors=1).fit(embed(holdout)).kneighbors(syn_x)[0]
    d_train, d_hold = d_train[:, 0], d_hold[:, 0]
    share = np.mean(np.where(np.isclose(d_train, d_hold), 0.5, d_train < d_hold))
    return {
        "dcr_share_pct": 100 * float(share),
        "dcr_median_to_train": float(np.median(d_train)),
        "dcr_median_to_holdout": float(np.median(d_hold)),
        "dcr_n_synthetic": int(len(syn)),
    }


def evaluate(synthetic, train, holdout, metadata, features, seed):
    out = {"vs_holdout": fidelity(holdout, synthetic, metadata, seed)}
    out["vs_holdout"]["c2st_gbm_auc"] = c2st_gbm(holdout, synthetic, features, seed)
    out["vs_train"] = fidelity(train, synthetic, metadata, seed)
    out["vs_train"]["c2st_gbm_auc"] = c2st_gbm(train, synthetic, features, seed)
    out["tstr_auc"] = tstr(synthetic, holdout, features, seed)
    out.update(dcr_share(synthetic, train, holdout, seed))
    out["exact_copies"] = exact_copies(synthetic, train)
    out["exact_copies_pct"] = 100 * out["exact_copies"] / len(synthetic)
    out["n_missing_cells"] = int(synthetic.isna().sum().sum())
    return out


# ------------------------------------------------------------------ run + report
def machine_info():
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in (
        "sklearn_gen",
        "torch",
        "scikit-learn",
        "skorch",
        "sdv",
        "ctgan",
        "rdt",
        "sdmetrics",
        "pandas",
        "numpy",
    ):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain", "sklearn_gen"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "memory_gib": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        ),
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "git_commit": commit,
        "sklearn_gen_dirty": dirty,
    }


def mean_std(values):
    values = np.asarray([v for v in values if v is not None], dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return {"mean": None, "std": None, "n": 0}
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "n": int(len(values))}


SUMMARY_KEYS = {
    "fit_seconds": lambda r: r["cost"]["fit_seconds"],
    "fit_cpu_seconds": lambda r: r["cost"]["fit_cpu_seconds"],
    "sample_rows_per_second": lambda r: r["cost"]["sample_rows_per_second"],
    "fit_peak_rss_mib": lambda r: r["cost"]["fit_peak_rss_mib"],
    "fit_rss_increase_mib": lambda r: r["cost"]["fit_rss_increase_mib"],
    "other_cores_during_fit": lambda r: r["cost"]["other_processes_cores_during_fit"],
    "shapes_err_holdout": lambda r: r["metrics"]["vs_holdout"][
        "column_shapes_error_pct"
    ],
    "trends_err_holdout": lambda r: r["metrics"]["vs_holdout"][
        "column_pair_trends_error_pct"
    ],
    "trends_all_err_holdout": lambda r: r["metrics"]["vs_holdout"][
        "column_pair_trends_all_pairs_error_pct"
    ],
    "logistic_detection_holdout": lambda r: r["metrics"]["vs_holdout"][
        "logistic_detection"
    ],
    "c2st_gbm_auc_holdout": lambda r: r["metrics"]["vs_holdout"]["c2st_gbm_auc"],
    "shapes_err_train": lambda r: r["metrics"]["vs_train"]["column_shapes_error_pct"],
    "trends_err_train": lambda r: r["metrics"]["vs_train"][
        "column_pair_trends_error_pct"
    ],
    "trends_all_err_train": lambda r: r["metrics"]["vs_train"][
        "column_pair_trends_all_pairs_error_pct"
    ],
    "logistic_detection_train": lambda r: r["metrics"]["vs_train"][
        "logistic_detection"
    ],
    "c2st_gbm_auc_train": lambda r: r["metrics"]["vs_train"]["c2st_gbm_auc"],
    "tstr_auc": lambda r: r["metrics"]["tstr_auc"],
    "dcr_share_pct": lambda r: r["metrics"].get("dcr_share_pct"),
    "exact_copies": lambda r: r["metrics"]["exact_copies"],
}


def summarise(runs, models):
    summary = {}
    for model in models:
        rows = [r for r in runs if r["model"] == model]
        if not rows:
            continue
        summary[model] = {}
        for key, getter in SUMMARY_KEYS.items():
            values = []
            for r in rows:
                try:
                    values.append(getter(r))
                except (KeyError, TypeError):
                    values.append(None)
            summary[model][key] = mean_std(values)
    # Paired (same seed, same split) ratios and differences: ours vs SDV TVAE.
    ours = {r["seed"]: r for r in runs if r["model"] == "ours_tvae"}
    sdv = {r["seed"]: r for r in runs if r["model"] == "sdv_tvae"}
    seeds = sorted(set(ours) & set(sdv))
    if seeds:
        paired = {}
        paired["fit_time_ratio_ours_over_sdv"] = mean_std(
            [
                ours[s]["cost"]["fit_seconds"] / sdv[s]["cost"]["fit_seconds"]
                for s in seeds
            ]
        )
        paired["fit_speedup_sdv_over_ours"] = mean_std(
            [
                sdv[s]["cost"]["fit_seconds"] / ours[s]["cost"]["fit_seconds"]
                for s in seeds
            ]
        )
        paired["fit_cpu_speedup_sdv_over_ours"] = mean_std(
            [
                sdv[s]["cost"]["fit_cpu_seconds"] / ours[s]["cost"]["fit_cpu_seconds"]
                for s in seeds
            ]
        )
        paired["sample_speedup_ours_over_sdv"] = mean_std(
            [
                ours[s]["cost"]["sample_rows_per_second"]
                / sdv[s]["cost"]["sample_rows_per_second"]
                for s in seeds
            ]
        )
        for key in (
            "shapes_err_holdout",
            "trends_err_holdout",
            "trends_all_err_holdout",
            "shapes_err_train",
            "trends_err_train",
            "trends_all_err_train",
            "logistic_detection_holdout",
            "c2st_gbm_auc_holdout",
            "tstr_auc",
        ):
            getter = SUMMARY_KEYS[key]
            paired[f"{key}_ours_minus_sdv"] = mean_std(
                [getter(ours[s]) - getter(sdv[s]) for s in seeds]
            )
        paired["seeds"] = seeds
        summary["paired_ours_vs_sdv_tvae"] = paired
    return summary


def fmt(stat, digits=2, scale=1.0):
    if stat is None or stat["mean"] is None:
        return "n/a"
    mean = stat["mean"] * scale
    if stat["n"] > 1:
        return f"{mean:.{digits}f} ± {stat['std'] * scale:.{digits}f}"
    return f"{mean:.{digits}f}"


def md_table(header, rows):
    """A Markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


HOLDOUT_COLUMNS = [
    ("shapes err %", "shapes_err_holdout", 2),
    ("trends err %", "trends_err_holdout", 2),
    ("trends err % (all pairs)", "trends_all_err_holdout", 2),
    ("LogisticDetection", "logistic_detection_holdout", 3),
    ("C2ST AUC", "c2st_gbm_auc_holdout", 3),
    ("TSTR AUC", "tstr_auc", 3),
    ("DCR share %", "dcr_share_pct", 1),
    ("exact copies", "exact_copies", 1),
]
TRAIN_COLUMNS = [
    ("shapes err %", "shapes_err_train", 2),
    ("trends err %", "trends_err_train", 2),
    ("trends err % (all pairs)", "trends_all_err_train", 2),
    ("LogisticDetection", "logistic_detection_train", 3),
    ("C2ST AUC", "c2st_gbm_auc_train", 3),
]
COST_COLUMNS = [
    ("fit s (wall)", "fit_seconds", 1),
    ("fit s (CPU, incl. workers)", "fit_cpu_seconds", 1),
    ("sample rows/s", "sample_rows_per_second", 0),
    ("peak RSS during fit MiB", "fit_peak_rss_mib", 0),
    ("RSS increase MiB", "fit_rss_increase_mib", 0),
    ("other jobs during fit (cores)", "other_cores_during_fit", 2),
]
PAIRED_ROWS = [
    ("fit time ratio, ours / SDV (wall)", "fit_time_ratio_ours_over_sdv", 3, ""),
    ("fit speed-up, SDV / ours (wall)", "fit_speedup_sdv_over_ours", 2, "×"),
    ("fit speed-up, SDV / ours (CPU)", "fit_cpu_speedup_sdv_over_ours", 2, "×"),
    ("sampling speed-up, ours / SDV", "sample_speedup_ours_over_sdv", 2, "×"),
    (
        "shapes error, ours − SDV (pp, holdout)",
        "shapes_err_holdout_ours_minus_sdv",
        2,
        "",
    ),
    (
        "trends error, ours − SDV (pp, holdout)",
        "trends_err_holdout_ours_minus_sdv",
        2,
        "",
    ),
    (
        "trends error all pairs, ours − SDV (pp, holdout)",
        "trends_all_err_holdout_ours_minus_sdv",
        2,
        "",
    ),
    ("shapes error, ours − SDV (pp, train)", "shapes_err_train_ours_minus_sdv", 2, ""),
    ("trends error, ours − SDV (pp, train)", "trends_err_train_ours_minus_sdv", 2, ""),
    (
        "trends error all pairs, ours − SDV (pp, train)",
        "trends_all_err_train_ours_minus_sdv",
        2,
        "",
    ),
    (
        "LogisticDetection, ours − SDV (holdout)",
        "logistic_detection_holdout_ours_minus_sdv",
        3,
        "",
    ),
    ("C2ST AUC, ours − SDV (holdout)", "c2st_gbm_auc_holdout_ours_minus_sdv", 3, ""),
    ("TSTR AUC, ours − SDV", "tstr_auc_ours_minus_sdv", 3, ""),
]


def model_rows(summary, models, columns):
    return [
        [MODEL_LABELS[model]]
        + [fmt(summary[model][key], digits) for _, key, digits in columns]
        for model in models
    ]


def write_markdown(result, path):
    s = result["summary"]
    cfg = result["config"]
    m = result["machine"]
    models = [k for k in MODEL_LABELS if k in s]
    generated = [k for k in models if k != "real_train"]
    waited = (
        f"; before each fit the script waited (up to {cfg['wait_quiet']:.0f} s) "
        "until other processes used < 0.3 cores"
        if cfg.get("wait_quiet")
        else ""
    )
    load = result["load_average_start"][0], result["load_average_end"][0]
    lines = [
        "# TVAE on Adult: sklearn_gen vs SDV",
        "",
        f"Generated {result['date']} by `{result['command']}`",
        "",
        f"Adult ({cfg['n_rows']} rows), 80/20 split with "
        f"`train_test_split(random_state=0 + seed)`, {cfg['n_train']} training rows, "
        f"{cfg['n_holdout']} holdout rows; every model samples {cfg['n_train']} rows. "
        f"Epochs E = {cfg['epochs']} for both TVAEs (batch_size 500), seeds "
        f"{cfg['seeds']} (mean ± std over seeds; each seed is its own split). "
        f"Machine: {m['cpu_model']}, {m['cpu_count']} cores, torch threads "
        f"{m['torch_num_threads']} (interop {m['torch_num_interop_threads']}), "
        "CPU only. The models were fitted interleaved in one process (the order "
        f"alternates between seeds). The machine is shared with other jobs{waited}; "
        "the cost table gives the CPU other jobs took during each fit. "
        f"Load average: {load[0]:.1f} at the start, {load[1]:.1f} at the end.",
        "",
        "Errors are `1 - score` in % (lower is better). Trends (all pairs) averages "
        "every column pair; the QualityReport's own Column Pair Trends only averages "
        "pairs whose real correlation > 0.5 or real Cramér's V > 0.3 (SDMetrics 0.32 "
        "defaults). LogisticDetection: 1 is indistinguishable. C2ST: "
        "gradient-boosting ROC AUC, 0.5 is indistinguishable. DCR share: % of "
        "synthetic rows closer to a training row than to a holdout row (50 % ideal).",
        "",
        "## Against the real 20 % (holdout)",
        "",
    ]
    header = ["model"] + [name for name, _, _ in HOLDOUT_COLUMNS]
    lines += md_table(header, model_rows(s, models, HOLDOUT_COLUMNS))
    lines += [
        "",
        'The reference row uses the real 80 % itself as the "synthetic" table '
        "(TSTR is then train-on-real; its exact copies are training rows, so they "
        "are replaced by the holdout's own count of rows that duplicate a training "
        "row).",
        "",
        "## Against the real 80 % (training data)",
        "",
    ]
    header = ["model"] + [name for name, _, _ in TRAIN_COLUMNS]
    lines += md_table(header, model_rows(s, generated, TRAIN_COLUMNS))
    lines += ["", "## Cost (CPU)", ""]
    header = ["model"] + [name for name, _, _ in COST_COLUMNS]
    lines += md_table(header, model_rows(s, generated, COST_COLUMNS))
    lines += [
        "",
        "Peak RSS is process-wide (all models share one process), so it is an upper "
        'bound; the increase is over the RSS just before that fit. "Other jobs" is '
        "the CPU (in cores, of 2) that other processes used while the model was "
        "fitting (machine busy time from /proc/stat minus the CPU time of this "
        "process and its worker processes); "
        "0 means the timing was undisturbed.",
    ]
    p = s.get("paired_ours_vs_sdv_tvae")
    if p:
        lines += [
            "",
            "## sklearn_gen TVAEGenerator vs SDV TVAESynthesizer "
            f"(paired by seed, E = {cfg['epochs']})",
            "",
        ]
        rows = [
            [name, fmt(p[key], digits) + unit]
            for name, key, digits, unit in PAIRED_ROWS
        ]
        lines += md_table(["figure", "value"], rows)
        lines += [
            "",
            "Issue 2 target (at equal epochs): shapes and trends errors no worse than "
            "SDV's, fit at least 2× faster.",
        ]
        speedup = p["fit_speedup_sdv_over_ours"]["mean"]
        checks = [
            ("fit ≥ 2× faster (wall, mean)", speedup is not None and speedup >= 2),
            (
                "Column Shapes error ≤ SDV's (holdout, mean)",
                p["shapes_err_holdout_ours_minus_sdv"]["mean"] <= 0,
            ),
            (
                "Column Pair Trends error ≤ SDV's (holdout, mean)",
                p["trends_err_holdout_ours_minus_sdv"]["mean"] <= 0,
            ),
            (
                "Column Pair Trends (all pairs) error ≤ SDV's (holdout, mean)",
                p["trends_all_err_holdout_ours_minus_sdv"]["mean"] <= 0,
            ),
        ]
        lines += [""] + [f"- {name}: {'yes' if ok else 'NO'}" for name, ok in checks]
    lines += [
        "",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v is not None)
        + f"; Python {m['python']}; sklearn_gen commit {m['git_commit']}"
        + (" (with uncommitted changes)" if m["sklearn_gen_dirty"] else "")
        + ".",
        "",
    ]
    Path(path).write_text("\n".join(lines))


def run(args):
    warnings.filterwarnings("ignore")
    data = pd.read_csv(args.data)
    if args.max_rows and len(data) > args.max_rows:
        data = data.sample(args.max_rows, random_state=0).reset_index(drop=True)
    metadata = eval_metadata(data)
    result = {
        "benchmark": "tvae_adult",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(
            ["python"]
            + [
                shlex.quote(a)
                for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]
            ]
        ),
        "config": {
            "data": str(args.data),
            "n_rows": len(data),
            "epochs": args.epochs,
            "batch_size": 500,
            "seeds": args.seeds,
            "models": args.models,
            "split": "train_test_split(test_size=0.2, random_state=0 + seed)",
            "quick": args.quick,
            "wait_quiet": args.wait_quiet,
        },
        "machine": machine_info(),
        "load_average_start": list(os.getloadavg()),
        "runs": [],
    }
    log(f"machine: {result['machine']}")
    out_json = Path(args.out + ".json")
    out_md = Path(args.out + ".md")
    out_json.parent.mkdir(parents=True, exist_ok=True)

    for i, seed in enumerate(args.seeds):
        train, holdout = train_test_split(data, test_size=0.2, random_state=0 + seed)
        train = train.reset_index(drop=True)
        holdout = holdout.reset_index(drop=True)
        result["config"]["n_train"] = len(train)
        result["config"]["n_holdout"] = len(holdout)
        features = TabularFeatures(train)
        # Alternate the fitting order between seeds so neither TVAE always goes first.
        order = list(args.models) if i % 2 == 0 else list(reversed(args.models))
        for model in order:
            gc.collect()
            log(f"seed {seed}: fitting {model} (epochs={args.epochs})")
            waited, quiet = (
                wait_for_quiet(args.wait_quiet) if args.wait_quiet else (0.0, None)
            )
            if waited > 6:
                log(f"waited {waited:.0f}s for other jobs (now {quiet:.2f} cores)")
            load_before = os.getloadavg()[0]
            with PeakRSS() as rss, OtherCPU() as other:
                cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
                sample, info = fit_model(model, train, epochs=args.epochs, seed=seed)
                fit_seconds = time.perf_counter() - t0
                fit_cpu = tree_cpu_seconds() - cpu0
            t0 = time.perf_counter()
            synthetic = sample(len(train))
            sample_seconds = time.perf_counter() - t0
            synthetic = align(synthetic, train)
            log(
                f"seed {seed}: {model} fit {fit_seconds:.1f}s (CPU {fit_cpu:.1f}s, "
                f"other jobs {other.cores:.2f} cores), "
                f"sample {len(train)} rows in {sample_seconds:.2f}s; evaluating"
            )
            t0 = time.perf_counter()
            metrics = evaluate(synthetic, train, holdout, metadata, features, seed)
            vs = metrics["vs_holdout"]
            log(
                f"seed {seed}: {model} shapes err {vs['column_shapes_error_pct']:.2f}% "
                f"trends err {vs['column_pair_trends_error_pct']:.2f}% (all pairs "
                f"{vs['column_pair_trends_all_pairs_error_pct']:.2f}%) "
                f"TSTR {metrics['tstr_auc']:.3f} [eval {time.perf_counter() - t0:.0f}s]"
            )
            result["runs"].append(
                {
                    "model": model,
                    "seed": seed,
                    "cost": {
                        "fit_seconds": fit_seconds,
                        "fit_cpu_seconds": fit_cpu,
                        "sample_seconds": sample_seconds,
                        "sample_rows": len(train),
                        "sample_rows_per_second": len(train) / sample_seconds,
                        "fit_peak_rss_mib": rss.peak / 2**20,
                        "fit_rss_increase_mib": (rss.peak - rss.start) / 2**20,
                        "load_average_1min_before_fit": load_before,
                        "load_average_1min_after_fit": os.getloadavg()[0],
                        "other_processes_cores_during_fit": other.cores,
                        "waited_for_quiet_seconds": waited,
                        **info,
                    },
                    "metrics": metrics,
                }
            )
            del sample, synthetic

        # Reference: the real training rows as the "synthetic" table.
        log(f"seed {seed}: evaluating the real 80 % as a reference")
        ref = {
            "vs_holdout": fidelity(holdout, train, metadata, seed),
            "tstr_auc": tstr(train, holdout, features, seed),
            "exact_copies": exact_copies(holdout, train),
        }
        ref["vs_holdout"]["c2st_gbm_auc"] = c2st_gbm(holdout, train, features, seed)
        ref["exact_copies_pct"] = 100 * ref["exact_copies"] / len(holdout)
        ref["exact_copies_note"] = "holdout rows equal to a training row"
        result["runs"].append(
            {"model": "real_train", "seed": seed, "cost": {}, "metrics": ref}
        )
        result["load_average_end"] = list(os.getloadavg())
        result["summary"] = summarise(
            result["runs"], list(args.models) + ["real_train"]
        )
        result["peak_rss_process_mib"] = (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        out_json.write_text(json.dumps(result, indent=2, default=float))
        write_markdown(result, out_md)
        log(f"seed {seed} done; wrote {out_json} and {out_md}")
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs for both TVAEs"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument(
        "--models",
        nargs="+",
        default=["ours_tvae", "sdv_tvae", "sdv_gaussian_copula"],
        choices=["ours_tvae", "sdv_tvae", "sdv_gaussian_copula"],
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--max-rows", type=int, default=None, help="subsample the table"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each fit, wait up to SECONDS until other jobs use < 0.3 cores",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 epochs, one seed, 4000 rows, results under *_quick",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output path without extension (default benchmarks/results/tvae_adult)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 2 if args.epochs is None else args.epochs
        args.seeds = [0] if args.seeds is None else args.seeds
        args.max_rows = 4000 if args.max_rows is None else args.max_rows
    args.epochs = 100 if args.epochs is None else args.epochs
    args.seeds = [0, 1, 2] if args.seeds is None else args.seeds
    if args.out is None:
        name = "tvae_adult_quick" if args.quick else "tvae_adult"
        args.out = str(REPO / "benchmarks" / "results" / name)
    return args


if __name__ == "__main__":
    run(parse_args())
