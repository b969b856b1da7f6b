"""The estimators against scikit-learn's MLP itself: the same initial weights, batches and
settings give the same weights, losses, stopping epoch and ``n_iter_``."""

from __future__ import annotations

import builtins
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from chainrule import MLPClassifier
from chainrule.training.callbacks import History
from chainrule.training.early_stopping import EarlyStopping
from chainrule.training.resume import RunPosition

X, y = make_classification(
    n_samples=90, n_features=5, n_informative=3, n_redundant=0, n_classes=3, random_state=0
)
# Plain SGD in a fixed order, so that both libraries see the same batches.
SETTINGS = dict(
    hidden_layer_sizes=(4,),
    activation="tanh",
    solver="sgd",
    momentum=0.0,
    shuffle=False,
    learning_rate_init=0.1,
)


def _both_from_the_same_weights(classes=(SkMLPClassifier, MLPClassifier), data=(X, y), **settings):
    """A scikit-learn and a chainrule estimator (a classifier unless ``classes`` says),
    each fitted one epoch on ``data``, then given scikit-learn's first weights and fresh
    stopping state (scikit-learn's test pattern)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = {**settings, "max_iter": 1, "random_state": 0}
        theirs, ours = (cls(**first).fit(*data) for cls in classes)
    W = [c.copy() for c in theirs.coefs_]
    B = [b.copy() for b in theirs.intercepts_]
    for est in (theirs, ours):
        est.coefs_ = [w.copy() for w in W]
        est.intercepts_ = [b.copy() for b in B]
    theirs.loss_curve_, theirs.best_loss_, theirs._no_improvement_count = [], np.inf, 0
    return theirs, ours


def _max_difference(a, b):
    pairs = zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True)
    return max(float(np.abs(p - q).max()) for p, q in pairs)


@pytest.mark.parametrize("sample_weight", [False, True])
def test_alpha_per_batch_matches_sklearn_weights(sample_weight):
    # alpha 1, batches of 40, 40 and 10 rows: the last batch is uneven; weights differ per row.
    settings = {**SETTINGS, "alpha": 1.0, "batch_size": 40, "tol": 0.0, "n_iter_no_change": 50}
    theirs, ours = _both_from_the_same_weights(**settings)
    w = np.random.default_rng(1).uniform(0.2, 2.0, size=len(y)) if sample_weight else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (theirs, ours):
            est.set_params(warm_start=True, max_iter=6).fit(X, y, sample_weight=w)
    assert _max_difference(theirs, ours) < 1e-12
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_, rtol=0, atol=1e-12)


def test_early_stopping_on_the_training_loss_stops_where_sklearn_does():
    settings = {**SETTINGS, "batch_size": 30, "tol": 1e-3, "n_iter_no_change": 3}
    theirs, ours = _both_from_the_same_weights(**settings)
    for est in (theirs, ours):
        est.set_params(warm_start=True, max_iter=500).fit(X, y)
    assert theirs.n_iter_ < 500  # it stopped early, not at max_iter
    assert ours.n_iter_ == theirs.n_iter_
    assert _max_difference(theirs, ours) < 1e-12


def _replay(curve, *, lower_is_better, patience, tol):
    """The epoch (from 1) at which chainrule's sklearn rule stops on a recorded curve."""
    rule = EarlyStopping("x", lower_is_better, patience, tol, False, rule="sklearn")
    position, history = RunPosition(sched_state={}), History()
    for epoch, value in enumerate(curve):
        if rule.ran_out(position, value, epoch, {}, history):
            return epoch + 1
    return None


@pytest.mark.parametrize("seed", range(4))
def test_the_sklearn_rule_replayed_on_sklearn_curves(seed):
    # scikit-learn's own runs (its random weights, shuffling and validation split): the rule
    # stops on the epoch where scikit-learn stopped, on the training loss and on validation.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        on_loss = SkMLPClassifier((8,), tol=1e-2, n_iter_no_change=4, random_state=seed).fit(X, y)
        on_val = SkMLPClassifier(
            (8,), early_stopping=True, tol=1e-2, n_iter_no_change=3, random_state=seed
        ).fit(X, y)
    stop = _replay(on_loss.loss_curve_, lower_is_better=True, patience=4, tol=1e-2)
    assert stop == on_loss.n_iter_ < 200
    stop = _replay(on_val.validation_scores_, lower_is_better=False, patience=3, tol=1e-2)
    assert stop == on_val.n_iter_ < 200


def test_n_iter_counts_the_last_call_as_sklearn():
    settings = {**SETTINGS, "tol": 0.0, "n_iter_no_change": 50, "max_iter": 10}
    counts = []
    for cls in (SkMLPClassifier, MLPClassifier):
        est = cls(**settings, warm_start=True, random_state=0)
        with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(10\)"):
            est.fit(X, y)
        with pytest.warns(ConvergenceWarning):
            est.fit(X, y)
        after_fits = (est.n_iter_, len(est.loss_curve_), est.t_)
        est.partial_fit(X, y)
        counts.append((*after_fits, est.n_iter_, len(est.loss_curve_), est.t_))
    assert counts[1] == counts[0] == (10, 20, 1800, 1, 21, 1890)


def test_no_convergence_warning_when_stopped_early():
    # A tol no epoch can beat: both stop after more than 2 bad epochs, without a warning.
    settings = {**SETTINGS, "tol": 10.0, "n_iter_no_change": 2, "max_iter": 50}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = MLPClassifier(**settings, random_state=0).fit(X, y)
        theirs = SkMLPClassifier(**settings, random_state=0).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 50


def test_verbose_prints_sklearn_lines_without_tqdm(capsys, monkeypatch):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.split(".")[0] == "tqdm":
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    est = MLPClassifier(**SETTINGS, tol=1e-3, n_iter_no_change=2, verbose=True, random_state=0)
    est.set_params(early_stopping=True, max_iter=300).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    iterations = [line for line in lines if line.startswith("Iteration")]
    assert len(iterations) == est.n_iter_
    for k, (line, loss) in enumerate(zip(iterations, est.loss_curve_, strict=True), start=1):
        assert line == f"Iteration {k}, loss = {loss:.8f}"
    scores = [float(line.split(": ")[1]) for line in lines if line.startswith("Validation score: ")]
    np.testing.assert_allclose(scores, est.validation_scores_, atol=1e-6)
    assert re.fullmatch(
        r"Validation score did not improve more than tol=0\.001000 for 2 consecutive "
        r"epochs\. Stopping\.",
        lines[-1],
    )


def test_set_coefs_then_partial_fit_matches_sklearn():
    theirs, ours = _both_from_the_same_weights(**SETTINGS, batch_size=30)
    for _ in range(3):
        theirs.partial_fit(X, y)
        ours.partial_fit(X, y)
    assert _max_difference(theirs, ours) < 1e-12


def test_coefs_and_network_always_agree():
    est = MLPClassifier(**SETTINGS, max_iter=2, tol=0.0, random_state=0)
    with pytest.raises(AttributeError, match="fitted"):
        est.coefs_ = [np.zeros((5, 4)), np.zeros((4, 3))]
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    W1 = np.full((5, 4), 0.01)
    est.coefs_ = [W1, est.coefs_[1]]
    np.testing.assert_array_equal(est.network_.params["W1"], W1)
    assert est.coefs_[0] is est.network_.layers[0].W
    before = est.network_
    with pytest.raises(ValueError, match=r"W2 must have shape \(4, 3\)"):
        est.coefs_ = [W1, np.zeros((4, 2))]
    with pytest.raises(ValueError, match="2 arrays"):
        est.intercepts_ = [np.zeros(4)]
    with pytest.raises(TypeError, match="list of 2 arrays"):
        est.coefs_ = W1
    assert est.network_ is before  # refused before any change
