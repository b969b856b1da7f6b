"""Test accuracy of chainrule's MLPClassifier against scikit-learn's, in one run.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/quality.py            # digits (5 seeds) and MNIST-1D (3 seeds)
    python benchmarks/quality.py --quick    # 2 seeds each, MNIST-1D at 60 epochs

Digits: scikit-learn's 8x8 digits, a stratified 75/25 split per seed 0-4, raw pixel
values (0-16); both libraries with their default settings and ``random_state=seed``.

MNIST-1D: 5000 signals generated locally by ``mnist1d.data.make_dataset`` (the
package's default settings, seed 42), the data set's own 4000/1000 split; seeds 0-2.
scikit-learn: ``MLPClassifier((100, 100))``, the usual baseline. chainrule:
the recipe below (wider layers, dropout, a larger rate with cosine decay, a fixed
number of epochs).

BLAS runs on one thread (threadpoolctl) so that the timings compare the libraries,
not the machine's load. Accuracies are means (and min/max) over seeds; fit times are
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


def _run(make: Callable[[int], Any], splits: list[tuple], seeds: list[int]) -> dict[str, Any]:
    scores, times = [], []
    for seed, (X_train, X_test, y_train, y_test) in zip(seeds, splits, strict=True):
        model = make(seed)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
        scores.append(float(model.score(X_test, y_test)))
    return {"scores": scores, "time": statistics.median(times)}


def _row(task: str, name: str, result: dict[str, Any]) -> str:
    s = result["scores"]
    return (
        f"| {task} | {name} | {np.mean(s):.4f} | {min(s):.4f} - {max(s):.4f} | "
        f"{result['time']:.2f} s |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and epochs")
    args = parser.parse_args(argv)

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SklearnMLP
    from threadpoolctl import threadpool_limits

    from chainrule import MLPClassifier
    from chainrule.datasets import mnist1d

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    digit_seeds = [0, 1] if args.quick else [0, 1, 2, 3, 4]
    mnist_seeds = [0, 1] if args.quick else [0, 1, 2]
    recipe = dict(MNIST1D_RECIPE, **({"max_iter": 60} if args.quick else {}))

    X, y = load_digits(return_X_y=True)
    digit_splits = [
        train_test_split(X, y, test_size=0.25, stratify=y, random_state=s) for s in digit_seeds
    ]
    X1, y1 = mnist1d(num_samples=5000, seed=42)
    mnist_split = (X1[:4000], X1[4000:], y1[:4000], y1[4000:])
    mnist_splits = [mnist_split] * len(mnist_seeds)

    rows = []
    with threadpool_limits(limits=1):
        results = {
            ("digits", "scikit-learn MLPClassifier()"): _run(
                lambda s: SklearnMLP(random_state=s), digit_splits, digit_seeds
            ),
            ("digits", "chainrule MLPClassifier()"): _run(
                lambda s: MLPClassifier(random_state=s), digit_splits, digit_seeds
            ),
            ("MNIST-1D", "scikit-learn MLPClassifier((100, 100))"): _run(
                lambda s: SklearnMLP((100, 100), random_state=s), mnist_splits, mnist_seeds
            ),
            ("MNIST-1D", "chainrule MLPClassifier(**MNIST1D_RECIPE)"): _run(
                lambda s: MLPClassifier(random_state=s, **recipe), mnist_splits, mnist_seeds
            ),
        }
    print(f"seeds: digits {digit_seeds}, MNIST-1D {mnist_seeds}; BLAS threads: 1")
    print("| data set | model | mean test accuracy | min - max | median fit time |")
    print("| --- | --- | --- | --- | --- |")
    for (task, name), result in results.items():
        rows.append(_row(task, name, result))
    print("\n".join(rows))
    for task in ("digits", "MNIST-1D"):
        ours, theirs = [r for (t, _), r in results.items() if t == task][::-1]
        ratio = ours["time"] / theirs["time"]
        diff = np.mean(ours["scores"]) - np.mean(theirs["scores"])
        print(f"{task}: chainrule - scikit-learn accuracy {diff:+.4f}; fit time ratio {ratio:.2f}")
    digits_ok = np.mean(results[("digits", "chainrule MLPClassifier()")]["scores"]) >= np.mean(
        results[("digits", "scikit-learn MLPClassifier()")]["scores"]
    )
    mnist_ok = np.mean(results[("MNIST-1D", "chainrule MLPClassifier(**MNIST1D_RECIPE)")]["scores"])
    print(f"digits target (>= scikit-learn mean): {'met' if digits_ok else 'NOT met'}")
    print(f"MNIST-1D target (>= 0.68 mean): {'met' if mnist_ok >= 0.68 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
