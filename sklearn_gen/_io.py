"""Streaming synthetic rows to CSV or Parquet files with bounded memory."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd

__all__ = ["write_samples"]

#: File name endings and the format they select.
_SUFFIXES = {
    ".csv.gz": ("csv", "gzip"),
    ".csv": ("csv", None),
    ".parquet": ("parquet", None),
    ".pq": ("parquet", None),
}


def _output_format(path, format):
    """``(format, compression)`` for ``path``: from ``format`` or the name's end."""
    name = str(path).lower()
    if format is None:
        for suffix, chosen in _SUFFIXES.items():
            if name.endswith(suffix):
                return chosen
        raise ValueError(
            f"Cannot tell the file format of {str(path)!r} from its name: name it "
            "*.csv, *.csv.gz, *.parquet or *.pq, or pass format='csv' or "
            "format='parquet'."
        )
    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv', 'parquet' or None, got {format!r}.")
    compression = "gzip" if format == "csv" and name.endswith(".gz") else None
    return format, compression


def _import_pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ImportError(
            "Writing Parquet files needs pyarrow: pip install pyarrow (or write "
            "CSV: a path ending in .csv or .csv.gz)."
        ) from None
    return pyarrow, pyarrow.parquet


def _as_table(generator, sampled):
    """One DataFrame per batch: the features, then the target (if any) as a column."""
    target = None
    if isinstance(sampled, tuple):  # fitted with a target: (X, y)
        sampled, target = sampled
    if not isinstance(sampled, pd.DataFrame):  # fitted on an array
        sampled = pd.DataFrame(sampled)
    if target is not None:
        name = getattr(generator, "target_name_", None)
        name = getattr(target, "name", None) if name is None else name
        name = "target" if name is None else name
        # .array keeps category / nullable / string dtypes and ignores the index.
        values = target.array if isinstance(target, pd.Series) else target
        sampled = sampled.assign(**{str(name): values})
    return sampled


def _null_field_type(pa, name, generator):
    """Arrow type of a column whose first batch was all missing (typed ``null``).

    Taken from the categories the generator learned for that column, else string.
    """
    for column in getattr(getattr(generator, "encoder_", None), "schema_", ()):
        if str(column.name) == name and column.categories:
            values = [value for value in column.categories if not pd.isna(value)]
            try:
                return pa.array(values).type
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                break
    return pa.string()


def _write_parquet(tables, path, generator):
    pa, pq = _import_pyarrow()
    writer = schema = None
    try:
        for frame in tables:
            frame = frame.rename(columns=str)  # Parquet needs string column names
            if schema is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                fields = [
                    field.with_type(_null_field_type(pa, field.name, generator))
                    if pa.types.is_null(field.type) and len(frame)
                    else field
                    for field in table.schema
                ]
                schema = pa.schema(fields, metadata=table.schema.metadata)
                if schema != table.schema:
                    table = table.cast(schema)
                writer = pq.ParquetWriter(path, schema)
            else:
                table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            if len(table):  # no rows: the schema alone (no row group)
                writer.write_table(table, row_group_size=len(table))
    finally:
        if writer is not None:
            writer.close()


def _write_csv(tables, path, compression):
    if compression == "gzip":
        handle = gzip.open(path, "wt", encoding="utf-8", newline="")
    else:
        handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    with handle:
        for i, frame in enumerate(tables):
            frame.to_csv(handle, header=i == 0, index=False)


def write_samples(
    generator,
    path,
    n_samples=None,
    *,
    batch_rows=100_000,
    conditions=None,
    random_state=None,
    format=None,
    verbose=0,
):
    """Sample rows from a fitted generator straight into a CSV or Parquet file.

    Rows are generated and written batch by batch
    (:meth:`~sklearn_gen.base.BaseGenerator.sample_batches`), so memory stays
    bounded by one batch whatever ``n_samples``: ten million rows need no more
    memory than ``batch_rows``. CSV gets its header once and each batch appended;
    Parquet gets one row group per batch under one schema fixed from the first
    batch, so category, string, datetime and nullable integer columns keep their
    types (and read back with their pandas dtypes). A generator fitted with a
    target writes it as the last column, named ``target_name_``. The file
    appears only when complete: rows go to a temporary file in the same
    directory, renamed at the end (and removed on error).

    Parameters
    ----------
    generator : BaseGenerator
        A fitted generator.
    path : str or path-like
        The file to write (replaced if it exists).
    n_samples : int, default=None
        Number of rows. None means as many rows as the training table, or one per
        row of ``conditions`` when that is a DataFrame.
    batch_rows : int, default=100_000
        Rows generated and written at a time.
    conditions : dict or DataFrame, default=None
        As for :meth:`~sklearn_gen.base.BaseGenerator.sample`: a dict applies to
        every row, a DataFrame gives one row of values per sample.
    random_state : int, RandomState instance or None, default=None
        Seed; an int writes the same rows every time (without conditions, the
        same rows whatever ``batch_rows``).
    format : {"csv", "parquet"} or None, default=None
        None chooses by the name's ending: ``.csv``, ``.csv.gz`` (gzip-compressed
        CSV), ``.parquet`` or ``.pq``; any other ending needs ``format``. With
        ``format="csv"`` a name ending in ``.gz`` is compressed.
    verbose : int, default=0
        Show a progress bar over the rows written when > 0.

    Returns
    -------
    n_rows : int
        Number of rows written.

    Raises
    ------
    ValueError
        For a name whose ending selects no format (and no ``format``).
    ImportError
        For Parquet without pyarrow installed.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import TVAEGenerator, write_samples
    >>> X = load_wine(as_frame=True).frame
    >>> gen = TVAEGenerator(epochs=1, random_state=0).fit(X)
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.csv")
    >>> write_samples(gen, path, 250, batch_rows=100, random_state=0)
    250
    >>> pd.read_csv(path).shape
    (250, 14)
    """
    fmt, compression = _output_format(path, format)
    if fmt == "parquet":
        _import_pyarrow()  # fail before any work
    if not hasattr(generator, "sample_batches"):
        raise TypeError(
            f"generator must be a fitted sklearn_gen generator, got "
            f"{type(generator).__name__}."
        )
    batches = generator.sample_batches(
        n_samples,
        batch_rows=batch_rows,
        conditions=conditions,
        random_state=random_state,
    )
    total = generator._check_n_samples(n_samples, conditions)
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    written = 0
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=total, desc=f"Writing {path.name}", unit="row", unit_scale=True
        )

    def tables():
        nonlocal written
        empty = True
        for batch in batches:
            frame = _as_table(generator, batch)
            empty = False
            yield frame
            written += len(frame)
            if bar is not None:
                bar.update(len(frame))
        if empty:  # no rows: still write the header / the schema
            yield _as_table(generator, generator.sample(0, random_state=0))

    try:
        if fmt == "parquet":
            _write_parquet(tables(), partial, generator)
        else:
            _write_csv(tables(), partial, compression)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return written
