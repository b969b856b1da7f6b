"""The ``chainrule`` command line: :mod:`~chainrule.cli.main` (the parser, ``explain``,
``bench``) and :mod:`~chainrule.cli.train` (``chainrule train``)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
