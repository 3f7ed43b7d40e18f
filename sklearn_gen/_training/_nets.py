"""skorch ``NeuralNet`` subclasses, one per training objective.

The generators hold one of these (composition). What the subclasses change in skorch:

* the data path: the encoded table is moved to the device once, and batches are
  seeded ``torch.randperm`` index slices of it (:class:`IndexBatchIterator`), instead
  of a ``DataLoader`` collating one row per ``__getitem__``;
* the step: ``train_step_single`` / ``train_step`` compute each objective, drawing
  noise from the explicit generator ``rng_`` instead of torch's global RNG.

``fit``, ``fit_loop`` and ``run_single_epoch`` are skorch's own, so callbacks
(progress, early stopping, checkpoints, LR schedules) work unchanged.
"""

import numpy as np
import torch
from skorch import NeuralNet

from ._batching import IndexBatchIterator


class TableNet(NeuralNet):
    """A skorch net whose training data is one tensor resident on the device.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`skorch.NeuralNet`. ``train_split`` should be None: the
        generators train on everything they are given.
    drop_last : bool, default=False
        Drop a final short batch in every epoch.

    Notes
    -----
    Set ``rng_`` (a ``torch.Generator`` on the training device) before ``fit``;
    it drives the batch permutations and every noise draw. It is not pickled.
    """

    def __init__(self, module, *args, drop_last=False, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.drop_last = drop_last

    def _rng(self):
        rng = getattr(self, "rng_", None)
        if rng is None:
            # A net used outside a generator (or after unpickling) still trains,
            # with a fresh seed.
            rng = torch.Generator(device=self.device)
            rng.seed()
            self.rng_ = rng
        return rng

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(X, np.ndarray):
            X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        X = X.to(device=self.device, dtype=torch.float32)
        return X, None

    def get_iterator(self, dataset, training=False):
        if training:
            return IndexBatchIterator(
                dataset,
                self.batch_size,
                self._rng(),
                shuffle=True,
                drop_last=self.drop_last and len(dataset) >= self.batch_size,
            )
        return IndexBatchIterator(dataset, self.batch_size, None, shuffle=False)

    def randn(self, *shape):
        """Standard normal noise on the training device from ``rng_``."""
        return torch.randn(shape, generator=self._rng(), device=self.device)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("rng_", None)
        return state


class VAENet(TableNet):
    """Trains a VAE module on the ELBO (one optimiser over encoder and decoder).

    The module's ``forward(x, eps)`` returns ``(out, mu, logvar, sigma)`` and the
    criterion turns that and the batch into the loss (see :class:`~sklearn_gen.nn.ELBOLoss`).
    """

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = batch
        eps = self.randn(Xi.shape[0], self.module_.fc_mu.out_features)
        outputs = self.module_(Xi, eps)
        loss = self.criterion_(outputs, Xi)
        loss.backward()
        return {"loss": loss, "y_pred": outputs[0]}

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        self.module_.clamp_sigma()
        return step
