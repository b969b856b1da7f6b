"""Learn by doing: worksheets whose answers are checked, naming the chain-rule mistake.

- :mod:`.exercise`: an :class:`Exercise`, one training step with quantities left blank;
- :mod:`.exercise_render`: its worksheet and answer key (Markdown, LaTeX, HTML);
- :mod:`.grading` and :mod:`.grading_mistakes`: answers graded right, wrong, carried over
  or missing, and the common mistake behind a wrong one named.
"""

from __future__ import annotations

from .exercise import Exercise, read_answers
from .grading import Mark, Report, Tolerance
from .grading_mistakes import MISTAKES, Mistake

__all__ = [
    "MISTAKES",
    "Exercise",
    "Mark",
    "Mistake",
    "Report",
    "Tolerance",
    "read_answers",
]
