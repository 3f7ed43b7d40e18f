"""What fewer reverse steps cost: fidelity and speed of a diffusion model's sampler.

Run from the repository root::

    python benchmarks/bench_sample_steps.py --model tabddpm --fit-target --seeds 0 1 2 --jobs 2
    python benchmarks/bench_sample_steps.py --model latent_diffusion --seeds 0 1 2 --jobs 2 \\
        --out benchmarks/results/sample_steps_latent_diffusion
    python benchmarks/bench_sample_steps.py --model tabddpm --dataset iris --seeds 0 \\
        --set epochs=5 --grid sample_steps=2 sample_steps=None --out /tmp/steps  # quick

Both diffusion generators read their sampling parameters (``sample_steps``, and
TabDDPM's ``eta``) when they sample, so for each seed this fits one model (defaults,
plus ``--set``; ``--fit-target`` fits ``fit(X, y)`` with the dataset's target, as the
suite's ``--fit-target``) on the suite's 80 % split of ``--dataset``, then for each
``--grid`` point sets those parameters, draws as many rows as the split has (with the
seed as ``random_state``) and scores them with the suite's metrics against the held-out
20 % and the 80 %. Every row of the table therefore comes from the same trained
networks; the rows differ only in the sampler. Sampling time is wall time with one
torch thread. Results go to ``--out`` + ``.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (  # noqa: E402
    METRIC_COLUMNS, RESULTS, fmt, log, machine_info, md_table, mean_std, metric_cell,
    parse_assignments, report_header, write_result,
)


#: Each model's default grid: one dict of sampling parameters per row.
GRIDS = {
    "tabddpm": [
        "sample_steps=10", "sample_steps=25", "sample_steps=50", "sample_steps=100",
        "sample_steps=250", "sample_steps=None",
        "sample_steps=100,eta=0.0", "sample_steps=100,eta=1.0",
        "sample_steps=None,eta=1.0",
    ],
    "latent_diffusion": [
        "sample_steps=5", "sample_steps=10", "sample_steps=25", "sample_steps=50",
        "sample_steps=100",
    ],
}

#: The parameters a grid point may set: the ones the generators read at sampling.
SAMPLING_PARAMS = {"tabddpm": ("sample_steps", "eta"),
                   "latent_diffusion": ("sample_steps",)}


def parse_grid(model, items):
    """``["sample_steps=100,eta=0.0"]`` -> ``[{"sample_steps": 100, "eta": 0.0}]``."""
    grid = []
    for item in items:
        point = parse_assignments(item.split(","), what="--grid")
        unknown = set(point) - set(SAMPLING_PARAMS[model])
        if unknown:
            raise SystemExit(
                f"--grid sets {sorted(unknown)}, which {model} does not read when "
                f"sampling; use {list(SAMPLING_PARAMS[model])} (fit parameters go "
                "to --set)")
        grid.append(point)
    return grid


def point_label(point, defaults):
    """A grid point, filled in with the defaults, as text: ``sample_steps=100, eta=0.5``."""
    full = {**defaults, **point}
    return ", ".join(f"{k}={full[k]}" for k in defaults)


def run_seed(model_name, dataset_name, seed, params, grid, fit_target, threads, max_rows):
    """Fit one generator, then sample and score it once per grid point."""
    import torch

    from benchmarks.suite import DATASETS, align, evaluate, fit_model, split

    if threads:
        torch.set_num_threads(threads)
    dataset = DATASETS[dataset_name]
    train, holdout = split(dataset.frame(), dataset, seed, max_rows=max_rows)
    target = dataset.target if fit_target else None
    t0 = time.perf_counter()
    sample = fit_model(model_name, train, params, seed=seed, device="cpu", target=target)
    fit_seconds = time.perf_counter() - t0
    model = sample.model
    fitted = {k: model.get_params()[k] for k in SAMPLING_PARAMS[model_name]}
    record = {
        "seed": seed, "fit_seconds": fit_seconds, "n_rows": len(train),
        "n_timesteps": getattr(model, "n_timesteps", None),
        "real": evaluate(train, train, holdout, dataset, seed, reference=True),
        "points": [],
    }
    for point in grid:
        model.set_params(**{**fitted, **point})
        t0 = time.perf_counter()
        synthetic = sample(len(train))
        seconds = time.perf_counter() - t0
        metrics = evaluate(align(synthetic, train), train, holdout, dataset, seed)
        record["points"].append(
            {"params": point, "sample_seconds": seconds, "metrics": metrics})
        log(f"seed {seed} {point}: {seconds:.1f} s, shapes "
            f"{1 - metrics['column_shapes']:.2%}, trends "
            f"{1 - metrics['column_pair_trends']:.2%}, detection "
            f"{metrics['detection']:.3f}")
    return record


def markdown(result):
    """The Markdown report of a result."""
    records = result["records"]
    defaults = result["sampling_defaults"]
    n_timesteps = records[0].get("n_timesteps")
    header = ["Sampler", "Reverse steps", *[c[0] for c in METRIC_COLUMNS],
              "Sample s per 10k rows", "Speed-up"]
    # The speed-up is against the slowest row: all steps where the grid has them.
    per_10k = [mean_std([1e4 * r["points"][i]["sample_seconds"] / r["n_rows"]
                         for r in records]) for i in range(len(result["grid"]))]
    slowest = max(s["mean"] for s in per_10k)
    rows = [["Real 80 % (reference)", "—",
             *[metric_cell([r["real"] for r in records], key, err, d)
               for _, key, err, d in METRIC_COLUMNS], "—", "—"]]
    for i, point in enumerate(result["grid"]):
        steps = {**defaults, **point}["sample_steps"]
        if steps is None or (n_timesteps and steps >= n_timesteps):
            steps = f"all ({n_timesteps})" if n_timesteps else "all"
        rows.append([
            point_label(point, defaults), steps,
            *[metric_cell([r["points"][i]["metrics"] for r in records], key, err, d)
              for _, key, err, d in METRIC_COLUMNS],
            fmt(per_10k[i], 1), f"{slowest / per_10k[i]['mean']:.1f}×",
        ])
    fit = mean_std([r["fit_seconds"] for r in records])
    params = ", ".join(f"{k}={v}" for k, v in result["params"].items()) or "defaults"
    how = "fit(X, y) with the target" if result["fit_target"] else "fit(X)"
    return "\n".join([
        *report_header(f"Sampling steps of {result['model_class']}: {result['dataset']}",
                       result),
        f"{result['model_class']} ({params}; {how}) fitted once per seed on the suite's 80 % "
        f"split (seeds {', '.join(str(r['seed']) for r in records)}; fit {fmt(fit, 0)} s "
        "each, one torch thread), then sampled with each row's parameters (the others "
        f"at their defaults: {point_label({}, defaults)}). Metrics as in the suite "
        "(errors are `1 - score` in %, mean ± std over seeds; against the held-out 20 % "
        "unless marked vs train). Speed-up is against the slowest row.",
        "",
        md_table(header, rows),
        "",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tabddpm", choices=sorted(GRIDS))
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--jobs", type=int, default=1, help="seeds fitted at once")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--fit-target", action="store_true",
                        help="fit(X, y) with the dataset's target (classification)")
    parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                        help="a constructor parameter of the model (repeatable)")
    parser.add_argument("--grid", nargs="+", default=None, metavar="P=V[,P=V]",
                        help="sampling parameters of each row (default: the model's grid)")
    parser.add_argument("--out", default=None,
                        help="path without suffix (default: results/sample_steps_MODEL)")
    args = parser.parse_args(argv)

    import torch
    from joblib import Parallel, delayed

    import sklearn_gen
    from benchmarks.suite import DATASETS, OURS

    torch.set_num_threads(args.threads)  # recorded in the machine line
    if args.dataset not in DATASETS:
        raise SystemExit(f"--dataset must be one of {sorted(DATASETS)}, "
                         f"got {args.dataset!r}")
    if args.fit_target and DATASETS[args.dataset].task != "classification":
        raise SystemExit(f"--fit-target needs a classification dataset; "
                         f"{args.dataset!r} is a regression table")
    params = parse_assignments(args.set)
    grid = parse_grid(args.model, args.grid or GRIDS[args.model])
    defaults = getattr(sklearn_gen, OURS[args.model])().get_params()
    out = args.out or str(RESULTS / f"sample_steps_{args.model}")
    argv = sys.argv[1:] if argv is None else argv
    result = {
        "commands": ["python benchmarks/bench_sample_steps.py " + shlex.join(argv)],
        "machine": machine_info(), "model": args.model, "dataset": args.dataset,
        "params": params, "fit_target": args.fit_target, "grid": grid,
        "model_class": OURS[args.model],
        "sampling_defaults": {k: params.get(k, defaults[k])
                              for k in SAMPLING_PARAMS[args.model]},
    }
    result["records"] = Parallel(n_jobs=args.jobs)(
        delayed(run_seed)(args.model, args.dataset, seed, params, grid,
                          args.fit_target, args.threads, args.max_rows)
        for seed in args.seeds
    )
    write_result(out, result, markdown)
    log(f"wrote {out}.json and {out}.md")
    return result


if __name__ == "__main__":
    main()
