"""Sampling from a Pipeline whose last step is a generator."""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["sample_pipeline"]


def sample_pipeline(pipeline, n_samples=None, *, conditions=None, random_state=None):
    """Sample from a fitted Pipeline ending in a generator, in the original space.

    The generator samples rows in the space it was trained on (the output of the
    earlier steps); each earlier step's ``inverse_transform`` is then applied in
    reverse order, so the rows come back in the space of the Pipeline's input.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted Pipeline whose last step is a generator and whose other steps all
        have ``inverse_transform`` (e.g. ``StandardScaler``, ``PCA``).
    n_samples : int, default=None
        Number of rows (see the generator's ``sample``).
    conditions : dict or DataFrame, default=None
        Passed to the generator; they apply in the space the generator was fitted
        in (after the earlier steps).
    random_state : int, RandomState instance or None, default=None
        Passed to the generator.

    Returns
    -------
    X_new : ndarray or DataFrame of shape (n_samples, n_features)
        Rows in the Pipeline's input space. If the generator was fitted with a
        target, ``(X_new, y_new)``.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gen import TVAEGenerator, sample_pipeline
    >>> X = load_wine().data
    >>> pipe = make_pipeline(StandardScaler(), TVAEGenerator(epochs=1, random_state=0))
    >>> sample_pipeline(pipe.fit(X), 4, random_state=0).shape
    (4, 13)
    """
    from ..base import is_generator

    if not isinstance(pipeline, Pipeline):
        raise TypeError(
            f"sample_pipeline expects a sklearn Pipeline, got {type(pipeline).__name__}."
        )
    generator = pipeline.steps[-1][1]
    if not is_generator(generator):
        raise TypeError(
            "The last step of the Pipeline must be a generator, got "
            f"{type(generator).__name__}."
        )
    check_is_fitted(generator)
    earlier = [(name, step) for name, step in pipeline.steps[:-1] if step not in (None, "passthrough")]
    for name, step in earlier:
        if not hasattr(step, "inverse_transform"):
            raise TypeError(
                f"Pipeline step {name!r} ({type(step).__name__}) has no "
                "inverse_transform, so sampled rows cannot be mapped back through it."
            )
    sampled = generator.sample(n_samples, conditions=conditions, random_state=random_state)
    X_new, y_new = sampled if isinstance(sampled, tuple) else (sampled, None)
    for _, step in reversed(earlier):
        X_new = step.inverse_transform(X_new)
    return X_new if y_new is None else (X_new, y_new)
