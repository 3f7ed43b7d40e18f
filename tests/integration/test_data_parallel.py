"""Data-parallel training (``data_parallel=True``) across two CPU processes.

``torchrun`` starts two processes running ``docs/scripts/data_parallel.py`` — the
script the user guide gives for multi-GPU training — with the gloo backend on the
CPU. The code path is the one a GPU run takes, but for the device.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

pytest.importorskip("accelerate")

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "scripts" / "data_parallel.py"

#: Tiny configurations (``--param``) so each family trains in seconds.
TINY = {
    "tvae": ["embedding_dim=8", "compress_dims=(16,)", "decompress_dims=(16,)"],
    "ctgan": [
        "embedding_dim=8", "generator_dim=(16,)", "discriminator_dim=(16,)", "pac=4",
    ],
    "tabddpm": ["dims=(16,)", "embedding_dim=8", "n_timesteps=20", "sample_steps=5"],
    "latent_diffusion": [
        "vae_epochs=1", "d_token=4", "factor=4", "n_layers=1", "diffusion_dim=16",
        "sample_steps=4",
    ],
    "transformer": [
        "n_bins=16", "embedding_dim=16", "n_heads=2", "n_layers=1",
        "feedforward_dim=32",
    ],
}


def _launch(model, tmp_path, *, processes=2, rows=600, batch_size=100, epochs=2):
    out = tmp_path / f"{model}.joblib"
    digests = tmp_path / f"digests-{model}"
    command = [
        sys.executable, "-m", "torch.distributed.run",
        "--standalone", f"--nproc_per_node={processes}", str(SCRIPT),
        "--model", model, "--epochs", str(epochs), "--batch-size", str(batch_size),
        "--rows", str(rows), "--out", str(out), "--digest-dir", str(digests),
    ]
    for param in TINY[model]:
        command += ["--param", param]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    # Its own process group, so a hang cannot leave worker processes behind.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"torchrun did not finish in 240 s:\n{stderr[-3000:]}")
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted(digests.glob("rank*.json"))]
    return records, out


@pytest.mark.parametrize("model", ["tvae", "ctgan", "latent_diffusion"])
def test_two_processes_split_the_batches_and_end_with_equal_weights(model, tmp_path):
    records, out = _launch(model, tmp_path)

    assert [r["rank"] for r in records] == [0, 1]
    assert all(r["processes"] == 2 for r in records)
    # 600 rows in batches of 100: 6 batches an epoch, 3 for each process.
    assert all(r["batches_per_epoch"] == 3 for r in records)
    # Averaged gradients from equal starting weights: the processes never diverge.
    assert records[0]["digest"] == records[1]["digest"]

    # Process 0 saved a model that loads and samples in a plain (single) process.
    generator = joblib.load(out)
    rows = generator.sample(50, random_state=0)
    assert len(rows) == 50 and rows.notna().any().all()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tabddpm", "transformer"])
def test_other_families_train_data_parallel(model, tmp_path):
    records, _ = _launch(model, tmp_path)
    assert records[0]["digest"] == records[1]["digest"]
    assert all(r["batches_per_epoch"] == 3 for r in records)


def _tiny_tvae(**params):
    from sklearn_gen import TVAEGenerator

    return TVAEGenerator(
        epochs=2, batch_size=100, embedding_dim=8, compress_dims=(16,),
        decompress_dims=(16,), random_state=0, **params,
    )


def test_one_process_trains_exactly_as_without_data_parallel(adult):
    alone = _tiny_tvae(device="cpu").fit(adult)
    launched = _tiny_tvae(device="cpu", data_parallel=True).fit(adult)
    assert launched.device_ == "cpu"
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(
        alone.sample(100, random_state=0), launched.sample(100, random_state=0)
    )


def test_data_parallel_refuses_an_explicit_gpu_and_privacy(adult):
    from sklearn_gen import DPConfig

    with pytest.raises(ValueError, match="device must be 'auto' or 'cpu'"):
        _tiny_tvae(device="cuda:1", data_parallel=True).fit(adult)
    with pytest.raises(ValueError, match="cannot be combined with privacy"):
        _tiny_tvae(data_parallel=True, privacy=DPConfig(epsilon=3.0)).fit(adult)
