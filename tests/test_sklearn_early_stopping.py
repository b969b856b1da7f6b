"""Early stopping against scikit-learn's MLP itself: SGD's ``learning_rate="adaptive"``
(divide the rate by 5 where the stopping rule runs out) and the stopping state that warm
starts and ``partial_fit`` keep, from the same initial weights and batches."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from chainrule import MLPClassifier, MLPRegressor, Network
from chainrule.schedules import Constant
from chainrule.training import fit
from chainrule.training.callbacks import History
from chainrule.training.early_stopping import EarlyStopping
from chainrule.training.resume import RunPosition

from .test_sklearn_fidelity import SETTINGS, X, _both_from_the_same_weights, _max_difference, y

# A rate large enough for the loss to plateau within a few dozen epochs, and a tol that
# the plateau cannot beat: the rule runs out several times.
ADAPTIVE = {
    **SETTINGS,
    "batch_size": 30,
    "learning_rate": "adaptive",
    "learning_rate_init": 0.5,
    "tol": 1e-3,
    "n_iter_no_change": 2,
}


def _fit_quietly(est, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.set_params(warm_start=True, **settings).fit(X, y)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_adaptive_sgd_divides_the_rate_and_stops_where_sklearn_does(momentum, capsys):
    theirs, ours = _both_from_the_same_weights(**{**ADAPTIVE, "momentum": momentum})
    printed = []
    for est in (theirs, ours):
        _fit_quietly(est, max_iter=500, verbose=True)
        printed.append(capsys.readouterr().out.splitlines())
    cuts = [line for line in printed[0] if "Setting learning rate to" in line]
    assert len(cuts) >= 3  # the rule ran out, and the rate was divided, several times
    assert theirs.n_iter_ < 500 and "Learning rate too small. Stopping." in printed[0][-1]
    assert ours.n_iter_ == theirs.n_iter_
    assert _max_difference(theirs, ours) < 1e-12
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_, rtol=0, atol=1e-12)
    # scikit-learn's lines, word for word: the iterations, each cut and the stop.
    assert printed[1] == printed[0]
    assert ours.history_.rate_cuts[-1][1] == pytest.approx(theirs._optimizer.learning_rate)
    assert ours.history_.stop_reason == "early_stopping"


def test_the_adaptive_rule_replayed_on_sklearn_validation_scores(capsys):
    # scikit-learn's own run with a validation split (its own split and shuffles): the rule
    # cuts the rate after the epochs scikit-learn says it did, and stops where it stopped.
    sk = SkMLPClassifier(
        (8,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.5,
        early_stopping=True,
        tol=1e-2,
        n_iter_no_change=2,
        verbose=True,
        random_state=0,
        max_iter=500,
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    expected, n_iter = [], 0
    for line in lines:
        n_iter += line.startswith("Iteration")
        rate = re.search(r"Setting learning rate to (\S+)", line)
        if rate:
            expected.append((n_iter - 1, float(rate.group(1))))
    assert len(expected) >= 2
    rule = EarlyStopping("val_score", False, 2, 1e-2, False, rule="sklearn_adaptive")
    schedule = Constant()
    position, history = RunPosition(sched_state=schedule.init(0.5)), History()
    stop = None
    for epoch, score in enumerate(sk.validation_scores_):
        if rule.ran_out(position, score, epoch, {}, history, schedule=schedule):
            stop = epoch + 1
            break
    assert stop == sk.n_iter_ < 500
    assert [e for e, _ in history.rate_cuts] == [e for e, _ in expected]
    # scikit-learn prints the rate with %f (6 decimals).
    np.testing.assert_allclose(
        [r for _, r in history.rate_cuts], [r for _, r in expected], atol=5e-7
    )


@pytest.mark.parametrize("learning_rate", ["constant", "adaptive"])
def test_warm_start_goes_on_counting_as_sklearn(learning_rate):
    theirs, ours = _both_from_the_same_weights(**{**ADAPTIVE, "learning_rate": learning_rate})
    for est in (theirs, ours):
        _fit_quietly(est, max_iter=62)
    # The first fits ended part-way through a plateau: the count matters to the second.
    assert theirs._no_improvement_count > 0
    assert ours._no_improvement_count == theirs._no_improvement_count
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=0, abs=1e-12)
    for est in (theirs, ours):
        _fit_quietly(est, max_iter=500)
    assert ours.n_iter_ == theirs.n_iter_ < 500
    assert _max_difference(theirs, ours) < 1e-12
    assert ours._no_improvement_count == theirs._no_improvement_count
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=0, abs=1e-12)
    # Started afresh instead, the second fit runs longer than scikit-learn's.
    fresh = _both_from_the_same_weights(**{**ADAPTIVE, "learning_rate": learning_rate})[1]
    _fit_quietly(fresh, max_iter=62)
    fresh.best_loss_, fresh._no_improvement_count = np.inf, 0
    assert _fit_quietly(fresh, max_iter=500).n_iter_ != theirs.n_iter_


def test_partial_fit_counts_and_divides_an_adaptive_rate_as_sklearn():
    theirs, ours = _both_from_the_same_weights(**ADAPTIVE)
    rates = []
    for _ in range(80):  # the loss plateaus after about 60 epochs
        theirs.partial_fit(X, y)
        ours.partial_fit(X, y)
        assert ours._no_improvement_count == theirs._no_improvement_count
        rates.append((ours._optimizer_state["lr"], theirs._optimizer.learning_rate))
    assert len({theirs_rate for _, theirs_rate in rates}) >= 3  # divided at least twice
    np.testing.assert_allclose(*zip(*rates, strict=True), rtol=1e-15)
    assert _max_difference(theirs, ours) < 1e-12
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=0, abs=1e-12)


def test_warm_start_keeps_the_best_validation_score_as_sklearn():
    # A best score no epoch can beat (accuracy 1) and the count of the first fit (which
    # stopped early): the second fit stops after one epoch, in both libraries, and keeps
    # that epoch's weights. scikit-learn's best weights alias coefs_ after a fit, so that
    # a warm start trains them in place and "restores" the last weights; chainrule carries
    # no best weights into a warm start.
    settings = {**SETTINGS, "early_stopping": True, "n_iter_no_change": 3, "max_iter": 30}
    ends = []
    for cls in (SkMLPClassifier, MLPClassifier):
        est = _fit_quietly(cls(**settings, random_state=0))
        assert est.n_iter_ < 30  # stopped early: its count is above n_iter_no_change
        first = [w.copy() for w in est.coefs_ + est.intercepts_]
        n_scores = len(est.validation_scores_)
        est.best_validation_score_ = 1.0
        _fit_quietly(est, max_iter=30)
        put_back = max(
            float(np.abs(a - b).max())
            for a, b in zip(est.coefs_ + est.intercepts_, first, strict=True)
        )
        # validation_scores_ goes on across warm starts, as loss_curve_ does.
        assert len(est.validation_scores_) == n_scores + 1
        ends.append((est.n_iter_, put_back > 0, est.best_validation_score_))
    assert ends[1] == ends[0] == (1, True, 1.0)


def test_fit_stopping_state_carries_over_and_is_checked():
    Xr = np.random.default_rng(0).normal(size=(40, 3))
    yr = Xr @ np.array([1.0, -2.0, 0.5])
    net = Network.from_sizes([3, 1], ["identity"], random_state=0)
    common = dict(loss="mse", optimizer="sgd", epochs=50, early_stopping=True, patience=2)
    history = fit(net.copy(), Xr, yr, **common, stopping_rule="sklearn")
    state = history.stopping_state
    assert set(state) == {"best", "bad_epochs", "best_params"}
    assert state["best"] == min(history["loss"])
    # A best value no epoch can beat: the next fit stops after patience + 1 epochs.
    carried = fit(
        net.copy(),
        Xr,
        yr,
        **common,
        stopping_rule="sklearn",
        stopping_state={**state, "best": -1.0},
    )
    assert carried.epochs == 3 and carried.stop_reason == "early_stopping"
    with pytest.raises(TypeError, match="stopping_state must be None or a dict"):
        fit(net.copy(), Xr, yr, **common, stopping_state={"best": 1.0})
    with pytest.raises(ValueError, match=r"stopping_state\['bad_epochs'\] must be an integer"):
        fit(net.copy(), Xr, yr, **common, stopping_state={**state, "bad_epochs": -1})
    with pytest.raises(ValueError, match="W1"):
        bad = {**state, "best_params": {"W1": np.zeros((2, 1)), "b1": np.zeros(1)}}
        fit(net.copy(), Xr, yr, **common, stopping_state=bad)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_fit_names_the_estimator_in_an_unknown_keyword(cls):
    est = cls(max_iter=1)
    with pytest.raises(TypeError) as caught:
        est.fit(X, y, sample_weigth=np.ones(len(y)))
    message = str(caught.value)
    assert message.startswith(f"{cls.__name__}.fit() got an unexpected keyword argument")
    assert "'sample_weigth'" in message and "did you mean 'sample_weight'?" in message
    assert "_BaseMLP" not in message
    assert not hasattr(est, "network_")  # refused before anything was fitted


def test_a_saved_estimator_keeps_its_count_for_a_warm_start(tmp_path):
    _, ours = _both_from_the_same_weights(**ADAPTIVE)
    _fit_quietly(ours, max_iter=62)
    assert ours._no_improvement_count > 0
    loaded = MLPClassifier.load(ours.save(tmp_path / "model"))
    assert loaded._no_improvement_count == ours._no_improvement_count
    assert loaded.best_loss_ == ours.best_loss_
    for est in (ours, loaded):
        _fit_quietly(est, max_iter=500)
    assert loaded.n_iter_ == ours.n_iter_ and _max_difference(loaded, ours) == 0.0


@pytest.mark.parametrize("fitted_first", [False, True])
def test_partial_fit_refuses_early_stopping_as_sklearn(fitted_first):
    # scikit-learn refuses it (a validation split per call makes no sense); so does chainrule,
    # with scikit-learn's own message, and chainrule's estimator is left as it was.
    messages = []
    for cls in (SkMLPClassifier, MLPClassifier):
        est = cls((4,), max_iter=3, random_state=0)
        if fitted_first:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)
        before = [W.copy() for W in est.coefs_] if fitted_first else None
        est.set_params(early_stopping=True)
        with pytest.raises(ValueError) as caught:
            est.partial_fit(X, y, classes=np.unique(y))
        messages.append(str(caught.value))
    # (scikit-learn has drawn its first weights by then; chainrule changes nothing.)
    if fitted_first:
        assert all(np.array_equal(a, b) for a, b in zip(before, est.coefs_, strict=True))
    else:
        assert not hasattr(est, "coefs_")
    assert messages[1] == messages[0]
