"""Learn by doing: the interactive page (:mod:`~chainrule.learn.play`) and training
curves of a small example (:mod:`~chainrule.learn.curves`)."""

from .curves import TrainingCurves, plot_training_curves, training_curves
from .play import Play, play, play_state, render_page

__all__ = [
    "Play",
    "TrainingCurves",
    "play",
    "play_state",
    "plot_training_curves",
    "render_page",
    "training_curves",
]
