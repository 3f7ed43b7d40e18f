"""Parameter checks shared by the generator classes."""

import numbers


def check_layer_sizes(sizes, name):
    """Return ``sizes`` as a tuple of positive ints, or raise a ValueError naming ``name``."""
    sizes = tuple(sizes)
    if not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
        for s in sizes
    ):
        raise ValueError(
            f"{name} must be a tuple of positive ints (hidden layer widths), got {sizes!r}."
        )
    return tuple(int(s) for s in sizes)
