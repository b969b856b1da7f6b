"""``chainrule explain --steps N --plot DIR``: the training curves of the explained run."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._optional import require
from ..datasets.spec import Example
from ..learn.curves import training_curves
from .options import step_settings

FILENAME = "training-curves.png"


def add_plot_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--plot DIR`` to the ``explain`` parser."""
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help=f"also draw the error and each layer's gradient norm over the steps into "
        f"DIR/{FILENAME}, the plot extra (default: no plot)",
    )


def check_plot_dir(directory: str | None) -> None:
    """Refuse ``--plot DIR`` before anything is written: DIR a file, or no matplotlib."""
    if directory is None:
        return
    if Path(directory).exists() and not Path(directory).is_dir():
        raise ValueError(f"--plot must name a directory, got the file {directory!r}")
    try:
        require("matplotlib", "plot", "chainrule explain --plot")
    except ImportError as exc:
        raise ValueError(str(exc)) from None


def write_plots(args: argparse.Namespace, example: Example) -> None:
    """Draw the curves of the run ``chainrule explain`` explains into ``args.plot``."""
    if args.plot is None:
        return
    curves = training_curves(
        example.network,
        example.x,
        example.y,
        **step_settings(args, example),
        steps=args.steps,
        freeze_biases=args.freeze_biases,
    )
    directory = Path(args.plot)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--plot: {exc.strerror}: {directory}") from None
    curves.plot(directory / FILENAME)
