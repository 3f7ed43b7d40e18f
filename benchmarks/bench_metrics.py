"""Cost of every sklearn_gen metric on Adult, beside the equivalent SDMetrics call.

Run from the repository root::

    python benchmarks/bench_metrics.py                 # TVAE sample as "synthetic"
    python benchmarks/bench_metrics.py --synthetic holdout   # the real 20 % instead

Protocol: Adult (bundled copy, 32,561 x 15) split 80/20 with seed 0; the 80 %
(26,049 rows) is the real table. The synthetic table is a sample of as many rows
from a ``TVAEGenerator`` fitted on the 80 % (``--epochs``, default 10), or the
real 20 % (``--synthetic holdout``). Each metric function runs ``--repeats``
times (median reported) with the default options a user gets; beside it, the
SDMetrics call a user would write by hand for the same number (metadata built
once beforehand, not timed). Privacy metrics use the 80 % as training rows and the
20 % as holdout. torch and BLAS-heavy code run under ``torch.set_num_threads(1)``;
SDMetrics' LogisticDetection is timed both as SDMetrics runs it and with BLAS
limited to one thread (our detection does that internally).

Results: ``benchmarks/results/metrics_cost.json`` and ``metrics_cost.md``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sklearn_gen  # noqa: E402
from sklearn_gen import TVAEGenerator  # noqa: E402
from sklearn_gen.datasets import load_adult  # noqa: E402
from sklearn_gen.metrics import (  # noqa: E402
    column_pair_trends_score,
    column_shapes_score,
    consistency_score,
    coverage_score,
    dcr_share,
    detection_score,
    diagnostic_score,
    evaluate_synthetic,
    exact_copy_rate,
    ml_efficacy_score,
    nn_precision_score,
    nn_recall_score,
    quality_score,
)
from sklearn_gen.metrics._common import _align  # noqa: E402

QUALITY_TARGET_S = 15.0


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
    }


def versions():
    out = {"sklearn_gen": sklearn_gen.__version__}
    for name in ("numpy", "pandas", "scipy", "scikit-learn", "sdmetrics", "torch"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def timed(fn, repeats):
    times, value, error = [], None, None
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = fn()
        except Exception as exc:  # noqa: BLE001 - record SDMetrics failures
            error = f"{type(exc).__name__}: {str(exc)[:160]}"
            times.append(time.perf_counter() - start)
            break
        times.append(time.perf_counter() - start)
    return {
        "seconds": statistics.median(times),
        "all_seconds": times,
        "value": None if value is None else float(value),
        "error": error,
    }


def sdmetrics_calls(real, synthetic, train, holdout, metadata, target):
    """The SDMetrics call a user writes by hand for each metric (None: none exists)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
        from sdmetrics.reports.single_table import DiagnosticReport, QualityReport
        from sdmetrics.reports.single_table._properties import ColumnPairTrends
        from sdmetrics.single_column import (
            CategoryCoverage,
            KSComplement,
            RangeCoverage,
            TVComplement,
        )
        from sdmetrics.single_table import (
            BinaryDecisionTreeClassifier,
            DCROverfittingProtection,
            LogisticDetection,
            NewRowSynthesis,
        )
    from threadpoolctl import threadpool_limits

    columns = metadata["columns"]
    numeric = [c for c, m in columns.items() if m["sdtype"] == "numerical"]

    def quality():
        report = QualityReport()
        report.generate(real, synthetic, metadata, verbose=False)
        return report.get_score()

    def shapes():
        scores = []
        for name, meta in columns.items():
            metric = KSComplement if meta["sdtype"] == "numerical" else TVComplement
            scores.append(metric.compute(real[name], synthetic[name]))
        return np.mean(scores)

    def pair_trends_all():
        prop = ColumnPairTrends()  # thresholds 0: every pair
        return prop.get_score(real, synthetic, metadata)

    def pair_trends_by_hand():
        names = list(columns)
        scores = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if a in numeric and b in numeric:
                    scores.append(
                        CorrelationSimilarity.compute(real[[a, b]], synthetic[[a, b]])
                    )
                else:
                    scores.append(
                        ContingencySimilarity.compute(
                            real[[a, b]],
                            synthetic[[a, b]],
                            continuous_column_names=[c for c in (a, b) if c in numeric],
                        )
                    )
        return np.nanmean(scores)

    def detection():
        return LogisticDetection.compute(real, synthetic, metadata)

    def detection_blas1():
        with threadpool_limits(limits=1, user_api="blas"):
            return LogisticDetection.compute(real, synthetic, metadata)

    def coverage():
        scores = []
        for name, meta in columns.items():
            metric = (
                RangeCoverage if meta["sdtype"] == "numerical" else CategoryCoverage
            )
            scores.append(metric.compute(real[name], synthetic[name]))
        return np.nanmean(scores)

    def diagnostic():
        report = DiagnosticReport()
        report.generate(real, synthetic, metadata, verbose=False)
        return report.get_score()

    def ml_efficacy():
        return BinaryDecisionTreeClassifier.compute(
            holdout, synthetic, metadata, target=target
        )

    def dcr():
        # On all 26k synthetic rows its pairwise pandas merge ran over 9 minutes
        # without finishing; its own num_rows_subsample option (unseeded) keeps
        # 2,000 synthetic rows.
        return DCROverfittingProtection.compute(
            train, synthetic, holdout, metadata, None, num_rows_subsample=2000
        )

    def new_rows():
        # It runs one DataFrame.query per synthetic row (minutes for 26k rows);
        # its own synthetic_sample_size option (unseeded) keeps it to 2,000.
        return 1.0 - NewRowSynthesis.compute(
            train, synthetic, metadata, synthetic_sample_size=2000
        )

    return {
        "quality": [("QualityReport().generate", quality)],
        "column_shapes": [("KSComplement/TVComplement per column", shapes)],
        "column_pair_trends": [
            ("ColumnPairTrends property, thresholds 0", pair_trends_all),
            ("Correlation/ContingencySimilarity per pair", pair_trends_by_hand),
        ],
        "detection": [
            ("LogisticDetection.compute", detection),
            ("LogisticDetection.compute, 1 BLAS thread", detection_blas1),
        ],
        "coverage": [("RangeCoverage/CategoryCoverage per column", coverage)],
        "diagnostic": [("DiagnosticReport().generate", diagnostic)],
        "ml_efficacy": [
            ("BinaryDecisionTreeClassifier.compute (test=holdout)", ml_efficacy)
        ],
        "dcr_share": [("DCROverfittingProtection.compute, 2,000 synthetic rows", dcr)],
        "exact_copy_rate": [
            ("1 - NewRowSynthesis.compute, 2,000 synthetic rows", new_rows)
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", choices=["tvae", "holdout"], default="tvae")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-sdmetrics", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/metrics_cost"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python benchmarks/bench_metrics.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )

    adult = load_adult(as_frame=True)
    train = adult.sample(frac=0.8, random_state=0)
    holdout = adult.drop(train.index).reset_index(drop=True)
    train = train.reset_index(drop=True)
    target = "income"
    load_before = os.getloadavg()

    fit_seconds = None
    if args.synthetic == "tvae":
        start = time.perf_counter()
        gen = TVAEGenerator(epochs=args.epochs, device="cpu", random_state=0).fit(train)
        fit_seconds = time.perf_counter() - start
        synthetic = gen.sample(len(train), random_state=0)
        schema = gen.encoder_.schema_
        synthetic_label = (
            f"TVAEGenerator(epochs={args.epochs}) sample of {len(train)} rows"
        )
    else:
        synthetic = holdout
        schema = None
        synthetic_label = f"the real 20 % ({len(holdout)} rows)"
    real = train  # the real table every fidelity metric compares with

    ours = {
        "quality": lambda: quality_score(real, synthetic),
        "column_shapes": lambda: column_shapes_score(real, synthetic),
        "column_pair_trends": lambda: column_pair_trends_score(real, synthetic),
        "column_pair_trends_thresholded": lambda: column_pair_trends_score(
            real, synthetic, all_pairs=False
        ),
        "detection": lambda: detection_score(real, synthetic),
        "detection_gb": lambda: detection_score(
            real, synthetic, method="gradient_boosting"
        ),
        "coverage": lambda: coverage_score(real, synthetic),
        "nn_precision": lambda: nn_precision_score(real, synthetic),
        "nn_recall": lambda: nn_recall_score(real, synthetic),
        "consistency": lambda: consistency_score(real, synthetic, schema=schema),
        "diagnostic": lambda: diagnostic_score(real, synthetic),
        "ml_efficacy": lambda: ml_efficacy_score(holdout, synthetic, target=target),
        "dcr_share": lambda: dcr_share(train, synthetic, holdout),
        "exact_copy_rate": lambda: exact_copy_rate(train, synthetic),
        "evaluate_synthetic (all)": lambda: len(
            evaluate_synthetic(holdout, synthetic, train=train, target=target)
        ),
    }
    results = {}
    for name, fn in ours.items():
        results[name] = {"ours": timed(fn, args.repeats), "sdmetrics": []}
        r = results[name]["ours"]
        print(f"{name:32s} ours {r['seconds']:7.2f} s  value {r['value']}", flush=True)

    if not args.skip_sdmetrics:
        (real_sd, synthetic_sd, train_sd, holdout_sd), metadata = _align(
            real,
            synthetic,
            train,
            holdout,
            names=("real", "synthetic", "train", "holdout"),
        )
        calls = sdmetrics_calls(
            real_sd, synthetic_sd, train_sd, holdout_sd, metadata, target
        )
        for name, entries in calls.items():
            for label, fn in entries:
                r = timed(fn, args.repeats)
                r["call"] = label
                results[name]["sdmetrics"].append(r)
                print(
                    f"{name:32s} sdmetrics {label}: {r['seconds']:.2f} s "
                    f"value {r['value']} {r['error'] or ''}",
                    flush=True,
                )

    quality_s = results["quality"]["ours"]["seconds"]
    payload = {
        "command": command,
        "machine": machine(),
        "versions": versions(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "data": {
            "real": f"Adult 80 % split, seed 0 ({len(train)} x {train.shape[1]})",
            "synthetic": synthetic_label,
            "holdout": f"Adult 20 % ({len(holdout)} rows)",
            "tvae_fit_seconds": fit_seconds,
        },
        "quality_target_seconds": QUALITY_TARGET_S,
        "quality_under_target": quality_s < QUALITY_TARGET_S,
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(payload))
    print(f"wrote {out}.json and {out}.md")


def _fmt(value):
    return "—" if value is None else f"{value:.4f}"


def markdown(payload):
    m = payload["machine"]
    lines = [
        "# Cost of the metrics on Adult (sklearn_gen vs SDMetrics by hand)",
        "",
        f"Command: `{payload['command']}`",
        "",
        f"Real: {payload['data']['real']}. Synthetic: {payload['data']['synthetic']}"
        f". Holdout (privacy, ML efficacy test set): {payload['data']['holdout']}.",
        "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, {m['platform']}, "
        f"Python {m['python']}, torch threads {m['torch_threads']}. Load average "
        f"before / after: {[round(x, 2) for x in payload['load_average_before']]} / "
        f"{[round(x, 2) for x in payload['load_average_after']]} (shared machine).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in payload["versions"].items()),
        "",
        f"**Full `quality_score` on the 26k-row table: "
        f"{payload['results']['quality']['ours']['seconds']:.2f} s** "
        f"(target: under {payload['quality_target_seconds']:.0f} s).",
        "",
        "| metric | ours (s) | ours value | SDMetrics call by hand | SDMetrics (s) | "
        "SDMetrics value |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name, entry in payload["results"].items():
        ours = entry["ours"]
        ours_value = _fmt(ours["value"]) if ours["error"] is None else ours["error"]
        if not entry["sdmetrics"]:
            lines.append(
                f"| {name} | {ours['seconds']:.2f} | {ours_value} | (none) | — | — |"
            )
        for i, sd in enumerate(entry["sdmetrics"]):
            head = (
                f"| {name} | {ours['seconds']:.2f} | {ours_value}"
                if i == 0
                else "| | |"
            )
            value = (
                _fmt(sd["value"]) if sd["error"] is None else f"error: {sd['error']}"
            )
            lines.append(f"{head} | {sd['call']} | {sd['seconds']:.2f} | {value} |")
    lines += [
        "",
        "Notes: values differ where the definitions do — `detection` fits its one-hot",
        "encoder on both tables and seeds its folds (SDMetrics' LogisticDetection",
        "shuffles without a seed, so its value moves from call to call);",
        "`ml_efficacy` is ROC AUC of a gradient-boosting model, SDMetrics' F1 of a",
        "decision tree; `dcr_share` is the share of synthetic rows closer to train",
        "(0.5 ideal), DCROverfittingProtection a 0-1 protection score;",
        "`exact_copy_rate` is a copy rate (1 - NewRowSynthesis, which also matches",
        "numbers within 1 % and runs one query per synthetic row, hence 2,000 rows).",
        "`evaluate_synthetic (all)` is the number of metrics it returned.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
