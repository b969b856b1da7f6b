"""scikit-learn estimators over the engine: :class:`MLPClassifier` and :class:`MLPRegressor`.

They need scikit-learn (the ``sklearn`` extra). Modules:

- :mod:`~chainrule.estimators.mlp`: the two estimators;
- :mod:`~chainrule.estimators.base`: what they share (parameters, fit, partial_fit);
- :mod:`~chainrule.estimators.params` and :mod:`~chainrule.estimators.build`: the
  hyper-parameters, checked, and what they build;
- :mod:`~chainrule.estimators.input` and :mod:`~chainrule.estimators.batches`: a fit's
  input, checked and encoded the scikit-learn way;
- :mod:`~chainrule.estimators.files`: their model files.
"""

from .mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
