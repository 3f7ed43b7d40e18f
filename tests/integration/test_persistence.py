"""Saving generators: pickles record library versions; the safe format runs no code.

Every generator (and TVAE / CTGAN with differential privacy), fitted with a target
and identifier columns, goes through joblib and through ``save_generator`` /
``load_generator``: both must give the same rows, representation and score as the
original, honour conditions and continue training. Files that are not what they
claim (a pickled callable, an unknown class, a newer format) are refused with a
clear error, and nothing in them runs.
"""

import io
import json
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from pandas.testing import assert_frame_equal, assert_series_equal
from sklearn.exceptions import InconsistentVersionWarning as SklearnVersionWarning
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EpochScoring

import sklearn_gen
from sklearn_gen import (
    CTGANGenerator,
    DPConfig,
    TVAEGenerator,
    _persistence,
    load_generator,
    save_generator,
)
from sklearn_gen.exceptions import InconsistentVersionWarning
from sklearn_gen.utils.discovery import all_generators

from ..conftest import make_generator

CASES = {name: (cls, {}) for name, cls in all_generators()}
CASES["TVAEGenerator-privacy"] = (TVAEGenerator, dict(privacy=DPConfig(epsilon=5.0)))
CASES["CTGANGenerator-privacy"] = (
    CTGANGenerator,
    dict(privacy=DPConfig(epsilon=5.0), pac=1),
)


@pytest.fixture(scope="module")
def table(adult):
    """300 Adult rows with two identifier columns, and the income as ``y``."""
    X = adult.drop(columns="income").iloc[:300].reset_index(drop=True)
    X.insert(0, "customer_id", np.arange(5000, 5300))
    X["email"] = [f"person{i}@example.com" for i in range(300)]
    return X, adult["income"].iloc[:300].reset_index(drop=True)


@pytest.fixture(scope="module", params=list(CASES))
def saved(request, table, tmp_path_factory):
    """A fitted generator, its joblib copy and its safe-format copy."""
    cls, overrides = CASES[request.param]
    X, y = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # privacy: budget notes
        generator = make_generator(cls, **overrides).fit(X, y)
    directory = tmp_path_factory.mktemp("models")
    joblib_path = directory / "model.joblib"
    safe_path = directory / "model.sgen"
    joblib.dump(generator, joblib_path)
    save_generator(generator, safe_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickled = joblib.load(joblib_path)
        loaded = load_generator(safe_path)
    return generator, pickled, loaded, safe_path


def _assert_same_sample(first, second):
    (X1, y1), (X2, y2) = first, second
    assert_frame_equal(X1, X2)
    assert_series_equal(y1, y2)


def test_round_trips_give_identical_rows_representation_and_score(saved, table):
    generator, pickled, loaded, _ = saved
    X, y = table
    assert type(loaded) is type(generator)
    assert loaded.get_params() == generator.get_params()
    assert loaded.device_ == "cpu"
    assert [c.name for c in loaded.identifiers_] == ["customer_id", "email"]
    expected = generator.sample(100, random_state=0)
    _assert_same_sample(pickled.sample(100, random_state=0), expected)
    _assert_same_sample(loaded.sample(100, random_state=0), expected)
    # The default stream (random_state=None) continues from the same state.
    _assert_same_sample(loaded.sample(30), pickled.sample(30))
    Z = generator.transform(X)
    np.testing.assert_array_equal(pickled.transform(X), Z)
    np.testing.assert_array_equal(loaded.transform(X), Z)
    assert_frame_equal(
        loaded.inverse_transform(Z[:50]), generator.inverse_transform(Z[:50])
    )
    holdout_X, holdout_y = X.iloc[:100], y.iloc[:100]
    score = generator.score(holdout_X, holdout_y)
    assert pickled.score(holdout_X, holdout_y) == score
    assert loaded.score(holdout_X, holdout_y) == score
    assert loaded.n_iter_ == generator.n_iter_
    assert loaded.history_ is loaded.net_.history_
    assert loaded.history_.to_list() == generator.history_.to_list()
    if getattr(generator, "privacy", None) is not None:
        assert loaded.privacy_spent_ == generator.privacy_spent_
        assert loaded.net_.accountant_.history == generator.net_.accountant_.history


def test_conditions_work_after_loading(saved):
    generator, _, loaded, _ = saved
    label = generator.sample(1, random_state=0)[1].iloc[0]
    conditions = {generator.target_name_: label}
    X_new, y_new = loaded.sample(20, conditions=conditions, random_state=1)
    assert (y_new == label).all() and len(X_new) == 20
    _assert_same_sample(
        (X_new, y_new), generator.sample(20, conditions=conditions, random_state=1)
    )


def test_partial_fit_continues_identically_after_loading(saved, table):
    """The optimiser state, the random streams and the net's counters are saved:
    continued training from the safe file is bit-identical to continued training
    from the pickle."""
    generator, _, _, path = saved
    X, y = table
    copies = [pickle.loads(pickle.dumps(generator)), load_generator(path)]
    for copy in copies:
        copy.sample(10)  # sampling first must not break training
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # privacy: budget spent
            copy.partial_fit(X, y)
    assert copies[1].n_iter_ == copies[0].n_iter_
    assert copies[1].n_iter_ >= generator.n_iter_
    _assert_same_sample(
        copies[1].sample(100, random_state=0), copies[0].sample(100, random_state=0)
    )


# ------------------------------------------------------------- versions


def _rewrite(path, target, *, config=None, tensors=None):
    """Copy the archive at ``path`` to ``target`` with a member replaced."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if config is not None:
        members["config.json"] = json.dumps(config).encode()
    if tensors is not None:
        members["tensors.pt"] = tensors
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def _config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


@pytest.fixture(scope="module")
def tvae(table):
    X, y = table
    return make_generator(TVAEGenerator).fit(X, y)


@pytest.fixture()
def tvae_file(tvae, tmp_path):
    path = tmp_path / "tvae.sgen"
    save_generator(tvae, path)
    return path


def test_pickle_records_versions_and_warns_under_others(tvae, monkeypatch):
    state = tvae.__getstate__()
    assert state["_sklearn_gen_versions"] == _persistence.library_versions()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: silent
        pickle.loads(pickle.dumps(tvae))
    real = _persistence.library_versions
    monkeypatch.setattr(
        _persistence,
        "library_versions",
        lambda: {**real(), "torch": "1.0.0", "scikit-learn": "0.24.0"},
    )
    data = pickle.dumps(tvae)
    monkeypatch.setattr(_persistence, "library_versions", real)
    with pytest.warns(InconsistentVersionWarning) as record:
        restored = pickle.loads(data)
    messages = {w.message.library: str(w.message) for w in record}
    assert set(messages) == {"torch", "scikit-learn"}
    assert "saved with torch 1.0.0" in messages["torch"]
    assert f"loaded with torch {torch.__version__}" in messages["torch"]
    assert "Re-fit" in messages["torch"] and "torch==1.0.0" in messages["torch"]
    warning = record[0].message
    assert isinstance(warning, SklearnVersionWarning)  # sklearn's filters apply
    assert warning.estimator_name == "TVAEGenerator"
    assert "_sklearn_gen_versions" not in vars(restored)
    _assert_same_sample(
        restored.sample(20, random_state=0), tvae.sample(20, random_state=0)
    )


def test_safe_file_warns_under_other_versions(tvae_file, tmp_path):
    config = _config(tvae_file)
    config["versions"]["numpy"] = "1.0.0"
    config["versions"]["python"] = "2.7.18"
    # A different local label (a CUDA build of the same torch) is not a change.
    config["versions"]["torch"] = torch.__version__.split("+")[0] + "+cu999"
    path = _rewrite(tvae_file, tmp_path / "old.sgen", config=config)
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = load_generator(path)
    assert {w.message.library for w in record} == {"numpy", "python"}
    numpy_message = next(str(w.message) for w in record if w.message.library == "numpy")
    assert f"saved with numpy 1.0.0 and is loaded with numpy {np.__version__}" in (
        numpy_message
    )
    check_is_fitted(loaded)


# ------------------------------------------------------------- safety


class _Payload:
    """Unpickling this calls ``open(path, "w").write(...)``: arbitrary code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('pwned')",))


def test_pickled_callable_in_tensors_is_refused_and_never_runs(tvae_file, tmp_path):
    marker = tmp_path / "marker.txt"
    buffer = io.BytesIO()
    torch.save({"arrays": [], "net": {"modules": _Payload(marker)}}, buffer)
    # The payload is live: an unsafe torch.load would run it.
    torch.load(io.BytesIO(buffer.getvalue()), weights_only=False)
    assert marker.read_text() == "pwned"
    marker.unlink()

    path = _rewrite(tvae_file, tmp_path / "evil.sgen", tensors=buffer.getvalue())
    with pytest.raises(ValueError, match="could run code.*refused"):
        load_generator(path)
    assert not marker.exists()


def test_a_pickle_is_not_loaded(tvae, tmp_path):
    marker = tmp_path / "marker.txt"
    path = tmp_path / "model.joblib"
    joblib.dump({"model": tvae, "payload": _Payload(marker)}, path)
    with pytest.raises(ValueError, match="not a zip archive.*joblib.load"):
        load_generator(path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["EvilGenerator", "os.system", "TabularEncoder", None])
def test_unknown_class_is_refused(tvae_file, tmp_path, name):
    config = _config(tvae_file)
    config["class"] = name
    path = _rewrite(tvae_file, tmp_path / "unknown.sgen", config=config)
    with pytest.raises(ValueError, match="not one of sklearn_gen's generators"):
        load_generator(path)


def test_unknown_type_in_state_is_refused(tvae_file, tmp_path):
    config = _config(tvae_file)
    config["state"]["encoder_"] = {"$t": "subprocess.Popen", "state": {}}
    path = _rewrite(tvae_file, tmp_path / "tag.sgen", config=config)
    with pytest.raises(ValueError, match="Unknown type tag 'subprocess.Popen'"):
        load_generator(path)


def test_newer_format_version_is_refused(tvae_file, tmp_path):
    config = _config(tvae_file)
    config["format_version"] = _persistence.FORMAT_VERSION + 1
    config["versions"]["sklearn_gen"] = "99.0"
    path = _rewrite(tvae_file, tmp_path / "newer.sgen", config=config)
    with pytest.raises(
        ValueError, match=r"format version 2 \(written by sklearn_gen 99.0\)"
    ):
        load_generator(path)
    with pytest.raises(ValueError, match="Upgrade sklearn_gen"):
        load_generator(path)


def test_other_files_are_refused(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as f:
        f.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="lacks config.json"):
        load_generator(archive)
    config = {"format": "something-else"}
    with zipfile.ZipFile(archive, "w") as f:
        f.writestr("config.json", json.dumps(config))
        f.writestr("tensors.pt", b"")
    with pytest.raises(ValueError, match="not a sklearn_gen model file"):
        load_generator(archive)


def test_only_sklearn_gen_generators_are_saved(tvae, tmp_path):
    class MyTVAE(TVAEGenerator):
        pass

    with pytest.raises(TypeError, match="sklearn_gen's own generators"):
        save_generator(MyTVAE(), tmp_path / "sub.sgen")
    with pytest.raises(TypeError, match="sklearn_gen's own generators"):
        save_generator(tvae.encoder_, tmp_path / "enc.sgen")


def test_unsupported_state_is_named_at_save(tvae, tmp_path):
    odd = pickle.loads(pickle.dumps(tvae))
    odd.extra_ = object()
    with pytest.raises(TypeError, match=r"TVAEGenerator\['extra_'\].*joblib"):
        save_generator(odd, tmp_path / "odd.sgen")


# ------------------------------------------------------------- devices, params


def test_map_location_and_a_cuda_saved_model_on_cpu(tvae, tvae_file, tmp_path):
    loaded = load_generator(tvae_file, map_location="cpu")
    assert loaded.device_ == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.net_.module_.parameters())
    # A file saved from CUDA (tensors are always written from the CPU; the
    # generator records the device it lived on).
    config = _config(tvae_file)
    config["state"]["device_"] = "cuda"
    path = _rewrite(tvae_file, tmp_path / "cuda.sgen", config=config)
    if not torch.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            on_cpu = load_generator(path)
        assert on_cpu.device_ == "cpu"
        _assert_same_sample(
            on_cpu.sample(20, random_state=0), tvae.sample(20, random_state=0)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit = load_generator(path, map_location=torch.device("cpu"))
    assert explicit.device_ == "cpu" and explicit.device == tvae.device


def test_loading_leaves_the_global_rng_alone(tvae_file):
    state = torch.get_rng_state()
    load_generator(tvae_file)
    assert torch.equal(torch.get_rng_state(), state)


def test_unfitted_generator_and_file_objects(tmp_path):
    generator = TVAEGenerator(
        epochs=3, compress_dims=[8, 4], random_state=np.random.RandomState(3)
    )
    buffer = io.BytesIO()
    save_generator(generator, buffer)
    buffer.seek(0)
    loaded = load_generator(buffer)
    params = loaded.get_params()
    assert params["compress_dims"] == [8, 4] and params["epochs"] == 3
    assert (
        params["random_state"].randint(1000, size=5).tolist()
        == np.random.RandomState(3).randint(1000, size=5).tolist()
    )
    assert not hasattr(loaded, "net_")


def test_callbacks_are_not_saved(table, tmp_path):
    X, y = table
    callback = EpochScoring(lambda net, X=None, y=None: 0.0, name="zero", on_train=True)
    generator = make_generator(TVAEGenerator, epochs=1, callbacks=[callback]).fit(X, y)
    path = tmp_path / "callbacks.sgen"
    with pytest.warns(UserWarning, match="callbacks are not saved"):
        save_generator(generator, path)
    loaded = load_generator(path)
    assert loaded.callbacks is None
    assert "zero" in loaded.history_[-1]  # the history they wrote is kept
    _assert_same_sample(
        loaded.sample(20, random_state=0), generator.sample(20, random_state=0)
    )


def test_array_input_and_pandas_dtypes_round_trip(tmp_path):
    rng = np.random.RandomState(0)
    n = 120
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n).round(3),
            "count": pd.array(rng.randint(0, 5, n), dtype="Int64"),
            "flag": rng.rand(n) > 0.5,
            "colour": pd.Categorical(rng.choice(["red", "blue", "green"], n)),
            "name": pd.array(rng.choice(["a", "b", None], n), dtype="string"),
            "when": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Paris"),
            "maybe": np.where(rng.rand(n) < 0.2, np.nan, rng.normal(size=n)),
        }
    )
    frame.loc[3, "count"] = pd.NA
    for data in (frame, rng.normal(size=(n, 3)).astype(np.float32)):
        generator = make_generator(TVAEGenerator).fit(data)
        path = tmp_path / "model.sgen"
        save_generator(generator, path)
        loaded = load_generator(path)
        expected = generator.sample(50, random_state=0)
        got = loaded.sample(50, random_state=0)
        if isinstance(data, pd.DataFrame):
            assert_frame_equal(got, expected)
            assert (got.dtypes == frame.dtypes).all()
        else:
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, expected)


def test_public_api():
    assert sklearn_gen.save_generator is save_generator
    assert {"save_generator", "load_generator"} <= set(sklearn_gen.__all__)
    assert issubclass(InconsistentVersionWarning, SklearnVersionWarning)
