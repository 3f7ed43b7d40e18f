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
