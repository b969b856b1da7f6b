"""Problems to learn from: ready-made data sets and problem specs.

- :mod:`~chainrule.datasets.spec`: an :class:`Example` (a network, one batch and the
  step's settings), from a TOML/JSON file or a dict;
- :mod:`~chainrule.datasets.catalog`: the seed notebook's example, toy sets and real
  data sets.
"""

from .catalog import (
    DATASETS,
    SEED_SPEC,
    Dataset,
    breast_cancer,
    digits,
    iris,
    load,
    mnist1d,
    seed_example,
    spirals,
    two_moons,
    xor,
)
from .spec import Example, load_spec, spec_from_dict

__all__ = [
    "DATASETS",
    "SEED_SPEC",
    "Dataset",
    "Example",
    "breast_cancer",
    "digits",
    "iris",
    "load",
    "load_spec",
    "mnist1d",
    "seed_example",
    "spec_from_dict",
    "spirals",
    "two_moons",
    "xor",
]
