"""Weight initializers. Each draws from a ``numpy.random.Generator`` passed in.

Fan-in ``n_in`` and fan-out ``n_out`` are the weight matrix's shape ``(n_in, n_out)``.

=================  ==================================================
name               distribution of each weight
=================  ==================================================
glorot_uniform     U(-a, a), a = sqrt(6 / (n_in + n_out))
glorot_normal      N(0, s^2), s = sqrt(2 / (n_in + n_out))
he_uniform         U(-a, a), a = sqrt(6 / n_in)
he_normal          N(0, s^2), s = sqrt(2 / n_in)
uniform            U(-0.05, 0.05)
zeros              0
=================  ==================================================

Biases start at zero.

Examples
--------
>>> import numpy as np
>>> from chainrule.initializers import initialize
>>> W = initialize("he_normal", 3, 2, np.random.default_rng(0))
>>> W.shape, W.dtype
((3, 2), dtype('float64'))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .names import lookup


def _glorot_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def _glorot_normal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def _he_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    limit = np.sqrt(6.0 / n_in)
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def _he_normal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def _uniform(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-0.05, 0.05, size=(n_in, n_out))


def _zeros(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    return np.zeros((n_in, n_out))


INITIALIZERS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "he_uniform": _he_uniform,
    "he_normal": _he_normal,
    "uniform": _uniform,
    "zeros": _zeros,
}
ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal"}


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a generator (returned as is) or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {seed}")
        return np.random.default_rng(seed)
    raise TypeError(f"random_state must be None, an int or a numpy.random.Generator, got {seed!r}")


def initialize(
    name: str,
    n_in: int,
    n_out: int,
    rng: np.random.Generator,
    dtype: np.dtype | type = np.float64,
) -> np.ndarray:
    """Draw a weight matrix of shape ``(n_in, n_out)`` with the named initializer.

    The draw is made in float64 and then cast, so float32 and float64 networks built
    from the same seed start from the same weights (up to rounding).
    """
    draw = lookup(INITIALIZERS, name, "initializer", aliases=ALIASES)
    return draw(n_in, n_out, rng).astype(dtype, copy=False)
