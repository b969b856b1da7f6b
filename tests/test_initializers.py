"""Initializers: the distributions' spread, zeros, and seeded reproducibility."""

import numpy as np
import pytest

from chainrule.initializers import initialize

N_IN, N_OUT = 400, 300


@pytest.mark.parametrize(
    ("name", "std"),
    [
        # U(-a, a) has standard deviation a / sqrt(3)
        ("glorot_uniform", np.sqrt(6 / (N_IN + N_OUT)) / np.sqrt(3)),
        ("glorot_normal", np.sqrt(2 / (N_IN + N_OUT))),
        ("xavier_uniform", np.sqrt(6 / (N_IN + N_OUT)) / np.sqrt(3)),
        ("he_uniform", np.sqrt(6 / N_IN) / np.sqrt(3)),
        ("he_normal", np.sqrt(2 / N_IN)),
    ],
)
def test_spread(name, std):
    W = initialize(name, N_IN, N_OUT, np.random.default_rng(0))
    assert W.shape == (N_IN, N_OUT)
    assert W.mean() == pytest.approx(0, abs=3 * std / np.sqrt(W.size) * 3)
    assert W.std() == pytest.approx(std, rel=0.01)
    if "uniform" in name:
        assert np.abs(W).max() <= std * np.sqrt(3)


def test_zeros_and_seeds():
    assert not initialize("zeros", 3, 2, np.random.default_rng(0)).any()
    a = initialize("he_normal", 5, 4, np.random.default_rng(1), np.float32)
    b = initialize("he_normal", 5, 4, np.random.default_rng(1), np.float32)
    assert a.dtype == np.float32 and a.tobytes() == b.tobytes()


def test_unknown_initializer():
    with pytest.raises(ValueError, match="unknown initializer"):
        initialize("orthogonal", 2, 2, np.random.default_rng(0))
