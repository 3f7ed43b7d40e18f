"""A causal transformer over the columns of a table (any-order autoregression).

Each row is a sequence of column *tokens*: a categorical value is its code, a
numerical value the index of its quantile bin (or a "missing" token). Position
``t`` of a sequence holds the token of the column placed at ``t - 1`` (a learned
start vector at ``t = 0``) plus an embedding of the column it must predict, the one
placed at ``t`` (no positional encoding: the column embeddings say which column a
token belongs to and which column comes next). Trained on random orders, it
predicts any column from any subset of the others, which is what exact
conditioning needs. Sampling runs one step per column over a key/value cache.

Plain torch: the columns are described by dicts of numbers (see
:class:`AutoregressiveTransformer`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AutoregressiveTransformer", "CausalBlock", "ColumnPlan", "TokenNLLLoss"]


def _dropout(x, p, generator):
    """Inverted dropout drawing its mask from ``generator`` (not the global RNG)."""
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep / (1.0 - p)


def gumbel_argmax(logits, generator):
    """One draw per row from ``softmax(logits)`` (the Gumbel-max trick)."""
    u = torch.rand(logits.shape, generator=generator, device=logits.device)
    return torch.argmax(logits - torch.log(-torch.log(u)), dim=-1)


class TokenNLLLoss(nn.Module):
    """Mean negative log-likelihood per token (nats per column and row).

    Takes the ``(B, n_columns)`` log-probabilities of the observed tokens, as
    :meth:`AutoregressiveTransformer.log_likelihood` returns them.
    """

    def forward(self, log_likelihood):
        return -log_likelihood.mean()


class CausalBlock(nn.Module):
    """Pre-norm transformer block with causal self-attention and a key/value cache.

    Parameters
    ----------
    embedding_dim : int
        Width of the residual stream.
    n_heads : int
        Attention heads (``embedding_dim`` must be a multiple).
    feedforward_dim : int
        Hidden width of the feed-forward layer (GELU).
    dropout : float, default=0.0
        Dropout on the residual branches during training.
    """

    def __init__(self, embedding_dim, n_heads, feedforward_dim, dropout=0.0):
        super().__init__()
        if embedding_dim % n_heads:
            raise ValueError(
                f"embedding_dim ({embedding_dim}) must be a multiple of n_heads "
                f"({n_heads})."
            )
        self.n_heads = int(n_heads)
        self.dropout = float(dropout)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.qkv = nn.Linear(embedding_dim, 3 * embedding_dim)
        self.proj = nn.Linear(embedding_dim, embedding_dim)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.ff1 = nn.Linear(embedding_dim, feedforward_dim)
        self.ff2 = nn.Linear(feedforward_dim, embedding_dim)

    def _branch(self, x, generator):
        if self.training and self.dropout > 0:
            return _dropout(x, self.dropout, generator)
        return x

    def forward(self, x, generator=None):
        """Causal self-attention over a whole sequence ``x`` of shape (B, L, d)."""
        B, L, d = x.shape
        H = self.n_heads
        q, k, v = (
            self.qkv(self.norm1(x)).view(B, L, 3, H, d // H).permute(2, 0, 3, 1, 4)
        )
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self._branch(self.proj(a.transpose(1, 2).reshape(B, L, d)), generator)
        h = self.ff2(F.gelu(self.ff1(self.norm2(x))))
        return x + self._branch(h, generator)

    def new_cache(self, n, length, like):
        """Empty key and value caches for ``n`` sequences of ``length`` steps."""
        d = self.qkv.in_features
        shape = (length, n, self.n_heads, d // self.n_heads)
        return like.new_empty(shape), like.new_empty(shape)

    def step(self, x, cache, t):
        """Position ``t`` of every sequence, ``x`` of shape (B, d), given the cache.

        Writes this position's key and value into ``cache`` (laid out as (L, B,
        heads, head_dim), so the prefix ``0..t`` is one contiguous slice) and
        attends over positions ``0..t``: the prefix is never recomputed. With one
        query per sequence the attention is two broadcast products, which on the
        CPU is several times faster than a batched attention kernel.
        """
        B, d = x.shape
        H = self.n_heads
        q, k, v = self.qkv(self.norm1(x)).view(B, 3, H, d // H).unbind(1)
        keys, values = cache
        keys[t] = k
        values[t] = v
        scores = (keys[: t + 1] * q).sum(-1) * (d // H) ** -0.5  # (t+1, B, H)
        weights = torch.softmax(scores, dim=0).unsqueeze(-1)
        a = (weights * values[: t + 1]).sum(0)  # (B, H, head_dim)
        x = x + self.proj(a.reshape(B, d))
        return x + self.ff2(F.gelu(self.ff1(self.norm2(x))))


class ColumnPlan:
    """What a conditional sample fixes in one column, per row (tensors on the device).

    Parameters
    ----------
    forced : BoolTensor of shape (n,)
        Rows whose token is given (an exact value, or a missing value).
    token : LongTensor of shape (n,)
        The given token of forced rows (anything elsewhere).
    p : DoubleTensor of shape (n,) or None
        Numerical columns: the quantile level to output for forced rows.
    interval : BoolTensor of shape (n,) or None
        Numerical columns: rows whose value must lie in ``[low, high]`` (quantile
        levels; the value is sampled from the model restricted to it).
    low, high : DoubleTensor of shape (n,) or None
        The allowed quantile levels of interval rows.
    """

    def __init__(self, forced, token, p=None, interval=None, low=None, high=None):
        self.forced = forced
        self.token = token
        self.p = p
        self.interval = interval
        self.low = low
        self.high = high

    def rows(self, start, stop):
        """The plan of rows ``start:stop``."""
        return self.take(slice(start, stop))

    def take(self, rows):
        """The plan of ``rows`` (a slice or an index tensor)."""
        return ColumnPlan(
            *(
                None if value is None else value[rows]
                for value in (
                    self.forced,
                    self.token,
                    self.p,
                    self.interval,
                    self.low,
                    self.high,
                )
            )
        )


class AutoregressiveTransformer(nn.Module):
    """Any-order autoregressive transformer over the columns of a table.

    Parameters
    ----------
    columns : list of dict
        One dict per column, in the encoded table's column order. Every dict has
        ``"kind"`` (``"discrete"`` or ``"numeric"``) and ``"n_tokens"``. A discrete
        column has ``"code"`` (its position in the encoded matrix): its tokens are
        the codes. A numerical column has ``"value"`` (position of its
        quantile-normal score), ``"missing"`` (position of its ``[observed,
        missing]`` pair, or None) and ``"thresholds"``: ``n_bins - 1`` increasing
        quantile levels, the smallest level whose decoded value has a token of at
        least 1, 2, ... (so a sampled level maps to the token of the value it
        decodes to). Its tokens are the ``n_bins`` bins of the quantile level, then
        "missing" when the column has missing values.
    n_bins : int
        Quantile bins of numerical columns.
    n_features : int
        Width of the encoded matrix.
    embedding_dim : int, default=64
        Width of the residual stream.
    n_heads : int, default=4
        Attention heads.
    n_layers : int, default=2
        Transformer blocks.
    feedforward_dim : int, default=256
        Hidden width of the feed-forward layers.
    dropout : float, default=0.0
        Dropout on embeddings and residual branches during training.
    """

    def __init__(
        self,
        columns,
        n_bins,
        n_features,
        embedding_dim=64,
        n_heads=4,
        n_layers=2,
        feedforward_dim=256,
        dropout=0.0,
    ):
        super().__init__()
        self.columns = [dict(c, thresholds=None) for c in columns]
        self.n_bins = int(n_bins)
        self.n_features = int(n_features)
        self.dropout = float(dropout)
        n_tokens = [int(c["n_tokens"]) for c in columns]
        self.n_tokens = n_tokens
        n_columns, width = len(columns), max(n_tokens)
        offsets = torch.tensor([0, *n_tokens[:-1]]).cumsum(0)
        self.register_buffer("token_offsets", offsets, persistent=True)
        pad = torch.arange(width)[None, :] >= torch.tensor(n_tokens)[:, None]
        self.register_buffer("pad_mask", pad, persistent=True)
        for i, column in enumerate(columns):
            if column["kind"] == "numeric":
                thresholds = torch.tensor(column["thresholds"], dtype=torch.float64)
                self.register_buffer(f"thresholds_{i}", thresholds, persistent=True)
        d = int(embedding_dim)
        self.token_embedding = nn.Embedding(sum(n_tokens), d)
        self.source_embedding = nn.Embedding(n_columns, d)
        self.target_embedding = nn.Embedding(n_columns, d)
        self.start = nn.Parameter(torch.zeros(d))
        self.blocks = nn.ModuleList(
            CausalBlock(d, n_heads, feedforward_dim, dropout) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d)
        self.head_weight = nn.Parameter(torch.empty(n_columns, width, d))
        self.head_bias = nn.Parameter(torch.zeros(n_columns, width))
        for embedding in (
            self.token_embedding,
            self.source_embedding,
            self.target_embedding,
        ):
            nn.init.normal_(embedding.weight, std=0.02)
        nn.init.normal_(self.head_weight, std=1.0 / math.sqrt(d))

    @property
    def n_columns(self):
        return len(self.columns)

    # ------------------------------------------------------------ tokens

    def tokenize(self, encoded):
        """Column tokens (LongTensor of shape (n, n_columns)) of encoded rows.

        A numerical value's bin comes from its normal score ``z`` through the
        quantile level ``Phi(z)``; a missing flag gives the missing token.
        """
        out = torch.empty(
            (encoded.shape[0], self.n_columns), dtype=torch.long, device=encoded.device
        )
        for i, column in enumerate(self.columns):
            if column["kind"] == "discrete":
                code = torch.round(encoded[:, column["code"]].double()).long()
                out[:, i] = code.clamp_(0, column["n_tokens"] - 1)
                continue
            level = torch.special.ndtr(encoded[:, column["value"]].double())
            token = torch.floor(level * self.n_bins).long().clamp_(0, self.n_bins - 1)
            if column["missing"] is not None:
                m = column["missing"]
                token[encoded[:, m + 1] > encoded[:, m]] = self.n_bins
            out[:, i] = token
        return out

    def level_token(self, i, level):
        """Token of the value a quantile level of numerical column ``i`` decodes to."""
        thresholds = getattr(self, f"thresholds_{i}")
        return torch.searchsorted(thresholds, level.contiguous(), right=True)

    def to_encoded(self, tokens, levels):
        """Encoded rows (float64) from sampled tokens and quantile levels."""
        n = tokens.shape[0]
        out = torch.zeros(
            (n, self.n_features), dtype=torch.float64, device=tokens.device
        )
        for i, column in enumerate(self.columns):
            if column["kind"] == "discrete":
                out[:, column["code"]] = tokens[:, i].double()
                continue
            observed = tokens[:, i] < self.n_bins
            level = levels[:, i].clamp(1e-15, 1.0 - 1e-15)
            out[:, column["value"]] = torch.where(
                observed, torch.special.ndtri(level), 0.0
            )
            if column["missing"] is not None:
                out[:, column["missing"]] = observed.double()
                out[:, column["missing"] + 1] = (~observed).double()
        return out

    # ------------------------------------------------------------ training

    def _inputs(self, tokens, order, generator):
        """Sequence inputs (B, L, d) for column tokens in ``order`` (B, L)."""
        B, L = order.shape
        seq = tokens.gather(1, order)
        source = self.token_embedding(seq[:, :-1] + self.token_offsets[order[:, :-1]])
        source = source + self.source_embedding(order[:, :-1])
        start = self.start.expand(B, 1, -1)
        x = torch.cat([start, source], dim=1) + self.target_embedding(order)
        if self.training and self.dropout > 0:
            x = _dropout(x, self.dropout, generator)
        return x

    def forward(self, tokens, order, generator=None):
        """Log-probabilities of every column's tokens given the columns before it.

        Parameters
        ----------
        tokens : LongTensor of shape (B, n_columns)
            Column tokens, in column order.
        order : LongTensor of shape (B, n_columns)
            Per row, the columns in the order they are generated (a permutation
            of ``range(n_columns)``).
        generator : torch.Generator, default=None
            Source of the dropout masks during training.

        Returns
        -------
        log_probs : Tensor of shape (B, n_columns, max n_tokens)
            In column order: ``log_probs[b, c]`` is the distribution of column
            ``c`` given the columns placed before it in ``order[b]`` (padding
            entries are ``-inf``).
        """
        x = self._inputs(tokens, order, generator)
        for block in self.blocks:
            x = block(x, generator)
        h = self.norm(x)
        # Back to column order (the position predicting column c), then one
        # batched matmul with each column's own head.
        where = order.argsort(dim=1)
        h = h.gather(1, where.unsqueeze(2).expand(-1, -1, h.shape[2]))
        logits = torch.bmm(h.transpose(0, 1), self.head_weight.transpose(1, 2))
        logits = logits.transpose(0, 1) + self.head_bias
        logits = logits.masked_fill(self.pad_mask, float("-inf"))
        return torch.log_softmax(logits, dim=-1)

    def log_likelihood(self, tokens, order, generator=None):
        """``log p(token)`` per row and column (B, n_columns), in column order."""
        log_probs = self.forward(tokens, order, generator)
        return log_probs.gather(2, tokens.unsqueeze(2)).squeeze(2)

    # ------------------------------------------------------------ sampling

    def _draw_numeric(self, i, logits, plan, generator, log_weight):
        """Token and quantile level of numerical column ``i`` for one step."""
        n_bins = self.n_bins
        n, device = logits.shape[0], logits.device
        bins = torch.arange(n_bins, device=device, dtype=torch.float64)
        low = bins.new_zeros(n)
        high = bins.new_ones(n)
        interval = (
            plan is not None and plan.interval is not None and bool(plan.interval.any())
        )
        if interval:
            rows = plan.interval
            low = torch.where(rows, plan.low, low)
            high = torch.where(rows, plan.high, high)
            # Each bin's share of the allowed levels (uniform within a bin).
            left = bins / n_bins
            overlap = (
                torch.minimum(left + 1.0 / n_bins, high[:, None])
                - torch.maximum(left, low[:, None])
            ).clamp_min(0.0) * n_bins
            restricted = logits.clone()
            restricted[:, :n_bins] += torch.log(overlap).float()
            restricted[:, n_bins:] = float("-inf")
            restricted = torch.where(rows[:, None], restricted, logits)
            mass = torch.logsumexp(restricted, 1) - torch.logsumexp(logits, 1)
            log_weight += torch.where(rows, mass.double(), 0.0)
            logits = restricted
        token = gumbel_argmax(logits, generator)
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        lo = torch.maximum(token.double() / n_bins, low)
        hi = torch.minimum((token.double() + 1.0) / n_bins, high)
        level = lo + u * (hi - lo)
        if plan is not None and plan.forced.any():
            token, level = self._force(logits, plan, token, level, log_weight)
        level = level.clamp(1e-15, 1.0 - 1e-15)
        observed = token < n_bins
        next_token = torch.where(observed, self.level_token(i, level), token)
        if plan is not None:
            next_token = torch.where(plan.forced, plan.token, next_token)
        return token, level, next_token

    @staticmethod
    def _force(logits, plan, token, level, log_weight):
        """Given tokens of forced rows (their log-probability joins the weights)."""
        forced = plan.forced
        log_p = torch.log_softmax(logits, 1).gather(1, plan.token[:, None]).squeeze(1)
        log_weight += torch.where(forced, log_p.double(), 0.0)
        token = torch.where(forced, plan.token, token)
        if level is not None and plan.p is not None:
            level = torch.where(forced, plan.p, level)
        return token, level

    @torch.no_grad()
    def generate(self, n, order, generator, *, temperature=1.0, plans=None):
        """Sample ``n`` rows column by column, one forward step per column.

        Parameters
        ----------
        n : int
            Rows.
        order : sequence of int
            Columns in generation order (a permutation of ``range(n_columns)``).
        generator : torch.Generator
            Source of every random draw.
        temperature : float, default=1.0
            Divides the logits of every sampled column.
        plans : dict of {int: ColumnPlan}, default=None
            Per-row conditions of some columns (see :class:`ColumnPlan`).

        Returns
        -------
        tokens : LongTensor of shape (n, n_columns)
            The sampled tokens (numerical columns: the sampled bins).
        levels : DoubleTensor of shape (n, n_columns)
            Quantile levels of numerical values (undefined elsewhere).
        log_weight : DoubleTensor of shape (n,)
            Log-probability under the model of the conditions met along the way
            (forced tokens and interval masses), for importance resampling.
        """
        plans = plans or {}
        device = self.start.device
        order = [int(c) for c in order]
        tokens = torch.zeros((n, self.n_columns), dtype=torch.long, device=device)
        levels = torch.zeros((n, self.n_columns), dtype=torch.float64, device=device)
        log_weight = torch.zeros(n, dtype=torch.float64, device=device)
        x = self.start.expand(n, -1)
        caches = [block.new_cache(n, len(order), x) for block in self.blocks]
        for t, i in enumerate(order):
            h = x + self.target_embedding.weight[i]
            for block, cache in zip(self.blocks, caches, strict=True):
                h = block.step(h, cache, t)
            h = self.norm(h)
            V = self.n_tokens[i]
            logits = torch.addmm(self.head_bias[i, :V], h, self.head_weight[i, :V].t())
            if temperature != 1.0:
                logits = logits / temperature
            plan = plans.get(i)
            if self.columns[i]["kind"] == "numeric":
                token, level, next_token = self._draw_numeric(
                    i, logits, plan, generator, log_weight
                )
                levels[:, i] = level
            else:
                token = gumbel_argmax(logits, generator)
                if plan is not None and plan.forced.any():
                    token, _ = self._force(logits, plan, token, None, log_weight)
                next_token = token
            tokens[:, i] = token
            if t + 1 < len(order):
                x = self.token_embedding(next_token + self.token_offsets[i])
                x = x + self.source_embedding.weight[i]
        return tokens, levels, log_weight
