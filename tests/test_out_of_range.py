"""Finite values beyond the dtype's range are named, not reported as NaN or infinity.

1e39 is finite in float64 and beyond float32's largest value (3.4e38, from
``np.finfo``); the pytest configuration turns any leaked warning into a failure.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule
from chainrule.checks import as_float_array

MESSAGE = r"X: value 1e\+39 is outside float32's range"
X = np.array([[1e39, 0.0], [1.0, 2.0], [0.5, 0.1]])
Y = np.array([[1.0], [0.0], [0.9]])


def _net() -> chainrule.Network:
    return chainrule.Network.from_sizes([2, 2, 1], dtype="float32", random_state=0)


def test_the_conversion_names_the_value_and_the_dtype():
    assert float(np.finfo(np.float32).max) < 1e39 < float(np.finfo(np.float64).max)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=MESSAGE):
            as_float_array(X, "X", dtype=np.float32)
        with pytest.raises(ValueError, match=r"value -1e\+39"):
            as_float_array(-X, "X", dtype=np.float32)


def test_large_values_in_range_and_nan_are_left_to_the_other_checks():
    big = np.array([3e38, 3e38])  # their float32 sum overflows; each value fits
    assert np.array_equal(as_float_array(big, "X", dtype=np.float32), big.astype(np.float32))
    with_nan = as_float_array(np.array([np.nan, 1.0]), "X", dtype=np.float32)
    assert np.isnan(with_nan[0])


def test_train_step_and_fit():
    net = _net()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=MESSAGE):
        chainrule.train_step(net, X, Y, loss="mse", lr=0.1)
    with pytest.raises(ValueError, match=MESSAGE):
        chainrule.fit(net, X, Y, loss="mse", epochs=1)
    with pytest.raises(ValueError, match=r"y: value 1e\+40"):
        chainrule.fit(net, X[1:], np.array([[1e40], [0.0]]), loss="mse", epochs=1)
    assert all(np.array_equal(before[k], v) for k, v in net.params.items())


def test_estimators_fit_partial_fit_and_predict():
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    est = chainrule.MLPRegressor((3,), dtype=np.float32, max_iter=2, random_state=0)
    with pytest.raises(ValueError, match=MESSAGE):
        est.fit(X, Y.ravel())
    est.fit(X[1:], Y[1:].ravel())
    with pytest.raises(ValueError, match=MESSAGE):
        est.predict(X)
    with pytest.raises(ValueError, match=MESSAGE):
        est.partial_fit(X, Y.ravel())
