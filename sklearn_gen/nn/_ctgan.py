"""CTGAN's networks and losses (Xu et al., "Modeling Tabular Data using Conditional
GAN", NeurIPS 2019), written from the paper.

* :class:`CTGANGeneratorModule`: an MLP of residual blocks (``[ReLU(BN(FC(h))), h]``)
  from noise and the conditional vector to raw outputs per layout span.
* :class:`CTGANDiscriminatorModule`: the critic, with PacGAN packing (``pac`` rows
  scored together), leaky ReLU (0.2) and dropout (0.5).
* :class:`ConditionalVector`: which one-hot blocks make the conditional vector (the
  categorical / boolean columns) and the index tensors to work with it.
* :class:`CTGANLoss`: the generator's conditional cross-entropy term, plus the
  Gumbel-softmax activation of the outputs.
* :func:`gradient_penalty`: the WGAN-GP penalty on packed interpolates.

Every random draw takes an explicit ``torch.Generator``.
"""

import torch
from torch import nn

from ._outputs import SpanIndex

__all__ = [
    "CTGANDiscriminatorModule",
    "CTGANGeneratorModule",
    "CTGANLoss",
    "ConditionalVector",
    "activate_outputs",
    "gradient_penalty",
]


def _conditioned_linear(layer, h, conditions, n_conditions):
    """``layer(cat([h, one_hot(conditions)]))`` without building the one-hot.

    The conditional vector is one-hot, so its product with the weight's last
    ``n_conditions`` columns is a gather of one column per row: the same function
    and gradients as the dense product, at a fraction of the cost.
    """
    if not n_conditions:
        return layer(h)
    split = layer.in_features - n_conditions
    weight = layer.weight
    dense = torch.addmm(layer.bias, h, weight[:, :split].t())
    # In place: addmm's backward does not need its output.
    return dense.add_(nn.functional.embedding(conditions, weight[:, split:].t()))


class _Residual(nn.Module):
    """``[ReLU(BatchNorm(Linear(h))), h]``: a block whose output keeps its input."""

    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.fc = nn.Linear(fan_in, fan_out)
        self.bn = nn.BatchNorm1d(fan_out)

    def forward(self, h, conditions=None, n_conditions=0):
        out = _conditioned_linear(self.fc, h, conditions, n_conditions)
        out = torch.relu(self.bn(out))
        return torch.cat([out, h], dim=1)


class CTGANGeneratorModule(nn.Module):
    """CTGAN's generator: noise and conditional vector to raw span outputs.

    The input is ``[noise, cond]``, with ``cond`` the one-hot conditional vector;
    each residual block outputs ``[ReLU(BN(FC(h))), h]``, so the head sees every
    block's output, the noise and the condition. The condition is given as the
    category id of each row (the one-hot vector's position); its products with the
    weights are computed as gathers (see ``_conditioned_linear``).

    Parameters
    ----------
    embedding_dim : int
        Size of the noise vector.
    n_conditions : int
        Width of the conditional vector (0 when the table has no categorical column).
    generator_dim : tuple of int
        Widths of the residual blocks; each block's output is concatenated with its
        input, so the last hidden width is the sum of all plus the input width.
    n_outputs : int
        Width of the output (the layout's ``output_width``).

    Attributes
    ----------
    condition_counts : Tensor of shape (n_conditions,)
        Buffer: how many training rows had each category (summed over ``fit`` /
        ``partial_fit`` calls). Unconditional sampling draws the conditional vector
        from these frequencies.
    """

    def __init__(self, embedding_dim, n_conditions, generator_dim, n_outputs):
        super().__init__()
        self.embedding_dim = int(embedding_dim)
        self.n_conditions = int(n_conditions)
        width = self.embedding_dim + self.n_conditions
        blocks = []
        for size in generator_dim:
            blocks.append(_Residual(width, size))
            width += size
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(width, n_outputs)
        self.register_buffer("condition_counts", torch.zeros(self.n_conditions))

    def forward(self, noise, conditions=None):
        """Raw outputs (logits for class blocks, pre-tanh for scalars).

        Parameters
        ----------
        noise : Tensor of shape (n, embedding_dim)
        conditions : LongTensor of shape (n,) or None
            Each row's conditional-vector position (None when ``n_conditions`` is 0).
        """
        n_conditions = self.n_conditions if conditions is not None else 0
        if self.n_conditions and conditions is None:
            raise ValueError("This generator needs conditions (category ids).")
        if not torch.is_grad_enabled() and not self.training:
            return self._forward_inference(noise, conditions, n_conditions)
        h = noise
        for block in self.blocks:
            h = block(h, conditions, n_conditions)
        return _conditioned_linear(self.head, h, conditions, n_conditions)

    def _forward_inference(self, noise, conditions, n_conditions):
        """The same function without the residual concatenations' copies.

        One buffer holds ``[out_k, ..., out_1, noise]``; each block reads the
        columns written so far and writes its output just before them, so a block's
        input is a column slice instead of a fresh concatenation.
        """
        widths = [block.fc.out_features for block in self.blocks]
        total = sum(widths) + self.embedding_dim
        buffer = noise.new_empty((noise.shape[0], total))
        start = total - self.embedding_dim
        buffer[:, start:] = noise
        for block, width in zip(self.blocks, widths):
            h = _conditioned_linear(
                block.fc, buffer[:, start:], conditions, n_conditions
            )
            start -= width
            buffer[:, start : start + width] = torch.relu_(block.bn(h))
        return _conditioned_linear(self.head, buffer, conditions, n_conditions)


class CTGANDiscriminatorModule(nn.Module):
    """CTGAN's critic with PacGAN packing.

    Rows are scored ``pac`` at a time: a batch of ``n`` rows (``n`` a multiple of
    ``pac``) is reshaped to ``n / pac`` packs of ``pac * input_dim`` features, so the
    critic sees several samples at once, which discourages mode collapse (Lin et
    al., "PacGAN", NeurIPS 2018).

    Parameters
    ----------
    input_dim : int
        Width of one row (encoded row plus conditional vector).
    discriminator_dim : tuple of int
        Hidden widths; each layer is Linear, LeakyReLU(0.2), Dropout(0.5).
    pac : int
        Rows per pack.
    dropout : float, default=0.5
        Dropout rate after each hidden layer.
    """

    def __init__(self, input_dim, discriminator_dim, pac, dropout=0.5):
        super().__init__()
        self.input_dim = int(input_dim)
        self.pac = int(pac)
        self.dropout = float(dropout)
        width = self.input_dim * self.pac
        layers = []
        for size in discriminator_dim:
            layers.append(nn.Linear(width, size))
            width = size
        self.hidden = nn.ModuleList(layers)
        self.head = nn.Linear(width, 1)

    def forward(self, x, generator=None):
        """Scores of shape ``(n / pac, 1)`` for ``x`` of shape ``(n, input_dim)``.

        In training mode, dropout masks are drawn from ``generator`` when given.
        """
        if x.shape[0] % self.pac:
            raise ValueError(
                f"The discriminator packs {self.pac} rows at a time (pac), but got a "
                f"batch of {x.shape[0]} rows."
            )
        h = x.reshape(-1, self.pac * self.input_dim)
        keep = 1.0 - self.dropout
        for layer in self.hidden:
            h = nn.functional.leaky_relu(layer(h), 0.2)
            if self.training and self.dropout > 0:
                if generator is None:
                    h = nn.functional.dropout(h, self.dropout, training=True)
                else:
                    mask = torch.rand(
                        h.shape, generator=generator, device=h.device, dtype=h.dtype
                    ) < keep
                    h = h * mask / keep
        return self.head(h)

    def input_gradient(self, x, generator=None):
        """Gradient of each pack's score with respect to the pack's input.

        The critic is piecewise linear in its input (leaky ReLU, dropout masks), so
        the gradient is the product of the weights and the activation slopes along
        the way, and the slopes' own derivatives are zero. This computes that product
        directly: a forward pass without graph for the slopes and masks, then the
        weight product with graph (differentiable with respect to the weights, as the
        gradient penalty needs). Same values and weight gradients as double
        backpropagation through ``autograd.grad(..., create_graph=True)``, with
        fewer and better-shaped matrix products. Dropout masks are drawn as in
        :meth:`forward`.

        Returns
        -------
        grad : Tensor of shape (n / pac, pac * input_dim)
        """
        h = x.reshape(-1, self.pac * self.input_dim)
        keep = 1.0 - self.dropout
        gates = []
        with torch.no_grad():
            for layer in self.hidden:
                pre = layer(h)
                gate = torch.where(pre > 0, 1.0, 0.2).to(pre.dtype)
                h = nn.functional.leaky_relu(pre, 0.2)
                if self.training and self.dropout > 0:
                    mask = torch.rand(
                        h.shape, generator=generator, device=h.device, dtype=h.dtype
                    ) < keep
                    gate = gate * mask / keep
                    h = h * mask / keep
                gates.append(gate)
        grad = self.head.weight.expand(h.shape[0], -1)
        for layer, gate in zip(reversed(self.hidden), reversed(gates)):
            grad = (grad * gate) @ layer.weight
        return grad


def gradient_penalty(discriminator, real, fake, generator, weight=10.0):
    """WGAN-GP penalty ``weight * E[(||grad D(x_hat)||_2 - 1)^2]`` on packs.

    ``x_hat`` interpolates real and fake rows with one mixing weight per pack, and
    the gradient norm is taken over each pack's concatenated features (the input the
    packed critic scores), as in Gulrajani et al. (2017) applied to PacGAN.

    Parameters
    ----------
    discriminator : CTGANDiscriminatorModule
    real, fake : Tensor of shape (n, input_dim)
        Rows (with their conditional vectors), ``n`` a multiple of ``pac``.
    generator : torch.Generator
        Source of the mixing weights and of the dropout masks.
    weight : float, default=10.0
        The penalty coefficient lambda.

    Returns
    -------
    penalty : Tensor (scalar)
    """
    pac = discriminator.pac
    n, width = real.shape
    alpha = torch.rand(
        (n // pac, 1, 1), generator=generator, device=real.device, dtype=real.dtype
    )
    alpha = alpha.expand(n // pac, pac, width).reshape(n, width)
    mixed = alpha * real.detach() + (1.0 - alpha) * fake.detach()
    if hasattr(discriminator, "input_gradient"):
        grad = discriminator.input_gradient(mixed, generator=generator)
    else:
        mixed.requires_grad_(True)
        scores = discriminator(mixed, generator=generator)
        (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grad.reshape(-1, pac * width).norm(2, dim=1)
    return weight * ((norms - 1.0) ** 2).mean()


def _block_log_softmax_parts(logits, index, device):
    """Per-unit exponentials shifted by their block's max, and the block sums."""
    _, _, unit_block, grid, membership = index.block_tensors(device)
    n = logits.shape[0]
    block_max = torch.full(
        (n, grid.shape[0]), -torch.inf, device=device, dtype=logits.dtype
    ).scatter_reduce(1, unit_block.expand(n, -1), logits.detach(), "amax")
    shifted = torch.exp(logits - block_max.index_select(1, unit_block))
    return shifted, shifted @ membership, block_max


def activate_outputs(out, index, *, tau=0.2, generator=None):
    """Differentiable rows in the encoded space from raw outputs (training).

    Scalar spans get their activation (tanh, or none for linear spans); every one-hot
    block gets a Gumbel-softmax with temperature ``tau`` (Jang et al., 2017), all
    blocks at once. Requires a layout without code spans (output width equal to the
    encoded width).

    Parameters
    ----------
    out : Tensor of shape (n, n_output)
        Raw generator outputs.
    index : SpanIndex
        Precomputed layout indices.
    tau : float, default=0.2
        Gumbel-softmax temperature.
    generator : torch.Generator or None
        Source of the Gumbel noise.

    Returns
    -------
    rows : Tensor of shape (n, n_output)
    """
    if index.codes:
        raise ValueError("activate_outputs needs one-hot class blocks, not code spans.")
    device = out.device
    result = out.new_zeros(out.shape)
    if index.n_scalars:
        scalar_out, _, _ = index.tensors(device)
        result = result.index_copy(1, scalar_out, index.scalars(out))
    if index.n_blocks:
        unit_out, _, unit_block, _, _ = index.block_tensors(device)
        # index_select, not ``out[:, unit_out]``: several times faster on the CPU.
        logits = index.unit_logits(out)
        uniform = torch.rand(
            logits.shape, generator=generator, device=device, dtype=out.dtype
        )
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))
        scaled = (logits + gumbel) / tau
        shifted, sums, _ = _block_log_softmax_parts(scaled, index, device)
        result = result.index_copy(
            1, unit_out, shifted / sums.index_select(1, unit_block)
        )
    return result


class ConditionalVector:
    """The conditional vector over a layout's categorical columns.

    Every ``"softmax"`` span of role ``"category"`` (categorical and boolean
    columns, their missing value included as a category) contributes its units;
    a conditional vector is one-hot over the concatenation. Mode and missing-value
    blocks of numeric columns are not part of it (as in CTGAN).

    Holds plain lists (it pickles anywhere) and builds index tensors per device.

    Parameters
    ----------
    layout : Layout
        The encoder's layout (one-hot categoricals).
    index : SpanIndex
        The same layout's precomputed indices.

    Attributes
    ----------
    columns : list
        Names of the conditioning columns, in layout order.
    n_columns : int
        Their number.
    n_conditions : int
        Width of the conditional vector (total number of categories).
    offsets : list of int
        Position of each column's first category in the vector.
    widths : list of int
        Number of categories per column.
    """

    def __init__(self, layout, index):
        blocks = [d for d in index.discrete if not d[4]]
        block_by_start = {d[2]: b for b, d in enumerate(blocks)}
        self.columns, self.offsets, self.widths = [], [], []
        self._unit_enc, self._unit_out = [], []
        self._unit_column, self._unit_block = [], []
        offset = 0
        for span, out_start, _ in layout.output_slices():
            if span.activation != "softmax" or span.role != "category":
                continue
            j = len(self.columns)
            self.columns.append(span.column)
            self.offsets.append(offset)
            self.widths.append(span.width)
            for k in range(span.width):
                self._unit_enc.append(span.start + k)
                self._unit_out.append(out_start + k)
                self._unit_column.append(j)
                self._unit_block.append(block_by_start[span.start])
            offset += span.width
        self.n_columns = len(self.columns)
        self.n_conditions = offset
        self._cache = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def tensors(self, device):
        """``(unit_enc, unit_out, unit_column, unit_block)``: per category, its
        encoded position, output position, column number and SpanIndex block."""
        key = str(device)
        if key not in self._cache:
            # Never inference tensors: a first call may come from sampling (under
            # inference_mode) and the cache is used in training afterwards.
            with torch.inference_mode(False):
                self._cache[key] = tuple(
                    torch.tensor(values, dtype=torch.long, device=device)
                    for values in (
                        self._unit_enc,
                        self._unit_out,
                        self._unit_column,
                        self._unit_block,
                    )
                )
        return self._cache[key]

    def one_hot(self, ids, dtype=torch.float32):
        """Conditional vectors ``(n, n_conditions)`` for category ids ``(n,)``."""
        cond = torch.zeros(
            (ids.shape[0], self.n_conditions), device=ids.device, dtype=dtype
        )
        return cond.scatter_(1, ids[:, None], 1.0)


class CTGANLoss(nn.Module):
    """The generator's conditional term: cross-entropy of the conditioned column.

    For each row, the conditional vector names one column and one of its
    categories; the loss is the cross-entropy between the generator's logits for
    that column and the category, averaged over rows (Xu et al., 2019, section 4.3).
    It pushes the generator to honour the condition. Also holds the layout indices
    the GAN's net uses (``index``, ``condition``).

    Parameters
    ----------
    layout : Layout
        The encoder's layout (one-hot categoricals).
    tau : float, default=0.2
        Gumbel-softmax temperature of :meth:`activate`.
    """

    def __init__(self, layout, tau=0.2):
        super().__init__()
        self.index = SpanIndex(layout)
        self.condition = ConditionalVector(layout, self.index)
        self.tau = float(tau)

    def activate(self, out, generator=None):
        """Gumbel-softmax / tanh activation of raw outputs; see activate_outputs."""
        return activate_outputs(out, self.index, tau=self.tau, generator=generator)

    def forward(self, out, ids):
        """Mean cross-entropy of the conditioned columns; ``ids`` are category ids."""
        if ids is None or not self.condition.n_conditions:
            return out.new_zeros(())
        _, unit_out, _, unit_block = self.condition.tensors(out.device)
        block_units, _, _, _, _ = self.index.block_tensors(out.device)
        logits = out.index_select(1, block_units)
        _, sums, block_max = _block_log_softmax_parts(logits, self.index, out.device)
        log_sum_exp = torch.log(sums) + block_max
        rows = torch.arange(out.shape[0], device=out.device)
        chosen = log_sum_exp[rows, unit_block[ids]] - out[rows, unit_out[ids]]
        return chosen.mean()
