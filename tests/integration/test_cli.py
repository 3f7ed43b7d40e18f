"""The sklearn-gen command line, called through ``main([...])`` with tiny settings."""

import pandas as pd
import pytest

from sklearn_gen.cli import main
from sklearn_gen.datasets import load_adult


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory):
    """300 rows of Adult written as a CSV, like a user's file."""
    path = tmp_path_factory.mktemp("data") / "adult_300.csv"
    load_adult().sample(n=300, random_state=0).to_csv(path, index=False)
    return path


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "fit", "sample", "evaluate"):
        assert command in out
    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert excinfo.value.code == 0
    assert "sklearn-gen" in capsys.readouterr().out


def test_demo_help_hides_test_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    assert "--epochs" in out and "--rows" in out and "--output" in out
    assert "--device" in out
    assert "--max-train-rows" not in out


def test_demo_tiny(tmp_path, capsys):
    output = tmp_path / "synthetic.csv"
    status = main(
        [
            "demo",
            "--epochs", "1",
            "--max-train-rows", "300",
            "--rows", "120",
            "--output", str(output),
            "--device", "cpu",
            "--verbose", "0",
        ]
    )  # fmt: skip
    assert status == 0
    synthetic = pd.read_csv(output)
    assert synthetic.shape == (120, 15)
    assert list(synthetic.columns) == list(load_adult().columns)
    out = capsys.readouterr().out
    assert "Quality score (SDMetrics QualityReport):" in out
    score = float(out.split("Quality score (SDMetrics QualityReport):")[1].split()[0])
    assert 0.0 <= score <= 1.0
    assert "Column Shapes" in out and "Total time" in out


def test_fit_sample_evaluate(adult_csv, tmp_path, capsys):
    model = tmp_path / "model.joblib"
    status = main(
        [
            "fit", "--data", str(adult_csv), "--model", "tvae", "--epochs", "1",
            "--device", "cpu", "--verbose", "0", "--output", str(model),
        ]
    )  # fmt: skip
    assert status == 0
    assert model.exists()
    assert "saved to" in capsys.readouterr().out

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        status = main(
            ["sample", "--model", str(model), "-n", "50", "--output", str(path),
             "--seed", "3"]
        )  # fmt: skip
        assert status == 0
    a, b = pd.read_csv(first), pd.read_csv(second)
    assert a.shape == (50, 15)
    pd.testing.assert_frame_equal(a, b)  # same seed, same rows

    capsys.readouterr()
    assert main(["evaluate", "--real", str(adult_csv), "--synthetic", str(first)]) == 0
    out = capsys.readouterr().out
    score = float(out.split("Quality score (SDMetrics QualityReport):")[1].split()[0])
    assert 0.0 <= score <= 1.0


def test_evaluate_identical_files_scores_one(adult_csv, capsys):
    assert (
        main(["evaluate", "--real", str(adult_csv), "--synthetic", str(adult_csv)]) == 0
    )
    out = capsys.readouterr().out
    assert "Quality score (SDMetrics QualityReport): 1.0000" in out
    assert "Column Pair Trends: 1.0000" in out


def test_evaluate_reports_bad_input(adult_csv, tmp_path, capsys):
    other = tmp_path / "other.csv"
    pd.read_csv(adult_csv).drop(columns=["age"]).to_csv(other, index=False)
    assert main(["evaluate", "--real", str(adult_csv), "--synthetic", str(other)]) == 1
    err = capsys.readouterr().err
    assert "sklearn-gen evaluate: error:" in err and "'age'" in err

    missing = tmp_path / "missing.csv"
    assert main(["evaluate", "--real", str(missing), "--synthetic", str(other)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_invalid_arguments_exit_2(adult_csv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["fit", "--data", str(adult_csv), "--model", "nonexistent"])
    assert excinfo.value.code == 2
    with pytest.raises(SystemExit) as excinfo:
        main(["sample", "--model", "m.joblib", "-n", "0"])
    assert excinfo.value.code == 2
    with pytest.raises(SystemExit) as excinfo:
        main([])
    assert excinfo.value.code == 2
    capsys.readouterr()


def test_sample_missing_model_file(tmp_path, capsys):
    path = tmp_path / "absent.joblib"
    status = main(["sample", "--model", str(path), "-n", "5"])
    assert status == 1
    assert "no such file" in capsys.readouterr().err
