"""Training: the fit loop and what it is made of.

Modules, in the order a batch flows through them:

- :mod:`~chainrule.training.loop`: ``fit``, setup and the epoch loop;
- :mod:`~chainrule.training.sources`: where batches come from (arrays, memmaps, iterables);
- :mod:`~chainrule.training.update`: one batch's gradients and update;
- :mod:`~chainrule.training.device`: training on a PyTorch device (``fit(..., device=)``);
- :mod:`~chainrule.training.guard` and :mod:`~chainrule.training.guards`: the divergence guard;
- :mod:`~chainrule.training.resume`: checkpoints of a run, and resuming it;
- :mod:`~chainrule.training.parts`: metrics, the validation split, progress reports;
- :mod:`~chainrule.training.callbacks` and :mod:`~chainrule.training.monitors`: what the
  loop reports, and the hooks that watch it.
"""

from .callbacks import Callback, FunctionCallback, History
from .guards import check_params_finite, check_step_finite
from .loop import fit
from .monitors import GradientNorms

__all__ = [
    "Callback",
    "FunctionCallback",
    "GradientNorms",
    "History",
    "check_params_finite",
    "check_step_finite",
    "fit",
]
