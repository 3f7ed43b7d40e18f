"""An exponential moving average of a net's trained weights, to sample from."""

import copy

import torch
from skorch.callbacks import Callback


class ExponentialMovingAverage(Callback):
    """After every training batch, step the net's moving average of its weights.

    ``ema <- d * ema + (1 - d) * weights`` with ``d = min(net.ema_decay, (1 + k) /
    (10 + k))`` after ``k`` updates: the warm-up keeps the average close to the
    weights early on, so a short fit still samples from a trained model. Only the
    batches the net says train the averaged module count (:meth:`EMAMixin.ema_active`).
    """

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training and net.ema_decay > 0 and net.ema_active():
            net.update_ema()


class EMAMixin:
    """Keep ``<ema_target>`` a moving average of the net's ``<ema_source>`` module.

    A net using it lists ``("ema", ExponentialMovingAverage())`` among its
    callbacks, has an ``ema_decay`` parameter (0 disables the average) and calls
    :meth:`reset_ema` once its averaged module exists, and again whenever the
    module's buffers change (e.g. LatentDiffusion's latent standardisation): buffers
    are not averaged, they are copied at a reset.
    """

    #: Attribute names of the averaged module and of its average.
    ema_source = "module_"
    ema_target = "ema_module_"

    def ema_active(self):
        """Whether the current training batch trains the averaged module."""
        return True

    @torch.no_grad()
    def reset_ema(self, fresh=False):
        """Restart the average from the module's current weights.

        ``fresh=True`` (from ``initialize_module``, where the module is new and may
        have another shape) makes a new copy; otherwise the average is overwritten
        in place.
        """
        source = getattr(self, self.ema_source)
        average = getattr(self, self.ema_target, None)
        if fresh or average is None:
            average = copy.deepcopy(source)
            average.requires_grad_(False)
            setattr(self, self.ema_target, average)
        else:  # in place: the net keeps tracking the same module
            torch._foreach_copy_(list(average.parameters()),
                                 [p.detach() for p in source.parameters()])
            torch._foreach_copy_(list(average.buffers()), list(source.buffers()))
        self.ema_updates_ = 0

    @torch.no_grad()
    def update_ema(self):
        """One step of the moving average of the weights (see ``ema_decay``)."""
        source = getattr(self, self.ema_source)
        average = getattr(self, self.ema_target)
        k = self.ema_updates_
        decay = min(float(self.ema_decay), (1.0 + k) / (10.0 + k))
        torch._foreach_lerp_(
            list(average.parameters()),
            [p.detach() for p in source.parameters()],
            1.0 - decay,
        )
        self.ema_updates_ = k + 1

    def sampling_module(self):
        """The module to sample with: the moving average, unless it is disabled.

        Also the module itself when the net predates the average (an older pickle)
        or the average has not been updated since it was last reset.
        """
        average = getattr(self, self.ema_target, None)
        if (
            average is not None
            and getattr(self, "ema_decay", 0) > 0
            and getattr(self, "ema_updates_", 0) > 0
        ):
            return average
        return getattr(self, self.ema_source)
