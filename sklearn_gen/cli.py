"""The ``sklearn-gen`` command line: demo, fit, sample, evaluate.

Tables are CSV files, or parquet files when their name ends in ``.parquet`` or
``.pq`` (reading and writing parquet needs ``pip install pyarrow``). Models
are joblib files. ``sklearn-gen COMMAND --help`` describes each command.
Mistakes (a missing file, an unknown column or parameter, a bad value) are
reported on one line of stderr, with exit status 1 (2 for invalid arguments).

Examples
--------
On a shell::

    sklearn-gen demo        # fit a TVAE on Adult, write synthetic_adult.csv
    sklearn-gen fit real.csv --model tvae --epochs 300 -o model.joblib
    sklearn-gen fit real.parquet --model ctgan --target income \\
        --param batch_size=1000 --param generator_dim="(256, 256)" -o model.joblib
    sklearn-gen sample model.joblib -n 100000 -o synthetic.csv --seed 0
    sklearn-gen sample model.joblib -n 1000 -o rich.parquet --condition income=">50K"
    sklearn-gen evaluate real.csv synthetic.csv --report report/

From Python, ``main`` takes the arguments as a list and returns the exit status::

    from sklearn_gen.cli import main
    main(["evaluate", "real.csv", "synthetic.csv"])
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
import textwrap
import time
from pathlib import Path

__all__ = ["main"]

#: Epochs of the demo. The whole demo (fit on the 32,561 Adult rows, sample as many,
#: score) took 76 s wall time on an idle 2-core CPU with 100 epochs (quality 0.93).
DEMO_EPOCHS = 100

#: File name endings read and written as parquet; anything else is CSV.
PARQUET_SUFFIXES = (".parquet", ".pq")

#: Categories shown in an error message before "...".
_MAX_SHOWN = 20


class _UsageError(Exception):
    """An error in the user's input, reported on one line without a traceback."""


def _one_line(text):
    """``text`` with every run of whitespace (newlines included) as one space."""
    return " ".join(str(text).split())


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors on one line that points to ``--help``."""

    def error(self, message):
        self.exit(
            2, f"{self.prog}: error: {_one_line(message)} (see: {self.prog} --help)\n"
        )


# ------------------------------------------------------------ argument types


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {value}"
        )
    return value


def _assignment(text):
    """``NAME=VALUE`` as ``(NAME, VALUE)``; split at the first ``=``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


# --------------------------------------------------------------- generators


def _model_name(class_name):
    """The ``--model`` name of a generator class.

    ``Generator`` is dropped from the end and the rest is lower-cased, with
    an underscore where a capitalised word follows a lower-case letter or a
    digit (acronyms stay whole).

    Parameters
    ----------
    class_name : str
        E.g. ``"TVAEGenerator"``.

    Returns
    -------
    name : str

    Examples
    --------
    >>> [_model_name(name) for name in ("TVAEGenerator", "CTGANGenerator",
    ...  "TabDDPMGenerator", "LatentDiffusionGenerator", "TransformerGenerator")]
    ['tvae', 'ctgan', 'tabddpm', 'latent_diffusion', 'transformer']
    """
    stem = class_name.removesuffix("Generator") or class_name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", stem).lower()


def _generators():
    """``{model name: class}`` of every generator the package provides."""
    from sklearn_gen.utils import all_generators

    return {_model_name(name): cls for name, cls in all_generators()}


def _model_class(text):
    """argparse type of ``--model``: a model name (or class name) to its class."""
    generators = _generators()
    key = text.strip()
    for candidate in (key.lower(), _model_name(key)):
        if candidate in generators:
            return generators[candidate]
    raise argparse.ArgumentTypeError(
        f"unknown model {text!r}; choose from {', '.join(sorted(generators))}"
    )


def _literal(text):
    """A Python literal (number, tuple, None, True ...) or else the text itself."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _generator_params(cls, args, *, verbose_default):
    """Constructor parameters from ``--param`` and the dedicated options."""
    valid = cls().get_params(deep=False)
    params = {}
    for name, text in args.param or []:
        if name not in valid:
            raise _UsageError(
                f"--param {name}=...: {cls.__name__} has no parameter {name!r}; "
                f"its parameters are {', '.join(sorted(valid))}"
            )
        if name in params:
            raise _UsageError(f"--param {name} is given twice; keep one")
        params[name] = _literal(text)
    dedicated = {
        "epochs": ("--epochs", args.epochs),
        "batch_size": ("--batch-size", getattr(args, "batch_size", None)),
        "device": ("--device", args.device),
        "random_state": ("--seed", args.seed),
        "verbose": ("--verbose", args.verbose),
    }
    for name, (option, value) in dedicated.items():
        if value is None:
            continue
        if name not in valid:
            raise _UsageError(f"{cls.__name__} does not take {option}")
        if name in params:
            raise _UsageError(
                f"{name} is set by both {option} and --param {name}=...; keep one"
            )
        params[name] = value
    # The command line is reproducible by default, and shows a progress bar on
    # a terminal.
    for name, default in (("random_state", 0), ("verbose", verbose_default)):
        if name in valid:
            params.setdefault(name, default)
    return params


# --------------------------------------------------------------- tables


def _is_parquet(path):
    return str(path).lower().endswith(PARQUET_SUFFIXES)


def _parquet_engine_available(engines=("pyarrow", "fastparquet")):
    return any(importlib.util.find_spec(name) for name in engines)


def _read_table(path, what="data"):
    """A CSV or parquet file as a DataFrame (parquet by the name's ending)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise _UsageError(f"no such file: {path} (the {what} file)")
    if path.is_dir():
        raise _UsageError(f"{path} is a directory; give a CSV or parquet file")
    if _is_parquet(path):
        try:
            return pd.read_parquet(path)
        except ImportError:
            raise _UsageError(
                f"reading {path} needs a parquet engine: pip install pyarrow"
            ) from None
        except (OSError, ValueError, TypeError) as exc:
            raise _UsageError(
                f"cannot read {path} as parquet ({_one_line(exc)}); is it a parquet "
                "file? Name CSV files *.csv"
            ) from None
    try:
        frame = pd.read_csv(path)
    except (
        pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
        OSError, ValueError,
    ) as exc:  # fmt: skip
        raise _UsageError(
            f"cannot read {path} as CSV ({_one_line(exc)}); give a CSV file with a "
            "header row, or a parquet file named *.parquet"
        ) from None
    if frame.empty:
        raise _UsageError(f"{path} has no rows; give a table with a header and rows")
    return frame


def _check_output(path, parquet_engines=("pyarrow", "fastparquet")):
    """Fail before any long work when ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise _UsageError(f"-o {path} is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise _UsageError(
            f"cannot write {path}: directory {parent} does not exist; create it first"
        )
    if _is_parquet(path) and not _parquet_engine_available(parquet_engines):
        raise _UsageError(f"writing {path} needs a parquet engine: pip install pyarrow")


def _write_table(frame, path):
    """Write ``frame`` as CSV, or parquet when the name ends in .parquet / .pq."""
    try:
        if _is_parquet(path):
            frame = frame.rename(columns=str)  # parquet needs string column names
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except ImportError:
        raise _UsageError(
            f"writing {path} needs a parquet engine: pip install pyarrow"
        ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise _UsageError(f"cannot write {path}: {_one_line(exc)}") from None


def _pop_target(frame, target, path):
    if target is None:
        return frame, None
    if target not in frame.columns:
        raise _UsageError(
            f"--target {target!r} is not a column of {path}; its columns are "
            f"{', '.join(map(str, frame.columns))}"
        )
    return frame.drop(columns=[target]), frame[target]


def _print_quality(real, synthetic, schema=None, stream=None):
    """Print the SDMetrics quality score and its two properties; return the score."""
    from sklearn_gen.metrics import quality_score

    stream = sys.stdout if stream is None else stream
    score, report = quality_score(real, synthetic, schema=schema, return_report=True)
    print(f"Quality score (SDMetrics QualityReport): {score:.4f}", file=stream)
    for _, row in report.get_properties().iterrows():
        print(f"  {row['Property']}: {row['Score']:.4f}", file=stream)
    return score


# ------------------------------------------------------------- conditions


def _shown(values):
    values = list(values)
    text = ", ".join(repr(v) for v in values[:_MAX_SHOWN])
    return text + (", ..." if len(values) > _MAX_SHOWN else "")


_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _category(column, text, option):
    """The fitted category that ``text`` names (exactly, else ignoring spaces/case)."""
    categories = list(column.categories or [])
    exact = [c for c in categories if str(c) == text]
    if len(exact) == 1:
        return exact[0]
    if column.kind == "boolean" and text.strip().lower() in _TRUE | _FALSE:
        wanted = text.strip().lower() in _TRUE
        matches = [c for c in categories if bool(c) is wanted]
        if len(matches) == 1:
            return matches[0]
    wanted = text.strip().casefold()
    loose = [c for c in categories if str(c).strip().casefold() == wanted]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1:
        raise _UsageError(
            f"--condition {option}: {text!r} matches several values of column "
            f"{column.name!r} ({_shown(loose)}); give one exactly, quoted"
        )
    spaced = any(str(c) != str(c).strip() for c in categories)
    raise _UsageError(
        f"--condition {option}: {text!r} is not a value of column {column.name!r}; "
        f"its values are {_shown(categories)}"
        + ("; the spaces around them may be left out" if spaced else "")
    )


def _condition_value(column, text, option):
    """``text`` converted to the kind of the fitted ``column``."""
    import pandas as pd

    if column.kind in ("categorical", "boolean"):
        return _category(column, text, option)
    if column.kind == "datetime":
        try:
            return pd.Timestamp(text.strip())
        except (ValueError, TypeError):
            raise _UsageError(
                f"--condition {option}: column {column.name!r} holds dates; give one "
                "such as 2024-01-31 or '2024-01-31 12:00'"
            ) from None
    try:
        number = float(text)
    except ValueError:
        raise _UsageError(
            f"--condition {option}: column {column.name!r} holds numbers; got {text!r}"
        ) from None
    if column.kind == "integer":
        if not number.is_integer():
            raise _UsageError(
                f"--condition {option}: column {column.name!r} holds whole numbers; "
                f"got {text!r}"
            )
        return int(number)
    return number


def _conditions(generator, assignments):
    """``{column: value}`` from ``--condition`` options, typed by the fitted schema."""
    if not assignments:
        return None
    columns = {str(column.name): column for column in generator.encoder_.schema_}
    conditions = {}
    for name, text in assignments:
        option = f"{name}={text}"
        if name not in columns:
            raise _UsageError(
                f"--condition {option}: the model has no column {name!r}; its columns "
                f"are {', '.join(columns)}"
            )
        column = columns[name]
        if column.name in conditions:
            raise _UsageError(f"--condition: column {name!r} is given twice; keep one")
        conditions[column.name] = _condition_value(column, text, option)
    return conditions


# ---------------------------------------------------------------- commands


def _cmd_demo(args):
    from sklearn_gen.datasets import load_adult

    _check_output(args.output)
    start = time.perf_counter()
    real = load_adult()
    if args.max_train_rows is not None and args.max_train_rows < len(real):
        real = real.sample(n=args.max_train_rows, random_state=0).reset_index(drop=True)
    n_rows = len(real) if args.rows is None else args.rows
    cls = args.model
    print(
        f"Fitting {cls.__name__}(epochs={args.epochs}) on the Adult census table "
        f"({real.shape[0]} rows x {real.shape[1]} columns), "
        f"device={args.device or 'auto'!r} ..."
    )
    params = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "device": args.device,
        "random_state": args.seed,
        "verbose": args.verbose,
    }
    params = {name: value for name, value in params.items() if value is not None}
    generator = cls(**params).fit(real)
    fitted = time.perf_counter()
    print(f"Fitted in {fitted - start:.1f} s on {generator.device_}.")
    synthetic = generator.sample(n_rows, random_state=args.seed)
    _write_table(synthetic, args.output)
    print(f"Wrote {len(synthetic)} synthetic rows to {args.output}")
    _print_quality(real, synthetic, schema=generator.encoder_.schema_)
    print(f"Total time: {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_fit(args):
    import joblib
    from sklearn.utils._param_validation import InvalidParameterError

    cls = args.model
    params = _generator_params(cls, args, verbose_default=int(sys.stderr.isatty()))
    _check_output(args.output)
    data = _read_table(args.data)
    X, y = _pop_target(data, args.target, args.data)
    generator = cls(**params)
    start = time.perf_counter()
    try:
        generator.fit(X, y)
    except InvalidParameterError as exc:
        raise _UsageError(f"{_one_line(exc)} Fix the --param / option.") from None
    except ValueError as exc:
        raise _UsageError(f"cannot fit {cls.__name__}: {_one_line(exc)}") from None
    elapsed = time.perf_counter() - start
    try:
        if _is_safe_format(args.output):
            from sklearn_gen import save_generator

            save_generator(generator, args.output)
        else:
            joblib.dump(generator, args.output)
    except OSError as exc:
        raise _UsageError(f"cannot write {args.output}: {_one_line(exc)}") from None
    target = "" if args.target is None else f", target {args.target!r}"
    print(
        f"Fitted {cls.__name__} on {args.data} ({X.shape[0]} rows x {X.shape[1]} "
        f"columns{target}) in {elapsed:.1f} s on {generator.device_}; saved to "
        f"{args.output}"
    )
    return 0


def _is_safe_format(path):
    """Whether a model path uses save_generator's format (``.sgen``), not joblib."""
    return Path(path).suffix.lower() == ".sgen"


def _load_generator(path):
    import joblib
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from sklearn_gen.base import is_generator

    path = Path(path)
    if not path.exists():
        raise _UsageError(f"no such file: {path} (the model file)")
    try:
        if _is_safe_format(path):
            from sklearn_gen import load_generator

            generator = load_generator(path)
        else:
            generator = joblib.load(path)
    except Exception as exc:  # pickle raises many kinds on a file that is not one
        raise _UsageError(
            f"cannot load {path} as a model ({type(exc).__name__}: {_one_line(exc)}); "
            "give a file written by `sklearn-gen fit`"
        ) from None
    if not is_generator(generator):
        raise _UsageError(
            f"{path} holds a {type(generator).__name__}, not a sklearn_gen generator; "
            "give a file written by `sklearn-gen fit`"
        )
    try:
        check_is_fitted(generator)
    except NotFittedError:
        raise _UsageError(
            f"{path} holds an unfitted {type(generator).__name__}; fit it first "
            "(`sklearn-gen fit DATA.csv -o model.joblib`)"
        ) from None
    return generator


def _cmd_sample(args):
    from sklearn_gen import write_samples

    generator = _load_generator(args.model)
    conditions = _conditions(generator, args.condition)
    _check_output(args.output, parquet_engines=("pyarrow",))
    verbose = int(sys.stderr.isatty()) if args.verbose is None else args.verbose
    start = time.perf_counter()
    try:
        # Generated and written batch by batch: memory is bounded by --batch-rows.
        n_rows = write_samples(
            generator,
            args.output,
            args.n_samples,
            batch_rows=args.batch_rows,
            conditions=conditions,
            random_state=args.seed,
            format="parquet" if _is_parquet(args.output) else "csv",
            verbose=verbose,
        )
    except ImportError:
        raise _UsageError(
            f"writing {args.output} needs pyarrow: pip install pyarrow"
        ) from None
    except OSError as exc:
        raise _UsageError(f"cannot write {args.output}: {_one_line(exc)}") from None
    except (ValueError, TypeError) as exc:
        if type(exc).__module__.startswith("pyarrow"):
            raise _UsageError(
                f"cannot write {args.output}: {_one_line(exc)}"
            ) from None
        raise _UsageError(f"cannot sample: {_one_line(exc)}") from None
    elapsed = time.perf_counter() - start
    print(f"Wrote {n_rows} rows to {args.output} in {elapsed:.1f} s")
    return 0


def _cmd_evaluate(args):
    real = _read_table(args.real, "real")
    synthetic = _read_table(args.synthetic, "synthetic")
    for frame, path in ((real, args.real), (synthetic, args.synthetic)):
        _pop_target(frame, args.target, path)  # only checks the column is there
    if args.report is not None and Path(args.report).is_file():
        raise _UsageError(f"--report {args.report} is a file; give a directory")
    try:
        _print_quality(real, synthetic)
    except ValueError as exc:
        raise _UsageError(_one_line(exc)) from None
    if args.target is not None:
        from sklearn_gen.metrics import ml_efficacy_score

        try:
            efficacy = ml_efficacy_score(
                real, synthetic, target=args.target, random_state=args.seed
            )
        except ValueError as exc:
            raise _UsageError(f"--target {args.target!r}: {_one_line(exc)}") from None
        print(
            f"ML efficacy (train on synthetic, test on real, target "
            f"{args.target!r}): {efficacy:.4f}"
        )
    if args.report is not None:
        from sklearn_gen.metrics import SyntheticReport

        try:
            report = SyntheticReport(
                real, synthetic, target=args.target, random_state=args.seed
            )
            paths = report.save(args.report)
        except ImportError as exc:
            raise _UsageError(
                "the report needs matplotlib: pip install matplotlib "
                f"({_one_line(exc)})"
            ) from None
        except (OSError, ValueError) as exc:
            raise _UsageError(f"cannot write the report: {_one_line(exc)}") from None
        print(f"Detector ROC AUC (0.5 is ideal): {report.detection['auc']:.4f}")
        pngs = sorted(path.name for name, path in paths.items() if name != "html")
        print(f"Wrote {paths['html']} and {', '.join(pngs)} to {args.report}")
    return 0


# ------------------------------------------------------------------ parser


_EPILOG = """\
examples:
  sklearn-gen demo
  sklearn-gen fit real.csv --model tvae --epochs 300 -o model.joblib
  sklearn-gen sample model.joblib -n 100000 -o synthetic.csv --seed 0
  sklearn-gen evaluate real.csv synthetic.csv --report report/

Tables are CSV, or parquet when named *.parquet or *.pq (pip install pyarrow).
"""

_FIT_EPILOG = """\
examples:
  sklearn-gen fit adult.csv --model tvae --epochs 300 -o model.joblib
  sklearn-gen fit adult.parquet --model ctgan --target income -o ctgan.joblib
  sklearn-gen fit adult.csv --model tvae --param batch_size=1000 \\
      --param compress_dims="(256, 256)" --device cuda -o model.joblib

--param takes any constructor parameter of the model (see its documentation);
the value is read as a Python literal (1e-3, (64, 64), None, True) or else as
text. --target COLUMN fits the model with that column as y: its samples then
carry it as their last column and it can be conditioned on.

A model file ending in .sgen is written with sklearn_gen.save_generator: a format
whose loading runs no code from the file (share models this way). Any other name
is a joblib pickle: load those only from sources you trust.
"""

_SAMPLE_EPILOG = """\
examples:
  sklearn-gen sample model.joblib -n 100000 -o synthetic.csv
  sklearn-gen sample model.joblib -n 1000 -o rows.parquet --seed 0
  sklearn-gen sample model.joblib -n 10000000 -o big.parquet --batch-rows 200000
  sklearn-gen sample model.joblib -n 500 -o older.csv \\
      --condition age=60 --condition workclass=Private

--condition COLUMN=VALUE fixes a column in every row; the value is read as the
column's kind in the model (number, whole number, category, true/false, date).
A category matches exactly, or else ignoring surrounding spaces and case when
only one category fits. Rows are generated and written --batch-rows at a
time (CSV appended, one parquet row group per batch), so any -n fits in memory;
an output named *.csv.gz is gzip-compressed.
"""

_EVALUATE_EPILOG = """\
examples:
  sklearn-gen evaluate real.csv synthetic.csv
  sklearn-gen evaluate test.parquet synthetic.parquet --target income \\
      --report out/

Prints SDMetrics' quality score (Column Shapes, Column Pair Trends). --target adds
machine-learning efficacy (train on synthetic, test on real). --report DIR writes
report.html (self-contained) and its plots as PNG files: distributions, pair
differences, the ROC curve of a real-vs-synthetic detector and what gives the
synthetic rows away.
"""

_DEMO_EPILOG = """\
examples:
  sklearn-gen demo
  sklearn-gen demo --epochs 20 --rows 1000 -o demo.csv --device cpu
"""


def _add_training_arguments(parser, *, epochs_default, verbose_default, seed_default):
    """--epochs, --batch-size, --device, --seed, --verbose (None: the model's)."""
    default_text = "the model's" if epochs_default is None else "%(default)s"
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=epochs_default,
        metavar="N",
        help=f"training epochs (default: {default_text})",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        default=None,
        help="training batch size (default: the model's)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help='torch device: "auto" (CUDA when available), "cpu", "cuda", ... '
        "(default: the model's, auto)",
    )
    parser.add_argument(
        "--seed",
        type=_non_negative_int,
        default=seed_default,
        help="random_state of the fit (default: 0)",
    )
    verbose_text = (
        "1 on a terminal, else 0" if verbose_default is None else "%(default)s"
    )
    parser.add_argument(
        "--verbose",
        type=_non_negative_int,
        metavar="LEVEL",
        default=verbose_default,
        help=f"0: silent, 1: progress bar on stderr (default: {verbose_text})",
    )


def _add_output(parser, default, what):
    parser.add_argument(
        "-o",
        "--output",
        default=default,
        metavar="FILE",
        help=f"{what} (default: %(default)s)",
    )


def _build_parser():
    generators = _generators()
    parser = _ArgumentParser(
        prog="sklearn-gen",
        description=textwrap.fill(
            "Deep generative models for tabular data as scikit-learn estimators: "
            "fit, sample and evaluate synthetic tables."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, help, description, epilog):
        return commands.add_parser(
            name, help=help, description=textwrap.fill(description), epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip

    demo = command(
        "demo",
        "fit a TVAE on the bundled Adult table, write synthetic rows, print quality",
        "Fit TVAEGenerator on the Adult census table shipped with the package, "
        "sample synthetic rows into a CSV and print the SDMetrics quality score.",
        _DEMO_EPILOG,
    )
    _add_training_arguments(
        demo, epochs_default=DEMO_EPOCHS, verbose_default=1, seed_default=0
    )
    demo.add_argument(
        "--rows",
        type=_positive_int,
        default=None,
        help="synthetic rows to write (default: as many as the training table)",
    )
    _add_output(demo, "synthetic_adult.csv", "CSV or parquet file for the rows")
    demo.add_argument(
        "--model", type=_model_class, default="tvae", help=argparse.SUPPRESS
    )
    # For tests and quick runs: train on a random subset of the rows.
    demo.add_argument("--max-train-rows", type=_positive_int, help=argparse.SUPPRESS)
    demo.set_defaults(handler=_cmd_demo, aliases=())

    fit = command(
        "fit",
        "fit a generator on a CSV or parquet table and save it with joblib",
        "Fit a generator on a table (CSV, or parquet when named *.parquet / *.pq) "
        "and save the fitted model with joblib.",
        _FIT_EPILOG,
    )
    fit.add_argument(
        "data",
        nargs="?",
        metavar="DATA",
        help="the table: CSV with a header row, or parquet",
    )
    fit.add_argument("--data", dest="data_option", help=argparse.SUPPRESS)
    fit.add_argument(
        "--model",
        type=_model_class,
        default="tvae",
        help=f"generator: {', '.join(sorted(generators))} (default: tvae)",
    )
    fit.add_argument(
        "--target",
        metavar="COLUMN",
        help="fit with this column as y (a label to condition on)",
    )
    fit.add_argument(
        "--param",
        action="append",
        type=_assignment,
        metavar="NAME=VALUE",
        help="any constructor parameter of the model; repeatable",
    )
    _add_training_arguments(
        fit, epochs_default=None, verbose_default=None, seed_default=None
    )
    _add_output(
        fit, "model.joblib", "where to save the fitted model (.sgen: the safe format)"
    )
    fit.set_defaults(handler=_cmd_fit, aliases=(("data", "data_option", "DATA"),))

    sample = command(
        "sample",
        "sample rows from a saved generator into a CSV or parquet file",
        "Load a generator saved by `sklearn-gen fit` and write sampled rows (CSV, "
        "or parquet when the output is named *.parquet / *.pq).",
        _SAMPLE_EPILOG,
    )
    sample.add_argument(
        "model", nargs="?", metavar="MODEL", help="model file written by `fit`"
    )
    sample.add_argument("--model", dest="model_option", help=argparse.SUPPRESS)
    sample.add_argument(
        "-n",
        "--n-samples",
        dest="n_samples",
        type=_positive_int,
        metavar="N",
        default=None,
        help="number of rows (default: as many as the training table)",
    )
    _add_output(sample, "synthetic.csv", "CSV or parquet file for the rows")
    sample.add_argument(
        "--condition",
        action="append",
        type=_assignment,
        metavar="COLUMN=VALUE",
        help="fix a column's value in every row; repeatable",
    )
    sample.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        help="random_state of the sample: the same seed gives the same rows "
        "(default: fresh rows each run)",
    )
    sample.add_argument(
        "--batch-rows",
        type=_positive_int,
        metavar="N",
        default=100_000,
        help="rows generated and written at a time; memory grows with it, not "
        "with -n (default: %(default)s)",
    )
    sample.add_argument(
        "--verbose",
        type=_non_negative_int,
        metavar="LEVEL",
        default=None,
        help="0: silent, 1: progress bar on stderr (default: 1 on a terminal, "
        "else 0)",
    )
    sample.set_defaults(
        handler=_cmd_sample, aliases=(("model", "model_option", "MODEL"),)
    )

    evaluate = command(
        "evaluate",
        "score a synthetic table against a real one; optionally write a report",
        "Print the SDMetrics QualityReport score (Column Shapes and Column Pair "
        "Trends) of a synthetic table against the real table.",
        _EVALUATE_EPILOG,
    )
    evaluate.add_argument("real", nargs="?", metavar="REAL", help="table of real rows")
    evaluate.add_argument(
        "synthetic", nargs="?", metavar="SYNTHETIC", help="table of synthetic rows"
    )
    evaluate.add_argument("--real", dest="real_option", help=argparse.SUPPRESS)
    evaluate.add_argument(
        "--synthetic", dest="synthetic_option", help=argparse.SUPPRESS
    )
    evaluate.add_argument(
        "--report",
        metavar="DIR",
        help="write report.html and its PNG plots into this directory",
    )
    evaluate.add_argument(
        "--target",
        metavar="COLUMN",
        help="a label column: adds machine-learning efficacy (train synthetic, "
        "test real)",
    )
    evaluate.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seed of the report's subsampling and models (default: %(default)s)",
    )
    evaluate.set_defaults(
        handler=_cmd_evaluate,
        aliases=(
            ("real", "real_option", "REAL"),
            ("synthetic", "synthetic_option", "SYNTHETIC"),
        ),
    )
    return parser, {
        "demo": demo, "fit": fit, "sample": sample, "evaluate": evaluate,
    }  # fmt: skip


def _resolve_aliases(args, subparser):
    """Fold the old ``--data``/``--model``/``--real``/``--synthetic`` spellings."""
    missing = []
    for name, option, metavar in args.aliases:
        positional, spelled = getattr(args, name), getattr(args, option)
        if positional is not None and spelled is not None and positional != spelled:
            subparser.error(f"{metavar} is given twice ({positional} and {spelled})")
        if positional is None:
            setattr(args, name, spelled)
        if getattr(args, name) is None:
            missing.append(metavar)
    if missing:
        subparser.error(f"the following arguments are required: {', '.join(missing)}")


def _version():
    try:
        from importlib.metadata import version

        return f"sklearn-gen {version('sklearn_gen')}"
    except Exception:  # not installed (running from a source tree)
        return "sklearn-gen (not installed)"


def main(argv=None):
    """Run the ``sklearn-gen`` command line.

    Commands: ``demo`` (fit a TVAE on the bundled Adult table), ``fit DATA``
    (save a fitted generator with joblib), ``sample MODEL`` (write rows,
    optionally with ``--condition COLUMN=VALUE``) and ``evaluate REAL
    SYNTHETIC`` (quality score, optionally ``--report DIR``). Tables are CSV,
    or parquet when their name ends in ``.parquet`` or ``.pq``.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``sys.argv[1:]`` if None.

    Returns
    -------
    status : int
        0 on success, 1 when the input cannot be used (a one-line message
        goes to stderr). Invalid arguments exit with status 2 (``SystemExit``),
        as argparse does, also with a one-line message.

    Examples
    --------
    >>> from sklearn_gen.cli import main
    >>> main(["evaluate", "no-such-real.csv", "no-such-synthetic.csv"])
    1
    """
    parser, subparsers = _build_parser()
    args = parser.parse_args(argv)
    _resolve_aliases(args, subparsers[args.command])
    try:
        return args.handler(args)
    except _UsageError as exc:
        print(f"sklearn-gen {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sklearn-gen {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
