"""Callbacks for training generators (pass them in a generator's ``callbacks``).

Any skorch callback works in ``callbacks=[...]`` (progress, early stopping, LR
schedules); the ones here know about the generator around the net.
"""

from ._training._callbacks import GeneratorCheckpoint

__all__ = ["GeneratorCheckpoint"]
