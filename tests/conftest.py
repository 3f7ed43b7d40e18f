"""Shared fixtures: real tables and tiny generator configurations."""

from pathlib import Path

import pandas as pd
import pytest
import torch

# The test networks are tiny: intra-op threads only add synchronisation, and on a
# busy 2-core machine OpenMP spinning made a 2-epoch fit 30x slower (0.2 s vs 7 s).
torch.set_num_threads(1)

#: ../shared/datasets beside the checkout (present on developer machines and in CI).
SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"

#: Tiny configurations so every generator trains in a second or two in tests.
INIT_PARAMS = {
    "TransformerGenerator": dict(
        epochs=2,
        batch_size=64,
        n_bins=16,
        embedding_dim=16,
        n_heads=2,
        n_layers=1,
        feedforward_dim=32,
        device="cpu",
        random_state=0,
    ),
    "CTGANGenerator": dict(
        epochs=2,
        batch_size=64,
        pac=4,
        embedding_dim=8,
        generator_dim=(16,),
        discriminator_dim=(16,),
        device="cpu",
        random_state=0,
    ),
    "TVAEGenerator": dict(
        epochs=2,
        batch_size=64,
        embedding_dim=8,
        compress_dims=(16,),
        decompress_dims=(16,),
        device="cpu",
        random_state=0,
    ),
    "LatentDiffusionGenerator": dict(
        epochs=24,
        vae_epochs=20,
        vae_lr=1e-2,
        batch_size=64,
        d_token=4,
        factor=4,
        n_layers=1,
        diffusion_dim=16,
        sample_steps=4,
        device="cpu",
        random_state=0,
    ),
    "TabDDPMGenerator": dict(
        epochs=2,
        batch_size=64,
        dims=(16,),
        embedding_dim=8,
        n_timesteps=20,
        sample_steps=10,
        device="cpu",
        random_state=0,
    ),
}


def make_generator(cls, **overrides):
    """An instance of ``cls`` with the tiny test configuration."""
    params = {**INIT_PARAMS.get(cls.__name__, {}), **overrides}
    return cls(**params)


def read_shared(name, nrows=None):
    """A table from ../shared/datasets, or skip the test when it is absent."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return pd.read_csv(path, nrows=nrows)


def _load_adult():
    try:
        from sklearn_gen.datasets import load_adult
    except ImportError:
        return read_shared("adult.csv")
    return load_adult(as_frame=True)


@pytest.fixture(scope="session")
def adult_full():
    """The whole Adult census table (32,561 rows)."""
    return _load_adult()


@pytest.fixture(scope="session")
def adult(adult_full):
    """A 1,500-row random sample of Adult: fast to fit, still every column kind."""
    return adult_full.sample(1500, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="session")
def taxis():
    """NYC taxis: datetimes, many-level categoricals and NaN in categoricals."""
    df = read_shared("nyc_taxis.csv")
    df["pickup"] = pd.to_datetime(df["pickup"])
    df["dropoff"] = pd.to_datetime(df["dropoff"])
    return df.sample(1000, random_state=0).reset_index(drop=True)
