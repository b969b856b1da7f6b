"""``chainrule exercise`` and ``chainrule check``: worksheets, and the learner's answers graded.

``chainrule exercise`` writes a worksheet (one training step, chosen quantities blank)
and its answer key; ``chainrule check WORKSHEET ANSWERS`` grades an answers file
against it, names the mistake behind each wrong answer, and exits with status 0 when
every answer given is right, 1 otherwise (2 for a usage error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_write
from ..learn.exercise import GROUPS, Exercise, read_answers
from ..learn.grading import Tolerance
from .options import Number, writable_file

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".html": "html"}
SUFFIX_OF = {"markdown": ".md", "latex": ".tex", "html": ".html"}


def _write(path: str, text: str, option: str) -> None:
    # Atomic: a crash or a full disk leaves the previous file, never a torn one.
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise ValueError(f"{option}: {exc.strerror}") from None


def _format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return args.format
    if args.output is None:
        return "markdown"
    suffix = Path(args.output).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"--output {args.output!r}: give --format, or a name ending in "
            f"{', '.join(SUFFIXES)}; got {suffix!r}"
        )
    return SUFFIXES[suffix]


def _exercise(args: argparse.Namespace) -> int:
    for option, value in (("--seed", args.seed), ("--difficulty", args.difficulty)):
        if value is not None and not args.random:
            raise ValueError(f"{option} applies to --random worksheets only")
    fmt = _format(args)
    for option, path in (("--output", args.output), ("--answers", args.answers)):
        if path is not None:
            writable_file(path, option)
    tolerance = Tolerance(rtol=args.rtol, atol=args.atol)
    if args.random:
        exercise = Exercise.random(args.seed or 0, args.difficulty or 1, args.blank, tolerance)
    elif args.spec:
        exercise = Exercise.from_spec(args.spec, args.blank, tolerance)
    else:
        exercise = Exercise.seed(args.blank, tolerance)
    exercise.precision = args.precision
    sheet = exercise.worksheet(fmt)
    key = args.answers
    if key is None and args.output is not None:
        out = Path(args.output)
        key = str(out.with_name(f"{out.stem}-answers{out.suffix or SUFFIX_OF[fmt]}"))
    if args.output is None:
        sys.stdout.write(sheet)
    else:
        _write(args.output, sheet, "--output")
    if key is not None:
        _write(key, exercise.answer_key(fmt), "--answers")
        if args.output is not None:
            print(f"wrote the worksheet to {args.output} and its answer key to {key}")
    return 0


def _check(args: argparse.Namespace) -> int:
    exercise = Exercise.load(args.worksheet)
    answers = read_answers(args.answers)
    report = exercise.grade(answers)
    sys.stdout.write(str(report))
    return 0 if report.passed else 1


def add_parser(commands: Any) -> None:
    """Add the ``exercise`` and ``check`` subcommands to the CLI's subparsers."""
    ex = commands.add_parser(
        "exercise",
        help="write a worksheet: one training step with chosen quantities to work out",
        description="Write a worksheet (the seed's step by default, a spec's, or a random "
        "small network's) with chosen quantities left blank, and its answer key. Check "
        "answers with `chainrule check`.",
    )
    source = ex.add_mutually_exclusive_group()
    source.add_argument(
        "--spec",
        metavar="FILE",
        help="a JSON or TOML spec, as for explain (default: the seed's step)",
    )
    source.add_argument("--random", action="store_true", help="a random small network")
    ex.add_argument(
        "--seed", type=Number(int, low=0), help="the random worksheet's seed (default: 0)"
    )
    ex.add_argument(
        "--difficulty",
        type=int,
        choices=(1, 2, 3),
        help="random worksheets: 1 two small sigmoid layers, one instance; 2 up to three "
        "layers, a batch of up to two; 3 every activation and loss, batches, mean or sum "
        "(default: 1)",
    )
    ex.add_argument(
        "--blank",
        default=",".join(GROUPS),
        help=f"groups ({', '.join(GROUPS)}) and quantity names (e.g. dEdW1) to leave blank, "
        "separated by commas",
    )
    ex.add_argument(
        "--format",
        choices=("markdown", "latex", "html"),
        help="markdown, latex (a pdflatex document) or html (one self-contained page); "
        "default: from the --output name, else markdown",
    )
    ex.add_argument(
        "--output", metavar="FILE", help="write the worksheet to FILE (default: standard output)"
    )
    ex.add_argument(
        "--answers",
        metavar="FILE",
        help="write the answer key to FILE (default with --output: NAME-answers next to it)",
    )
    ex.add_argument("--precision", type=Number(int, low=1, high=16), default=6, help="digits shown")
    ex.add_argument(
        "--rtol",
        type=Number(float, low=0, high=1, high_open=True),
        default=Tolerance.rtol,
        help="relative tolerance of an answer's entries",
    )
    ex.add_argument(
        "--atol",
        type=Number(float, low=0, high=1, high_open=True),
        default=Tolerance.atol,
        help="absolute tolerance of an answer's entries",
    )
    ex.set_defaults(handler=_exercise)

    ch = commands.add_parser(
        "check",
        help="grade a worksheet's answers; name the mistake behind each wrong one",
        description="Grade an answers file (TOML or JSON, e.g. dEdW1 = [[0.0011, -0.0013], "
        "[0.0002, -0.0003]]; some blanks may be left out) against a worksheet made by "
        "`chainrule exercise`. Exit status 0 when every answer given is right, 1 otherwise.",
    )
    ch.add_argument("worksheet", metavar="WORKSHEET", help="the worksheet (.md, .tex or .html)")
    ch.add_argument("answers", metavar="ANSWERS", help="the answers file (.toml or .json)")
    ch.set_defaults(handler=_check)
