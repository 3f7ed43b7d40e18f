"""Benchmark TabularEncoder against CTGAN's DataTransformer on the Adult table.

Run from the repository root, in an environment with ``ctgan`` and ``rdt``::

    /work/venv-bench/bin/python benchmarks/bench_encoder.py

It times fit, transform and inverse_transform of

- ``sklearn_gen.preprocessing.TabularEncoder`` with the mode-specific strategy
  (default parameters: modes drawn from the posterior, as CTGAN does), and
- ``ctgan.data_transformer.DataTransformer`` (rdt ``ClusterBasedNormalizer`` +
  ``OneHotEncoder``; the 9 string columns as discrete columns),

alternating the two in every repeat so both see the same machine load, and reports
the medians and the speed-up. It then measures what the mixtures cost in quality:
the per-column Gaussian mixtures of rdt (scikit-learn's BayesianGaussianMixture on
all rows) against ours fitted on all rows and on random subsamples
(``gmm_max_samples``), by the mean log-likelihood of all rows under the kept modes
and the Kolmogorov-Smirnov distance between the column and a sample of the mixture.
Results go to ``benchmarks/results/encoder.json`` and ``encoder.md``.
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
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import sklearn_gen
from sklearn_gen.preprocessing import TabularEncoder
from sklearn_gen.preprocessing._encoder import _prune_modes, fit_dpgmm_1d

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "adult.csv"
SUBSAMPLES = (None, 20_000, 10_000, 5_000, 2_000)


def load_adult(path):
    if path.exists():
        return pd.read_csv(path), str(path)
    from sklearn_gen.datasets import load_adult as bundled

    return bundled(as_frame=True), "sklearn_gen.datasets.load_adult()"


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
        "cpu_model": model,
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions():
    out = {"sklearn_gen": sklearn_gen.__version__}
    for name in ("numpy", "pandas", "scipy", "scikit-learn", "rdt", "ctgan", "joblib"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def run_ours(df, random_state):
    encoder = TabularEncoder(continuous="mode_specific", random_state=random_state)
    _, t_fit = timed(encoder.fit, df)
    Z, t_transform = timed(encoder.transform, df)
    decoded, t_inverse = timed(encoder.inverse_transform, Z)
    return (
        encoder,
        Z,
        decoded,
        {
            "fit": t_fit,
            "transform": t_transform,
            "inverse_transform": t_inverse,
        },
    )


def run_ctgan(df, discrete):
    from ctgan.data_transformer import DataTransformer

    transformer = DataTransformer()
    _, t_fit = timed(transformer.fit, df, discrete)
    Z, t_transform = timed(transformer.transform, df)
    decoded, t_inverse = timed(transformer.inverse_transform, Z)
    return (
        transformer,
        Z,
        decoded,
        {
            "fit": t_fit,
            "transform": t_transform,
            "inverse_transform": t_inverse,
        },
    )


def round_trip_report(df, decoded):
    """Per column: dtype kept, share of cells restored exactly, max abs error."""
    out = {}
    for name in df.columns:
        a, b = df[name], decoded[name]
        entry = {"dtype_kept": bool(a.dtype == b.dtype)}
        if pd.api.types.is_numeric_dtype(a.dtype):
            b_num = pd.to_numeric(b, errors="coerce").to_numpy(dtype=float)
            a_num = a.to_numpy(dtype=float)
            entry["exact_share"] = float(np.mean(a_num == b_num))
            entry["max_abs_error"] = float(np.nanmax(np.abs(a_num - b_num)))
        else:
            entry["exact_share"] = float(np.mean(a.to_numpy() == b.to_numpy()))
        out[name] = entry
    return out


def mixture_quality(x, weights, means, stds, rng):
    """Mean log-likelihood of all values and KS distance to a mixture sample."""
    weights = weights / weights.sum()
    z = (x[:, None] - means) / stds
    log_dens = np.log(weights) - np.log(stds) - 0.5 * np.log(2 * np.pi) - 0.5 * z * z
    top = log_dens.max(axis=1, keepdims=True)
    loglik = float(np.mean(np.log(np.exp(log_dens - top).sum(axis=1)) + top[:, 0]))
    # Sample the mixture (vectorised: one uniform per row against the weights).
    component = np.searchsorted(np.cumsum(weights), rng.random(x.size) * 1.0)
    component = np.minimum(component, len(weights) - 1)
    sample = rng.normal(means[component], stds[component])
    # Compare what the decoder would output: clipped to the bounds, integers rounded.
    sample = np.clip(sample, x.min(), x.max())
    if np.array_equal(x, np.rint(x)):
        sample = np.rint(sample)
    ks = float(stats.ks_2samp(x, sample).statistic)
    return {"mean_loglik": loglik, "ks": ks, "n_modes": int(len(weights))}


def quality_study(df, numeric, ctgan_transformer, seeds=(0, 1, 2)):
    columns = {name: df[name].to_numpy(dtype=float) for name in numeric}
    results = {"rdt_sklearn_full": {}, "ours": {}}
    rng = np.random.default_rng(0)
    for info in ctgan_transformer._column_transform_info_list:
        if info.column_type != "continuous":
            continue
        cbn = info.transform
        bgm, keep = cbn._bgm_transformer, cbn.valid_component_indicator
        results["rdt_sklearn_full"][info.column_name] = mixture_quality(
            columns[info.column_name],
            bgm.weights_[keep],
            bgm.means_[keep, 0],
            np.sqrt(bgm.covariances_[keep, 0, 0]),
            rng,
        )
    for max_samples in SUBSAMPLES:
        key = "all" if max_samples is None else str(max_samples)
        per_seed, fit_times, iterations = [], [], []
        for seed in seeds:
            sub_rng = np.random.RandomState(seed)
            samples = [
                x
                if max_samples is None or x.size <= max_samples
                else x[sub_rng.choice(x.size, max_samples, replace=False)]
                for x in columns.values()
            ]
            start = time.perf_counter()
            fits, n_iter = fit_dpgmm_1d(
                samples, random_state=sub_rng, return_n_iter=True
            )
            fit_times.append(time.perf_counter() - start)
            iterations.append(n_iter)
            seed_result = {}
            for (name, x), (w, m, s) in zip(columns.items(), fits, strict=True):
                keep, s = _prune_modes(x, w, m, s, 0.005)
                seed_result[name] = mixture_quality(x, w[keep], m[keep], s[keep], rng)
                # Modes kept for coverage only (below the weight threshold).
                seed_result[name]["n_modes_for_coverage"] = int(
                    keep.sum() - (w > 0.005).sum()
                )
            per_seed.append(seed_result)
        summary = {}
        for name in columns:
            summary[name] = {
                metric: float(np.mean([r[name][metric] for r in per_seed]))
                for metric in ("mean_loglik", "ks", "n_modes", "n_modes_for_coverage")
            }
        results["ours"][key] = {
            "gmm_max_samples": max_samples,
            "median_fit_seconds_all_columns": statistics.median(fit_times),
            "em_iterations": iterations,
            "columns": summary,
        }
    return results


def markdown(report):
    lines = [
        "# TabularEncoder vs CTGAN DataTransformer (Adult)",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Data: {report['data']['source']} ({report['data']['rows']} rows x "
        f"{report['data']['columns']} columns; discrete: "
        f"{', '.join(report['data']['discrete_columns'])})",
        "",
        f"Machine: {report['machine']['cpu_model']}, "
        f"{report['machine']['logical_cores']} logical cores, "
        f"{report['machine']['platform']}, Python {report['machine']['python']}. "
        f"Load average before / after: {report['load_average']['before']} / "
        f"{report['load_average']['after']} (shared machine; both encoders ran "
        "alternately in every repeat, so they saw the same load).",
        "",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v),
        "",
        f"## Time (seconds, median of {report['repeats']} repeats)",
        "",
        "| phase | TabularEncoder (mode_specific) | CTGAN DataTransformer | speed-up |",
        "|---|---:|---:|---:|",
    ]
    ours, theirs = report["median_seconds"]["ours"], report["median_seconds"]["ctgan"]
    for phase in ("fit", "transform", "inverse_transform", "total"):
        lines.append(
            f"| {phase} | {ours[phase]:.3f} | {theirs[phase]:.3f} | "
            f"{theirs[phase] / ours[phase]:.1f}x |"
        )
    lines += [
        "",
        f"**Speed-up (fit + transform + inverse): {report['speedup_total']:.1f}x** "
        f"(target: at least 5x).",
        "",
        "All repeats (seconds):",
        "",
        "| repeat | ours fit | ours transform | ours inverse | ctgan fit | "
        "ctgan transform | ctgan inverse |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (o, c) in enumerate(
        zip(
            report["repeat_seconds"]["ours"],
            report["repeat_seconds"]["ctgan"],
            strict=True,
        )
    ):
        lines.append(
            f"| {i} | {o['fit']:.3f} | {o['transform']:.3f} | "
            f"{o['inverse_transform']:.3f} | {c['fit']:.3f} | {c['transform']:.3f} | "
            f"{c['inverse_transform']:.3f} |"
        )
    lines += [
        "",
        f"Encoded width: ours {report['encoded_width']['ours']}, "
        f"CTGAN {report['encoded_width']['ctgan']}.",
        "",
        "## Round trip (decode(encode(adult)) vs adult)",
        "",
        "| column | ours: dtype kept | ours: exact cells | CTGAN: dtype kept | "
        "CTGAN: exact cells | CTGAN: max abs error |",
        "|---|---|---:|---|---:|---:|",
    ]
    rt_o, rt_c = report["round_trip"]["ours"], report["round_trip"]["ctgan"]
    for name in rt_o:
        err = rt_c[name].get("max_abs_error")
        lines.append(
            f"| {name} | {rt_o[name]['dtype_kept']} | "
            f"{rt_o[name]['exact_share']:.4f} | "
            f"{rt_c[name]['dtype_kept']} | {rt_c[name]['exact_share']:.4f} | "
            f"{'' if err is None else f'{err:.3g}'} |"
        )
    quality = report["mixture_quality"]
    lines += [
        "",
        "## Mixture quality and the cost of subsampling",
        "",
        "Per continuous column: mean log-likelihood of all 32,561 values under the "
        "kept modes (higher is better) and the Kolmogorov-Smirnov distance between "
        "the column and an equally large sample of the mixture, clipped to the "
        "column's bounds and rounded to integers as the decoder does (lower is "
        "better). "
        "`rdt` is scikit-learn's BayesianGaussianMixture on all rows (as fitted by "
        "CTGAN's DataTransformer above); `ours/N` is the batched variational fit on a "
        "random subsample of N rows per column (`gmm_max_samples=N`), averaged over "
        "3 subsample seeds. The default `gmm_max_samples=50_000` fits Adult on all "
        "rows (`ours/all`). Adult's columns are integers, so log-likelihoods are "
        "dominated by narrow modes on repeated values and are not comparable across "
        "columns. The mode counts of ours include modes below the weight threshold "
        "that are kept because some values would otherwise be clipped (CTGAN clips "
        "them; see the round-trip table): `kept (of which for coverage)`. The large "
        "KS distances of capital-gain and capital-loss, in both fits, come from "
        "their zero spike (92 % and 95 % of rows): the prior inflates that mode's "
        "variance, so a sample of the mixture spreads around 0. A generator does "
        "not sample the mixture: it outputs the mode and the normalised value, which "
        "for the spike is one constant.",
        "",
    ]
    names = list(quality["rdt_sklearn_full"])
    header = "| fit | all-columns fit (s) | " + " | ".join(names) + " |"
    lines += [
        "Mean log-likelihood (number of kept modes):",
        "",
        header,
        "|---|---:|" + "---:|" * len(names),
    ]
    rdt = quality["rdt_sklearn_full"]
    lines.append(
        "| rdt (sklearn, all rows) | (in ctgan fit) | "
        + " | ".join(
            f"{rdt[n]['mean_loglik']:.3f} ({rdt[n]['n_modes']})" for n in names
        )
        + " |"
    )
    for key, entry in quality["ours"].items():
        cols = entry["columns"]
        lines.append(
            f"| ours/{key} | {entry['median_fit_seconds_all_columns']:.2f} | "
            + " | ".join(
                f"{cols[n]['mean_loglik']:.3f} ({cols[n]['n_modes']:.1f} of which "
                f"{cols[n]['n_modes_for_coverage']:.1f})"
                for n in names
            )
            + " |"
        )
    lines += ["", "KS distance:", "", header, "|---|---:|" + "---:|" * len(names)]
    lines.append(
        "| rdt (sklearn, all rows) | | "
        + " | ".join(f"{rdt[n]['ks']:.4f}" for n in names)
        + " |"
    )
    for key, entry in quality["ours"].items():
        cols = entry["columns"]
        lines.append(
            f"| ours/{key} | {entry['median_fit_seconds_all_columns']:.2f} | "
            + " | ".join(f"{cols[n]['ks']:.4f}" for n in names)
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--output-dir", type=Path, default=ROOT / "benchmarks" / "results"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    df, source = load_adult(args.data)
    discrete = [c for c in df.columns if df[c].dtype == object]
    numeric = [c for c in df.columns if c not in discrete]
    load_before = [round(v, 2) for v in os.getloadavg()]

    times = {"ours": [], "ctgan": []}
    for repeat in range(args.repeats):
        np.random.seed(repeat)  # rdt draws modes from the global numpy generator
        encoder, Z_ours, decoded_ours, t_ours = run_ours(df, random_state=repeat)
        transformer, Z_ctgan, decoded_ctgan, t_ctgan = run_ctgan(df, discrete)
        for name, t in (("ours", t_ours), ("ctgan", t_ctgan)):
            t["total"] = t["fit"] + t["transform"] + t["inverse_transform"]
            times[name].append(t)
        print(
            f"repeat {repeat}: ours {t_ours['total']:.2f}s "
            f"({', '.join(f'{k} {v:.2f}' for k, v in t_ours.items())}); "
            f"ctgan {t_ctgan['total']:.2f}s "
            f"({', '.join(f'{k} {v:.2f}' for k, v in t_ctgan.items())})",
            flush=True,
        )
    medians = {
        name: {
            phase: statistics.median(t[phase] for t in runs)
            for phase in ("fit", "transform", "inverse_transform", "total")
        }
        for name, runs in times.items()
    }
    print("measuring mixture quality…", flush=True)
    quality = quality_study(df, numeric, transformer)
    load_after = [round(v, 2) for v in os.getloadavg()]

    report = {
        "command": " ".join([sys.executable, *sys.argv]),
        "data": {
            "source": source,
            "rows": int(df.shape[0]),
            "columns": int(df.shape[1]),
            "discrete_columns": discrete,
        },
        "machine": machine(),
        "versions": versions(),
        "load_average": {"before": load_before, "after": load_after},
        "repeats": args.repeats,
        "ours_params": TabularEncoder(continuous="mode_specific").get_params(),
        "repeat_seconds": times,
        "median_seconds": medians,
        "speedup_total": medians["ctgan"]["total"] / medians["ours"]["total"],
        "speedup_by_phase": {
            phase: medians["ctgan"][phase] / medians["ours"][phase]
            for phase in ("fit", "transform", "inverse_transform")
        },
        "encoded_width": {"ours": int(Z_ours.shape[1]), "ctgan": int(Z_ctgan.shape[1])},
        "round_trip": {
            "ours": round_trip_report(df, decoded_ours),
            "ctgan": round_trip_report(df, decoded_ctgan),
        },
        "mixture_quality": quality,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "encoder.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "encoder.md").write_text(markdown(report))
    print(f"speed-up {report['speedup_total']:.1f}x; wrote {args.output_dir}/encoder.*")
    return report


if __name__ == "__main__":
    main()
