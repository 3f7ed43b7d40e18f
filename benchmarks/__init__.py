"""sklearn_gen's benchmarks: ``python -m benchmarks run`` (see :mod:`benchmarks.suite`)."""
