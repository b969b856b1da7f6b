"""Looking a thing up by its name: aliases, any case, and a "did you mean" for near misses.

Every registry of named things (activations, losses, optimizers, schedules,
initializers, metrics, data sets) looks names up with :func:`lookup`, so that they all
accept names the same way and refuse an unknown one with the same message: what it
is, the name given, every known name (an alias beside the name it stands for) and,
for a near miss, the closest known names (:func:`difflib.get_close_matches`).

Examples
--------
>>> table = {"sigmoid": 1, "tanh": 2}
>>> lookup(table, "Logistic", "activation", aliases={"logistic": "sigmoid"})
1
>>> lookup(table, "sigmoud", "act", aliases={"logistic": "sigmoid"})
Traceback (most recent call last):
...
ValueError: unknown act 'sigmoud'; known: sigmoid (or logistic), tanh; did you mean 'sigmoid'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` (or ``'x' or 'y'``) for the close matches, else ``""``."""
    matches = difflib.get_close_matches(name.lower(), list(candidates), n=2, cutoff=0.6)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(m) for m in matches) + "?"


def unknown_name(
    name: str, kind: str, known: Iterable[str], aliases: Mapping[str, str] | None = None
) -> ValueError:
    """The error for a name not in ``known``: every known name, and the close ones.

    Parameters
    ----------
    name : str
        The name given.
    kind : str
        What it names, for the message (``"loss"``, ``"layer 2 activation"``).
    known : iterable of str
        The known names, listed in this order.
    aliases : mapping of str to str, optional
        Other names of known ones: listed beside them, and matched too.
    """
    aliases = dict(aliases or {})
    known = list(known)
    others: dict[str, list[str]] = {}
    for alias, target in aliases.items():
        others.setdefault(target, []).append(alias)
    listed = ", ".join(f"{k} (or {', '.join(others[k])})" if k in others else k for k in known)
    hint = did_you_mean(name, [*known, *aliases])
    return ValueError(f"unknown {kind} {name!r}; known: {listed}{hint}")


def lookup(
    table: Mapping[str, T],
    name: str,
    kind: str,
    *,
    aliases: Mapping[str, str] | None = None,
) -> T:
    """``table[name]``, the name taken in any case and through ``aliases``.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If it names nothing (see :func:`unknown_name`).
    """
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a name (str), got {name!r:.40}")
    key = name.lower()
    key = (aliases or {}).get(key, key)
    if key in table:
        return table[key]
    raise unknown_name(name, kind, sorted(table), aliases)
