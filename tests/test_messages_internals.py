"""Messages of the training wing and the estimators that leaked internals (issue 16 point
12's kind): a Python exception of the implementation, an internal name or NumPy's repr
where the user expects what they passed. Each is refused before any state changes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from chainrule import MLPClassifier, MLPRegressor, Network
from chainrule.training import fit

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
Y = X[:, 0] - X[:, 1]


def _net():
    return Network.from_sizes([3, 4, 1], ["tanh", "identity"], random_state=0)


def _unchanged(net, before):
    return all(np.array_equal(before[k], v) for k, v in net.params.items())


def test_a_metric_that_is_no_function_is_refused_before_training():
    # was: TypeError: 'int' object is not callable, after the first epoch had trained
    net = _net()
    before = {k: v.copy() for k, v in net.params.items()}
    expected = r"^metrics as a mapping must map names \(str\) to functions .* 'r2' mapped to int$"
    with pytest.raises(TypeError, match=expected):
        fit(net, X, Y, loss="mse", epochs=1, metrics={"r2": 5})
    assert _unchanged(net, before)


def test_a_batch_tuple_of_the_wrong_length_says_its_length():
    with pytest.raises(TypeError, match=r"batch 0 must be a tuple .* got a tuple of 4$"):
        fit(_net(), [(X, Y, None, 1)], loss="mse", epochs=1)
    with pytest.raises(TypeError, match=r"X must yield tuples .* got a tuple of 4$"):
        MLPRegressor((4,), max_iter=1).fit([(X, Y, None, 1)])
    # was: TypeError: 'int' object is not subscriptable
    with pytest.raises(TypeError, match=r"^batch 1 of X must be a tuple .* got int$"):
        MLPRegressor((4,), max_iter=1).fit([(X, Y), 5])


def test_a_memmap_with_a_scalar_y_is_refused_by_shape(tmp_path):
    # was: TypeError: len() of unsized object
    X_file = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", shape=(40, 3))
    X_file[:] = X
    with pytest.raises(ValueError, match=r"^y must have 40 rows to match X, got shape \(\)$"):
        fit(_net(), X_file, 5.0, loss="mse", epochs=1)


def test_class_labels_counted_against_x_show_the_labels_given():
    # was: "y must have shape (40, 3) ... got shape (39, 3)", the one-hot's shape
    net = Network.from_sizes([3, 3], ["softmax"], random_state=0)
    labels = RNG.integers(0, 3, size=39)
    with pytest.raises(ValueError, match=r"^y must hold one class label per row of X \(40\), "
                                         r"got 39 labels$"):  # fmt: skip
        fit(net, X, labels, loss="cross_entropy", epochs=1)
    with pytest.raises(ValueError, match=r"^batch 1 of the iterable: y must hold one class "
                                         r"label per row of X \(20\), got 19 labels$"):  # fmt: skip
        fit(net, [(X[:20], labels[:20]), (X[20:], labels[20:])], loss="ce", epochs=1)


def test_the_regressor_fits_an_iterable_of_several_batches():
    # was: AttributeError: 'MLPRegressor' object has no attribute 'n_outputs_' at batch 1
    settings = {"hidden_layer_sizes": (4,), "max_iter": 3, "shuffle": False, "batch_size": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter ends the fit: ConvergenceWarning
        batches = MLPRegressor(random_state=0, **settings).fit([(X[:20], Y[:20]), (X[20:], Y[20:])])
        arrays = MLPRegressor(random_state=0, **settings).fit(X, Y)
    for a, b in zip(
        batches.coefs_ + batches.intercepts_, arrays.coefs_ + arrays.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert batches.n_outputs_ == 1


@pytest.mark.parametrize("estimator", [MLPRegressor, MLPClassifier])
def test_a_bad_batch_of_an_estimators_iterable_names_the_batch(estimator):
    y = Y if estimator is MLPRegressor else (Y > 0).astype(int)
    model = estimator((4,), max_iter=2)
    with pytest.raises(ValueError, match=r"^batch 1 of X: X has 2 features, but "):
        model.fit([(X[:20], y[:20]), (X[20:, :2], y[20:])])
    assert not hasattr(model, "n_outputs_") and not hasattr(model, "coefs_")  # put back


def test_class_messages_show_the_labels_not_numpy_reprs():
    # was: "y has only 1 class (np.int64(0))" and "labels array([2]) ... array([0, 1])"
    with pytest.raises(ValueError, match=r"^y has only 1 class \(0\); a classifier needs"):
        MLPClassifier((4,), max_iter=1).fit(X, np.zeros(40, dtype=int))
    clf = MLPClassifier((4,), max_iter=1).partial_fit(X, (Y > 0).astype(int), classes=[0, 1])
    with pytest.raises(
        ValueError, match=r"^y holds labels \[2\] that are not in classes_ \[0, 1\]$"
    ):
        clf.partial_fit(X, np.full(40, 2))
    # was: "classes=array([0, 2]) differs from classes_=array([0, 1])"
    with pytest.raises(ValueError, match=r"^classes=\[0, 2\] differs from classes_=\[0, 1\], "):
        clf.partial_fit(X, np.zeros(40, dtype=int), classes=np.array([0, 2]))


def test_optimizer_state_numbers_are_checked_up_front():
    # was: "could not convert string to float: 'a'", and ZeroDivisionError mid-training
    state = fit(_net(), X, Y, loss="mse", epochs=1).optimizer_state
    with pytest.raises(ValueError, match=r"^optimizer_state\['lr'\] must be a finite number"):
        fit(_net(), X, Y, loss="mse", epochs=1, optimizer_state={**state, "lr": "a"})
    net = _net()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"^optimizer_state\['t'\] must be a count .* got -1$"):
        fit(net, X, Y, loss="mse", epochs=1, optimizer_state={**state, "t": -1})
    assert _unchanged(net, before)


def test_a_memmaps_y_of_the_wrong_width_is_refused_before_training(tmp_path):
    # was: refused at the first batch, named "a batch of X's rows 0 to 31"
    X_file = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", shape=(40, 3))
    X_file[:] = X
    net = _net()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"^y must have shape \(40, 1\) .* got shape \(40, 2\)$"):
        fit(net, X_file, np.zeros((40, 2)), loss="mse", epochs=1)
    assert _unchanged(net, before)


def test_validation_data_errors_say_they_are_the_validation_datas():
    with pytest.raises(ValueError, match=r"^validation_data: X has 2 features per instance"):
        fit(_net(), X, Y, loss="mse", epochs=1, validation_data=(X[:, :2], Y))
