"""skorch net for diffusion models trained on a noise-prediction objective (TabDDPM)."""

import torch
from skorch.callbacks import PassthroughScoring

from ._ema import EMAMixin, ExponentialMovingAverage
from ._nets import TableNet


class DiffusionNet(EMAMixin, TableNet):
    """Trains a :class:`~sklearn_gen.nn._diffusion.TabDDPMModule` (TabDDPM objective).

    Every step draws, from ``rng_``, a timestep ``t ~ U{0..T-1}`` per row, Gaussian
    noise for the numerical units and uniforms for the one-hot blocks; noises the
    batch with the forward processes; and minimises the mean squared error of the
    predicted noise plus the multinomial variational term (see
    :meth:`~sklearn_gen.nn._diffusion.GaussianMultinomialDiffusion.loss_terms`),
    each averaged over the batch. History keys: ``train_loss``,
    ``train_loss_gaussian`` and ``train_loss_multinomial``.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`TableNet`; ``criterion`` combines the two per-row terms
        (:class:`~sklearn_gen.nn._diffusion.DiffusionLoss`).
    ema_decay : float, default=0.999
        Decay of the exponential moving average of the weights kept in
        ``ema_module_`` (0 disables it; ``ema_module_`` then stays the initial copy
        and :meth:`sampling_module` returns ``module_``).
    anneal_lr : bool, default=True
        Decay the learning rate linearly to 0 over the batches of each ``fit`` /
        ``partial_fit`` call, as TabDDPM does (a resumed, interrupted call
        continues its decay where it stopped).

    Notes
    -----
    The table is reordered once per fit to the module's grouped coordinates
    (numerical units first, then the one-hot units), so every batch is one index
    slice and the two parts are column slices of it.
    """

    finite_loss_keys = ("train_loss_gaussian", "train_loss_multinomial", "train_loss")
    loss_descriptions = {
        "train_loss_gaussian": "the Gaussian diffusion term, numerical columns",
        "train_loss_multinomial": "the multinomial diffusion term, categorical columns",
    }

    def __init__(self, module, *args, ema_decay=0.999, anneal_lr=True, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.ema_decay = ema_decay
        self.anneal_lr = anneal_lr

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            (
                "train_loss_gaussian",
                PassthroughScoring(name="train_loss_gaussian", on_train=True),
            ),
            (
                "train_loss_multinomial",
                PassthroughScoring(name="train_loss_multinomial", on_train=True),
            ),
            ("ema", ExponentialMovingAverage()),
        ]

    # ------------------------------------------------------------ components

    def initialize_module(self):
        super().initialize_module()
        self.reset_ema(fresh=True)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        # Only the trained module: the average is not optimised.
        pgroups, params = self.get_params_for_optimizer(
            "optimizer", self.module_.named_parameters()
        )
        self.optimizer_ = self.optimizer(*pgroups, **params)
        return self

    # ------------------------------------------------------------ data path

    def get_split_datasets(self, X, y=None, **fit_params):
        X, _ = super().get_split_datasets(X, y, **fit_params)
        return self.module_.to_grouped(X).contiguous(), None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._lr_base = [group["lr"] for group in self.optimizer_.param_groups]
        n_rows = len(X) if X is not None else 0
        per_epoch = -(-n_rows // max(int(self.batch_size), 1)) if n_rows else 1
        # A resumed run continues the decay of the run it finishes.
        resumed = int(getattr(self, "resumed_epochs_", 0))
        self._lr_step = resumed * per_epoch
        self._lr_total = max((int(self.max_epochs) + resumed) * per_epoch, 1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        # Restore the configured learning rate (a later partial_fit anneals anew).
        base = getattr(self, "_lr_base", None)
        for group, lr in zip(self.optimizer_.param_groups, base or [], strict=False):
            group["lr"] = lr
        for name in ("_lr_step", "_lr_base", "_lr_total"):
            self.__dict__.pop(name, None)

    # ------------------------------------------------------------ training

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        X, _ = batch
        module = self.module_
        diffusion = module.diffusion
        n, rng = X.shape[0], self._rng()
        t = torch.randint(diffusion.n_timesteps, (n,), generator=rng, device=X.device)
        noise = self.randn(n, diffusion.n_numerical)
        uniform = torch.rand((n, diffusion.n_blocks), generator=rng, device=X.device)
        x_in = diffusion.noisy_input(X, t, noise, uniform)
        out = module(x_in, t, module.training_labels(X, rng))
        gaussian, multinomial = diffusion.loss_terms(out, X, x_in, t, noise)
        loss = self.criterion_(gaussian, multinomial)
        loss.backward()
        self.history.record_batch(
            "train_loss_gaussian", gaussian.detach().mean().item()
        )
        self.history.record_batch(
            "train_loss_multinomial", multinomial.detach().mean().item()
        )
        return {"loss": loss, "y_pred": out}

    def train_step(self, batch, **fit_params):
        if self.anneal_lr and hasattr(self, "_lr_total"):
            frac = min(self._lr_step / self._lr_total, 1.0)
            groups = self.optimizer_.param_groups
            for group, lr in zip(groups, self._lr_base, strict=True):
                group["lr"] = lr * (1.0 - frac)
            self._lr_step += 1
        return super().train_step(batch, **fit_params)

    def __getstate__(self):
        base = self.__dict__.get("_lr_base")
        if base is None:
            state = super().__getstate__()
        else:
            # Pickled mid-training (a checkpoint): save the configured learning
            # rate, not the annealed one; a resumed run re-derives the decay.
            groups = self.optimizer_.param_groups
            current = [group["lr"] for group in groups]
            for group, lr in zip(groups, base, strict=True):
                group["lr"] = lr
            try:
                state = super().__getstate__()
            finally:
                for group, lr in zip(groups, current, strict=True):
                    group["lr"] = lr
        for name in ("_lr_step", "_lr_base", "_lr_total"):
            state.pop(name, None)
        return state
