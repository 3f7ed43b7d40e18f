"""Training core: skorch nets per objective, on-device batching, devices, seeding.

Private: the generators are the public face of this layer.
"""

from ._batching import IndexBatchIterator
from ._callbacks import EpochProgressBar, FiniteLossGuard, GeneratorCheckpoint
from ._device import adam_fused, resolve_device
from ._nets import GANNet, TableNet, VAENet
from ._random import make_torch_generator, torch_seed

__all__ = [
    "EpochProgressBar",
    "adam_fused",
    "FiniteLossGuard",
    "GANNet",
    "GeneratorCheckpoint",
    "IndexBatchIterator",
    "TableNet",
    "VAENet",
    "make_torch_generator",
    "resolve_device",
    "torch_seed",
]
