"""scikit-learn estimators over the engine: :class:`MLPClassifier` and :class:`MLPRegressor`.

They need scikit-learn (the ``sklearn`` extra). Modules:

- :mod:`~chainrule.estimators.mlp`: the two estimators and what they share (parameters,
  fit, partial_fit);
- :mod:`~chainrule.estimators.settings`: the hyper-parameters, checked once into a frozen
  settings object that builds the network, optimizer, schedule, generator and split;
- :mod:`~chainrule.estimators.input`: a fit's input (arrays or iterables of batches),
  checked and encoded the scikit-learn way;
- :mod:`~chainrule.estimators.files`: their model files.
"""

from .mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
