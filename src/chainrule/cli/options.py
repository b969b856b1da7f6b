"""The command line's parser: one-line errors, every default in ``--help``, number
options that state the bound they enforce, and output paths checked before a long run.

Every subcommand's parser is a :class:`Parser` (``add_subparsers`` makes its parsers of
the parent's class), so a new subcommand gets all three by adding its options as usual;
a number option takes ``type=Number(...)``.

Examples
--------
>>> steps = Number(int, low=1)
>>> str(steps), steps("3")
('a whole number >= 1', 3)
>>> steps("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: expected a whole number >= 1, got 0
>>> str(Number(float, low=0, high=1, high_open=True))
'a number in [0, 1)'
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path
from typing import Any, NoReturn

from ..datasets.spec import Example
from ..names import did_you_mean


class Number:
    """An argparse ``type``: a whole or finite number within bounds, which ``str`` states.

    Parameters
    ----------
    kind : int or float
    low, high : float, optional
        The bounds; None for none.
    low_open, high_open : bool
        Whether the bound itself is excluded.
    """

    def __init__(
        self,
        kind: type[int] | type[float],
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        self.kind, self.low, self.high = kind, low, high
        self.low_open, self.high_open = low_open, high_open
        self.__name__ = "whole number" if kind is int else "number"  # argparse's messages

    def _bounds(self) -> str:
        low, high = self.low, self.high
        if low is not None and high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f" in {left}{low:g}, {high:g}{right}"
        if low is not None:
            return f" {'>' if self.low_open else '>='} {low:g}"
        if high is not None:
            return f" {'<' if self.high_open else '<='} {high:g}"
        return ""

    def __str__(self) -> str:
        return ("a whole number" if self.kind is int else "a number") + self._bounds()

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {self}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected {self}, got {text}")
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        if below or above:
            raise argparse.ArgumentTypeError(f"expected {self}, got {text}")
        return value


class HelpFormatter(argparse.HelpFormatter):
    """Each option's help ends with what it accepts (for a :class:`Number`) and its default.

    An option whose default is None must say in its help what that means (the word
    ``default`` in the text); booleans show ``on`` or ``off``.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        notes = []
        if isinstance(action.type, Number):
            if "(default: " in text:  # the help's own words for the default: the bound first
                return text.replace("(default: ", f"({action.type}; default: ", 1)
            notes.append(str(action.type))
        if "default" not in text and action.default is not None:
            default = action.default
            if isinstance(default, bool):
                shown = "on" if default else "off"
            elif isinstance(default, tuple | list):
                shown = ",".join(str(v) for v in default)
            else:
                shown = "%(default)s"
            notes.append(f"default: {shown}")
        return f"{text} ({'; '.join(notes)})" if notes else text


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` with :class:`HelpFormatter` whose errors are one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` as one line and exit with status 2; an invalid
        choice gets a "did you mean" for its near misses."""
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            message += did_you_mean(choice[1], re.findall(r"'([^']*)'", choice[2]))
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def writable_folder(path: str | os.PathLike[str], option: str) -> None:
    """Raise ``ValueError`` unless ``path`` is a folder that can be written, or can be
    created (its nearest existing ancestor is a writable folder). Creates nothing: it is
    checked before a long run, which may then fail for another reason."""
    existing = Path(path).absolute()
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{option}: {str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option}: cannot write in {str(existing)!r} (permission denied)")


def writable_file(path: str | os.PathLike[str], option: str) -> None:
    """Raise ``ValueError`` unless a file can be written at ``path`` (see
    :func:`writable_folder`, for its folder)."""
    if Path(path).is_dir():
        raise ValueError(f"{option}: {str(path)!r} is a folder, not a file")
    writable_folder(Path(path).absolute().parent, option)


def step_settings(args: argparse.Namespace, example: Example) -> dict[str, Any]:
    """The step's ``lr``, ``loss``, ``reduction`` and ``l2``: the spec's (or the seed's),
    each replaced by its command-line option where one was given."""
    settings = {
        "lr": example.lr,
        "loss": example.loss,
        "reduction": example.reduction,
        "l2": example.l2,
    }
    return {
        key: value if getattr(args, key) is None else getattr(args, key)
        for key, value in settings.items()
    }
