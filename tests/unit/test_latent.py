"""TabSyn's building blocks: tokens, the EDM denoiser and sampler, the beta schedule."""

import numpy as np
import pytest
import torch

from sklearn_gen.nn._latent import (
    P_MEAN,
    P_STD,
    SIGMA_MAX,
    SIGMA_MIN,
    AdaptiveBeta,
    EDMDenoiser,
    TabularTransformerVAE,
    TabularVAELoss,
    TokenLayout,
    TransformerLayer,
    edm_loss,
    edm_noise,
    edm_sample,
    edm_sigmas,
)
from sklearn_gen.preprocessing import TabularEncoder
from sklearn_gen.utils.estimator_checks import make_mixed_frame


@pytest.fixture(scope="module")
def mixed():
    """A table with a NaN numeric column (a missing token) and code spans."""
    frame = make_mixed_frame(300)
    encoder = TabularEncoder(continuous="quantile", categorical="ordinal").fit(frame)
    encoded = torch.from_numpy(encoder.encode(frame).astype(np.float32))
    return frame, encoder, encoded


def test_token_layout_one_token_per_span(mixed):
    frame, encoder, _ = mixed
    tokens = TokenLayout(encoder.layout_)
    layout = encoder.layout_
    assert tokens.n_tokens == len(layout)
    assert tokens.n_numeric == len(layout.select(activation="linear"))
    # Numerical tokens first, then the categorical ones (incl. missing indicators).
    assert tokens.columns[: tokens.n_numeric] == [
        s.column for s in layout if s.activation == "linear"
    ]
    # "num" and "score" have NaN: a value token and a missing-indicator token each.
    assert len(tokens.tokens_of(["num"])) == 2
    assert len(tokens.tokens_of(["city"])) == 1
    assert set(tokens.columns) == set(frame.columns)


def test_split_join_round_trip(mixed):
    _, encoder, encoded = mixed
    tokens = TokenLayout(encoder.layout_)
    x_num, x_cat = tokens.split(encoded)
    assert x_num.shape == (len(encoded), tokens.n_numeric)
    assert x_cat.dtype == torch.long and x_cat.shape == (
        len(encoded),
        tokens.n_categorical,
    )
    assert (x_cat < torch.tensor(tokens.cardinalities)).all() and (x_cat >= 0).all()
    torch.testing.assert_close(tokens.join(x_num, x_cat), encoded)


def test_tokenizer_and_vae_shapes(mixed):
    _, encoder, encoded = mixed
    torch.manual_seed(0)
    vae = TabularTransformerVAE(
        encoder.layout_, d_token=8, n_heads=2, n_layers=1, factor=4
    )
    n, t = len(encoded), len(encoder.layout_)
    x_num, x_cat = vae.split(encoded)
    tokens = vae.tokenizer(x_num, x_cat)
    assert tokens.shape == (n, t, 8)
    # A numerical token is exactly w * x + b.
    w, b = vae.tokenizer.num_weight[0], vae.tokenizer.num_bias[0]
    torch.testing.assert_close(tokens[:, 0], x_num[:, :1] * w + b)
    x_hat, logits, mu, logvar = vae(x_num, x_cat, torch.zeros(n, t, 8))
    assert x_hat.shape == x_num.shape
    assert logits.shape == (n, x_cat.shape[1], max(vae.token_layout.cardinalities))
    assert mu.shape == logvar.shape == (n, t, 8)
    assert vae.latent_dim == t * 8
    # Padding classes of short columns can never win the argmax.
    decoded = vae.to_encoded(x_hat, logits)
    assert decoded.shape == encoded.shape
    _, classes = vae.split(decoded)
    assert (classes < torch.tensor(vae.token_layout.cardinalities)).all()
    loss, reconstruction, kl = TabularVAELoss()(
        (x_hat, logits, mu, logvar), x_num, x_cat, 0.5
    )
    torch.testing.assert_close(loss, reconstruction + 0.5 * kl)


def test_mean_tokens_are_frequency_weighted(mixed):
    frame, encoder, encoded = mixed
    vae = TabularTransformerVAE(encoder.layout_, d_token=4)
    vae.observe(encoded)
    means = vae.mean_tokens()
    tl = vae.token_layout
    city = tl.tokens_of(["city"])[0]
    j = city - tl.n_numeric
    codes = vae.split(encoded)[1][:, j]
    freq = torch.bincount(codes, minlength=tl.cardinalities[j]).float() / len(codes)
    tok = vae.tokenizer
    offset = int(tok.cat_offsets[j])
    classes = (
        tok.cat_embedding.weight[offset : offset + tl.cardinalities[j]]
        + tok.cat_bias[j]
    )
    torch.testing.assert_close(means[city], freq @ classes)
    x_num = vae.split(encoded)[0]
    torch.testing.assert_close(
        means[0], x_num[:, 0].mean() * tok.num_weight[0] + tok.num_bias[0]
    )


def test_transformer_layer_rows_are_independent():
    torch.manual_seed(0)
    layer = TransformerLayer(4, 2, 16)
    x = torch.randn(50, 7, 4)
    torch.testing.assert_close(layer(x)[:10], layer(x[:10]))
    with pytest.raises(ValueError, match="divide"):
        TransformerLayer(4, 3, 16)


def test_edm_preconditioning_is_identity_at_zero_noise():
    torch.manual_seed(0)
    denoiser = EDMDenoiser(12, dim=32)
    x = torch.randn(64, 12)
    # c_skip -> 1 and c_out -> 0 as sigma -> 0, whatever the network.
    torch.testing.assert_close(denoiser(x, 1e-7), x, atol=1e-5, rtol=0)
    # At a large sigma the skip term vanishes and c_in x ~ 0: the output is the
    # network's guess of the mean, nearly the same for every row.
    far = denoiser(x, 1e4)
    assert far.std(dim=0).max() < 0.01 * x.std()
    # Per-row sigmas give the same as one sigma per call.
    sigma = torch.full((64,), 0.7)
    torch.testing.assert_close(denoiser(x, sigma), denoiser(x, 0.7))


def test_edm_forward_noising_has_the_lognormal_sigma_and_unit_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.full((200_000, 2), 3.0)
    noisy, sigma, noise = edm_noise(x, g)
    log_sigma = torch.log(sigma)
    assert abs(log_sigma.mean().item() - P_MEAN) < 0.02
    assert abs(log_sigma.std().item() - P_STD) < 0.02
    # noisy = x + sigma * n: mean x, variance sigma^2 given sigma.
    z = (noisy - x) / sigma[:, None]
    torch.testing.assert_close(z, noise, atol=1e-3, rtol=1e-3)
    assert abs(z.mean().item()) < 0.01 and abs(z.var().item() - 1.0) < 0.01
    at_fixed = noisy[(sigma > 0.29) & (sigma < 0.31), 0]
    assert abs(at_fixed.mean().item() - 3.0) < 0.02
    assert abs(at_fixed.std().item() - 0.3) < 0.02


def test_edm_loss_weighting_is_unit_for_a_perfect_skip():
    """With F = 0, D = c_skip x: the weighted error has a closed form."""
    denoiser = EDMDenoiser(3, dim=8)
    for p in denoiser.mlp[-1].parameters():
        torch.nn.init.zeros_(p)
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(20_000, 3)
    # With x = 0 and F = 0: D = c_skip * sigma * n, loss = E[w c_skip^2 sigma^2 n^2].
    loss = edm_loss(denoiser, x, g)
    g = torch.Generator().manual_seed(1)
    _, sigma, noise = edm_noise(x, g)
    sd2 = denoiser.sigma_data**2
    c_skip = sd2 / (sigma**2 + sd2)
    w = (sigma**2 + sd2) / (sigma**2 * sd2)
    expected = (w[:, None] * (c_skip[:, None] * sigma[:, None] * noise) ** 2).mean()
    torch.testing.assert_close(loss, expected)


def test_edm_sigmas_schedule():
    sigmas = edm_sigmas(50)
    assert sigmas.shape == (51,)
    assert sigmas[0].item() == pytest.approx(SIGMA_MAX, rel=1e-5)
    assert sigmas[-2].item() == pytest.approx(SIGMA_MIN, rel=1e-4)
    assert sigmas[-1].item() == 0.0
    assert (torch.diff(sigmas) < 0).all()


def test_edm_sample_inpainting_holds_known_dims_exactly():
    torch.manual_seed(0)
    denoiser = EDMDenoiser(6, dim=16).eval()
    mask = torch.tensor([True, False, True, False, False, False])
    known = torch.tensor([0.25, -1.5])
    g = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        x = edm_sample(denoiser, 40, g, steps=4, known=known, mask=mask)
        assert x.shape == (40, 6) and torch.isfinite(x).all()
        torch.testing.assert_close(x[:, mask], known.expand(40, 2))
        x = edm_sample(denoiser, 40, g, steps=4, known=known, mask=mask, resample=3)
        torch.testing.assert_close(x[:, mask], known.expand(40, 2))
        a = edm_sample(denoiser, 10, torch.Generator().manual_seed(3), steps=3)
        b = edm_sample(denoiser, 10, torch.Generator().manual_seed(3), steps=3)
    torch.testing.assert_close(a, b)


def test_latent_standardisation_round_trip():
    denoiser = EDMDenoiser(5, dim=8)
    z = torch.randn(1000, 5) * torch.tensor([1.0, 2.0, 3.0, 0.5, 4.0]) + 7.0
    denoiser.set_latent_stats(z)
    x = denoiser.standardize(z)
    torch.testing.assert_close(x.std(dim=0), torch.full((5,), denoiser.sigma_data))
    assert x.mean(dim=0).abs().max() < 1e-4
    torch.testing.assert_close(denoiser.unstandardize(x), z)


def test_adaptive_beta_decays_on_plateau_and_respects_the_floor():
    schedule = AdaptiveBeta(beta_max=1e-2, beta_min=1e-5, factor=0.7, patience=3)
    assert schedule.beta == 1e-2
    for loss in (1.0, 0.9, 0.8):  # improving: no decay
        assert schedule.step(loss) == 1e-2
    schedule.step(0.85)
    schedule.step(0.85)
    assert schedule.beta == 1e-2  # two epochs without improvement: not yet
    assert schedule.step(0.85) == pytest.approx(7e-3)  # the third: decay
    schedule.step(0.5)  # an improvement resets the count
    schedule.step(0.6)
    schedule.step(0.6)
    assert schedule.beta == pytest.approx(7e-3)
    for _ in range(300):  # a long plateau decays to the floor, never below
        schedule.step(10.0)
    assert schedule.beta == 1e-5
