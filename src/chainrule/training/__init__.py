"""Training: the fit and what it is made of.

Modules, in the order a batch meets them:

- :mod:`~chainrule.training.loop`: ``fit``: its setup and the epoch loop;
- :mod:`~chainrule.training.settings`: ``fit``'s arguments, checked into a frozen object;
- :mod:`~chainrule.training.sources`: where batches come from (arrays, memmaps, iterables)
  and the sample-weight check;
- :mod:`~chainrule.training.validation`: the validation data, given or split off;
- :mod:`~chainrule.training.update`: one batch's gradients and update;
- :mod:`~chainrule.training.lbfgs`: full-batch training with scipy's L-BFGS-B (the
  estimators' ``solver="lbfgs"``);
- :mod:`~chainrule.training.device`: training on a PyTorch device (``fit(..., device=)``);
- :mod:`~chainrule.training.guard`: the divergence guard (and its public checks);
- :mod:`~chainrule.training.interrupts`: Ctrl-C and SIGTERM between batches, never inside
  an update;
- :mod:`~chainrule.training.logs`: what an epoch logs (metrics, validation loss);
- :mod:`~chainrule.training.early_stopping`: the monitored quantity and when to stop;
- :mod:`~chainrule.training.report`: the progress bar or a line per epoch;
- :mod:`~chainrule.training.resume`: checkpoints of a run, and resuming it;
- :mod:`~chainrule.training.callbacks`: the history, the callback hooks and
  :class:`GradientNorms`.
"""

from .callbacks import Callback, FunctionCallback, GradientNorms, History
from .guard import check_params_finite, check_step_finite
from .loop import fit
from .settings import FitSettings

__all__ = [
    "Callback",
    "FitSettings",
    "FunctionCallback",
    "GradientNorms",
    "History",
    "check_params_finite",
    "check_step_finite",
    "fit",
]
