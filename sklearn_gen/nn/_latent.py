"""TabSyn's networks: a column-tokenising transformer VAE and an EDM denoiser.

The latent diffusion model of Zhang et al. (ICLR 2024) has two parts:

1. a VAE whose encoder turns every column into a token (a numerical value ``x`` by
   a learned per-column linear map ``w x + b``, a category by an embedding), mixes
   the tokens with a small transformer and gives a Gaussian posterior per token;
   its decoder maps latent tokens back through a transformer and a per-column
   detokeniser (a scalar for a numerical column, logits for a categorical one);
2. a score-based diffusion model in the flattened latent space, with the
   preconditioning, noise distribution, loss and Heun sampler of EDM (Karras et
   al., NeurIPS 2022).

Torch only; the spans come from a :class:`~sklearn_gen.preprocessing.Layout`.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

#: EDM's defaults (Karras et al. 2022, Table 1), as TabSyn uses them.
SIGMA_MIN = 0.002
SIGMA_MAX = 80.0
RHO = 7.0
P_MEAN = -1.2
P_STD = 1.2
#: Standard deviation of the diffusion's training data: the latents are
#: standardised per dimension and scaled to it.
SIGMA_DATA = 0.5
#: Logit given to the padding classes of a short categorical column.
_PAD_LOGIT = -1e9


class TokenLayout:
    """Which encoded units become which token (plain data, picklable anywhere).

    Every span of the layout is one token: scalar spans (``"linear"`` /
    ``"tanh"``) are numerical tokens, class spans (``"code"`` or one-hot
    ``"softmax"``, e.g. a numerical column's ``"missing"`` indicator) categorical
    tokens. Numerical tokens come first, then categorical ones, each group in
    layout order.

    Parameters
    ----------
    layout : Layout
        The encoder's layout.

    Attributes
    ----------
    numeric : list of int
        Encoded position of each numerical token's value.
    categorical : list of (start, stop, n_categories, is_code)
        Encoded units of each categorical token.
    columns : list of str
        Original column of every token, in token order.
    """

    def __init__(self, layout):
        self.numeric, self.categorical = [], []
        numeric_columns, categorical_columns = [], []
        for span in layout:
            if span.activation in ("linear", "tanh"):
                self.numeric.append(span.start)
                numeric_columns.append(span.column)
            else:
                n_categories = int(span.n_categories or span.width)
                self.categorical.append(
                    (span.start, span.stop, n_categories, span.activation == "code")
                )
                categorical_columns.append(span.column)
        self.columns = numeric_columns + categorical_columns
        self.n_features = layout.n_features

    @property
    def n_numeric(self):
        return len(self.numeric)

    @property
    def n_categorical(self):
        return len(self.categorical)

    @property
    def n_tokens(self):
        return len(self.columns)

    @property
    def cardinalities(self):
        return [c[2] for c in self.categorical]

    def tokens_of(self, columns):
        """Token indices of the given original columns."""
        wanted = set(columns)
        return [i for i, name in enumerate(self.columns) if name in wanted]

    def split(self, encoded):
        """``(x_num, x_cat)``: float values (n, n_numeric), long classes (n, n_cat)."""
        n = encoded.shape[0]
        device = encoded.device
        if self.numeric:
            x_num = encoded[:, self.numeric]
        else:
            x_num = encoded.new_zeros((n, 0))
        parts = []
        for start, stop, n_categories, is_code in self.categorical:
            if is_code:
                code = torch.nan_to_num(encoded[:, start]).round().long()
                parts.append(code.clamp(0, n_categories - 1))
            else:
                parts.append(encoded[:, start:stop].argmax(dim=1))
        if parts:
            x_cat = torch.stack(parts, dim=1)
        else:
            x_cat = torch.zeros((n, 0), dtype=torch.long, device=device)
        return x_num, x_cat

    def join(self, x_num, x_cat):
        """The encoded matrix of numerical values and class indices (see split)."""
        n = x_num.shape[0]
        encoded = x_num.new_zeros((n, self.n_features))
        if self.numeric:
            encoded[:, self.numeric] = x_num
        for j, (start, stop, _, is_code) in enumerate(self.categorical):
            if is_code:
                encoded[:, start] = x_cat[:, j].to(encoded.dtype)
            else:
                encoded[:, start:stop].scatter_(1, x_cat[:, j : j + 1], 1.0)
        return encoded


def _uniform_(tensor, d_token):
    bound = 1.0 / math.sqrt(d_token)
    nn.init.uniform_(tensor, -bound, bound)
    return tensor


class ColumnTokenizer(nn.Module):
    """One ``d_token`` vector per column.

    A numerical value ``x_i`` becomes ``w_i * x_i + b_i``; a category ``c`` of
    column ``j`` becomes ``E_j[c] + b_j`` (TabSyn's tokeniser, from the
    FT-Transformer).

    Parameters
    ----------
    n_numeric : int
        Number of numerical tokens.
    cardinalities : list of int
        Number of classes of every categorical token.
    d_token : int
        Token width.
    """

    def __init__(self, n_numeric, cardinalities, d_token):
        super().__init__()
        self.num_weight = nn.Parameter(
            _uniform_(torch.empty(n_numeric, d_token), d_token)
        )
        self.num_bias = nn.Parameter(
            _uniform_(torch.empty(n_numeric, d_token), d_token)
        )
        n_classes = max(sum(cardinalities), 1)
        self.cat_embedding = nn.Embedding(n_classes, d_token)
        _uniform_(self.cat_embedding.weight, d_token)
        self.cat_bias = nn.Parameter(
            _uniform_(torch.empty(len(cardinalities), d_token), d_token)
        )
        offsets = torch.tensor([0, *cardinalities[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("cat_offsets", offsets[: len(cardinalities)])

    def forward(self, x_num, x_cat):
        """Tokens of shape ``(n, n_numeric + n_categorical, d_token)``."""
        tokens = []
        if self.num_weight.shape[0]:
            tokens.append(x_num[:, :, None] * self.num_weight + self.num_bias)
        if self.cat_bias.shape[0]:
            tokens.append(self.cat_embedding(x_cat + self.cat_offsets) + self.cat_bias)
        return torch.cat(tokens, dim=1)

    def category_embeddings(self):
        """Every class's token, ``(sum(cardinalities), d_token)``, bias included."""
        cards = torch.diff(
            torch.cat(
                [
                    self.cat_offsets,
                    self.cat_offsets.new_tensor([self.cat_embedding.num_embeddings]),
                ]
            )
        )
        bias = torch.repeat_interleave(self.cat_bias, cards, dim=0)
        return self.cat_embedding.weight + bias


class ColumnDetokenizer(nn.Module):
    """Per-column heads: a scalar per numerical token, logits per categorical one.

    Categorical heads are one batched product over padded weights; the padding
    classes get a logit of ``-1e9``.

    Parameters
    ----------
    n_numeric : int
    cardinalities : list of int
    d_token : int
    """

    def __init__(self, n_numeric, cardinalities, d_token):
        super().__init__()
        width = max(cardinalities, default=1)
        self.num_weight = nn.Parameter(
            _uniform_(torch.empty(n_numeric, d_token), d_token)
        )
        self.num_bias = nn.Parameter(torch.zeros(n_numeric))
        self.cat_weight = nn.Parameter(
            _uniform_(torch.empty(len(cardinalities), d_token, width), d_token)
        )
        self.cat_bias = nn.Parameter(torch.zeros(len(cardinalities), width))
        valid = (
            torch.arange(width)[None, :] < torch.tensor(cardinalities or [1])[:, None]
        )
        self.register_buffer("cat_valid", valid[: len(cardinalities)])
        self.n_numeric = n_numeric

    def forward(self, h):
        """``(x_num (n, n_numeric), logits (n, n_categorical, max_cardinality))``."""
        h_num, h_cat = h[:, : self.n_numeric], h[:, self.n_numeric :]
        x_num = (h_num * self.num_weight).sum(-1) + self.num_bias
        logits = torch.einsum("ntd,tdk->ntk", h_cat, self.cat_weight) + self.cat_bias
        logits = logits.masked_fill(~self.cat_valid, _PAD_LOGIT)
        return x_num, logits


class TransformerLayer(nn.Module):
    """A pre-norm transformer layer over column tokens (no dropout).

    ``x + Attention(LN(x))`` then ``x + FFN(LN(x))`` with a ReLU feed-forward
    network of width ``hidden``. Written with plain matrix products: for tokens a
    few units wide this is faster on the CPU than ``nn.TransformerEncoderLayer``
    (whose fused attention kernels target wide heads), and it has no separate
    inference path, so a row's output does not depend on its batch.

    Parameters
    ----------
    d_token : int
    n_heads : int
        Must divide ``d_token``.
    hidden : int
        Width of the feed-forward network.
    """

    def __init__(self, d_token, n_heads, hidden):
        super().__init__()
        if d_token % n_heads:
            raise ValueError(f"n_heads ({n_heads}) must divide d_token ({d_token}).")
        self.n_heads = int(n_heads)
        self.norm_attention = nn.LayerNorm(d_token)
        self.qkv = nn.Linear(d_token, 3 * d_token)
        self.out = nn.Linear(d_token, d_token)
        self.norm_ffn = nn.LayerNorm(d_token)
        self.ffn = nn.Sequential(
            nn.Linear(d_token, hidden), nn.ReLU(), nn.Linear(hidden, d_token)
        )

    def forward(self, x):
        n, t, d = x.shape
        h = self.n_heads
        q, k, v = (
            self.qkv(self.norm_attention(x))
            .view(n, t, 3, h, d // h)
            .permute(2, 0, 3, 1, 4)
            .unbind(0)
        )
        scores = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(d // h))
        attended = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(n, t, d)
        x = x + self.out(attended)
        return x + self.ffn(self.norm_ffn(x))


def _transformer(d_token, n_heads, n_layers, factor):
    return nn.Sequential(
        *[
            TransformerLayer(d_token, n_heads, int(factor) * d_token)
            for _ in range(n_layers)
        ]
    )


class TabularTransformerVAE(nn.Module):
    """TabSyn's VAE: column tokeniser, transformer encoder / decoder, detokeniser.

    Parameters
    ----------
    layout : Layout
        The encoder's layout (every span is a token, see :class:`TokenLayout`).
    d_token : int, default=4
        Width of each column's token and latent.
    n_heads : int, default=1
        Attention heads (must divide ``d_token``).
    n_layers : int, default=2
        Transformer layers of the encoder and of the decoder.
    factor : int, default=8
        Feed-forward width of each transformer layer, in multiples of ``d_token``.

    Notes
    -----
    ``forward(x_num, x_cat, eps)`` returns ``(x_num_hat, logits, mu, logvar)`` with
    ``mu`` and ``logvar`` of shape ``(n, n_tokens, d_token)``: one Gaussian per
    column token. The latent of a row is ``mu`` flattened. One transformer trunk
    feeds both posterior heads (TabSyn uses one transformer per head), and the
    layers are pre-norm (:class:`TransformerLayer`).

    The buffers ``category_counts`` and ``numeric_sum`` / ``n_observed`` count the
    training inputs, for :meth:`mean_tokens`.
    """

    def __init__(self, layout, d_token=4, n_heads=1, n_layers=2, factor=8):
        super().__init__()
        self.token_layout = TokenLayout(layout)
        tl = self.token_layout
        self.d_token = int(d_token)
        self.tokenizer = ColumnTokenizer(tl.n_numeric, tl.cardinalities, self.d_token)
        self.encoder = _transformer(self.d_token, n_heads, n_layers, factor)
        self.fc_mu = nn.Linear(self.d_token, self.d_token)
        self.fc_logvar = nn.Linear(self.d_token, self.d_token)
        self.decoder = _transformer(self.d_token, n_heads, n_layers, factor)
        self.detokenizer = ColumnDetokenizer(
            tl.n_numeric, tl.cardinalities, self.d_token
        )
        self.register_buffer(
            "category_counts",
            torch.zeros(max(sum(tl.cardinalities), 1), dtype=torch.float64),
        )
        self.register_buffer(
            "numeric_sum", torch.zeros(tl.n_numeric, dtype=torch.float64)
        )
        self.register_buffer("n_observed", torch.zeros((), dtype=torch.float64))

    @property
    def n_tokens(self):
        return self.token_layout.n_tokens

    @property
    def latent_dim(self):
        """Width of a flattened latent row."""
        return self.n_tokens * self.d_token

    def split(self, encoded):
        """See :meth:`TokenLayout.split`."""
        return self.token_layout.split(encoded)

    @torch.no_grad()
    def observe(self, encoded):
        """Add a training table's class counts and numerical sums to the buffers."""
        x_num, x_cat = self.split(encoded)
        if x_cat.shape[1]:
            ids = (x_cat + self.tokenizer.cat_offsets).reshape(-1)
            self.category_counts += torch.bincount(
                ids, minlength=self.category_counts.numel()
            ).to(self.category_counts.dtype)
        self.numeric_sum += x_num.sum(dim=0).to(self.numeric_sum.dtype)
        self.n_observed += encoded.shape[0]

    def mean_tokens(self):
        """The expected input token of every column, ``(n_tokens, d_token)``.

        ``w_i * E[x_i] + b_i`` for a numerical column and the frequency-weighted
        mean of the class tokens for a categorical one: what the encoder sees for
        a column whose value is unknown (conditional sampling, ``transform``
        without the target).
        """
        tok = self.tokenizer
        n = self.n_observed.clamp_min(1.0)
        parts = []
        if self.token_layout.n_numeric:
            mean = (self.numeric_sum / n).to(tok.num_weight.dtype)
            parts.append(mean[:, None] * tok.num_weight + tok.num_bias)
        if self.token_layout.n_categorical:
            counts = self.category_counts.to(tok.num_weight.dtype)
            classes = tok.category_embeddings() * counts[:, None]
            column = torch.repeat_interleave(
                torch.arange(
                    len(self.token_layout.cardinalities), device=counts.device
                ),
                torch.tensor(self.token_layout.cardinalities, device=counts.device),
            )
            sums = torch.zeros(
                (len(self.token_layout.cardinalities), self.d_token),
                dtype=classes.dtype,
                device=classes.device,
            ).index_add_(0, column, classes)
            totals = torch.zeros(
                len(self.token_layout.cardinalities),
                dtype=counts.dtype,
                device=counts.device,
            ).index_add_(0, column, counts)
            uniform = torch.zeros_like(sums).index_add_(
                0, column, tok.category_embeddings()
            )
            uniform = (
                uniform
                / torch.tensor(
                    self.token_layout.cardinalities,
                    dtype=sums.dtype,
                    device=sums.device,
                )[:, None]
            )
            # Before any data is seen, the plain mean of the class tokens.
            parts.append(
                torch.where(
                    totals[:, None] > 0, sums / totals.clamp_min(1.0)[:, None], uniform
                )
            )
        return torch.cat(parts, dim=0)

    def embed(self, encoded):
        """Input tokens ``(n, n_tokens, d_token)`` of an encoded batch."""
        return self.tokenizer(*self.split(encoded))

    def encode_tokens(self, tokens):
        """Posterior ``(mu, logvar)``, each ``(n, n_tokens, d_token)``."""
        h = self.encoder(tokens)
        return self.fc_mu(h), self.fc_logvar(h)

    def encode(self, encoded):
        """Posterior ``(mu, logvar)`` of an encoded batch."""
        return self.encode_tokens(self.embed(encoded))

    def decode(self, z):
        """``(x_num, logits)`` for latents ``(n, n_tokens, d_token)`` or flattened."""
        z = z.reshape(z.shape[0], self.n_tokens, self.d_token)
        return self.detokenizer(self.decoder(z))

    def forward(self, x_num, x_cat, eps=None):
        mu, logvar = self.encode_tokens(self.tokenizer(x_num, x_cat))
        z = mu if eps is None else mu + eps * torch.exp(0.5 * logvar)
        x_hat, logits = self.decode(z)
        return x_hat, logits, mu, logvar

    def to_encoded(self, x_num, logits):
        """Encoded rows of decoder outputs: values as they are, classes by argmax."""
        return self.token_layout.join(x_num, logits.argmax(dim=-1))


class TabularVAELoss(nn.Module):
    """TabSyn's VAE objective: ``MSE + CE + beta * KL``.

    The MSE is the mean over rows and numerical columns, the cross-entropy the
    mean over rows and categorical columns, the KL divergence to N(0, I) the mean
    over rows and latent units.
    """

    def forward(self, outputs, x_num, x_cat, beta):
        """``(loss, reconstruction, kl)`` of the module's outputs for one batch."""
        x_hat, logits, mu, logvar = outputs
        reconstruction = mu.new_zeros(())
        if x_num.shape[1]:
            reconstruction = reconstruction + F.mse_loss(x_hat, x_num)
        if x_cat.shape[1]:
            reconstruction = reconstruction + F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), x_cat.reshape(-1)
            )
        kl = -0.5 * torch.mean(1.0 + logvar - mu * mu - torch.exp(logvar))
        return reconstruction + beta * kl, reconstruction, kl


class AdaptiveBeta:
    """TabSyn's KL weight: start high, shrink when the reconstruction stalls.

    ``beta`` starts at ``beta_max``. After every ``patience`` epochs without a new
    best reconstruction loss it is multiplied by ``factor``, never below
    ``beta_min``.

    Parameters
    ----------
    beta_max, beta_min : float
    factor : float
        Multiplier in (0, 1).
    patience : int
        Epochs without improvement before a decrease.
    """

    def __init__(self, beta_max=1e-2, beta_min=1e-5, factor=0.7, patience=10):
        self.beta_max = float(beta_max)
        self.beta_min = float(beta_min)
        self.factor = float(factor)
        self.patience = int(patience)
        self.beta = self.beta_max
        self.best = math.inf
        self.wait = 0

    def step(self, loss):
        """Record an epoch's reconstruction loss; return the beta for the next one."""
        if loss < self.best:
            self.best = float(loss)
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.beta = max(self.beta * self.factor, self.beta_min)
                self.wait = 0
        return self.beta


class NoiseEmbedding(nn.Module):
    """Sinusoidal embedding of the noise level (EDM's ``PositionalEmbedding``)."""

    def __init__(self, n_channels, max_positions=10_000):
        super().__init__()
        half = n_channels // 2
        freqs = (1.0 / max_positions) ** (
            torch.arange(half, dtype=torch.float32) / half
        )
        self.register_buffer("freqs", freqs)

    def forward(self, x):
        angles = x.reshape(-1, 1).to(self.freqs.dtype) * self.freqs
        return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class EDMDenoiser(nn.Module):
    """EDM-preconditioned MLP denoiser ``D(x; sigma)`` of flattened latents.

    ``D(x; sigma) = c_skip x + c_out F(c_in x, c_noise)`` with ``c_skip =
    sd^2 / (sigma^2 + sd^2)``, ``c_out = sigma sd / sqrt(sigma^2 + sd^2)``,
    ``c_in = 1 / sqrt(sigma^2 + sd^2)``, ``c_noise = log(sigma) / 4`` and ``sd``
    the data's standard deviation. ``F`` is TabSyn's MLP: the input projected to
    ``dim``, plus an MLP embedding of ``c_noise``, then ``dim -> 2 dim -> 2 dim ->
    dim -> d_in`` with SiLU.

    Parameters
    ----------
    d_in : int
        Width of a flattened latent.
    dim : int, default=512
        Hidden width.
    sigma_data : float, default=0.5

    Notes
    -----
    The buffers ``latent_mean`` and ``latent_std`` standardise the VAE's latents
    (:meth:`standardize` maps them to per-dimension standard deviation
    ``sigma_data``).
    """

    def __init__(self, d_in, dim=512, sigma_data=SIGMA_DATA):
        super().__init__()
        self.d_in = int(d_in)
        self.sigma_data = float(sigma_data)
        self.proj = nn.Linear(self.d_in, dim)
        self.noise_embedding = NoiseEmbedding(dim)
        self.noise_mlp = nn.Sequential(
            nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim)
        )
        self.mlp = nn.Sequential(
            nn.Linear(dim, 2 * dim),
            nn.SiLU(),
            nn.Linear(2 * dim, 2 * dim),
            nn.SiLU(),
            nn.Linear(2 * dim, dim),
            nn.SiLU(),
            nn.Linear(dim, self.d_in),
        )
        self.register_buffer("latent_mean", torch.zeros(self.d_in))
        self.register_buffer("latent_std", torch.ones(self.d_in))

    def network(self, x, c_noise):
        """The raw network ``F``; ``c_noise`` is one value per row or a single value."""
        emb = self.noise_mlp(self.noise_embedding(c_noise))
        return self.mlp(self.proj(x) + emb)

    def forward(self, x, sigma):
        """Denoised estimate of ``x`` at noise level ``sigma`` (per row or scalar)."""
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        single = sigma.numel() == 1
        sigma = sigma.reshape(1, 1) if single else sigma.reshape(-1, 1)
        sd2 = self.sigma_data**2
        c_skip = sd2 / (sigma**2 + sd2)
        c_out = sigma * self.sigma_data / torch.sqrt(sigma**2 + sd2)
        c_in = 1.0 / torch.sqrt(sd2 + sigma**2)
        c_noise = torch.log(sigma) / 4.0
        out = self.network(c_in * x, c_noise.reshape(-1))
        return c_skip * x + c_out * out

    @torch.no_grad()
    def set_latent_stats(self, z):
        """Set the standardisation from a table of latents ``(n, d_in)``."""
        self.latent_mean.copy_(z.mean(dim=0))
        std = z.std(dim=0) if z.shape[0] > 1 else torch.ones_like(self.latent_std)
        self.latent_std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def standardize(self, z):
        return (z - self.latent_mean) / self.latent_std * self.sigma_data

    def unstandardize(self, x):
        return x / self.sigma_data * self.latent_std + self.latent_mean


def edm_noise(x, generator):
    """EDM's forward noising ``x + sigma * n``, ``log sigma ~ N(P_mean, P_std^2)``.

    Returns the noisy batch, the per-row ``sigma`` ``(n,)`` and the noise ``n``.
    """
    n = x.shape[0]
    log_sigma = torch.randn(n, generator=generator, device=x.device, dtype=x.dtype)
    sigma = torch.exp(log_sigma * P_STD + P_MEAN)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + noise * sigma[:, None], sigma, noise


def edm_loss(denoiser, x, generator):
    """EDM's weighted denoising loss of a batch of (standardised) latents ``x``.

    ``E[lambda(sigma) ||D(x + sigma n; sigma) - x||^2]`` with ``lambda = (sigma^2 +
    sd^2) / (sigma sd)^2``, the mean over rows and dimensions.
    """
    noisy, sigma, _ = edm_noise(x, generator)
    sd = denoiser.sigma_data
    weight = (sigma**2 + sd**2) / (sigma * sd) ** 2
    denoised = denoiser(noisy, sigma)
    return (weight[:, None] * (denoised - x) ** 2).mean()


def edm_sigmas(steps, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX, rho=RHO, device=None):
    """EDM's ``steps`` noise levels from ``sigma_max`` to ``sigma_min``, then 0."""
    steps = int(steps)
    i = torch.arange(steps, dtype=torch.float64, device=device)
    denominator = max(steps - 1, 1)
    t = (
        sigma_max ** (1 / rho)
        + i / denominator * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    ) ** rho
    return torch.cat([t, t.new_zeros(1)]).to(torch.float32)


def edm_sample(
    denoiser,
    n,
    generator,
    *,
    steps=50,
    churn=1.0,
    known=None,
    mask=None,
    resample=1,
    dtype=torch.float32,
):
    """Heun (2nd-order) sampling of EDM (Karras et al. 2022, Algorithm 2).

    Parameters
    ----------
    denoiser : EDMDenoiser
    n : int
        Rows to draw.
    generator : torch.Generator
        Source of every noise draw.
    steps : int, default=50
        Noise levels (``2 * steps - 1`` denoiser evaluations).
    churn : float, default=1.0
        EDM's ``S_churn``: the stochasticity added per step (TabSyn's value).
    known, mask : Tensor or None
        Inpainting: the dimensions ``mask`` (bool, ``(d_in,)``) are held at the
        values ``known`` (``(mask.sum(),)`` or ``(n, mask.sum())``) re-noised to the
        current noise level after every step (RePaint-style), and are exactly
        ``known`` at the end.
    resample : int, default=1
        RePaint's resampling (inpainting only): each step is taken ``resample``
        times, going back to the step's starting noise level in between
        (``x + sqrt(t_cur^2 - t_next^2) n``), so the free dimensions adapt to the
        held ones. Costs ``resample`` times the denoiser calls.

    Returns
    -------
    x : Tensor of shape (n, d_in)
        Samples in the standardised latent space.
    """
    device = denoiser.latent_mean.device
    sigmas = edm_sigmas(steps, device=device)
    d_in = denoiser.d_in

    def randn(shape):
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)

    def clamp_known(x, sigma):
        if mask is None:
            return x
        noise = randn((x.shape[0], int(mask.sum()))) * sigma if sigma > 0 else 0.0
        x[:, mask] = known + noise
        return x

    x = clamp_known(randn((n, d_in)) * sigmas[0], sigmas[0])
    gamma = min(float(churn) / int(steps), math.sqrt(2.0) - 1.0)
    rounds = int(resample) if mask is not None else 1
    for i in range(int(steps)):
        t_cur, t_next = sigmas[i], sigmas[i + 1]
        last = i == int(steps) - 1
        for r in range(1 if last else rounds):
            if r:  # RePaint: back to this step's noise level, then redo it
                x = x + torch.sqrt(t_cur**2 - t_next**2) * randn(x.shape)
            t_hat = t_cur * (1.0 + gamma)
            if gamma > 0:
                x = x + torch.sqrt(t_hat**2 - t_cur**2) * randn(x.shape)
            d_cur = (x - denoiser(x, t_hat)) / t_hat
            x_next = x + (t_next - t_hat) * d_cur
            if not last:
                d_prime = (x_next - denoiser(x_next, t_next)) / t_next
                x_next = x + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
            x = clamp_known(x_next, t_next)
    return x
