"""Dask: the estimators under dask_ml.wrappers.Incremental and joblib's Dask backend.

The cluster is a LocalCluster of 2 workers in this process (``processes=False``),
talking TCP on 127.0.0.1 only; it is started and shut down by the fixture.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")
da = pytest.importorskip("dask.array", reason="the [dask] extra is not installed")
distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed")
wrappers = pytest.importorskip("dask_ml.wrappers", reason="the [dask] extra is not installed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield client
    finally:
        client.close()
        cluster.close()


def data(n=400):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def test_incremental_trains_block_by_block(client):
    X, y = data()
    options = {"hidden_layer_sizes": (8,), "learning_rate_init": 0.05, "random_state": 0}
    dX, dy = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    inc = wrappers.Incremental(cr.MLPClassifier(**options), shuffle_blocks=False)
    inc.fit(dX, dy, classes=[0, 1])
    # The same four partial_fit calls, run here without Dask, give the same weights.
    local = cr.MLPClassifier(**options)
    for start in range(0, 400, 100):
        local.partial_fit(X[start : start + 100], y[start : start + 100], classes=[0, 1])
    assert len(inc.estimator_.loss_curve_) == 4  # one partial_fit per block
    for got, expected in zip(inc.estimator_.coefs_, local.coefs_, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    predicted = inc.predict(dX)
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), local.predict(X))
    assert inc.score(dX, dy) > 0.85


def test_incremental_regressor(client):
    X, _ = data()
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    dX, dy = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    inc = wrappers.Incremental(cr.MLPRegressor((6,), learning_rate_init=0.02, random_state=0))
    inc.fit(dX, dy)
    assert len(inc.estimator_.loss_curve_) == 2
    np.testing.assert_allclose(inc.predict(dX).compute(), inc.estimator_.predict(X))


def test_grid_search_under_joblib_dask_backend(client):
    joblib = pytest.importorskip("joblib")
    from sklearn.model_selection import GridSearchCV

    X, y = data(200)
    grid = {"hidden_layer_sizes": [(3,), (8,)], "alpha": [1e-4, 1e-1]}
    est = cr.MLPClassifier(max_iter=40, learning_rate_init=0.02, random_state=0)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(est, grid, cv=2).fit(X, y)
    here = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
    assert on_dask.best_params_ == here.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"]
    )
