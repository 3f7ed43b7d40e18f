"""skorch callbacks the generators add for the user, and the bookkeeping of a run.

:class:`GeneratorCheckpoint` is public (``sklearn_gen.callbacks``); the others are
added by the generators themselves.
"""

import math
import numbers
import os
import uuid
import weakref

import torch
from skorch.callbacks import Callback, EarlyStopping


class EpochProgressBar(Callback):
    """One tqdm bar over epochs, showing the latest epoch's losses.

    skorch's own ``ProgressBar`` counts batches within an epoch; a generator's user
    wants to see how far training is, so this bar counts epochs.

    Parameters
    ----------
    total : int
        Number of epochs this fit will run.
    desc : str, default="Training"
        Label shown left of the bar.
    keys : tuple of str, default=("train_loss",)
        History keys shown after the bar.
    """

    def __init__(self, total, desc="Training", keys=("train_loss",)):
        self.total = total
        self.desc = desc
        self.keys = keys

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        postfix = {}
        for key in self.keys:
            try:
                postfix[key] = f"{net.history[-1, key]:.4g}"
            except KeyError:
                pass
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
            del self.bar_

    def __getstate__(self):
        # A checkpoint pickles the net mid-training: the open bar is not state.
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state


class FiniteLossGuard(Callback):
    """Stop training with a clear error when a loss becomes NaN or infinite.

    Without it a diverged network keeps training on NaN weights and the samples
    come out as garbage (or all-missing) with no hint of why. The error names
    the loss, the epoch and batch (and the training stage of a two-stage model),
    and the likely causes with the generator's learning rates.

    Parameters
    ----------
    keys : tuple of str or None, default=None
        Batch-level history keys to watch. None watches the net's
        ``finite_loss_keys``: every loss its objective records (e.g. the
        generator's and the critic's for a GAN).
    learning_rates : dict or None, default=None
        The generator's learning-rate parameters ``{name: value}``, quoted in
        the error.
    """

    def __init__(self, keys=None, learning_rates=None):
        self.keys = keys
        self.learning_rates = learning_rates

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        batch_record = net.history[-1]["batches"][-1]
        keys = self.keys
        if keys is None:
            keys = getattr(net, "finite_loss_keys", ("train_loss",))
        values = [(key, batch_record.get(key)) for key in keys]
        bad = [(k, v) for k, v in values if v is not None and not math.isfinite(v)]
        if bad:
            raise FloatingPointError(self._message(net, bad))

    def _message(self, net, bad):
        descriptions = getattr(net, "loss_descriptions", {})
        names = []
        for key, value in bad:
            described = descriptions.get(key)
            name = f"'{key}' ({described})" if described else f"'{key}'"
            names.append(f"{name} became {value}")
        what = "The training loss " + names[0]
        if len(names) > 1:
            what += " (and " + ", ".join(names[1:]) + ")"
        epoch = len(net.history)
        n_batch = len(net.history[-1]["batches"])
        stage = getattr(net, "stage_", None)  # two-stage nets (LatentDiffusion)
        where = f"epoch {epoch}, batch {n_batch}"
        if stage is not None:
            where += f", {stage} stage"
        rates = self.learning_rates or {}
        shown = ", ".join(f"{name}={value:g}" for name, value in rates.items())
        lr_hint = f" (now {shown})" if shown else ""
        batch_size = getattr(net, "batch_size", None)
        return (
            f"{what} in {where}. Likely causes: "
            f"a learning rate that is too high{lr_hint}; numeric columns with "
            "extreme magnitudes or near-constant values; a very small batch_size "
            f"(now {batch_size}); or weights made non-finite by a callback. "
            "Lower the learning rate, check the data or raise batch_size, then "
            "fit again: the generator is left unfitted, its weights are no longer "
            "finite."
        )


def _stopped_on_purpose(net):
    """Whether a KeyboardInterrupt that ended training was a callback's stop signal.

    skorch's :class:`~skorch.callbacks.EarlyStopping` and the privacy budget of a
    differentially private net end training by raising KeyboardInterrupt; that
    is the end of the run, not an interruption to resume.
    """
    if getattr(net, "budget_exhausted_", False):
        return True
    for _, callback in getattr(net, "callbacks_", ()):
        if isinstance(callback, EarlyStopping) and getattr(
            callback, "misses_", 0
        ) >= callback.patience:
            return True
    return False


class TrainingRun:
    """The epochs of one ``fit`` / ``partial_fit`` call: interruption and resume.

    A run is the ``epochs`` of one fit call. When it is interrupted (Ctrl-C) or
    checkpointed mid-way, :meth:`state` records what finishing it needs: the
    epochs done and planned, the random streams (the fit's numpy stream as at the
    start of the run, which replays the same encoding; the net's ``rng_``; torch's
    global stream inside ``fork_rng``, for dropout). ``partial_fit`` on a
    generator holding such a state resumes the run instead of starting a new one.

    Parameters
    ----------
    epochs : int
        Epochs of a new run (the generator's ``epochs``).
    fit_rng_state : tuple
        ``RandomState.get_state()`` of the fit's stream before the run's encoding.
    resume : dict or None, default=None
        The state of an unfinished run to finish (its ``epochs`` win).
    """

    def __init__(self, epochs, *, fit_rng_state, resume=None):
        self.resume = resume
        self.epochs = int(resume["epochs"]) if resume else int(epochs)
        self.done_before = int(resume["done"]) if resume else 0
        self.fit_rng_state = fit_rng_state
        self.partial_batches = 0

    @property
    def remaining(self):
        """Epochs this call trains."""
        return self.epochs - self.done_before

    def start(self, net, generator):
        """Before ``net.partial_fit``: restore a resumed run's streams; bind the
        checkpoints."""
        self.first_row = len(net.history)
        net.resumed_epochs_ = self.done_before
        resume = self.resume
        if resume is not None and resume.get("device") == str(net.device):
            # Same device: continue the interrupted run's random streams exactly.
            net.rng_.set_state(resume["torch_rng"])
            torch.set_rng_state(resume["global_rng"])
            if "cuda_rng" in resume:
                torch.cuda.set_rng_state(resume["cuda_rng"], torch.device(net.device))
        for _, callback in net.callbacks_:
            if isinstance(callback, GeneratorCheckpoint):
                callback._bind(generator, self)

    def done(self, net):
        """Completed epochs of the run (call between epochs)."""
        return self.done_before + len(net.history) - self.first_row

    def state(self, net, done):
        """What finishing the run after ``done`` epochs needs (picklable)."""
        state = {
            "epochs": self.epochs,
            "done": int(done),
            "fit_rng": self.fit_rng_state,
            "device": str(net.device),
            "torch_rng": net.rng_.get_state(),
            "global_rng": torch.get_rng_state(),
        }
        device = torch.device(net.device)
        if device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(device)
        return state

    def stop(self, net):
        """After ``net.partial_fit`` returned: the resume state, or None if finished.

        skorch ends training quietly on KeyboardInterrupt. An epoch cut short is
        dropped from the history (its batch updates stay in the weights: nothing
        is rolled back), so the history and ``n_iter_`` count completed epochs.
        """
        history = net.history
        self.partial_batches = 0
        if len(history) > self.first_row and "train_loss" not in history[-1]:
            self.partial_batches = len(history[-1].get("batches", ()))
            del history[-1]
        done = self.done(net)
        if done >= self.epochs or _stopped_on_purpose(net):
            return None
        return self.state(net, done)

    def interrupted_message(self, generator, net, resume):
        """The warning issued when a KeyboardInterrupt cut the run short."""
        name = type(generator).__name__
        k, n, total = resume["done"], self.epochs, len(net.history)
        text = (
            f"{name}: training interrupted by KeyboardInterrupt after epoch {k} "
            f"of {n}"
        )
        if total != k:
            text += " of this partial_fit call"
        text += f"; the generator samples from epoch {total}"
        if self.partial_batches:
            text += (
                f" plus {self.partial_batches} batch update(s) of the unfinished "
                f"epoch {total + 1} (kept in the weights, not in history_)"
            )
        text += (
            f". Call partial_fit(X) with the same rows to train the remaining "
            f"{n - k} epoch(s)."
        )
        note = getattr(net, "interruption_note", None)
        note = note() if note is not None else None
        return f"{text} {note}" if note else text


class GeneratorCheckpoint(Callback):
    """Save the whole generator to a file during training, to resume after a crash.

    At the end of every ``every``-th epoch (and of the last epoch of a ``fit`` /
    ``partial_fit`` call) the generator is saved with :func:`joblib.dump`,
    atomically: it is written to a temporary file in the same folder, flushed to
    disk, then moved over ``path`` with :func:`os.replace`, so ``path`` always
    holds a complete generator, even if the process is killed while saving.

    Pass it in a generator's ``callbacks``. After a crash (or a kill), resume with
    ``gen = joblib.load(path); gen.partial_fit(X)``: the loaded generator knows
    how many epochs of its interrupted call remain, and ``partial_fit`` trains
    exactly those (with the same stage split, learning-rate schedule and random
    streams, so on the CPU a resumed run gives the weights an uninterrupted run
    would have). Give it the same rows as the interrupted call. A generator
    loaded from a checkpoint also samples as it was at that epoch.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced at every save).
    every : int, default=1
        Save after every ``every``-th epoch (counted over the generator's whole
        history, ``n_iter_``), after the last epoch of each fit call, and when
        a callback ends training early (e.g. skorch's ``EarlyStopping``).

    Notes
    -----
    **Counting epochs on resume.** A fit call is a *run* of ``epochs`` epochs.
    The saved generator records how many of its run's epochs were done;
    ``partial_fit`` on it trains the rest (not ``epochs`` more, and changing
    ``epochs`` before resuming does not change that), and afterwards
    ``partial_fit`` trains ``epochs`` more as usual. The same holds in memory
    after a KeyboardInterrupt (Ctrl-C), which the generators turn into a
    warning. ``n_iter_`` and ``history_`` count the epochs completed at the
    save. A LatentDiffusionGenerator saved during its VAE stage has no
    diffusion model yet: its ``sample`` raises NotFittedError until the resumed
    run reaches the diffusion stage.

    Replaying the random streams needs the same device type; a checkpoint made
    on a GPU and resumed on the CPU continues with fresh streams.

    The saved generator holds its ``callbacks`` (this one too), so every
    callback must pickle; a callback that stops training at an epoch number
    will do so again in a resumed run. A resumed ``partial_fit`` keeps saving
    to ``path``. The generator is written in full every time: with a large
    model on a slow disk, save less often.

    Examples
    --------
    >>> import joblib
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import TVAEGenerator
    >>> from sklearn_gen.callbacks import GeneratorCheckpoint
    >>> import tempfile, os
    >>> X = load_wine(as_frame=True).frame
    >>> path = os.path.join(tempfile.mkdtemp(), "tvae.joblib")
    >>> gen = TVAEGenerator(epochs=1, random_state=0,
    ...                     callbacks=[GeneratorCheckpoint(path)]).fit(X)
    >>> joblib.load(path).n_iter_
    1
    """

    def __init__(self, path, every=1):
        self.path = path
        self.every = every

    def initialize(self):
        every = self.every
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or (
            every < 1
        ):
            raise ValueError(
                "GeneratorCheckpoint(every=...) must be an int >= 1, got "
                f"{self.every!r}."
            )
        os.fspath(self.path)  # a TypeError now, not after an epoch
        return super().initialize()

    def _bind(self, generator, run):
        self._generator = weakref.ref(generator)
        self._run = run

    def on_train_begin(self, net, **kwargs):
        if getattr(self, "_generator", None) is None:
            raise RuntimeError(
                "GeneratorCheckpoint saves a generator: pass it in a generator's "
                "callbacks=[...], not to a skorch net directly (use skorch's "
                "Checkpoint there)."
            )

    def on_epoch_end(self, net, **kwargs):
        run = self._run
        done = run.done(net)
        finished = done >= run.epochs
        if len(net.history) % int(self.every) and not finished:
            return
        generator = self._generator()
        if generator is None:
            return
        self._save(generator, net, None if finished else run.state(net, done))

    def on_train_end(self, net, **kwargs):
        # Stopped on purpose (early stopping, a privacy budget): the run is
        # finished, so the file must not offer to resume it.
        history = net.history
        if not (_stopped_on_purpose(net) and len(history)):
            return
        generator = self._generator()
        if generator is not None and "train_loss" in history[-1]:
            self._save(generator, net, None)

    def _save(self, generator, net, resume):
        """Write ``generator`` (trained by ``net``) atomically to ``path``."""
        import joblib

        parallel = getattr(net, "data_parallel_", None)
        if parallel is not None and parallel.rank != 0:
            return  # data-parallel: the processes hold equal weights; one writes

        # Keep the generator current, so the saved object is a usable generator.
        generator.net_ = net
        generator.history_ = net.history
        generator.n_iter_ = len(net.history)
        privacy_spent = getattr(net, "privacy_spent", None)
        if privacy_spent is not None:  # a differentially private net
            generator.privacy_spent_ = privacy_spent()
        missing = object()
        previous = generator.__dict__.pop("_resume_", missing)
        if resume is not None:
            generator._resume_ = resume
        path = os.path.abspath(os.fspath(self.path))
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "xb") as f:
                joblib.dump(generator, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            generator.__dict__.pop("_resume_", None)
            if previous is not missing:
                generator._resume_ = previous

    def __getstate__(self):
        # The generator pickles this callback with itself: no reference back.
        state = self.__dict__.copy()
        state.pop("_generator", None)
        state.pop("_run", None)
        return state
