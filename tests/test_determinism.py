"""Determinism: the same seed gives bit-identical weights and losses, in and across processes.

Both runs use this machine and the BLAS threads the environment sets (the child
processes inherit it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from . import _resume_run
from ._seeded_run import run

SCRIPT = Path(__file__).with_name("_seeded_run.py")
FIT_SCRIPT = Path(__file__).with_name("_resume_run.py")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_bits_in_one_process(dtype):
    first, second = run(11, dtype), run(11, dtype)
    assert first == second
    assert run(12, dtype)[0] != first[0]  # the seed matters, so the check can fail


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_bits_across_processes(dtype):
    here = run(11, dtype)
    results = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, str(SCRIPT), "11", dtype], capture_output=True, text=True, check=True
        ).stdout
        results.append(tuple(json.loads(out)))
    assert results[0] == results[1] == (here[0], here[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_same_seed_same_bits_in_one_process_and_across_processes(dtype):
    """fit with shuffling, dropout, a validation split, a schedule and L2: the weights'
    SHA-256 and every history value (as float hex) agree, here and in two children."""
    here = _resume_run.run(None, dtype=dtype)
    assert _resume_run.run(None, dtype=dtype) == here
    assert _resume_run.run(None, init_seed=1, dtype=dtype)["weights"] != here["weights"]
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, str(FIT_SCRIPT), "-", dtype],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out.strip().splitlines()[-1]) == json.loads(json.dumps(here))
