"""The ``sklearn-gen`` command line: demo, fit, sample, evaluate.

Examples
--------
On a shell::

    sklearn-gen demo        # fit a TVAE on Adult, write synthetic_adult.csv
    sklearn-gen fit --data real.csv --model tvae --epochs 300 --output model.joblib
    sklearn-gen sample --model model.joblib -n 10000 --output synthetic.csv --seed 0
    sklearn-gen evaluate --real real.csv --synthetic synthetic.csv

From Python, ``main`` takes the arguments as a list and returns the exit status::

    from sklearn_gen.cli import main
    main(["evaluate", "--real", "real.csv", "--synthetic", "synthetic.csv"])
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]

#: Names accepted by ``--model`` and the public generator class each one builds.
MODELS = {"tvae": "TVAEGenerator"}

#: Epochs of the demo. The whole demo (fit on the 32,561 Adult rows, sample as many,
#: score) took 76 s wall time on an idle 2-core CPU with 100 epochs (quality 0.93).
DEMO_EPOCHS = 100


class _UsageError(Exception):
    """An error in the user's input, reported without a traceback."""


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


def _generator_class(model):
    """The generator class for a ``--model`` name (imported lazily: torch is slow)."""
    import sklearn_gen

    return getattr(sklearn_gen, MODELS[model])


def _read_csv(path):
    import pandas as pd

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise _UsageError(f"no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _UsageError(f"cannot read {path} as CSV: {exc}") from None


def _write_csv(frame, path):
    try:
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise _UsageError(f"cannot write {path}: {exc}") from None


def _print_quality(real, synthetic, schema=None, stream=None):
    """Print the SDMetrics quality score and its two properties; return the score."""
    from sklearn_gen.metrics import quality_score

    stream = sys.stdout if stream is None else stream
    score, report = quality_score(real, synthetic, schema=schema, return_report=True)
    print(f"Quality score (SDMetrics QualityReport): {score:.4f}", file=stream)
    for _, row in report.get_properties().iterrows():
        print(f"  {row['Property']}: {row['Score']:.4f}", file=stream)
    return score


def _fit_generator(args, data):
    cls = _generator_class(args.model)
    params = {
        "epochs": args.epochs,
        "device": args.device,
        "random_state": args.seed,
        "verbose": args.verbose,
    }
    if getattr(args, "batch_size", None) is not None:
        params["batch_size"] = args.batch_size
    generator = cls(**params)
    return generator.fit(data)


# ----------------------------------------------------------------- commands


def _cmd_demo(args):
    from sklearn_gen.datasets import load_adult

    start = time.perf_counter()
    real = load_adult()
    if args.max_train_rows is not None and args.max_train_rows < len(real):
        real = real.sample(n=args.max_train_rows, random_state=0).reset_index(drop=True)
    n_rows = len(real) if args.rows is None else args.rows
    print(
        f"Fitting TVAEGenerator(epochs={args.epochs}) on the Adult census table "
        f"({real.shape[0]} rows x {real.shape[1]} columns), device={args.device!r} ..."
    )
    generator = _fit_generator(args, real)
    fitted = time.perf_counter()
    print(f"Fitted in {fitted - start:.1f} s on {generator.device_}.")
    synthetic = generator.sample(n_rows, random_state=args.seed)
    _write_csv(synthetic, args.output)
    print(f"Wrote {len(synthetic)} synthetic rows to {args.output}")
    _print_quality(real, synthetic, schema=generator.encoder_.schema_)
    print(f"Total time: {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_fit(args):
    import joblib

    data = _read_csv(args.data)
    start = time.perf_counter()
    generator = _fit_generator(args, data)
    elapsed = time.perf_counter() - start
    try:
        joblib.dump(generator, args.output)
    except OSError as exc:
        raise _UsageError(f"cannot write {args.output}: {exc}") from None
    print(
        f"Fitted {type(generator).__name__} on {args.data} ({data.shape[0]} rows x "
        f"{data.shape[1]} columns) in {elapsed:.1f} s; saved to {args.output}"
    )
    return 0


def _cmd_sample(args):
    import joblib
    import numpy as np
    import pandas as pd

    try:
        generator = joblib.load(args.model)
    except FileNotFoundError:
        raise _UsageError(f"no such file: {args.model}") from None
    if not hasattr(generator, "sample"):
        raise _UsageError(f"{args.model} does not hold a fitted sklearn_gen generator")
    start = time.perf_counter()
    synthetic = generator.sample(args.n_samples, random_state=args.seed)
    elapsed = time.perf_counter() - start
    if isinstance(synthetic, tuple):  # fitted with a target: (X, y)
        X, y = synthetic
        name = getattr(generator, "target_name_", None) or getattr(y, "name", None)
        synthetic = pd.DataFrame(X).assign(**{str(name or "target"): np.asarray(y)})
    elif not isinstance(synthetic, pd.DataFrame):  # fitted on an array
        synthetic = pd.DataFrame(synthetic)
    _write_csv(synthetic, args.output)
    print(f"Wrote {len(synthetic)} rows to {args.output} in {elapsed:.1f} s")
    return 0


def _cmd_evaluate(args):
    real = _read_csv(args.real)
    synthetic = _read_csv(args.synthetic)
    try:
        _print_quality(real, synthetic)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    return 0


# ------------------------------------------------------------------- parser


def _add_training_arguments(parser, *, epochs_default, verbose_default):
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=epochs_default,
        help="training epochs (default: %(default)s)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help='torch device: "auto" (CUDA when available), "cpu", "cuda", ... '
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="random_state of the fit (and of the demo's sample) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--verbose",
        type=_non_negative_int,
        default=verbose_default,
        help="0: silent, 1: progress bar (default: %(default)s)",
    )


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-gen",
        description="Deep generative models for tabular data as scikit-learn "
        "estimators: fit, sample and evaluate synthetic tables.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="fit a TVAE on the bundled Adult table, write synthetic rows, "
        "print quality",
        description="Fit TVAEGenerator on the Adult census table shipped with the "
        "package, sample synthetic rows into a CSV and print the SDMetrics quality "
        "score.",
    )
    _add_training_arguments(demo, epochs_default=DEMO_EPOCHS, verbose_default=1)
    demo.add_argument(
        "--rows",
        type=_positive_int,
        default=None,
        help="synthetic rows to write (default: as many as the training table)",
    )
    demo.add_argument(
        "--output",
        default="synthetic_adult.csv",
        help="CSV file for the synthetic rows (default: %(default)s)",
    )
    demo.add_argument("--model", default="tvae", help=argparse.SUPPRESS)
    demo.add_argument("--batch-size", type=_positive_int, help=argparse.SUPPRESS)
    # For tests and quick runs: train on a random subset of the rows.
    demo.add_argument("--max-train-rows", type=_positive_int, help=argparse.SUPPRESS)
    demo.set_defaults(handler=_cmd_demo)

    fit = commands.add_parser(
        "fit",
        help="fit a generator on a CSV file and save it with joblib",
        description="Fit a generator on a CSV table and save the fitted model "
        "with joblib.",
    )
    fit.add_argument("--data", required=True, help="CSV file with a header row")
    fit.add_argument(
        "--model",
        choices=sorted(MODELS),
        default="tvae",
        help="generator family (default: %(default)s)",
    )
    _add_training_arguments(fit, epochs_default=300, verbose_default=1)
    fit.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="training batch size (default: the generator's)",
    )
    fit.add_argument(
        "--output",
        default="model.joblib",
        help="where to save the fitted model (default: %(default)s)",
    )
    fit.set_defaults(handler=_cmd_fit)

    sample = commands.add_parser(
        "sample",
        help="sample rows from a saved generator into a CSV file",
        description="Load a generator saved by `sklearn-gen fit` and write "
        "sampled rows.",
    )
    sample.add_argument("--model", required=True, help="model file written by `fit`")
    sample.add_argument(
        "-n",
        "--n-samples",
        dest="n_samples",
        type=_positive_int,
        required=True,
        help="number of rows",
    )
    sample.add_argument(
        "--output",
        default="synthetic.csv",
        help="CSV file for the rows (default: %(default)s)",
    )
    sample.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        help="random_state of the sample: the same seed gives the same rows "
        "(default: fresh rows each run)",
    )
    sample.set_defaults(handler=_cmd_sample)

    evaluate = commands.add_parser(
        "evaluate",
        help="print the SDMetrics quality score of a synthetic CSV against a real one",
        description="Print the SDMetrics QualityReport score (Column Shapes and Column "
        "Pair Trends) of a synthetic table against the real table.",
    )
    evaluate.add_argument("--real", required=True, help="CSV file of real rows")
    evaluate.add_argument(
        "--synthetic", required=True, help="CSV file of synthetic rows"
    )
    evaluate.set_defaults(handler=_cmd_evaluate)
    return parser


def _version():
    try:
        from importlib.metadata import version

        return f"sklearn-gen {version('sklearn_gen')}"
    except Exception:  # not installed (running from a source tree)
        return "sklearn-gen (not installed)"


def main(argv=None):
    """Run the ``sklearn-gen`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``sys.argv[1:]`` if None.

    Returns
    -------
    status : int
        0 on success, 1 when the input cannot be used (the message goes to
        stderr). Invalid arguments exit with status 2, as argparse does.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "model", None) not in (None, *MODELS) and args.command == "demo":
        parser.error(f"unknown model {args.model!r}; choose from {sorted(MODELS)}")
    try:
        return args.handler(args)
    except _UsageError as exc:
        print(f"sklearn-gen {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
