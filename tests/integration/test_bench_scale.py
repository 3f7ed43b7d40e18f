"""benchmarks/bench_scale.py end to end on a tiny table (each measurement a child)."""

import json

import pytest

bench_scale = pytest.importorskip("benchmarks.bench_scale")


def test_build_table_is_mixed_and_reproducible():
    first = bench_scale.build_table(500, 50, seed=3)
    assert first.shape == (500, 50)
    assert bench_scale.column_kinds(first) == {
        "boolean": 5, "categorical": 18, "continuous": 17, "datetime": 2, "integer": 8,
    }  # fmt: skip
    assert first.equals(bench_scale.build_table(500, 50, seed=3))
    assert first["income"].isna().any() and first["last_login"].isna().any()
    assert first["city"].nunique() > 100  # high cardinality, Zipf-like
    wide = bench_scale.build_table(300, 60)
    assert wide.shape == (300, 60) and "age__1" in wide.columns


def test_tiny_run_writes_json_and_markdown(tmp_path):
    out = tmp_path / "scale"
    argv = ["--rows", "2000", "--columns", "12", "--epochs", "1",
            "--sample-rows", "5000", "--batch-rows", "1000", "2500@3000",
            "--reference-rows", "0", "--gmm-samples", "full",
            "--n-eval", "1000", "--threads", "1", "--out", str(out)]  # fmt: skip
    assert bench_scale.main(argv) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["command"].startswith("python benchmarks/bench_scale.py --rows 2000")
    machine = result["machine"]
    assert machine["cpu_model"] and machine["cpu_affinity"] >= 1
    assert len(result["load_average_start"]) == 3

    fit = result["fit"]
    assert fit["table_shape"] == [2000, 12] and fit["torch_threads"] == 1
    assert fit["table_bytes"] > 0 and fit["encoded_width"] > 12
    assert len(fit["epoch_seconds"]) == 1 and fit["fit_seconds"] > 0
    assert {"validate", "encoder_fit", "encode", "training"} <= set(fit["stages"])
    assert fit["peak_rss_bytes"] >= fit["rss_after_table_bytes"] > 0
    stage_peaks = [stage["peak_rss_bytes"] for stage in fit["stages"].values()]
    assert fit["peak_rss_bytes"] >= max(stage_peaks)

    (gmm,) = result["gmm"]
    assert gmm["gmm_max_samples"] is None  # "full": every value
    assert gmm["encoder_fit_seconds"] >= gmm["mixture_fit_seconds"] > 0
    assert 0 <= gmm["mean_ks_mixture"] <= 1 and 0 <= gmm["mean_round_trip_share"] <= 1
    assert gmm["n_numeric_columns"] == len(gmm["columns"]) > 0

    runs = result["sample"]
    assert [(r["rows"], r["batch_rows"]) for r in runs] == [(5000, 1000), (3000, 2500)]
    assert [r["row_groups"] for r in runs] == [5, 2]
    for run in runs:
        assert run["rows_in_file"] == run["rows"] and run["rows_per_second"] > 0
        assert run["peak_rss_bytes"] >= run["rss_after_model_bytes"]
        assert len(run["rss_after_batches_bytes"]) == run["row_groups"]

    text = out.with_suffix(".md").read_text()
    for heading in ("## Table", "## Fit", "## Encoder", "## Sampling with"):
        assert heading in text
    assert "**Bound.**" in text and "all values" in text

    # The report can be rebuilt from the JSON alone (no measurement repeated).
    out.with_suffix(".md").unlink()
    assert bench_scale.main(["--markdown-from", str(out.with_suffix(".json"))]) == 0
    assert out.with_suffix(".md").read_text() == text
