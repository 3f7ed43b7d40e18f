"""Differentially private training (DP-SGD) of the skorch nets, with Opacus.

What is private is the update of the network that reads real rows: the whole VAE
for TVAE, the critic (discriminator) for CTGAN. Each DP-SGD step

1. draws a Poisson batch (every row independently with probability
   ``q = batch_size / n_rows``, :class:`~._batching.PoissonBatchIterator`), the
   sampling the accountant's privacy amplification assumes;
2. computes one loss per real row, ``l_i``, which depends on row ``i`` only (no
   BatchNorm or other coupling between rows: checked with Opacus'
   ``ModuleValidator``);
3. computes each row's gradient norm ``||grad l_i||`` without materialising the
   per-row gradients ("ghost norms", Li et al. 2022; Bu et al. 2023): every
   parameter enters the losses through a few linear maps ``y = x W^T`` or
   ``y = x W``, the per-row gradient of ``W`` is a sum of outer products
   ``sum_u a_u b_u^T`` over those uses, and its squared Frobenius norm is
   ``sum_{u,v} (a_u . a_v)(b_u . b_v)``, a few row-wise dot products. The uses are
   recorded by forward hooks on ``nn.Linear`` layers and, for the gradient
   penalty's input gradient, explicitly (:class:`_UseTape`);
4. back-propagates ``sum_i c_i l_i`` with ``c_i = min(1, C / ||grad l_i||)``, so
   ``p.grad`` holds the sum of the clipped per-row gradients (exactly);
5. hands it to Opacus' ``DPOptimizerFastGradientClipping``, which adds Gaussian
   noise of standard deviation ``noise_multiplier * C``, divides by the expected
   batch size and steps the wrapped optimiser; its step hook advances Opacus'
   ``RDPAccountant``.

The per-row norms are checked against per-row autograd in the tests. This is the
path Opacus documents for per-sample gradients it does not compute itself (its
fast-gradient-clipping optimiser takes the clipped sum in ``p.grad``). Opacus'
own hooks cannot be used for the critic: the WGAN-GP gradient penalty
differentiates the critic's input gradient, a double backward that its
``GradSampleModule`` does not support.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._privacy import require_opacus
from ._batching import PoissonBatchIterator
from ._nets import GANNet, VAENet

__all__ = ["PrivateGANNet", "PrivateVAENet", "elbo_rows"]

#: Relative slack when comparing a projected epsilon with the budget (float noise).
_EPSILON_SLACK = 1e-9

#: Renyi orders of the RDP accountant. Any set of orders gives a valid bound
#: (the accountant takes the best); this one is coarser than Opacus' default
#: below 5 (fractional orders are slow to evaluate) and extends to large orders,
#: which give tighter bounds for large epsilons or few steps.
RDP_ORDERS = (
    [1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 4.5]
    + list(range(5, 64))
    + [64, 80, 96, 128, 192, 256, 384, 512, 1024]
)


# ---------------------------------------------------------------------------
# Per-row gradient norms and clipping
# ---------------------------------------------------------------------------


class _UseTape:
    """Records how parameters enter per-row losses, for per-row gradient norms.

    Each use is ``(param, kind, x, y)``: ``kind="left"`` for ``y = x W^T (+ b)``
    (per-row gradient ``outer(dy_i, x_i)``), ``"right"`` for ``y = x W`` (per-row
    gradient ``outer(x_i, dy_i)``), ``"vector"`` for a bias added to ``y`` (per-row
    gradient ``dy_i``). Row ``i`` of ``x`` and ``y`` must belong to real row ``i``.
    """

    def __init__(self):
        self.uses = []

    def add(self, param, kind, x, y):
        self.uses.append((param, kind, x, y))

    def _linear_hook(self, module, inputs, output):
        if not output.requires_grad:
            return
        x = inputs[0]
        if x.dim() != 2:
            raise ValueError(
                "Private training records per-row gradients of 2-D linear layers only; "
                f"{type(module).__name__} got an input of shape {tuple(x.shape)}."
            )
        self.add(module.weight, "left", x, output)
        if module.bias is not None:
            self.add(module.bias, "vector", None, output)

    @contextmanager
    def watching(self, module):
        """Record every ``nn.Linear`` call of ``module`` inside the block."""
        handles = [
            m.register_forward_hook(self._linear_hook)
            for m in module.modules()
            if isinstance(m, nn.Linear)
        ]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()


def row_gradient_norms(rows, tape, params):
    """``||grad_params rows[i]||_2`` for every row, from the uses in ``tape``.

    ``rows`` keeps its graph (it is back-propagated again afterwards). Raises if a
    parameter that requires a gradient has no recorded use: its per-row gradient
    would be unknown, so it could not be clipped.
    """
    n = rows.shape[0]
    uses = [u for u in tape.uses if u[3].requires_grad]
    if not uses:
        raise RuntimeError("No parameter use was recorded for private training.")
    dys = torch.autograd.grad(
        rows.sum(), [u[3] for u in uses], retain_graph=True, allow_unused=True
    )
    by_param = {}
    for (param, kind, x, _), dy in zip(uses, dys):
        if dy is None:
            continue
        dy = dy.detach()
        if kind == "left":
            a, b = dy, x.detach()
        elif kind == "right":
            a, b = x.detach(), dy
        else:
            a, b = dy.reshape(n, -1), None
        by_param.setdefault(id(param), []).append((a, b))
    missing = [p for p in params if p.requires_grad and id(p) not in by_param]
    if missing:
        shapes = [tuple(p.shape) for p in missing]
        raise RuntimeError(
            f"{len(missing)} parameter(s) of shapes {shapes} "
            "have no recorded per-row gradient: private training cannot clip them."
        )
    squared = rows.new_zeros(n)
    for pairs in by_param.values():
        for i, (a_u, b_u) in enumerate(pairs):
            for j in range(i, len(pairs)):
                a_v, b_v = pairs[j]
                term = (a_u * a_v).sum(dim=1)
                if b_u is not None:
                    term = term * (b_u * b_v).sum(dim=1)
                squared += term if i == j else 2.0 * term
    return squared.clamp_min(0.0).sqrt()


def clipped_backward(rows, tape, params, max_norm):
    """Set ``p.grad`` to ``sum_i min(1, C / ||grad l_i||) grad l_i`` (per-row clipping).

    Returns the per-row gradient norms (before clipping).
    """
    norms = row_gradient_norms(rows, tape, params)
    coef = (float(max_norm) / (norms + 1e-6)).clamp(max=1.0)
    (coef.detach() * rows).sum().backward()
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    return norms


# ---------------------------------------------------------------------------
# Per-row losses
# ---------------------------------------------------------------------------


def elbo_rows(out, mu, logvar, sigma_rows, target, index, loss_factor):
    """TVAE's loss of every row: ``loss_factor * NLL_i + KL_i`` (shape ``(n,)``).

    The same terms as :class:`~sklearn_gen.nn.ELBOLoss` (whose value is their
    mean), kept per row and written with plain autograd operations. ``sigma_rows``
    is the decoder scale broadcast to one row per sample.
    """
    n = target.shape[0]
    rows = out.new_zeros(n)
    if index.n_scalars:
        _, scalar_enc, tanh_mask = index.tensors(out.device)
        raw = index.scalar_values(out)
        pred = torch.where(tanh_mask, torch.tanh(raw), raw)
        std = index.scalar_values(sigma_rows)
        diff = target.index_select(1, scalar_enc) - pred
        rows = rows + (0.5 * diff * diff / (std * std) + torch.log(std)).sum(dim=1)
    if index.n_blocks:
        _, unit_enc, unit_block, grid, membership = index.block_tensors(out.device)
        logits = index.unit_logits(out)
        block_max = (
            logits.detach()
            .index_select(1, grid.reshape(-1))
            .view(n, *grid.shape)
            .amax(dim=-1)
        )
        shifted = torch.exp(logits - block_max.index_select(1, unit_block))
        sums = shifted @ membership.to(shifted.dtype)
        unit_target = target.index_select(1, unit_enc)
        rows = (
            rows
            + (torch.log(sums) + block_max).sum(dim=1)
            - (logits * unit_target).sum(dim=1)
        )
    for out_start, out_stop, enc_start, _, _ in index.codes:
        labels = target[:, enc_start].long()
        rows = rows + F.cross_entropy(
            out[:, out_start:out_stop], labels, reduction="none"
        )
    kl = -0.5 * (1.0 + logvar - mu * mu - torch.exp(logvar)).sum(dim=1)
    return float(loss_factor) * rows + kl


# ---------------------------------------------------------------------------
# The DP-SGD machinery shared by the nets
# ---------------------------------------------------------------------------


class _PrivateTraining:
    """Mixin turning a :class:`~._nets.TableNet` subclass into a DP-SGD trainer.

    Subclasses define ``_private_modules()`` (the networks that read real rows),
    ``_private_optimizer()`` (their optimiser) and a ``train_step`` that calls
    :func:`clipped_backward` then ``self._dp_optimizer``.

    Attributes (after training)
    ---------------------------
    accountant_ : opacus.accountants.RDPAccountant
        The privacy accountant (its history lists ``(noise, rate, steps)``).
    noise_multiplier_ : float
        The noise multiplier used.
    sample_rate_ : float
        Poisson sampling rate of the last training call.
    delta_ : float
        The delta of the guarantee.
    budget_exhausted_ : bool
        Whether training stopped because another epoch would exceed the budget.
    """

    def initialize(self):
        require_opacus()
        super().initialize()
        from opacus.accountants import RDPAccountant
        from opacus.validators import ModuleValidator

        for module in self._private_modules():
            errors = ModuleValidator.validate(module, strict=False)
            if errors:
                raise ValueError(
                    f"{type(module).__name__} cannot be trained with differential "
                    f"privacy: {errors[0]}"
                )
        self.accountant_ = RDPAccountant()
        self.noise_multiplier_ = None
        self.delta_ = None
        self.budget_exhausted_ = False
        return self

    def _steps_per_batch(self):
        """Private optimiser steps (accountant steps) per training batch."""
        return 1

    def _rdp_per_step(self, noise_multiplier, sample_rate):
        """Renyi DP of one step at each order (cached: it is the costly part)."""
        from opacus.accountants.analysis.rdp import compute_rdp

        cache = self.__dict__.setdefault("_rdp_cache", {})
        key = (float(noise_multiplier), float(sample_rate))
        if key not in cache:
            cache[key] = np.asarray(
                compute_rdp(
                    q=key[1], noise_multiplier=key[0], steps=1, orders=RDP_ORDERS
                )
            )
        return cache[key]

    def _epsilon_after(self, extra_steps):
        """Epsilon spent after ``extra_steps`` more steps at the current setting.

        The computation of Opacus' ``RDPAccountant.get_epsilon`` over its history
        (RDP adds up over steps), with the per-step RDP cached.
        """
        from opacus.accountants.analysis.rdp import get_privacy_spent

        history = list(self.accountant_.history)
        if extra_steps:
            history.append(
                (self.noise_multiplier_, self.sample_rate_, int(extra_steps))
            )
        if not history:
            return 0.0
        rdp = sum(self._rdp_per_step(sigma, q) * steps for sigma, q, steps in history)
        epsilon, _ = get_privacy_spent(orders=RDP_ORDERS, rdp=rdp, delta=self.delta_)
        return float(epsilon)

    def privacy_spent(self):
        """``(epsilon, delta)`` spent so far."""
        return self._epsilon_after(0), float(self.delta_)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        from opacus.accountants.utils import get_noise_multiplier
        from opacus.optimizers import DPOptimizerFastGradientClipping

        config = self.privacy
        n_rows = len(X)
        self.sample_rate_ = min(1.0, float(self.batch_size) / n_rows)
        self.batches_per_epoch_ = max(1, round(1.0 / self.sample_rate_))
        if self.delta_ is None:
            self.delta_ = config.resolve_delta(n_rows)
        if self.noise_multiplier_ is None:
            if config.noise_multiplier is not None:
                self.noise_multiplier_ = float(config.noise_multiplier)
            else:
                steps = (
                    int(self.max_epochs)
                    * self.batches_per_epoch_
                    * self._steps_per_batch()
                )
                self.noise_multiplier_ = float(
                    get_noise_multiplier(
                        target_epsilon=float(config.epsilon),
                        target_delta=self.delta_,
                        sample_rate=self.sample_rate_,
                        steps=steps,
                        accountant="rdp",
                        alphas=RDP_ORDERS,
                    )
                )
        self._epochs_this_call = 0
        optimizer = DPOptimizerFastGradientClipping(
            self._private_optimizer(),
            noise_multiplier=self.noise_multiplier_,
            max_grad_norm=float(config.max_grad_norm),
            expected_batch_size=self.sample_rate_ * n_rows,
            loss_reduction="mean",
            generator=self._rng(),
        )
        optimizer.attach_step_hook(
            self.accountant_.get_optimizer_hook_fn(sample_rate=self.sample_rate_)
        )
        # Not an attribute skorch manages (it would refuse an optimiser set
        # outside initialize_optimizer): a training-time wrapper, dropped at the end.
        self.__dict__["_dp_optimizer"] = optimizer

    def on_epoch_begin(self, net, **kwargs):
        # Before skorch opens the epoch's history row: stop cleanly (skorch ends
        # training on KeyboardInterrupt) if this epoch would overspend the budget.
        steps = self.batches_per_epoch_ * self._steps_per_batch()
        budget = float(self.privacy.epsilon)
        if self._epsilon_after(steps) > budget * (1.0 + _EPSILON_SLACK):
            if not self.accountant_.history:
                raise ValueError(
                    f"The privacy budget epsilon={budget:g} (delta={self.delta_:.3g}) "
                    "does not allow a single epoch with noise_multiplier="
                    f"{self.noise_multiplier_:g} (sampling rate "
                    f"{self.sample_rate_:.3g}). Raise the noise multiplier, or leave "
                    "it None to derive it from epsilon and epochs."
                )
            if self._epochs_this_call == 0:
                warnings.warn(
                    f"The privacy budget epsilon={budget:g} is spent: no further "
                    "training was done.",
                    UserWarning,
                    stacklevel=2,
                )
            self.budget_exhausted_ = True
            raise KeyboardInterrupt
        super().on_epoch_begin(net, **kwargs)
        self._epochs_this_call += 1

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        # Opacus leaves bookkeeping attributes on the parameters; they are not part
        # of the model (and would be pickled with it).
        self.__dict__.pop("_dp_optimizer", None)
        for module in self._private_modules():
            for p in module.parameters():
                p.grad = None
                for name in ("summed_grad", "grad_sample"):
                    if hasattr(p, name):
                        delattr(p, name)

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training=False)
        return PoissonBatchIterator(
            dataset, self.sample_rate_, self.batches_per_epoch_, self._rng()
        )

    def _private_step(self, rows, tape, params, extra_grads=None):
        """Clip, noise (Opacus) and step the private optimiser; ``extra_grads`` are
        exact gradients of a data-independent term, added after the noise."""
        optimizer = self._dp_optimizer
        clipped_backward(rows, tape, params, self.privacy.max_grad_norm)
        if optimizer.pre_step():
            if extra_grads is not None:
                for p, g in zip(params, extra_grads):
                    p.grad.add_(g)
            optimizer.original_optimizer.step()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_dp_optimizer", None)
        state.pop("_rdp_cache", None)
        return state


class PrivateVAENet(_PrivateTraining, VAENet):
    """:class:`~._nets.VAENet` trained with DP-SGD (the encoder and the decoder).

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`~._nets.VAENet`.
    privacy : DPConfig
        The budget and clipping bound.
    """

    def __init__(self, module, *args, privacy, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.privacy = privacy

    def _private_modules(self):
        return [self.module_]

    def _private_optimizer(self):
        return self.optimizer_

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        X, _ = batch
        module = self.module_
        n = X.shape[0]
        self._dp_optimizer.zero_grad(set_to_none=True)
        tape = _UseTape()
        eps = self.randn(n, module.fc_mu.out_features)
        with tape.watching(module):
            out, mu, logvar, sigma = module(X, eps)
        ones = X.new_ones((n, 1))
        sigma_rows = ones @ sigma[None, :]
        tape.add(sigma, "right", ones, sigma_rows)
        index = self.criterion_.reconstruction.index
        rows = elbo_rows(
            out, mu, logvar, sigma_rows, X, index, self.criterion_.loss_factor
        )
        params = [p for p in module.parameters() if p.requires_grad]
        self._private_step(rows, tape, params)
        module.clamp_sigma()
        loss = rows.detach().mean() if n else rows.new_zeros(())
        return {"loss": loss, "y_pred": out.detach()}


class PrivateGANNet(_PrivateTraining, GANNet):
    """:class:`~._nets.GANNet` whose critic is trained with DP-SGD.

    The critic is the only network that reads real rows, so it alone is
    privatised; the generator's updates are post-processing of the private
    critic. With privacy the critic scores rows one at a time (``pac`` must be 1:
    a pack would mix several real rows in one clipped gradient, and Poisson
    batches do not split into whole packs). A critic step's loss is

    ``mean_j D(f_j) + (1 / E[b]) sum_i [ -D(r_i) + lambda (||grad D(x_i)|| - 1)^2 ]``

    over a fixed number (``batch_size``) of fake rows ``f_j`` and the ``b`` real
    rows ``r_i`` of a Poisson batch, with ``x_i`` between ``r_i`` and a randomly
    picked fake row. The fake term does not depend on the data: its gradient is
    exact (no clipping or noise). Each real row's term is clipped and noised.

    Every real row is paired with a conditional vector built from the row itself
    (a categorical column drawn uniformly, the row's own category), and the fake
    rows are drawn with conditions distributed the same way (a column uniformly,
    a category by its training frequency), so the critic sees matching condition
    distributions. Training-by-sampling (which picks real rows by category) is not
    used: it would sample rows with unequal probabilities, which the accountant
    does not allow for; ``log_frequency`` therefore has no effect.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`~._nets.GANNet`.
    privacy : DPConfig
        The budget and clipping bound.
    """

    def __init__(self, module, criterion, *args, privacy, **kwargs):
        super().__init__(module, criterion, *args, **kwargs)
        self.privacy = privacy

    def initialize(self):
        super().initialize()
        if self.discriminator_.pac != 1:
            raise ValueError(
                "Private training needs pac=1 (the critic scores one real row at a "
                f"time, so that each row's gradient can be clipped); got pac="
                f"{self.discriminator_.pac}."
            )
        return self

    def _private_modules(self):
        return [self.discriminator_]

    def _private_optimizer(self):
        return self.optimizer_discriminator_

    def _steps_per_batch(self):
        return int(self.discriminator_steps)

    def _poisson_batch(self):
        X = self._tables["X"]
        sampler = PoissonBatchIterator(X, self.sample_rate_, 1, self._rng())
        return X.index_select(0, sampler.indices())

    def _own_conditions(self, rows, rng):
        """Each row's conditional vector: its category in a uniformly drawn column."""
        condition = self.criterion_.condition
        if not condition.n_conditions:
            return None
        unit_enc, _, unit_column, _ = condition.tensors(rows.device)
        column = torch.randint(
            condition.n_columns, (rows.shape[0],), generator=rng, device=rows.device
        )
        chosen = (unit_column[None, :] == column[:, None]).to(rows.dtype)
        return rows.index_select(1, unit_enc) * chosen

    def _critic_rows(self, real_in, fake_in, rng, tape):
        """Per-real-row critic losses ``-D(r_i) + GP_i`` and the real scores."""
        critic = self.discriminator_
        b = real_in.shape[0]
        device, dtype = real_in.device, real_in.dtype
        with tape.watching(critic):
            scores = critic(real_in, generator=rng).reshape(-1)
        pick = torch.randint(fake_in.shape[0], (b,), generator=rng, device=device)
        alpha = torch.rand((b, 1), generator=rng, device=device, dtype=dtype)
        mixed = alpha * real_in + (1.0 - alpha) * fake_in.index_select(0, pick)
        # The critic's input gradient at the interpolates (as
        # CTGANDiscriminatorModule.input_gradient): the product of the weights and
        # the activation slopes (dropout included), each weight use recorded.
        keep = 1.0 - critic.dropout
        gates = []
        with torch.no_grad():
            h = mixed
            for layer in critic.hidden:
                pre = F.linear(h, layer.weight, layer.bias)
                gate = torch.where(pre > 0, 1.0, 0.2).to(dtype)
                h = F.leaky_relu(pre, 0.2)
                if critic.training and critic.dropout > 0:
                    draws = torch.rand(
                        h.shape, generator=rng, device=device, dtype=dtype
                    )
                    mask = (draws < keep).to(dtype) / keep
                    gate = gate * mask
                    h = h * mask
                gates.append(gate)
        ones = real_in.new_ones((b, 1))
        grad = ones @ critic.head.weight
        tape.add(critic.head.weight, "right", ones, grad)
        for layer, gate in zip(reversed(critic.hidden), reversed(gates)):
            x = grad * gate
            grad = x @ layer.weight
            tape.add(layer.weight, "right", x, grad)
        penalty = float(self.gradient_penalty) * (grad.norm(2, dim=1) - 1.0) ** 2
        return penalty - scores, scores

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        X, _ = batch
        generator, critic, loss_fn = self.module_, self.discriminator_, self.criterion_
        rng = self._rng()
        m = int(self.batch_size)
        condition = loss_fn.condition
        params = [p for p in critic.parameters() if p.requires_grad]
        steps = int(self.discriminator_steps)
        for step in range(steps):
            real = X if step == 0 else self._poisson_batch()
            ids = self.sample_condition_ids(m, rng)
            with torch.set_grad_enabled(step == steps - 1):
                raw = generator(self.randn(m, generator.embedding_dim), ids)
                fake = loss_fn.activate(raw, generator=rng)
            cond = None if ids is None else condition.one_hot(ids, dtype=fake.dtype)
            fake_in = self._joined(fake.detach(), cond)
            real_in = self._joined(real, self._own_conditions(real, rng))
            self._dp_optimizer.zero_grad(set_to_none=True)
            fake_score = critic(fake_in, generator=rng).mean()
            fake_grads = torch.autograd.grad(fake_score, params)
            tape = _UseTape()
            rows, real_scores = self._critic_rows(real_in, fake_in, rng, tape)
            self._private_step(rows, tape, params, extra_grads=fake_grads)
        loss_d = fake_score.detach()
        if real_scores.numel():
            loss_d = loss_d - real_scores.detach().mean()

        self.optimizer_.zero_grad(set_to_none=True)
        critic.requires_grad_(False)
        try:
            loss_g = -critic(self._joined(fake, cond), generator=rng).mean() + loss_fn(
                raw, ids
            )
            loss_g.backward()
        finally:
            critic.requires_grad_(True)
        self.optimizer_.step()
        self.history.record_batch("train_loss_discriminator", loss_d.item())
        return {"loss": loss_g.detach(), "y_pred": fake.detach()}
