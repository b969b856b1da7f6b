"""solver="lbfgs", learning_rate="invscaling" and MLPRegressor's losses against
scikit-learn's MLP itself, from the same initial weights and data."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

import chainrule
from chainrule import MLPClassifier, MLPRegressor, Network
from chainrule.training.lbfgs import minimize_lbfgs

from .test_sklearn_fidelity import SETTINGS, X, _both_from_the_same_weights, _max_difference, y

REGRESSORS = (SkMLPRegressor, MLPRegressor)
X_REG, Y_REG = make_regression(n_samples=80, n_features=4, n_targets=2, noise=1.0, random_state=0)
Y_REG = Y_REG / 100  # targets of order 1
COUNTS = np.random.default_rng(0).poisson(np.exp(0.5 * X_REG[:, 0])).astype(float)
WEIGHTS = np.random.default_rng(1).uniform(0.2, 2.0, size=90)
# L-BFGS: both evaluate the same objective, with the operations in another order
# (chainrule scales the output delta by w / sum(w) before the products, scikit-learn
# multiplies by w and divides the gradients by sum(w)), so their gradients differ in the
# last bits; the line searches and the two-loop recursion carry that over the
# iterations (measured 5e-15 to 7e-14 after 15 iterations). 1e-10 leaves room for
# other BLAS builds; a different objective or solver setting differs by far more.
LBFGS_TOL = 1e-10


def _fit_both(pair, data, sample_weight=None, **settings):
    """Fit both estimators with ``settings`` from their shared weights; return the
    ConvergenceWarning messages of each."""
    messages = []
    for est in pair:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.set_params(warm_start=True, **settings).fit(*data, sample_weight=sample_weight)
        messages.append([str(w.message) for w in caught if w.category is ConvergenceWarning])
    return messages


# -- solver="lbfgs" ---------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.0, 1.0])
@pytest.mark.parametrize("sample_weight", [None, WEIGHTS])
def test_lbfgs_classifier_matches_sklearn(alpha, sample_weight):
    settings = {"hidden_layer_sizes": (4,), "activation": "tanh", "solver": "lbfgs"}
    pair = _both_from_the_same_weights(**settings, alpha=alpha)
    messages = _fit_both(pair, (X, y), sample_weight, max_iter=15)
    theirs, ours = pair
    assert _max_difference(theirs, ours) < LBFGS_TOL
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=0, abs=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ == 15
    # max_iter ended both unconverged: scikit-learn's warning, word for word.
    assert messages[1] == messages[0] and len(messages[0]) == 1
    assert "max_iter=15" in messages[0][0]


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_lbfgs_regressor_matches_sklearn(loss):
    target = COUNTS if loss == "poisson" else Y_REG[:, 0]
    settings = {"hidden_layer_sizes": (5,), "activation": "tanh", "solver": "lbfgs"}
    pair = _both_from_the_same_weights(REGRESSORS, (X_REG, target), **settings, loss=loss)
    _fit_both(pair, (X_REG, target), alpha=0.1, max_iter=20)
    theirs, ours = pair
    assert _max_difference(theirs, ours) < LBFGS_TOL
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=0, abs=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ == 20
    np.testing.assert_allclose(ours.predict(X_REG), theirs.predict(X_REG), rtol=0, atol=1e-9)


def test_lbfgs_converged_and_max_fun_as_sklearn():
    settings = {"hidden_layer_sizes": (4,), "activation": "tanh", "solver": "lbfgs"}
    # tol so loose that the gradient soon passes it: converged, no warning.
    pair = _both_from_the_same_weights(**settings)
    messages = _fit_both(pair, (X, y), max_iter=500, tol=0.05)
    assert messages == [[], []]
    assert pair[1].n_iter_ == pair[0].n_iter_ < 500
    assert _max_difference(*pair) < LBFGS_TOL
    # max_fun stops both after the same evaluations, with the same warning.
    pair = _both_from_the_same_weights(**settings)
    messages = _fit_both(pair, (X, y), max_iter=500, max_fun=7)
    assert messages[1] == messages[0] and "status=1" in messages[0][0]
    assert pair[1].n_iter_ == pair[0].n_iter_ <= 7  # each iteration evaluates at least once
    assert _max_difference(*pair) < LBFGS_TOL


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_is_not_available_with_lbfgs(cls):
    est = cls(solver="lbfgs")
    assert not hasattr(est, "partial_fit")  # as scikit-learn's classifier
    assert not hasattr(SkMLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        est.partial_fit(X, y)
    assert str(info.value.__cause__) == (
        "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic."
    )
    assert hasattr(cls(solver="sgd"), "partial_fit")


def test_lbfgs_verbose_prints_a_line_per_iteration(capsys):
    est = MLPClassifier((4,), solver="lbfgs", max_iter=5, verbose=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Iteration {k}, loss = {v:.8f}" for k, v in enumerate(est.loss_curve_, 1)]
    assert len(lines) == est.n_iter_ == 5
    assert est.loss_ == pytest.approx(est.loss_curve_[-1], rel=1e-12)


@pytest.mark.parametrize(
    ("settings", "run", "match"),
    [
        ({"dropout": 0.2}, {}, "dropout must be 0.0 with solver='lbfgs'"),
        ({"clip_norm": 1.0}, {}, "clip_norm must be None with solver='lbfgs'"),
        ({}, {"resume": True}, "resume belong to the stochastic solvers"),
        ({}, {"device": "cpu"}, "device belong to the stochastic solvers"),
    ],
)
def test_lbfgs_refuses_what_needs_a_stochastic_solver(settings, run, match):
    est = MLPClassifier((4,), solver="lbfgs", **settings)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, **run)
    assert not hasattr(est, "network_")


def test_lbfgs_refuses_an_iterable_of_batches():
    batches = [(X[:45], y[:45]), (X[45:], y[45:])]
    with pytest.raises(ValueError, match="solver='lbfgs' needs X in memory"):
        MLPClassifier((4,), solver="lbfgs").fit(batches)


def test_lbfgs_without_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # as if not installed
    net = Network.from_sizes([5, 3, 3], ["tanh", "softmax"], random_state=0)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[sklearn\]'"):
        minimize_lbfgs(net, X, np.eye(3)[y], "cross_entropy")


def test_minimize_lbfgs_checks_its_arguments_first():
    net = Network.from_sizes([5, 3, 3], ["tanh", "softmax"], random_state=0)
    before = {k: v.copy() for k, v in net.params.items()}
    Y = np.eye(3)[y]
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(90,\)"):
        minimize_lbfgs(net, X, Y, "cross_entropy", sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="max_fun must be a positive integer"):
        minimize_lbfgs(net, X, Y, "cross_entropy", max_fun=0)
    with pytest.raises(ValueError, match="without dropout"):
        minimize_lbfgs(Network.from_sizes([5, 3, 3], dropout=0.5), X, Y, "half_squared_error")
    assert all(np.array_equal(before[k], v) for k, v in net.params.items())


# -- learning_rate="invscaling" ---------------------------------------------------------
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_invscaling_matches_sklearn(momentum, nesterov):
    # With momentum, the velocity keeps each step's rate as scikit-learn's (SklearnSGD).
    settings = {**SETTINGS, "learning_rate": "invscaling", "power_t": 0.3}
    settings.update(momentum=momentum, nesterovs_momentum=nesterov)
    settings.update(batch_size=40, alpha=0.5, tol=0.0, n_iter_no_change=50)
    theirs, ours = _both_from_the_same_weights(**settings)
    # A warm start: scikit-learn's rate restarts at learning_rate_init, then counts the
    # samples of the first fit too (t_).
    _fit_both((theirs, ours), (X, y), max_iter=6)
    assert ours.t_ == theirs.t_ == 7 * 90
    assert _max_difference(theirs, ours) < 1e-12
    for _ in range(3):  # each partial_fit goes on at the rate the last epoch left
        theirs.partial_fit(X, y)
        ours.partial_fit(X, y)
    assert _max_difference(theirs, ours) < 1e-12
    assert ours._optimizer_state["lr"] == theirs._optimizer.learning_rate
    assert ours.history_["lr"] == [theirs.learning_rate_init / (9 * 90 + 1) ** 0.3]


def test_invscaling_applies_to_sgd_only_as_sklearn():
    # Adam ignores learning_rate in scikit-learn: the same weights as with "constant".
    settings = {"hidden_layer_sizes": (4,), "solver": "adam", "max_iter": 3, "random_state": 0}
    a = MLPClassifier(**settings, learning_rate="invscaling").fit(X, y)
    b = MLPClassifier(**settings).fit(X, y)
    assert _max_difference(a, b) == 0


# -- MLPRegressor's losses --------------------------------------------------------------
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("sample_weight", [None, WEIGHTS[:80]])
def test_regressor_losses_match_sklearn(loss, sample_weight):
    target = COUNTS if loss == "poisson" else Y_REG[:, 0]
    settings = {**SETTINGS, "hidden_layer_sizes": (5,), "learning_rate_init": 0.01}
    settings.update(batch_size=30, alpha=0.1, tol=0.0, n_iter_no_change=50, loss=loss)
    pair = _both_from_the_same_weights(REGRESSORS, (X_REG, target), **settings)
    _fit_both(pair, (X_REG, target), sample_weight, max_iter=6)
    theirs, ours = pair
    assert ours.out_activation_ == theirs.out_activation_
    assert _max_difference(theirs, ours) < 1e-12
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X_REG), theirs.predict(X_REG), rtol=0, atol=1e-12)


def test_squared_error_of_several_outputs_as_sklearn():
    # scikit-learn steps along the gradient of the sum over outputs of the half squared
    # error, and reports its mean over outputs as the loss: the weights agree, chainrule's
    # loss (whose gradient it is) is n_outputs times scikit-learn's.
    settings = {**SETTINGS, "hidden_layer_sizes": (5,), "learning_rate_init": 0.01}
    settings.update(batch_size=30, momentum=0.9, alpha=0.0, tol=0.0, n_iter_no_change=50)
    pair = _both_from_the_same_weights(REGRESSORS, (X_REG, Y_REG), **settings)
    _fit_both(pair, (X_REG, Y_REG), max_iter=6)
    theirs, ours = pair
    assert _max_difference(theirs, ours) < 1e-12
    np.testing.assert_allclose(
        ours.loss_curve_[1:], 2 * np.asarray(theirs.loss_curve_), rtol=1e-12, atol=0
    )


def test_poisson_refuses_negative_targets_and_predicts_exp():
    est = MLPRegressor((3,), loss="poisson", max_iter=2, random_state=0)
    with pytest.raises(ValueError, match=r"y must be >= 0 with loss='poisson'.*in row 1"):
        est.fit(X_REG[:3], [1.0, -2.0, 0.0])
    assert not hasattr(est, "network_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_REG, COUNTS)
    np.testing.assert_array_equal(est.predict(X_REG), np.exp(est.network_.predict(X_REG))[:, 0])
    with pytest.raises(ValueError, match="loss='squared_error' differs from the loss"):
        est.set_params(loss="squared_error", warm_start=True).fit(X_REG, COUNTS)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"power_t": 0.0}, ValueError, r"power_t must be a number > 0, got 0\.0"),
        ({"power_t": "half"}, TypeError, "power_t must be a number > 0"),
        ({"max_fun": 0}, ValueError, r"max_fun must be an integer >= 1, got 0"),
        ({"max_fun": 2.5}, TypeError, "max_fun must be an integer >= 1"),
        ({"loss": "squared_eror"}, ValueError, r"loss must be one of .*did you mean"),
        ({"loss": ["poisson"]}, ValueError, r"loss must be one of .*got \[.poisson.\]"),
        ({"solver": "bfgs"}, ValueError, r"solver must be one of .*'lbfgs'"),
        ({"learning_rate": "inv"}, ValueError, r"learning_rate must be one of .*invscaling"),
    ],
)
def test_bad_hyper_parameters_are_refused_naming_them(params, error, match):
    est = MLPRegressor((3,), **params)
    with pytest.raises(error, match=match):
        est.fit(X_REG, Y_REG[:, 0])
    assert not hasattr(est, "network_")


def test_lbfgs_estimator_saves_loads_and_goes_on_with_sgd(tmp_path):
    est = MLPClassifier((4,), solver="lbfgs", max_iter=30, tol=1e-3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    loaded = chainrule.load(chainrule.save(est, tmp_path / "lbfgs"))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert (loaded.n_iter_, loaded.loss_, loaded.t_) == (est.n_iter_, est.loss_, 0)
    # Another solver goes on from the L-BFGS weights with a fresh optimizer state.
    loaded.set_params(solver="sgd", momentum=0.0, learning_rate_init=0.1).partial_fit(X, y)
    assert loaded.n_iter_ == 1 and loaded.t_ == 90


def test_invscaling_with_momentum_on_a_torch_device():
    # SklearnSGD rescales the velocity in place: PyTorch's tensors as NumPy's arrays.
    pytest.importorskip("torch")
    settings = {**SETTINGS, "learning_rate": "invscaling", "momentum": 0.9, "max_iter": 4}
    on_numpy = MLPClassifier(**settings, random_state=0).fit(X, y)
    on_device = MLPClassifier(**settings, random_state=0).fit(X, y, device="cpu")
    assert _max_difference(on_numpy, on_device) < 1e-12
    assert on_device._optimizer_state["velocity_lr"] == on_numpy._optimizer_state["velocity_lr"]
