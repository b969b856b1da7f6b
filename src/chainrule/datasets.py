"""Ready-made problems, starting with the seed notebook's example.

Examples
--------
>>> from chainrule.datasets import seed_example
>>> seed = seed_example()
>>> seed.network
Network(2-2-1, activations=sigmoid-sigmoid, dtype=float64)
>>> seed.x, seed.y, seed.lr
(array([0.5, 0.1]), array(0.9), 0.5)
"""

from __future__ import annotations

from .spec import Example, spec_from_dict

SEED_SPEC = {
    "x": [0.5, 0.1],
    "y": 0.9,
    "lr": 0.5,
    "loss": "half_squared_error",
    "layers": [
        {"W": [[0.15, 0.2], [0.24, 0.3]], "b": [1, 1], "activation": "sigmoid"},
        {"W": [[-0.4], [0.5]], "b": [1], "activation": "sigmoid"},
    ],
}
"""The seed notebook's 2-2-1 sigmoid network on one instance, as a spec."""


def seed_example() -> Example:
    """The seed notebook's example: a fresh 2-2-1 sigmoid network, x, y and lr = 0.5."""
    return spec_from_dict(SEED_SPEC, title="the seed notebook's 2-2-1 sigmoid network")
