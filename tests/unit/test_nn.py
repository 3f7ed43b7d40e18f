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


def _reference_nll(layout, out, target, sigma):
    """SpanLoss written span by span with autograd (one cross-entropy per block)."""
    total = torch.zeros(())
    for span, start, stop in layout.output_slices():
        if span.activation == "softmax":
            labels = target[:, span.start : span.stop].argmax(dim=1)
            total = total + F.cross_entropy(out[:, start:stop], labels, reduction="sum")
        elif span.activation == "code":
            labels = target[:, span.start].long()
            total = total + F.cross_entropy(out[:, start:stop], labels, reduction="sum")
        else:
            pred = torch.tanh(out[:, start]) if span.activation == "tanh" else out[:, start]
            diff = target[:, span.start] - pred
            std = sigma[start]
            total = total + (diff.pow(2) / (2 * std**2)).sum()
            total = total + target.shape[0] * torch.log(std)
    return total / target.shape[0]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"continuous": "quantile", "categorical": "ordinal"},
        {"continuous": "minmax"},
    ],
    ids=["mode_specific", "quantile_ordinal", "minmax"],
)
@pytest.mark.parametrize("grouped", [False, True], ids=["layout_order", "grouped"])
def test_span_loss_value_and_gradient_match_autograd(adult, params, grouped):
    """The fused loss and its analytic gradient equal plain autograd, per span."""
    frame = adult.head(300)
    encoder = TabularEncoder(random_state=0, **params).fit(frame)
    layout = encoder.layout_
    target = torch.from_numpy(
        encoder.encode(frame, mode_assignment="argmax").astype(np.float32)
    ).double()
    gen = torch.Generator().manual_seed(1)
    out = (torch.randn(len(frame), layout.output_width, generator=gen) * 3).double()
    sigma = (torch.rand(layout.output_width, generator=gen) + 0.05).double()
    perm = _permutation(layout) if grouped else torch.arange(layout.output_width)

    out_ref = out.clone().requires_grad_(True)
    sigma_ref = sigma.clone().requires_grad_(True)
    expected = _reference_nll(layout, out_ref, target, sigma_ref)
    expected.backward()

    out_ours = out[:, perm].clone().requires_grad_(True)
    sigma_ours = sigma[perm].clone().requires_grad_(True)
    got = SpanLoss(layout, grouped=grouped)(out_ours, target, sigma_ours)
    (2.0 * got).backward()  # the upstream gradient scales the analytic one

    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(out_ours.grad, 2.0 * out_ref.grad[:, perm])
    scalar_units = torch.tensor(SpanIndex(layout, grouped=grouped)._scalar_out, dtype=torch.long)
    torch.testing.assert_close(
        sigma_ours.grad[scalar_units], 2.0 * sigma_ref.grad[perm][scalar_units]
    )


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


def test_elbo_matches_autograd():
    """The fused KL term and its gradient equal the textbook formula."""
    from sklearn_gen.nn._losses import _GaussianKL

    gen = torch.Generator().manual_seed(3)
    mu = torch.randn(40, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(40, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    expected = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / 40
    grads = torch.autograd.grad(expected, (mu, logvar))
    assert torch.autograd.gradcheck(_GaussianKL.apply, (mu, logvar))
    got = _GaussianKL.apply(mu, logvar)
    torch.testing.assert_close(got, expected)
    for ours, ref in zip(torch.autograd.grad(got, (mu, logvar)), grads):
        torch.testing.assert_close(ours, ref)
