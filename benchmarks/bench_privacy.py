"""The price of privacy: TVAE and CTGAN trained with differential privacy on Adult.

Protocol (issue 10, DESIGN.md §4). Adult (``../shared/datasets/adult.csv``) is split
80/20 with ``train_test_split(test_size=0.2, random_state=seed)``; each model is
fitted on the 80 % and samples as many rows; every metric compares the sample with
the real 20 % (``sklearn_gen.metrics.evaluate_synthetic``):

- fidelity: SDMetrics Column Shapes and Column Pair Trends (all pairs), reported as
  errors ``1 - score`` in %;
- utility: TSTR, a gradient-boosting classifier trained on the synthetic rows, ROC
  AUC for ``income`` on the real 20 %, beside the same model trained on the real 80 %
  (TRTR);
- privacy risk: the membership-inference attack's ROC AUC (distance to the nearest
  synthetic row; 0.5 is ideal) and the DCR share (50 % is ideal).

Models, all with ``batch_size=500`` and the same number of epochs:

- ``TVAE`` at epsilon = 1, 3, 10 (``DPConfig(epsilon)``: delta = 1 / (10 n),
  clipping norm 1, the noise multiplier derived from epsilon and the epochs) and
  non-private (epsilon = inf);
- ``CTGAN`` the same, with ``pac=1`` (private training needs it), plus the
  non-private default ``CTGAN`` with ``pac=10`` (SDV's default) as a second
  reference: the difference between the two non-private rows is the cost of
  ``pac=1`` alone.

Run::

    python benchmarks/bench_privacy.py --quick   # ~3 min on 2 shared cores
    python benchmarks/bench_privacy.py           # full: 3 seeds, 50 epochs, whole Adult

The full run costs about an hour per seed on 2 busy cores (CTGAN: ~11 s per epoch
on the 26,048 training rows, private or not; TVAE ~2-3 s); ``--seeds 0`` or
``--epochs 30`` shorten it.

Writes benchmarks/results/privacy[_quick].{json,md,png}; the JSON holds every raw
number, the command and the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

import sklearn_gen
from sklearn_gen import CTGANGenerator, DPConfig, TVAEGenerator
from sklearn_gen.metrics import evaluate_synthetic, ml_efficacy_score

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATASETS = HERE.parents[1] / "shared" / "datasets"
TARGET = "income"
EPSILONS = (1.0, 3.0, 10.0, math.inf)
METRICS = [
    "column_shapes",
    "column_pair_trends",
    "ml_efficacy",
    "membership_inference",
    "dcr_share",
]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_adult():
    path = DATASETS / "adult.csv"
    if path.exists():
        return pd.read_csv(path)
    return sklearn_gen.datasets.load_adult()


def configurations(epochs, batch_size):
    """(model, epsilon, label, estimator) for every run of one seed."""
    out = []
    for epsilon in EPSILONS:
        privacy = None if math.isinf(epsilon) else DPConfig(epsilon=epsilon)
        out.append(
            (
                "TVAE",
                epsilon,
                "TVAE",
                TVAEGenerator(
                    epochs=epochs, batch_size=batch_size, device="cpu", privacy=privacy
                ),
            )
        )
        out.append(
            (
                "CTGAN",
                epsilon,
                "CTGAN (pac=1)",
                CTGANGenerator(
                    epochs=epochs,
                    batch_size=batch_size,
                    pac=1,
                    device="cpu",
                    privacy=privacy,
                ),
            )
        )
    out.append(
        (
            "CTGAN",
            math.inf,
            "CTGAN (pac=10, default)",
            CTGANGenerator(epochs=epochs, batch_size=batch_size, device="cpu"),
        )
    )
    return out


def run_one(label, model, epsilon, gen, train, test, seed):
    gen.set_params(random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen.fit(train)
    fit_seconds = time.perf_counter() - start
    synthetic = gen.sample(len(train), random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = evaluate_synthetic(
            test,
            synthetic,
            train=train,
            target=TARGET,
            metrics=METRICS,
            schema=[s for s in gen.encoder_.schema_],
            random_state=seed,
            max_rows=10_000,
        )
    spent = getattr(gen, "privacy_spent_", None)
    net = gen.net_
    record = dict(
        model=model,
        label=label,
        epsilon=None if math.isinf(epsilon) else epsilon,
        seed=seed,
        fit_seconds=fit_seconds,
        epochs_trained=int(gen.n_iter_),
        epsilon_spent=None if spent is None else spent[0],
        delta=None if spent is None else spent[1],
        noise_multiplier=getattr(net, "noise_multiplier_", None),
        sample_rate=getattr(net, "sample_rate_", None),
        **{name: float(scores[name]) for name in METRICS},
    )
    log(
        f"  {label:24s} eps={'inf' if record['epsilon'] is None else epsilon:>4} "
        f"spent={record['epsilon_spent']} shapes={record['column_shapes']:.3f} "
        f"pairs={record['column_pair_trends']:.3f} tstr={record['ml_efficacy']:.3f} "
        f"mia={record['membership_inference']:.3f} fit={fit_seconds:.0f}s"
    )
    return record


def summarise(records):
    df = pd.DataFrame(records)
    df["epsilon"] = df["epsilon"].fillna(math.inf)
    df["shapes_error_pct"] = 100 * (1 - df["column_shapes"])
    df["pairs_error_pct"] = 100 * (1 - df["column_pair_trends"])
    df["dcr_share_pct"] = 100 * df["dcr_share"]
    columns = {
        "shapes_error_pct": "shapes_error_pct",
        "pairs_error_pct": "pairs_error_pct",
        "tstr_auc": "ml_efficacy",
        "mia_auc": "membership_inference",
        "dcr_share_pct": "dcr_share_pct",
        "fit_seconds": "fit_seconds",
        "epsilon_spent": "epsilon_spent",
        "noise_multiplier": "noise_multiplier",
    }
    agg = {}
    for name, source in columns.items():
        agg[f"{name}_mean"] = (source, "mean")
        agg[f"{name}_std"] = (source, "std")
    out = df.groupby(["model", "label", "epsilon"], sort=False).agg(**agg).reset_index()
    return out


def _records(frame):
    """Rows as dicts, with inf (epsilon) and NaN (std of one seed) as None."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append(
            {
                k: None if isinstance(v, float) and not math.isfinite(v) else v
                for k, v in row.items()
            }
        )
    return out


def _fmt(mean, std, digits):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def to_markdown(summary, meta):
    lines = [
        "# The price of privacy: DP-SGD TVAE and CTGAN on Adult",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}  ",
        f"Rows: {meta['train_rows']} training / {meta['test_rows']} test "
        f"(80/20 split per seed{', subsampled' if meta['subsampled'] else ''}); "
        f"seeds {meta['seeds']}; {meta['epochs']} epochs, batch size "
        f"{meta['batch_size']}; wall time {meta['wall_seconds']:.0f} s.",
        "",
        "Private runs: `DPConfig(epsilon)` (delta = 1/(10 n), clipping norm 1, noise "
        "multiplier derived by Opacus from epsilon, the sampling rate batch/n and the "
        "number of steps). Errors are `1 - score` of SDMetrics Column Shapes and "
        "Column Pair Trends (all pairs) against the real 20 %; TSTR is the ROC AUC "
        "on the real 20 % of a gradient-boosting classifier trained on the synthetic rows "
        f"(trained on the real 80 %: {meta['trtr_auc']}). MIA is the ROC AUC of the "
        "distance-to-synthetic membership attack (0.5 ideal). Mean ± std over seeds.",
        "",
        "| model | epsilon | spent (ε) | noise σ | shapes error % "
        "| pair trends error % | TSTR AUC | MIA AUC | DCR share % | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        epsilon = "∞" if math.isinf(row["epsilon"]) else f"{row['epsilon']:g}"
        lines.append(
            f"| {row['label']} | {epsilon} | "
            f"{_fmt(row['epsilon_spent_mean'], None, 2)} | "
            f"{_fmt(row['noise_multiplier_mean'], None, 2)} | "
            f"{_fmt(row['shapes_error_pct_mean'], row['shapes_error_pct_std'], 1)} | "
            f"{_fmt(row['pairs_error_pct_mean'], row['pairs_error_pct_std'], 1)} | "
            f"{_fmt(row['tstr_auc_mean'], row['tstr_auc_std'], 3)} | "
            f"{_fmt(row['mia_auc_mean'], row['mia_auc_std'], 3)} | "
            f"{_fmt(row['dcr_share_pct_mean'], row['dcr_share_pct_std'], 1)} | "
            f"{row['fit_seconds_mean']:.0f} |"
        )
    lines += [
        "",
        "What the guarantee covers: the network weights given the fitted encoder "
        "(categories, bounds and mixture modes are computed from the data without "
        "noise) and, for CTGAN, given the per-category counts; see docs/privacy.rst.",
    ]
    return "\n".join(lines) + "\n"


def plot(summary, trtr_auc, path):
    try:
        import matplotlib
    except ImportError:
        print(f"matplotlib is not installed: {path.name} not written.", flush=True)
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("shapes_error_pct", "Column shapes error %"),
        ("pairs_error_pct", "Column pair trends error %"),
        ("tstr_auc", "TSTR ROC AUC"),
        ("mia_auc", "Membership attack AUC"),
    ]
    finite = sorted(e for e in summary["epsilon"].unique() if not math.isinf(e))
    positions = {e: i for i, e in enumerate(finite)}
    positions[math.inf] = len(finite)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, (key, title) in zip(axes, panels):
        for label, group in summary.groupby("label", sort=False):
            x = [positions[e] for e in group["epsilon"]]
            style = "o-" if len(group) > 1 else "s"
            ax.errorbar(
                x,
                group[f"{key}_mean"],
                yerr=group[f"{key}_std"].fillna(0),
                fmt=style,
                capsize=3,
                label=label,
            )
        if key == "tstr_auc" and trtr_auc is not None:
            ax.axhline(trtr_auc, color="grey", ls="--", lw=1, label="train on real")
        if key == "mia_auc":
            ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.set_xticks(range(len(finite) + 1))
        ax.set_xticklabels([f"{e:g}" for e in finite] + ["∞"])
        ax.set_xlabel("epsilon")
        ax.set_title(title)
    axes[2].legend(fontsize=7)
    fig.suptitle("Adult: fidelity and utility against the privacy budget")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, ~5 min")
    parser.add_argument("--seeds", type=int, nargs="*", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--rows", type=int, default=None, help="training rows (None: the whole 80 %%)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    quick = args.quick
    suffix = "_quick" if quick else ""
    seeds = args.seeds if args.seeds is not None else ([0] if quick else [0, 1, 2])
    epochs = args.epochs or (10 if quick else 50)
    rows = args.rows or (4000 if quick else None)
    adult = load_adult()
    start = time.perf_counter()
    records, trtr = [], []
    for seed in seeds:
        train, test = train_test_split(adult, test_size=0.2, random_state=seed)
        if rows is not None and rows < len(train):
            train = train.sample(rows, random_state=seed)
            test = test.sample(min(len(test), max(rows // 4, 1000)), random_state=seed)
        train, test = train.reset_index(drop=True), test.reset_index(drop=True)
        trtr.append(ml_efficacy_score(test, train, target=TARGET, random_state=seed))
        log(f"seed {seed}: {len(train)} training rows, TRTR AUC {trtr[-1]:.3f}")
        for model, epsilon, label, gen in configurations(epochs, args.batch_size):
            records.append(run_one(label, model, epsilon, gen, train, test, seed))
    wall = time.perf_counter() - start
    summary = summarise(records)
    trtr_auc = float(np.mean(trtr))
    command = "python benchmarks/" + " ".join(
        [Path(__file__).name] + (sys.argv[1:] if argv is None else list(argv))
    )
    meta = {
        "command": command,
        "machine": (
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"torch {torch.__version__} with 1 thread, no GPU used, Python "
            f"{platform.python_version()}, sklearn_gen {sklearn_gen.__version__}, "
            f"opacus {__import__('opacus').__version__}; load average at the end "
            f"{os.getloadavg()[0]:.1f}"
        ),
        "seeds": seeds,
        "epochs": epochs,
        "batch_size": args.batch_size,
        "train_rows": len(train),
        "test_rows": len(test),
        "subsampled": rows is not None,
        "trtr_auc": f"{trtr_auc:.3f}",
        "wall_seconds": wall,
    }
    RESULTS.mkdir(exist_ok=True)
    payload = {
        **meta,
        "trtr_auc_per_seed": trtr,
        "summary": _records(summary),
        "records": records,
    }
    (RESULTS / f"privacy{suffix}.json").write_text(json.dumps(payload, indent=1))
    markdown = to_markdown(summary, meta)
    (RESULTS / f"privacy{suffix}.md").write_text(markdown)
    plot(summary, trtr_auc, RESULTS / f"privacy{suffix}.png")
    print(markdown)


if __name__ == "__main__":
    main()
