"""On-device mini-batches: seeded permutations of row indices over a resident tensor."""

import torch


class IndexBatchIterator:
    """Re-iterable mini-batches of a tensor that stays on its device.

    Every pass draws a fresh permutation with ``generator`` and yields
    ``(X[idx], None)`` for consecutive index slices, so there is no per-row
    ``__getitem__`` and no host-to-device copy inside the loop.

    Parameters
    ----------
    X : torch.Tensor
        The encoded table, already on the training device.
    batch_size : int
        Rows per batch; the last batch of a pass may be smaller.
    generator : torch.Generator
        Source of the permutations (on the same device as ``X``).
    shuffle : bool, default=True
        Whether to permute rows every pass.
    drop_last : bool, default=False
        Drop a final batch smaller than ``batch_size`` (used when a model needs
        whole packs, e.g. PacGAN).
    """

    def __init__(self, X, batch_size, generator, shuffle=True, drop_last=False):
        self.X = X
        self.batch_size = int(batch_size)
        self.generator = generator
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self):
        n = self.X.shape[0]
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self):
        n = self.X.shape[0]
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=self.X.device)
        else:
            order = torch.arange(n, device=self.X.device)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield self.X.index_select(0, order[start : start + self.batch_size]), None


class PoissonBatchIterator:
    """Poisson-sampled mini-batches of a tensor that stays on its device (DP-SGD).

    Every batch includes each row independently with probability ``sample_rate``,
    so batch sizes vary (and a batch may be empty): this is the sampling that the
    privacy amplification of DP-SGD's accountants assumes. A pass yields
    ``n_batches`` batches, each an index selection ``(X[idx], None)`` drawn with
    ``generator``.

    Parameters
    ----------
    X : torch.Tensor
        The encoded table, already on the training device.
    sample_rate : float
        Probability that a row is in a batch, in (0, 1]. The expected batch size is
        ``sample_rate * len(X)``.
    n_batches : int
        Batches per pass (an epoch), usually ``round(1 / sample_rate)``.
    generator : torch.Generator
        Source of the inclusion draws (on the same device as ``X``).
    """

    def __init__(self, X, sample_rate, n_batches, generator):
        self.X = X
        self.sample_rate = float(sample_rate)
        self.n_batches = int(n_batches)
        self.generator = generator

    def __len__(self):
        return self.n_batches

    def indices(self):
        """Row indices of one Poisson-sampled batch (sorted)."""
        n = self.X.shape[0]
        draws = torch.rand(n, generator=self.generator, device=self.X.device)
        return torch.nonzero(draws < self.sample_rate, as_tuple=True)[0]

    def __iter__(self):
        for _ in range(self.n_batches):
            yield self.X.index_select(0, self.indices()), None
