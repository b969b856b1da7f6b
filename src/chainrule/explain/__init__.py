"""Explanations of a training step, rendered from a :class:`~chainrule.trace.Trace`.

:func:`explain` runs one traced step (and, with ``steps > 1``, more steps) on a copy of
the network and renders it. Every number shown comes from the trace.
"""

from __future__ import annotations

from .run import Explanation, explain
from .text import render_text

__all__ = ["Explanation", "explain", "render_text"]
