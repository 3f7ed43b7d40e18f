"""benchmarks/bench_ctgan_floor.py: our half of the measurement, and its report."""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED_DATASETS

bench = pytest.importorskip("benchmarks.bench_ctgan_floor")

ADULT = SHARED_DATASETS / "adult.csv"
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.mark.skipif(not ADULT.exists(), reason="needs ../shared/datasets/adult.csv")
def test_our_costs_split_into_network_and_the_rest():
    train = pd.read_csv(ADULT).sample(1500, random_state=0).reset_index(drop=True)
    costs = bench.ours(train, epochs=1, repeats=1, seed=0)
    assert set(costs) == {
        "fit_seconds",
        "loop_seconds_per_epoch",
        "profiled_epoch_seconds",
        "matmul_seconds_per_epoch",
        "sample_seconds",
        "network_seconds",
    }
    assert all(value > 0 for value in costs.values())
    # The matrix products are part of the epoch; the network part of sampling.
    assert costs["matmul_seconds_per_epoch"] < costs["profiled_epoch_seconds"]
    assert costs["network_seconds"] < costs["sample_seconds"]


def test_committed_report_regenerates_from_its_json(tmp_path):
    json_path = RESULTS / "ctgan_floor.json"
    if not json_path.exists():
        pytest.skip("no committed ctgan_floor results")
    result = json.loads(json_path.read_text())
    bench.write_markdown(result, tmp_path / "floor.md")
    committed = (RESULTS / "ctgan_floor.md").read_text()
    assert (tmp_path / "floor.md").read_text() == committed
