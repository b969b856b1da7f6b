"""Estimator files are checked like constructor arguments, and every layer setting survives.

A file re-signed after an edit has a valid checksum (anyone can recompute it), so the
hyper-parameters it claims go through the checks ``fit`` makes and are compared with
the stored network; a forged value is a ModelFileError naming the field.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule
from chainrule import ModelFileError, Network
from chainrule.activations import LeakyReLU

from ._forge import resign

pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
from sklearn.base import clone

from chainrule import MLPClassifier, MLPRegressor

RNG = np.random.default_rng(5)
X = RNG.normal(size=(40, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * RNG.normal(size=40)

# One forged value per hyper-parameter, each impossible for fit or for the stored
# network (a 3-4-1 float64 regressor without dropout, ReLU hidden layer).
FORGED = {
    "hidden_layer_sizes": {"tuple": [60000, 60000]},
    "activation": "os.system",
    "loss": "cross_entropy",
    "solver": "newton",
    "alpha": -1.0,
    "batch_size": 0,
    "learning_rate": "fast",
    "learning_rate_init": math.nan,
    "power_t": 0.0,
    "max_iter": 0,
    "shuffle": "yes",
    "random_state": -1,
    "tol": -1.0,
    "verbose": "loud",
    "warm_start": 2,
    "momentum": 1.5,
    "nesterovs_momentum": None,
    "early_stopping": "no",
    "validation_fraction": 1.0,
    "beta_1": 1.0,
    "beta_2": -0.1,
    "epsilon": 0.0,
    "n_iter_no_change": 0,
    "max_fun": 0,
    "dropout": 0.3,
    "clip_norm": -1.0,
    "weight_decay": -1.0,
    "initializer": "zeros",
    "dtype": {"dtype": "float32"},
    "callbacks": [1],
}


@pytest.fixture(scope="module")
def regressor_file(tmp_path_factory):
    est = MLPRegressor((4,), max_iter=5, random_state=0).fit(X, Y)
    path = tmp_path_factory.mktemp("est") / "reg.safetensors"
    chainrule.save(est, path)
    return path


def test_every_hyper_parameter_has_a_forged_case():
    assert set(FORGED) == set(MLPRegressor().get_params(deep=False))


@pytest.mark.parametrize("name", sorted(FORGED))
def test_forged_hyper_parameter_is_refused_naming_it(regressor_file, tmp_path, name):
    path = tmp_path / "forged.safetensors"
    path.write_bytes(regressor_file.read_bytes())
    resign(path, lambda meta: meta["model"]["params"].__setitem__(name, FORGED[name]))
    with pytest.raises(ModelFileError, match=name) as info:
        chainrule.load(path)
    assert len(str(info.value)) < 500


def test_unforged_file_loads_and_clones(regressor_file, tmp_path):
    # The same edit path with no change: the checks do not refuse a genuine file.
    path = tmp_path / "same.safetensors"
    path.write_bytes(regressor_file.read_bytes())
    resign(path, lambda meta: None)
    est = chainrule.load(path)
    assert clone(est).fit(X, Y).network_.sizes == [3, 4, 1]


def test_file_from_before_the_new_parameters_loads_with_their_defaults(regressor_file, tmp_path):
    # Files written before loss, power_t and max_fun existed lack them.
    path = tmp_path / "old.safetensors"
    path.write_bytes(regressor_file.read_bytes())

    def drop_new(meta):
        for name in ("loss", "power_t", "max_fun"):
            del meta["model"]["params"][name]

    resign(path, drop_new)
    est = chainrule.load(path)
    assert (est.loss, est.power_t, est.max_fun) == ("squared_error", 0.5, 15000)
    assert est.out_activation_ == "identity"
    original = chainrule.load(regressor_file)
    np.testing.assert_array_equal(est.predict(X), original.predict(X))


def test_sgd_state_from_before_velocity_lr_continues(tmp_path):
    # Files from before SklearnSGD hold no velocity_lr: at a constant rate it is the rate.
    est = MLPRegressor((4,), solver="sgd", max_iter=3, random_state=0).fit(X, Y)
    path = chainrule.save(est, tmp_path / "sgd")
    resign(path, lambda meta: meta["model"]["optimizer_state"].pop("velocity_lr"))
    old = chainrule.load(path)
    assert old._optimizer_state["velocity_lr"] == est._optimizer_state["lr"]
    est.partial_fit(X, Y)
    old.partial_fit(X, Y)
    np.testing.assert_array_equal(old.predict(X), est.predict(X))


def test_poisson_regressor_round_trips(tmp_path):
    counts = np.random.default_rng(1).poisson(np.exp(0.3 * X[:, 0]))
    est = MLPRegressor((4,), loss="poisson", max_iter=5, random_state=0).fit(X, counts)
    loaded = chainrule.load(chainrule.save(est, tmp_path / "poisson"))
    assert loaded.loss == "poisson" and loaded.out_activation_ == "exp"
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert (loaded.predict(X) > 0).all()  # exp of the network's output


@pytest.mark.parametrize("activation", ["identity", "tanh", ["tanh"]])
def test_activation_must_match_the_network(regressor_file, tmp_path, activation):
    path = tmp_path / "act.safetensors"
    path.write_bytes(regressor_file.read_bytes())
    resign(path, lambda meta: meta["model"]["params"].__setitem__("activation", activation))
    with pytest.raises(ModelFileError, match="activation"):
        chainrule.load(path)


def test_classifier_with_forged_sizes_is_refused(tmp_path):
    y = (X[:, 0] > 0).astype(int)
    path = chainrule.save(MLPClassifier((3,), max_iter=3, random_state=0).fit(X, y), tmp_path / "c")
    resign(path, lambda meta: meta["model"]["params"].__setitem__("hidden_layer_sizes", [5]))
    with pytest.raises(ModelFileError, match="hidden_layer_sizes"):
        chainrule.load(path)


# -- 10. dropout and every layer setting survive save and load -----------------------------
def test_network_dropout_and_activation_settings_survive(tmp_path):
    net = Network.from_sizes([2, 3, 3, 1], [LeakyReLU(0.3), "tanh", "sigmoid"], dropout=[0.3, 0.1])
    loaded = chainrule.load(chainrule.save(net, tmp_path / "n.safetensors"))
    assert [layer.dropout for layer in loaded.layers] == [0.3, 0.1, 0.0]
    assert [layer.activation.params() for layer in loaded.layers] == [
        layer.activation.params() for layer in net.layers
    ]
    assert repr(loaded) == repr(net)
    # Training draws the same masks: the loaded network steps exactly as the original.
    x = np.random.default_rng(2).normal(size=(50, 2))
    a = net.forward(x, training=True, rng=np.random.default_rng(1))[0]
    b = loaded.forward(x, training=True, rng=np.random.default_rng(1))[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, net.forward(x)[0])  # the masks did apply


def test_forged_dropout_rate_is_refused(tmp_path):
    path = chainrule.save(Network.from_sizes([2, 3, 1], dropout=0.3), tmp_path / "n")
    resign(path, lambda meta: meta["model"].__setitem__("dropout", [1.5, 0.0]))
    with pytest.raises(ModelFileError, match="dropout"):
        chainrule.load(path)


def test_estimator_with_dropout_continues_like_the_original(tmp_path):
    est = MLPRegressor((8,), dropout=0.3, max_iter=4, random_state=0).fit(X, Y)
    loaded = chainrule.load(chainrule.save(est, tmp_path / "e"))
    assert [layer.dropout for layer in loaded.network_.layers] == [0.3, 0.0]
    est.partial_fit(X, Y)
    loaded.partial_fit(X, Y)
    for a, b in zip(est.coefs_, loaded.coefs_, strict=True):
        assert np.array_equal(a, b)


def test_fit_checkpoint_records_the_dropout_rates(tmp_path):
    net = Network.from_sizes([3, 4, 1], ["relu", "identity"], dropout=0.25, random_state=0)
    path = tmp_path / "run.ckpt"
    chainrule.fit(
        net, X, Y[:, None], loss="mse", epochs=1, batch_size=10, random_state=0, checkpoint=path
    )
    settings = chainrule.load_checkpoint(path).extra["settings"]
    assert "dropout=[0.25]" in settings["network"]
