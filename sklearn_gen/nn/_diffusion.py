"""Gaussian + multinomial diffusion for tables (TabDDPM, Kotelnikov et al., ICML 2023).

Numerical units (quantile-normalised scalars) follow Gaussian diffusion (Ho et al.,
2020): ``q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)``, and the denoiser
predicts the noise. Every one-hot block (a categorical column, or a ``[observed,
missing]`` indicator) follows multinomial diffusion (Hoogeboom et al., 2021):
``q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t) / K)``, and the denoiser predicts
``x_0``'s class probabilities, turned into the reverse step through the closed-form
posterior ``q(x_s | x_t, x_0)``. One MLP with a sinusoidal timestep embedding
denoises both parts of a row at once.

All multinomial work is done on the concatenated units of every block at once:
segment reductions over blocks use a per-unit block index and a unit-to-block
membership matrix, never a Python loop over blocks or rows.

Timesteps are indexed ``0 .. T-1`` as in TabDDPM: ``x_t`` for ``t = 0`` is already
lightly noised, and the last reverse step (to "``s = -1``") returns the predicted
``x_0``. Reverse steps may be strided (``s < t - 1``): the Gaussian part then takes a
DDIM step (Song et al., 2021) and the multinomial part samples the posterior
``q(x_s | x_t, x_0)`` with the strided cumulative ``alpha_{t|s} = abar_t / abar_s``.
"""

import math

import numpy as np
import torch
from torch import nn


#: Floor of probabilities inside logarithms (float32's smallest normal is ~1e-38).
_TINY = 1e-30

__all__ = [
    "GaussianMultinomialDiffusion",
    "MLPDenoiser",
    "TabDDPMModule",
    "DiffusionLoss",
    "noise_schedule",
    "reverse_timesteps",
    "reverse_sample",
    "timestep_embedding",
]


def noise_schedule(n_timesteps, scheduler="cosine"):
    """The variances ``beta_t`` of the forward process, as float64.

    Parameters
    ----------
    n_timesteps : int
        Number of diffusion steps ``T``.
    scheduler : {"cosine", "linear"}, default="cosine"
        ``"cosine"``: ``abar(t) = cos((t/T + 0.008) / 1.008 * pi/2)^2`` (Nichol &
        Dhariwal, 2021), betas clipped at 0.999. ``"linear"``: betas evenly spaced
        from ``1e-4`` to ``0.02`` for ``T = 1000`` (Ho et al., 2020), rescaled by
        ``1000 / T`` so any ``T`` spans the same noise levels.

    Returns
    -------
    betas : ndarray of shape (n_timesteps,)
    """
    n_timesteps = int(n_timesteps)
    if n_timesteps < 1:
        raise ValueError(f"n_timesteps must be >= 1, got {n_timesteps}.")
    if scheduler == "linear":
        scale = 1000.0 / n_timesteps
        return np.linspace(scale * 1e-4, min(scale * 0.02, 0.999), n_timesteps)
    if scheduler == "cosine":
        steps = np.arange(n_timesteps + 1, dtype=np.float64) / n_timesteps
        abar = np.cos((steps + 0.008) / 1.008 * np.pi / 2) ** 2
        return np.minimum(1.0 - abar[1:] / abar[:-1], 0.999)
    raise ValueError(f"scheduler must be 'cosine' or 'linear', got {scheduler!r}.")


def reverse_timesteps(n_timesteps, n_steps=None):
    """The timesteps a reverse pass visits, descending from ``T-1`` to 0.

    Parameters
    ----------
    n_timesteps : int
        ``T``, the number of training timesteps.
    n_steps : int or None, default=None
        Number of reverse steps; None (or ``>= T``) visits every timestep, fewer
        give an evenly strided subsequence that still starts at ``T-1`` and ends
        at 0.

    Returns
    -------
    timesteps : list of int
    """
    T = int(n_timesteps)
    if n_steps is None or int(n_steps) >= T:
        return list(range(T - 1, -1, -1))
    n_steps = max(int(n_steps), 1)
    if n_steps == 1:
        return [T - 1]
    steps = np.unique(np.round(np.linspace(0, T - 1, n_steps)).astype(np.int64))
    return [int(t) for t in steps[::-1]]


def timestep_embedding(t, dim, max_period=10000.0):
    """Sinusoidal embedding of integer timesteps (as in DDPM / TabDDPM).

    Parameters
    ----------
    t : Tensor of shape (n,)
        Timesteps.
    dim : int
        Embedding width.
    max_period : float, default=10000.0
        Longest wavelength.

    Returns
    -------
    embedding : Tensor of shape (n, dim)
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period)
        * torch.arange(half, dtype=torch.float32, device=t.device)
        / max(half, 1)
    )
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class PeriodicEmbedding(nn.Module):
    """Per-feature periodic embedding of numerical inputs (PLR, Gorishniy et al., 2022).

    Feature ``j`` becomes ``ReLU(W_j [cos(2 pi c_j x_j), sin(2 pi c_j x_j)] + b_j)``
    with learned frequencies ``c_j`` (``n_frequencies`` of them, initialised from
    ``N(0, sigma^2)``) and a linear map per feature. An MLP fed these features can
    represent sharp, non-monotone functions of one value (a threshold on a
    heavy-tailed column) that a single linear projection of the raw value cannot.

    Parameters
    ----------
    n_features : int
        Numerical inputs.
    n_frequencies : int, default=16
        Frequencies per feature.
    d_embedding : int, default=16
        Output width per feature.
    sigma : float, default=0.5
        Standard deviation of the initial frequencies (inputs are about standard
        normal).
    """

    def __init__(self, n_features, n_frequencies=16, d_embedding=16, sigma=0.5):
        super().__init__()
        self.frequencies = nn.Parameter(torch.randn(n_features, n_frequencies) * sigma)
        bound = 1.0 / math.sqrt(2 * n_frequencies)
        self.weight = nn.Parameter(
            torch.empty(n_features, 2 * n_frequencies, d_embedding).uniform_(
                -bound, bound
            )
        )
        self.bias = nn.Parameter(
            torch.empty(n_features, d_embedding).uniform_(-bound, bound)
        )

    @property
    def out_features(self):
        return self.weight.shape[0] * self.weight.shape[2]

    def forward(self, x):
        """Embeddings of ``x`` (n, n_features), flattened to (n, out_features)."""
        z = (2 * math.pi) * x.unsqueeze(-1) * self.frequencies
        z = torch.cat([torch.cos(z), torch.sin(z)], dim=-1)  # (n, d, 2k)
        out = torch.einsum("ndk,dke->nde", z, self.weight) + self.bias
        return torch.relu(out).flatten(1)


class MLPDenoiser(nn.Module):
    """TabDDPM's denoiser: an MLP on ``proj(x_t) + emb(t)``.

    Parameters
    ----------
    n_features : int
        Width of a noisy row (numerical units plus one-hot units); the output has
        the same width (predicted noise, then ``x_0`` logits).
    dims : tuple of int
        Hidden widths (Linear, ReLU, Dropout each).
    dropout : float, default=0.0
        Dropout after every hidden layer.
    embedding_dim : int, default=128
        Width of the input projection and of the timestep embedding.
    n_numerical : int, default=0
        Leading numerical units of a row that get a :class:`PeriodicEmbedding`
        as well (0: none; the input projection sees the raw row only).
    n_classes : int, default=0
        Classes of a label the denoiser is conditioned on (0: none). Label ``k``
        adds a learned embedding to the timestep embedding; label ``n_classes``
        (or ``labels=None``) is the "no label" embedding.
    """

    def __init__(
        self,
        n_features,
        dims,
        dropout=0.0,
        embedding_dim=128,
        n_numerical=0,
        n_classes=0,
    ):
        super().__init__()
        self.embedding_dim = int(embedding_dim)
        self.n_numerical = int(n_numerical)
        self.n_classes = int(n_classes)
        self.label_embed = None
        if self.n_classes:
            self.label_embed = nn.Embedding(self.n_classes + 1, self.embedding_dim)
            # Zero at start: the denoiser begins as the unlabelled one and learns
            # what each label adds (a unit-variance start swamps the timestep).
            nn.init.zeros_(self.label_embed.weight)
        self.numerical_embedding = (
            PeriodicEmbedding(self.n_numerical) if self.n_numerical else None
        )
        extra = self.numerical_embedding.out_features if self.n_numerical else 0
        self.proj = nn.Linear(n_features + extra, self.embedding_dim)
        self.time_embed = nn.Sequential(
            nn.Linear(self.embedding_dim, self.embedding_dim),
            nn.SiLU(),
            nn.Linear(self.embedding_dim, self.embedding_dim),
        )
        layers, width = [], self.embedding_dim
        for size in dims:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_features)

    def forward(self, x, t, labels=None):
        """Denoiser output for rows ``x`` at timesteps ``t``.

        ``t`` has one entry per row, or a single entry shared by every row. The
        timestep MLP runs once per distinct timestep, not once per row.
        ``labels`` (one class code per row, ``n_classes`` for none) is read only
        by a label-conditioned denoiser; None there means no label for any row.
        """
        steps, inverse = torch.unique(t, return_inverse=True)
        emb = self.time_embed(timestep_embedding(steps, self.embedding_dim))
        emb = emb if steps.numel() == 1 else emb.index_select(0, inverse)
        if self.label_embed is not None:
            if labels is None:
                emb = emb + self.label_embed.weight[self.n_classes]
            else:
                emb = emb + self.label_embed(labels)
        if self.numerical_embedding is not None:
            x = torch.cat([x, self.numerical_embedding(x[:, : self.n_numerical])], 1)
        return self.head(self.body(self.proj(x) + emb))


class GaussianMultinomialDiffusion(nn.Module):
    """The forward processes, posteriors and losses of TabDDPM (no weights).

    Rows are handled in *grouped* coordinates: the ``n_numerical`` Gaussian units
    first, then the one-hot units of every block, block after block. The
    multinomial part works with probabilities (not log-probabilities): every
    transition is ``abar x + (1 - abar) / K``, one multiply-add per unit, and
    logarithms are taken once, for the KL divergence.

    Parameters
    ----------
    n_numerical : int
        Number of Gaussian units.
    block_sizes : sequence of int
        Number of classes ``K`` of each multinomial block (each >= 1).
    n_timesteps : int, default=1000
        ``T``.
    scheduler : {"cosine", "linear"}, default="cosine"
        See :func:`noise_schedule`.
    numeric_bound : float or None, default=None
        When sampling, the predicted ``x_0`` of the Gaussian units is clipped to
        ``[-numeric_bound, numeric_bound]`` (the range the encoder can produce).
    """

    def __init__(
        self,
        n_numerical,
        block_sizes,
        n_timesteps=1000,
        scheduler="cosine",
        numeric_bound=None,
    ):
        super().__init__()
        self.n_numerical = int(n_numerical)
        self.block_sizes = [int(k) for k in block_sizes]
        if any(k < 1 for k in self.block_sizes):
            raise ValueError(f"Every block needs >= 1 class, got {self.block_sizes}.")
        self.n_blocks = len(self.block_sizes)
        self.n_units = int(sum(self.block_sizes))
        self.n_timesteps = int(n_timesteps)
        self.scheduler = scheduler
        self.numeric_bound = None if numeric_bound is None else float(numeric_bound)

        betas = noise_schedule(self.n_timesteps, scheduler)
        log_abar = np.cumsum(np.log1p(-betas))
        # float64 copy for the sampler's per-step constants (Python floats).
        self._log_abar64 = log_abar
        abar = np.exp(log_abar)
        f32 = dict(dtype=torch.float32)
        self.register_buffer("sqrt_abar", torch.tensor(np.sqrt(abar), **f32))
        self.register_buffer(
            "sqrt_1m_abar", torch.tensor(np.sqrt(-np.expm1(log_abar)), **f32)
        )
        self.register_buffer("abar", torch.tensor(abar, **f32))
        self.register_buffer(
            "abar_prev", torch.tensor(np.append(1.0, abar[:-1]), **f32)
        )
        self.register_buffer("alpha", torch.tensor(1.0 - betas, **f32))

        sizes = torch.tensor(self.block_sizes, dtype=torch.long)
        unit_block = torch.repeat_interleave(torch.arange(self.n_blocks), sizes)
        starts = torch.cumsum(sizes, 0) - sizes
        membership = torch.zeros((self.n_units, self.n_blocks))
        membership[torch.arange(self.n_units), unit_block] = 1.0
        self.register_buffer("unit_block", unit_block)
        self.register_buffer("block_start", starts)
        self.register_buffer("block_size", sizes.to(torch.float32))
        self.register_buffer("membership", membership)
        self.register_buffer("membership_t", membership.t().contiguous())
        self.register_buffer("unit_index", torch.arange(self.n_units))
        self.register_buffer("inv_k", 1.0 / sizes.to(torch.float32)[unit_block])

    # -------------------------------------------------------------- schedule

    def abar_at(self, t):
        """``abar_t`` as a Python float (``t = -1`` gives 1)."""
        return 1.0 if t < 0 else float(np.exp(self._log_abar64[t]))

    def _row(self, buffer, t):
        return buffer.index_select(0, t)[:, None]

    # -------------------------------------------------------------- Gaussian

    def gaussian_q_sample(self, x0, t, noise):
        """Draw ``x_t ~ q(x_t | x_0)``: ``sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise``.

        ``t`` is a LongTensor with one timestep per row.
        """
        return (
            self._row(self.sqrt_abar, t) * x0 + self._row(self.sqrt_1m_abar, t) * noise
        )

    def gaussian_posterior(self, x0, xt, t, s):
        """Mean and variance of ``q(x_s | x_t, x_0)`` for ints ``-1 <= s < t``.

        With ``alpha = abar_t / abar_s``: the variance is
        ``(1 - alpha)(1 - abar_s) / (1 - abar_t)`` and the mean
        ``[sqrt(abar_s)(1 - alpha) x_0 + sqrt(alpha)(1 - abar_s) x_t] / (1 - abar_t)``.
        """
        abar_t, abar_s = self.abar_at(t), self.abar_at(s)
        alpha = abar_t / abar_s
        denom = 1.0 - abar_t
        mean = (
            math.sqrt(abar_s) * (1.0 - alpha) / denom * x0
            + math.sqrt(alpha) * (1.0 - abar_s) / denom * xt
        )
        return mean, (1.0 - alpha) * (1.0 - abar_s) / denom

    def predict_x0(self, xt, eps, t):
        """``x_0`` implied by the predicted noise at int timestep ``t``."""
        abar_t = self.abar_at(t)
        return (xt - math.sqrt(1.0 - abar_t) * eps) / math.sqrt(abar_t)

    def gaussian_step(self, xt, eps, t, s, eta=1.0, noise=None):
        """One reverse step ``x_t -> x_s`` for ints ``-1 <= s < t`` (DDIM form).

        ``x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s - sigma^2) eps + sigma z`` with
        ``sigma = eta sqrt((1 - abar_s)/(1 - abar_t)) sqrt(1 - abar_t/abar_s)``:
        ``eta = 1`` samples the posterior ``q(x_s | x_t, x0)`` (DDPM's ancestral
        step for ``s = t - 1``), ``eta = 0`` is the deterministic DDIM step. The
        predicted ``x0`` is clipped to ``numeric_bound`` (then ``eps`` is
        recomputed from it). ``s = -1`` returns the predicted ``x0``.
        """
        abar_t, abar_s = self.abar_at(t), self.abar_at(s)
        x0 = self.predict_x0(xt, eps, t)
        if self.numeric_bound is not None:
            x0 = x0.clamp(-self.numeric_bound, self.numeric_bound)
            eps = (xt - math.sqrt(abar_t) * x0) / math.sqrt(1.0 - abar_t)
        if s < 0:
            return x0
        sigma = eta * math.sqrt(
            max((1.0 - abar_s) / (1.0 - abar_t) * (1.0 - abar_t / abar_s), 0.0)
        )
        out = (
            math.sqrt(abar_s) * x0 + math.sqrt(max(1.0 - abar_s - sigma**2, 0.0)) * eps
        )
        if sigma > 0:
            out = out + sigma * noise
        return out

    # ----------------------------------------------------------- multinomial

    def transition(self, x, abar):
        """``abar x + (1 - abar) / K`` per block: the class probabilities after a
        transition of cumulative retention ``abar`` (a float or an (n, 1) tensor)
        from probabilities (or one-hot rows) ``x``."""
        return abar * x + (1.0 - abar) * self.inv_k

    def block_sums(self, x):
        """Sum of the units of every block, shape (n, n_blocks)."""
        return x @ self.membership

    def to_units(self, values):
        """Broadcast per-block values (n, n_blocks) to their units (n, n_units).

        A product with the 0/1 block membership: exact for finite values, and on
        the CPU much faster than a column gather.
        """
        return values @ self.membership_t

    def block_max(self, x):
        """Largest unit value of every block, shape (n, n_blocks)."""
        n = x.shape[0]
        return torch.full(
            (n, self.n_blocks), -math.inf, dtype=x.dtype, device=x.device
        ).scatter_reduce(1, self.unit_block.expand(n, -1), x, reduce="amax")

    def normalize(self, x):
        """Divide non-negative unit weights by their block's total."""
        return x / self.to_units(self.block_sums(x))

    def log_softmax(self, logits):
        """Log-softmax within every block (unit order kept)."""
        shifted = logits - self.to_units(self.block_max(logits.detach()))
        return shifted - self.to_units(torch.log(self.block_sums(torch.exp(shifted))))

    def softmax(self, logits):
        """Softmax within every block (unit order kept)."""
        weights = torch.exp(logits - self.to_units(self.block_max(logits)))
        return self.normalize(weights)

    def block_codes(self, onehot):
        """Class code of every block of one-hot rows, shape (n, n_blocks), long."""
        return self.block_argmax(onehot)

    def codes_to_onehot(self, codes, dtype=torch.float32):
        """One-hot units from per-block class codes (n, n_blocks)."""
        out = torch.zeros(
            (codes.shape[0], self.n_units), dtype=dtype, device=codes.device
        )
        return out.scatter_(1, codes + self.block_start, 1.0)

    def noise_codes(self, codes, abar, uniform):
        """Draw ``x_t ~ q(x_t | x_0)`` on class codes with one uniform per block.

        ``q(x_t | x_0) = abar x_0 + (1 - abar) / K`` is the mixture "keep ``x_0``
        with probability ``abar``, else a uniform class": a uniform ``u < abar``
        keeps the code, otherwise ``(u - abar) / (1 - abar)`` is again uniform and
        picks the class. ``abar`` is a float or an (n, 1) tensor.
        """
        rest = torch.as_tensor(1.0 - abar, dtype=uniform.dtype, device=uniform.device)
        fresh = ((uniform - abar) / rest.clamp_min(1e-12) * self.block_size).floor()
        fresh = torch.minimum(fresh, self.block_size - 1).clamp_min(0).to(torch.long)
        return torch.where(uniform < abar, codes, fresh)

    def multinomial_q_probs(self, x0, t):
        """``q(x_t | x_0)`` (probabilities) for a LongTensor ``t`` (one per row)."""
        return self.transition(x0, self._row(self.abar, t))

    def multinomial_q_sample(self, x0, t, uniform):
        """Draw one-hot ``x_t ~ q(x_t | x_0)``; ``uniform``: (n, n_blocks) U(0, 1)."""
        codes = self.noise_codes(self.block_codes(x0), self._row(self.abar, t), uniform)
        return self.codes_to_onehot(codes, dtype=x0.dtype)

    def posterior_weights(self, p0, xt, abar_s, alpha):
        """Unnormalised ``q(x_s | x_t, x_0)``: ``transition(p0, abar_s) *
        transition(x_t, alpha)``, with ``alpha = abar_t / abar_s``.

        As a function of ``x_s``, ``q(x_t | x_s) = alpha x_t + (1 - alpha) / K`` has
        the form of a forward transition from ``x_t``, so both factors are
        :meth:`transition`.
        """
        return self.transition(p0, abar_s) * self.transition(xt, alpha)

    def multinomial_posterior(self, p0, xt, t, s=None):
        """``q(x_s | x_t, x_0)`` as probabilities, normalised per block.

        ``t`` is a LongTensor (one timestep per row) and ``s`` is ``t - 1``; or
        ``t`` and ``s`` are ints with ``-1 <= s < t`` (a strided step). Where
        ``s = -1`` the result is ``p0`` itself (the last reverse step returns
        ``x_0``).
        """
        if isinstance(t, int):
            if s < 0:
                return p0
            abar_s = self.abar_at(s)
            return self.normalize(
                self.posterior_weights(p0, xt, abar_s, self.abar_at(t) / abar_s)
            )
        if s is not None:
            raise ValueError("With a tensor t, s must be None (s = t - 1).")
        weights = self.posterior_weights(
            p0, xt, self._row(self.abar_prev, t), self._row(self.alpha, t)
        )
        return torch.where((t == 0)[:, None], p0, self.normalize(weights))

    def block_argmax(self, scores):
        """Per-block class code of the largest score (the first one on ties)."""
        n = scores.shape[0]
        # A gather, not to_units: the comparison needs the exact block maxima
        # whatever the matmul precision (e.g. TF32 on a GPU).
        is_max = scores >= self.block_max(scores).index_select(1, self.unit_block)
        position = torch.where(is_max, self.unit_index, self.n_units)
        first = torch.full(
            (n, self.n_blocks), self.n_units, dtype=torch.long, device=scores.device
        ).scatter_reduce(1, self.unit_block.expand(n, -1), position, reduce="amin")
        return first - self.block_start

    def sample_categorical(self, weights, race):
        """One class per block with probability proportional to ``weights`` (>= 0).

        An exponential race: with ``race`` holding one Exp(1) draw per unit, the
        unit with the largest ``weight / race`` wins with probability ``weight /
        block total`` (the Gumbel-max trick, without its logarithms). Returns
        one-hot units.
        """
        codes = self.block_argmax(weights / race)
        return self.codes_to_onehot(codes, dtype=weights.dtype)

    def multinomial_kl_prior(self, x0):
        """``KL(q(x_{T-1} | x_0) || uniform)`` per row (constant in the model)."""
        q = self.transition(x0, float(self.abar_at(self.n_timesteps - 1)))
        return (q * torch.log(q / self.inv_k)).sum(dim=1)

    # ------------------------------------------------------------- training

    def noisy_input(self, x0, t, noise, uniform):
        """The denoiser's input for clean grouped rows ``x0`` at timesteps ``t``.

        ``noise``: (n, n_numerical) standard normal; ``uniform``: (n, n_blocks)
        U(0, 1). Returns the noisy rows (Gaussian units, then one-hot units).
        """
        d = self.n_numerical
        parts = []
        if d:
            parts.append(self.gaussian_q_sample(x0[:, :d], t, noise))
        if self.n_units:
            parts.append(self.multinomial_q_sample(x0[:, d:], t, uniform))
        return torch.cat(parts, dim=1)

    def loss_terms(self, out, x0, x_in, t, noise):
        """Per-row TabDDPM losses ``(gaussian, multinomial)``.

        ``gaussian``: the mean squared error of the predicted noise over the
        Gaussian units. ``multinomial``: ``(T * L_t + L_prior) / n_blocks``, where
        ``L_t = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))`` (the decoder NLL
        ``-log p(x_0 | x_t)`` at ``t = 0``) is an unbiased estimate, for a uniform
        ``t``, of the sum of the per-step terms of the variational bound; the
        model's posterior puts the predicted class probabilities in place of
        ``x_0``.
        """
        d = self.n_numerical
        zeros = out.new_zeros(out.shape[0])
        gaussian = ((out[:, :d] - noise) ** 2).mean(dim=1) if d else zeros
        if not self.n_units:
            return gaussian, zeros
        x0_cat, xt_cat = x0[:, d:], x_in[:, d:]
        log_p0 = self.log_softmax(out[:, d:])
        abar_s, alpha = self._row(self.abar_prev, t), self._row(self.alpha, t)
        first = (t == 0)[:, None]
        with torch.no_grad():
            true = self.posterior_weights(x0_cat, xt_cat, abar_s, alpha)
            true_total = self.to_units(self.block_sums(true))
            q = torch.where(first, x0_cat, true / true_total)
            log_q = torch.where(
                first,
                torch.log(x0_cat.clamp_min(1e-30)),
                torch.log(true) - torch.log(true_total),
            )
        model = self.posterior_weights(torch.exp(log_p0), xt_cat, abar_s, alpha)
        # A confident denoiser underflows the other classes' weights to 0 in
        # float32; log(0) in the branch torch.where discards (t = 0) would still
        # send 0 * inf = NaN into the gradient. The floor is far below any weight
        # that matters and has no gradient.
        log_model = torch.log(model.clamp_min(_TINY)) - self.to_units(
            torch.log(self.block_sums(model))
        )
        log_model = torch.where(first, log_p0, log_model)
        kl = (q * (log_q - log_model)).sum(dim=1)
        prior = self.multinomial_kl_prior(x0_cat)
        return gaussian, (self.n_timesteps * kl + prior) / self.n_blocks


class TabDDPMModule(nn.Module):
    """TabDDPM: the diffusion processes plus the MLP denoiser, for a layout.

    Scalar spans (``"linear"`` / ``"tanh"``) are Gaussian units, every ``"softmax"``
    span (categories, missing indicators, modes) is a multinomial block. The
    module works in grouped coordinates (scalars first, then one-hot units);
    ``order`` maps them to the encoded columns.

    Parameters
    ----------
    layout : Layout
        The encoder's layout (no ``"code"`` spans).
    dims : tuple of int
        Hidden widths of the denoiser.
    dropout : float, default=0.0
        Dropout of the denoiser.
    embedding_dim : int, default=128
        Width of the denoiser's input projection and timestep embedding.
    n_timesteps : int, default=1000
        Number of diffusion steps.
    scheduler : {"cosine", "linear"}, default="cosine"
        Noise schedule.
    numeric_bound : float or None, default=None
        Clip of the predicted ``x_0`` of the Gaussian units when sampling.
    periodic_embedding : bool, default=False
        Give the denoiser a :class:`PeriodicEmbedding` of the numerical units.
    label_block : int or None, default=None
        Index (among the one-hot blocks, in layout order) of a class label to
        condition the denoiser on as well: the label of each training row is its
        class in that block, replaced by "no label" with probability
        ``label_dropout`` so that one network also denoises without it.
    label_dropout : float, default=0.1
        Share of training rows whose label is hidden.

    Attributes
    ----------
    diffusion : GaussianMultinomialDiffusion
    denoiser : MLPDenoiser
    order : LongTensor buffer
        Encoded column of each grouped unit (``X_grouped = X[:, order]``).
    inverse_order : LongTensor buffer
        Grouped unit of each encoded column (``X = X_grouped[:, inverse_order]``).
    """

    def __init__(
        self,
        layout,
        dims,
        dropout=0.0,
        embedding_dim=128,
        n_timesteps=1000,
        scheduler="cosine",
        numeric_bound=None,
        periodic_embedding=False,
        label_block=None,
        label_dropout=0.1,
    ):
        super().__init__()
        scalars, blocks = [], []
        for span in layout:
            if span.activation in ("linear", "tanh"):
                scalars.append(span.start)
            elif span.activation == "softmax":
                blocks.append((span.start, span.stop))
            else:
                raise ValueError(
                    f"TabDDPM needs one-hot blocks; span of column {span.column!r} "
                    f"has activation {span.activation!r}."
                )
        order = scalars + [i for start, stop in blocks for i in range(start, stop)]
        self.diffusion = GaussianMultinomialDiffusion(
            len(scalars),
            [stop - start for start, stop in blocks],
            n_timesteps=n_timesteps,
            scheduler=scheduler,
            numeric_bound=numeric_bound,
        )
        self.n_features = len(order)
        self.label_block = None if label_block is None else int(label_block)
        self.label_dropout = float(label_dropout)
        n_classes = 0
        if self.label_block is not None:
            sizes = self.diffusion.block_sizes
            n_classes = sizes[self.label_block]
            start = len(scalars) + sum(sizes[: self.label_block])
            #: Grouped columns of the label's one-hot units.
            self.label_units = (start, start + n_classes)
        self.denoiser = MLPDenoiser(
            self.n_features,
            tuple(dims),
            dropout=dropout,
            embedding_dim=embedding_dim,
            n_numerical=len(scalars) if periodic_embedding else 0,
            n_classes=n_classes,
        )
        order = torch.tensor(order, dtype=torch.long)
        self.register_buffer("order", order)
        self.register_buffer("inverse_order", torch.argsort(order))

    @property
    def n_timesteps(self):
        return self.diffusion.n_timesteps

    def forward(self, x, t, labels=None):
        """Denoiser output (predicted noise, then ``x_0`` logits) for grouped rows."""
        return self.denoiser(x, t, labels)

    @property
    def null_label(self):
        """The "no label" code (the number of classes); None without a label."""
        return None if self.label_block is None else self.denoiser.n_classes

    def labels_of(self, grouped):
        """Class code of each grouped row's label block."""
        start, stop = self.label_units
        return grouped[:, start:stop].argmax(dim=1)

    def training_labels(self, x0, generator):
        """Labels of clean grouped rows, each hidden with ``label_dropout``.

        None for a module without a label (no random draw then).
        """
        if self.label_block is None:
            return None
        labels = self.labels_of(x0)
        if self.label_dropout > 0:
            hide = (
                torch.rand(labels.shape, generator=generator, device=labels.device)
                < self.label_dropout
            )
            labels = labels.masked_fill(hide, self.null_label)
        return labels

    def to_grouped(self, encoded):
        """Encoded rows (layout order) to grouped rows."""
        return encoded.index_select(1, self.order)

    def to_encoded(self, grouped):
        """Grouped rows back to the layout order."""
        return grouped.index_select(1, self.inverse_order)


class DiffusionLoss(nn.Module):
    """TabDDPM's objective: mean Gaussian loss plus mean multinomial loss.

    Parameters
    ----------
    multinomial_weight : float, default=1.0
        Weight of the multinomial term (TabDDPM: 1).
    """

    def __init__(self, multinomial_weight=1.0):
        super().__init__()
        self.multinomial_weight = float(multinomial_weight)

    def forward(self, gaussian, multinomial):
        return gaussian.mean() + self.multinomial_weight * multinomial.mean()


def reverse_sample(
    module,
    n_samples,
    generator,
    *,
    n_steps=None,
    eta=1.0,
    known=None,
    known_mask=None,
    labels=None,
):
    """Draw grouped rows by running the reverse process of a :class:`TabDDPMModule`.

    Parameters
    ----------
    module : TabDDPMModule
        In eval mode; called under ``torch.inference_mode()`` or ``no_grad``.
    n_samples : int
        Rows to draw (all denoised together).
    generator : torch.Generator
        Source of every random draw (on the module's device).
    n_steps : int or None, default=None
        Reverse steps; None visits all ``T`` timesteps, fewer take a strided
        schedule (:func:`reverse_timesteps`).
    eta : float, default=1.0
        Stochasticity of the Gaussian steps (1: ancestral / posterior sampling,
        0: deterministic DDIM).
    known : Tensor of shape (1, n_features) or (n_samples, n_features), or None
        Grouped values to condition on (inpainting), shared by every row or one
        row each; only the units flagged in ``known_mask`` are read.
    known_mask : BoolTensor of shape (n_features,) or None
        Known units. A block must be entirely known or entirely unknown.
    labels : LongTensor of shape (n_samples,) or None
        Class labels for a label-conditioned module (None: no label).

    Returns
    -------
    grouped : Tensor of shape (n_samples, n_features)

    Notes
    -----
    Conditioning is RePaint-style replacement (Lugmayr et al., 2022): before every
    reverse step the known units of ``x_t`` are replaced by a fresh draw of
    ``q(x_t | x_0 = known)``, so the denoiser sees them at the right noise level
    and steers the unknown units towards them; after the last step they are set
    to the known values exactly.
    """
    diffusion = module.diffusion
    d, units, blocks = diffusion.n_numerical, diffusion.n_units, diffusion.n_blocks
    device = module.order.device
    n = int(n_samples)

    def rand(*shape):
        return torch.rand(shape, generator=generator, device=device)

    def randn(*shape):
        return torch.randn(shape, generator=generator, device=device)

    def exponential(*shape):
        # -log(U): three times faster than exponential_() on the CPU.
        return torch.rand(shape, generator=generator, device=device).log_().neg_()

    x_num = randn(n, d)
    # x_T: uniform classes (q(x_T | x_0) for abar = 0).
    zeros = torch.zeros((n, blocks), dtype=torch.long, device=device)
    x_cat = diffusion.codes_to_onehot(
        diffusion.noise_codes(zeros, 0.0, rand(n, blocks))
    )

    if known is not None:
        known = known.to(device=device, dtype=torch.float32)
        known_mask = known_mask.to(device)
        known_num, known_cat = known_mask[:d], known_mask[d:]
        x0_num = known[:, :d]
        codes0 = diffusion.block_codes(known[:, d:]).expand(n, -1)
        inpaint_num = d > 0 and bool(known_num.any())
        inpaint_cat = units > 0 and bool(known_cat.any())

    timesteps = reverse_timesteps(diffusion.n_timesteps, n_steps)
    for i, t in enumerate(timesteps):
        s = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        abar_t = diffusion.abar_at(t)
        if known is not None:
            # Replacement: the known units of x_t are drawn from q(x_t | x_0 = known).
            if inpaint_num:
                noisy = math.sqrt(abar_t) * x0_num + math.sqrt(1.0 - abar_t) * randn(
                    n, d
                )
                x_num = torch.where(known_num, noisy, x_num)
            if inpaint_cat:
                codes = diffusion.noise_codes(codes0, abar_t, rand(n, blocks))
                x_cat = torch.where(known_cat, diffusion.codes_to_onehot(codes), x_cat)
        step = torch.full((1,), t, dtype=torch.long, device=device)
        out = module(torch.cat([x_num, x_cat], dim=1), step, labels)
        if d:
            noise = randn(n, d) if (eta > 0 and s >= 0) else None
            x_num = diffusion.gaussian_step(
                x_num, out[:, :d], t, s, eta=eta, noise=noise
            )
        if units:
            p0 = diffusion.softmax(out[:, d:])
            if s >= 0:
                abar_s = diffusion.abar_at(s)
                weights = diffusion.posterior_weights(
                    p0, x_cat, abar_s, abar_t / abar_s
                )
            else:
                weights = p0
            x_cat = diffusion.sample_categorical(weights, exponential(n, units))
    grouped = torch.cat([x_num, x_cat], dim=1)
    if known is not None:
        grouped = torch.where(known_mask, known, grouped)
    return grouped
