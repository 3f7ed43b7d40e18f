"""The sampling-steps benchmark, run end to end on a tiny configuration."""

import json

import pytest

steps = pytest.importorskip("benchmarks.bench_sample_steps")


def test_one_fit_per_seed_scores_every_grid_point(tmp_path):
    out = tmp_path / "steps"
    argv = ["--model", "tabddpm", "--dataset", "iris", "--fit-target", "--seeds", "0", "1",
            "--set", "epochs=3", "--set", "n_timesteps=20",
            "--grid", "sample_steps=2", "sample_steps=None,eta=1.0", "--out", str(out)]
    steps.main(argv)
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["grid"] == [{"sample_steps": 2}, {"sample_steps": None, "eta": 1.0}]
    assert result["sampling_defaults"] == {"sample_steps": 100, "eta": 0.5}
    assert [r["seed"] for r in result["records"]] == [0, 1]
    for record in result["records"]:
        assert record["fit_seconds"] > 0 and record["n_timesteps"] == 20
        assert "dcr_share" not in record["real"]  # the reference is real data
        for point in record["points"]:
            assert point["sample_seconds"] > 0
            assert 0 <= point["metrics"]["column_shapes"] <= 1
            assert 0 <= point["metrics"]["column_pair_trends_vs_train"] <= 1
    text = out.with_suffix(".md").read_text()
    assert "TabDDPMGenerator (epochs=3, n_timesteps=20; fit(X, y) with the target)" in text
    assert "| sample_steps=2, eta=0.5 | 2 |" in text
    assert "| sample_steps=None, eta=1.0 | all (20) |" in text
    assert text.count("\n| ") == 4  # header, the reference and two rows


def test_latent_diffusion_grid(tmp_path):
    out = tmp_path / "ld"
    steps.main(["--model", "latent_diffusion", "--dataset", "iris", "--seeds", "0",
                "--set", "vae_epochs=1", "--set", "epochs=2",
                "--grid", "sample_steps=2", "sample_steps=4", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    (record,) = result["records"]
    assert [p["params"] for p in record["points"]] == [{"sample_steps": 2},
                                                       {"sample_steps": 4}]
    assert "| sample_steps=4 | 4 |" in out.with_suffix(".md").read_text()


def test_bad_arguments_name_what_to_fix(tmp_path):
    x = str(tmp_path / "x")
    with pytest.raises(SystemExit, match="--dataset must be one of"):
        steps.main(["--dataset", "nope", "--out", x])
    with pytest.raises(SystemExit, match="regression table"):
        steps.main(["--dataset", "diabetes", "--fit-target", "--out", x])
    with pytest.raises(SystemExit, match="does not read when sampling"):
        steps.main(["--model", "latent_diffusion", "--dataset", "iris",
                    "--grid", "eta=0.5", "--out", x])
    with pytest.raises(SystemExit, match="--grid expects PARAM=VALUE"):
        steps.main(["--dataset", "iris", "--grid", "sample_steps", "--out", x])
