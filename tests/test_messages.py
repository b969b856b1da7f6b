"""Messages that name the argument, what was expected and what was given, raised before
anything changes: none of Python's or NumPy's internals (a comparison, a KeyError, an
attribute) leaks through."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.training import fit

scipy_sparse = pytest.importorskip("scipy.sparse", reason="the sparse case needs scipy")


def data():
    X = np.random.default_rng(0).normal(size=(10, 2))
    return X, (X[:, 0] > 0).astype(float)


def network():
    return cr.Network.from_sizes([2, 3, 1], ["tanh", "sigmoid"], random_state=0)


X, y = data()
CASES = [
    (
        {"X": scipy_sparse.csr_matrix(X)},
        TypeError,
        r"X must be a dense array, got a scipy.sparse csr_matrix of shape \(10, 2\); convert it "
        r"with X.toarray\(\)",
    ),
    ({"X": {"a": 1}}, TypeError, "X must be an array of numbers, got dict"),
    ({"l2": "0.1"}, TypeError, r"l2 must be a number >= 0, got '0.1' \(str\)"),
    ({"l2": -1.0}, ValueError, "l2 must be a finite number >= 0, got -1.0"),
    ({"min_delta": "0"}, TypeError, "min_delta must be a number >= 0, got '0'"),
    (
        {"optimizer_state": {}},
        ValueError,
        r"optimizer_state must be the state of this fit's optimizer \(History.optimizer_state of "
        r"an earlier fit\), with entries \['lr', 'm', 's', 't'\]; it lacks \['lr', 'm', 's', 't'\]",
    ),
    ({"optimizer_state": [1]}, TypeError, "optimizer_state must be .*, a dict; got list"),
    ({"resume": True}, ValueError, "resume=True needs checkpoint=PATH, the file to resume from"),
    ({"resume": "yes"}, TypeError, "resume must be True or False, got 'yes'"),
    ({"shuffle": "no"}, TypeError, "shuffle must be True or False, got 'no'"),
    ({"validation_data": X}, TypeError, r"validation_data must be a pair \(X_val, y_val\), got nd"),
    ({"validation_data": (X, y, y)}, TypeError, "must be a pair .*, got 3 items"),
    ({"validation_split": "0.2"}, TypeError, r"validation_split must be a number in \[0, 1\)"),
    ({"callbacks": 3}, TypeError, "callbacks must be a sequence of Callback instances or func"),
    ({"monitor": 3}, TypeError, r"monitor must be a name \(str\) or None, got 3"),
    ({"monitor": "los"}, ValueError, r"monitor must be one of \['loss'\], got 'los'; did you mean"),
    ({"verbose": "yes"}, ValueError, r"verbose must be 0, 1 \(a progress bar\) or 2"),
    ({"metrics": "acc"}, ValueError, "unknown metric 'acc'; known: accuracy, mae, mse"),
]


@pytest.mark.parametrize(("change", "error", "message"), CASES, ids=[str(c[0])[:30] for c in CASES])
def test_fit_refuses_clearly_before_training(change, error, message):
    net = network()
    before = {k: v.copy() for k, v in net.params.items()}
    arguments = {"X": X, "y": y, "loss": "bce", "epochs": 1, **change}
    with pytest.raises(error, match=message):
        fit(net, **arguments)
    for name, value in net.params.items():
        assert np.array_equal(value, before[name])


def test_a_network_that_is_not_one():
    with pytest.raises(TypeError, match="network must be a chainrule Network, got str"):
        fit("net", X, y, loss="bce")


def test_an_optimizer_state_for_other_parameters_is_refused():
    net = network()
    other = cr.Network.from_sizes([2, 4, 1], ["tanh", "sigmoid"], random_state=0)
    state = fit(other, X, y, loss="bce", epochs=1).optimizer_state
    with pytest.raises(ValueError, match=r"optimizer_state\['m'\] must hold one array per"):
        fit(net, X, y, loss="bce", epochs=1, optimizer_state=state)
    own = fit(net, X, y, loss="bce", epochs=1).optimizer_state
    fit(net, X, y, loss="bce", epochs=1, optimizer_state=own)  # an earlier fit's: accepted


def test_an_optimizer_state_given_to_fit_is_left_as_it_was():
    # Nothing lost: the state a history holds can be given to several fits, which all
    # start from it (fit updated the caller's arrays and step count in place).
    first = network()
    state = fit(first, X, y, loss="bce", epochs=1).optimizer_state
    kept = {k: ({n: a.copy() for n, a in v.items()} if isinstance(v, dict) else v)
            for k, v in state.items()}  # fmt: skip
    a, b = first.copy(), first.copy()
    fit(a, X, y, loss="bce", epochs=2, optimizer_state=state, random_state=0)
    fit(b, X, y, loss="bce", epochs=2, optimizer_state=state, random_state=0)
    for name, value in a.params.items():
        assert np.array_equal(b.params[name], value), name
    assert state.keys() == kept.keys() and state["t"] == kept["t"]
    for key in ("m", "s"):
        assert all(np.array_equal(state[key][n], kept[key][n]) for n in kept[key])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ((X[:, :1], y), "batch 2 of the iterable: X has 1 features per instance"),
        ((X * np.nan, y), "batch 2 of the iterable: X contains NaN or infinity"),
        ((X, y, np.ones(3)), r"batch 2 of the iterable: sample_weight must have shape \(10,\)"),
    ],
)
def test_a_bad_batch_in_an_iterable_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        fit(network(), [(X, y), (X, y), bad, (X, y)], loss="bce", epochs=1)


def test_a_bad_batch_of_a_memmap_names_its_rows(tmp_path):
    path = tmp_path / "X.npy"
    Xm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(10, 2))
    Xm[:] = X
    Xm[7, 1] = np.nan
    Xm.flush()
    X_file = np.load(path, mmap_mode="r")
    with pytest.raises(ValueError, match="a batch of X's rows 4 to 7: X contains NaN"):
        fit(network(), X_file, y, loss="bce", epochs=1, batch_size=4, shuffle=False)


def test_gradient_check_refuses_clearly():
    seed = cr.seed_example()
    with pytest.raises(TypeError, match=r"l2 must be a number >= 0, got '0.1' \(str\)"):
        cr.check_gradients(seed.network, "half_squared_error", seed.x, seed.y, l2="0.1")
    with pytest.raises(TypeError, match="dropout_seed must be None or an int, got 'a'"):
        cr.check_gradients(seed.network, "half_squared_error", seed.x, seed.y, dropout_seed="a")


def test_export_refuses_a_path_that_is_not_one():
    pytest.importorskip("onnx", reason="the [onnx] extra")
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got int"):
        cr.export_onnx(cr.seed_example().network, 3)


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"shuffle": "no"}, TypeError, "shuffle must be True or False, got 'no'"),
        ({"early_stopping": "yes"}, TypeError, "early_stopping must be True or False, got 'yes'"),
        ({"solver": "adan"}, ValueError, r"solver must be one of .*; did you mean 'adam'"),
        ({"learning_rate": "constnt"}, ValueError, "did you mean 'constant'"),
        ({"initializer": "he_norml"}, ValueError, "did you mean 'he_normal'"),
    ],
)
def test_the_estimators_refuse_clearly(settings, error, message):
    pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")
    clf = cr.MLPClassifier((3,), max_iter=2, **settings)
    with pytest.raises(error, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_non_finite_input_is_located(value, dtype):
    # The first non-finite value is named with its row and column, for fit and for the
    # estimators with and without early stopping (scikit-learn's scan or chainrule's).
    X, y = data()
    X = X.astype(dtype)
    X[6, 1] = value
    where = rf"\({float(value)} at row 6, column 1\)"
    before = network().params["W1"].copy()
    net = network()
    with pytest.raises(ValueError, match=rf"X contains NaN or infinity.*{where}"):
        fit(net, X, y, loss="binary_cross_entropy", epochs=1)
    assert np.array_equal(net.params["W1"], before)
    with pytest.raises(ValueError, match=where):
        cr.MLPRegressor((3,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=r"X contains (NaN|infinity)"):
        cr.MLPRegressor((3,), max_iter=2, early_stopping=True).fit(X, y)
    with pytest.raises(ValueError, match=where):
        cr.MLPClassifier((3,), solver="lbfgs", max_iter=2).fit(X, y > 0)
