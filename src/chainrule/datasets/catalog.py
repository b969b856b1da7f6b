"""Ready-made problems: the seed notebook's example, toy sets and real data sets.

=====================  ============================================================
loader                 what it returns
=====================  ============================================================
seed_example()         the seed's 2-2-1 network, x, y and lr (an Example)
xor()                  the 4 XOR instances, X (4, 2) and y (4,)
two_moons(...)         two interleaving half circles, X (n, 2), y in {0, 1}
spirals(...)           two interleaved spirals, X (n, 2), y in {0, 1}
digits(), iris(),      scikit-learn's bundled sets (the ``sklearn`` extra); no
breast_cancer()        download
mnist1d(...)           MNIST-1D (Greydanus, 2020) generated locally with the
                       ``mnist1d`` package (the ``datasets`` extra); never downloaded
=====================  ============================================================

Every loader returns ``(X, y)`` with ``X`` float64 of shape ``(n_samples, n_features)``
and ``y`` of shape ``(n_samples,)`` (integer labels), except :func:`seed_example`.
:func:`load` finds one by name.

Examples
--------
>>> from chainrule.datasets import seed_example, xor
>>> seed = seed_example()
>>> seed.network
Network(2-2-1, activations=sigmoid-sigmoid, dtype=float64)
>>> seed.x, seed.y, seed.lr
(array([0.5, 0.1]), array(0.9), 0.5)
>>> X, y = xor()
>>> X.shape, y.tolist()
((4, 2), [0, 1, 1, 0])
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from ..checks import check_positive
from ..initializers import as_generator
from ..names import lookup
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

Dataset = tuple[np.ndarray, np.ndarray]


def seed_example() -> Example:
    """The seed notebook's example: a fresh 2-2-1 sigmoid network, x, y and lr = 0.5."""
    return spec_from_dict(SEED_SPEC, title="the seed notebook's 2-2-1 sigmoid network")


def xor() -> Dataset:
    """The XOR problem: ``y = x1 xor x2`` on the four corners of the unit square."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0, 1, 1, 0])


def two_moons(
    n_samples: int = 200, noise: float = 0.1, random_state: int | np.random.Generator | None = 0
) -> Dataset:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), with Gaussian noise.

    Class 0 is the upper half circle of radius 1 centred at (0, 0); class 1 the lower
    one centred at (1, 0.5). ``n_samples // 2`` instances go to class 0.
    """
    n_samples = int(check_positive(n_samples, "n_samples", integer=True))
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 (one per class), got {n_samples}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = as_generator(random_state)
    n0 = n_samples // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n_samples - n0)
    X = np.vstack(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)]),
        ]
    )
    X += rng.normal(0.0, noise, size=X.shape)
    y = np.repeat([0, 1], [n0, n_samples - n0])
    order = rng.permutation(n_samples)
    return X[order], y[order]


def spirals(
    n_samples: int = 200,
    noise: float = 0.2,
    turns: float = 1.5,
    random_state: int | np.random.Generator | None = 0,
) -> Dataset:
    """Two interleaved spirals: class ``c`` at angle ``t`` is ``r (cos(t + c pi), sin(t + c pi))``.

    ``r = t`` grows with the angle ``t`` in ``[0.25, 2 pi turns]``.
    """
    n_samples = int(check_positive(n_samples, "n_samples", integer=True))
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 (one per class), got {n_samples}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    check_positive(turns, "turns")
    rng = as_generator(random_state)
    y = np.arange(n_samples) % 2
    t = rng.uniform(0.25, 2 * np.pi * turns, size=n_samples)
    X = t[:, None] * np.column_stack([np.cos(t + np.pi * y), np.sin(t + np.pi * y)])
    X += rng.normal(0.0, noise, size=X.shape)
    return X, y


def _sklearn_loader(name: str) -> Callable[[], Dataset]:
    def load() -> Dataset:
        try:
            from sklearn import datasets
        except ImportError:
            raise ImportError(
                f"the {name} data set comes with scikit-learn: pip install 'chainrule[sklearn]'"
            ) from None
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        return X.astype(np.float64), y

    load.__name__ = name
    load.__doc__ = f"scikit-learn's bundled {name} data set (no download), as ``(X, y)``."
    return load


digits = _sklearn_loader("digits")
iris = _sklearn_loader("iris")
breast_cancer = _sklearn_loader("breast_cancer")


def mnist1d(num_samples: int = 5000, seed: int = 42, **settings: Any) -> Dataset:
    """MNIST-1D, generated locally with ``mnist1d.data.make_dataset`` (never downloaded).

    ``num_samples`` signals of 40 values, 10 balanced classes; ``seed`` and any other
    setting of ``mnist1d.data.get_dataset_args`` (e.g. ``iid_noise_scale``) are passed
    through. The package's defaults with 5000 samples give the paper's data set; its
    own split is 4000 train / 1000 test: take ``X[:4000]`` and ``X[4000:]``.

    The generator seeds Python's and NumPy's global random state; they are restored
    afterwards, so calling this does not disturb other code's random numbers.
    """
    num_samples = int(check_positive(num_samples, "num_samples", integer=True))
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ImportError(
            "MNIST-1D is generated by the mnist1d package: pip install 'chainrule[datasets]'"
        ) from None
    args = get_dataset_args()
    for key, value in {"num_samples": num_samples, "seed": seed, **settings}.items():
        if not hasattr(args, key):
            raise ValueError(f"unknown mnist1d setting {key!r}")
        setattr(args, key, value)
    args.train_split = 1.0  # one array; the caller splits
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    return np.asarray(data["x"], dtype=np.float64), np.asarray(data["y"], dtype=np.int64)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "xor": xor,
    "moons": two_moons,
    "spirals": spirals,
    "digits": digits,
    "iris": iris,
    "breast_cancer": breast_cancer,
    "mnist1d": mnist1d,
}


def load(name: str, **settings: Any) -> Dataset:
    """A data set by name: ``xor, moons, spirals, digits, iris, breast_cancer, mnist1d``."""
    return lookup(DATASETS, name, "dataset")(**settings)
