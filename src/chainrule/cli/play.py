"""``chainrule play``: write the interactive page for the seed or a spec file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..datasets.catalog import seed_example
from ..datasets.spec import load_spec
from ..io.atomic import atomic_write
from ..learn.play import play
from .options import Number, step_settings


def add_parser(commands: Any) -> None:
    """Register ``chainrule play`` on the ``commands`` of the main parser."""
    sub = commands.add_parser(
        "play",
        help="write an interactive page: step through a training step, edit it, train",
        description="Write one self-contained HTML page (no network needed) in which the "
        "learner steps through the forward and backward pass, edits x, y, the weights and "
        "the learning rate, and runs training steps with a live loss curve.",
    )
    sub.add_argument(
        "--spec",
        metavar="FILE",
        help="a JSON or TOML spec of the network and data (default: the seed notebook's)",
    )
    sub.add_argument(
        "--output",
        metavar="FILE.html",
        default="chainrule-play.html",
        help="where to write the page",
    )
    sub.add_argument("--loss", help="override the spec's loss, e.g. mse (default: the spec's)")
    sub.add_argument(
        "--reduction",
        choices=("mean", "sum"),
        help="override the batch reduction (default: the spec's)",
    )
    sub.add_argument(
        "--lr",
        type=Number(float, low=0, low_open=True),
        help="override the learning rate (default: the spec's)",
    )
    sub.add_argument("--freeze-biases", action="store_true", help="keep every bias fixed")
    sub.add_argument(
        "--l2",
        type=Number(float, low=0),
        help="override the L2 regularization (default: the spec's)",
    )
    sub.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the page; print where it went."""
    if Path(args.output).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--output must name an .html file, got {args.output!r}")
    example = load_spec(args.spec) if args.spec else seed_example()
    page = play(
        example.network,
        example.x,
        example.y,
        **step_settings(args, example),
        title=example.title,
        freeze_biases=args.freeze_biases,
    )
    try:
        atomic_write(args.output, page.html.encode("utf-8"))
    except OSError as exc:
        raise ValueError(f"--output: {exc.strerror}") from None
    size = len(page.html.encode("utf-8")) // 1024
    print(f"wrote {args.output} ({size} KB): open it in a browser")
    return 0
