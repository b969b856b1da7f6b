"""fit on a device: PyTorch CPU tensors stand in for a GPU's (the tests never need one).

The engine on PyTorch tensors is the same arithmetic as on NumPy, through the array-API
namespace; in float32 the two differ by the libraries' rounding only, so one epoch's
losses are compared to 1e-5 (relative), as issue 17 asks, and the weights to 1e-5 too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from chainrule import Network
from chainrule.io.checkpoint import load_checkpoint
from chainrule.layers import Dense
from chainrule.optimizers import SGD, Adam
from chainrule.training import fit
from chainrule.training.guard import Snapshot

torch = pytest.importorskip("torch")  # in the test extra


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 200)]
    return X, y


def _net():
    return Network.from_sizes([6, 16, 8, 3], ["relu", "tanh", "softmax"], random_state=1,
                              dtype=np.float32)  # fmt: skip


def _on_torch(net):
    layers = [
        Dense(torch.from_numpy(layer.W.copy()), torch.from_numpy(layer.b.copy()), layer.activation)
        for layer in net.layers
    ]
    return Network(layers)


SETTINGS = {"loss": "cross_entropy", "epochs": 1, "batch_size": 32, "random_state": 3}


@pytest.mark.parametrize(
    ("optimizer", "extra"),
    [
        (SGD(lr=0.1), {}),
        (SGD(lr=0.1, momentum=0.9, nesterov=True), {"l2": 0.01, "clip_norm": 0.5}),
        (Adam(lr=0.01), {"l2": 0.001}),
    ],
)
def test_one_epoch_on_torch_tensors_gives_the_numpy_losses(optimizer, extra):
    X, y = _data()
    reference, moved = _net(), _net()
    settings = {**SETTINGS, **extra, "optimizer": optimizer, "validation_split": 0.2}
    h_np = fit(reference, X, y, **settings)
    h_dev = fit(moved, X, y, device="cpu", **settings)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h_dev[key], h_np[key], rtol=1e-5, err_msg=key)
    for name, p in reference.params.items():
        assert isinstance(moved.params[name], np.ndarray)  # back in the NumPy network
        np.testing.assert_allclose(moved.params[name], p, rtol=1e-5, atol=1e-6, err_msg=name)
    assert h_dev["loss"][0] != h_np["loss"][0] or isinstance(optimizer, SGD)  # it trained apart
    for value in h_dev.optimizer_state.get("m", {}).values():
        assert isinstance(value, np.ndarray)  # the history's state as NumPy


def test_a_network_on_a_device_trains_there_with_its_state_beside_it():
    X, y = _data()
    reference, net = _net(), _on_torch(_net())
    h_np = fit(reference, X, y, optimizer=Adam(lr=0.01), metrics=["accuracy"], **SETTINGS)
    h = fit(net, X, y, optimizer=Adam(lr=0.01), metrics=["accuracy"], **SETTINGS)
    np.testing.assert_allclose(h["loss"], h_np["loss"], rtol=1e-5)
    assert h["accuracy"] == h_np["accuracy"]
    assert all(isinstance(p, torch.Tensor) for p in net.params.values())
    state = h.optimizer_state
    assert all(isinstance(state[k]["W1"], torch.Tensor) for k in ("m", "s"))
    assert state["m"]["W1"].device == net.params["W1"].device


def test_a_device_run_writes_its_checkpoint_as_numpy(tmp_path):
    X, y = _data()
    net = _net()
    path = tmp_path / "run.ckpt"
    fit(net, X, y, optimizer=Adam(lr=0.01), device="cpu", checkpoint=path, **SETTINGS)
    saved = load_checkpoint(path)
    for name, p in net.params.items():
        assert isinstance(saved.params[name], np.ndarray)
        np.testing.assert_array_equal(saved.params[name], p)
    assert isinstance(saved.optimizer_state["m"]["W1"], np.ndarray)


def test_device_is_checked_before_training():
    X, y = _data()
    net = _net()
    W1 = net.params["W1"].copy()
    with pytest.raises(ValueError, match=r"device must name a PyTorch device.*'abacus'"):
        fit(net, X, y, optimizer="sgd", device="abacus", **SETTINGS)
    np.testing.assert_array_equal(net.params["W1"], W1)
    with pytest.raises(ValueError, match="on a device already"):
        fit(_on_torch(net), X, y, optimizer="sgd", device="cpu", **SETTINGS)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_the_estimator_trains_on_a_device_and_ends_as_numpy(early_stopping):
    from chainrule.estimators.mlp import MLPClassifier

    X, _ = _data()
    labels = np.random.default_rng(4).integers(0, 3, len(X))
    settings = {"hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0,
                "early_stopping": early_stopping, "dtype": "float32"}  # fmt: skip
    on_numpy = MLPClassifier(**settings).fit(X, labels)
    on_device = MLPClassifier(**settings).fit(X, labels, device="cpu")
    np.testing.assert_allclose(on_device.loss_curve_, on_numpy.loss_curve_, rtol=1e-5)
    assert all(isinstance(W, np.ndarray) for W in on_device.coefs_)
    np.testing.assert_allclose(
        on_device.predict_proba(X), on_numpy.predict_proba(X), rtol=1e-4, atol=1e-6
    )


@dataclass(frozen=True)
class _UsersSGD(SGD):
    """A user's optimizer (a subclass is not one of fit's own): fit keeps a copy of the
    parameters and state before each update, to put back if the update raises."""


def test_a_users_optimizer_trains_on_a_device():
    # The copy before each update was NumPy's .copy(), which a tensor does not have.
    X, y = _data()
    reference, moved = _net(), _net()
    h_np = fit(reference, X, y, optimizer=_UsersSGD(lr=0.1), **SETTINGS)
    h_dev = fit(moved, X, y, optimizer=_UsersSGD(lr=0.1), device="cpu", **SETTINGS)
    np.testing.assert_allclose(h_dev["loss"], h_np["loss"], rtol=1e-5)
    for name, value in reference.params.items():
        np.testing.assert_allclose(moved.params[name], value, rtol=1e-5, atol=1e-6)


def test_an_update_that_raises_on_a_device_is_undone():
    # Snapshot copies tensors with their own library and puts them back in place.
    W, state = torch.arange(4.0), {"t": 3, "velocity": {"W": torch.ones(4)}}
    before = Snapshot({"W": W}, state)
    W -= 10.0
    state["velocity"]["W"] += 1.0
    state["t"] += 1
    before.restore()
    assert torch.equal(W, torch.arange(4.0))  # the same tensor object, its values back
    assert state["t"] == 3 and torch.equal(state["velocity"]["W"], torch.ones(4))


def _dropout_net():
    return Network.from_sizes([6, 16, 8, 3], ["relu", "tanh", "softmax"], random_state=1,
                              dtype=np.float32, dropout=0.2)  # fmt: skip


def test_dropout_on_a_device_gives_the_numpy_losses():
    X, y = _data()
    settings = {**SETTINGS, "epochs": 3, "optimizer": Adam(lr=0.01)}
    reference, moved = _dropout_net(), _dropout_net()
    h_np = fit(reference, X, y, **settings)
    h_dev = fit(moved, X, y, device="cpu", **settings)
    np.testing.assert_allclose(h_dev["loss"], h_np["loss"], rtol=1e-5)


def test_resume_on_a_device_ends_as_the_run_never_stopped(tmp_path):
    # The checkpoint's optimizer state is NumPy; resumed on the device it moves there
    # (Adam's moments beside the tensors), and the run ends bit for bit as one unbroken run.
    X, y = _data()
    settings = {**SETTINGS, "epochs": 3, "optimizer": Adam(lr=0.01), "device": "cpu"}
    unbroken, resumed = _dropout_net(), _dropout_net()
    expected = fit(unbroken, X, y, **settings)
    path = tmp_path / "run.ckpt"
    fit(resumed, X, y, checkpoint=path, **{**settings, "epochs": 2})
    history = fit(resumed, X, y, checkpoint=path, resume=True, **settings)
    assert history["loss"] == expected["loss"]
    for name, value in unbroken.params.items():
        assert np.array_equal(resumed.params[name], value), name


def test_a_numpy_optimizer_state_continues_on_a_device():
    # History.optimizer_state is NumPy (also after a fit on a device); given back to a fit
    # on the device, it continues there as it does on NumPy.
    X, y = _data()
    first = _net()
    state = fit(first, X, y, optimizer=Adam(lr=0.01), **SETTINGS).optimizer_state
    on_numpy, on_device = first.copy(), first.copy()
    settings = {**SETTINGS, "optimizer": Adam(lr=0.01), "optimizer_state": state}
    h_np = fit(on_numpy, X, y, **settings)
    h_dev = fit(on_device, X, y, device="cpu", **settings)
    np.testing.assert_allclose(h_dev["loss"], h_np["loss"], rtol=1e-5)
    for name, value in on_numpy.params.items():
        np.testing.assert_allclose(on_device.params[name], value, rtol=1e-5, atol=1e-6)
