"""``chainrule train``: train an MLP classifier on a named data set and report test metrics.

Needs the ``sklearn`` extra (estimator, split, metrics); ``mnist1d`` needs the
``datasets`` extra, the progress bar the ``progress`` extra and ``--plot`` the
``plot`` extra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = ("digits", "mnist1d", "iris", "breast_cancer", "moons", "spirals", "xor")


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 64,32, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 64,32, got {text!r}")
    return sizes


def add_parser(commands: Any, positive_int: Any) -> None:
    """Add the ``train`` subcommand to the CLI's subparsers."""
    tr = commands.add_parser(
        "train",
        help="train an MLP classifier on a data set and print its test metrics",
        description="Train chainrule's MLPClassifier with a progress bar, then print the "
        "test metrics and a classification report.",
    )
    tr.add_argument("--dataset", choices=DATASETS, default="digits")
    tr.add_argument("--hidden", type=_sizes, default=(100,), help="layer sizes, e.g. 64,32")
    tr.add_argument("--activation", default="relu", help="relu, tanh, logistic, ...")
    tr.add_argument("--optimizer", choices=("adam", "adamw", "sgd"), default="adam")
    tr.add_argument("--epochs", type=positive_int, default=200, help="max epochs (200)")
    tr.add_argument("--batch-size", type=positive_int, default=None, help="default: min(200, n)")
    tr.add_argument("--lr", type=float, default=0.001, help="initial learning rate (0.001)")
    tr.add_argument("--schedule", choices=("constant", "adaptive", "cosine"), default="constant")
    tr.add_argument("--alpha", type=float, default=0.0001, help="L2 penalty (0.0001)")
    tr.add_argument("--dropout", type=float, default=0.0, help="hidden-layer dropout rate")
    tr.add_argument("--early-stopping", action="store_true", help="stop on validation score")
    tr.add_argument(
        "--patience", type=positive_int, default=10, help="epochs without improvement (10)"
    )
    tr.add_argument("--scale", action="store_true", help="standardize the features first")
    tr.add_argument("--test-size", type=float, default=0.25, help="held-out fraction (0.25)")
    tr.add_argument("--seed", type=int, default=0, help="random seed (0)")
    tr.add_argument(
        "--plot",
        metavar="DIR",
        help="write PNG figures to DIR: loss curves, gradient norms, weights, decision regions",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(handler=run)


def _split(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    from sklearn.model_selection import train_test_split

    from ..datasets import catalog as datasets

    X, y = datasets.load(args.dataset)
    if args.dataset == "mnist1d":  # the data set's own 4000 / 1000 split
        return X[:4000], X[4000:], y[:4000], y[4000:]
    if args.dataset == "xor":  # four points: train and test on them all
        return X, X, y, y
    return train_test_split(X, y, test_size=args.test_size, stratify=y, random_state=args.seed)


def run(args: argparse.Namespace) -> int:
    """Train and report; returns the exit status."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..estimators.mlp import MLPClassifier
    from ..evaluation.metrics import classification_metrics, classification_report

    if not 0 < args.test_size < 1:
        raise ValueError(f"--test-size must be in (0, 1), got {args.test_size}")
    verbose = 0
    if not args.quiet:
        try:
            import tqdm  # noqa: F401

            verbose = 1
        except ImportError:
            verbose = 2  # a line per epoch instead of a bar
    X_train, X_test, y_train, y_test = _split(args)
    norms = _gradient_norms(X_train, y_train, args.scale) if args.plot else None
    clf = MLPClassifier(
        hidden_layer_sizes=args.hidden,
        activation=args.activation,
        solver=args.optimizer,
        alpha=args.alpha,
        batch_size=args.batch_size or "auto",
        learning_rate=args.schedule,
        learning_rate_init=args.lr,
        max_iter=args.epochs,
        early_stopping=args.early_stopping,
        n_iter_no_change=args.patience,
        dropout=args.dropout,
        random_state=args.seed,
        verbose=verbose,
        callbacks=[norms] if norms is not None else None,
    )
    model = make_pipeline(StandardScaler(), clf) if args.scale else clf
    model.fit(X_train, y_train)
    y_pred = model.predict(X_test)
    proba = model.predict_proba(X_test) if len(clf.classes_) == 2 else None
    found = classification_metrics(y_test, y_pred, proba)
    out = sys.stdout
    out.write(f"dataset {args.dataset}: {len(y_train)} train, {len(y_test)} test instances\n")
    out.write(f"stopped after {clf.n_iter_} epochs ({clf.history_.stop_reason})\n")
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

    from ..training.callbacks import GradientNorms

    X_probe = StandardScaler().fit_transform(X) if scale else np.asarray(X, dtype=float)
    Y = LabelBinarizer().fit_transform(y).astype(float)
    loss = "cross_entropy" if Y.shape[1] > 1 else "binary_cross_entropy"
    return GradientNorms(X_probe[:500], Y[:500], loss)


def _plots(folder: str, model: Any, clf: Any, norms: Any, X: Any, y: Any) -> list[Path]:
    """Write the figures; decision regions only for 2-D inputs."""
    from ..evaluation import plots as plot

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "history.png", out / "gradient_norms.png", out / "weights.png"]
    plot.plot_history(clf.history_, paths[0])
    plot.plot_gradient_norms(norms, paths[1])
    plot.plot_weight_histograms(clf.network_, paths[2])
    if np.asarray(X).shape[1] == 2:
        paths.append(out / "decision_regions.png")
        plot.plot_decision_regions(_Predictor(model, clf), X, y, paths[-1])
    return paths


class _Predictor:
    """The fitted model (maybe a pipeline) with the classifier's classes and dtype."""

    def __init__(self, model: Any, clf: Any) -> None:
        self.predict, self.classes_, self.network_ = model.predict, clf.classes_, clf.network_
