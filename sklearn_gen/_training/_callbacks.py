"""skorch callbacks the generators add for the user."""

import math

from skorch.callbacks import Callback


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


class FiniteLossGuard(Callback):
    """Stop training with a clear error when the loss becomes NaN or infinite.

    Without it a diverged network keeps training on NaN weights and the samples
    come out as garbage (or all-missing) with no hint of why.

    Parameters
    ----------
    keys : tuple of str, default=("train_loss",)
        Batch-level history keys to watch.
    """

    def __init__(self, keys=("train_loss",)):
        self.keys = keys

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        batch_record = net.history[-1]["batches"][-1]
        for key in self.keys:
            value = batch_record.get(key)
            if value is not None and not math.isfinite(value):
                epoch = len(net.history)
                raise FloatingPointError(
                    f"The training loss '{key}' became {value} in epoch {epoch}. "
                    "Likely causes: a learning rate that is too high, extreme "
                    "values (e.g. very large magnitudes or inf) in a numeric "
                    "column, or a batch_size of 1. Lower the learning rate, check "
                    "the data, or increase batch_size."
                )
