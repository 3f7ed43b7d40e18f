"""Seeding without touching the global RNGs.

The generators keep a numpy ``RandomState`` (picklable) and derive torch seeds from
it; torch randomness goes through explicit ``torch.Generator`` objects, and module
initialisation runs inside ``torch.random.fork_rng`` so the user's global state is
left as it was.
"""

import numpy as np
import torch


def torch_seed(rng):
    """Draw a 63-bit torch seed from a numpy ``RandomState``."""
    return int(rng.randint(0, np.iinfo(np.int64).max, dtype=np.int64))


def make_torch_generator(seed, device):
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
