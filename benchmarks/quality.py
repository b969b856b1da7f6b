"""Test scores of chainrule's MLP estimators against scikit-learn's, in one run.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/quality.py            # every row, 5 seeds (MNIST-1D 3)
    python benchmarks/quality.py --quick    # 2 seeds each, MNIST-1D at 60 epochs

Each pair of rows trains scikit-learn's estimator and chainrule's with the same
settings (except MNIST-1D, below) and ``random_state=seed``:

- digits: scikit-learn's 8x8 digits, a stratified 75/25 split per seed 0-4, raw pixel
  values (0-16); the classifiers with their defaults, with ``solver="lbfgs"``, and
  with plain SGD on ``learning_rate="invscaling"`` (``SGD_INVSCALING``); accuracy.
- MNIST-1D: 5000 signals generated locally by ``mnist1d.data.make_dataset`` (the
  package's default settings, seed 42), the data set's own 4000/1000 split; seeds
  0-2. scikit-learn: ``MLPClassifier((100, 100))``, the usual baseline. chainrule: the
  recipe below (wider layers, dropout, a larger rate with cosine decay, a fixed number
  of epochs); accuracy.
- diabetes: scikit-learn's diabetes data (442 rows, 10 features), a 75/25 split per
  seed, the target standardised on the training rows; ``MLPRegressor`` with
  ``REGRESSOR`` settings and ``loss="squared_error"``; R^2.
- counts: 2000 rows of 5 normal features and Poisson counts of mean
  ``exp(0.5 x0 - 0.3 x1 + 0.2 x2 x3)`` (drawn once, seed 7), a 75/25 split per seed;
  ``MLPRegressor`` with ``REGRESSOR`` settings and ``loss="poisson"``; D^2, the
  fraction of the Poisson deviance explained (``d2_tweedie_score(power=1)``).

BLAS runs on one thread (threadpoolctl) so that the timings compare the libraries,
not the machine's load. Scores are means (and min/max) over seeds; fit times are
medians, with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

MNIST1D_RECIPE: dict[str, Any] = {
    "hidden_layer_sizes": (256, 256),
    "dropout": 0.2,
    "learning_rate_init": 0.003,
    "learning_rate": "cosine",
    "batch_size": 100,
    "max_iter": 150,
    "n_iter_no_change": 150,  # never stop early: cosine decay sets the pace
}
SGD_INVSCALING: dict[str, Any] = {
    "solver": "sgd",
    "learning_rate": "invscaling",
    "learning_rate_init": 0.05,
    "power_t": 0.25,
}
REGRESSOR: dict[str, Any] = {"hidden_layer_sizes": (32,), "max_iter": 500}

Score = Callable[[Any, np.ndarray, np.ndarray], float]


def _score(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(model.score(X, y))


def _d2_poisson(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import d2_tweedie_score

    return float(d2_tweedie_score(y, model.predict(X), power=1))


def _run(make: Callable[[int], Any], splits: list[tuple], seeds: list[int], score: Score):
    scores, times = [], []
    for seed, (X_train, X_test, y_train, y_test) in zip(seeds, splits, strict=True):
        model = make(seed)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
        scores.append(score(model, X_test, y_test))
    return {"scores": scores, "time": statistics.median(times)}


def _row(task: str, metric: str, name: str, result: dict[str, Any]) -> str:
    s = result["scores"]
    return (
        f"| {task} | {metric} | {name} | {np.mean(s):.4f} | {min(s):.4f} - {max(s):.4f} | "
        f"{result['time']:.2f} s |"
    )


def _splits(X: np.ndarray, y: np.ndarray, seeds: list[int], **options: Any) -> list[tuple]:
    from sklearn.model_selection import train_test_split

    return [train_test_split(X, y, test_size=0.25, random_state=s, **options) for s in seeds]


def _standardised_targets(splits: list[tuple]) -> list[tuple]:
    """Each split's targets scaled by its training rows' mean and deviation."""
    scaled = []
    for X_train, X_test, y_train, y_test in splits:
        mean, std = y_train.mean(), y_train.std()
        scaled.append((X_train, X_test, (y_train - mean) / std, (y_test - mean) / std))
    return scaled


def _counts() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2000, 5))
    return X, rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.2 * X[:, 2] * X[:, 3]))


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and epochs")
    args = parser.parse_args(argv)

    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor
    from threadpoolctl import threadpool_limits

    from chainrule import MLPClassifier, MLPRegressor
    from chainrule.datasets import mnist1d

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    seeds = [0, 1] if args.quick else [0, 1, 2, 3, 4]
    mnist_seeds = [0, 1] if args.quick else [0, 1, 2]
    recipe = dict(MNIST1D_RECIPE, **({"max_iter": 60} if args.quick else {}))

    X, y = load_digits(return_X_y=True)
    digits = _splits(X, y, seeds, stratify=y)
    X1, y1 = mnist1d(num_samples=5000, seed=42)
    mnist = [(X1[:4000], X1[4000:], y1[:4000], y1[4000:])] * len(mnist_seeds)
    diabetes = _standardised_targets(_splits(*load_diabetes(return_X_y=True), seeds))
    counts = _splits(*_counts(), seeds)

    classifiers, regressors = (SkClassifier, MLPClassifier), (SkRegressor, MLPRegressor)

    def same(task, metric, splits, score, classes, name, **settings):
        """A pair of rows: both libraries' estimator with the same settings."""
        theirs, ours = (
            (name, lambda s, cls=cls: cls(**settings, random_state=s)) for cls in classes
        )
        return task, metric, splits, seeds, score, theirs, ours

    on_digits = ("digits", "accuracy", digits, _score, classifiers)
    # (data set, metric, splits, seeds, score, scikit-learn's (name, model), chainrule's)
    pairs = [
        same(*on_digits, "MLPClassifier()"),
        same(*on_digits, 'MLPClassifier(solver="lbfgs")', solver="lbfgs"),
        same(*on_digits, "MLPClassifier(**SGD_INVSCALING)", **SGD_INVSCALING),
        (
            "MNIST-1D",
            "accuracy",
            mnist,
            mnist_seeds,
            _score,
            ("MLPClassifier((100, 100))", lambda s: SkClassifier((100, 100), random_state=s)),
            ("MLPClassifier(**MNIST1D_RECIPE)", lambda s: MLPClassifier(random_state=s, **recipe)),
        ),
        same(
            "diabetes",
            "R^2",
            diabetes,
            _score,
            regressors,
            "MLPRegressor(**REGRESSOR)",
            **REGRESSOR,
        ),
        same(
            *("counts", "D^2", counts, _d2_poisson, regressors),
            'MLPRegressor(**REGRESSOR, loss="poisson")',
            **REGRESSOR,
            loss="poisson",
        ),
    ]
    rows, summary = [], []
    with threadpool_limits(limits=1):
        for task, metric, splits, task_seeds, score, (their_name, theirs), (
            our_name,
            ours,
        ) in pairs:
            their_result = _run(theirs, splits, task_seeds, score)
            our_result = _run(ours, splits, task_seeds, score)
            rows.append(_row(task, metric, f"scikit-learn {their_name}", their_result))
            rows.append(_row(task, metric, f"chainrule {our_name}", our_result))
            diff = np.mean(our_result["scores"]) - np.mean(their_result["scores"])
            ratio = our_result["time"] / their_result["time"]
            summary.append(
                f"{task}, {our_name}: chainrule - scikit-learn {metric} {diff:+.4f}; "
                f"fit time ratio {ratio:.2f}"
            )
            if task == "digits" and our_name == "MLPClassifier()":
                digits_ok = diff >= 0
            if task == "MNIST-1D":
                mnist_mean = float(np.mean(our_result["scores"]))
    print(f"seeds: {seeds} (MNIST-1D {mnist_seeds}); BLAS threads: 1")
    print("| data set | score | model | mean test score | min - max | median fit time |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print("\n".join(summary))
    print(f"digits target (>= scikit-learn mean): {'met' if digits_ok else 'NOT met'}")
    print(f"MNIST-1D target (>= 0.68 mean): {'met' if mnist_mean >= 0.68 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
