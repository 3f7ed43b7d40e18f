"""How fast can a CTGAN be on this CPU? The network's own cost, ours and SDV's.

Issue 3 asks CTGANGenerator to fit >= 3x and sample >= 10x faster than SDV's
CTGANSynthesizer on the CPU, with the same model. Both run the same networks
(generator: two residual blocks of 256 and a linear head; critic: two layers of
256 over packs of 10 rows), so no implementation can be faster than the matrix
products of those networks. This script measures that floor beside the full
cost, in one process, on the Adult training split (seed 0, 26,048 rows):

- **Sampling.** ``sample(n)`` of each model (best of ``--repeats``), and each
  model's generator network alone on the same ``n`` rows (noise and condition
  vectors made beforehand; ours: ``module_(noise, ids)``; SDV's:
  ``_generator(z)``, both in eval mode without autograd). The ceiling on our
  speed-up is SDV's full sample time over our network time: what we would reach
  if everything but the generator's forward pass cost nothing.
- **Fit.** One training-loop epoch of each model (``--epochs`` epochs, the
  mean), and the time our epoch spends in matrix products (``aten::addmm`` /
  ``mm`` / ``bmm`` / ``linear`` backward, the profiler's self time). Our step
  already does the fewest products the algorithm allows (one generator forward
  serves both updates; the critic's weights get no gradient in the generator's
  update); SDV's step does more (a second generator forward, gradients for the
  generator's weights in the critic's backward). The ceiling is SDV's epoch over
  our matrix-product time.

Weights do not change cost, so each model is fitted for ``--epochs`` epochs only.

Run from the repository root with ``sdv`` installed (``pip install -e .[bench]``)::

    python benchmarks/bench_ctgan_floor.py --threads 1

Writes ``benchmarks/results/ctgan_floor.{json,md}``.
"""

import argparse
import datetime
import json
import os
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

from bench_ctgan import _SDVTrainLoopTimer  # noqa: E402
from bench_tvae import DEFAULT_DATA, REPO, machine_info, sdv_metadata  # noqa: E402

BATCH_SIZE = 500
MATMUL_OPS = {"aten::addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear"}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def matmul_seconds(fn):
    """Run ``fn`` under the profiler; return (wall s, s of self time in GEMMs)."""
    from torch.profiler import ProfilerActivity, profile

    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    wall = time.perf_counter() - t0
    gemm = sum(
        e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMUL_OPS
    )
    total = sum(e.self_cpu_time_total for e in prof.key_averages())
    return wall, gemm / 1e6, total / 1e6


def ours(train, epochs, repeats, seed):
    from sklearn_gen import CTGANGenerator

    n = len(train)
    t0 = time.perf_counter()
    model = CTGANGenerator(epochs=epochs, batch_size=BATCH_SIZE, random_state=seed)
    model.fit(train)
    fit_wall = time.perf_counter() - t0
    loop = float(np.mean(model.history_[:, "dur"]))
    # One more epoch under the profiler (partial_fit keeps the weights and tables).
    model.set_params(epochs=1)
    _, gemm, profiled = matmul_seconds(lambda: model.partial_fit(train))
    model.set_params(epochs=epochs)
    sample = best_of(lambda: model.sample(n, random_state=seed), repeats)

    net, module = model.net_, model.net_.module_
    gen = torch.Generator().manual_seed(seed)
    block = 5000  # the size ``sample`` generates at a time on one CPU thread
    inputs = []
    for start in range(0, n, block):
        rows = min(block, n - start)
        noise = torch.randn((rows, module.embedding_dim), generator=gen)
        inputs.append((noise, net.sample_condition_ids(rows, gen)))
    module.eval()

    def forward():
        with torch.inference_mode():
            for noise, ids in inputs:
                module(noise, ids)

    network = best_of(forward, repeats)
    return {
        "fit_seconds": fit_wall,
        "loop_seconds_per_epoch": loop,
        "profiled_epoch_seconds": profiled,
        "matmul_seconds_per_epoch": gemm,
        "sample_seconds": sample,
        "network_seconds": network,
    }


def sdv(train, epochs, repeats, seed):
    from sdv.single_table import CTGANSynthesizer

    n = len(train)
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = CTGANSynthesizer(
        sdv_metadata(train), epochs=epochs, batch_size=BATCH_SIZE, enable_gpu=False
    )
    t0 = time.perf_counter()
    with _SDVTrainLoopTimer() as timer:
        model.fit({"adult": train})
    fit_wall = time.perf_counter() - t0
    sample = best_of(lambda: model.sample(n), repeats)

    ctgan = model._model
    generator = ctgan._generator
    steps = n // BATCH_SIZE + 1  # as CTGAN.sample does
    inputs = []
    for _ in range(steps):
        z = torch.randn(BATCH_SIZE, ctgan._embedding_dim)
        cond = ctgan._data_sampler.sample_original_condvec(BATCH_SIZE)
        inputs.append(torch.cat([z, torch.from_numpy(cond)], dim=1))
    generator.eval()

    def forward():
        with torch.inference_mode():
            for z in inputs:
                generator(z)

    network = best_of(forward, repeats)
    generator.train()
    return {
        "fit_seconds": fit_wall,
        "loop_seconds_per_epoch": timer.seconds / epochs,
        "sample_seconds": sample,
        "network_seconds": network,
    }


def write_markdown(result, path):
    o, s = result["ours"], result["sdv"]
    n = result["config"]["n_rows"]
    m = result["machine"]
    lines = [
        "# CTGAN on the CPU: the network's own cost (ours and SDV's)",
        "",
        f"Generated {result['date']} by `{result['command']}`",
        "",
        f"Adult training split (seed {result['config']['seed']}, {n} rows), batch size "
        f"{BATCH_SIZE}, pac 10, SDV's default networks for both. Machine: "
        f"{m['cpu_model']}, {m['cpu_count']} cores, torch threads "
        f"{result['config']['threads']}; load average "
        f"{result['load_average_start'][0]:.1f} at the start, "
        f"{result['load_average_end'][0]:.1f} at the end (other jobs share the cores: "
        "compare the figures within this table only). See the script's docstring for "
        "the definitions.",
        "",
        "## Sampling",
        "",
        "| model | sample(n) s | rows/s | generator network alone s | network share |",
        "|---|---|---|---|---|",
    ]
    for label, r in (("sklearn_gen CTGANGenerator", o), ("SDV CTGANSynthesizer", s)):
        share = r["network_seconds"] / r["sample_seconds"]
        lines.append(
            f"| {label} | {r['sample_seconds']:.3f} | {n / r['sample_seconds']:,.0f} | "
            f"{r['network_seconds']:.3f} | {share:.2f} |"
        )
    lines += [
        "",
        "## Fit (training loop, per epoch)",
        "",
        "| model | loop s / epoch | of which matrix products s |",
        "|---|---|---|",
        f"| sklearn_gen CTGANGenerator | {o['loop_seconds_per_epoch']:.3f} | "
        f"{o['matmul_seconds_per_epoch']:.3f} (profiled epoch: "
        f"{o['profiled_epoch_seconds']:.3f} s of op self time) |",
        f"| SDV CTGANSynthesizer | {s['loop_seconds_per_epoch']:.3f} | not profiled |",
        "",
        "## Speed-ups: measured, and the ceiling at the network's cost",
        "",
        "| figure | measured (SDV / ours) | ceiling | issue 3 target |",
        "|---|---|---|---|",
        f"| sampling | {s['sample_seconds'] / o['sample_seconds']:.2f}x | "
        f"{s['sample_seconds'] / o['network_seconds']:.2f}x (SDV's sample(n) / our "
        "generator forward) | 10x |",
        f"| fit (training loop per epoch) | "
        f"{s['loop_seconds_per_epoch'] / o['loop_seconds_per_epoch']:.2f}x | "
        f"{s['loop_seconds_per_epoch'] / o['matmul_seconds_per_epoch']:.2f}x "
        "(SDV's epoch / our matrix-product time) | 3x |",
        "",
        f"Versions: {', '.join(f'{k} {v}' for k, v in m['versions'].items())}.",
        "",
    ]
    path.write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/ctgan_floor"))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    data = pd.read_csv(args.data)
    train, _ = train_test_split(data, test_size=0.2, random_state=args.seed)
    train = train.reset_index(drop=True)
    result = {
        "benchmark": "ctgan_floor",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(
            ["python"]
            + [
                shlex.quote(a)
                for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]
            ]
        ),
        "config": {
            "data": os.path.relpath(args.data, REPO),
            "n_rows": len(train),
            "epochs": args.epochs,
            "repeats": args.repeats,
            "seed": args.seed,
            "threads": args.threads,
        },
        "machine": machine_info(),
        "load_average_start": list(os.getloadavg()),
    }
    log("fitting and timing sklearn_gen CTGANGenerator")
    result["ours"] = ours(train, args.epochs, args.repeats, args.seed)
    log(f"  {result['ours']}")
    log("fitting and timing SDV CTGANSynthesizer")
    result["sdv"] = sdv(train, args.epochs, args.repeats, args.seed)
    log(f"  {result['sdv']}")
    result["load_average_end"] = list(os.getloadavg())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, out.with_suffix(".md"))
    log(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
