"""TVAE's encoder and decoder networks (Xu et al., 2019)."""

import torch
from torch import nn


def _mlp(sizes):
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers)


class TVAEModule(nn.Module):
    """MLP variational autoencoder over an encoded table.

    Parameters
    ----------
    n_features : int
        Width of the encoded input.
    n_outputs : int
        Width of the decoder output (the layout's ``output_width``).
    embedding_dim : int
        Size of the latent space.
    compress_dims, decompress_dims : tuple of int
        Hidden widths of the encoder and the decoder.

    Notes
    -----
    ``forward(x, eps)`` returns ``(out, mu, logvar, sigma)``: the decoder's raw
    output for ``z = mu + eps * std`` (``z = mu`` when ``eps`` is None), the
    posterior parameters and the learned per-output scale ``sigma``.
    """

    def __init__(self, n_features, n_outputs, embedding_dim, compress_dims, decompress_dims):
        super().__init__()
        self.encoder = _mlp((n_features, *compress_dims))
        last = compress_dims[-1] if compress_dims else n_features
        self.fc_mu = nn.Linear(last, embedding_dim)
        self.fc_logvar = nn.Linear(last, embedding_dim)
        self.decoder_body = _mlp((embedding_dim, *decompress_dims))
        last = decompress_dims[-1] if decompress_dims else embedding_dim
        self.decoder_head = nn.Linear(last, n_outputs)
        self.sigma = nn.Parameter(torch.full((n_outputs,), 0.1))

    def encode(self, x):
        """Posterior mean and log-variance of ``x``."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z):
        """Raw decoder outputs for latent ``z``."""
        return self.decoder_head(self.decoder_body(z))

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x)
        z = mu if eps is None else mu + eps * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar, self.sigma

    @torch.no_grad()
    def clamp_sigma(self, low=0.01, high=1.0):
        """Keep the decoder scale in TVAE's range after each optimiser step."""
        self.sigma.clamp_(low, high)
