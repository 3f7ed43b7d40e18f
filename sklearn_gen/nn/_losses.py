"""Reconstruction losses over layout spans."""

import torch
from torch import nn
from torch.nn import functional as F

from ._outputs import SpanIndex


class SpanLoss(nn.Module):
    """Negative log-likelihood of an encoded batch under per-span output heads.

    Scalar spans are Gaussian with a per-unit scale ``sigma`` (after tanh for tanh
    spans, as in TVAE); class blocks are categorical (cross-entropy on logits). The
    sum over rows and spans is divided by the batch size.

    Parameters
    ----------
    layout : Layout
        The encoder's layout.
    grouped : bool, default=False
        The network's output order (see :class:`SpanIndex`).
    """

    def __init__(self, layout, grouped=False):
        super().__init__()
        self.index = SpanIndex(layout, grouped=grouped)

    def forward(self, out, target, sigma):
        """Loss of raw outputs ``out`` for encoded ``target`` given scales ``sigma``."""
        n = target.shape[0]
        index = self.index
        total = out.new_zeros(())
        if index.n_scalars:
            scalar_enc = index.tensors(out.device)[1]
            pred = index.scalars(out)
            std = index.scalar_values(sigma)
            diff = target.index_select(1, scalar_enc) - pred
            total = total + (diff.pow(2) / (2 * std.pow(2))).sum() + n * torch.log(std).sum()
        if index.n_blocks:
            # Cross-entropy of every one-hot block at once: sum of the blocks'
            # log-sum-exp minus the target logits. Each block is shifted by its own
            # (detached) max for stability; the sums are one matrix product.
            _, unit_enc, unit_block, grid, membership = index.block_tensors(out.device)
            logits = index.unit_logits(out)
            # index_select, not ``x[:, idx]``: several times faster on the CPU,
            # forward and backward.
            block_max = (
                logits.detach()
                .index_select(1, grid.reshape(-1))
                .view(n, *grid.shape)
                .amax(dim=-1)
            )
            shifted = torch.exp(logits - block_max.index_select(1, unit_block))
            log_sum_exp = torch.log(shifted @ membership) + block_max
            total = (
                total
                + log_sum_exp.sum()
                - (logits * target.index_select(1, unit_enc)).sum()
            )
        for out_start, out_stop, enc_start, _, _ in index.codes:
            labels = target[:, enc_start].long()
            total = total + F.cross_entropy(
                out[:, out_start:out_stop], labels, reduction="sum"
            )
        return total / n


class ELBOLoss(nn.Module):
    """TVAE's objective: ``loss_factor`` x reconstruction NLL + KL(q(z|x) || N(0, I)).

    Parameters
    ----------
    layout : Layout
        The encoder's layout.
    loss_factor : float, default=2.0
        Weight of the reconstruction term (SDV's TVAE default is 2).
    grouped : bool, default=True
        The decoder's output order (see :class:`SpanIndex`): grouped by kind by
        default, so the loss slices instead of gathering.
    """

    def __init__(self, layout, loss_factor=2.0, grouped=True):
        super().__init__()
        self.reconstruction = SpanLoss(layout, grouped=grouped)
        self.loss_factor = loss_factor

    def forward(self, outputs, target):
        """``outputs`` is the TVAE module's ``(out, mu, logvar, sigma)``."""
        out, mu, logvar, sigma = outputs
        n = target.shape[0]
        nll = self.reconstruction(out, target, sigma)
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
        return self.loss_factor * nll + kld
