"""Device handling: CUDA training and sampling, and CUDA-trained models on the CPU.

The CUDA tests run only where a GPU is present (they are skipped in CPU-only CI).
"""

import io
import pickle

import pandas as pd
import pytest
import torch

from sklearn_gen import TVAEGenerator
from sklearn_gen.utils.estimator_checks import make_mixed_frame

from ..conftest import make_generator

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda
def test_cuda_fit_sample_conditions_transform():
    X = make_mixed_frame()
    gen = make_generator(TVAEGenerator, device="cuda").fit(X)
    assert gen.device_.startswith("cuda")
    assert next(gen.net_.module_.parameters()).is_cuda
    sample = gen.sample(100, conditions={"city": "Faro"}, random_state=0)
    assert (sample["city"] == "Faro").all() and (sample.dtypes == X.dtypes).all()
    assert gen.transform(X).shape == (len(X), gen.embedding_dim)


@cuda
def test_cuda_model_pickles_to_cpu(monkeypatch):
    gen = make_generator(TVAEGenerator, device="cuda").fit(make_mixed_frame())
    payload = pickle.dumps(gen)
    # Pretend the loading machine has no GPU: skorch maps CUDA tensors to the CPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = pickle.loads(payload)
    assert restored.device_ == "cpu"
    assert not next(restored.net_.module_.parameters()).is_cuda
    assert len(restored.sample(20, random_state=0)) == 20


def test_device_attribute_follows_the_net_after_unpickling():
    gen = make_generator(TVAEGenerator, device="cpu").fit(make_mixed_frame())
    buffer = io.BytesIO()
    pickle.dump(gen, buffer)
    restored = pickle.loads(buffer.getvalue())
    assert restored.device_ == restored.net_.device == "cpu"
    pd.testing.assert_frame_equal(
        restored.sample(10, random_state=0), gen.sample(10, random_state=0)
    )
