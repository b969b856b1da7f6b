"""Which rows of the error-over-steps table an explanation shows.

A run of 40 steps or fewer shows every row. A longer one (``--steps 10000``) shows
the first ten steps, the steps at each multiple of a round number (about 20 of them)
and the last ten, with a note saying so: the shape of the curve without 10,001 rows.

Examples
--------
>>> rows, note = error_rows([1.0 / (1 + s) for s in range(10_001)])
>>> [step for step, _ in rows][9:16], len(rows)
([9, 10, 500, 1000, 1500, 2000, 2500], 40)
>>> note
'40 of 10001 rows shown: steps 0 to 10, each multiple of 500, and the last 10 steps'
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_ROWS = 41
"""Tables of up to this many rows (40 steps) are shown whole."""
EDGE = 10
"""Steps shown at the start (after step 0) and at the end of a long run."""
MIDDLE = 20
"""At most this many rows at round multiples in between."""


def error_rows(errors: Sequence[float]) -> tuple[list[tuple[int, float]], str]:
    """The ``(step, error)`` rows to show and a note (empty when every row is shown).

    Parameters
    ----------
    errors : sequence of float
        The batch error before step 1, after step 1, ..., after the last step.
    """
    if len(errors) <= MAX_ROWS:
        return list(enumerate(errors)), ""
    last = len(errors) - 1
    every = next(
        base * 10**power
        for power in range(len(str(last)) + 1)
        for base in (1, 2, 5)
        if last // (base * 10**power) <= MIDDLE
    )
    steps = sorted(
        set(range(EDGE + 1))
        | set(range(every, last, every))
        | set(range(last - EDGE + 1, last + 1))
    )
    note = (
        f"{len(steps)} of {len(errors)} rows shown: steps 0 to {EDGE}, each multiple of "
        f"{every}, and the last {EDGE} steps"
    )
    return [(step, errors[step]) for step in steps], note
