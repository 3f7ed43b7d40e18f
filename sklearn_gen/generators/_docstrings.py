"""Parameter descriptions that every generator shares, written once.

A generator's class docstring names a shared block on a line of its own, e.g.
``    %(device_parameters)s``, and :func:`fill_shared_docs` puts the text in.
"""

_SHARED = {
    "identifiers_parameter": """\
    identifiers : {"regenerate", "drop", "error", "keep"}, default="regenerate"
        What to do with columns that look like direct identifiers (unique
        per-row ids, emails, phone numbers, names; see
        :func:`~sklearn_gen.preprocessing.detect_identifiers`). "regenerate":
        not modelled; ``sample`` fills them with fresh unique values of the same
        format, never taken from the training data. "drop": not modelled and not
        returned. "error": ``fit`` raises. "keep": modelled like any other column.
""",
    "device_parameters": """\
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where to train and sample; "auto" uses CUDA when available.
    data_parallel : bool, default=False
        Train as one of several processes started by ``accelerate launch`` or
        ``torchrun`` (one per GPU): each process takes its share of every epoch's
        batches on its own device and the gradients are averaged, so one step
        sees ``batch_size`` rows per process. ``device`` must be "auto" (each
        process's GPU) or "cpu". Needs ``accelerate``; see :ref:`scaling-out`.
    random_state : int, RandomState instance or None, default=None
        Seeds fitting and the default sampling stream; an int makes ``fit`` and
        ``sample`` reproducible on the CPU.
    verbose : int, default=0
        Show a progress bar over epochs when > 0.
""",
}


def fill_shared_docs(cls):
    """Class decorator: replace the ``%(name)s`` lines of ``cls.__doc__``.

    Plain replacement, not ``%``-formatting: docstrings contain ``%`` and braces.
    """
    doc = cls.__doc__
    for name, text in _SHARED.items():
        doc = doc.replace(f"    %({name})s\n", text)
    if "%(" in doc:
        raise ValueError(f"{cls.__name__}'s docstring names an unknown shared block.")
    cls.__doc__ = doc
    return cls
