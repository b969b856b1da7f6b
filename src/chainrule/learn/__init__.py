"""Learn by doing: worksheets whose answers are checked, an interactive page, and the
training curves of a small example.

- :mod:`.exercise`: an :class:`Exercise`, one training step with quantities left blank;
- :mod:`.exercise_render`: its worksheet and answer key (Markdown, LaTeX, HTML);
- :mod:`.grading` and :mod:`.grading_mistakes`: answers graded right, wrong, carried over
  or missing, and the common mistake behind a wrong one named;
- :mod:`.play`: the interactive page that steps through a training step;
- :mod:`.curves`: the error and each layer's gradient norm over many steps.
"""

from __future__ import annotations

from .curves import TrainingCurves, plot_training_curves, training_curves
from .exercise import Exercise, read_answers
from .grading import Mark, Report, Tolerance
from .grading_mistakes import MISTAKES, Mistake
from .play import Play, play, play_state, render_page

__all__ = [
    "MISTAKES",
    "Exercise",
    "Mark",
    "Mistake",
    "Play",
    "Report",
    "Tolerance",
    "TrainingCurves",
    "play",
    "play_state",
    "plot_training_curves",
    "read_answers",
    "render_page",
    "training_curves",
]
