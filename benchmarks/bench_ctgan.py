"""CTGANGenerator against SDV's CTGANSynthesizer on Adult.

Same protocol and metrics as ``bench_tvae.py`` (whose functions this script imports):
split Adult 80/20 with ``train_test_split(..., random_state=0 + seed)``, fit both
models on the 80 % with the same epochs and batch size (500; SDV's defaults for
everything else, which are also ours), sample as many rows as the 80 % has, and
measure the synthetic table against the real 20 % and the real 80 % (Column Shapes
and Column Pair Trends errors, LogisticDetection, gradient-boosting C2ST, TSTR, DCR
share, exact copies).

Cost, per model: fit wall and process-CPU seconds, and the *training loop* alone
(ours: the sum of skorch's per-epoch ``dur``; SDV: from the creation of CTGAN's
``DataSampler``, which follows its data transformer, to the end of ``fit``), each
also per epoch; sampling rows/s (unconditional, ``len(train)`` rows); and
conditional sampling rows/s for one rare category (``--condition``, default
``native-country = " Mexico"``, about 2 % of rows): ours through
``sample(conditions=...)``, SDV through ``sample_from_conditions``.

Run from the repository root with an environment that has ``sdv`` installed
(``pip install -e .[bench]``)::

    python benchmarks/bench_ctgan.py --epochs 100 --seeds 0 1 2
    python benchmarks/bench_ctgan.py --quick          # a few-minute smoke run
    python benchmarks/bench_ctgan.py --device cuda    # on a GPU machine

It writes ``benchmarks/results/ctgan_adult[_quick].json`` (every raw number, per
seed, the command and the machine) and ``.md`` (a summary table with ratios).
"""

import argparse
import datetime
import gc
import json
import os
import resource
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tvae import (  # noqa: E402  (the shared protocol)
    DEFAULT_DATA,
    REPO,
    SUMMARY_KEYS,
    PeakRSS,
    TabularFeatures,
    _single,
    align,
    c2st_gbm,
    eval_metadata,
    evaluate,
    exact_copies,
    fidelity,
    fmt,
    log,
    machine_info,
    mean_std,
    sdv_metadata,
    seed_globals,
    tstr,
)

MODEL_LABELS = {
    "ours_ctgan": "sklearn_gen CTGANGenerator",
    "sdv_ctgan": "SDV CTGANSynthesizer",
    "real_train": "Real 80 % (reference)",
}

COST_KEYS = {
    "fit_seconds_per_epoch": lambda r: r["cost"]["fit_seconds"] / r["cost"]["epochs"],
    "train_loop_seconds_per_epoch": lambda r: r["cost"]["train_loop_seconds"]
    / r["cost"]["epochs"],
    "preprocess_seconds": lambda r: r["cost"]["fit_seconds"] - r["cost"]["train_loop_seconds"],
    "condition_rows_per_second": lambda r: r["cost"].get("condition_rows_per_second"),
}


# ------------------------------------------------------------------------ models
class _SDVTrainLoopTimer:
    """Times CTGAN's training loop inside SDV: from ``DataSampler`` creation (after
    the data transformer's fit and transform) to the end of ``CTGAN.fit``."""

    def __enter__(self):
        from ctgan.synthesizers import ctgan as ctgan_module

        self.module = ctgan_module
        self.original = ctgan_module.DataSampler
        timer = self

        class TimedDataSampler(self.original):
            def __init__(self, *args, **kwargs):
                timer.start = time.perf_counter()
                super().__init__(*args, **kwargs)

        ctgan_module.DataSampler = TimedDataSampler
        self.start = None
        return self

    def __exit__(self, *exc):
        self.module.DataSampler = self.original
        self.seconds = time.perf_counter() - self.start if self.start else float("nan")
        return False


def fit_model(name, train, *, epochs, seed, device):
    """Fit one model; return ``(sample(n), sample_condition(n, column, value), info)``."""
    if name == "ours_ctgan":
        from sklearn_gen import CTGANGenerator

        model = CTGANGenerator(
            epochs=epochs, batch_size=500, random_state=seed, device=device
        ).fit(train)
        info = {"train_loop_seconds": float(np.sum(model.history_[:, "dur"]))}

        def sample(n):
            return model.sample(n, random_state=seed)

        def sample_condition(n, column, value):
            return model.sample(n, conditions={column: value}, random_state=seed)

        return sample, sample_condition, info
    if name == "sdv_ctgan":
        from sdv.sampling import Condition
        from sdv.single_table import CTGANSynthesizer

        metadata = sdv_metadata(train)
        model = CTGANSynthesizer(
            metadata, epochs=epochs, batch_size=500, enable_gpu=device == "cuda"
        )
        seed_globals(seed)
        with _SDVTrainLoopTimer() as timer:
            model.fit({"adult": train})
        info = {"train_loop_seconds": timer.seconds}

        def sample(n):
            seed_globals(seed)
            return _single(model.sample(n))

        def sample_condition(n, column, value):
            seed_globals(seed)
            condition = Condition(num_rows=n, column_values={column: value})
            return _single(model.sample_from_conditions([condition]))

        return sample, sample_condition, info
    raise ValueError(f"unknown model {name!r}")


# ------------------------------------------------------------------ run + report
def summarise(runs, models):
    keys = {**SUMMARY_KEYS, **COST_KEYS}
    summary = {}
    for model in models:
        rows = [r for r in runs if r["model"] == model]
        if not rows:
            continue
        summary[model] = {}
        for key, getter in keys.items():
            values = []
            for r in rows:
                try:
                    values.append(getter(r))
                except (KeyError, TypeError, ZeroDivisionError):
                    values.append(None)
            summary[model][key] = mean_std(values)
    ours = {r["seed"]: r for r in runs if r["model"] == "ours_ctgan"}
    sdv = {r["seed"]: r for r in runs if r["model"] == "sdv_ctgan"}
    seeds = sorted(set(ours) & set(sdv))
    if seeds:
        paired = {"seeds": seeds}

        def ratio(key, getter, invert=False):
            values = []
            for s in seeds:
                a, b = getter(sdv[s]), getter(ours[s])
                if a is None or b is None or not a or not b:
                    continue
                values.append(b / a if invert else a / b)
            paired[key] = mean_std(values)

        ratio("fit_speedup_sdv_over_ours", lambda r: r["cost"]["fit_seconds"])
        ratio("fit_cpu_speedup_sdv_over_ours", lambda r: r["cost"]["fit_cpu_seconds"])
        ratio("train_loop_speedup_sdv_over_ours", lambda r: r["cost"]["train_loop_seconds"])
        ratio(
            "sample_speedup_ours_over_sdv",
            lambda r: r["cost"]["sample_rows_per_second"],
            invert=True,
        )
        ratio(
            "condition_sample_speedup_ours_over_sdv",
            lambda r: r["cost"].get("condition_rows_per_second"),
            invert=True,
        )
        for key in (
            "shapes_err_holdout", "trends_err_holdout", "trends_all_err_holdout",
            "shapes_err_train", "trends_err_train", "trends_all_err_train",
            "logistic_detection_holdout", "c2st_gbm_auc_holdout", "tstr_auc",
            "dcr_share_pct",
        ):
            getter = SUMMARY_KEYS[key]
            paired[f"{key}_ours_minus_sdv"] = mean_std(
                [getter(ours[s]) - getter(sdv[s]) for s in seeds]
            )
        summary["paired_ours_vs_sdv_ctgan"] = paired
    return summary


def write_markdown(result, path):
    s = result["summary"]
    cfg = result["config"]
    m = result["machine"]
    models = [k for k in MODEL_LABELS if k in s]
    synthetic = [k for k in models if k != "real_train"]
    column, value = cfg["condition"]
    lines = [
        "# CTGAN on Adult: sklearn_gen vs SDV",
        "",
        f"Generated {result['date']} by `{result['command']}`",
        "",
        f"Adult ({cfg['n_rows']} rows), 80/20 split with `train_test_split(random_state=0 + seed)`, "
        f"{cfg['n_train']} training rows, {cfg['n_holdout']} holdout rows; every model samples "
        f"{cfg['n_train']} rows. Epochs E = {cfg['epochs']} for both (batch_size 500, pac 10, "
        f"SDV's defaults otherwise), device `{cfg['device']}`, seeds {cfg['seeds']} (mean ± std "
        f"over seeds; each seed is its own split). Machine: {m['cpu_model']}, {m['cpu_count']} "
        f"cores, torch threads {m['torch_num_threads']} (interop "
        f"{m['torch_num_interop_threads']}). Load average: "
        f"{result['load_average_start'][0]:.1f} at the start, "
        f"{result['load_average_end'][0]:.1f} at the end (other jobs may share the cores, "
        "which inflates absolute times; the models were fitted interleaved in one process, "
        "so the ratios are the fairer figure).",
        "",
        "Errors are `1 - score` in % (lower is better); see `bench_tvae.py` for the "
        "definitions (QualityReport Column Shapes / Column Pair Trends, trends over all "
        "pairs, LogisticDetection (1 = indistinguishable), gradient-boosting C2ST AUC (0.5 = "
        "indistinguishable), TSTR ROC AUC for `income`, DCR share (50 % ideal)).",
        "",
        "## Against the real 20 % (holdout)",
        "",
        "| model | shapes err % | trends err % | trends err % (all pairs) | LogisticDetection | C2ST AUC | TSTR AUC | DCR share % | exact copies |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model in models:
        r = s[model]
        lines.append(
            f"| {MODEL_LABELS[model]} | {fmt(r['shapes_err_holdout'])} | "
            f"{fmt(r['trends_err_holdout'])} | {fmt(r['trends_all_err_holdout'])} | "
            f"{fmt(r['logistic_detection_holdout'], 3)} | {fmt(r['c2st_gbm_auc_holdout'], 3)} | "
            f"{fmt(r['tstr_auc'], 3)} | {fmt(r['dcr_share_pct'], 1)} | "
            f"{fmt(r['exact_copies'], 1)} |"
        )
    lines += [
        "",
        "## Against the real 80 % (training data)",
        "",
        "| model | shapes err % | trends err % | trends err % (all pairs) | LogisticDetection | C2ST AUC |",
        "|---|---|---|---|---|---|",
    ]
    for model in synthetic:
        r = s[model]
        lines.append(
            f"| {MODEL_LABELS[model]} | {fmt(r['shapes_err_train'])} | "
            f"{fmt(r['trends_err_train'])} | {fmt(r['trends_all_err_train'])} | "
            f"{fmt(r['logistic_detection_train'], 3)} | {fmt(r['c2st_gbm_auc_train'], 3)} |"
        )
    lines += [
        "",
        f"## Cost ({cfg['device']})",
        "",
        "| model | fit s (wall) | fit s / epoch | training loop s / epoch | preprocessing s | fit s (process CPU) | sample rows/s | conditional rows/s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model in synthetic:
        r = s[model]
        lines.append(
            f"| {MODEL_LABELS[model]} | {fmt(r['fit_seconds'], 1)} | "
            f"{fmt(r['fit_seconds_per_epoch'], 3)} | {fmt(r['train_loop_seconds_per_epoch'], 3)} | "
            f"{fmt(r['preprocess_seconds'], 1)} | {fmt(r['fit_cpu_seconds'], 1)} | "
            f"{fmt(r['sample_rows_per_second'], 0)} | {fmt(r['condition_rows_per_second'], 0)} | "
            f"{fmt(r['fit_peak_rss_mib'], 0)} |"
        )
    lines += [
        "",
        f"Conditional rows/s: {cfg['condition_rows']} rows with `{column} = {value!r}` "
        "(ours: `sample(conditions=...)`; SDV: `sample_from_conditions`). Preprocessing = "
        "fit wall seconds minus the training loop (schema, mixtures, encoding). Peak RSS is "
        "process-wide (both models share one process).",
    ]
    p = s.get("paired_ours_vs_sdv_ctgan")
    if p:
        lines += [
            "",
            f"## sklearn_gen CTGANGenerator vs SDV CTGANSynthesizer (paired by seed, E = {cfg['epochs']})",
            "",
            "| figure | value |",
            "|---|---|",
            f"| fit speed-up, SDV / ours (wall) | {fmt(p['fit_speedup_sdv_over_ours'], 2)}× |",
            f"| fit speed-up, SDV / ours (process CPU) | {fmt(p['fit_cpu_speedup_sdv_over_ours'], 2)}× |",
            f"| training-loop speed-up, SDV / ours (per epoch) | {fmt(p['train_loop_speedup_sdv_over_ours'], 2)}× |",
            f"| sampling speed-up, ours / SDV | {fmt(p['sample_speedup_ours_over_sdv'], 2)}× |",
            f"| conditional sampling speed-up, ours / SDV | {fmt(p['condition_sample_speedup_ours_over_sdv'], 2)}× |",
            f"| shapes error, ours − SDV (pp, holdout) | {fmt(p['shapes_err_holdout_ours_minus_sdv'])} |",
            f"| trends error, ours − SDV (pp, holdout) | {fmt(p['trends_err_holdout_ours_minus_sdv'])} |",
            f"| trends error all pairs, ours − SDV (pp, holdout) | {fmt(p['trends_all_err_holdout_ours_minus_sdv'])} |",
            f"| LogisticDetection, ours − SDV (holdout; higher is better) | {fmt(p['logistic_detection_holdout_ours_minus_sdv'], 3)} |",
            f"| C2ST AUC, ours − SDV (holdout; lower is better) | {fmt(p['c2st_gbm_auc_holdout_ours_minus_sdv'], 3)} |",
            f"| TSTR AUC, ours − SDV | {fmt(p['tstr_auc_ours_minus_sdv'], 3)} |",
            "",
            "Issue 3 targets (CPU, equal epochs): fit ≥ 3× faster, sampling ≥ 10× faster; "
            "Column Shapes, Column Pair Trends and detection at least as good as SDV's.",
        ]

        def ok(stat, test):
            return "n/a" if stat["mean"] is None else ("yes" if test(stat["mean"]) else "NO")

        checks = [
            ("fit ≥ 3× faster (wall, mean)", ok(p["fit_speedup_sdv_over_ours"], lambda v: v >= 3)),
            ("sampling ≥ 10× faster (mean)", ok(p["sample_speedup_ours_over_sdv"], lambda v: v >= 10)),
            ("Column Shapes error ≤ SDV's (holdout, mean)", ok(p["shapes_err_holdout_ours_minus_sdv"], lambda v: v <= 0)),
            ("Column Pair Trends error ≤ SDV's (holdout, mean)", ok(p["trends_err_holdout_ours_minus_sdv"], lambda v: v <= 0)),
            ("LogisticDetection ≥ SDV's (holdout, mean)", ok(p["logistic_detection_holdout_ours_minus_sdv"], lambda v: v >= 0)),
            ("C2ST AUC ≤ SDV's (holdout, mean)", ok(p["c2st_gbm_auc_holdout_ours_minus_sdv"], lambda v: v <= 0)),
        ]
        lines += [""] + [f"- {name}: {verdict}" for name, verdict in checks]
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
    if args.threads:
        torch.set_num_threads(args.threads)
    data = pd.read_csv(args.data)
    if args.max_rows and len(data) > args.max_rows:
        data = data.sample(args.max_rows, random_state=0).reset_index(drop=True)
    metadata = eval_metadata(data)
    column, value = args.condition
    result = {
        "benchmark": "ctgan_adult",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(
            ["python"]
            + [shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]]
        ),
        "config": {
            "data": str(args.data),
            "n_rows": len(data),
            "epochs": args.epochs,
            "batch_size": 500,
            "pac": 10,
            "device": args.device,
            "threads": args.threads,
            "seeds": args.seeds,
            "models": args.models,
            "condition": [column, value],
            "condition_rows": args.condition_rows,
            "split": "train_test_split(test_size=0.2, random_state=0 + seed)",
            "quick": args.quick,
        },
        "machine": machine_info(),
        "load_average_start": list(os.getloadavg()),
        "runs": [],
    }
    log(f"machine: {result['machine']}")
    out_json, out_md = Path(args.out + ".json"), Path(args.out + ".md")
    out_json.parent.mkdir(parents=True, exist_ok=True)

    for i, seed in enumerate(args.seeds):
        train, holdout = train_test_split(data, test_size=0.2, random_state=0 + seed)
        train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
        result["config"]["n_train"] = len(train)
        result["config"]["n_holdout"] = len(holdout)
        features = TabularFeatures(train)
        order = list(args.models) if i % 2 == 0 else list(reversed(args.models))
        for model in order:
            gc.collect()
            log(f"seed {seed}: fitting {model} (epochs={args.epochs}, device={args.device})")
            load_before = os.getloadavg()[0]
            with PeakRSS() as rss:
                cpu0, t0 = time.process_time(), time.perf_counter()
                sample, sample_condition, info = fit_model(
                    model, train, epochs=args.epochs, seed=seed, device=args.device
                )
                fit_seconds = time.perf_counter() - t0
                fit_cpu = time.process_time() - cpu0
            t0 = time.perf_counter()
            synthetic = sample(len(train))
            sample_seconds = time.perf_counter() - t0
            synthetic = align(synthetic, train)
            cost = {
                "epochs": args.epochs,
                "fit_seconds": fit_seconds,
                "fit_cpu_seconds": fit_cpu,
                "sample_seconds": sample_seconds,
                "sample_rows": len(train),
                "sample_rows_per_second": len(train) / sample_seconds,
                "fit_peak_rss_mib": rss.peak / 2**20,
                "fit_rss_increase_mib": (rss.peak - rss.start) / 2**20,
                "load_average_1min_before_fit": load_before,
                "load_average_1min_after_fit": os.getloadavg()[0],
                **info,
            }
            if args.condition_rows:
                t0 = time.perf_counter()
                try:
                    rows = sample_condition(args.condition_rows, column, value)
                    seconds = time.perf_counter() - t0
                    matched = int((rows[column] == value).sum())
                    cost.update(
                        condition_seconds=seconds,
                        condition_rows=len(rows),
                        condition_rows_matching=matched,
                        condition_rows_per_second=len(rows) / seconds,
                    )
                except Exception as exc:  # report, don't hide: SDV may give up
                    cost.update(
                        condition_error=f"{type(exc).__name__}: {exc}"[:500],
                        condition_seconds=time.perf_counter() - t0,
                    )
            log(
                f"seed {seed}: {model} fit {fit_seconds:.1f}s (loop "
                f"{info['train_loop_seconds']:.1f}s, CPU {fit_cpu:.1f}s), sample "
                f"{len(train)} rows in {sample_seconds:.2f}s, conditional "
                f"{cost.get('condition_seconds', float('nan')):.2f}s; evaluating"
            )
            t0 = time.perf_counter()
            metrics = evaluate(synthetic, train, holdout, metadata, features, seed)
            log(
                f"seed {seed}: {model} shapes err "
                f"{metrics['vs_holdout']['column_shapes_error_pct']:.2f}% trends err "
                f"{metrics['vs_holdout']['column_pair_trends_error_pct']:.2f}% "
                f"C2ST {metrics['vs_holdout']['c2st_gbm_auc']:.3f} "
                f"TSTR {metrics['tstr_auc']:.3f} [eval {time.perf_counter() - t0:.0f}s]"
            )
            result["runs"].append(
                {"model": model, "seed": seed, "cost": cost, "metrics": metrics}
            )
            del sample, sample_condition, synthetic

        log(f"seed {seed}: evaluating the real 80 % as a reference")
        ref = {
            "vs_holdout": fidelity(holdout, train, metadata, seed),
            "tstr_auc": tstr(train, holdout, features, seed),
            "exact_copies": exact_copies(holdout, train),
        }
        ref["vs_holdout"]["c2st_gbm_auc"] = c2st_gbm(holdout, train, features, seed)
        ref["exact_copies_pct"] = 100 * ref["exact_copies"] / len(holdout)
        ref["exact_copies_note"] = "holdout rows equal to a training row"
        result["runs"].append({"model": "real_train", "seed": seed, "cost": {}, "metrics": ref})
        result["load_average_end"] = list(os.getloadavg())
        result["summary"] = summarise(result["runs"], list(args.models) + ["real_train"])
        result["peak_rss_process_mib"] = (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        out_json.write_text(json.dumps(result, indent=2, default=float))
        write_markdown(result, out_md)
        log(f"seed {seed} done; wrote {out_json} and {out_md}")
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs for both CTGANs")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument(
        "--models", nargs="+", default=["ours_ctgan", "sdv_ctgan"],
        choices=["ours_ctgan", "sdv_ctgan"],
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch intra-op threads for both models (default: torch's choice); 1 "
        "gives steadier timings on a shared machine",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-rows", type=int, default=None, help="subsample the table")
    parser.add_argument(
        "--condition", nargs=2, default=["native-country", " Mexico"],
        metavar=("COLUMN", "VALUE"), help="categorical condition for the conditional timing",
    )
    parser.add_argument(
        "--condition-rows", type=int, default=1000,
        help="rows to sample under --condition (0 skips the conditional timing)",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: 3 epochs, one seed, 4000 rows, results under *_quick",
    )
    parser.add_argument(
        "--out", default=None,
        help="output path without extension (default benchmarks/results/ctgan_adult)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 3 if args.epochs is None else args.epochs
        args.seeds = [0] if args.seeds is None else args.seeds
        args.max_rows = 4000 if args.max_rows is None else args.max_rows
    args.epochs = 100 if args.epochs is None else args.epochs
    args.seeds = [0, 1, 2] if args.seeds is None else args.seeds
    if args.out is None:
        name = "ctgan_adult_quick" if args.quick else "ctgan_adult"
        if args.device == "cuda":
            name += "_cuda"
        args.out = str(REPO / "benchmarks" / "results" / name)
    return args


if __name__ == "__main__":
    run(parse_args())
