"""The estimators' docstrings document each constructor parameter (the API reference
renders them, with the signature and the inherited methods: see test_docs.py)."""

from __future__ import annotations

import inspect
import re

import pytest

pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")

from chainrule.estimators import MLPClassifier, MLPRegressor


def documented(cls) -> list[str]:
    doc = inspect.getdoc(cls)
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\n[A-Z]\w+\n-+\n", section)[0]  # up to the next section
    names = []
    for line in section.splitlines():
        match = re.match(r"^(\w+(?:, \w+)*) :", line)
        if match:
            names += match[1].split(", ")
    return names


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_each_constructor_parameter_is_documented(cls):
    parameters = list(inspect.signature(cls.__init__).parameters)[1:]
    assert documented(cls) == parameters
