"""Output conventions of the network layer: SpanIndex orders, losses, sampling."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sklearn_gen.nn import SpanIndex, sample_outputs
from sklearn_gen.nn._losses import SpanLoss
from sklearn_gen.preprocessing import TabularEncoder


@pytest.fixture(scope="module")
def encoded_adult(adult):
    frame = adult.head(400)
    encoder = TabularEncoder(random_state=0).fit(frame)
    encoded = encoder.encode(frame, mode_assignment="argmax").astype(np.float32)
    return encoder.layout_, torch.from_numpy(encoded)


def _permutation(layout):
    """Map from grouped output positions to layout-order output positions."""
    plain, grouped = SpanIndex(layout), SpanIndex(layout, grouped=True)
    perm = torch.empty(plain.n_output, dtype=torch.long)
    perm[torch.tensor(grouped._scalar_out)] = torch.tensor(plain._scalar_out)
    for g, p in zip(grouped.discrete, plain.discrete):
        perm[g[0] : g[1]] = torch.arange(p[0], p[1])
    return perm


def test_grouped_index_slices_instead_of_gathering(encoded_adult):
    layout, _ = encoded_adult
    index = SpanIndex(layout, grouped=True)
    assert index._scalar_slice == slice(0, index.n_scalars)
    n_units = len(index._unit_out)
    assert index._unit_slice == slice(index.n_scalars, index.n_scalars + n_units)
    # Layout order interleaves scalars and blocks, so it needs gathers.
    assert SpanIndex(layout)._scalar_slice is None


def test_grouped_loss_equals_layout_order_loss(encoded_adult):
    """The same logits, permuted into each order, give the same loss."""
    layout, target = encoded_adult
    perm = _permutation(layout)
    gen = torch.Generator().manual_seed(0)
    out_plain = torch.randn(target.shape[0], layout.output_width, generator=gen)
    sigma_plain = torch.rand(layout.output_width, generator=gen) + 0.05
    plain = SpanLoss(layout)(out_plain, target, sigma_plain)
    grouped = SpanLoss(layout, grouped=True)(out_plain[:, perm], target, sigma_plain[perm])
    torch.testing.assert_close(grouped, plain)


def test_block_loss_is_cross_entropy(encoded_adult):
    """The matrix-product log-sum-exp equals per-block cross-entropy."""
    layout, target = encoded_adult
    index = SpanIndex(layout)
    gen = torch.Generator().manual_seed(1)
    out = torch.randn(target.shape[0], layout.output_width, generator=gen) * 5
    sigma = torch.ones(layout.output_width)
    expected = torch.zeros(())
    for span, start, stop in layout.output_slices():
        if span.activation == "softmax":
            labels = target[:, span.start : span.stop].argmax(dim=1)
            expected = expected + F.cross_entropy(out[:, start:stop], labels, reduction="sum")
        else:
            diff = target[:, span.start] - torch.tanh(out[:, start])
            expected = expected + (diff.pow(2) / 2).sum()
    got = SpanLoss(layout)(out, target, sigma)
    torch.testing.assert_close(got, expected / target.shape[0])
    assert index.n_blocks > 0


def test_sample_outputs_is_order_independent(encoded_adult):
    layout, target = encoded_adult
    perm = _permutation(layout)
    out = torch.randn(50, layout.output_width, generator=torch.Generator().manual_seed(2))
    plain = sample_outputs(out, SpanIndex(layout), stochastic=False)
    grouped = sample_outputs(out[:, perm], SpanIndex(layout, grouped=True), stochastic=False)
    torch.testing.assert_close(grouped, plain)
    # A deterministic decode is a valid encoding: one unit set per one-hot block.
    for span in layout:
        if span.activation == "softmax":
            assert torch.all(grouped[:, span.start : span.stop].sum(dim=1) == 1)
