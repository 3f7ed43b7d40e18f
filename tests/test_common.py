"""scikit-learn's estimator checks and our generator checks, for every generator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gen.utils import all_generators
from sklearn_gen.utils.estimator_checks import parametrize_with_generator_checks

from .conftest import make_generator

GENERATORS = [make_generator(cls) for _, cls in all_generators()]

#: sklearn checks that cannot apply to a generator, with the reason. Every other
#: check that sklearn collects must pass.
EXPECTED_FAILED_CHECKS = {}


def _expected_failed(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(GENERATORS, expected_failed_checks=_expected_failed)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@parametrize_with_generator_checks(GENERATORS)
def test_generator_checks(generator, check):
    check(generator)


def test_every_generator_is_checked():
    assert {type(g).__name__ for g in GENERATORS} >= {
        "CTGANGenerator", "TVAEGenerator", "TabDDPMGenerator", "LatentDiffusionGenerator",
        "TransformerGenerator",
    }


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda g: type(g).__name__)
def test_tags(generator):
    tags = generator.__sklearn_tags__()
    assert tags.estimator_type == "generator"
    assert tags.target_tags.required is False
    assert tags.input_tags.allow_nan and tags.input_tags.string


#: Parameters every generator shares (the base class reads them).
SHARED_PARAMS = {"epochs", "batch_size", "device", "random_state", "verbose",
                 "callbacks", "identifiers", "data_parallel"}


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda g: type(g).__name__)
def test_shared_parameters(generator):
    assert SHARED_PARAMS <= set(generator.get_params())
