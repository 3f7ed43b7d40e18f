"""Sampling in batches (``sample_batches``), streamed to files (``write_samples``)."""

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import sklearn_gen.base
from sklearn_gen import TVAEGenerator, write_samples
from sklearn_gen.cli import main
from tests.conftest import make_generator

N_ROWS = 240


def mixed_frame(n=N_ROWS, seed=0):
    """Every column kind the writers must keep: category, strings, datetimes, ..."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=n)
    num[rng.random(n) < 0.1] = np.nan
    nullable = pd.array(rng.integers(0, 5, n), dtype="Int64")
    nullable[rng.random(n) < 0.2] = pd.NA
    city = rng.choice(np.array(["Paris", "Lyon", "Nice", None], dtype=object), n)
    return pd.DataFrame(
        {
            "customer_id": rng.permutation(n) + 1000,
            "num": num,
            "skew": rng.lognormal(size=n),
            "count": rng.poisson(3, n),
            "nullable": nullable,
            "flag": rng.random(n) < 0.3,
            "cat": pd.Categorical(
                rng.choice(["a", "b", "c"], n), categories=["c", "b", "a", "unused"]
            ),
            "city": city,
            "label": pd.array(rng.choice(["x", "y"], n), dtype="string"),
            "when": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        }
    )


@pytest.fixture(scope="module")
def frame():
    return mixed_frame()


@pytest.fixture(scope="module")
def gen(frame):
    return make_generator(TVAEGenerator).fit(frame)


@pytest.fixture
def small_blocks(monkeypatch):
    """Generation blocks of 64 rows, so batches cut across blocks in tests."""
    monkeypatch.setattr(sklearn_gen.base, "_SAMPLE_CHUNK", 64)


def concat(batches):
    return pd.concat(batches) if batches else None


# ------------------------------------------------------------------ batches


@pytest.mark.parametrize("batch_rows", [7, 64, 100, 500])
def test_batches_concatenate_to_sample(gen, small_blocks, batch_rows):
    n = 300
    batches = list(gen.sample_batches(n, batch_rows=batch_rows, random_state=3))
    sizes = [len(b) for b in batches]
    assert sum(sizes) == n
    assert all(size == batch_rows for size in sizes[:-1]) and sizes[-1] <= batch_rows
    whole = gen.sample(n, random_state=3)
    for batch in batches:
        pd.testing.assert_series_equal(batch.dtypes, whole.dtypes)
    # Same rows for every batch_rows, and the index continues across batches.
    pd.testing.assert_frame_equal(concat(batches).drop(columns="customer_id"),
                                  whole.drop(columns="customer_id"))  # fmt: skip
    assert concat(batches).index.equals(pd.RangeIndex(n))
    # Fresh identifiers, distinct across batches too.
    ids = concat(batches)["customer_id"]
    assert ids.is_unique and ids.min() > 1000 + N_ROWS - 1


def test_random_state_none_continues_the_stream(gen):
    first = concat(list(gen.sample_batches(50, batch_rows=20)))
    second = concat(list(gen.sample_batches(50, batch_rows=20)))
    assert not first.drop(columns="customer_id").equals(
        second.drop(columns="customer_id")
    )
    again = [concat(list(gen.sample_batches(50, batch_rows=20, random_state=1)))
             for _ in range(2)]  # fmt: skip
    pd.testing.assert_frame_equal(*again)


def test_default_size_and_arguments_checked_at_call(gen):
    assert sum(len(b) for b in gen.sample_batches(batch_rows=100)) == N_ROWS
    with pytest.raises(ValueError, match="batch_rows must be >= 1"):
        gen.sample_batches(10, batch_rows=0)
    for bad in (1.5, True, "10"):
        with pytest.raises(TypeError, match="batch_rows must be a positive int"):
            gen.sample_batches(10, batch_rows=bad)
    # Bad conditions fail when called, before any batch is requested.
    with pytest.raises(ValueError, match="colour"):
        gen.sample_batches(10, conditions={"colour": "red"})
    with pytest.raises(ValueError, match="never seen"):
        gen.sample_batches(10, conditions={"cat": "zzz"})
    with pytest.raises(ValueError, match="one per sample"):
        gen.sample_batches(10, conditions=pd.DataFrame({"cat": ["a"] * 3}))
    with pytest.raises(TypeError, match="conditions must be"):
        gen.sample_batches(10, conditions=[("cat", "a")])
    with pytest.raises(ValueError, match="n_samples must be >= 0"):
        gen.sample_batches(-1)
    with pytest.raises(NotFittedError):
        TVAEGenerator().sample_batches(10)


def test_n_samples_zero_yields_nothing(gen):
    assert list(gen.sample_batches(0)) == []


def test_dict_conditions_hold_in_every_batch(gen):
    conditions = {"cat": "b", "count": 3, "city": None}
    batches = list(gen.sample_batches(90, batch_rows=25, conditions=conditions,
                                      random_state=0))  # fmt: skip
    assert [len(b) for b in batches] == [25, 25, 25, 15]
    for batch in batches:
        assert (batch["cat"] == "b").all() and (batch["count"] == 3).all()
        assert batch["city"].isna().all()
        assert batch["cat"].dtype == gen.sample(1)["cat"].dtype
    repeat = list(gen.sample_batches(90, batch_rows=25, conditions=conditions,
                                     random_state=0))  # fmt: skip
    pd.testing.assert_frame_equal(concat(batches), concat(repeat))


def test_frame_conditions_are_sliced_per_batch(gen):
    n = 70
    wanted = pd.DataFrame(
        {"cat": np.where(np.arange(n) % 3 == 0, "a", "c"),
         "flag": np.arange(n) % 2 == 0},
        index=np.arange(n) + 500,  # any index: rows are matched by position
    )  # fmt: skip
    batches = list(gen.sample_batches(batch_rows=30, conditions=wanted,
                                      random_state=0))  # fmt: skip
    assert [len(b) for b in batches] == [30, 30, 10]
    for k, batch in enumerate(batches):
        part = wanted.iloc[30 * k : 30 * k + len(batch)]
        assert (batch["cat"].astype(str).to_numpy() == part["cat"].to_numpy()).all()
        assert (batch["flag"].to_numpy() == part["flag"].to_numpy()).all()


def test_target_pairs(frame):
    X, y = frame.drop(columns="label"), frame["label"]
    gen = make_generator(TVAEGenerator, identifiers="drop").fit(X, y)
    batches = list(gen.sample_batches(130, batch_rows=50, random_state=0))
    assert [len(xb) for xb, _ in batches] == [50, 50, 30]
    for xb, yb in batches:
        assert isinstance(xb, pd.DataFrame) and isinstance(yb, pd.Series)
        assert xb.index.equals(yb.index)
        assert "customer_id" not in xb.columns
    X_new, y_new = gen.sample(130, random_state=0)
    pd.testing.assert_frame_equal(pd.concat([xb for xb, _ in batches]), X_new)
    pd.testing.assert_series_equal(pd.concat([yb for _, yb in batches]), y_new)
    only_x = list(gen.sample_batches(40, batch_rows=15, conditions={"label": "y"}))
    assert all((yb == "y").all() for _, yb in only_x)


def test_arrays(small_blocks):
    X = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    gen = make_generator(TVAEGenerator).fit(X, y)
    batches = list(gen.sample_batches(150, batch_rows=40, random_state=0))
    assert [len(xb) for xb, _ in batches] == [40, 40, 40, 30]
    assert all(isinstance(xb, np.ndarray) and xb.dtype == np.float32
               and isinstance(yb, np.ndarray) for xb, yb in batches)  # fmt: skip
    X_new, y_new = gen.sample(150, random_state=0)
    np.testing.assert_array_equal(np.vstack([xb for xb, _ in batches]), X_new)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y_new)


# ------------------------------------------------------------------ files


def as_dtypes(read, like):
    """A table read from CSV with the dtypes of ``like`` (CSV stores text)."""
    out = read.copy()
    for name, dtype in like.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype):
            out[name] = pd.to_datetime(out[name]).astype(dtype)
        elif dtype == np.dtype(object):
            out[name] = out[name].astype(object).where(out[name].notna(), None)
        else:
            out[name] = out[name].astype(dtype)
    return out


@pytest.mark.parametrize("name", ["rows.csv", "rows.csv.gz"])
def test_csv_round_trip(gen, tmp_path, name):
    path = tmp_path / name
    assert write_samples(gen, path, 130, batch_rows=50, random_state=0) == 130
    expected = concat(list(gen.sample_batches(130, batch_rows=50, random_state=0)))
    expected = expected.reset_index(drop=True)
    read = pd.read_csv(path, float_precision="round_trip")
    assert list(read.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(as_dtypes(read, expected), expected)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic number
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary left


def test_parquet_round_trip_keeps_dtypes(gen, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "rows.parquet"
    # The first batch asks for missing cities only: the column's type must still
    # be string for the later batches (the schema is fixed from the first batch).
    conditions = pd.DataFrame({"city": [None] * 40 + ["Nice"] * 90})
    n = write_samples(gen, path, batch_rows=40, conditions=conditions, random_state=0)
    assert n == 130
    assert pq.ParquetFile(path).metadata.num_row_groups == 4  # one per batch
    expected = concat(list(gen.sample_batches(batch_rows=40, conditions=conditions,
                                              random_state=0)))  # fmt: skip
    read = pd.read_parquet(path)
    pd.testing.assert_frame_equal(read, expected.reset_index(drop=True))
    assert list(read["cat"].cat.categories) == ["c", "b", "a", "unused"]
    assert str(read["nullable"].dtype) == "Int64" and read["label"].dtype == "string"


def test_unconditioned_file_independent_of_batch_rows(gen, tmp_path, small_blocks):
    pytest.importorskip("pyarrow")
    paths = [tmp_path / f"{k}.parquet" for k in (30, 1000)]
    for path, batch_rows in zip(paths, (30, 1000), strict=True):
        write_samples(gen, path, 200, batch_rows=batch_rows, random_state=5)
    first, second = (pd.read_parquet(p).drop(columns="customer_id") for p in paths)
    pd.testing.assert_frame_equal(first, second)


def test_zero_rows_write_header_and_schema(gen, tmp_path):
    pytest.importorskip("pyarrow")
    columns = list(gen.sample(1).columns)
    for name in ("empty.csv", "empty.parquet"):
        assert write_samples(gen, tmp_path / name, 0) == 0
    assert list(pd.read_csv(tmp_path / "empty.csv").columns) == columns
    empty = pd.read_parquet(tmp_path / "empty.parquet")
    assert empty.shape == (0, len(columns)) and list(empty.columns) == columns
    assert empty["cat"].dtype == "category"


def test_writer_errors(gen, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"\.csv, \*\.csv\.gz, \*\.parquet"):
        write_samples(gen, tmp_path / "rows.txt", 10)
    with pytest.raises(ValueError, match="format must be"):
        write_samples(gen, tmp_path / "rows.txt", 10, format="xlsx")
    assert write_samples(gen, tmp_path / "rows.txt", 10, format="csv") == 10
    with pytest.raises(TypeError, match="fitted sklearn_gen generator"):
        write_samples(object(), tmp_path / "rows.csv", 10)
    # A failure mid-way leaves no file behind (rows go to a temporary file first).
    with pytest.raises(ValueError, match="batch_rows"):
        write_samples(gen, tmp_path / "bad.csv", 10, batch_rows=0)
    for module in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(ImportError, match="pip install pyarrow"):
        write_samples(gen, tmp_path / "rows.parquet", 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.txt"]


def test_partial_file_removed_on_failure(gen, tmp_path, monkeypatch):
    calls, original = [], TVAEGenerator._add_batch_identifiers

    def failing(self, *args):
        calls.append(1)
        if len(calls) == 2:  # the second batch
            raise RuntimeError("disk full")
        return original(self, *args)

    monkeypatch.setattr(TVAEGenerator, "_add_batch_identifiers", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_samples(gen, tmp_path / "rows.csv", 100, batch_rows=40)
    assert list(tmp_path.iterdir()) == []


def test_cli_sample_batch_rows(gen, tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    import joblib

    model = tmp_path / "model.joblib"
    joblib.dump(gen, model)
    out = tmp_path / "rows.parquet"
    argv = ["sample", str(model), "-n", "120", "-o", str(out), "--seed", "2",
            "--batch-rows", "50", "--verbose", "1"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Wrote 120 rows to" in captured.out
    assert "120/120" in captured.err  # the progress bar over the rows written
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    expected = gen.sample(120, random_state=2).drop(columns="customer_id")
    pd.testing.assert_frame_equal(pd.read_parquet(out).drop(columns="customer_id"),
                                  expected)  # fmt: skip
    with pytest.raises(SystemExit) as excinfo:
        main(["sample", str(model), "--batch-rows", "0"])
    assert excinfo.value.code == 2
    assert "positive integer" in capsys.readouterr().err
