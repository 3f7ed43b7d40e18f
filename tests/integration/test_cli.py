"""The sklearn-gen command line, run as a user would, on real Adult rows.

The end-to-end path (fit -> sample with conditions -> evaluate --report) runs
``python -m sklearn_gen.cli`` in subprocesses; most error cases call
``main([...])`` in-process (a subprocess pays ~3 s to import torch).
"""

import os
import subprocess
import sys

import joblib
import pandas as pd
import pytest

from sklearn_gen import TVAEGenerator
from sklearn_gen.cli import _model_name, main
from sklearn_gen.datasets import load_adult
from sklearn_gen.utils import all_generators

#: Tiny TVAE: one epoch of a 16-unit network trains in about a second.
TINY_TVAE = [
    "--model", "tvae", "--epochs", "1", "--device", "cpu",
    "--param", "batch_size=64", "--param", "embedding_dim=8",
    "--param", "compress_dims=(16,)", "--param", "decompress_dims=(16,)",
]  # fmt: skip

REPORT_FILES = [
    "detectability.png", "distributions.png", "pair_differences.png", "report.html",
    "roc.png",
]  # fmt: skip


def run_cli(*args, cwd):
    """``sklearn-gen ARGS`` in a fresh Python process: (returncode, stdout, stderr)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-m", "sklearn_gen.cli", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def one_line_error(err, *fragments):
    """``err`` is one line naming the command and every fragment."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sklearn-gen"), err
    assert "error" in lines[0] and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)
    return lines[0]


@pytest.fixture(scope="module")
def adult_300():
    return load_adult().sample(n=300, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def adult_csv(adult_300, workdir):
    """300 rows of Adult written as a CSV, like a user's file."""
    path = workdir / "adult_300.csv"
    adult_300.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(adult_csv, workdir):
    """``sklearn-gen fit adult.csv --target income ...`` run in a subprocess."""
    path = workdir / "model.joblib"
    status, out, err = run_cli(
        "fit", adult_csv.name, *TINY_TVAE, "--target", "income", "-o", path.name,
        cwd=workdir,
    )  # fmt: skip
    assert status == 0, err
    assert "Traceback" not in err
    assert f"saved to {path.name}" in out and "target 'income'" in out
    return path


# ------------------------------------------------------------ as a user would


def test_fit_sample_evaluate_in_subprocesses(model_file, adult_csv, workdir):
    generator = joblib.load(model_file)
    assert isinstance(generator, TVAEGenerator)
    # --param values are Python literals; the command line seeds the fit.
    params = generator.get_params()
    assert params["compress_dims"] == (16,) and params["embedding_dim"] == 8
    assert params["random_state"] == 0 and params["verbose"] == 0  # not a terminal
    assert generator.target_name_ == "income"

    # A categorical condition matched without Adult's leading space, a numeric one.
    status, out, err = run_cli(
        "sample", model_file.name, "-n", "60", "-o", "synthetic.csv", "--seed", "0",
        "--condition", "workclass=Private", "--condition", "hours-per-week=40",
        cwd=workdir,
    )  # fmt: skip
    assert status == 0, err
    assert "Wrote 60 rows to synthetic.csv" in out
    synthetic = pd.read_csv(workdir / "synthetic.csv")
    # The target is written as a column: one table like the training file.
    assert list(synthetic.columns) == list(pd.read_csv(adult_csv).columns)
    assert synthetic.shape == (60, 15)
    assert (synthetic["workclass"] == " Private").all()
    assert (synthetic["hours-per-week"] == 40).all()
    assert set(synthetic["income"]) <= {" <=50K", " >50K"}

    status, out, err = run_cli(
        "evaluate", adult_csv.name, "synthetic.csv", "--report", "report",
        cwd=workdir,
    )  # fmt: skip
    assert status == 0, err
    score = float(out.split("Quality score (SDMetrics QualityReport):")[1].split()[0])
    assert 0.0 <= score <= 1.0
    assert "Column Shapes:" in out and "Column Pair Trends:" in out
    assert "Detector ROC AUC" in out
    report = workdir / "report"
    assert sorted(p.name for p in report.iterdir()) == REPORT_FILES
    assert all((report / name).stat().st_size > 1000 for name in REPORT_FILES)
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page


def test_user_error_in_subprocess_is_one_line(workdir):
    status, out, err = run_cli("fit", "missing.csv", *TINY_TVAE, cwd=workdir)
    assert status == 1
    one_line_error(err, "sklearn-gen fit: error: no such file: missing.csv")
    assert out == ""


# ----------------------------------------------------------------- in-process


def test_parquet_fit_and_conditioned_sample(adult_300, workdir, capsys):
    """Parquet in and out; the old --data / --output spellings still work."""
    data = workdir / "adult.parquet"
    adult_300.to_parquet(data, index=False)
    model = workdir / "ctgan.joblib"
    status = main(
        [
            "fit", "--data", str(data), "--model", "ctgan", "--epochs", "1",
            "--device", "cpu", "--param", "batch_size=64", "--param", "pac=4",
            "--param", "embedding_dim=8", "--param", "generator_dim=(16,)",
            "--param", "discriminator_dim=(16,)", "--output", str(model),
        ]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert type(joblib.load(model)).__name__ == "CTGANGenerator"

    out = workdir / "rows.pq"
    status = main(
        [
            "sample", "--model", str(model), "-n", "40", "-o", str(out), "--seed",
            "1", "--condition", "sex= Female", "--condition", "education-num=13",
        ]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    rows = pd.read_parquet(out)
    assert rows.shape == (40, 15)
    assert list(rows.columns) == list(adult_300.columns)
    assert (rows["sex"] == " Female").all()
    assert (rows["education-num"] == 13).all()


def test_sample_same_seed_same_rows_and_default_size(model_file, workdir, capsys):
    first, second, full = (workdir / f"{name}.csv" for name in ("a", "b", "full"))
    for path in (first, second):
        assert main(["sample", str(model_file), "-n", "25", "-o", str(path),
                     "--seed", "3"]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_csv(first), pd.read_csv(second))
    assert main(["sample", str(model_file), "-o", str(full)]) == 0
    assert len(pd.read_csv(full)) == 300  # as many rows as the training table
    capsys.readouterr()


def test_every_generator_has_a_model_name(capsys):
    names = [_model_name(name) for name, _ in all_generators()]
    assert len(set(names)) == len(names)
    assert {"tvae", "ctgan"} <= set(names)
    with pytest.raises(SystemExit) as excinfo:
        main(["fit", "--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    for name in names:
        assert name in out
    assert "examples:" in out and "--param" in out and "--target" in out


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "fit", "sample", "evaluate"):
        assert command in out
    for command, text in (
        ("sample", "--condition"), ("evaluate", "--report"), ("demo", "--rows"),
    ):  # fmt: skip
        with pytest.raises(SystemExit) as excinfo:
            main([command, "--help"])
        assert excinfo.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and text in out
        assert "--max-train-rows" not in out
    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert excinfo.value.code == 0
    assert "sklearn-gen" in capsys.readouterr().out


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


def test_evaluate_identical_files_scores_one(adult_csv, capsys):
    assert main(["evaluate", str(adult_csv), str(adult_csv)]) == 0
    out = capsys.readouterr().out
    assert "Quality score (SDMetrics QualityReport): 1.0000" in out
    assert "Column Pair Trends: 1.0000" in out


# ------------------------------------------------------------------ errors


@pytest.fixture(scope="module")
def bad_files(workdir, adult_csv):
    """Files a user might pass by mistake."""
    garbage = workdir / "garbage.csv"
    garbage.write_bytes(b"\x80\x81\x00\xff" * 50)
    no_age = workdir / "no_age.csv"
    pd.read_csv(adult_csv).drop(columns=["age"]).to_csv(no_age, index=False)
    not_a_model = workdir / "dict.joblib"
    joblib.dump({"weights": [1, 2, 3]}, not_a_model)
    unfitted = workdir / "unfitted.joblib"
    joblib.dump(TVAEGenerator(), unfitted)
    fake_parquet = workdir / "fake.parquet"
    fake_parquet.write_text("a,b\n1,2\n")
    return {
        "garbage": garbage, "no_age": no_age, "not_a_model": not_a_model,
        "unfitted": unfitted, "fake_parquet": fake_parquet,
    }  # fmt: skip


USER_ERRORS = [
    # (arguments; {placeholder}s filled from the fixtures, fragments of the message)
    (["fit", "{workdir}/absent.csv"], ["no such file", "absent.csv"]),
    (["fit", "{garbage}"], ["cannot read", "garbage.csv", "CSV"]),
    (["fit", "{fake_parquet}"], ["cannot read", "fake.parquet", "parquet"]),
    (["fit", "{adult_csv}", "--target", "incme"], ["'incme'", "income"]),
    (["fit", "{adult_csv}", "--param", "n_layers=3"], ["n_layers", "embedding_dim"]),
    (["fit", "{adult_csv}", "--param", "epochs=0"], ["epochs", "--param"]),
    (["fit", "{adult_csv}", "--epochs", "2", "--param", "epochs=3"], ["keep one"]),
    (["fit", "{adult_csv}", "-o", "{workdir}/no/dir/m.joblib"], ["does not exist"]),
    (["sample", "{workdir}/absent.joblib"], ["no such file", "absent.joblib"]),
    (["sample", "{adult_csv}"], ["cannot load", "sklearn-gen fit"]),
    (["sample", "{not_a_model}"], ["holds a dict", "not a sklearn_gen generator"]),
    (["sample", "{unfitted}"], ["unfitted TVAEGenerator", "fit it first"]),
    (["sample", "{model}", "--condition", "colour=red"], ["'colour'", "workclass"]),
    (["sample", "{model}", "--condition", "workclass=Ruritania"],
     ["'Ruritania'", "' Private'", "spaces"]),
    (["sample", "{model}", "--condition", "age=old"], ["'age'", "numbers", "'old'"]),
    (["sample", "{model}", "--condition", "age=40.5"], ["'age'", "whole numbers"]),
    (["sample", "{model}", "--condition", "age=500"], ["500", "'age'", "range"]),
    (["sample", "{model}", "--condition", "age=40", "--condition", "age=41"],
     ["given twice"]),
    (["sample", "{model}", "-o", "{workdir}/no/dir/rows.csv"], ["does not exist"]),
    (["evaluate", "{adult_csv}", "{no_age}"], ["'age'"]),
    (["evaluate", "{adult_csv}", "{workdir}/absent.csv"], ["no such file"]),
    (["evaluate", "{adult_csv}", "{adult_csv}", "--target", "incme"], ["'incme'"]),
    (["evaluate", "{adult_csv}", "{adult_csv}", "--report", "{adult_csv}"],
     ["is a file"]),
]  # fmt: skip


@pytest.mark.parametrize(
    "args, fragments", USER_ERRORS, ids=[" ".join(a[:3]) for a, _ in USER_ERRORS]
)
def test_user_errors_are_one_line_exit_1(
    args, fragments, bad_files, adult_csv, model_file, workdir, capsys
):
    paths = {**bad_files, "adult_csv": adult_csv, "model": model_file}
    argv = [arg.format(workdir=workdir, **paths) for arg in args]
    capsys.readouterr()
    assert main(argv) == 1
    captured = capsys.readouterr()
    one_line_error(captured.err, f"sklearn-gen {args[0]}: error:", *fragments)
    assert captured.out == ""


def test_parquet_without_pyarrow_says_how_to_install(
    adult_300, workdir, model_file, monkeypatch, capsys
):
    data = workdir / "for_engine_test.parquet"
    adult_300.to_parquet(data, index=False)
    for name in ("pyarrow", "pyarrow.parquet", "fastparquet"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    assert main(["fit", str(data), "-o", str(workdir / "m.joblib")]) == 1
    one_line_error(capsys.readouterr().err, "pip install pyarrow", data.name)
    out = workdir / "rows.parquet"
    assert main(["sample", str(model_file), "-n", "5", "-o", str(out)]) == 1
    one_line_error(capsys.readouterr().err, "pip install pyarrow", "rows.parquet")


ARGPARSE_ERRORS = [
    (["fit", "data.csv", "--model", "nonexistent"], ["unknown model", "tvae", "ctgan"]),
    (["fit", "data.csv", "--param", "epochs"], ["NAME=VALUE", "'epochs'"]),
    (["fit", "data.csv", "--data", "other.csv"], ["DATA is given twice"]),
    (["fit"], ["required", "DATA"]),
    (["fit", "data.csv", "--epochs", "zero"], ["--epochs", "'zero'"]),
    (["sample", "m.joblib", "-n", "0"], ["positive integer"]),
    (["sample", "m.joblib", "--condition", "age"], ["NAME=VALUE", "'age'"]),
    (["sample"], ["required", "MODEL"]),
    (["evaluate", "real.csv"], ["required", "SYNTHETIC"]),
    (["sample", "m.joblib", "--colour", "red"], ["unrecognized", "--colour"]),
    ([], ["required", "COMMAND"]),
]


@pytest.mark.parametrize(
    "args, fragments", ARGPARSE_ERRORS, ids=[" ".join(a) for a, _ in ARGPARSE_ERRORS]
)
def test_invalid_arguments_exit_2_on_one_line(args, fragments, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(args)
    assert excinfo.value.code == 2
    line = one_line_error(capsys.readouterr().err, *fragments)
    assert "--help" in line


def test_sgen_model_files_use_the_safe_format(adult_csv, workdir, capsys):
    """-o model.sgen writes save_generator's format; sample reads it back."""
    import zipfile

    model = workdir / "model.sgen"
    status = main(["fit", str(adult_csv), *TINY_TVAE, "-o", str(model)])
    assert status == 0, capsys.readouterr().err
    with zipfile.ZipFile(model) as archive:  # not a pickle
        assert set(archive.namelist()) == {"config.json", "tensors.pt"}

    safe, pickled = workdir / "safe.csv", workdir / "pickled.csv"
    assert main(["sample", str(model), "-n", "30", "-o", str(safe), "--seed", "2"]) == 0
    from sklearn_gen import load_generator

    joblib.dump(load_generator(model), workdir / "same.joblib")
    assert main(["sample", str(workdir / "same.joblib"), "-n", "30", "-o",
                 str(pickled), "--seed", "2"]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_csv(safe), pd.read_csv(pickled))
    capsys.readouterr()
