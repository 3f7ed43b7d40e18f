"""Train one generator on several GPUs (or CPU processes) at once.

Every process runs this script; Hugging Face Accelerate tells each one its rank and
device, and ``data_parallel=True`` makes the generator split every epoch's batches
between the processes and average their gradients. Launch it with::

    # 4 GPUs on one machine
    accelerate launch --multi_gpu --num_processes 4 docs/scripts/data_parallel.py \
        --model tvae --epochs 300 --out tvae.joblib

    # or with torchrun; on a machine without GPUs this runs 2 CPU processes
    torchrun --nproc_per_node 2 docs/scripts/data_parallel.py --model tvae --epochs 5

Only process 0 writes the model. ``--batch-size`` is per process, so one optimiser
step sees ``batch_size * processes`` rows. ``--digest-dir`` makes every process write
a checksum of its weights (the test suite uses it to check that they are equal).
"""

import argparse
import ast
import hashlib
import json
from pathlib import Path

import joblib
import torch

from sklearn_gen.datasets import load_adult
from sklearn_gen.utils import all_generators


def _short_name(class_name):
    return class_name.removesuffix("Generator").lower()


def _value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _weights_digest(generator):
    digest = hashlib.sha256()
    net = generator.net_
    for name in net._modules:
        module = getattr(net, name + "_")
        for key, tensor in sorted(module.state_dict().items()):
            digest.update(key.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(argv=None):
    models = {_short_name(name): cls for name, cls in all_generators()}
    models["latent_diffusion"] = models.pop("latentdiffusion")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(models), default="tvae")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rows", type=int, default=None, help="use the first N rows")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="another generator parameter (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=None, help="model file (.joblib)")
    parser.add_argument("--digest-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    X = load_adult(as_frame=True)
    if args.rows:
        X = X.iloc[: args.rows]
    params = dict(p.split("=", 1) for p in args.param)
    generator = models[args.model](
        epochs=args.epochs,
        batch_size=args.batch_size,
        data_parallel=True,
        random_state=0,
        **{name: _value(value) for name, value in params.items()},
    ).fit(X)

    from accelerate import PartialState

    state = PartialState()
    if args.digest_dir is not None:
        args.digest_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "rank": state.process_index,
            "processes": state.num_processes,
            "device": str(generator.device_),
            "epochs": generator.n_iter_,
            "batches_per_epoch": generator.history_[-1, "train_batch_count"],
            "digest": _weights_digest(generator),
        }
        path = args.digest_dir / f"rank{state.process_index}.json"
        path.write_text(json.dumps(record))
    if state.is_main_process:
        rows = generator.sample(1000, random_state=0)
        print(f"{type(generator).__name__} trained on {state.num_processes} "
              f"process(es); first sampled rows:\n{rows.head()}")
        if args.out is not None:
            joblib.dump(generator, args.out)
            print(f"model written to {args.out}")
    state.wait_for_everyone()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
