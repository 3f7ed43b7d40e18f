"""Real tables shipped with sklearn_gen, for examples, tests and the demo."""

from ._base import load_adult

__all__ = ["load_adult"]
