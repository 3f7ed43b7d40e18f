"""From raw network outputs to rows in the encoder's space, per layout span."""

import torch


def _as_slice(positions):
    """``slice(a, b)`` if ``positions`` is ``a, a+1, ..., b-1``, else None."""
    if positions and positions == list(range(positions[0], positions[0] + len(positions))):
        return slice(positions[0], positions[0] + len(positions))
    return None


class SpanIndex:
    """Index tensors precomputed from a layout, so per-batch work is a few gathers.

    Holds plain Python lists (so it pickles anywhere) and builds the index tensors
    once per device on first use.

    Parameters
    ----------
    layout : Layout
        The encoder's layout.
    grouped : bool, default=False
        Where each span's units sit in the network output. False: in layout
        order (``layout.output_slices()``). True: all scalar units first, then
        all one-hot blocks, then all code blocks, so the loss reads each group as
        one slice. A network's output layer can emit its units in any order, so
        this is only a convention shared by its loss and its sampler.

    Attributes
    ----------
    discrete : list of (out_start, out_stop, enc_start, enc_stop, is_code)
        Class blocks in output and encoded coordinates.
    n_encoded, n_output : int
        Widths of the encoded matrix and of the network output.
    """

    def __init__(self, layout, grouped=False):
        self.grouped = bool(grouped)
        positions = self._output_positions(layout, self.grouped)
        self._scalar_out, self._scalar_enc, self._tanh = [], [], []
        self.discrete = []
        for span, start in zip(layout, positions):
            if span.activation in ("tanh", "linear"):
                self._scalar_out.append(start)
                self._scalar_enc.append(span.start)
                self._tanh.append(span.activation == "tanh")
            else:
                self.discrete.append(
                    (
                        start,
                        start + span.output_width,
                        span.start,
                        span.stop,
                        span.activation == "code",
                    )
                )
        self.n_encoded = layout.n_features
        self.n_output = layout.output_width
        # Units of the one-hot blocks (output and encoded positions) and, for each
        # unit, its block: the loss takes every block's log-sum-exp with one
        # matrix product instead of one cross-entropy call per column.
        blocks = [d for d in self.discrete if not d[4]]
        self._unit_out = [i for d in blocks for i in range(d[0], d[1])]
        self._unit_enc = [i for d in blocks for i in range(d[2], d[3])]
        self._unit_block = [b for b, d in enumerate(blocks) for _ in range(d[0], d[1])]
        # Contiguous output units are read as slices: a gather and its backward
        # cost more than the rest of the loss on the CPU.
        self._scalar_slice = _as_slice(self._scalar_out)
        self._unit_slice = _as_slice(self._unit_out)
        width = max((d[1] - d[0] for d in blocks), default=0)
        # Per-block positions within the unit list, padded with the last unit of
        # the block (harmless for a max), to find each block's max logit.
        self._grid = []
        offset = 0
        for d in blocks:
            size = d[1] - d[0]
            self._grid.append(
                list(range(offset, offset + size)) + [offset + size - 1] * (width - size)
            )
            offset += size
        self.codes = [d for d in self.discrete if d[4]]
        self._cache = {}

    @staticmethod
    def _output_positions(layout, grouped):
        """Start of each span's output units: in layout order, or grouped as all
        scalars, then all one-hot blocks, then all code blocks."""
        if not grouped:
            return [start for _, start, _ in layout.output_slices()]
        kinds = [
            0 if span.activation in ("tanh", "linear") else 1 if span.activation == "softmax" else 2
            for span in layout
        ]
        positions = [0] * len(kinds)
        position = 0
        for kind in (0, 1, 2):
            for i, span in enumerate(layout):
                if kinds[i] == kind:
                    positions[i] = position
                    position += span.output_width
        return positions

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def tensors(self, device):
        """``(scalar_out, scalar_enc, tanh_mask)`` index tensors on ``device``."""
        key = str(device)
        if key not in self._cache:
            # Cached for training too: never inference tensors (a first call may
            # come from sampling, under inference_mode, e.g. after unpickling).
            with torch.inference_mode(False):
                self._cache[key] = (
                    torch.tensor(self._scalar_out, dtype=torch.long, device=device),
                    torch.tensor(self._scalar_enc, dtype=torch.long, device=device),
                    torch.tensor(self._tanh, dtype=torch.bool, device=device),
                )
        return self._cache[key]

    def block_tensors(self, device):
        """``(unit_out, unit_enc, unit_block, grid, membership)`` on ``device``.

        ``membership`` is the (n_units, n_blocks) 0/1 matrix mapping units to blocks.
        """
        key = "blocks:" + str(device)
        if key not in self._cache:
            with torch.inference_mode(False):  # see tensors()
                unit_block = torch.tensor(
                    self._unit_block, dtype=torch.long, device=device
                )
                membership = torch.zeros(
                    (len(self._unit_block), len(self._grid)), device=device
                )
                rows = torch.arange(len(unit_block), device=device)
                membership[rows, unit_block] = 1.0
                self._cache[key] = (
                    torch.tensor(self._unit_out, dtype=torch.long, device=device),
                    torch.tensor(self._unit_enc, dtype=torch.long, device=device),
                    unit_block,
                    torch.tensor(self._grid, dtype=torch.long, device=device),
                    membership,
                )
        return self._cache[key]

    @property
    def n_blocks(self):
        """Number of one-hot (softmax) blocks."""
        return len(self._grid)

    @property
    def n_scalars(self):
        """Number of scalar (tanh or linear) units."""
        return len(self._scalar_out)

    def scalar_values(self, values):
        """The scalar units' entries of ``values`` (last dimension: outputs)."""
        if self._scalar_slice is not None:
            return values[..., self._scalar_slice]
        return values.index_select(-1, self.tensors(values.device)[0])

    def put_scalars(self, dest, values):
        """Write ``values`` into the scalar units of ``dest`` (last dimension)."""
        if self._scalar_slice is not None:
            dest[..., self._scalar_slice] = values
        else:
            dest.index_copy_(dest.dim() - 1, self.tensors(dest.device)[0], values)
        return dest

    def put_units(self, dest, values):
        """Write ``values`` into the one-hot blocks' units of ``dest`` (n, n_output)."""
        if self._unit_slice is not None:
            dest[:, self._unit_slice] = values
        else:
            dest.index_copy_(1, self.block_tensors(dest.device)[0], values)
        return dest

    @property
    def all_tanh(self):
        """Whether every scalar unit is a tanh unit (no linear ones)."""
        return all(self._tanh)

    def unit_logits(self, out):
        """The one-hot blocks' logits, shape (n, n_units), in unit order."""
        if self._unit_slice is not None:
            return out[:, self._unit_slice]
        return out.index_select(1, self.block_tensors(out.device)[0])

    def scalars(self, out):
        """Activated scalar outputs, shape (n, n_scalars)."""
        tanh_mask = self.tensors(out.device)[2]
        values = self.scalar_values(out)
        return torch.where(tanh_mask, torch.tanh(values), values)


def sample_outputs(out, index, *, sigma=None, generator=None, stochastic=True):
    """Turn raw outputs into an encoded matrix the encoder can decode.

    Parameters
    ----------
    out : Tensor of shape (n, n_output)
        Raw network outputs (logits for class blocks).
    index : SpanIndex
        Precomputed layout indices (on ``out``'s device).
    sigma : Tensor of shape (n_output,) or None
        Per-unit noise scale added to scalar spans when ``stochastic`` (TVAE's
        learned decoder scale).
    generator : torch.Generator or None
        Source of the sampling noise.
    stochastic : bool, default=True
        Sample classes from their softmax (Gumbel-max) and add ``sigma`` noise;
        if False, take the argmax and the mean (a deterministic decode).

    Returns
    -------
    encoded : Tensor of shape (n, n_encoded)
        Scalars in place, class blocks one-hot (code spans hold the class index).
    """
    n = out.shape[0]
    encoded = out.new_zeros((n, index.n_encoded))
    _, scalar_enc, tanh_mask = index.tensors(out.device)
    scalars = index.scalars(out)
    if stochastic and sigma is not None and index.n_scalars:
        noise = torch.randn(
            scalars.shape, generator=generator, device=out.device, dtype=out.dtype
        )
        scalars = scalars + noise * index.scalar_values(sigma)
    scalars = torch.where(tanh_mask, scalars.clamp(-1.0, 1.0), scalars)
    encoded.index_copy_(1, scalar_enc, scalars)
    if index.discrete:
        if stochastic:
            # Gumbel-max over all outputs at once: argmax(logits + G) samples the
            # softmax of each block exactly.
            uniform = torch.rand(
                out.shape, generator=generator, device=out.device, dtype=out.dtype
            )
            scores = out - torch.log(-torch.log(uniform.clamp_min(1e-20)))
        else:
            scores = out
        for out_start, out_stop, enc_start, enc_stop, is_code in index.discrete:
            choice = scores[:, out_start:out_stop].argmax(dim=1)
            if is_code:
                encoded[:, enc_start] = choice.to(out.dtype)
            else:
                block = encoded[:, enc_start:enc_stop]
                block.scatter_(1, choice[:, None], 1.0)
    return encoded
