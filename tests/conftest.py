"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

import chainrule as cr

ACTIVATION_NAMES = sorted(cr.ACTIVATIONS)


def random_network(
    rng: np.random.Generator,
    sizes: list[int],
    hidden: str | list[str],
    output: str,
    dtype=np.float64,
    scale: float = 0.8,
) -> cr.Network:
    """A network with normal(0, scale) weights and biases, so no unit sits exactly at zero."""
    n_layers = len(sizes) - 1
    acts = [hidden] * (n_layers - 1) if isinstance(hidden, str) else list(hidden)
    weights = [rng.normal(0, scale, (a, b)) for a, b in pairwise(sizes)]
    biases = [rng.normal(0, scale, b) for b in sizes[1:]]
    return cr.Network.from_weights(weights, biases, [*acts, output], dtype=dtype)


def targets_for(loss: str, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Targets that make sense for ``loss``: real values, probabilities, counts or one-hot
    rows."""
    if loss in ("half_squared_error", "mean_squared_error"):
        return rng.normal(0, 1, (n, k))
    if loss == "binary_cross_entropy":
        return rng.uniform(0, 1, (n, k))
    if loss == "half_poisson_deviance":  # counts, zeros included
        return rng.poisson(1.5, (n, k)).astype(float)
    return np.eye(k)[rng.integers(0, k, n)]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
