"""The scikit-learn adapters: estimator checks, model selection, target kinds, bad input."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the estimators are scikit-learn adapters")

from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule import MLPClassifier, MLPRegressor

# A random validation split and random dropout masks depend on the number of rows, so
# repeating rows is not the same as weighting them.
_RANDOM_SPLIT = {
    "check_sample_weight_equivalence_on_dense_data": (
        "early_stopping draws a random validation split and dropout draws masks per row: "
        "repeated rows and integer weights see different random draws"
    )
}

ESTIMATORS = [
    MLPClassifier(random_state=0),
    MLPRegressor(random_state=0),
    MLPClassifier(
        solver="sgd",
        learning_rate_init=0.01,
        early_stopping=True,
        dropout=0.1,
        dtype="float32",
        random_state=0,
    ),
    MLPRegressor(
        solver="adamw",
        hidden_layer_sizes=(20, 10),
        activation=("tanh", "relu"),
        clip_norm=1.0,
        learning_rate="cosine",
        random_state=0,
    ),
]


def _expected_failures(estimator):
    if estimator.early_stopping or estimator.dropout:
        return _RANDOM_SPLIT
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- target kinds -----------------------------------------------------------------------------
def test_binary_uses_one_sigmoid_output():
    X, y = make_classification(200, 6, random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = MLPClassifier((16,), max_iter=300, random_state=0).fit(X, labels)
    assert clf.out_activation_ == "logistic" and clf.coefs_[-1].shape == (16, 1)
    assert list(clf.classes_) == ["no", "yes"]
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert set(clf.predict(X)) <= {"no", "yes"}
    assert clf.score(X, labels) > 0.9


def test_multiclass_uses_softmax():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((16,), max_iter=500, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    assert clf.score(X, y) > 0.95
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))


def test_multilabel():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5]).astype(int)
    clf = MLPClassifier((32,), max_iter=400, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == (300, 3)
    assert clf.predict_proba(X).shape == (300, 3)
    assert (clf.predict(X) == Y).mean() > 0.95


def test_multi_output_regression():
    X, Y = make_regression(200, 5, n_targets=2, noise=0.1, random_state=0)
    reg = MLPRegressor((32,), max_iter=500, learning_rate_init=0.01, random_state=0)
    reg.fit(X, Y / 100)
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y / 100) > 0.95


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fitted_attributes_have_sklearns_shapes():
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    X, y = load_iris(return_X_y=True)
    ours = MLPClassifier((5, 4), max_iter=20, random_state=0).fit(X, y)
    theirs = SklearnMLP((5, 4), max_iter=20, random_state=0).fit(X, y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert len(ours.loss_curve_) == ours.n_iter_ == 20
    assert ours.validation_scores_ is None


# -- weights ----------------------------------------------------------------------------------
def test_sample_weight_zero_equals_dropping_rows():
    X, y = make_classification(60, 4, random_state=1)
    w = np.ones(60)
    w[::3] = 0
    a = MLPClassifier((8,), max_iter=30, random_state=0).fit(X, y, sample_weight=w)
    b = MLPClassifier((8,), max_iter=30, random_state=0).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)


def test_class_weight_balanced_raises_minority_recall():
    X, y = make_classification(400, 5, weights=[0.9, 0.1], class_sep=0.5, random_state=0)
    plain = MLPClassifier((8,), max_iter=100, random_state=0).fit(X, y)
    balanced = MLPClassifier((8,), max_iter=100, class_weight="balanced", random_state=0)
    balanced.fit(X, y)
    recall = [(m.predict(X)[y == 1] == 1).mean() for m in (plain, balanced)]
    assert recall[1] > recall[0]


def test_class_weight_dict_equals_sample_weight():
    X, y = make_classification(80, 4, random_state=2)
    a = MLPClassifier((8,), max_iter=20, class_weight={0: 1.0, 1: 3.0}, random_state=0)
    b = MLPClassifier((8,), max_iter=20, random_state=0)
    a.fit(X, y)
    b.fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)


# -- partial_fit, warm start, early stopping ---------------------------------------------
def test_partial_fit_learns_epoch_by_epoch():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((16,), learning_rate_init=0.01, random_state=0)
    for _ in range(200):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    # As scikit-learn: n_iter_ counts the last call's epochs; the loss curve goes on.
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 200
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9


def test_partial_fit_refuses_unseen_labels_and_missing_classes():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    clf = MLPClassifier((4,), random_state=0).partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    coefs = [c.copy() for c in clf.coefs_]
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], coefs[0])


def test_early_stopping_records_validation_scores():
    X, y = make_classification(300, 8, random_state=0)
    clf = MLPClassifier((32,), early_stopping=True, max_iter=500, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 500
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_warm_start_continues():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    first = clf.coefs_[0].copy()
    clf.fit(X, y)
    assert not np.array_equal(first, clf.coefs_[0])
    cold = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(first, cold.coefs_[0])


# -- model selection --------------------------------------------------------------------------
def test_pipeline_grid_search_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=200, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=3).fit(X, y)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] in [(4,), (16,)]
    scores = cross_val_score(clone(pipe), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


def test_pickle_round_trip():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8,), max_iter=10, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_float32_end_to_end():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8,), max_iter=10, random_state=0).fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert clf.predict_proba(X).dtype == np.float32


# -- bad input: clear errors, estimator unchanged -------------------------------------------
X_GOOD, Y_GOOD = load_iris(return_X_y=True)


@pytest.mark.parametrize(
    ("X", "y", "params", "message"),
    [
        (np.full((4, 2), np.nan), [0, 1, 0, 1], {}, "NaN"),
        (np.full((4, 2), np.inf), [0, 1, 0, 1], {}, "infinity"),
        (np.empty((0, 4)), [], {}, "0 sample"),
        (np.ones((4, 2, 2)), [0, 1, 0, 1], {}, "dim 3"),
        ([["a", "b"], ["c", "d"]], [0, 1], {}, "string"),
        (np.ones((4, 2)), [1, 1, 1, 1], {}, "1 class"),
        (np.ones((4, 2)), [0.5, 1.5, 0.1, 0.2], {}, "Unknown label type"),
        (X_GOOD, Y_GOOD, {"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        (X_GOOD, Y_GOOD, {"hidden_layer_sizes": (-3, 2)}, "hidden_layer_sizes"),
        (X_GOOD, Y_GOOD, {"max_iter": 0}, "max_iter"),
        (X_GOOD, Y_GOOD, {"batch_size": 0}, "batch_size"),
        (X_GOOD, Y_GOOD, {"activation": "swish"}, "unknown activation"),
        (X_GOOD, Y_GOOD, {"solver": "newton"}, "solver"),
        (X_GOOD, Y_GOOD, {"learning_rate": "warm"}, "learning_rate"),
        (X_GOOD, Y_GOOD, {"alpha": -1.0}, "alpha"),
        (X_GOOD, Y_GOOD, {"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_input_leaves_a_fitted_estimator_unchanged(X, y, params, message):
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X_GOOD, Y_GOOD)
    before = {k: v for k, v in vars(clf).items()}
    coefs = [c.copy() for c in clf.coefs_]
    clf.set_params(**params)
    with pytest.raises((ValueError, TypeError), match=message):
        clf.fit(X, y)
    clf.set_params(**{k: before[k] for k in params})
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is before[k] for k in before)
    np.testing.assert_array_equal(clf.coefs_[0], coefs[0])


def test_failed_first_fit_adds_no_attributes():
    clf = MLPClassifier()
    before = dict(vars(clf))
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.full((4, 2), np.nan), [0, 1, 0, 1])
    assert vars(clf) == before


def test_wrong_number_of_features_at_predict():
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X_GOOD, Y_GOOD)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.predict(X_GOOD[:, :3])


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X_GOOD)


@pytest.mark.parametrize("dtype", [np.float32, "float32", np.dtype("float32")])
def test_dtype_spellings(dtype):
    clf = MLPClassifier((4,), max_iter=3, dtype=dtype, random_state=0).fit(X_GOOD, Y_GOOD)
    assert clf.coefs_[0].dtype == np.float32


def test_adaptive_learning_rate_divides_by_five_on_a_plateau():
    X, y = make_classification(100, 4, random_state=0)
    clf = MLPClassifier(
        (8,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.5,
        max_iter=60,
        n_iter_no_change=60,
        random_state=0,
    ).fit(X, y)
    rates = sorted(set(clf.history_["lr"]), reverse=True)
    assert rates[0] == 0.5 and len(rates) > 1
    np.testing.assert_allclose(np.array(rates[1:]) / np.array(rates[:-1]), 0.2)


def test_hyper_parameters_are_checked_once_into_frozen_settings():
    import dataclasses

    from chainrule.estimators.settings import MLPSettings, check_all

    est = MLPClassifier(hidden_layer_sizes=7, activation="logistic", solver="sgd", dtype="float32")
    settings = check_all(est)
    assert settings == check_all(est.get_params(deep=False))
    assert settings.hidden_layer_sizes == (7,) and settings.activations == ("sigmoid",)
    assert settings.dtype == np.float32
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.alpha = 1.0  # type: ignore[misc]
    assert isinstance(settings, MLPSettings)
    with pytest.raises(TypeError, match=r"unknown hyper-parameters \['hidden'\]"):
        check_all({"hidden": 3})
    with pytest.raises(TypeError, match="params must be a mapping"):
        check_all([("alpha", 1.0)])
    with pytest.raises(ValueError, match="learning_rate_init must be a number > 0, got nan"):
        check_all({"learning_rate_init": float("nan")})
