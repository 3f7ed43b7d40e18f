"""Hyperparameter search over a generator on a dask.distributed cluster.

A ``LocalCluster`` of two worker processes stands in for a real cluster: the code
path (joblib's dask backend, pickling the generator to the workers and the fitted
candidates back) is the same.
"""

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV

from sklearn_gen import TVAEGenerator

distributed = pytest.importorskip("distributed")

TINY = dict(
    epochs=2,
    batch_size=64,
    compress_dims=(16,),
    decompress_dims=(16,),
    device="cpu",
    random_state=0,
)


@pytest.fixture(scope="module")
def client():
    # One thread per worker and OMP_NUM_THREADS=1: two processes share this
    # machine's cores, and torch's intra-op threads would only contend.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"OMP_NUM_THREADS": "1"},
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def test_grid_search_runs_on_the_cluster_and_matches_a_local_search(client):
    X = load_wine(as_frame=True).frame
    grid = {"embedding_dim": [4, 8]}

    search = GridSearchCV(TVAEGenerator(**TINY), grid, cv=2, n_jobs=-1)
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_config(backend="dask"):
            search.fit(X)

    # The fits ran on the workers, not in this process.
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])

    local = GridSearchCV(TVAEGenerator(**TINY), grid, cv=2, n_jobs=1).fit(X)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == local.best_params_

    # The refitted best generator came back fitted and samples here.
    rows = search.best_estimator_.sample(50, random_state=0)
    assert list(rows.columns) == list(X.columns) and len(rows) == 50
