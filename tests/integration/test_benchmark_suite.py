"""The benchmark suite's command line, run end to end on a tiny configuration."""

import json

import pytest

suite = pytest.importorskip("benchmarks.suite")


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "RESULTS", tmp_path)
    return tmp_path


def test_run_writes_json_and_markdown(results_dir):
    argv = ["run", "--datasets", "iris", "--models", "tvae", "sdv_copulagan",
            "--seeds", "0", "--epochs", "1", "--threads", "1", "--name", "t",
            "--set", "tvae.batch_size=32", "--set", "tvae.embedding_dim=4"]
    assert suite.main(argv) == 0
    result = json.loads((results_dir / "t.json").read_text())
    assert result["commands"] == ["python -m benchmarks " + " ".join(argv)]
    assert result["machine"]["cpu_affinity"] >= 1
    by_model = {r["model"]: r for r in result["runs"]}
    assert set(by_model) == {"real_train", "tvae", "sdv_copulagan"}
    tvae = by_model["tvae"]
    assert tvae["params"] == {"epochs": 1, "batch_size": 32, "embedding_dim": 4}
    assert 0 <= tvae["metrics"]["column_shapes"] <= 1
    assert 0 <= tvae["metrics"]["dcr_share"] <= 1
    assert tvae["cost"]["fit_seconds"] > 0 and tvae["cost"]["sample_rows_per_second"] > 0
    # The reference row has no privacy metrics (it *is* the training table).
    assert "dcr_share" not in by_model["real_train"]["metrics"]
    # Fidelity against the training rows: the reference row is the holdout
    # scored against them, so it is real data, not the training rows themselves.
    for record in by_model["real_train"], tvae:
        assert 0 <= record["metrics"]["column_shapes_vs_train"] <= 1
        assert 0 <= record["metrics"]["column_pair_trends_vs_train"] <= 1
    assert by_model["real_train"]["metrics"]["column_shapes_vs_train"] < 1
    text = (results_dir / "t.md").read_text()
    assert "Shapes err % vs train" in text
    assert "## iris" in text and "TVAEGenerator (epochs=1, batch_size=32" in text
    # SDV may be absent: then its row is a note, not a crash; else a table row.
    assert "CopulaGANSynthesizer" in text


def test_resume_skips_finished_cells(results_dir):
    argv = ["run", "--datasets", "iris", "--models", "tvae", "--seeds", "0",
            "--epochs", "1", "--threads", "1", "--name", "r"]
    suite.main(argv)
    first = json.loads((results_dir / "r.json").read_text())
    suite.main([*argv, "--resume"])
    second = json.loads((results_dir / "r.json").read_text())
    assert len(second["runs"]) == len(first["runs"]) == 2
    assert second["runs"][1]["cost"] == first["runs"][1]["cost"]
    assert len(second["commands"]) == 2


def test_fit_target_fits_ours_with_y_on_class_tables(results_dir):
    argv = ["run", "--datasets", "iris", "diabetes", "--models", "tabddpm", "tvae",
            "--seeds", "0", "--epochs", "1", "--threads", "1", "--name", "y",
            "--fit-target", "tabddpm", "--set", "tabddpm.sample_steps=5"]
    assert suite.main(argv) == 0
    runs = json.loads((results_dir / "y.json").read_text())["runs"]
    cells = {(r["dataset"], r["model"]): r for r in runs}
    assert all("error" not in r for r in runs)
    # Only the named model, only on the classification table.
    assert cells["iris", "tabddpm"]["fit_target"] is True
    assert "fit_target" not in cells["iris", "tvae"]
    assert "fit_target" not in cells["diabetes", "tabddpm"]
    assert 0 <= cells["iris", "tabddpm"]["metrics"]["ml_efficacy"] <= 1
    text = (results_dir / "y.md").read_text()
    assert "TabDDPMGenerator (epochs=1, sample_steps=5, fit(X, y))" in text
    # Merged with a fit(X) run of the same model, both rows are kept.
    suite.main(["run", "--datasets", "iris", "--models", "tabddpm", "--seeds", "0",
                "--epochs", "1", "--threads", "1", "--name", "x",
                "--set", "tabddpm.sample_steps=5"])
    assert suite.main(["merge", "y", "x", "--name", "xy"]) == 0
    merged = json.loads((results_dir / "xy.json").read_text())["runs"]
    iris = [r for r in merged if r["dataset"] == "iris" and r["model"] == "tabddpm"]
    assert sorted(bool(r.get("fit_target")) for r in iris) == [False, True]
    text = (results_dir / "xy.md").read_text()
    assert "TabDDPMGenerator (epochs=1, sample_steps=5) |" in text
    assert "TabDDPMGenerator (epochs=1, sample_steps=5, fit(X, y)) |" in text


def test_report_rebuilds_markdown(results_dir):
    suite.main(["run", "--datasets", "iris", "--models", "tvae", "--seeds", "0",
                "--epochs", "1", "--threads", "1", "--name", "m"])
    (results_dir / "m.md").unlink()
    assert suite.main(["report", "--name", "m"]) == 0
    assert "## iris" in (results_dir / "m.md").read_text()
    # Results made before the "vs train" metrics existed show no empty columns.
    result = json.loads((results_dir / "m.json").read_text())
    for record in result["runs"]:
        for key in [k for k in record["metrics"] if k.endswith("_vs_train")]:
            del record["metrics"][key]
    (results_dir / "m.json").write_text(json.dumps(result))
    assert suite.main(["report", "--name", "m"]) == 0
    text = (results_dir / "m.md").read_text()
    assert "vs train" not in text and "| Shapes err % |" in text
    # Merged with a later seed that has them: the cell says how many seeds it has.
    suite.main(["run", "--datasets", "iris", "--models", "tvae", "--seeds", "1",
                "--epochs", "1", "--threads", "1", "--name", "m1"])
    assert suite.main(["merge", "m", "m1", "--name", "mm"]) == 0
    assert "(n=1)" in (results_dir / "mm.md").read_text()


def test_bad_override_is_one_line():
    with pytest.raises(SystemExit, match="MODEL.PARAM=VALUE"):
        suite._parse_set(["tvae-epochs"])


def test_merge_runs_made_in_parallel(results_dir):
    common = ["--datasets", "iris", "--seeds", "0", "--epochs", "1", "--threads", "1"]
    suite.main(["run", "--models", "tvae", "--name", "a", *common])
    suite.main(["run", "--models", "ctgan", "--name", "b", *common,
                "--set", "ctgan.batch_size=40", "--set", "ctgan.pac=4"])
    assert suite.main(["merge", "a", "b", "--name", "ab"]) == 0
    merged = json.loads((results_dir / "ab.json").read_text())
    assert sorted(r["model"] for r in merged["runs"]) == ["ctgan", "real_train", "tvae"]
    assert merged["commands"][-1] == "python -m benchmarks merge a b --name ab"
    assert len(merged["commands"]) == 3
    assert merged["machine"]["git_commits"] == [merged["machine"]["git_commit"]]
    text = (results_dir / "ab.md").read_text()
    assert "TVAEGenerator" in text and "CTGANGenerator" in text
