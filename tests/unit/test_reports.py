"""Tests for SyntheticReport and explain_detection, on real Adult rows."""

import re

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.metrics import SyntheticReport, explain_detection
from sklearn_gen.metrics._reports import _pair_table
from sklearn_gen.utils.discovery import all_generators

from ..conftest import make_generator

#: Rows per table: enough for stable rankings, fast on two busy cores.
N_ROWS = 800


@pytest.fixture(scope="module")
def real(adult_full):
    return adult_full.iloc[:N_ROWS].reset_index(drop=True)


@pytest.fixture(scope="module")
def other(adult_full):
    """Other real rows: a 'synthetic' table as good as a generator can get."""
    return adult_full.iloc[N_ROWS : 2 * N_ROWS].reset_index(drop=True)


@pytest.fixture(scope="module")
def aged(other):
    """Real rows from a generator that adds ten years to everyone."""
    return other.assign(age=other["age"] + 10)


@pytest.fixture(scope="module")
def shuffled_education(other):
    """Right marginals, but education no longer matches education-num."""
    rng = np.random.RandomState(0)
    return other.assign(education=rng.permutation(other["education"].to_numpy()))


@pytest.fixture(scope="module")
def report(real, aged):
    return SyntheticReport(real, aged, random_state=0, n_threads=1)


def test_shifted_column_ranks_first(real, aged):
    result = explain_detection(real, aged, random_state=0, top_pairs=3, n_threads=1)
    columns = result.columns
    assert columns.index[0] == "age"
    assert columns.loc["age", "rank"] == 1
    assert columns.loc["age", "column_auc_rank"] == 1
    assert columns.loc["age", "column_auc"] > 0.65
    # Everything else is real data: no other column is detectable on its own.
    assert columns.drop(index="age")["column_auc"].max() < 0.6
    assert result.auc > 0.65
    # Pairs are formed from the most important columns: age is in the best one.
    assert "age" in set(result.pairs.loc[0, ["column_1", "column_2"]])
    assert len(result.pairs) == 3


def test_broken_dependence_shows_in_pairs_not_columns(real, shuffled_education):
    result = explain_detection(
        real, shuffled_education, random_state=0, top_pairs=3, n_threads=1
    )
    columns = result.columns
    # The full detector relies on the two columns that no longer agree ...
    assert set(columns.index[:2]) == {"education", "education-num"}
    # ... while each column alone has the real marginal ...
    assert columns.loc["education", "column_auc"] < 0.6
    assert columns.loc["education-num", "column_auc"] < 0.6
    # ... and the pair gives it away.
    best = result.pairs.iloc[0]
    assert {best["column_1"], best["column_2"]} == {"education", "education-num"}
    assert best["pair_auc"] > 0.85
    assert best["lift"] > 0.3
    assert result.auc > 0.85


def test_identical_tables_are_undetectable(real):
    result = explain_detection(real, real, random_state=0, top_pairs=1, n_threads=1)
    # Copies share a fold, so a row is never judged against its own twin.
    assert result.auc == pytest.approx(0.5, abs=0.02)
    assert result.columns["importance"].abs().max() < 0.02
    assert result.columns["column_auc"].sub(0.5).abs().max() < 0.02


def test_real_rows_against_real_rows_are_hard_to_detect(real, other):
    result = explain_detection(real, other, random_state=0, top_pairs=0, n_threads=1)
    assert 0.4 < result.auc < 0.6
    assert result.pairs.empty


def test_explain_detection_is_deterministic(real, shuffled_education):
    kwargs = dict(random_state=3, top_pairs=1, max_rows=500, max_iter=30, n_threads=1)
    first = explain_detection(real, shuffled_education, **kwargs)
    second = explain_detection(real, shuffled_education, **kwargs)
    assert first.auc == second.auc
    pd.testing.assert_frame_equal(first.columns, second.columns)
    pd.testing.assert_frame_equal(first.pairs, second.pairs)
    pd.testing.assert_frame_equal(first.roc, second.roc)
    assert first.n_real == first.n_synthetic == 500


def test_unseen_categories_and_missing_values(real, other):
    synthetic = other.copy()
    synthetic.loc[:99, "workclass"] = "Astronaut"  # a category real never had
    synthetic.loc[100:199, "hours-per-week"] = np.nan
    result = explain_detection(
        real, synthetic, random_state=0, top_pairs=1, n_threads=1
    )
    assert set(result.columns.index[:2]) == {"workclass", "hours-per-week"}


def test_mismatched_columns_raise(real, other):
    with pytest.raises(ValueError, match=r"missing from synthetic: \['age'\]"):
        explain_detection(real, other.drop(columns="age"))
    with pytest.raises(ValueError, match=r"not in real: \['extra'\]"):
        SyntheticReport(real, other.assign(extra=1))
    with pytest.raises(ValueError, match="target 'label' is not a column"):
        SyntheticReport(real, other, target="label")
    with pytest.raises(ValueError, match="at least 2"):
        explain_detection(real, other.iloc[:1])


def test_pair_scores_cover_all_pairs_and_match_sdmetrics(report):
    from sklearn_gen.metrics import column_pair_trends_score

    pairs = report.pair_scores
    n = report.real_sample.shape[1]
    assert len(pairs) == n * (n - 1) // 2
    assert pairs["score"].between(0, 1).all()
    expected = column_pair_trends_score(report.real_sample, report.synthetic_sample)
    assert report.pair_trends == pytest.approx(expected, abs=1e-12)
    numeric = pairs.set_index(["column_1", "column_2"]).loc[("age", "fnlwgt")]
    assert numeric["metric"] == "CorrelationSimilarity"
    assert numeric["real"] == pytest.approx(
        report.real_sample["age"].corr(report.real_sample["fnlwgt"])
    )


def test_identical_tables_have_no_pair_differences(real):
    kinds = {name: "numeric" for name in real.select_dtypes("number")}
    kinds.update({name: "categorical" for name in real.select_dtypes("object")})
    pairs = _pair_table(real, real.iloc[::-1].reset_index(drop=True), kinds)
    assert np.allclose(pairs["difference"].fillna(0), 0)
    assert np.allclose(pairs["score"], 1)


def test_column_scores(report):
    scores = report.column_scores
    assert list(scores.index) == list(report.real_sample.columns)
    assert scores.loc["age", "metric"] == "KSComplement"
    assert scores.loc["workclass", "metric"] == "TVComplement"
    # The shifted column has the worst shape and is the most detectable.
    assert scores["shape_score"].idxmin() == "age"
    assert scores["detection_auc"].idxmax() == "age"
    assert report.feature_importances.index[0] == "age"
    assert report.detection["auc"] > 0.65


def test_summary_is_evaluate_synthetic(real, other):
    from threadpoolctl import threadpool_limits

    from sklearn_gen.metrics import evaluate_synthetic

    small = SyntheticReport(real.iloc[:300], other.iloc[:300], n_threads=1)
    with threadpool_limits(1):
        expected = evaluate_synthetic(real.iloc[:300], other.iloc[:300], random_state=0)
    summary = small.summary
    assert list(summary.columns) == ["score"]
    pd.testing.assert_series_equal(
        summary["score"], expected.astype(float), check_names=False
    )


def test_max_rows_subsamples_with_the_seed(real, other):
    first = SyntheticReport(real, other, max_rows=100, random_state=1)
    second = SyntheticReport(real, other, max_rows=100, random_state=1)
    assert first.real_sample.shape == (100, real.shape[1])
    pd.testing.assert_frame_equal(first.real_sample, second.real_sample)
    pd.testing.assert_frame_equal(first.synthetic_sample, second.synthetic_sample)
    third = SyntheticReport(real, other, max_rows=100, random_state=2)
    assert not first.real_sample.equals(third.real_sample)


@pytest.mark.parametrize(
    "Generator", [cls for _, cls in all_generators()], ids=lambda cls: cls.__name__
)
def test_from_generator_with_target(adult, Generator):
    df = adult.iloc[:300]
    X, y = df.drop(columns="income"), df["income"]
    gen = make_generator(Generator).fit(X, y)
    report = SyntheticReport.from_generator(gen, X, y, max_rows=None, n_threads=1)
    assert report.target == "income"
    assert report.synthetic_sample.shape == df.shape
    assert list(report.synthetic_sample.columns) == list(df.columns)
    assert report.kinds["income"] == "categorical"
    again = SyntheticReport.from_generator(gen, X, y, max_rows=None, n_threads=1)
    pd.testing.assert_frame_equal(report.synthetic_sample, again.synthetic_sample)
    # Without y, the target is not part of the report.
    plain = SyntheticReport.from_generator(gen, X, n_samples=100)
    assert plain.target is None
    assert list(plain.synthetic_sample.columns) == list(X.columns)
    assert len(plain.synthetic_sample) == 100


def test_plots_return_figures(report):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    for name in ("distributions", "pair_differences", "roc", "detectability"):
        figure = getattr(report, f"plot_{name}")()
        assert isinstance(figure, Figure)
        plt.close(figure)
    figure = report.plot_distributions(["age", "sex"], n_cols=2)
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 2
    plt.close(figure)
    with pytest.raises(ValueError, match="Unknown columns"):
        report.plot_distributions(["nope"])


def test_save_writes_self_contained_files(report, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_figures = len(plt.get_fignums())
    paths = report.save(tmp_path / "out", dpi=50)
    assert set(paths) == {
        "distributions", "pair_differences", "roc", "detectability", "html"
    }  # fmt: skip
    for name, path in paths.items():
        assert path.parent == tmp_path / "out"
        assert path.stat().st_size > 1000
        if name != "html":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # save closes the figures it made.
    assert len(plt.get_fignums()) == n_figures

    page = paths["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('src="data:image/png;base64,') == 4
    # Nothing outside the page: no linked file, script, style sheet or URL.
    sources = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert all(source.startswith("data:") for source in sources)
    assert not re.search(r"https?://|<link|<script|url\(", page)
    for name in ("age", "quality", "column_pair_trends", "detection"):
        assert name in page
