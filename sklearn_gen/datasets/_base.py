"""Datasets bundled with sklearn_gen."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_adult"]

_DATA_PACKAGE = "sklearn_gen.datasets"
_ADULT_FILE = "adult.csv.gz"
_ADULT_TARGET = "income"


def _read_bundled_csv(filename):
    """Read a gzip-compressed CSV shipped in ``sklearn_gen/datasets/data``."""
    source = resources.files(_DATA_PACKAGE).joinpath("data", filename)
    with resources.as_file(source) as path:
        return pd.read_csv(path, compression="gzip")


def load_adult(*, as_frame=True, return_X_y=False):
    """Load the Adult (Census Income) table bundled with the package.

    32,561 rows and 15 columns from the 1994 US Census: six integer columns
    (``age``, ``fnlwgt``, ``education-num``, ``capital-gain``, ``capital-loss``,
    ``hours-per-week``), eight categorical ones (``workclass``, ``education``,
    ``marital-status``, ``occupation``, ``relationship``, ``race``, ``sex``,
    ``native-country``) and the binary target ``income`` (``" <=50K"`` or
    ``" >50K"``). It is the usual benchmark for tabular generators (CTGAN, TVAE).

    The values are exactly those of the UCI file: every string starts with a
    space (``" Female"``) and unknown values are the string ``" ?"`` (in
    ``workclass``, ``occupation`` and ``native-country``); there are no NaN.

    Parameters
    ----------
    as_frame : bool, default=True
        If True, return pandas objects (a DataFrame, and a Series for the
        target). If False, return NumPy arrays of dtype ``object``.
    return_X_y : bool, default=False
        If True, split off the ``income`` column and return ``(X, y)``.
        If False, return the whole table, ``income`` included, which is what
        a generator is fitted on.

    Returns
    -------
    data : DataFrame of shape (32561, 15) or ndarray of shape (32561, 15)
        The whole table, returned when ``return_X_y=False``.
    (X, y) : tuple
        Returned when ``return_X_y=True``: ``X`` of shape (32561, 14) and
        ``y`` of shape (32561,), a DataFrame and a Series named ``"income"``
        when ``as_frame=True``, object ndarrays otherwise.

    Notes
    -----
    Source: the ``adult.data`` training split of the UCI Machine Learning
    Repository's "Adult" dataset, with the header row used by the CTGAN
    authors; the bundled gzip file decompresses to a byte-identical copy of
    that CSV. Licence: Creative Commons Attribution 4.0 (CC BY 4.0). Cite
    Becker, B. & Kohavi, R. (1996), *Adult*, UCI Machine Learning Repository,
    https://doi.org/10.24432/C5XW20.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_adult
    >>> df = load_adult()
    >>> df.shape
    (32561, 15)
    >>> df["sex"].value_counts().to_dict()
    {' Male': 21790, ' Female': 10771}
    >>> X, y = load_adult(return_X_y=True)
    >>> X.shape, y.name
    ((32561, 14), 'income')
    >>> load_adult(as_frame=False).dtype
    dtype('O')
    """
    frame = _read_bundled_csv(_ADULT_FILE)
    if return_X_y:
        X = frame.drop(columns=_ADULT_TARGET)
        y = frame[_ADULT_TARGET]
        if not as_frame:
            return X.to_numpy(dtype=object), y.to_numpy(dtype=object)
        return X, y
    if not as_frame:
        return frame.to_numpy(dtype=object)
    return frame
