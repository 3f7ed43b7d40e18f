"""Generator scorers inside scikit-learn's model selection tools."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sklearn_gen import TVAEGenerator
from sklearn_gen.metrics import get_scorer, make_generator_scorer, nn_recall_score
from tests.conftest import make_generator


@pytest.fixture(scope="module")
def rows(adult):
    return adult.iloc[:600].reset_index(drop=True)


def test_grid_search_with_scorer_dict(rows):
    scoring = {
        name: get_scorer(name)
        for name in ("quality", "column_pair_trends", "detection", "coverage")
    }
    scoring["recall"] = make_generator_scorer(nn_recall_score, max_rows=300)
    search = GridSearchCV(
        make_generator(TVAEGenerator),
        {"embedding_dim": [4, 8]},
        scoring=scoring,
        refit="quality",
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(rows)
    for name in scoring:
        values = search.cv_results_[f"mean_test_{name}"]
        assert np.isfinite(values).all() and ((0 <= values) & (values <= 1)).all()
    best = int(np.argmax(search.cv_results_["mean_test_quality"]))
    assert search.best_index_ == best
    assert search.best_params_ == search.cv_results_["params"][best]
    assert hasattr(search.best_estimator_, "net_")
    # Deterministic: the refitted generator scores the same twice.
    test = rows.iloc[:200]
    for scorer in scoring.values():
        assert scorer(search.best_estimator_, test) == scorer(
            search.best_estimator_, test
        )


def test_cross_validate_with_target(rows):
    X, y = rows.drop(columns=["income"]), rows["income"]
    result = cross_validate(
        make_generator(TVAEGenerator),
        X,
        y,
        scoring={
            "quality": get_scorer("quality"),
            "ml_efficacy": get_scorer("ml_efficacy"),
            "consistency": get_scorer("consistency"),
        },
        cv=2,
    )
    assert np.isfinite(result["test_ml_efficacy"]).all()
    assert ((0 <= result["test_quality"]) & (result["test_quality"] <= 1)).all()
    # The generator decodes within its schema's bounds and categories.
    assert (result["test_consistency"] == 1.0).all()
