"""Lazy imports of optional dependencies, with a message naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str | None, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``ImportError`` saying how to install it.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``"onnx"``.
    extra : str or None
        chainrule's extra that installs it (``pip install 'chainrule[extra]'``); None
        when the package is installed on its own (PyTorch).
    purpose : str
        What needs it, for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = f"pip install 'chainrule[{extra}]'" if extra else f"pip install {module}"
        raise ImportError(f"{purpose} needs the package {module!r}: {how}") from exc
