"""Warnings and errors specific to sklearn_gen (like :mod:`sklearn.exceptions`)."""

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning

__all__ = ["InconsistentVersionWarning"]


class InconsistentVersionWarning(_SklearnVersionWarning):
    """A saved generator is loaded under another version of a library it depends on.

    Raised (as a warning) by ``pickle.load`` / ``joblib.load`` of a generator and by
    :func:`~sklearn_gen.load_generator` when one of the libraries recorded at save
    time (sklearn_gen, torch, scikit-learn, skorch, numpy, pandas, python) has a
    different version now. One warning is issued per library that differs.

    It subclasses :class:`sklearn.exceptions.InconsistentVersionWarning`, so a
    warnings filter written for scikit-learn's warning also applies to it.
    (scikit-learn only checks the version of its own estimators, those defined in
    ``sklearn.*`` modules, so it does not warn for a generator: this warning
    covers scikit-learn too.) Versions are compared without their local part
    (``2.5.1+cu121`` and ``2.5.1+cpu`` match, so a model saved on a GPU machine
    loads quietly on a CPU-only one with the same torch release); Python by
    major and minor version only.

    Parameters
    ----------
    estimator_name : str
        Class name of the saved generator.
    library : str
        The library whose version differs (e.g. ``"torch"``).
    original_version : str
        Its version when the generator was saved.
    current_version : str
        Its version now.
    original_sklearn_version, current_sklearn_version : str or None, default=None
        scikit-learn's versions then and now (the attributes of scikit-learn's
        warning), when known.

    Examples
    --------
    >>> from sklearn_gen.exceptions import InconsistentVersionWarning
    >>> w = InconsistentVersionWarning(estimator_name="TVAEGenerator",
    ...     library="torch", original_version="2.1.0", current_version="2.5.1")
    >>> print(str(w).splitlines()[0])
    TVAEGenerator was saved with torch 2.1.0 and is loaded with torch 2.5.1.
    """

    def __init__(
        self,
        *,
        estimator_name,
        library,
        original_version,
        current_version,
        original_sklearn_version=None,
        current_sklearn_version=None,
    ):
        super().__init__(
            estimator_name=estimator_name,
            current_sklearn_version=current_sklearn_version,
            original_sklearn_version=original_sklearn_version,
        )
        self.library = library
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        if self.library == "python":
            pin = f"run Python {self.original_version}"
        else:
            pin = f"install {self.library}=={self.original_version}"
        return (
            f"{self.estimator_name} was saved with {self.library} "
            f"{self.original_version} and is loaded with {self.library} "
            f"{self.current_version}.\nIt may fail or give different results (the "
            "network code or the saved objects may have changed). Re-fit the "
            f"generator under the current versions, or {pin} to use it as saved."
        )
