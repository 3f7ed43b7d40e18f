"""A report on a synthetic table: scores, plots and one self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
import numbers
from functools import cached_property
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ._explain import (
    _as_float,
    _category_codes,
    _check_tables,
    _column_kinds,
    _subsample,
    explain_detection,
)
from ._quality import _as_frame, quality_score

__all__ = ["SyntheticReport"]

#: Bins of a numeric column in a contingency table, as in SDMetrics' QualityReport.
#: (np.digitize gives levels 0 to bins + 1.)
_CONTINGENCY_BINS = 10

#: Nanoseconds per day: datetimes to matplotlib's date numbers.
_NS_PER_DAY = 86_400e9

#: The PNG files ``save`` writes, in the order of the HTML page.
_PLOTS = ("distributions", "pair_differences", "roc", "detectability")


# ---------------------------------------------------------------------------
# Column pairs over ALL pairs (SDMetrics' QualityReport skips weak ones).
# ---------------------------------------------------------------------------


def _discretised(real_column, synthetic_column, kind):
    """Integer levels of a column in both tables, and the number of levels.

    As SDMetrics' *Column Pair Trends* property (which the QualityReport and
    :func:`~sklearn_gen.metrics.column_pair_trends_score` use) does it:
    numbers fall in 10 equal-width bins of *each table's own* range
    (``np.digitize`` on ``np.histogram_bin_edges``, so a missing value and
    the maximum share the level after the last edge); categories are coded
    over both tables, a missing value being one more level.
    """
    if kind == "categorical":
        real_codes, synthetic_codes, n = _category_codes(real_column, synthetic_column)
        real_codes = np.where(real_codes < 0, n, real_codes)
        synthetic_codes = np.where(synthetic_codes < 0, n, synthetic_codes)
        return real_codes, synthetic_codes, n + 1
    levels = []
    for column in (real_column, synthetic_column):
        values = _as_float(column, kind)
        finite = values[~np.isnan(values)]
        if len(finite) == 0:
            levels.append(np.zeros(len(values), dtype=np.int64))
            continue
        edges = np.histogram_bin_edges(finite, bins=_CONTINGENCY_BINS)
        levels.append(np.digitize(values, edges))
    return levels[0], levels[1], _CONTINGENCY_BINS + 2


def _joint_counts(a, b, n_b, n_levels):
    """Counts of each (a, b) level pair as a 2-D array."""
    counts = np.bincount(a * n_b + b, minlength=n_levels * n_b)
    return counts.reshape(n_levels, n_b).astype(float)


def _cramers_v(table):
    """Cramér's V of a contingency table (empty rows and columns dropped)."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return np.nan
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))


def _pearson(x, y):
    """Pearson correlation over the rows where both are present; NaN if constant."""
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return np.nan
    return float(np.corrcoef(x, y)[0, 1])


def _pair_table(real, synthetic, kinds):
    """Correlation / association of every column pair, real and synthetic.

    Two numeric (or datetime) columns: Pearson correlation, and SDMetrics'
    CorrelationSimilarity ``1 - |r_real - r_synthetic| / 2``. Any other pair:
    Cramér's V of the contingency table (numbers in 10 bins, see
    :func:`_discretised`), and SDMetrics' ContingencySimilarity ``1 - TVD`` of
    the two normalised tables. The scores are those of SDMetrics' *Column
    Pair Trends* with no threshold, so their mean is
    ``column_pair_trends_score(real, synthetic, all_pairs=True)``.
    """
    numeric = {
        name: (_as_float(real[name], kind), _as_float(synthetic[name], kind))
        for name, kind in kinds.items()
        if kind != "categorical"
    }
    levels = {
        name: _discretised(real[name], synthetic[name], kind)
        for name, kind in kinds.items()
    }
    rows = []
    for first, second in combinations(list(real.columns), 2):
        if first in numeric and second in numeric:
            real_value = _pearson(numeric[first][0], numeric[second][0])
            synthetic_value = _pearson(numeric[first][1], numeric[second][1])
            score = 1 - abs(real_value - synthetic_value) / 2
            metric, measure = "CorrelationSimilarity", "pearson"
        else:
            real_a, synthetic_a, n_a = levels[first]
            real_b, synthetic_b, n_b = levels[second]
            real_table = _joint_counts(real_a, real_b, n_b, n_a)
            synthetic_table = _joint_counts(synthetic_a, synthetic_b, n_b, n_a)
            real_value = _cramers_v(real_table)
            synthetic_value = _cramers_v(synthetic_table)
            score = (
                1
                - 0.5
                * np.abs(
                    real_table / real_table.sum()
                    - synthetic_table / synthetic_table.sum()
                ).sum()
            )
            metric, measure = "ContingencySimilarity", "cramers_v"
        rows.append(
            {
                "column_1": first,
                "column_2": second,
                "metric": metric,
                "measure": measure,
                "real": real_value,
                "synthetic": synthetic_value,
                "difference": synthetic_value - real_value,
                "score": float(score),
            }
        )
    columns = [
        "column_1", "column_2", "metric", "measure", "real", "synthetic",
        "difference", "score",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------
# Plot helpers (matplotlib is imported only when a plot is asked for).
# ---------------------------------------------------------------------------


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "SyntheticReport's plots need matplotlib: pip install matplotlib"
        ) from exc
    return plt


_REAL_COLOR = "#1f77b4"
_SYNTHETIC_COLOR = "#ff7f0e"


def _short(label, width=18):
    text = str(label).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def _plot_numeric(ax, real_values, synthetic_values, bins):
    real_values = real_values[~np.isnan(real_values)]
    synthetic_values = synthetic_values[~np.isnan(synthetic_values)]
    both = np.concatenate([real_values, synthetic_values])
    if len(both) == 0:
        ax.text(0.5, 0.5, "all missing", ha="center", va="center")
        return
    low, high = np.percentile(both, [0.5, 99.5])
    if low == high:
        low, high = both.min() - 0.5, both.max() + 0.5
    edges = np.linspace(low, high, bins + 1)
    for values, color, label in (
        (real_values, _REAL_COLOR, "real"),
        (synthetic_values, _SYNTHETIC_COLOR, "synthetic"),
    ):
        if len(values):
            ax.hist(
                np.clip(values, low, high), bins=edges, density=True,
                histtype="stepfilled", alpha=0.45, color=color, label=label,
            )  # fmt: skip


def _plot_categorical(ax, real_column, synthetic_column, max_categories):
    real_share = (
        real_column.astype(object).fillna("<missing>").value_counts(normalize=True)
    )
    synthetic_share = (
        synthetic_column.astype(object).fillna("<missing>").value_counts(normalize=True)
    )
    order = real_share.index.union(synthetic_share.index, sort=False)
    real_share = real_share.reindex(order, fill_value=0.0)
    synthetic_share = synthetic_share.reindex(order, fill_value=0.0)
    ranking = (real_share + synthetic_share).sort_values(ascending=False, kind="stable")
    shown = list(ranking.index[:max_categories])
    real_values = list(real_share[shown])
    synthetic_values = list(synthetic_share[shown])
    labels = [_short(label) for label in shown]
    if len(ranking) > max_categories:
        rest = ranking.index[max_categories:]
        real_values.append(real_share[rest].sum())
        synthetic_values.append(synthetic_share[rest].sum())
        labels.append(f"other ({len(rest)})")
    positions = np.arange(len(labels))
    ax.barh(positions - 0.2, real_values, height=0.4, color=_REAL_COLOR, label="real")
    ax.barh(
        positions + 0.2, synthetic_values, height=0.4, color=_SYNTHETIC_COLOR,
        label="synthetic",
    )  # fmt: skip
    ax.set_yticks(positions, labels, fontsize=7)
    ax.invert_yaxis()


def _figure_png(figure, dpi):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.4; }
h1, h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; }
img { max-width: 100%; height: auto; display: block; margin: 1em 0; }
.note { color: #555; font-size: 0.9em; }
"""


class SyntheticReport:
    """A report on how well a synthetic table imitates a real one.

    Everything is computed lazily (on first access) from at most ``max_rows``
    rows of each table, drawn with ``random_state``, so that a report on a
    large table costs seconds, not minutes; :meth:`generate` computes it all
    at once. The report gathers:

    - :attr:`summary`: every metric of
      :func:`~sklearn_gen.metrics.evaluate_synthetic` that applies;
    - :attr:`column_scores`: per column, the SDMetrics shape score
      (KSComplement for numbers and datetimes, TVComplement for categories)
      and how detectable the column is (see :func:`explain_detection`);
    - :attr:`pair_scores`: per column pair (all of them, unlike SDMetrics'
      QualityReport, which skips weakly related pairs), the real and synthetic
      correlation or association and the pair-trend score;
    - :attr:`detection`: the ROC curve and AUC of a gradient-boosting
      detector of synthetic rows, with :attr:`feature_importances` and
      :attr:`pair_detection`, the columns and pairs that give the synthetic
      rows away, most telling first.

    The ``plot_*`` methods draw them with matplotlib and :meth:`save` writes
    the PNG files and one self-contained HTML page.

    Parameters
    ----------
    real : DataFrame or ndarray of shape (n_samples, n_columns)
        The real table (held-out rows are the fairest comparison).
    synthetic : DataFrame or ndarray of shape (n_synthetic, n_columns)
        The synthetic table, with the same columns as ``real`` (in any order).
    train : DataFrame, default=None
        The rows the generator was trained on. Passed on to
        :func:`~sklearn_gen.metrics.evaluate_synthetic` for the privacy
        metrics (distance to closest record, copies of training rows).
    target : str, default=None
        A target column, for the machine-learning efficacy metrics (train on
        synthetic, test on real).
    schema : list of ColumnSchema, default=None
        Column kinds, e.g. ``generator.encoder_.schema_``. Inferred from
        ``real`` when None.
    random_state : int, default=0
        Seeds the subsampling, the detector and every randomised metric: the
        report is the same for the same tables and seed.
    max_rows : int or None, default=20000
        At most this many rows of each table are used. None uses every row.
    n_threads : int or None, default=None
        Threads of the native thread pools (OpenMP, BLAS) while the detector
        and the metrics run, through ``threadpoolctl``. None keeps the current
        setting; 1 is much faster on a machine whose cores are busy. The
        results do not depend on it.

    Attributes
    ----------
    real_sample : DataFrame
        The rows of ``real`` the report uses (at most ``max_rows``).
    synthetic_sample : DataFrame
        The rows of ``synthetic`` the report uses, with ``real``'s column order.
    kinds : dict
        ``"numeric"``, ``"datetime"`` or ``"categorical"`` for each column.

    See Also
    --------
    explain_detection : the detectability ranking on its own.
    quality_score : SDMetrics' QualityReport score.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_gen import TVAEGenerator
    >>> from sklearn_gen.datasets import load_adult
    >>> from sklearn_gen.metrics import SyntheticReport
    >>> df = load_adult().iloc[:1000]
    >>> gen = TVAEGenerator(epochs=1, random_state=0).fit(df)
    >>> report = SyntheticReport.from_generator(gen, df, max_rows=500, n_threads=1)
    >>> bool(report.detection["auc"] > 0.5)
    True
    >>> report.feature_importances.columns.tolist()[:3]
    ['importance', 'importance_std', 'column_auc']
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     paths = report.save(directory)
    ...     sorted(paths)
    ['detectability', 'distributions', 'html', 'pair_differences', 'roc']
    """

    def __init__(
        self,
        real,
        synthetic,
        *,
        train=None,
        target=None,
        schema=None,
        random_state=0,
        max_rows=20000,
        n_threads=None,
    ):
        self.real = real
        self.synthetic = synthetic
        self.train = train
        self.target = target
        self.schema = schema
        self.random_state = random_state
        self.max_rows = max_rows
        self.n_threads = n_threads

        real_frame, synthetic_frame = _check_tables(real, synthetic)
        if target is not None and target not in real_frame.columns:
            raise ValueError(
                f"target {target!r} is not a column of real; columns: "
                f"{list(real_frame.columns)}."
            )
        rng = check_random_state(random_state)
        self._seed = int(rng.randint(np.iinfo(np.int32).max))
        # evaluate_synthetic gets the user's integer seed itself, so that the
        # summary is evaluate_synthetic(real_sample, synthetic_sample, ...).
        self._metric_seed = (
            int(random_state) if isinstance(random_state, numbers.Integral)
            else self._seed
        )  # fmt: skip
        self.real_sample = _subsample(real_frame, max_rows, rng)
        self.synthetic_sample = _subsample(synthetic_frame, max_rows, rng)
        self.kinds = _column_kinds(self.real_sample, schema)

    # ------------------------------------------------------------ constructors

    @classmethod
    def from_generator(
        cls, generator, X, y=None, *, n_samples=None, random_state=0, **kwargs
    ):
        """A report on a fitted generator's sample against real rows ``X``.

        Draws ``len(X)`` rows (or ``n_samples``) with ``random_state`` and uses
        the generator's schema. When the generator was fitted with a target,
        pass ``y``: it becomes a column of both tables and the report's
        ``target``.

        Parameters
        ----------
        generator : fitted generator
            E.g. a :class:`~sklearn_gen.TVAEGenerator`.
        X : DataFrame or ndarray of shape (n_samples, n_features)
            Real rows, ideally held out from the generator's training.
        y : array-like of shape (n_samples,), default=None
            The real target, when the generator was fitted with one.
        n_samples : int, default=None
            Number of synthetic rows; ``len(X)`` when None.
        random_state : int, default=0
            Seed of the sample and of the report.
        **kwargs
            Other parameters of :class:`SyntheticReport` (``train``,
            ``max_rows``, ``n_threads``).

        Returns
        -------
        report : SyntheticReport

        Examples
        --------
        >>> from sklearn_gen import TVAEGenerator
        >>> from sklearn_gen.datasets import load_adult
        >>> from sklearn_gen.metrics import SyntheticReport
        >>> df = load_adult().iloc[:600]
        >>> X, y = df.drop(columns="income"), df["income"]
        >>> gen = TVAEGenerator(epochs=1, random_state=0).fit(X, y)
        >>> report = SyntheticReport.from_generator(gen, X, y, n_threads=1)
        >>> report.target, report.synthetic_sample.shape
        ('income', (600, 15))
        """
        real = _as_frame(X, argname="X").reset_index(drop=True)
        n_samples = len(real) if n_samples is None else n_samples
        synthetic = generator.sample(n_samples, random_state=random_state)
        target_name = getattr(generator, "target_name_", None)
        synthetic_y = None
        if isinstance(synthetic, tuple):
            synthetic, synthetic_y = synthetic
        if not isinstance(synthetic, pd.DataFrame):
            synthetic = pd.DataFrame(synthetic, columns=real.columns)
            synthetic = synthetic.astype(real.dtypes.to_dict(), errors="ignore")
        schema = generator.encoder_.schema_
        target = kwargs.pop("target", None)
        if synthetic_y is not None and y is not None:
            real = real.copy()
            real[target_name] = np.asarray(y)
            synthetic = synthetic.copy()
            synthetic[target_name] = np.asarray(synthetic_y)
            target = target_name if target is None else target
        else:
            schema = [column for column in schema if column.name != target_name]
        return cls(
            real, synthetic, schema=schema, target=target, random_state=random_state,
            **kwargs,
        )  # fmt: skip

    def generate(self):
        """Compute every table of the report now (they are cached).

        Returns
        -------
        self : SyntheticReport
        """
        for name in (
            "summary", "column_scores", "pair_scores", "detection",
            "feature_importances", "pair_detection",
        ):  # fmt: skip
            getattr(self, name)
        return self

    # ----------------------------------------------------------------- tables

    @cached_property
    def _quality(self):
        return quality_score(
            self.real_sample,
            self.synthetic_sample,
            schema=self.schema,
            return_report=True,
        )

    @cached_property
    def _explanation(self):
        return explain_detection(
            self.real_sample,
            self.synthetic_sample,
            schema=self.schema,
            random_state=self._seed,
            max_rows=None,
            n_threads=self.n_threads,
        )

    @cached_property
    def summary(self):
        """Every metric of :func:`~sklearn_gen.metrics.evaluate_synthetic`.

        A DataFrame indexed by metric name with one column, ``score``:
        ``evaluate_synthetic(real_sample, synthetic_sample, train=train,
        target=target, schema=schema, random_state=random_state)``.
        """
        try:
            from . import evaluate_synthetic
        except ImportError as exc:
            raise ImportError(
                "SyntheticReport.summary needs sklearn_gen.metrics.evaluate_synthetic, "
                "which this installation lacks."
            ) from exc
        with threadpool_limits(limits=self.n_threads):
            values = evaluate_synthetic(
                self.real_sample,
                self.synthetic_sample,
                train=self.train,
                target=self.target,
                schema=self.schema,
                random_state=self._metric_seed,
                # The report's rows are already at most max_rows; None keeps
                # the k-NN metrics at their own default size.
                max_rows=None,
            )
        frame = pd.Series(values, dtype=float).to_frame("score")
        frame.index.name = "metric"
        return frame

    @cached_property
    def quality(self):
        """The SDMetrics QualityReport overall score of the report's rows (float)."""
        return float(self._quality[0])

    @cached_property
    def column_scores(self):
        """Per-column scores, one row per column in the data's order.

        Columns: ``kind``, ``metric`` (KSComplement or TVComplement),
        ``shape_score`` (SDMetrics Column Shapes, 1 is a perfect match),
        ``detection_auc`` (AUC of a detector that sees only this column, 0.5
        is ideal) and ``importance`` (drop of the full detector's AUC when the
        column is shuffled, 0 is ideal).
        """
        details = self._quality[1].get_details("Column Shapes")
        by_key = details.set_index("Column")
        explanation = self._explanation.columns
        rows = []
        for name in self.real_sample.columns:
            key = name if isinstance(name, str) else str(name)
            rows.append(
                {
                    "column": name,
                    "kind": self.kinds[name],
                    "metric": by_key["Metric"].get(key, np.nan),
                    "shape_score": float(by_key["Score"].get(key, np.nan)),
                    "detection_auc": float(explanation.loc[name, "column_auc"]),
                    "importance": float(explanation.loc[name, "importance"]),
                }
            )
        return pd.DataFrame(rows).set_index("column")

    @cached_property
    def pair_scores(self):
        """Correlation / association of every column pair, real vs synthetic.

        One row per pair: ``column_1``, ``column_2``, ``metric``
        (CorrelationSimilarity for two numeric columns, ContingencySimilarity
        otherwise, numbers in 10 bins), ``measure`` (``"pearson"`` or
        ``"cramers_v"``), its ``real`` and ``synthetic`` values, their
        ``difference`` (synthetic - real) and the pair-trend ``score`` (1 is a
        perfect match). Unlike SDMetrics' QualityReport since 0.27, no pair is
        skipped for a weak real association.
        """
        return _pair_table(self.real_sample, self.synthetic_sample, self.kinds)

    @property
    def pair_trends(self):
        """Mean pair-trend score over all column pairs (float)."""
        return float(self.pair_scores["score"].mean())

    @cached_property
    def detection(self):
        """The detector's ROC curve and AUC.

        A dict with ``auc`` (out-of-fold ROC AUC, 0.5 is ideal), ``roc`` (a
        DataFrame of ``fpr``, ``tpr``, ``threshold``), ``n_real`` and
        ``n_synthetic`` (rows used).
        """
        explanation = self._explanation
        return {
            "auc": explanation.auc,
            "roc": explanation.roc,
            "n_real": explanation.n_real,
            "n_synthetic": explanation.n_synthetic,
        }

    @cached_property
    def feature_importances(self):
        """Columns ranked by how much they let the detector tell synthetic rows apart.

        The ``columns`` table of :func:`explain_detection`: ``importance``,
        ``importance_std``, ``column_auc``, ``rank``, ``column_auc_rank``,
        indexed by column, most important first.
        """
        return self._explanation.columns

    @cached_property
    def pair_detection(self):
        """Column pairs ranked by the AUC of a detector that sees only the pair.

        The ``pairs`` table of :func:`explain_detection`: ``column_1``,
        ``column_2``, ``pair_auc`` and ``lift`` (pair AUC minus the larger of
        its columns' own AUCs).
        """
        return self._explanation.pairs

    # ------------------------------------------------------------------ plots

    def plot_distributions(self, columns=None, *, n_cols=4, bins=30, max_categories=10):
        """Each column's distribution, real vs synthetic, as small multiples.

        Numbers and datetimes as overlaid histograms (on the 0.5-99.5 %
        range of both tables), categories as paired horizontal bars of their
        shares (the ``max_categories`` most frequent, the rest pooled as
        "other"). Each title gives the column's shape score.

        Parameters
        ----------
        columns : list, default=None
            Columns to draw; all of them when None.
        n_cols : int, default=4
            Panels per row.
        bins : int, default=30
            Histogram bins.
        max_categories : int, default=10
            Categories drawn per categorical column.

        Returns
        -------
        figure : matplotlib Figure
        """
        plt = _pyplot()
        columns = list(self.real_sample.columns) if columns is None else list(columns)
        unknown = [c for c in columns if c not in self.kinds]
        if unknown:
            raise ValueError(f"Unknown columns {unknown}.")
        scores = self.column_scores["shape_score"]
        n_cols = max(1, min(n_cols, len(columns)))
        n_rows = -(-len(columns) // n_cols)
        figure, axes = plt.subplots(
            n_rows, n_cols, figsize=(3.4 * n_cols, 2.6 * n_rows), squeeze=False
        )
        for ax, name in zip(axes.flat, columns, strict=False):
            kind = self.kinds[name]
            if kind == "categorical":
                _plot_categorical(
                    ax, self.real_sample[name], self.synthetic_sample[name],
                    max_categories,
                )  # fmt: skip
            else:
                real_values = _as_float(self.real_sample[name], kind)
                synthetic_values = _as_float(self.synthetic_sample[name], kind)
                if kind == "datetime":
                    # Nanoseconds to matplotlib's dates (days since 1970-01-01).
                    real_values = real_values / _NS_PER_DAY
                    synthetic_values = synthetic_values / _NS_PER_DAY
                _plot_numeric(ax, real_values, synthetic_values, bins)
                if kind == "datetime":
                    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

                    locator = AutoDateLocator(maxticks=4)
                    ax.xaxis.set_major_locator(locator)
                    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
                ax.set_yticks([])
                ax.tick_params(axis="x", labelsize=7)
            ax.set_title(f"{_short(name, 24)}  (shape {scores[name]:.2f})", fontsize=9)
        for ax in axes.flat[len(columns) :]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="upper right", ncols=2, frameon=False)
        figure.suptitle("Column distributions: real vs synthetic", x=0.01, ha="left")
        figure.tight_layout(rect=(0, 0, 1, 0.97))
        return figure

    def _association_matrices(self):
        """Square matrices (real, synthetic) of the pair measures."""
        names = list(self.real_sample.columns)
        real = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
        synthetic = real.copy()
        for row in self.pair_scores.itertuples(index=False):
            for a, b in ((row.column_1, row.column_2), (row.column_2, row.column_1)):
                real.loc[a, b] = row.real
                synthetic.loc[a, b] = row.synthetic
        return real, synthetic

    def plot_pair_differences(self, *, annotate=None):
        """Heat map of synthetic minus real correlation / association.

        Pearson correlation for two numeric columns, Cramér's V otherwise
        (see :attr:`pair_scores`). 0 everywhere is a perfect match; red cells
        are relations the synthetic table overstates, blue ones it misses.

        Parameters
        ----------
        annotate : bool, default=None
            Write the values in the cells; by default when there are at most
            16 columns.

        Returns
        -------
        figure : matplotlib Figure
        """
        plt = _pyplot()
        real, synthetic = self._association_matrices()
        difference = (synthetic - real).to_numpy(dtype=float)
        names = [_short(name) for name in real.columns]
        n = len(names)
        annotate = n <= 16 if annotate is None else annotate
        size = max(4.0, 0.45 * n + 2.5)
        figure, ax = plt.subplots(figsize=(size + 1.2, size))
        image = ax.imshow(
            np.ma.masked_invalid(difference), cmap="RdBu_r", vmin=-1, vmax=1
        )
        ax.set_xticks(np.arange(n), names, rotation=90, fontsize=8)
        ax.set_yticks(np.arange(n), names, fontsize=8)
        if annotate:
            for i in range(n):
                for j in range(n):
                    if i != j and np.isfinite(difference[i, j]):
                        ax.text(
                            j, i, f"{difference[i, j]:+.2f}".replace("+0.00", "0"),
                            ha="center", va="center", fontsize=6,
                            color="white" if abs(difference[i, j]) > 0.6 else "black",
                        )  # fmt: skip
        figure.colorbar(image, ax=ax, shrink=0.8, label="synthetic - real")
        ax.set_title(
            "Difference of pairwise correlation (numeric pairs)\n"
            "and Cramér's V (other pairs)",
            fontsize=10,
        )
        figure.tight_layout()
        return figure

    def plot_roc(self):
        """ROC curve of the detector of synthetic rows (the diagonal is ideal).

        Returns
        -------
        figure : matplotlib Figure
        """
        plt = _pyplot()
        roc = self.detection["roc"]
        figure, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot(
            roc["fpr"], roc["tpr"], color=_SYNTHETIC_COLOR,
            label=f"detector (AUC = {self.detection['auc']:.3f})",
        )  # fmt: skip
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (0.5)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("real rows flagged synthetic (FPR)")
        ax.set_ylabel("synthetic rows flagged (TPR)")
        ax.set_title("Real vs synthetic detection (out-of-fold)", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        figure.tight_layout()
        return figure

    def plot_detectability(self, *, top=15):
        """Ranked bar charts: which columns and pairs give the synthetic rows away.

        Three panels: each column's permutation importance for the detector
        (with its standard deviation), each column's own detection AUC minus
        0.5, and the AUC of the best column pairs minus 0.5.

        Parameters
        ----------
        top : int, default=15
            Bars per panel.

        Returns
        -------
        figure : matplotlib Figure
        """
        plt = _pyplot()
        ranking = self.feature_importances.head(top)
        by_auc = self.feature_importances.sort_values(
            "column_auc", ascending=False, kind="stable"
        ).head(top)
        pairs = self.pair_detection.head(top)
        n_panels = 3 if len(pairs) else 2
        height = max(3.0, 0.3 * max(len(ranking), len(pairs)) + 1.2)
        figure, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, height))

        ax = axes[0]
        positions = np.arange(len(ranking))
        ax.barh(
            positions, ranking["importance"], xerr=ranking["importance_std"],
            color=_SYNTHETIC_COLOR,
        )  # fmt: skip
        ax.set_yticks(positions, [_short(c) for c in ranking.index], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("drop of detector AUC when shuffled")
        ax.set_title("Permutation importance", fontsize=10)

        ax = axes[1]
        positions = np.arange(len(by_auc))
        ax.barh(positions, by_auc["column_auc"] - 0.5, color=_REAL_COLOR)
        ax.set_yticks(positions, [_short(c) for c in by_auc.index], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("AUC - 0.5, detector on this column only")
        ax.set_title("Per-column detection", fontsize=10)

        if len(pairs):
            ax = axes[2]
            positions = np.arange(len(pairs))
            ax.barh(positions, pairs["pair_auc"] - 0.5, color="#2ca02c")
            labels = [
                f"{_short(a, 12)} × {_short(b, 12)}"
                for a, b in zip(pairs["column_1"], pairs["column_2"], strict=True)
            ]
            ax.set_yticks(positions, labels, fontsize=8)
            ax.invert_yaxis()
            ax.axvline(0, color="grey", linewidth=0.8)
            ax.set_xlabel("AUC - 0.5, detector on the pair only")
            ax.set_title("Column pairs", fontsize=10)
        from matplotlib.ticker import MaxNLocator

        for ax in axes:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.tick_params(axis="x", labelsize=8)
        figure.suptitle(
            f"What gives the synthetic rows away (detector AUC "
            f"{self.detection['auc']:.3f})",
            x=0.01, ha="left", fontsize=11,
        )  # fmt: skip
        figure.tight_layout()
        return figure

    # ----------------------------------------------------------------- output

    def _render_pngs(self, dpi):
        """PNG bytes of every plot (figures closed once rendered)."""
        plt = _pyplot()
        pngs = {}
        for name in _PLOTS:
            figure = getattr(self, f"plot_{name}")()
            try:
                pngs[name] = _figure_png(figure, dpi)
            finally:
                plt.close(figure)
        return pngs

    def _summary_or_note(self):
        try:
            return self.summary, None
        except ImportError as exc:
            return None, str(exc)

    def to_html(self, *, dpi=100):
        """The report as one self-contained HTML page.

        Images are embedded as base64 ``data:`` URIs and the styles inline, so
        the page references no other file and no network resource.

        Parameters
        ----------
        dpi : int, default=100
            Resolution of the embedded images.

        Returns
        -------
        page : str
        """
        return self._html(self._render_pngs(dpi))

    def _html(self, pngs):
        """The HTML page around already rendered PNG bytes."""
        summary, note = self._summary_or_note()
        escape = html.escape
        float_format = "{:.4f}".format

        def table(frame, index=True):
            return frame.to_html(
                index=index, float_format=float_format, border=0, na_rep="–"
            )

        def image(name, alt):
            data = base64.b64encode(pngs[name]).decode("ascii")
            return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'

        headline = pd.DataFrame(
            {
                "value": [
                    len(self.real_sample),
                    len(self.synthetic_sample),
                    self.real_sample.shape[1],
                    self.quality,
                    self.pair_trends,
                    self.detection["auc"],
                ]
            },
            index=[
                "real rows used",
                "synthetic rows used",
                "columns",
                "SDMetrics quality (QualityReport overall)",
                "column pair trends, all pairs (mean score)",
                "detector ROC AUC (0.5 is ideal)",
            ],
        )
        headline["value"] = headline["value"].astype(object)
        for label in ("real rows used", "synthetic rows used", "columns"):
            headline.loc[label, "value"] = int(headline.loc[label, "value"])
        worst_pairs = self.pair_scores.sort_values("score", kind="stable").head(15)
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>Synthetic data report</title>",
            f"<style>{_CSS}</style></head><body>",
            "<h1>Synthetic data report</h1>",
            '<p class="note">Generated by sklearn_gen.metrics.SyntheticReport '
            f"(random_state={escape(repr(self.random_state))}, "
            f"max_rows={escape(repr(self.max_rows))}).</p>",
            table(headline),
            "<h2>Metrics</h2>",
        ]
        if summary is not None:
            parts.append(table(summary))
        else:
            parts.append(f'<p class="note">{escape(note)}</p>')
        parts += [
            "<h2>Columns</h2>",
            '<p class="note">shape_score: SDMetrics KSComplement / TVComplement '
            "(1 is a perfect match); detection_auc: a detector that sees only the "
            "column (0.5 is ideal); importance: drop of the full detector's AUC when "
            "the column is shuffled.</p>",
            table(self.column_scores),
            image("distributions", "column distributions, real vs synthetic"),
            "<h2>Column pairs</h2>",
            '<p class="note">Every pair is scored (SDMetrics skips weakly related '
            "ones). The 15 pairs with the lowest pair-trend score:</p>",
            table(worst_pairs, index=False),
            image("pair_differences", "difference of the association matrices"),
            "<h2>Detection</h2>",
            '<p class="note">A gradient-boosting classifier trained to tell synthetic '
            "rows from real ones, out-of-fold. The rankings show where the generator "
            "falls short: columns whose shuffling costs the detector most, columns "
            "detectable on their own, and pairs (lift: pair AUC above the better of "
            "its two columns, a sign of a broken dependence).</p>",
            image("roc", "detection ROC curve"),
            image("detectability", "detectability rankings"),
            table(self.feature_importances),
            table(self.pair_detection, index=False),
            "</body></html>",
        ]
        return "\n".join(parts)

    def save(self, directory, *, dpi=100):
        """Write the plots as PNG files and the report as one HTML page.

        Parameters
        ----------
        directory : str or path-like
            Created if needed. Files: ``distributions.png``,
            ``pair_differences.png``, ``roc.png``, ``detectability.png`` and
            ``report.html`` (which embeds the same images and needs no other
            file).
        dpi : int, default=100
            Resolution of the images.

        Returns
        -------
        paths : dict
            ``{"distributions": Path, ..., "html": Path}``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        pngs = self._render_pngs(dpi)
        paths = {}
        for name, data in pngs.items():
            path = directory / f"{name}.png"
            path.write_bytes(data)
            paths[name] = path
        page = directory / "report.html"
        page.write_text(self._html(pngs), encoding="utf-8")
        paths["html"] = page
        return paths

    def __repr__(self):
        return (
            f"SyntheticReport(real={self.real_sample.shape[0]} rows, "
            f"synthetic={self.synthetic_sample.shape[0]} rows, "
            f"columns={self.real_sample.shape[1]}, random_state={self.random_state!r})"
        )
