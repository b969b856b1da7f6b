"""Trace: the ordered, named quantities of one training step, under the seed's names.

A network's ``forward`` and ``backward`` take an optional *tracer*: any object with a
``record(name, value)`` method. With none, nothing extra is kept or copied. A
:class:`Trace` is the tracer that keeps a copy of every value, in order.

Names, for a network of ``L`` layers (``k`` counts from 1):

- ``x``, ``y``: the input and the target, ``(n_samples, n_features)`` / ``(n_samples, n_out)``;
- ``Wk``, ``bk``: the parameters before the step;
- ``inLk``, ``outLk``: ``Z`` and ``A`` of layer ``k`` in the forward pass;
- ``e``: the error of each instance, ``(n_samples,)``; ``E``: the batch loss (mean or sum);
- ``dEdOutLk``, ``dEdInLk``, ``dEdWk``, ``dEdBk``: the partial derivatives, layer ``L``
  down to layer 1;
- ``Wk_new``, ``bk_new``: the parameters after the update; ``e_new``, ``E_new``: the
  error after it.

Examples
--------
>>> from chainrule import Trace, seed_example, train_step
>>> seed = seed_example()
>>> trace = Trace()
>>> _ = train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
>>> list(trace)[:6]
['x', 'y', 'W1', 'b1', 'W2', 'b2']
>>> round(float(trace["e"][0]), 6), round(float(trace["e_new"][0]), 6)
(0.011843, 0.010953)

In Jupyter a trace of a whole training step shows as its derivation (HTML or Markdown).
The renderers belong to the explanations (:mod:`chainrule.explain`), which sit above
the engine: the engine never imports them. ``import chainrule`` registers them here
with :func:`register_renderer`; without a renderer a trace shows as its ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
from array_api_compat import array_namespace

from .checks import Array


class Tracer(Protocol):
    """Anything that can watch a step: it is handed each named value in order."""

    def record(self, name: str, value: Array) -> None:
        """Take note of ``value`` under ``name``."""


# The rich displays of a trace, by format ("html", "markdown"), set by register_renderer.
_RENDERERS: dict[str, Callable[[Trace], str]] = {}


def register_renderer(kind: str, render: Callable[[Trace], str]) -> None:
    """Show traces in Jupyter with ``render(trace) -> str`` for ``kind``: ``"html"`` or
    ``"markdown"``. Registered by :mod:`chainrule` at import (the explanations' renderers)."""
    if kind not in ("html", "markdown"):
        raise ValueError(f"kind must be 'html' or 'markdown', got {kind!r}")
    if not callable(render):
        raise TypeError(f"render must be callable, got {type(render).__name__}")
    _RENDERERS[kind] = render


class Trace:
    """An ordered record of named arrays, filled by a step; read it by name or in order.

    Attributes
    ----------
    info : dict
        What the step was: ``loss``, ``reduction``, ``lr``, ``n_layers``, ``activations``,
        ``frozen``; set by :func:`chainrule.train_step`.
    """

    def __init__(self) -> None:
        self._values: dict[str, Array] = {}
        self.info: dict[str, Any] = {}

    def record(self, name: str, value: Array) -> None:
        """Keep a copy of ``value`` under ``name`` (a later record of the name replaces it)."""
        if isinstance(value, np.ndarray | np.generic | float | int):
            self._values[name] = np.array(value, copy=True)
        else:
            self._values[name] = array_namespace(value).asarray(value, copy=True)

    def __getitem__(self, name: str) -> Array:
        try:
            return self._values[name]
        except KeyError:
            known = ", ".join(self._values)
            raise KeyError(f"{name!r} is not in this trace; it holds: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def items(self) -> Iterator[tuple[str, Array]]:
        """``(name, value)`` pairs in the order they were recorded."""
        return iter(self._values.items())

    @property
    def n_samples(self) -> int:
        """How many instances the traced step used."""
        return int(self["x"].shape[0])

    def __str__(self) -> str:
        with np.printoptions(precision=6):
            return "\n".join(f"{name}: {np.asarray(value)}" for name, value in self.items())

    def __repr__(self) -> str:
        return f"Trace({len(self)} values: {', '.join(self._values)})"

    # Jupyter shows these (None: not available, the repr is shown instead).
    def _repr_html_(self) -> str | None:
        render = _RENDERERS.get("html")
        return None if render is None else render(self)

    def _repr_markdown_(self) -> str | None:
        render = _RENDERERS.get("markdown")
        return None if render is None else render(self)
