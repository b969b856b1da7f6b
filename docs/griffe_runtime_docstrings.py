"""A Griffe extension for the API reference: a class whose docstring is composed at
import (the estimators fill ``{parameters}`` with the parameter entries they share,
``chainrule.estimators.mlp._with_parameters``) is shown with its runtime docstring.

Griffe reads the source without importing it, where the docstring still holds the
placeholder; this imports the class and takes ``__doc__`` as ``help()`` shows it.
"""

from __future__ import annotations

import inspect
from typing import Any

import griffe


class RuntimeDocstrings(griffe.Extension):
    """Replace a placeholder docstring with the imported class's own."""

    def on_class(self, *, cls: griffe.Class, loader: Any, **kwargs: Any) -> None:
        if cls.docstring is None or "{parameters}" not in cls.docstring.value:
            return
        runtime = griffe.dynamic_import(cls.path)
        cls.docstring = griffe.Docstring(
            inspect.cleandoc(runtime.__doc__),
            lineno=cls.docstring.lineno,
            endlineno=cls.docstring.endlineno,
            parent=cls,
        )
