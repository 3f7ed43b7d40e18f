"""Find the generator classes the package provides."""

import inspect

__all__ = ["all_generators"]


def all_generators():
    """List every public generator class.

    Returns
    -------
    generators : list of (name, class) tuples
        Sorted by name, like :func:`sklearn.utils.discovery.all_estimators`.

    Examples
    --------
    >>> from sklearn_gen.utils import all_generators
    >>> "TVAEGenerator" in [name for name, _ in all_generators()]
    True
    """
    from .. import generators
    from ..base import BaseGenerator

    found = [
        (name, obj)
        for name, obj in inspect.getmembers(generators, inspect.isclass)
        if issubclass(obj, BaseGenerator) and not inspect.isabstract(obj)
    ]
    return sorted(found)
