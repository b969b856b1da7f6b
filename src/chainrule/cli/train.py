"""``chainrule train``: train an MLP classifier on a named data set and report test metrics.

It trains chainrule's :class:`~chainrule.estimators.MLPClassifier`: ``--optimizer`` is
its ``solver`` (``adam``, ``adamw``, ``sgd`` or ``lbfgs``). ``lbfgs`` minimises the loss
over all training rows at once (scipy's L-BFGS-B, ``--epochs`` its iterations), so the
options of the stochastic optimizers (``--batch-size``, ``--lr``, ``--schedule``,
``--dropout``, ``--early-stopping``, ``--patience``) are refused with it rather than
ignored, and ``--plot`` draws no gradient norms (it has no epochs to record them in).

Needs the ``sklearn`` extra (estimator, split, metrics, and threadpoolctl for
``--threads``); ``mnist1d`` needs the ``datasets`` extra and ``--plot`` the ``plot``
extra, both checked before training starts. With the ``progress`` extra (tqdm) training
shows a progress bar, else a line per epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..datasets import catalog as datasets
from ..evaluation import plots as plot
from ..evaluation.metrics import classification_metrics, classification_report
from ..training.callbacks import Callback, GradientNorms
from .options import Number, writable_folder

DATASETS = ("digits", "mnist1d", "iris", "breast_cancer", "moons", "spirals", "xor")
# MLPClassifier's solvers (its settings module needs scikit-learn, which --help must not;
# a test checks that the two lists agree).
OPTIMIZERS = ("adam", "adamw", "sgd", "lbfgs")
# The defaults of the options that only the stochastic optimizers take; None in the
# parser, so that an option given with lbfgs is seen and refused.
STOCHASTIC_DEFAULTS = {"lr": 0.001, "schedule": "constant", "patience": 10}


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 64,32, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 64,32, got {text!r}")
    return sizes


def add_parser(commands: Any) -> None:
    """Add the ``train`` subcommand to the CLI's subparsers."""
    tr = commands.add_parser(
        "train",
        help="train an MLP classifier on a data set and print its test metrics",
        description="Train chainrule's MLPClassifier with a progress bar, then print the "
        "test metrics and a classification report.",
    )
    whole, positive = Number(int, low=1), Number(float, low=0, low_open=True)
    tr.add_argument("--dataset", choices=DATASETS, default="digits", help="the data set")
    tr.add_argument("--hidden", type=_sizes, default=(100,), help="layer sizes, e.g. 64,32")
    tr.add_argument(
        "--activation", default="relu", help="hidden activation: relu, tanh, logistic, ..."
    )
    tr.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="adam",
        help="MLPClassifier's solver: adam, adamw, sgd (momentum 0.9, Nesterov, as "
        "scikit-learn's) or lbfgs (scipy's L-BFGS-B over all rows at once, --epochs "
        "iterations at most; the options of the other three are refused with it)",
    )
    tr.add_argument("--epochs", type=whole, default=200, help="epochs at most")
    tr.add_argument(
        "--batch-size", type=whole, default=None, help="instances per update (default: min(200, n))"
    )
    tr.add_argument(
        "--lr",
        type=positive,
        default=None,
        help=f"initial learning rate (default: {STOCHASTIC_DEFAULTS['lr']:g})",
    )
    tr.add_argument(
        "--schedule",
        choices=("constant", "adaptive", "cosine"),
        default=None,
        help=f"learning-rate schedule (default: {STOCHASTIC_DEFAULTS['schedule']})",
    )
    tr.add_argument("--alpha", type=Number(float, low=0), default=0.0001, help="L2 penalty")
    tr.add_argument(
        "--dropout",
        type=Number(float, low=0, high=1, high_open=True),
        default=0.0,
        help="hidden-layer dropout rate",
    )
    tr.add_argument("--early-stopping", action="store_true", help="stop on validation score")
    tr.add_argument(
        "--patience",
        type=whole,
        default=None,
        help="epochs without improvement before stopping early "
        f"(default: {STOCHASTIC_DEFAULTS['patience']})",
    )
    tr.add_argument("--scale", action="store_true", help="standardize the features first")
    tr.add_argument(
        "--test-size",
        type=Number(float, low=0, high=1, low_open=True, high_open=True),
        default=0.25,
        help="held-out fraction",
    )
    tr.add_argument("--seed", type=Number(int, low=0), default=0, help="random seed")
    tr.add_argument(
        "--threads",
        type=whole,
        default=None,
        help="BLAS threads while training (default: the BLAS libraries' own choice)",
    )
    tr.add_argument(
        "--plot",
        metavar="DIR",
        help="write PNG figures to DIR: loss curves, gradient norms (not with lbfgs), weights, "
        "decision regions (default: no figures)",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    tr.set_defaults(handler=run)


def _split(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    from sklearn.model_selection import train_test_split

    X, y = datasets.load(args.dataset)
    if args.dataset == "mnist1d":  # the data set's own 4000 / 1000 split
        return X[:4000], X[4000:], y[:4000], y[4000:]
    if args.dataset == "xor":  # four points: train and test on them all
        return X, X, y, y
    return train_test_split(X, y, test_size=args.test_size, stratify=y, random_state=args.seed)


class EpochLines(Callback):
    """A line per epoch on stderr (where the progress bar would be): the run without tqdm."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, epoch: int, logs: dict[str, float], network: Any) -> bool:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in logs.items())
        print(f"epoch {epoch + 1}/{self.epochs}: {shown}", file=sys.stderr)
        return False


def _has_tqdm() -> bool:
    try:
        import tqdm.auto  # noqa: F401
    except ImportError:
        return False
    return True


def _blas_threads(threads: int | None) -> Any:
    """A context pinning the BLAS libraries to ``threads`` (no change for None)."""
    if threads is None:
        return contextlib.nullcontext()
    threadpoolctl = require("threadpoolctl", "sklearn", "--threads")
    return threadpoolctl.threadpool_limits(limits=threads, user_api="blas")


def _stochastic_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--lr``, ``--schedule`` and ``--patience`` as given or by default; with
    ``--optimizer lbfgs``, a ``ValueError`` naming each option of the stochastic
    optimizers that was given (lbfgs would ignore it)."""
    if args.optimizer == "lbfgs":
        used = {
            "--batch-size": args.batch_size is not None,
            "--lr": args.lr is not None,
            "--schedule": args.schedule is not None,
            "--patience": args.patience is not None,
            "--dropout": args.dropout > 0,
            "--early-stopping": args.early_stopping,
        }
        given = [option for option, was_given in used.items() if was_given]
        if given:
            raise ValueError(
                f"{', '.join(given)}: only for the stochastic optimizers (--optimizer adam, "
                "adamw or sgd); lbfgs trains on all rows at once"
            )
    return {
        name: default if getattr(args, name) is None else getattr(args, name)
        for name, default in STOCHASTIC_DEFAULTS.items()
    }


def run(args: argparse.Namespace) -> int:
    """Train and report; returns the exit status."""
    stochastic = _stochastic_settings(args)  # before anything is loaded
    require("sklearn", "sklearn", "chainrule train")
    if args.plot:  # before the data are loaded and the model trained, not after
        require("matplotlib", "plot", "--plot")
        writable_folder(args.plot, "--plot")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..estimators.mlp import MLPClassifier

    # The bar when tqdm is there; else a line per epoch: the sklearn extra is enough.
    # L-BFGS has no epochs (no bar, no callbacks): its verbose lines, one per iteration.
    lbfgs = args.optimizer == "lbfgs"
    bar = not args.quiet and not lbfgs and _has_tqdm()
    lines = [EpochLines(args.epochs)] if not args.quiet and not bar and not lbfgs else []
    X_train, X_test, y_train, y_test = _split(args)
    norms = _gradient_norms(X_train, y_train, args.scale) if args.plot and not lbfgs else None
    clf = MLPClassifier(
        hidden_layer_sizes=args.hidden,
        activation=args.activation,
        solver=args.optimizer,
        alpha=args.alpha,
        batch_size=args.batch_size or "auto",
        learning_rate=stochastic["schedule"],
        learning_rate_init=stochastic["lr"],
        max_iter=args.epochs,
        early_stopping=args.early_stopping,
        n_iter_no_change=stochastic["patience"],
        dropout=args.dropout,
        random_state=args.seed,
        verbose="progress" if bar else (lbfgs and not args.quiet),
        callbacks=[*lines, *([norms] if norms is not None else [])] or None,
    )
    model = make_pipeline(StandardScaler(), clf) if args.scale else clf
    # Training's lines go where the bar would be, stdout keeps the results.
    with _blas_threads(args.threads), contextlib.redirect_stdout(sys.stderr):
        model.fit(X_train, y_train)
    y_pred = model.predict(X_test)
    proba = model.predict_proba(X_test) if len(clf.classes_) == 2 else None
    found = classification_metrics(y_test, y_pred, proba)
    out = sys.stdout
    out.write(f"dataset {args.dataset}: {len(y_train)} train, {len(y_test)} test instances\n")
    unit = "iterations" if lbfgs else "epochs"
    out.write(f"stopped after {clf.n_iter_} {unit} ({clf.history_.stop_reason})\n")
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        if name in found:
            out.write(f"test {name}: {found[name]:.4f}\n")
    out.write("confusion matrix (rows: true labels " + f"{found['labels'].tolist()}):\n")
    out.write(np.array2string(found["confusion_matrix"]) + "\n")
    out.write(classification_report(y_test, y_pred))
    if args.plot:
        for path in _plots(args.plot, model, clf, norms, X_train, y_train):
            out.write(f"figure written to {path}\n")
    return 0


def _gradient_norms(X: Any, y: Any, scale: bool) -> Any:
    """A GradientNorms callback on up to 500 training rows, encoded as the network sees them."""
    from sklearn.preprocessing import LabelBinarizer, StandardScaler

    X_probe = StandardScaler().fit_transform(X) if scale else np.asarray(X, dtype=float)
    Y = LabelBinarizer().fit_transform(y).astype(float)
    loss = "cross_entropy" if Y.shape[1] > 1 else "binary_cross_entropy"
    return GradientNorms(X_probe[:500], Y[:500], loss)


def _plots(folder: str, model: Any, clf: Any, norms: Any, X: Any, y: Any) -> list[Path]:
    """Write the figures; gradient norms where they were recorded (not with lbfgs),
    decision regions only for 2-D inputs."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "history.png", out / "weights.png"]
    plot.plot_history(clf.history_, paths[0])
    plot.plot_weight_histograms(clf.network_, paths[1])
    if norms is not None:
        paths.append(out / "gradient_norms.png")
        plot.plot_gradient_norms(norms, paths[-1])
    if np.asarray(X).shape[1] == 2:
        paths.append(out / "decision_regions.png")
        plot.plot_decision_regions(_Predictor(model, clf), X, y, paths[-1])
    return paths


class _Predictor:
    """The fitted model (maybe a pipeline) with the classifier's classes and dtype."""

    def __init__(self, model: Any, clf: Any) -> None:
        self.predict, self.classes_, self.network_ = model.predict, clf.classes_, clf.network_
