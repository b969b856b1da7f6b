"""The ``chainrule`` command line: ``chainrule explain``, ``chainrule train`` and friends.

Every failure prints one line, ``chainrule: error: ...``, and exits with status 2: bad
input (a spec file, an unknown name, a shape mismatch, an option out of its bounds), a
missing optional package (the line names the extra to install), a file that cannot be
written, a training run that diverges. A bare ``chainrule`` prints the help and exits
with status 2; ``--help`` shows every option's default.

A subcommand lives in a module with an ``add_parser(commands)`` function, called from
:func:`build_parser`; its parser is a :class:`~chainrule.cli.options.Parser`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .._optional import require
from .._version import __version__
from ..bench.run import add_arguments as add_bench_arguments
from ..bench.run import output_file, run_from_args
from ..datasets.catalog import seed_example
from ..datasets.spec import load_spec
from ..errors import DivergenceError
from ..explain import explain
from ..io.atomic import atomic_write
from . import learn, play, train
from .curves import add_plot_argument, check_plot_dir, write_plots
from .options import Number, Parser, step_settings, writable_file

# What a command may fail with, besides argparse's own errors: bad input, a missing
# optional package, a file system refusal, a diverged run. Anything else is a bug and
# keeps its traceback.
FAILURES = (ValueError, TypeError, ImportError, OSError, DivergenceError)


def _explain(args: argparse.Namespace) -> int:
    for option, path in (("--diagram", args.diagram), ("--graph", args.graph)):
        if path is not None and Path(path).suffix.lower() != ".svg":
            raise ValueError(f"{option} must name an .svg file, got {path!r}")
    check_plot_dir(args.plot)
    example = load_spec(args.spec) if args.spec else seed_example()
    explanation = explain(
        example.network,
        example.x,
        example.y,
        **step_settings(args, example),
        steps=args.steps,
        title=example.title,
        freeze_biases=args.freeze_biases,
        scalars=args.scalars,
        gradcheck=args.gradcheck,
    )
    links: dict[str, str] = {}
    if args.format == "markdown":
        # GitHub strips inline SVG: the Markdown links the --diagram and --graph files,
        # by their paths relative to the Markdown's folder.
        folder = Path(args.output).parent if args.output is not None else Path()
        for option in ("diagram", "graph"):
            path = getattr(args, option)
            if path is not None:
                links[option] = Path(os.path.relpath(path, folder)).as_posix()
    text = explanation.render(
        args.format, precision=args.precision, derive=args.derive, level=args.level, **links
    )
    if args.output is None:
        sys.stdout.write(text)
    else:
        _write(args.output, text, "--output")
    if args.diagram is not None:
        _write(args.diagram, explanation.diagram(), "--diagram")
    if args.graph is not None:
        _write(args.graph, explanation.graph(), "--graph")
    write_plots(args, example)
    return 0


def _write(path: str, text: str, option: str) -> None:
    # Atomic: a crash or a full disk leaves the previous file, never a torn one.
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise ValueError(f"{option}: {exc.strerror}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog="chainrule", description="Neural networks built on explicit, readable backpropagation."
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ex = commands.add_parser(
        "explain",
        help="explain one training step, value by value (default: the seed notebook's example)",
        description="Print the forward pass, the error, every partial derivative, the update "
        "and the error before and after, in the seed notebook's names.",
    )
    ex.add_argument(
        "--spec",
        metavar="FILE",
        help="a JSON or TOML spec of the network and data (default: the seed notebook's)",
    )
    ex.add_argument("--steps", type=Number(int, low=1), default=1, help="steps to train")
    ex.add_argument("--precision", type=Number(int, low=0), default=6, help="digits shown")
    ex.add_argument(
        "--format",
        choices=("text", "markdown", "latex", "html"),
        default="text",
        help="text (the notebook's look), markdown (LaTeX maths), latex (a pdflatex "
        "document) or html (one self-contained page)",
    )
    ex.add_argument(
        "--output", metavar="FILE", help="write the explanation to FILE (default: print it)"
    )
    ex.add_argument(
        "--diagram",
        metavar="FILE.svg",
        help="also write the network diagram (SVG) (default: no diagram)",
    )
    ex.add_argument(
        "--graph",
        metavar="FILE.svg",
        help="also write the computational graph (SVG), one node per operation (default: no graph)",
    )
    ex.add_argument(
        "--level",
        choices=("full", "summary"),
        default="full",
        help="full or summary: formulas and values, no entry-by-entry expansion",
    )
    ex.add_argument(
        "--l2",
        type=Number(float, low=0),
        help="override the spec's L2 regularization (default: the spec's)",
    )
    ex.add_argument(
        "--derive",
        action="store_true",
        help="text: follow each value with its derivation, entry by entry, and the checks",
    )
    ex.add_argument(
        "--loss",
        help="override the spec's loss, e.g. half_squared_error or mse (default: the spec's)",
    )
    ex.add_argument(
        "--reduction",
        choices=("mean", "sum"),
        help="override the batch reduction (default: the spec's)",
    )
    ex.add_argument(
        "--lr",
        type=Number(float, low=0, low_open=True),
        help="override the learning rate (default: the spec's)",
    )
    ex.add_argument("--freeze-biases", action="store_true", help="keep every bias fixed")
    ex.add_argument(
        "--scalars",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write out every weight's chain of factors (default: for up to 10 neurons)",
    )
    ex.add_argument(
        "--gradcheck",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="central differences beside the gradients (default: up to 2000 parameters)",
    )
    add_plot_argument(ex)
    ex.set_defaults(handler=_explain)
    train.add_parser(commands)
    learn.add_parser(commands)
    play.add_parser(commands)
    bench = commands.add_parser(
        "bench",
        help="time one epoch against the matrix-product floor, NumPy, PyTorch and scikit-learn",
        description="One epoch of the reference workload in every implementation, round-robin, "
        "BLAS threads pinned; prints medians and ratios, writes JSON (needs the bench extra).",
    )
    add_bench_arguments(bench, default_output=".")
    bench.set_defaults(handler=_bench)
    return parser


def _bench(args: argparse.Namespace) -> int:
    require("threadpoolctl", "bench", "chainrule bench")
    writable_file(output_file(args.output), "--output")  # before the minutes of timing
    return run_from_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse's own errors, and
    ``--help``, exit through ``SystemExit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse's errors exit with status 2 (one line)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.handler(args)
    except FAILURES as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception held
        print(f"chainrule: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
