"""Evaluating a trained model: test metrics (:mod:`~chainrule.evaluation.metrics`,
``sklearn.metrics``) and pictures (:mod:`~chainrule.evaluation.plots`, matplotlib)."""
