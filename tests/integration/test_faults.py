"""Faults during training, for every generator family.

* a NaN/inf loss stops training with a FloatingPointError naming the loss, the
  epoch and the likely causes (FiniteLossGuard watches every loss a net records);
* Ctrl-C (KeyboardInterrupt) leaves a generator that samples from the last
  completed epoch, with a warning; ``partial_fit`` finishes the interrupted run;
* a GeneratorCheckpoint file lets a killed training resume with ``partial_fit``,
  ending (on the CPU) exactly where the uninterrupted training ends.

Interrupts and kills are simulated by callbacks (and, in two tests, by real
signals in a child process).
"""

import copy
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback, EarlyStopping

from sklearn_gen import (
    CTGANGenerator,
    LatentDiffusionGenerator,
    TabDDPMGenerator,
    TVAEGenerator,
)
from sklearn_gen.callbacks import GeneratorCheckpoint
from sklearn_gen.utils.discovery import all_generators
from tests.conftest import make_generator

REPO = Path(__file__).resolve().parents[2]
GENERATORS = [cls for _, cls in all_generators()]
IDS = [cls.__name__ for cls in GENERATORS]
#: Environment variable that arms the real-signal callbacks (child processes only).
ARM = "SKLEARN_GEN_TEST_SIGNAL"


def _config(cls, **overrides):
    """Four epochs of the tiny test configuration (LatentDiffusion: 2 VAE + 2)."""
    params = {"epochs": 4}
    if cls is LatentDiffusionGenerator:
        params["vae_epochs"] = 2
    return make_generator(cls, **{**params, **overrides})


def _ready_epoch(cls):
    """An epoch of the 4 after which the generator can sample (LD: a diffusion one)."""
    return 3 if cls is LatentDiffusionGenerator else 2


@pytest.fixture(scope="module")
def table(adult):
    return adult.sample(300, random_state=0).reset_index(drop=True)


# ------------------------------------------------------------------ callbacks

#: Tokens of the one-shot callbacks that already fired (survives their pickling
#: into a checkpoint, so a resumed run is not interrupted again).
_FIRED = set()
#: Module states captured by Snapshot, by token.
_SNAPSHOTS = {}


class Killed(BaseException):
    """Stands for the process dying: nothing catches it."""


class Interrupt(Callback):
    """Raise ``exc`` once: at the end of ``epoch``, or after its ``batch``-th batch."""

    def __init__(self, token, epoch, batch=None, exc=KeyboardInterrupt):
        self.token = token
        self.epoch = epoch
        self.batch = batch
        self.exc = exc

    def _fire(self):
        if self.token not in _FIRED:
            _FIRED.add(self.token)
            raise self.exc

    def on_batch_end(self, net, training=False, **kwargs):
        if (
            self.batch is not None
            and len(net.history) == self.epoch
            and len(net.history[-1]["batches"]) == self.batch
        ):
            self._fire()

    def on_epoch_end(self, net, **kwargs):
        if self.batch is None and len(net.history) == self.epoch:
            self._fire()


class Poison(Callback):
    """Make every weight of ``net.<module>`` NaN when ``epoch`` begins."""

    def __init__(self, module, epoch):
        self.module = module
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            with torch.no_grad():
                for p in getattr(net, self.module).parameters():
                    p.fill_(float("nan"))


class Snapshot(Callback):
    """Copy every module's state at the end of ``epoch`` into ``_SNAPSHOTS[token]``."""

    def __init__(self, token, epoch):
        self.token = token
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            _SNAPSHOTS[self.token] = copy.deepcopy(_states(net))


class SignalAt(Callback):
    """Send ``signum`` to this process after batch 2 of ``epoch``.

    Armed only in the process that created it and only when the ``ARM``
    environment variable is set, so an unpickled copy (the parent loading a
    checkpoint) never fires.
    """

    def __init__(self, signum, epoch):
        self.signum = signum
        self.epoch = epoch
        self.pid = os.getpid()

    def on_batch_end(self, net, training=False, **kwargs):
        if (
            os.environ.get(ARM) == "1"
            and os.getpid() == self.pid
            and len(net.history) == self.epoch
            and len(net.history[-1]["batches"]) == 2
        ):
            os.kill(os.getpid(), self.signum)


# ------------------------------------------------------------------ helpers


def _states(net):
    """Every tensor of every module of ``net`` (weights, EMA, buffers)."""
    out = {}
    for name in net._modules:
        for key, value in getattr(net, name + "_").state_dict().items():
            out[f"{name}.{key}"] = value.detach().clone()
    return out


def _same_states(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _assert_valid_rows(rows, real, n):
    """Rows with the real table's columns, finite numbers and known categories."""
    assert isinstance(rows, pd.DataFrame)
    assert list(rows.columns) == list(real.columns)
    assert len(rows) == n
    for column in real.columns:
        values, seen = rows[column], real[column]
        if pd.api.types.is_numeric_dtype(seen):
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            assert not np.isinf(numbers).any(), column
            if not seen.isna().any():
                assert not np.isnan(numbers).any(), column
        else:
            assert set(values.dropna()) <= set(seen.dropna()), column


def _interrupted(gen, table):
    """Fit, returning the messages of the interruption warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gen.fit(table)
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, UserWarning) and "interrupted" in str(w.message)
    ]


# ------------------------------------------------------------------ NaN / inf


POISON_CASES = [
    (TVAEGenerator, "module_", 2, ["'train_loss' became nan"], None),
    (
        CTGANGenerator,
        "discriminator_",
        2,
        [
            "'train_loss' (the generator's loss) became nan",
            "'train_loss_discriminator' (the critic's Wasserstein loss) became nan",
        ],
        None,
    ),
    (
        TabDDPMGenerator,
        "module_",
        2,
        ["'train_loss_gaussian' (the Gaussian diffusion term, numerical columns) "
         "became nan"],
        None,
    ),
    (LatentDiffusionGenerator, "module_", 2, ["'train_loss' became nan"], "vae stage"),
    (
        LatentDiffusionGenerator,
        "denoiser_",
        3,
        ["'train_loss' became nan"],
        "diffusion stage",
    ),
]
POISON_CASES += [
    (cls, "module_", 2, ["'train_loss' became nan"], None)
    for cls in GENERATORS
    if cls not in {c for c, *_ in POISON_CASES}
]


@pytest.mark.parametrize(
    "cls, module, epoch, losses, stage",
    POISON_CASES,
    ids=[f"{c.__name__}-{m.rstrip('_')}" for c, m, *_ in POISON_CASES],
)
def test_non_finite_loss_stops_with_the_loss_epoch_and_causes(
    cls, module, epoch, losses, stage, table
):
    gen = _config(cls, callbacks=[Poison(module, epoch)])
    with pytest.raises(FloatingPointError) as info:
        gen.fit(table)
    message = str(info.value)
    where = f"in epoch {epoch}, batch 1" + (f", {stage}" if stage else "")
    assert message.startswith(f"The training loss {losses[0]}")
    for loss in losses[1:]:
        assert loss in message
    assert f" {where}. Likely causes: a learning rate that is too high (now " in message
    assert "batch_size (now 64)" in message
    assert "the generator is left unfitted" in message
    # Non-finite weights are not a model: the generator is not fitted.
    with pytest.raises(NotFittedError):
        gen.sample(5)


@pytest.mark.parametrize(
    "cls, params, where, lr_text",
    [
        (TVAEGenerator, {"lr": 1e12}, "in epoch 1, batch 2.", "(now lr=1e+12)"),
        (
            LatentDiffusionGenerator,
            {"epochs": 6, "vae_epochs": 3, "diffusion_lr": 1e12},
            "in epoch 4, batch 2, diffusion stage.",
            "(now diffusion_lr=1e+12, vae_lr=0.01)",
        ),
    ],
    ids=["TVAE-lr", "LatentDiffusion-diffusion_lr"],
)
def test_absurd_learning_rate_diverges_with_a_clear_error(
    cls, params, where, lr_text, table
):
    gen = _config(cls, **params)
    with pytest.raises(FloatingPointError, match="too high") as info:
        gen.fit(table)
    assert where in str(info.value)
    assert lr_text in str(info.value)


def test_partial_fit_divergence_leaves_the_generator_unfitted(table):
    gen = _config(TVAEGenerator, callbacks=[Poison("module_", 5)]).fit(table)
    with pytest.raises(FloatingPointError, match="in epoch 5, batch 1"):
        gen.partial_fit(table)
    with pytest.raises(NotFittedError):
        gen.sample(5)


# ------------------------------------------------------------------ Ctrl-C


@pytest.mark.parametrize("cls", GENERATORS, ids=IDS)
def test_ctrl_c_at_epoch_end_samples_from_that_epoch_and_resumes(cls, table):
    k = _ready_epoch(cls)
    reference = _config(cls, callbacks=[Snapshot(f"end-{cls.__name__}", k)])
    reference.fit(table)
    gen = _config(cls, callbacks=[Interrupt(f"end-{cls.__name__}", epoch=k)])
    messages = _interrupted(gen, table)

    assert messages == [
        f"{cls.__name__}: training interrupted by KeyboardInterrupt after epoch {k} "
        f"of 4; the generator samples from epoch {k}. Call partial_fit(X) with the "
        f"same rows to train the remaining {4 - k} epoch(s)."
    ]
    assert gen.n_iter_ == k
    assert len(gen.history_) == k
    # Exactly the weights (and EMA, buffers) the uninterrupted run had at epoch k.
    assert _same_states(_states(gen.net_), _SNAPSHOTS[f"end-{cls.__name__}"])
    rows = gen.sample(200, random_state=0)
    _assert_valid_rows(rows, table, 200)

    # partial_fit finishes the run: the remaining epochs, the same streams.
    gen.partial_fit(table)
    assert gen.n_iter_ == 4
    assert _same_states(_states(gen.net_), _states(reference.net_))
    pd.testing.assert_frame_equal(
        gen.sample(50, random_state=1), reference.sample(50, random_state=1)
    )
    assert "_resume_" not in vars(gen)
    # Afterwards partial_fit is a plain warm start again: `epochs` more.
    gen.partial_fit(table)
    assert gen.n_iter_ == 8


@pytest.mark.parametrize("cls", GENERATORS, ids=IDS)
def test_ctrl_c_mid_epoch_keeps_the_partial_updates(cls, table):
    k = _ready_epoch(cls)
    token = f"mid-{cls.__name__}"
    reference = _config(cls, callbacks=[Snapshot(token, k)]).fit(table)
    gen = _config(cls, callbacks=[Interrupt(token, epoch=k + 1, batch=2)])
    messages = _interrupted(gen, table)

    assert messages == [
        f"{cls.__name__}: training interrupted by KeyboardInterrupt after epoch {k} "
        f"of 4; the generator samples from epoch {k} plus 2 batch update(s) of the "
        f"unfinished epoch {k + 1} (kept in the weights, not in history_). Call "
        f"partial_fit(X) with the same rows to train the remaining {4 - k} epoch(s)."
    ]
    assert gen.n_iter_ == k
    assert len(gen.history_) == k
    assert all("train_loss" in row for row in gen.history_)
    # Not rolled back: the two batch updates of the cut epoch are in the weights.
    assert not _same_states(_states(gen.net_), _SNAPSHOTS[token])
    _assert_valid_rows(gen.sample(200, random_state=0), table, 200)
    gen.partial_fit(table)
    assert gen.n_iter_ == 4
    assert not _same_states(_states(gen.net_), _states(reference.net_))
    _assert_valid_rows(gen.sample(100, random_state=0), table, 100)


@pytest.mark.parametrize("cls", GENERATORS, ids=IDS)
def test_ctrl_c_before_the_first_epoch_leaves_nothing_fitted(cls, table):
    gen = _config(cls, callbacks=[Interrupt(f"first-{cls.__name__}", epoch=1, batch=1)])
    with pytest.raises(KeyboardInterrupt, match="before its first epoch completed"):
        gen.fit(table)
    with pytest.raises(NotFittedError):
        gen.sample(5)
    assert not [v for v in vars(gen) if v.endswith("_") and not v.startswith("__")]


def test_ctrl_c_during_a_partial_fit_keeps_the_earlier_epochs(table):
    gen = _config(
        TVAEGenerator, callbacks=[Interrupt("pf", epoch=5, batch=1)]
    ).fit(table)
    with pytest.warns(UserWarning) as caught:
        gen.partial_fit(table)
    assert str(caught[0].message).startswith(
        "TVAEGenerator: training interrupted by KeyboardInterrupt after epoch 0 of 4 "
        "of this partial_fit call; the generator samples from epoch 4 plus 1 batch "
        "update(s) of the unfinished epoch 5"
    )
    assert gen.n_iter_ == 4
    _assert_valid_rows(gen.sample(50, random_state=0), table, 50)
    gen.partial_fit(table)
    assert gen.n_iter_ == 8


def test_latent_diffusion_interrupted_in_the_vae_stage(table):
    cls = LatentDiffusionGenerator
    reference = _config(cls).fit(table)
    gen = _config(cls, callbacks=[Interrupt("ld-vae", epoch=1)])
    messages = _interrupted(gen, table)
    assert messages == [
        "LatentDiffusionGenerator: training interrupted by KeyboardInterrupt after "
        "epoch 1 of 4; the generator samples from epoch 1. Call partial_fit(X) with "
        "the same rows to train the remaining 3 epoch(s). The diffusion stage has "
        "not run on the current VAE, so sample raises NotFittedError until then."
    ]
    assert gen.n_iter_ == 1
    with pytest.raises(NotFittedError) as info:
        gen.sample(5)
    assert str(info.value) == (
        "LatentDiffusionGenerator cannot sample: its diffusion stage never ran on "
        "the current VAE (training was interrupted after epoch 1 of 4; "
        "vae_epochs=2). Call partial_fit(X) with the same rows to train the "
        "remaining 3 epoch(s), then sample."
    )
    with pytest.raises(NotFittedError):
        gen.score(table)
    # The VAE alone is usable: transform encodes rows.
    width = reference.transform(table).shape[1]
    assert gen.transform(table.head(5)).shape == (5, width)

    gen.partial_fit(table)
    assert gen.history_[:, "stage"] == ["vae", "vae", "diffusion", "diffusion"]
    assert _same_states(_states(gen.net_), _states(reference.net_))
    _assert_valid_rows(gen.sample(100, random_state=0), table, 100)


def test_latent_diffusion_partial_fit_interrupted_in_its_vae_stage(table):
    # A later partial_fit retrains the VAE first: interrupted there, the old
    # denoiser no longer matches the VAE's latents, so sampling is refused.
    gen = _config(
        LatentDiffusionGenerator, callbacks=[Interrupt("ld-pf", epoch=5, batch=1)]
    ).fit(table)
    with pytest.warns(UserWarning, match="The diffusion stage has not run"):
        gen.partial_fit(table)
    with pytest.raises(NotFittedError, match="after epoch 0 of 4"):
        gen.sample(5)
    gen.partial_fit(table)
    assert gen.n_iter_ == 8
    _assert_valid_rows(gen.sample(50, random_state=0), table, 50)


def test_tabddpm_ema_covers_exactly_the_batches_trained(table):
    gen = _config(TabDDPMGenerator, callbacks=[Interrupt("ema", epoch=3, batch=2)])
    _interrupted(gen, table)
    net = gen.net_
    batches = sum(len(row["batches"]) for row in gen.history_)
    # Updated after every batch, the cut epoch's two included, like the weights.
    assert net.ema_updates_ == batches + 2
    assert net.sampling_module() is net.ema_module_
    # The learning-rate decay is undone at the interruption, as at a normal end.
    assert [g["lr"] for g in net.optimizer_.param_groups] == [gen.lr]
    _assert_valid_rows(gen.sample(100, random_state=0), table, 100)


def test_early_stopping_is_not_an_interruption(table, tmp_path):
    path = tmp_path / "gen.joblib"
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=0.99)
    gen = _config(TVAEGenerator, epochs=6, callbacks=[GeneratorCheckpoint(path), stop])
    assert _interrupted(gen, table) == []
    assert gen.n_iter_ == 2
    assert "_resume_" not in vars(gen)
    # The checkpoint of the last epoch does not offer to resume a finished run.
    saved = joblib.load(path)
    assert saved.n_iter_ == 2 and "_resume_" not in vars(saved)


# ------------------------------------------------------------------ checkpoints


@pytest.mark.parametrize("cls", GENERATORS, ids=IDS)
def test_checkpoint_resumes_a_killed_training(cls, table, tmp_path):
    path = tmp_path / "gen.joblib"
    token = f"kill-{cls.__name__}"
    gen = _config(
        cls,
        callbacks=[GeneratorCheckpoint(path), Interrupt(token, 3, batch=1, exc=Killed)],
    )
    with pytest.raises(Killed):
        gen.fit(table)
    del gen  # the process state is abandoned

    resumed = joblib.load(path)
    assert resumed.n_iter_ == 2
    assert len(resumed.history_) == 2
    if cls is LatentDiffusionGenerator:
        # Saved at the end of its VAE stage: no diffusion model yet.
        with pytest.raises(NotFittedError, match="remaining 2 epoch"):
            resumed.sample(5)
    else:
        _assert_valid_rows(resumed.sample(50, random_state=0), table, 50)

    resumed.partial_fit(table)
    assert resumed.n_iter_ == 4
    assert len(resumed.history_) == 4
    rows = resumed.sample(100, random_state=0)
    _assert_valid_rows(rows, table, 100)
    # On the CPU the resumed run ends exactly where an uninterrupted one does.
    reference = _config(cls).fit(table)
    assert _same_states(_states(resumed.net_), _states(reference.net_))
    np.testing.assert_array_equal(
        resumed.history_[:, "train_loss"], reference.history_[:, "train_loss"]
    )
    pd.testing.assert_frame_equal(rows, reference.sample(100, random_state=0))
    # The resumed fit kept checkpointing: the file holds the finished generator.
    final = joblib.load(path)
    assert final.n_iter_ == 4 and "_resume_" not in vars(final)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen.joblib"]


def test_checkpoint_every_and_the_last_epoch(table, tmp_path):
    path = tmp_path / "gen.joblib"
    gen = _config(
        TVAEGenerator,
        epochs=5,
        callbacks=[
            GeneratorCheckpoint(str(path), every=3),
            Interrupt("every", 5, batch=1, exc=Killed),
        ],
    )
    with pytest.raises(Killed):
        gen.fit(table)
    assert joblib.load(path).n_iter_ == 3  # saved after epoch 3, not 4
    gen = _config(
        TVAEGenerator, epochs=5, callbacks=[GeneratorCheckpoint(path, every=3)]
    ).fit(table)
    saved = joblib.load(path)
    assert saved.n_iter_ == 5  # the last epoch is always saved
    pd.testing.assert_frame_equal(
        saved.sample(20, random_state=0), gen.sample(20, random_state=0)
    )


def test_checkpoint_validation_and_pickling(table, tmp_path):
    with pytest.raises(ValueError, match="every=...\\) must be an int >= 1"):
        _config(TVAEGenerator, callbacks=[GeneratorCheckpoint(tmp_path / "a", 0)]).fit(
            table
        )
    gen = _config(TVAEGenerator, callbacks=[GeneratorCheckpoint(tmp_path / "b")])
    gen.fit(table)
    bound = [cb for _, cb in gen.net_.callbacks_ if isinstance(cb, GeneratorCheckpoint)]
    assert bound[0]._generator() is gen
    # The weak reference back to the generator is never pickled.
    assert "_generator" not in bound[0].__getstate__()
    # The user's callback object is not the one bound (callbacks are copied).
    assert "_generator" not in vars(gen.callbacks[0])


def test_real_ctrl_c_and_kill_9_in_a_child_process(tmp_path, table):
    """Real signals in a child process running TVAE fits of 4 epochs.

    First SIGINT (Ctrl-C) in the middle of epoch 3: the fit returns with a
    warning and a generator of 2 epochs. Then SIGKILL (kill -9) in the middle
    of epoch 3 of a fit with a checkpoint: the parent resumes from the file.
    """
    data, path = tmp_path / "table.pkl", tmp_path / "tvae.joblib"
    table.to_pickle(data)
    code = """
import sys, signal, warnings, torch
torch.set_num_threads(1)
import pandas as pd
from sklearn_gen import TVAEGenerator
from sklearn_gen.callbacks import GeneratorCheckpoint
from tests.conftest import make_generator
from tests.integration.test_faults import SignalAt
X = pd.read_pickle(sys.argv[1])
gen = make_generator(TVAEGenerator, epochs=4, callbacks=[SignalAt(signal.SIGINT, 3)])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    gen.fit(X)
print("WARN", [str(w.message) for w in caught if "interrupted" in str(w.message)])
print("N_ITER", gen.n_iter_)
print("ROWS", len(gen.sample(20, random_state=0).dropna(how="all")), flush=True)
make_generator(TVAEGenerator, epochs=4, callbacks=[
    GeneratorCheckpoint(sys.argv[2]), SignalAt(signal.SIGKILL, 3)]).fit(X)
print("NOT KILLED")
"""
    env = {**os.environ, ARM: "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(data), str(path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    # Ctrl-C: caught, warned, 2 completed epochs kept.
    assert "after epoch 2 of 4; the generator samples from epoch 2 plus 2 batch" in (
        done.stdout
    ), done.stderr[-2000:]
    assert "N_ITER 2" in done.stdout
    assert "ROWS 20" in done.stdout
    # kill -9: the process died mid-epoch 3; the file holds epoch 2.
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert "NOT KILLED" not in done.stdout

    gen = joblib.load(path)
    assert gen.n_iter_ == 2
    gen.partial_fit(table)
    assert gen.n_iter_ == 4
    reference = _config(TVAEGenerator).fit(table)
    assert _same_states(_states(gen.net_), _states(reference.net_))
    pd.testing.assert_frame_equal(
        gen.sample(100, random_state=0), reference.sample(100, random_state=0)
    )
