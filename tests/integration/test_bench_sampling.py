"""benchmarks/bench_sampling.py end to end on a small slice of Adult."""

import json

import pytest

from tests.conftest import SHARED_DATASETS

bench_sampling = pytest.importorskip("benchmarks.bench_sampling")

ADULT = SHARED_DATASETS / "adult.csv"


@pytest.mark.skipif(not ADULT.exists(), reason="needs ../shared/datasets/adult.csv")
def test_quick_run_times_every_case_of_the_transformer(tmp_path):
    out = tmp_path / "sampling"
    argv = ["--models", "transformer", "--rows", "300", "--repeats", "1",
            "--max-rows", "600", "--threads", "1", "--out", str(out)]  # fmt: skip
    bench_sampling.main(argv)
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["commands"][0].endswith("--out " + str(out))
    assert result["fit_rows"] == 600 and result["machine"]["cpu_affinity"] >= 1
    (record,) = result["records"]
    assert record["class"] == "TransformerGenerator" and record["rows"] == 300
    assert set(record["runs"]) == {"unconditional", "rare category", "numeric interval"}
    for run in record["runs"].values():
        assert run["rows_per_second"] > 0 and run["other_cores"] >= 0
        assert run["seconds_per_100k_rows"] == pytest.approx(
            run["seconds"] * 100_000 / 300)
    assert record["runs"]["numeric interval"]["conditions"] == {"age": [60, 70]}
    table = out.with_suffix(".md").read_text()
    assert "| TransformerGenerator | numeric interval | 300 |" in table
