"""The LatentDiffusion stage benchmark, run end to end on a tiny configuration."""

import json

import pytest

stages = pytest.importorskip("benchmarks.bench_latent_stages")


def test_scores_the_round_trip_and_the_sample_of_each_seed(tmp_path):
    out = tmp_path / "stages"
    argv = ["--dataset", "iris", "--seeds", "0", "1", "--set", "vae_epochs=2",
            "--set", "epochs=4", "--set", "sample_steps=5", "--out", str(out)]
    stages.main(argv)
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["params"] == {"vae_epochs": 2, "epochs": 4, "sample_steps": 5}
    assert [r["seed"] for r in result["records"]] == [0, 1]
    for record in result["records"]:
        assert set(record["metrics"]) == {"real", "round_trip", "sample"}
        assert record["fit_seconds"] > 0 and record["vae_reconstruction_loss"] > 0
        for row in ("round_trip", "sample"):
            assert 0 <= record["metrics"][row]["column_shapes"] <= 1
            assert 0 <= record["metrics"][row]["column_pair_trends_vs_train"] <= 1
        # The reference is real data: no privacy metrics, a small error.
        assert "dcr_share" not in record["metrics"]["real"]
    text = out.with_suffix(".md").read_text()
    assert "VAE round trip" in text and "(vae_epochs=2, epochs=4, sample_steps=5)" in text
    assert text.count("\n| ") == 4  # header and three rows


def test_bad_arguments_name_what_to_fix(tmp_path):
    with pytest.raises(SystemExit, match="--dataset must be one of"):
        stages.main(["--dataset", "nope", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="PARAM=VALUE"):
        stages.main(["--dataset", "iris", "--set", "epochs", "--out", str(tmp_path / "x")])
