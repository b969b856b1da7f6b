"""The ``chainrule`` command line: ``chainrule explain``, ``chainrule train`` and friends.

Errors in the input (a bad spec file, an unknown name, a shape mismatch) print one
line, ``chainrule: error: ...``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .cli_train import add_parser as add_train_parser
from .datasets import seed_example
from .explain import explain
from .spec import load_spec


def _explain(args: argparse.Namespace) -> int:
    example = load_spec(args.spec) if args.spec else seed_example()
    explanation = explain(
        example.network,
        example.x,
        example.y,
        lr=example.lr,
        loss=example.loss,
        reduction=example.reduction,
        steps=args.steps,
        title=example.title,
    )
    sys.stdout.write(explanation.render(precision=args.precision))
    return 0


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a number >= 1, got 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
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
    ex.add_argument("--spec", metavar="FILE", help="a JSON or TOML spec of the network and data")
    ex.add_argument("--steps", type=_positive_int, default=1, help="steps to train (default 1)")
    ex.add_argument(
        "--precision", type=_non_negative_int, default=6, help="digits shown (default 6)"
    )
    ex.set_defaults(handler=_explain)
    add_train_parser(commands, _positive_int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except (ValueError, TypeError) as exc:
        print(f"chainrule: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
