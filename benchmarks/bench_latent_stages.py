"""Which stage of LatentDiffusionGenerator limits its fidelity: the VAE or the diffusion?

Run from the repository root::

    python benchmarks/bench_latent_stages.py --seeds 0 1 2 --jobs 2
    python benchmarks/bench_latent_stages.py --dataset iris --seeds 0 \\
        --set vae_epochs=2 --set epochs=4 --out /tmp/stages      # a quick check

LatentDiffusionGenerator (TabSyn) samples in two stages: its diffusion model draws
a latent, and its VAE decodes it. A sample can only be as faithful as the VAE's
decoding of *real* latents, so for each seed this fits the generator (defaults,
plus ``--set``) on the suite's 80 % split of ``--dataset`` and scores, with the
suite's metrics against the held-out 20 % (and, for the "vs train" columns, the 80 %):

- **VAE round trip**: ``inverse_transform(transform(train))``, the training rows
  decoded from their posterior-mean latents. Its error is the VAE's share.
- **Sample**: ``sample(len(train))``, as in the suite. What it loses beyond the round
  trip is the diffusion model's share (its latents are not the real ones).

The real 80 % is the reference row, as in the suite. Results go to ``--out`` +
``.json`` and ``.md``.
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


ROWS = {
    "real": "Real 80 % (reference)",
    "round_trip": "VAE round trip (decoded posterior means of the 80 %)",
    "sample": "Sample (diffusion, then decoding)",
}


def run_seed(dataset_name, seed, params, threads, max_rows):
    """Fit one generator and score its round trip and its sample."""
    import torch

    from benchmarks.suite import DATASETS, align, evaluate, split
    from sklearn_gen import LatentDiffusionGenerator

    if threads:
        torch.set_num_threads(threads)
    dataset = DATASETS[dataset_name]
    train, holdout = split(dataset.frame(), dataset, seed, max_rows=max_rows)
    t0 = time.perf_counter()
    model = LatentDiffusionGenerator(device="cpu", random_state=seed, **params)
    model.fit(train)
    fit_seconds = time.perf_counter() - t0
    vae = model.history_[model.history_[:, "stage"].count("vae") - 1]
    record = {
        "seed": seed, "fit_seconds": fit_seconds,
        "vae_reconstruction_loss": vae["train_reconstruction"], "vae_beta": vae["beta"],
        "metrics": {
            "real": evaluate(train, train, holdout, dataset, seed, reference=True),
        },
    }
    decoded = model.inverse_transform(model.transform(train))
    record["metrics"]["round_trip"] = evaluate(
        align(decoded, train), train, holdout, dataset, seed)
    sample = model.sample(len(train), random_state=seed)
    record["metrics"]["sample"] = evaluate(
        align(sample, train), train, holdout, dataset, seed)
    log(f"seed {seed}: fit {fit_seconds:.0f} s; " + "; ".join(
        f"{row} shapes {1 - m['column_shapes']:.2%}"
        for row, m in record["metrics"].items()))
    return record


def markdown(result):
    """The Markdown report of a result."""
    records = result["records"]
    rows = [
        [label, *[metric_cell([r["metrics"][row] for r in records], key, err, d)
                  for _, key, err, d in METRIC_COLUMNS]]
        for row, label in ROWS.items()
    ]
    fit = mean_std([r["fit_seconds"] for r in records])
    params = ", ".join(f"{k}={v}" for k, v in result["params"].items()) or "defaults"
    return "\n".join([
        *report_header(f"LatentDiffusionGenerator stage by stage: {result['dataset']}", result),
        f"LatentDiffusionGenerator ({params}) fitted on the suite's 80 % split "
        f"(seeds {', '.join(str(r['seed']) for r in records)}; fit "
        f"{fmt(fit, 0)} s each, one torch thread). The round trip decodes the "
        "training rows' own posterior-mean latents: its error is what the VAE "
        "loses; the sample's error beyond it is what the diffusion model loses. "
        "Metrics as in the suite (errors are `1 - score` in %, mean ± std over "
        "seeds; the round trip's DCR share is above 50 % because its rows are "
        "near copies of training rows).",
        "",
        md_table(["Rows", *[c[0] for c in METRIC_COLUMNS]], rows),
        "",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--jobs", type=int, default=1, help="seeds fitted at once")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                        help="a LatentDiffusionGenerator parameter (repeatable)")
    parser.add_argument("--out", default=str(RESULTS / "latent_stages"))
    args = parser.parse_args(argv)

    import torch
    from joblib import Parallel, delayed

    from benchmarks.suite import DATASETS

    torch.set_num_threads(args.threads)  # recorded in the machine line

    if args.dataset not in DATASETS:
        raise SystemExit(f"--dataset must be one of {sorted(DATASETS)}, "
                         f"got {args.dataset!r}")
    params = parse_assignments(args.set)
    argv = sys.argv[1:] if argv is None else argv
    result = {
        "commands": ["python benchmarks/bench_latent_stages.py " + shlex.join(argv)],
        "machine": machine_info(), "dataset": args.dataset, "params": params,
    }
    result["records"] = Parallel(n_jobs=args.jobs)(
        delayed(run_seed)(args.dataset, seed, params, args.threads, args.max_rows)
        for seed in args.seeds
    )
    write_result(args.out, result, markdown)
    log(f"wrote {args.out}.json and {args.out}.md")
    return result


if __name__ == "__main__":
    main()
