"""Deprecated alias of :mod:`chainrule.training.update`, kept for one release.

The workspace is no second engine any more: :class:`~chainrule.training.update.Workspace`
runs ``Network.forward`` and ``backward`` into :class:`~chainrule.buffers.Buffers`.
"""

import warnings

from .training import update as _moved

warnings.warn(
    "chainrule.workspace moved to chainrule.training.update; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
