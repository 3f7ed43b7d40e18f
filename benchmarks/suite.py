"""The benchmark suite: every generator and its peers, one protocol, every dataset.

Protocol (DESIGN.md section 4), per dataset and seed: split the real table 80/20
(``train_test_split(random_state=seed)``, stratified on a class target), fit each
model on the 80 %, sample as many rows as the 80 % has, and measure the synthetic
table against the real 20 % with :func:`sklearn_gen.metrics.evaluate_synthetic`:

* fidelity: SDMetrics Column Shapes and Column Pair Trends as errors ``1 - score``
  in % (trends over *all* column pairs, as the TabDDPM/TabSyn papers compute them,
  and with SDMetrics' default real-correlation thresholds); SDMetrics
  LogisticDetection and the gradient-boosting detection score (1 is perfect);
  Column Shapes and all-pairs Trends also against the real 80 % the model was
  fitted on ("vs train", the TabSyn paper's reference), where a perfect model
  scores 0 while against the 20 % even real rows score the holdout's noise;
* utility: TSTR — a gradient-boosting model trained on synthetic rows, scored on
  the real 20 % (ROC AUC for a binary target, macro F1 for multi-class, R² for
  regression) beside the same model trained on the real 80 % (TRTR);
* privacy: the DCR share (synthetic rows nearer a training row than a held-out row;
  50 % is ideal) and the share of exact training-row copies;
* cost: fit wall seconds, CPU seconds, sampling rows/s, peak RSS, and the cores
  other processes used meanwhile (0 on a quiet machine).

The real 80 % itself is scored as a reference row: the noise floor of each metric.
Models see the whole table as ``fit(X)``; ``--fit-target MODEL ...`` fits those of
ours as ``fit(X, y)`` with the target column as ``y`` on the classification tables
(the label "fit(X, y)" marks their rows).

Run from the repository root in an environment with the ``bench`` extra
(``pip install -e ".[bench]"``; SDV's peers are skipped with a note without it)::

    python -m benchmarks run --quick                      # smoke run, a few minutes
    python -m benchmarks run --datasets adult wine --models tvae ctgan sdv_ctgan \\
        --seeds 0 1 2 --epochs 50
    python -m benchmarks report                            # rebuild the Markdown

Results go to ``benchmarks/results/<name>.json`` (every raw number, per seed, the
command and the machine) and ``<name>.md`` (one table per dataset), written after
every cell so that an interrupted run keeps what it measured; ``--resume`` skips the
cells already there.
"""

from __future__ import annotations

import ast
import gc
import json
import shlex
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._common import (
    REPO,
    RESULTS,
    OtherCPU,
    PeakRSS,
    fmt,
    log,
    machine_info,
    md_table,
    mean_std,
    report_header,
    tree_cpu_seconds,
    wait_for_quiet,
)

SHARED = REPO.parent / "shared" / "datasets"

# ------------------------------------------------------------------ datasets


@dataclass
class Dataset:
    """A benchmark table: how to load it and which column is the target."""

    name: str
    load: object
    target: str
    task: str  # "classification" or "regression"
    source: str
    categorical: list = field(default_factory=list)

    def frame(self):
        df = self.load()
        for column in self.categorical:
            # Integer-coded categories are categories (as in the TabSyn metadata):
            # strings, so every model and metric treats them as such.
            df[column] = df[column].astype(str)
        if self.task == "classification":
            df[self.target] = df[self.target].astype(str)
        return df


def _shared(filename, drop=(), parse_dates=()):
    def load():
        path = SHARED / filename
        if not path.exists():
            raise FileNotFoundError(f"{path} is not available")
        df = pd.read_csv(path)
        for column in parse_dates:
            df[column] = pd.to_datetime(df[column])
        return df.drop(columns=list(drop))

    return load


def _bundled(loader_name):
    def load():
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader_name)(as_frame=True)
        return bunch.frame.copy()

    return load


_CREDIT_CATEGORICAL = ["SEX", "EDUCATION", "MARRIAGE"] + [
    f"PAY_{i}" for i in (0, 2, 3, 4, 5, 6)
]

DATASETS = {
    d.name: d
    for d in [
        Dataset("adult", _shared("adult.csv"), "income", "classification",
                "../shared/datasets/adult.csv"),
        Dataset("credit_default",
                _shared("credit_default.csv", drop=("ID",)),
                "default payment next month", "classification",
                "../shared/datasets/credit_default.csv (ID dropped)",
                categorical=_CREDIT_CATEGORICAL),
        Dataset("bank_marketing", _shared("bank_marketing.csv"), "y",
                "classification", "../shared/datasets/bank_marketing.csv"),
        Dataset("california_housing", _shared("california_housing.csv"),
                "median_house_value", "regression",
                "../shared/datasets/california_housing.csv"),
        Dataset("nyc_taxis",
                _shared("nyc_taxis.csv", parse_dates=("pickup", "dropoff")),
                "total", "regression", "../shared/datasets/nyc_taxis.csv"),
        Dataset("breast_cancer", _bundled("load_breast_cancer"), "target",
                "classification", "sklearn.datasets.load_breast_cancer"),
        Dataset("wine", _bundled("load_wine"), "target", "classification",
                "sklearn.datasets.load_wine"),
        Dataset("diabetes", _bundled("load_diabetes"), "target", "regression",
                "sklearn.datasets.load_diabetes"),
        Dataset("iris", _bundled("load_iris"), "target", "classification",
                "sklearn.datasets.load_iris"),
    ]
}

# -------------------------------------------------------------------- models

#: Our generators: suite name -> class name in ``sklearn_gen``.
OURS = {
    "tvae": "TVAEGenerator",
    "ctgan": "CTGANGenerator",
    "tabddpm": "TabDDPMGenerator",
    "latent_diffusion": "LatentDiffusionGenerator",
    "transformer": "TransformerGenerator",
}
#: SDV's synthesizers: suite name -> class name in ``sdv.single_table``.
PEERS = {
    "sdv_gaussian_copula": "GaussianCopulaSynthesizer",
    "sdv_ctgan": "CTGANSynthesizer",
    "sdv_tvae": "TVAESynthesizer",
    "sdv_copulagan": "CopulaGANSynthesizer",
}
LABELS = {
    "real_train": "Real 80 % (reference)",
    **{k: f"sklearn_gen {v}" for k, v in OURS.items()},
    **{k: f"SDV {v}" for k, v in PEERS.items()},
}
#: Peers with an ``epochs`` parameter (``--epochs`` applies to them too).
_SDV_NEURAL = {"sdv_ctgan", "sdv_tvae", "sdv_copulagan"}


def model_params(name, args):
    """The constructor parameters of model ``name`` for this run."""
    params = {}
    if args.epochs is not None and (name in OURS or name in _SDV_NEURAL):
        params["epochs"] = int(args.epochs)
    params.update(args.overrides.get(name, {}))
    return params


def _seed_globals(seed):
    """SDV draws from the global RNGs: seed them before each of its calls."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fit_model(name, train, params, *, seed, device, target=None):
    """Fit model ``name`` on ``train``; return ``sample(n) -> DataFrame``.

    With ``target`` (ours only), the model is fitted as ``fit(X, y)`` with that
    column as ``y``; its samples still have every column. For ours, the fitted
    generator is the function's ``model`` attribute (to change sampling parameters).
    """
    if name in OURS:
        import sklearn_gen

        cls = getattr(sklearn_gen, OURS[name], None)
        if cls is None:
            raise ImportError(f"sklearn_gen has no {OURS[name]}")
        model = cls(**{"device": device, "random_state": seed, **params})
        if target is None:
            model.fit(train)

            def sample_ours(n):
                return model.sample(n, random_state=seed)
        else:
            model.fit(train.drop(columns=[target]), train[target])

            def sample_ours(n):
                X, y = model.sample(n, random_state=seed)  # fitted with y: (X, y)
                return X.assign(**{target: y.to_numpy()})

        sample_ours.model = model
        return sample_ours
    if name in PEERS:
        from sdv.metadata import Metadata
        from sdv import single_table

        metadata = Metadata.detect_from_dataframes({"table": train}, infer_keys=None)
        kwargs = dict(params)
        if name in _SDV_NEURAL:
            kwargs.setdefault("enable_gpu", device != "cpu")
        model = getattr(single_table, PEERS[name])(metadata, **kwargs)
        _seed_globals(seed)
        model.fit({"table": train})

        def sample(n):
            _seed_globals(seed)
            out = model.sample(n)
            if isinstance(out, dict):
                (out,) = out.values()
            return out

        return sample
    raise ValueError(f"Unknown model {name!r}; choose from {sorted(LABELS)}.")


def align(synthetic, like):
    """The real table's columns, order and kinds (SDV may return other dtypes)."""
    synthetic = synthetic[list(like.columns)].reset_index(drop=True).copy()
    for name in like.columns:
        kind = like[name].dtype
        if pd.api.types.is_datetime64_any_dtype(kind):
            synthetic[name] = pd.to_datetime(synthetic[name], errors="coerce")
        elif pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
            synthetic[name] = pd.to_numeric(synthetic[name], errors="coerce")
        elif not pd.api.types.is_bool_dtype(kind):
            synthetic[name] = synthetic[name].astype(object)
    return synthetic


# ------------------------------------------------------------------- metrics

METRICS = [
    "column_shapes", "column_pair_trends", "column_pair_trends_thresholded",
    "detection", "detection_gb", "ml_efficacy", "dcr_share", "exact_copy_rate",
]


#: Fidelity also scored against the training rows, as the TabDDPM / TabSyn papers
#: score it; against the held-out rows even the real 80 % has an error (the holdout's
#: own sampling noise), which hides differences below it.
VS_TRAIN = ["column_shapes", "column_pair_trends"]


def evaluate(synthetic, train, holdout, dataset, seed, *, reference=False):
    """The suite's metrics of ``synthetic`` against the held-out rows.

    Also ``<metric>_vs_train`` for the :data:`VS_TRAIN` metrics: scored against the
    training rows. For the reference row (``synthetic`` is the training table) that
    is the held-out 20 % scored against the 80 %: the error of a second real sample.
    """
    from sklearn_gen.metrics import evaluate_synthetic

    metrics = [m for m in METRICS if not (reference and m in ("dcr_share", "exact_copy_rate"))]
    scores = evaluate_synthetic(
        holdout, synthetic, train=None if reference else train,
        target=dataset.target, metrics=metrics, random_state=seed,
    )
    vs_train = evaluate_synthetic(
        train, holdout if reference else synthetic, metrics=VS_TRAIN, random_state=seed,
    )
    scores = {**scores, **{f"{k}_vs_train": v for k, v in vs_train.items()}}
    return {k: (None if pd.isna(v) else float(v)) for k, v in scores.items()}


def split(df, dataset, seed, max_rows=None):
    from sklearn.model_selection import train_test_split

    if max_rows is not None and len(df) > max_rows:
        df = df.sample(max_rows, random_state=seed)
    stratify = df[dataset.target] if dataset.task == "classification" else None
    train, holdout = train_test_split(
        df, test_size=0.2, random_state=seed, stratify=stratify
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


# ----------------------------------------------------------------------- run


def run_cell(model, dataset, train, holdout, params, *, seed, device, fit_target=False):
    """Fit, sample and score one (model, dataset, seed) cell.

    ``fit_target``: fit as ``fit(X, y)``, ``y`` the dataset's target column.
    """
    record = {"model": model, "dataset": dataset.name, "seed": seed, "params": params}
    if fit_target:
        record["fit_target"] = True
    if model == "real_train":
        record["metrics"] = evaluate(train, train, holdout, dataset, seed, reference=True)
        return record
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PeakRSS() as rss, OtherCPU() as other:
            cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
            sample = fit_model(
                model, train, params, seed=seed, device=device,
                target=dataset.target if fit_target else None,
            )
            fit_seconds = time.perf_counter() - t0
            fit_cpu = tree_cpu_seconds() - cpu0
        t0 = time.perf_counter()
        synthetic = sample(len(train))
        sample_seconds = time.perf_counter() - t0
    synthetic = align(synthetic, train)
    record["cost"] = {
        "fit_seconds": fit_seconds,
        "fit_cpu_seconds": fit_cpu,
        "sample_seconds": sample_seconds,
        "sample_rows_per_second": len(train) / max(sample_seconds, 1e-9),
        "fit_peak_rss_mib": rss.peak / 2**20,
        "other_cores_during_fit": other.cores,
    }
    t0 = time.perf_counter()
    record["metrics"] = evaluate(synthetic, train, holdout, dataset, seed)
    record["metrics_seconds"] = time.perf_counter() - t0
    return record


def _key(record):
    # A model fitted as fit(X, y) is another cell than the same model on fit(X).
    return (record["dataset"], record["model"], record["seed"],
            bool(record.get("fit_target")))


def run(args):
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    path = RESULTS / f"{args.name}.json"
    result = {"runs": []}
    if args.resume and path.exists():
        result = json.loads(path.read_text())
    done = {_key(r) for r in result["runs"] if "error" not in r}
    result["runs"] = [r for r in result["runs"] if _key(r) in done]
    commands = result.setdefault("commands", [])
    commands.append("python -m benchmarks " + shlex.join(args.argv))
    result["machine"] = machine_info()
    result["protocol"] = __doc__.split("Run from")[0].strip()
    result.setdefault("datasets", {})
    if args.wait_quiet:
        waited, cores = wait_for_quiet(args.wait_quiet)
        log(f"waited {waited:.0f} s for a quiet machine (others use {cores:.2f} cores)")
    for name in args.datasets:
        dataset = DATASETS[name]
        try:
            df = dataset.frame()
        except FileNotFoundError as exc:
            log(f"skip {name}: {exc}")
            continue
        result["datasets"][name] = {
            "rows": len(df), "columns": df.shape[1], "target": dataset.target,
            "task": dataset.task, "source": dataset.source, "max_rows": args.max_rows,
        }
        for seed in args.seeds:
            train, holdout = split(df, dataset, seed, args.max_rows)
            # Alternate the model order between seeds: no model always runs first.
            models = list(args.models) if seed % 2 == 0 else list(args.models)[::-1]
            for model in ["real_train", *models]:
                params = model_params(model, args)
                fit_target = model in args.fit_target and dataset.task == "classification"
                if (name, model, seed, fit_target) in done:
                    continue
                log(f"{name} seed {seed}: {model} {params}"
                    + (f" fit(X, y={dataset.target!r})" if fit_target else ""))
                try:
                    record = run_cell(
                        model, dataset, train, holdout, params, seed=seed,
                        device=args.device, fit_target=fit_target,
                    )
                except ImportError as exc:
                    log(f"  skipped: {exc}")
                    record = {"model": model, "dataset": name, "seed": seed,
                              "params": params, "error": f"not installed: {exc}"}
                except Exception as exc:  # a failing model must not end the run
                    traceback.print_exc()
                    record = {"model": model, "dataset": name, "seed": seed,
                              "params": params, "error": f"{type(exc).__name__}: {exc}"}
                else:
                    cost = record.get("cost", {})
                    log("  " + ", ".join(
                        f"{k}={v:.3f}" for k, v in record["metrics"].items() if v is not None
                    ) + (f", fit {cost['fit_seconds']:.1f} s" if cost else ""))
                result["runs"].append(record)
                write(result, args.name)
    write(result, args.name)
    return result


# -------------------------------------------------------------------- report

#: (column header, how to read it from a record, digits)
COLUMNS = [
    ("Shapes err %", lambda r: _err(r, "column_shapes"), 2),
    ("Trends err % (all pairs)", lambda r: _err(r, "column_pair_trends"), 2),
    ("Trends err % (SDMetrics default)", lambda r: _err(r, "column_pair_trends_thresholded"), 2),
    # Shown only in results that have them (runs since they were added).
    ("Shapes err % vs train", lambda r: _err(r, "column_shapes_vs_train"), 2),
    ("Trends err % (all pairs) vs train", lambda r: _err(r, "column_pair_trends_vs_train"), 2),
    ("LogisticDetection", lambda r: r["metrics"].get("detection"), 3),
    ("GB detection", lambda r: r["metrics"].get("detection_gb"), 3),
    ("TSTR", lambda r: r["metrics"].get("ml_efficacy"), 3),
    ("DCR share %", lambda r: _pct(r["metrics"].get("dcr_share")), 1),
    ("Exact copies %", lambda r: _pct(r["metrics"].get("exact_copy_rate")), 2),
    ("Fit s", lambda r: r.get("cost", {}).get("fit_seconds"), 1),
    ("Sample rows/s", lambda r: r.get("cost", {}).get("sample_rows_per_second"), 0),
    # Cores other processes used during the fit: 0 on a quiet machine; above 0.5
    # the fit time is inflated.
    ("Other cores", lambda r: r.get("cost", {}).get("other_cores_during_fit"), 1),
]


def _err(record, metric):
    value = record["metrics"].get(metric)
    return None if value is None else 100 * (1 - value)


def _pct(value):
    return None if value is None else 100 * value


def _model_order(models):
    order = ["real_train", *OURS, *PEERS]
    return sorted(set(models), key=lambda m: order.index(m) if m in order else 99)


def markdown(result, name):
    lines = [
        *report_header(f"Benchmark suite: `{name}`", result),
        "Protocol: split 80/20 (seeded, stratified for a class target), fit on the 80 %, "
        "sample as many rows, score against the real 20 %. Errors are `1 - score` in %; "
        "detection scores are SDMetrics-style (1 = indistinguishable); TSTR is ROC AUC "
        "(binary), macro F1 (multi-class) or R² (regression) of a gradient-boosting model "
        "trained on synthetic rows and tested on the real 20 % — the reference row is "
        "the same model trained on the real 80 %; DCR share: 50 % is ideal. "
        "Cells are mean ± std over seeds. Fit times are wall seconds on the machine "
        "above; compare models only within one table.",
    ]
    columns = [c for c in COLUMNS if "vs train" not in c[0]
               or any(c[1](r) is not None for r in result["runs"] if "metrics" in r)]
    if len(columns) == len(COLUMNS):
        lines[-1] += (
            " \"vs train\" columns score the synthetic rows against the real 80 % they "
            "were fitted on, as the TabDDPM and TabSyn papers do; there the reference row "
            "is the real 20 % against the 80 %.")
    for dataset, info in result.get("datasets", {}).items():
        runs = [r for r in result["runs"] if r["dataset"] == dataset]
        if not runs:
            continue
        seeds = sorted({r["seed"] for r in runs})
        lines += [
            "",
            f"## {dataset}",
            "",
            f"{info['source']}: {info['rows']:,} rows × {info['columns']} columns, "
            f"target `{info['target']}` ({info['task']})"
            + (f", subsampled to {info['max_rows']:,} rows" if info.get("max_rows")
               and info["max_rows"] < info["rows"] else "")
            + f"; seeds {', '.join(map(str, seeds))}.",
            "",
        ]
        rows, notes = [], []
        variants = [(model, fit_target)
                    for model in _model_order(r["model"] for r in runs)
                    for fit_target in (False, True)]
        for model, fit_target in variants:
            mine = [r for r in runs if r["model"] == model
                    and bool(r.get("fit_target")) == fit_target]
            if not mine:
                continue
            ok = [r for r in mine if "error" not in r]
            if not ok:
                notes.append(f"- {LABELS.get(model, model)}: {mine[0]['error']}")
                continue
            params = ok[0].get("params") or {}
            label = LABELS.get(model, model)
            shown = [f"{k}={v}" for k, v in params.items()]
            if ok[0].get("fit_target"):
                shown.append("fit(X, y)")
            if shown:
                label += " (" + ", ".join(shown) + ")"
            cells = [label]
            for _, read, digits in columns:
                stat = mean_std([read(r) for r in ok])
                # A metric added later can be missing from older seeds: say so.
                partial = 0 < stat["n"] < len(ok)
                cells.append(fmt(stat, digits) + (f" (n={stat['n']})" if partial else ""))
            rows.append(cells)
            if len(ok) < len(mine):
                notes.append(f"- {LABELS.get(model, model)}: {len(mine) - len(ok)} "
                             f"seed(s) failed: {[r for r in mine if 'error' in r][0]['error']}")
        lines.append(md_table(["Model", *[c[0] for c in columns]], rows))
        if notes:
            lines += ["", *notes]
    return "\n".join(lines) + "\n"


def merge(results):
    """One result from several (e.g. runs of different models in parallel).

    Cells are keyed by (dataset, model, seed); a later input's cell replaces an
    earlier one. Commands and datasets are united; the machine is the first's,
    with the commit of every input in ``git_commits`` (runs made at different
    commits must not be credited to one).
    """
    merged = {"runs": [], "commands": [], "datasets": {}}
    cells = {}
    commits = []
    for result in results:
        merged.setdefault("machine", dict(result["machine"]))
        machine = result["machine"]
        for commit in machine.get("git_commits") or [machine.get("git_commit")]:
            if commit and commit not in commits:
                commits.append(commit)
        merged.setdefault("protocol", result.get("protocol"))
        merged["commands"] += [c for c in result.get("commands", [])
                               if c not in merged["commands"]]
        merged["datasets"].update(result.get("datasets", {}))
        for record in result["runs"]:
            if _key(record) not in cells or "error" not in record:
                cells[_key(record)] = record
    merged["runs"] = list(cells.values())
    merged["machine"]["git_commits"] = commits
    return merged


def write(result, name):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))
    (RESULTS / f"{name}.md").write_text(markdown(result, name))


# ----------------------------------------------------------------------- CLI

QUICK = dict(
    datasets=["wine", "adult"], models=["tvae", "ctgan", "sdv_gaussian_copula"],
    seeds=[0], epochs=5, max_rows=3000,
)


def _parse_set(values):
    """``--set tvae.epochs=100`` -> ``{"tvae": {"epochs": 100}}``."""
    overrides = {}
    for item in values or []:
        try:
            key, value = item.split("=", 1)
            model, param = key.split(".", 1)
        except ValueError:
            raise SystemExit(f"--set expects MODEL.PARAM=VALUE, got {item!r}") from None
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass  # a bare string
        overrides.setdefault(model, {})[param] = value
    return overrides


def main(argv=None):
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the suite and write results/<name>.json|md")
    p.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=None)
    p.add_argument("--models", nargs="+", choices=sorted([*OURS, *PEERS]), default=None)
    p.add_argument("--seeds", nargs="+", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs of every neural model (default: each model's own)")
    p.add_argument("--set", dest="overrides", action="append", metavar="MODEL.PARAM=VALUE",
                   help="a constructor parameter of one model, e.g. tvae.batch_size=1000")
    p.add_argument("--fit-target", nargs="+", choices=sorted(OURS), default=[],
                   metavar="MODEL",
                   help="fit these models of ours as fit(X, y), y the target column, "
                        "on classification datasets (TabDDPM is then class-conditional)")
    p.add_argument("--max-rows", type=int, default=None,
                   help="subsample each dataset to this many rows before the split")
    p.add_argument("--device", default="cpu", help="device of the neural models (cpu, cuda)")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--name", default=None, help="results file name (default suite[_quick])")
    p.add_argument("--quick", action="store_true", help="a few-minute smoke run")
    p.add_argument("--resume", action="store_true", help="skip cells already in the results")
    p.add_argument("--wait-quiet", type=float, default=0,
                   help="wait up to this many seconds for other jobs to finish first")
    r = sub.add_parser("report", help="rebuild results/<name>.md from the JSON")
    r.add_argument("--name", default="suite")
    m = sub.add_parser("merge", help="merge the results of runs made in parallel")
    m.add_argument("inputs", nargs="+", help="result names to merge (results/<input>.json)")
    m.add_argument("--name", required=True, help="name of the merged results")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command == "merge":
        merged = merge([json.loads((RESULTS / f"{n}.json").read_text()) for n in args.inputs])
        merged["commands"].append("python -m benchmarks " + shlex.join(argv))
        write(merged, args.name)
        return 0
    if args.command == "report":
        result = json.loads((RESULTS / f"{args.name}.json").read_text())
        (RESULTS / f"{args.name}.md").write_text(markdown(result, args.name))
        return 0
    defaults = QUICK if args.quick else dict(
        datasets=sorted(DATASETS), models=[*OURS, *PEERS], seeds=[0, 1, 2],
        epochs=None, max_rows=None,
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.overrides = _parse_set(args.overrides)
    args.name = args.name or ("suite_quick" if args.quick else "suite")
    run(args)
    log(f"wrote {RESULTS / args.name}.json and .md")
    return 0
