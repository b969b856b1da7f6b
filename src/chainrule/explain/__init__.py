"""Explanations of a training step, rendered from a :class:`~chainrule.trace.Trace`.

:func:`explain` runs one traced step (and, with ``steps > 1``, more steps) on a copy of
the network and renders it. Every number shown comes from the trace.

The modules, in the order the data flows:

- :mod:`.derivation` (with :mod:`.steps`, :mod:`.forward`, :mod:`.backward`,
  :mod:`.formulas`): the trace becomes a list of steps, each a formula tree
  (:mod:`.expr`, :mod:`.notation`) in symbols, with shapes, with numbers, and entry by
  entry, with the local derivatives it uses first and notes where learners go wrong;
  :mod:`.conventions` states the settings in force and :mod:`.legend` the notation;
- :mod:`.diagnostics`: saturated units, dead ReLUs, gradient sizes;
- the renderers, which only lay the steps out: :mod:`.text` (the notebook's look),
  :mod:`.markdown`, :mod:`.latex`, :mod:`.html`, :mod:`.svg` for the network diagram and
  :mod:`.graph` for the computational graph (one node per operation);
- :mod:`.run`: :func:`explain` and :class:`Explanation`, which run the step and pick the
  renderer.
"""

from __future__ import annotations

from .derivation import Derivation, build
from .diagnostics import Diagnostics, diagnose
from .graph import render_graph
from .run import Explanation, explain
from .svg import render_svg
from .text import render_text

__all__ = [
    "Derivation",
    "Diagnostics",
    "Explanation",
    "build",
    "diagnose",
    "explain",
    "render_graph",
    "render_svg",
    "render_text",
]
