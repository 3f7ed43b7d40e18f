"""Sampling speed of every generator of ours on the Adult table.

Run from the repository root::

    python benchmarks/bench_sampling.py --threads 1
    python benchmarks/bench_sampling.py --models transformer --rows 1000 \\
        --max-rows 2000 --repeats 1 --out /tmp/s        # a quick check

Sampling cost depends on the architecture and the table's encoding, not on how
long the weights were trained, so each model is fitted for a single epoch (for
LatentDiffusionGenerator, one VAE epoch and one diffusion epoch) at otherwise
default parameters on the Adult table (``../shared/datasets/adult.csv``, all 32,561
rows unless ``--max-rows``). Then, ``--repeats`` times, it times

- ``sample(n)`` for the model's ``n`` (``--rows``; the diffusion models default to
  10,000 rows because each row costs 50-100 denoiser passes on the CPU), and
- a conditional ``sample(n, conditions=...)`` on a rare category
  (``native-country=" Canada"``, 0.4 % of the rows) for the models whose
  conditioning is exact by construction (TabDDPM by inpainting in data space, the
  transformer by ordering; TVAE, CTGAN and LatentDiffusion keep the decoded rows
  that match, a cost that depends on training, not on sampling speed) and, for
  TransformerGenerator, on a numeric interval (``age`` in [60, 70]),

and reports the median rows/s, the seconds 100,000 rows take at that rate, and the
cores other processes used meanwhile (0 = a quiet machine; see
``benchmarks._common.OtherCPU``). Results go to ``--out`` + ``.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    RESULTS, OtherCPU, log, machine_info, md_table, report_header, wait_for_quiet,
    write_result,
)


#: Suite name -> (class, single-epoch parameters, default rows to sample, the
#: CONDITIONS it is timed on). Only conditions a model meets by construction are
#: timed: TVAEGenerator rejection-samples, and CTGANGenerator (conditional vector)
#: and LatentDiffusionGenerator (latent inpainting) steer the model and then reject
#: decoded rows that missed, a cost that depends on how well the model was trained,
#: not on its sampling speed (``ctgan_adult.md`` times CTGAN's conditional sampling
#: after real training). Only TransformerGenerator meets a numeric interval exactly.
MODELS = {
    "tvae": ("TVAEGenerator", {"epochs": 1}, 100_000, ()),
    "ctgan": ("CTGANGenerator", {"epochs": 1}, 100_000, ()),
    "transformer": ("TransformerGenerator", {"epochs": 1}, 100_000,
                    ("rare category", "numeric interval")),
    "tabddpm": ("TabDDPMGenerator", {"epochs": 1}, 10_000, ("rare category",)),
    "latent_diffusion": (
        "LatentDiffusionGenerator", {"epochs": 2, "vae_epochs": 1}, 10_000, (),
    ),
}
CONDITIONS = {
    "rare category": {"native-country": " Canada"},
    "numeric interval": {"age": (60, 70)},
}


def _time(fn, repeats):
    """Median wall seconds of ``repeats`` calls and the other processes' cores."""
    walls, others = [], []
    for _ in range(repeats):
        with OtherCPU() as other:
            t = time.perf_counter()
            out = fn()
            walls.append(time.perf_counter() - t)
        others.append(other.cores)
    return statistics.median(walls), max(others), out


def run_model(name, X, rows, repeats, seed):
    """Fit one model for an epoch and time its sampling; one JSON record."""
    import sklearn_gen

    cls, params, default_rows, conditioned = MODELS[name]
    n = rows or default_rows
    model = getattr(sklearn_gen, cls)(random_state=seed, verbose=0, **params)
    t = time.perf_counter()
    model.fit(X)
    record = {"model": name, "class": cls, "params": params, "rows": n,
              "fit_seconds": time.perf_counter() - t, "runs": {}}
    cases = {"unconditional": None, **{k: CONDITIONS[k] for k in conditioned}}
    for case, condition in cases.items():
        wall, other, sample = _time(
            lambda c=condition: model.sample(n, conditions=c, random_state=seed),
            repeats)
        if len(sample) != n:
            raise RuntimeError(f"{cls} gave {len(sample)} rows, asked for {n}")
        record["runs"][case] = {
            "conditions": None if condition is None else {
                k: list(v) if isinstance(v, tuple) else v for k, v in condition.items()},
            "seconds": wall, "rows_per_second": n / wall,
            "seconds_per_100k_rows": wall * 100_000 / n, "other_cores": other,
        }
        log(f"{cls} {case}: {n / wall:,.0f} rows/s "
            f"({wall * 100_000 / n:.1f} s per 100k rows, other cores {other:.2f})")
    return record


def markdown(result):
    """The Markdown table of a result."""
    rows = []
    for r in result["records"]:
        for case, run in r["runs"].items():
            rows.append([
                r["class"], case, f"{r['rows']:,}", f"{run['rows_per_second']:,.0f}",
                f"{run['seconds_per_100k_rows']:.1f}", f"{run['other_cores']:.2f}",
            ])
    return "\n".join([
        *report_header("Sampling speed on Adult", result),
        "Each model fitted for one epoch at otherwise default parameters on "
        f"{result['fit_rows']:,} Adult rows (sampling cost does not depend on "
        "training length), then "
        f"median of {result['repeats']} timed calls. Rare category: "
        "`native-country=\" Canada\"` (0.4 % of rows; TVAE, CTGAN and "
        "LatentDiffusion keep the decoded rows that match, a cost that depends on "
        "training, so they are timed unconditionally only: see `ctgan_adult.md` for "
        "CTGAN's after training); numeric interval: `age` in [60, 70] "
        "(TransformerGenerator only: the others would reject-sample it). "
        "Other cores: cores busy with other processes during the timing "
        "(0 = quiet).",
        "",
        md_table(["Model", "Sampling", "Rows", "Rows/s", "s per 100k rows",
                  "Other cores"], rows),
        "",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--rows", type=int, default=None,
                        help="rows per sample call (default: per model, see MODELS)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rows", type=int, default=None,
                        help="fit on this many random Adult rows (quick runs only)")
    parser.add_argument("--quiet-wait", type=float, default=0,
                        help="wait up to this many seconds for a quiet machine first")
    parser.add_argument("--out", default=str(RESULTS / "sampling"))
    args = parser.parse_args(argv)

    import torch

    from benchmarks.suite import DATASETS

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quiet_wait:
        waited, cores = wait_for_quiet(args.quiet_wait)
        log(f"waited {waited:.0f} s for a quiet machine (other cores {cores:.2f})")
    X = DATASETS["adult"].load()
    if args.max_rows and args.max_rows < len(X):
        X = X.sample(args.max_rows, random_state=args.seed).reset_index(drop=True)
    n_fit = len(X)
    argv = sys.argv[1:] if argv is None else argv
    result = {
        "commands": ["python benchmarks/bench_sampling.py " + shlex.join(argv)],
        "machine": machine_info(), "repeats": args.repeats, "fit_rows": n_fit,
        "records": [],
    }
    for name in args.models:
        result["records"].append(run_model(name, X, args.rows, args.repeats, args.seed))
        write_result(args.out, result, markdown)  # after each model: runs are long
    log(f"wrote {args.out}.json and {args.out}.md")
    return result


if __name__ == "__main__":
    main()
