"""Diffusion math of TabDDPM: forward processes, posteriors, schedules, sampler."""

import math

import numpy as np
import pytest
import torch

from sklearn_gen.nn._diffusion import (
    DiffusionLoss,
    GaussianMultinomialDiffusion,
    MLPDenoiser,
    PeriodicEmbedding,
    TabDDPMModule,
    noise_schedule,
    reverse_sample,
    reverse_timesteps,
    timestep_embedding,
)
from sklearn_gen.preprocessing import Layout, Span

BLOCKS = [3, 2, 5]


def _diffusion(T=50, scheduler="cosine", n_numerical=2, blocks=BLOCKS):
    return GaussianMultinomialDiffusion(
        n_numerical, blocks, n_timesteps=T, scheduler=scheduler
    )


def _onehot(codes, blocks=BLOCKS):
    """One-hot rows for per-block class codes (n, n_blocks)."""
    parts = [
        torch.nn.functional.one_hot(torch.as_tensor(codes[:, b]), k).float()
        for b, k in enumerate(blocks)
    ]
    return torch.cat(parts, dim=1)


def _block_sums(x, blocks=BLOCKS):
    return torch.stack([part.sum(dim=1) for part in torch.split(x, blocks, dim=1)], 1)


# ------------------------------------------------------------------ schedules


@pytest.mark.parametrize("scheduler", ["cosine", "linear"])
@pytest.mark.parametrize("T", [1, 10, 1000])
def test_noise_schedule_is_a_valid_variance_schedule(scheduler, T):
    betas = noise_schedule(T, scheduler)
    assert betas.shape == (T,) and betas.dtype == np.float64
    assert np.all(betas > 0) and np.all(betas <= 0.999)
    abar = np.cumprod(1 - betas)
    assert np.all(np.diff(abar) < 0)
    if T == 1000:
        # Nearly clean at the start, nearly pure noise at the end.
        assert abar[0] > 0.999 and abar[-1] < 1e-3


def test_noise_schedule_rejects_unknown_names():
    with pytest.raises(ValueError, match="scheduler"):
        noise_schedule(10, "quadratic")
    with pytest.raises(ValueError, match="n_timesteps"):
        noise_schedule(0, "cosine")


def test_linear_schedule_matches_ho_et_al_at_1000_steps():
    betas = noise_schedule(1000, "linear")
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)


def test_reverse_timesteps_full_and_strided():
    assert reverse_timesteps(7) == [6, 5, 4, 3, 2, 1, 0]
    assert reverse_timesteps(7, 100) == reverse_timesteps(7)
    for T, S in [(1000, 50), (1000, 999), (100, 7), (10, 2)]:
        steps = reverse_timesteps(T, S)
        assert len(steps) == S
        assert steps[0] == T - 1 and steps[-1] == 0
        assert all(a > b for a, b in zip(steps, steps[1:], strict=False))
    assert reverse_timesteps(10, 1) == [9]


def test_schedule_buffers_agree_with_float64_schedule():
    diffusion = _diffusion(T=200)
    abar = np.cumprod(1 - noise_schedule(200, "cosine"))
    np.testing.assert_allclose(diffusion.sqrt_abar.numpy() ** 2, abar, rtol=1e-5)
    np.testing.assert_allclose(diffusion.abar.numpy(), abar, rtol=1e-5)
    np.testing.assert_allclose(diffusion.abar_prev.numpy()[1:], abar[:-1], rtol=1e-5)
    np.testing.assert_allclose(
        diffusion.alpha.numpy(), 1 - noise_schedule(200, "cosine"), rtol=1e-6
    )
    assert diffusion.abar_at(-1) == 1.0 and diffusion.abar_at(5) == pytest.approx(
        abar[5]
    )


# ------------------------------------------------------------- Gaussian part


@pytest.mark.parametrize("scheduler", ["cosine", "linear"])
def test_gaussian_forward_has_closed_form_mean_and_variance(scheduler):
    T, n = 100, 200_000
    diffusion = _diffusion(T=T, scheduler=scheduler)
    abar = np.cumprod(1 - noise_schedule(T, scheduler))
    x0_row = torch.tensor([[1.5, -0.7]])
    generator = torch.Generator().manual_seed(0)
    for t in (0, 10, 50, 99):
        x0 = x0_row.expand(n, 2)
        noise = torch.randn((n, 2), generator=generator)
        xt = diffusion.gaussian_q_sample(x0, torch.full((n,), t), noise).double()
        mean = math.sqrt(abar[t]) * x0_row.double()
        var = 1.0 - abar[t]
        # Five standard errors of the mean and of the variance estimate.
        np.testing.assert_array_less(
            (xt.mean(0) - mean[0]).abs().numpy(), 5 * math.sqrt(var / n) + 1e-7
        )
        np.testing.assert_array_less(
            (xt.var(0) - var).abs().numpy(), 5 * var * math.sqrt(2.0 / n) + 1e-7
        )


def test_gaussian_posterior_is_bayes_rule():
    diffusion = _diffusion(T=100)
    x0 = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    xt = torch.tensor([[1.1, 0.4]], dtype=torch.float64)
    for t, s in [(99, 98), (99, 49), (40, 0), (10, -1), (5, 4)]:
        mean, var = diffusion.gaussian_posterior(x0, xt, t, s)
        abar_t, abar_s = diffusion.abar_at(t), diffusion.abar_at(s)
        alpha = abar_t / abar_s
        # q(x_s | x_0) = N(sqrt(abar_s) x0, 1 - abar_s),
        # q(x_t | x_s) = N(sqrt(a) x_s, 1 - a).
        if s < 0:
            expected_mean, expected_var = x0, 0.0
        else:
            precision = 1 / (1 - abar_s) + alpha / (1 - alpha)
            expected_var = 1 / precision
            expected_mean = expected_var * (
                math.sqrt(abar_s) * x0 / (1 - abar_s)
                + math.sqrt(alpha) * xt / (1 - alpha)
            )
        torch.testing.assert_close(mean, expected_mean)
        assert var == pytest.approx(expected_var, abs=1e-12)


def test_ddim_step_with_eta_one_samples_the_posterior():
    diffusion = _diffusion(T=100)
    xt = torch.tensor([[0.8, -0.5]], dtype=torch.float64)
    eps = torch.tensor([[0.2, 0.9]], dtype=torch.float64)
    for t, s in [(99, 98), (80, 30), (3, 0)]:
        x0 = diffusion.predict_x0(xt, eps, t)
        mean, var = diffusion.gaussian_posterior(x0, xt, t, s)
        zero = diffusion.gaussian_step(
            xt, eps, t, s, eta=1.0, noise=torch.zeros_like(xt)
        )
        one = diffusion.gaussian_step(xt, eps, t, s, eta=1.0, noise=torch.ones_like(xt))
        torch.testing.assert_close(zero, mean)
        torch.testing.assert_close(one - zero, torch.full_like(xt, math.sqrt(var)))
    # eta = 0 is deterministic and the last step returns the predicted x0.
    a = diffusion.gaussian_step(xt, eps, 50, 10, eta=0.0, noise=None)
    assert torch.isfinite(a).all()
    torch.testing.assert_close(
        diffusion.gaussian_step(xt, eps, 7, -1, eta=1.0),
        diffusion.predict_x0(xt, eps, 7),
    )


def test_predicted_x0_is_clipped_to_the_numeric_bound():
    diffusion = GaussianMultinomialDiffusion(1, [], n_timesteps=10, numeric_bound=2.0)
    xt = torch.tensor([[50.0]])
    out = diffusion.gaussian_step(xt, torch.zeros_like(xt), 3, -1)
    assert out.item() == pytest.approx(2.0)


# ---------------------------------------------------------- multinomial part


def test_log_softmax_is_per_block():
    diffusion = _diffusion()
    logits = (
        torch.randn((6, sum(BLOCKS)), generator=torch.Generator().manual_seed(1)) * 30
    )
    out = diffusion.log_softmax(logits)
    expected = torch.cat(
        [torch.log_softmax(part, dim=1) for part in torch.split(logits, BLOCKS, dim=1)],
        1,
    )
    torch.testing.assert_close(out, expected)
    # Blocks far apart in scale do not underflow each other.
    logits[:, :3] += 500.0
    assert torch.isfinite(diffusion.log_softmax(logits)).all()


def test_block_codes_round_trip():
    diffusion = _diffusion()
    codes = np.array([[0, 1, 4], [2, 0, 0], [1, 1, 2]])
    onehot = diffusion.codes_to_onehot(torch.tensor(codes))
    torch.testing.assert_close(onehot, _onehot(codes))
    assert diffusion.block_codes(onehot).tolist() == codes.tolist()


@pytest.mark.parametrize("scheduler", ["cosine", "linear"])
def test_multinomial_forward_stays_on_the_simplex_for_every_t(scheduler):
    T = 200
    diffusion = _diffusion(T=T, scheduler=scheduler)
    rng = np.random.RandomState(0)
    codes = np.column_stack([rng.randint(0, k, 8) for k in BLOCKS])
    x0 = _onehot(codes)
    abar = np.cumprod(1 - noise_schedule(T, scheduler))
    uniform = torch.cat([torch.full((k,), 1.0 / k) for k in BLOCKS])
    for t in range(T):
        probs = diffusion.multinomial_q_probs(x0, torch.full((8,), t))
        assert (probs >= 0).all()
        torch.testing.assert_close(_block_sums(probs), torch.ones(8, len(BLOCKS)))
        # q(x_t | x_0) = abar_t x_0 + (1 - abar_t) / K, block by block.
        expected = abar[t] * x0 + (1 - abar[t]) * uniform
        torch.testing.assert_close(probs, expected.float(), atol=2e-6, rtol=1e-4)


def test_multinomial_forward_samples_match_their_probabilities():
    T, n = 100, 100_000
    diffusion = _diffusion(T=T)
    x0 = _onehot(np.tile([[2, 0, 4]], (n, 1)))
    generator = torch.Generator().manual_seed(3)
    for t in (0, 5, 60, 99):
        tt = torch.full((n,), t)
        xt = diffusion.multinomial_q_sample(
            x0, tt, torch.rand((n, len(BLOCKS)), generator=generator)
        )
        # Every block of every row is exactly one-hot.
        assert set(torch.unique(xt).tolist()) <= {0.0, 1.0}
        torch.testing.assert_close(_block_sums(xt), torch.ones(n, len(BLOCKS)))
        probs = diffusion.multinomial_q_probs(x0[:1], tt[:1])[0]
        bound = 5 * torch.sqrt(probs * (1 - probs) / n) + 1e-6
        assert ((xt.mean(0) - probs).abs() <= bound).all()


def test_sample_categorical_matches_its_weights_and_breaks_ties():
    diffusion = _diffusion()
    n = 100_000
    weights = torch.tensor([[1.0, 2.0, 7.0, 5.0, 5.0, 0.0, 1.0, 0.0, 3.0, 0.5]])
    race = torch.empty((n, 10)).exponential_(generator=torch.Generator().manual_seed(9))
    draws = diffusion.sample_categorical(weights.expand(n, -1), race)
    torch.testing.assert_close(_block_sums(draws), torch.ones(n, len(BLOCKS)))
    probs = diffusion.normalize(weights)[0]
    bound = 5 * torch.sqrt(probs * (1 - probs) / n) + 1e-6
    assert ((draws.mean(0) - probs).abs() <= bound).all()
    # Exact ties give the first tied class, one per block.
    tied = diffusion.sample_categorical(torch.ones(4, 10), torch.ones(4, 10))
    torch.testing.assert_close(tied, _onehot(np.zeros((4, 3), dtype=int)))


def test_softmax_and_block_argmax():
    diffusion = _diffusion()
    logits = torch.randn((5, 10), generator=torch.Generator().manual_seed(3)) * 40
    torch.testing.assert_close(
        diffusion.softmax(logits), diffusion.log_softmax(logits).exp()
    )
    codes = diffusion.block_argmax(logits)
    expected = torch.stack(
        [part.argmax(1) for part in torch.split(logits, BLOCKS, 1)], 1
    )
    assert torch.equal(codes, expected)


def _transition(alpha, k):
    return alpha * np.eye(k) + (1 - alpha) / k * np.ones((k, k))


def test_multinomial_posterior_is_bayes_rule_for_one_step_and_strided_steps():
    T = 60
    diffusion = _diffusion(T=T)
    rng = np.random.RandomState(4)
    codes0 = np.column_stack([rng.randint(0, k, 5) for k in BLOCKS])
    codest = np.column_stack([rng.randint(0, k, 5) for k in BLOCKS])
    x0, xt = _onehot(codes0), _onehot(codest)
    for t, s in [(59, 58), (30, 29), (59, 10), (20, 0), (1, 0)]:
        post = diffusion.multinomial_posterior(x0, xt, t, s).double()
        abar_t, abar_s = diffusion.abar_at(t), diffusion.abar_at(s)
        for row in range(5):
            offset = 0
            for b, k in enumerate(BLOCKS):
                # p(x_s = i | x_t, x_0) ∝ Q_{t|s}[i, x_t] * Q_s[x_0, i]
                q_s = _transition(abar_s, k)[codes0[row, b]]
                q_ts = _transition(abar_t / abar_s, k)[:, codest[row, b]]
                expected = q_s * q_ts / (q_s * q_ts).sum()
                np.testing.assert_allclose(
                    post[row, offset : offset + k].numpy(),
                    expected,
                    rtol=1e-4,
                    atol=1e-7,
                )
                offset += k
    # The last reverse step (s = -1) returns x_0 itself.
    torch.testing.assert_close(diffusion.multinomial_posterior(x0, xt, 5, -1), x0)


def test_tensor_posterior_matches_the_int_path_and_handles_t_zero():
    T = 40
    diffusion = _diffusion(T=T)
    rng = np.random.RandomState(5)
    logits = torch.tensor(rng.normal(size=(T, sum(BLOCKS))), dtype=torch.float32)
    p0 = torch.exp(diffusion.log_softmax(logits))
    codes = np.column_stack([rng.randint(0, k, T) for k in BLOCKS])
    xt = _onehot(codes)
    batched = diffusion.multinomial_posterior(p0, xt, torch.arange(T))
    for i in range(T):
        single = diffusion.multinomial_posterior(p0[i : i + 1], xt[i : i + 1], i, i - 1)
        torch.testing.assert_close(batched[i : i + 1], single, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(_block_sums(batched), torch.ones(T, len(BLOCKS)))
    torch.testing.assert_close(batched[0], p0[0])


def test_strided_forward_transitions_compose():
    # q(x_t | x_0) is q(x_s | x_0) followed by the strided q(x_t | x_s).
    T = 100
    diffusion = _diffusion(T=T)
    x0 = _onehot(np.array([[1, 1, 3]]))
    for t, s in [(99, 0), (70, 35), (10, 9)]:
        abar_t, abar_s = diffusion.abar_at(t), diffusion.abar_at(s)
        via_s = diffusion.transition(diffusion.transition(x0, abar_s), abar_t / abar_s)
        direct = diffusion.multinomial_q_probs(x0, torch.tensor([t]))
        torch.testing.assert_close(via_s, direct, atol=1e-6, rtol=1e-4)


def test_noise_codes_follows_the_forward_mixture():
    # With abar = 0 every class is equally likely; with abar = 1 nothing changes.
    diffusion = _diffusion()
    n = 60_000
    codes = torch.tensor([[2, 1, 0]]).expand(n, -1)
    u = torch.rand((n, 3), generator=torch.Generator().manual_seed(2))
    assert torch.equal(diffusion.noise_codes(codes, 1.0, u), codes)
    fresh = diffusion.noise_codes(codes, 0.0, u)
    for b, k in enumerate(BLOCKS):
        freq = torch.bincount(fresh[:, b], minlength=k).double() / n
        assert ((freq - 1 / k).abs() < 5 * math.sqrt(0.25 / n)).all()


# ----------------------------------------------------------------- the loss


def test_loss_terms_vanish_for_a_perfect_denoiser():
    T, n = 50, 64
    diffusion = _diffusion(T=T)
    rng = np.random.RandomState(6)
    codes = np.column_stack([rng.randint(0, k, n) for k in BLOCKS])
    x0 = torch.cat([torch.randn(n, 2), _onehot(codes)], dim=1)
    g = torch.Generator().manual_seed(0)
    t = torch.randint(T, (n,), generator=g)
    t[:4] = 0  # the decoder term
    noise = torch.randn((n, 2), generator=g)
    x_in = diffusion.noisy_input(
        x0, t, noise, torch.rand((n, len(BLOCKS)), generator=g)
    )
    assert x_in.shape == x0.shape
    perfect = torch.cat([noise, 50.0 * x0[:, 2:]], dim=1)
    gaussian, multinomial = diffusion.loss_terms(perfect, x0, x_in, t, noise)
    prior = diffusion.multinomial_kl_prior(x0[:, 2:]) / len(BLOCKS)
    torch.testing.assert_close(gaussian, torch.zeros(n))
    torch.testing.assert_close(multinomial, prior, atol=1e-3, rtol=1e-3)
    # A wrong denoiser pays more, and the KL is never negative.
    wrong = torch.cat([-noise, -50.0 * x0[:, 2:]], dim=1)
    gaussian_w, multinomial_w = diffusion.loss_terms(wrong, x0, x_in, t, noise)
    assert (gaussian_w > 0).all() and (multinomial_w >= prior - 1e-4).all()
    assert multinomial_w.mean() > multinomial.mean() + 1.0
    # At t = 0 the term is the decoder NLL: -log p(x_0), here log(K) per block for
    # a uniform prediction, times T, over the number of blocks.
    flat = torch.cat([noise, torch.zeros_like(x0[:, 2:])], dim=1)
    _, multinomial_flat = diffusion.loss_terms(flat, x0, x_in, t, noise)
    expected = T * sum(math.log(k) for k in BLOCKS) / len(BLOCKS)
    torch.testing.assert_close(multinomial_flat[:4], prior[:4] + expected)
    loss = DiffusionLoss()(gaussian_w, multinomial_w)
    assert loss.item() == pytest.approx(
        gaussian_w.mean().item() + multinomial_w.mean().item()
    )


def test_loss_gradient_matches_finite_differences():
    T, n = 30, 8
    diffusion = _diffusion(T=T)
    rng = np.random.RandomState(7)
    codes = np.column_stack([rng.randint(0, k, n) for k in BLOCKS])
    x0 = torch.cat([torch.randn(n, 2), _onehot(codes)], dim=1).double()
    diffusion = diffusion.double()
    g = torch.Generator().manual_seed(1)
    t = torch.randint(T, (n,), generator=g)
    noise = torch.randn((n, 2), generator=g).double()
    x_in = diffusion.noisy_input(x0, t, noise, torch.rand((n, 3), generator=g).double())
    out = torch.randn(x0.shape, dtype=torch.float64, requires_grad=True)

    def total(o):
        gaussian, multinomial = diffusion.loss_terms(o, x0, x_in, t, noise)
        return gaussian.mean() + multinomial.mean()

    assert torch.autograd.gradcheck(total, (out,))


def test_loss_terms_without_numerical_or_categorical_units():
    only_num = GaussianMultinomialDiffusion(3, [], n_timesteps=10)
    x0 = torch.randn(4, 3)
    t, noise = torch.tensor([0, 3, 5, 9]), torch.randn(4, 3)
    x_in = only_num.noisy_input(x0, t, noise, torch.rand(4, 0))
    gaussian, multinomial = only_num.loss_terms(torch.zeros(4, 3), x0, x_in, t, noise)
    assert x_in.shape == (4, 3) and (multinomial == 0).all() and (gaussian > 0).all()
    only_cat = GaussianMultinomialDiffusion(0, [2, 3], n_timesteps=10)
    x0 = _onehot(np.array([[0, 2], [1, 1], [0, 0], [1, 2]]), blocks=[2, 3])
    x_in = only_cat.noisy_input(x0, t, torch.zeros(4, 0), torch.rand(4, 2))
    gaussian, multinomial = only_cat.loss_terms(torch.zeros(4, 5), x0, x_in, t, None)
    assert (gaussian == 0).all() and (multinomial > 0).all()


# --------------------------------------------------------- denoiser, sampler


def test_timestep_embedding_and_denoiser_shapes():
    emb = timestep_embedding(torch.tensor([0, 5, 999]), 7)
    assert emb.shape == (3, 7)
    torch.testing.assert_close(emb[0, :3], torch.ones(3))  # cos(0)
    torch.manual_seed(0)
    net = MLPDenoiser(9, (16, 8), dropout=0.1, embedding_dim=6).eval()
    x = torch.randn(5, 9)
    t = torch.tensor([3, 1, 3, 0, 1])
    out = net(x, t)
    assert out.shape == (5, 9)
    # Timesteps are embedded once per distinct value: same result row by row.
    rows = torch.cat([net(x[i : i + 1], t[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(out, rows)
    # One shared timestep broadcasts over the rows.
    torch.testing.assert_close(net(x, torch.tensor([3])), net(x, torch.full((5,), 3)))


def test_periodic_embedding_feeds_the_denoiser():
    torch.manual_seed(0)
    embedding = PeriodicEmbedding(3, n_frequencies=4, d_embedding=5)
    x = torch.randn(6, 3)
    out = embedding(x)
    assert out.shape == (6, 15) and embedding.out_features == 15 and (out >= 0).all()
    # Feature j's embedding depends on feature j only.
    x2 = x.clone()
    x2[:, 1] += 1.0
    changed = embedding(x2).reshape(6, 3, 5) != out.reshape(6, 3, 5)
    assert not changed[:, [0, 2]].any() and changed[:, 1].any()
    net = MLPDenoiser(9, (16,), embedding_dim=6, n_numerical=3)
    net(torch.randn(5, 9), torch.tensor([1])).sum().backward()
    assert net.numerical_embedding.frequencies.grad.abs().sum() > 0


def _layout():
    return Layout(
        [
            Span("a", 0, 1, "linear", "value"),
            Span("b", 1, 4, "softmax", "category", 3),
            Span("c", 4, 5, "linear", "value"),
            Span("c", 5, 7, "softmax", "missing", 2),
        ]
    )


def test_module_grouped_order_round_trips():
    module = TabDDPMModule(_layout(), (8,), n_timesteps=10)
    assert module.order.tolist() == [0, 4, 1, 2, 3, 5, 6]
    x = torch.arange(14, dtype=torch.float32).reshape(2, 7)
    torch.testing.assert_close(module.to_encoded(module.to_grouped(x)), x)
    assert module.diffusion.block_sizes == [3, 2]
    with pytest.raises(ValueError, match="one-hot"):
        TabDDPMModule(Layout([Span("d", 0, 1, "code", "category", 4)]), (8,))


def test_label_conditioned_module_reads_and_hides_labels():
    module = TabDDPMModule(_layout(), (8,), n_timesteps=10, label_block=0)
    # Grouped units: a, c, then block b (3 units), then c's missing block.
    assert module.label_units == (2, 5) and module.null_label == 3
    x0 = module.to_grouped(
        torch.tensor(
            [[0.1, 0, 0, 1, 0.2, 1, 0], [0.3, 1, 0, 0, 0.4, 0, 1]],
            dtype=torch.float32,
        )
    )
    torch.testing.assert_close(module.labels_of(x0), torch.tensor([2, 0]))
    gen = torch.Generator().manual_seed(0)
    module.label_dropout = 0.0
    torch.testing.assert_close(module.training_labels(x0, gen), torch.tensor([2, 0]))
    module.label_dropout = 1.0
    assert (module.training_labels(x0, gen) == 3).all()
    module.label_dropout = 0.5
    hidden = module.training_labels(x0.repeat(500, 1), gen) == 3
    assert 0.4 < hidden.float().mean() < 0.6
    # Without a label: no labels, no random draw.
    plain = TabDDPMModule(_layout(), (8,), n_timesteps=10)
    state = gen.get_state()
    assert plain.training_labels(x0, gen) is None and plain.null_label is None
    assert torch.equal(gen.get_state(), state)


@pytest.mark.parametrize("n_steps", [None, 4])
@pytest.mark.parametrize("eta", [1.0, 0.0])
def test_reverse_sample_gives_valid_rows_and_keeps_known_units(n_steps, eta):
    torch.manual_seed(0)
    module = TabDDPMModule(_layout(), (16,), n_timesteps=20, numeric_bound=5.2).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.inference_mode():
        rows = reverse_sample(module, 50, generator, n_steps=n_steps, eta=eta)
    assert rows.shape == (50, 7) and torch.isfinite(rows).all()
    blocks = rows[:, 2:]
    torch.testing.assert_close(_block_sums(blocks, [3, 2]), torch.ones(50, 2))
    assert (rows[:, :2].abs() <= 5.2 + 1e-5).all()
    # Known units (column b = class 2, numeric a = 0.7) are exact in every row.
    known = torch.tensor([[0.7, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([True, False, True, True, True, False, False])
    with torch.inference_mode():
        rows = reverse_sample(
            module,
            30,
            torch.Generator().manual_seed(2),
            n_steps=n_steps,
            eta=eta,
            known=known,
            known_mask=mask,
        )
    torch.testing.assert_close(rows[:, mask], known[:, mask].expand(30, -1))
    torch.testing.assert_close(_block_sums(rows[:, 2:], [3, 2]), torch.ones(30, 2))


def test_reverse_sample_is_reproducible_with_a_seeded_generator():
    torch.manual_seed(0)
    module = TabDDPMModule(_layout(), (16,), n_timesteps=15).eval()
    with torch.inference_mode():
        a = reverse_sample(module, 20, torch.Generator().manual_seed(7), n_steps=5)
        b = reverse_sample(module, 20, torch.Generator().manual_seed(7), n_steps=5)
        c = reverse_sample(module, 20, torch.Generator().manual_seed(8), n_steps=5)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)


def test_confident_denoiser_has_finite_loss_and_gradient():
    # A denoiser sure of its classes drives the other classes' probabilities below
    # float32's range; at t = 0 the posterior branch (unused there) then took
    # log(0), and its gradient 0 * inf made the whole step NaN (seen on Adult after
    # ~200 epochs). Both branches must stay finite.
    T, n = 50, 32
    diffusion = _diffusion(T=T)
    rng = np.random.RandomState(8)
    codes = np.column_stack([rng.randint(0, k, n) for k in BLOCKS])
    x0 = torch.cat([torch.randn(n, 2), _onehot(codes)], dim=1)
    g = torch.Generator().manual_seed(2)
    t = torch.randint(T, (n,), generator=g)
    t[: n // 2] = 0
    noise = torch.randn((n, 2), generator=g)
    x_in = diffusion.noisy_input(x0, t, noise, torch.rand((n, len(BLOCKS)), generator=g))
    for scale in (50.0, 500.0):
        out = torch.cat([noise, scale * (2 * x0[:, 2:] - 1)], dim=1).requires_grad_()
        gaussian, multinomial = diffusion.loss_terms(out, x0, x_in, t, noise)
        (gaussian.mean() + multinomial.mean()).backward()
        assert torch.isfinite(multinomial).all()
        assert torch.isfinite(out.grad).all()
