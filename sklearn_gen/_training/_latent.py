"""The skorch net that trains TabSyn's two stages: the VAE, then latent diffusion."""

import torch
from skorch.utils import TeeGenerator

from ..nn._latent import AdaptiveBeta, edm_loss
from ._batching import IndexBatchIterator
from ._ema import EMAMixin, ExponentialMovingAverage
from ._nets import TableNet

#: Rows encoded per forward pass when the training table is mapped to latents.
_ENCODE_CHUNK = 16_384


class _StagedBatches:
    """Batches of the current stage: rows of the table, or of their latents.

    skorch builds the training iterator once per ``fit`` call and iterates it once
    per epoch; this one asks the net which stage the epoch belongs to.
    """

    def __init__(self, net, X):
        self.net = net
        self.X = X

    def _iterator(self):
        net = self.net
        data = self.X if net.stage_ == "vae" else net._latent_table(self.X)
        return IndexBatchIterator(data, net.batch_size, net._batch_rng(), shuffle=True)

    def __len__(self):
        return len(self._iterator())

    def __iter__(self):
        return iter(self._iterator())


class LatentDiffusionNet(EMAMixin, TableNet):
    """Trains TabSyn: a transformer VAE, then an EDM diffusion model in its latent.

    The epochs of one ``fit`` / ``partial_fit`` call (``max_epochs``) are split:
    the first ``vae_epochs`` train the VAE (``module``, optimiser ``optimizer``)
    on ``MSE + CE + beta * KL`` with TabSyn's adaptive ``beta``; the rest train
    the denoiser (``denoiser``, optimiser ``optimizer_denoiser``, e.g.
    ``optimizer_denoiser__lr``) on EDM's loss over the training rows' latents
    (the VAE's posterior means, standardised per dimension, computed once when
    the diffusion stage starts). Each optimiser only ever holds and steps its own
    network's weights.

    History keys, per epoch: ``train_loss`` (the current stage's loss),
    ``stage`` (``"vae"`` or ``"diffusion"``); during the VAE stage also
    ``train_reconstruction``, ``train_kl`` and ``beta`` (the weight used in
    that epoch).

    The denoiser is only usable on the latents of the VAE it was trained on:
    :meth:`diffusion_ready` says whether it is (False after a VAE epoch until the
    diffusion stage has started anew, or before any diffusion epoch completed),
    for the generator to refuse to sample from an interrupted VAE stage.

    Parameters
    ----------
    module : type or TabularTransformerVAE
    criterion : type or TabularVAELoss
    denoiser : type or EDMDenoiser
        With ``denoiser__*`` parameters.
    optimizer_denoiser : type, default=torch.optim.Adam
    vae_epochs : int
        Epochs of the VAE stage in every fit call (0 in a ``partial_fit``
        continues the diffusion model only, on the new rows' latents).
    beta_max, beta_min, beta_lambda : float
        Start, floor and decay factor of the KL weight.
    beta_patience : int
        Epochs without a better reconstruction loss before beta decays.
    ema_decay : float, default=0.999
        Decay of the exponential moving average of the denoiser's weights kept in
        ``ema_denoiser_`` and sampled from (:meth:`sampling_module`); 0 disables
        it. The average restarts whenever the latent space does (a VAE stage).
    **kwargs
        As for :class:`TableNet`.
    """

    def __init__(
        self,
        module,
        criterion,
        *args,
        denoiser,
        optimizer_denoiser=torch.optim.Adam,
        vae_epochs=1,
        beta_max=1e-2,
        beta_min=1e-5,
        beta_lambda=0.7,
        beta_patience=10,
        ema_decay=0.999,
        **kwargs,
    ):
        super().__init__(module, criterion, *args, **kwargs)
        self.denoiser = denoiser
        self.optimizer_denoiser = optimizer_denoiser
        self.vae_epochs = vae_epochs
        self.beta_max = beta_max
        self.beta_min = beta_min
        self.beta_lambda = beta_lambda
        self.beta_patience = beta_patience
        self.ema_decay = ema_decay

    ema_source = "denoiser_"
    ema_target = "ema_denoiser_"

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("ema", ExponentialMovingAverage())]

    # ------------------------------------------------------------ components

    def initialize_module(self):
        super().initialize_module()
        params = self.get_params_for("denoiser")
        self.denoiser_ = self.initialized_instance(self.denoiser, params)
        self.reset_ema(fresh=True)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        pgroups, params = self.get_params_for_optimizer(
            "optimizer", self.module_.named_parameters()
        )
        self.optimizer_ = self.optimizer(*pgroups, **params)
        pgroups, params = self.get_params_for_optimizer(
            "optimizer_denoiser", self.denoiser_.named_parameters()
        )
        self.optimizer_denoiser_ = self.optimizer_denoiser(*pgroups, **params)
        return self

    def initialize(self):
        super().initialize()
        self.beta_schedule_ = AdaptiveBeta(
            self.beta_max, self.beta_min, self.beta_lambda, self.beta_patience
        )
        return self

    # ------------------------------------------------------------ stages

    def ema_active(self):
        return self.stage_ == "diffusion"

    @property
    def stage_(self):
        """``"vae"`` or ``"diffusion"``: the stage of the current epoch."""
        done = len(self.history) - 1 - getattr(self, "_first_epoch", 0)
        return "vae" if done < int(self.vae_epochs) else "diffusion"

    def diffusion_ready(self):
        """Whether the denoiser models the current VAE's latent space.

        False while the VAE has been updated since the training latents were
        last computed (an interrupted VAE stage), or before a diffusion epoch
        has completed.
        """
        if getattr(self, "vae_changed_", False):
            return False
        return any(row.get("stage") == "diffusion" for row in self.history)

    def not_ready_message(self, name, resume=None):
        """Why ``name`` cannot sample (see :meth:`diffusion_ready`) and what to do."""
        if resume is not None:
            k, n = resume["done"], resume["epochs"]
            where = f"training was interrupted after epoch {k} of {n}"
            todo = (
                f"Call partial_fit(X) with the same rows to train the remaining "
                f"{n - k} epoch(s), then sample."
            )
        else:
            where = "training stopped before the diffusion stage completed an epoch"
            todo = "Fit it again (or call partial_fit(X)), then sample."
        return (
            f"{name} cannot sample: its diffusion stage never ran on the current "
            f"VAE ({where}; vae_epochs={int(self.vae_epochs)}). {todo}"
        )

    def interruption_note(self):
        """An extra sentence for the interruption warning, or None."""
        if self.diffusion_ready():
            return None
        return (
            "The diffusion stage has not run on the current VAE, so sample raises "
            "NotFittedError until then."
        )

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        # A resumed run continues its stage split where it was interrupted.
        self._first_epoch = len(self.history) - int(getattr(self, "resumed_epochs_", 0))
        self._latents = None

    def get_split_datasets(self, X, y=None, **fit_params):
        X, _ = super().get_split_datasets(X, y, **fit_params)
        if not getattr(self, "resumed_epochs_", 0):
            # (A resumed run's rows were observed when it started.)
            self.module_.observe(X)
        return X, None

    def get_iterator(self, dataset, training=False):
        if training:
            return _StagedBatches(self, dataset)
        return super().get_iterator(dataset, training=False)

    @torch.no_grad()
    def encode_latents(self, X):
        """Flattened posterior means of the rows of the encoded table ``X``."""
        vae = self.module_
        was_training = vae.training
        vae.eval()
        try:
            parts = [
                vae.encode(X[start : start + _ENCODE_CHUNK])[0].reshape(
                    -1, vae.latent_dim
                )
                for start in range(0, X.shape[0], _ENCODE_CHUNK)
            ]
        finally:
            vae.train(was_training)
        return torch.cat(parts)

    def _latent_table(self, X):
        """The standardised latents of ``X``, computed once per fit call."""
        if self._latents is None:
            z = self.encode_latents(X)
            resumed = int(getattr(self, "resumed_epochs_", 0))
            if int(self.vae_epochs) > resumed or not getattr(
                self, "latent_stats_set_", False
            ):
                # The VAE trained in this call (or this is the first diffusion
                # stage): new scale.
                self.denoiser_.set_latent_stats(z)
                self.latent_stats_set_ = True
                # A new latent space: the old average denoises another one.
                self.reset_ema()
            self.vae_changed_ = False
            self._latents = self.denoiser_.standardize(z)
        return self._latents

    # ------------------------------------------------------------ training

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        if self.stage_ == "vae":
            network, optimizer = self.module_, self.optimizer_
        else:
            network, optimizer = self.denoiser_, self.optimizer_denoiser_
        optimizer.zero_grad(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(network.named_parameters()),
            batch=batch,
            training=True,
        )
        optimizer.step()
        if network is self.module_:
            self.vae_changed_ = True  # the denoiser's latents are stale
        return step

    def train_step_single(self, batch, **fit_params):
        Xi, _ = batch
        if self.stage_ == "vae":
            vae = self.module_
            x_num, x_cat = vae.split(Xi)
            eps = self.randn(Xi.shape[0], vae.n_tokens, vae.d_token)
            outputs = vae(x_num, x_cat, eps)
            loss, reconstruction, kl = self.criterion_(
                outputs, x_num, x_cat, self.beta_schedule_.beta
            )
            loss.backward()
            n = Xi.shape[0]
            self._epoch_sums[0] += reconstruction.detach() * n
            self._epoch_sums[1] += kl.detach() * n
            self._epoch_sums[2] += n
            return {"loss": loss.detach(), "y_pred": outputs[0].detach()}
        loss = edm_loss(self.denoiser_, Xi, self._rng())
        loss.backward()
        return {"loss": loss.detach(), "y_pred": Xi}

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self._epoch_sums = [0.0, 0.0, 0]

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        stage = self.stage_
        self.history.record("stage", stage)
        if stage == "vae":
            reconstruction, kl, n = self._epoch_sums
            parallel = self._parallel()
            if parallel is not None:
                # Every process must take the same KL-weight step.
                reconstruction, kl, n = parallel.sum_over_processes(
                    [reconstruction, kl, n], self.device
                )
            n = max(n, 1)
            reconstruction = float(reconstruction / n)
            self.history.record("train_reconstruction", reconstruction)
            self.history.record("train_kl", float(kl / n))
            self.history.record("beta", self.beta_schedule_.beta)
            self.beta_schedule_.step(reconstruction)

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        # The training latents are not part of the model.
        self._latents = None

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_latents", None)
        state.pop("_epoch_sums", None)
        return state
