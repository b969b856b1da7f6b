"""The fit loop: batches, shuffling, validation, early stopping, callbacks, interrupts, dtypes."""

import sys

import numpy as np
import pytest

from chainrule import Network, fit, seed_example
from chainrule.datasets import xor
from chainrule.optimizers import SGD, Adam
from chainrule.training.callbacks import Callback


def _regression_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.tanh(X @ np.array([1.0, -1.0, 0.5]))[:, None]
    return X, y


# -- the seed notebook, through the fit loop ------------------------------------------------
def test_one_epoch_on_the_seed_is_the_seed_step():
    seed = seed_example()
    history = fit(
        seed.network,
        [seed.x],
        [[seed.y]],
        loss="half_squared_error",
        optimizer=SGD(lr=0.5),
        epochs=1,
        batch_size=1,
    )
    # the seed notebook prints 0.011843 before and 0.010953 after its one step
    assert history["loss"][0] == pytest.approx(0.011843, abs=5e-7)
    assert seed.network.loss(seed.x, seed.y) == pytest.approx(0.010953, abs=5e-7)


# -- an independent implementation: the same mini-batch SGD in PyTorch ---------------------
@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_minibatch_sgd_matches_torch(batch_size):
    torch = pytest.importorskip("torch", reason="torch autograd is the reference")
    X, y = _regression_data(n=10)
    net = Network.from_sizes([3, 4, 1], ["tanh", "identity"], random_state=0)
    Ws = [torch.tensor(layer.W, requires_grad=True) for layer in net.layers]
    bs = [torch.tensor(layer.b, requires_grad=True) for layer in net.layers]
    opt = torch.optim.SGD([*Ws, *bs], lr=0.1, momentum=0.9)
    step = batch_size or len(X)
    for _ in range(3):
        for start in range(0, len(X), step):
            xb, yb = torch.tensor(X[start : start + step]), torch.tensor(y[start : start + step])
            out = torch.tanh(xb @ Ws[0] + bs[0]) @ Ws[1] + bs[1]
            loss = ((out - yb) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    fit(
        net,
        X,
        y,
        loss="mse",
        optimizer=SGD(lr=0.1, momentum=0.9),
        epochs=3,
        batch_size=batch_size,
        shuffle=False,
    )
    for layer, W, b in zip(net.layers, Ws, bs, strict=True):
        np.testing.assert_allclose(layer.W, W.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.b, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("batch_size", "updates"), [(1, 40), (7, 6 * 2), (None, 2), (999, 2)])
def test_number_of_updates(batch_size, updates):
    X, y = _regression_data()
    history = fit(
        Network.from_sizes([3, 1], "identity", random_state=0),
        X,
        y,
        loss="mse",
        epochs=2 if batch_size != 1 else 1,
        batch_size=batch_size,
    )
    assert history.optimizer_state["t"] == updates


def test_learns_xor():
    X, y = xor()
    net = Network.from_sizes([2, 8, 1], ["tanh", "sigmoid"], random_state=0)
    fit(net, X, y, loss="bce", optimizer=Adam(lr=0.05), epochs=300, batch_size=4, random_state=0)
    assert ((net.predict(X)[:, 0] > 0.5) == y).all()


# -- determinism ------------------------------------------------------------------------------
def _train(seed, dtype=np.float64):
    X, y = _regression_data()
    net = Network.from_sizes(
        [3, 16, 1], ["relu", "identity"], random_state=seed, dtype=dtype, dropout=0.2
    )
    fit(net, X, y, loss="mse", epochs=5, batch_size=8, validation_split=0.2, random_state=seed)
    return net.params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_seed_bit_identical_weights(dtype):
    a, b, c = _train(7, dtype), _train(7, dtype), _train(8, dtype)
    for name in a:
        assert a[name].tobytes() == b[name].tobytes()
    assert any(a[name].tobytes() != c[name].tobytes() for name in a)


def test_same_seed_bit_identical_across_processes():
    import subprocess

    code = (
        "import hashlib, numpy as np\n"
        "from chainrule import Network, fit\n"
        "rng = np.random.default_rng(0); X = rng.normal(size=(40, 3)); y = X[:, :1] ** 2\n"
        "net = Network.from_sizes([3, 16, 1], ['relu', 'identity'], random_state=5,"
        " dropout=0.2)\n"
        "fit(net, X, y, loss='mse', epochs=5, batch_size=8, validation_split=0.2,"
        " random_state=5)\n"
        "print(hashlib.sha256(b''.join(p.tobytes() for p in net.params.values())).hexdigest())\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout and len(runs[0].stdout.strip()) == 64


def test_shuffle_changes_the_order_only_when_asked():
    X, y = _regression_data()
    nets = [Network.from_sizes([3, 1], "identity", random_state=0) for _ in range(3)]
    fit(nets[0], X, y, loss="mse", optimizer="sgd", epochs=2, batch_size=5, shuffle=False)
    fit(
        nets[1],
        X,
        y,
        loss="mse",
        optimizer="sgd",
        epochs=2,
        batch_size=5,
        shuffle=False,
        random_state=99,
    )
    fit(nets[2], X, y, loss="mse", optimizer="sgd", epochs=2, batch_size=5, random_state=0)
    np.testing.assert_array_equal(nets[0].params["W1"], nets[1].params["W1"])
    assert not np.array_equal(nets[0].params["W1"], nets[2].params["W1"])


# -- validation, early stopping, metrics ----------------------------------------------------
def test_validation_data_and_metrics():
    X, y = _regression_data(60)
    net = Network.from_sizes([3, 8, 1], ["tanh", "identity"], random_state=0)
    history = fit(
        net,
        X[:40],
        y[:40],
        loss="mse",
        epochs=4,
        validation_data=(X[40:], y[40:]),
        metrics=["mae"],
        random_state=0,
    )
    assert set(history.history) == {"loss", "lr", "mae", "val_loss", "val_mae"}
    assert history["val_loss"][-1] == pytest.approx(net.loss(X[40:], y[40:], "mse"), rel=1e-12)
    mae = np.mean(np.abs(net.predict(X[40:]) - y[40:]))
    assert history["val_mae"][-1] == pytest.approx(mae, rel=1e-12)


def test_validation_split_holds_out_rows():
    X, y = _regression_data(50)
    history = fit(
        Network.from_sizes([3, 1], "identity", random_state=0),
        X,
        y,
        loss="mse",
        epochs=1,
        batch_size=1,
        validation_split=0.2,
        random_state=0,
    )
    assert history.optimizer_state["t"] == 40  # 50 rows, 10 held out
    assert "val_loss" in history


def test_early_stopping_restores_the_best_weights():
    # Random labels: a wide network memorizes the training rows and the
    # validation loss soon rises.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 2, size=60).astype(float)
    net = Network.from_sizes([5, 64, 1], ["relu", "sigmoid"], random_state=0)
    history = fit(
        net,
        X[:30],
        y[:30],
        loss="bce",
        optimizer=Adam(lr=0.01),
        epochs=500,
        validation_data=(X[30:], y[30:]),
        early_stopping=True,
        patience=5,
        random_state=0,
    )
    assert history.stop_reason == "early_stopping"
    best = history.best_epoch
    assert history.epochs == best + 5 + 1
    assert history["val_loss"][best] == min(history["val_loss"])
    assert history.restored_best
    assert net.loss(X[30:], y[30:], "bce") == pytest.approx(history["val_loss"][best], rel=1e-12)


def test_early_stopping_without_restore_keeps_the_last_weights():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 2, size=60).astype(float)
    net = Network.from_sizes([5, 64, 1], ["relu", "sigmoid"], random_state=0)
    history = fit(
        net,
        X[:30],
        y[:30],
        loss="bce",
        optimizer=Adam(lr=0.01),
        epochs=500,
        validation_data=(X[30:], y[30:]),
        early_stopping=True,
        patience=5,
        restore_best_weights=False,
        random_state=0,
    )
    assert not history.restored_best
    assert net.loss(X[30:], y[30:], "bce") == pytest.approx(history["val_loss"][-1], rel=1e-12)


# -- callbacks and interrupts -----------------------------------------------------------------
def test_callback_hooks_and_stopping():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, network, history):
            calls.append("begin")

        def on_epoch_begin(self, epoch, network):
            calls.append(f"start {epoch}")

        def on_epoch_end(self, epoch, logs, network):
            calls.append(f"end {epoch}")
            return epoch == 1

        def on_train_end(self, network, history):
            calls.append("finish")

    X, y = _regression_data()
    history = fit(
        Network.from_sizes([3, 1], "identity", random_state=0),
        X,
        y,
        loss="mse",
        epochs=10,
        callbacks=[Recorder()],
    )
    assert calls == ["begin", "start 0", "end 0", "start 1", "end 1", "finish"]
    assert history.stop_reason == "callback" and history.epochs == 2


def test_function_callback_sees_the_logs():
    seen = []
    X, y = _regression_data()
    fit(
        Network.from_sizes([3, 1], "identity", random_state=0),
        X,
        y,
        loss="mse",
        epochs=3,
        callbacks=[lambda epoch, logs, net: seen.append(logs["loss"])],
    )
    assert len(seen) == 3


class _InterruptingSGD(SGD):
    """Raises KeyboardInterrupt at the given update, as Ctrl-C would mid-epoch."""

    def update(self, params, grads, state):
        if state["t"] == 17:
            raise KeyboardInterrupt
        return super().update(params, grads, state)


def test_keyboard_interrupt_ends_training_cleanly():
    X, y = _regression_data()
    net = Network.from_sizes([3, 4, 1], ["tanh", "identity"], random_state=0)
    history = fit(
        net,
        X,
        y,
        loss="mse",
        optimizer=_InterruptingSGD(lr=0.1),
        epochs=10,
        batch_size=8,
        random_state=0,
    )
    assert history.interrupted
    assert history.epochs == 3  # 5 updates per epoch: interrupted during epoch 4
    assert len(history["loss"]) == 3
    assert np.isfinite(net.predict(X)).all()


# -- progress ---------------------------------------------------------------------------------
def test_verbose_levels(capsys):
    pytest.importorskip("tqdm", reason="the progress bar is tqdm's")
    X, y = _regression_data()
    net = Network.from_sizes([3, 1], "identity", random_state=0)
    fit(net, X, y, loss="mse", epochs=2, verbose=0)
    assert capsys.readouterr() == ("", "")
    fit(net, X, y, loss="mse", epochs=2, verbose=1)
    assert "2/2" in capsys.readouterr().err
    fit(net, X, y, loss="mse", epochs=2, verbose=2)
    assert "epoch 2: loss=" in capsys.readouterr().out


def test_progress_bar_without_tqdm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, y = _regression_data()
    with pytest.raises(ImportError, match=r"chainrule\[progress\]"):
        fit(Network.from_sizes([3, 1], "identity"), X, y, loss="mse", verbose=1)


# -- dtypes -----------------------------------------------------------------------------------
class _DtypeSpy(Adam):
    seen: set

    def update(self, params, grads, state):
        self.seen.update(str(a.dtype) for a in [*params.values(), *grads.values()])
        self.seen.update(str(a.dtype) for a in state["m"].values())
        return super().update(params, grads, state)


def test_float32_training_never_upcasts():
    X, y = _regression_data()
    net = Network.from_sizes(
        [3, 8, 1], ["relu", "identity"], dtype=np.float32, random_state=0, dropout=0.1
    )
    spy = _DtypeSpy(lr=0.01)
    object.__setattr__(spy, "seen", set())
    fit(
        net,
        X,
        y,
        loss="mse",
        optimizer=spy,
        epochs=3,
        batch_size=8,
        l2=0.01,
        clip_norm=1.0,
        sample_weight=np.ones(len(X)),
        random_state=0,
    )
    assert spy.seen == {"float32"}
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.predict(X).dtype == np.float32


def test_sample_weight_equals_repeated_rows():
    X, y = _regression_data(10)
    w = np.array([2, 1, 1, 3, 1, 1, 1, 1, 1, 1.0])
    a = Network.from_sizes([3, 4, 1], ["tanh", "identity"], random_state=0)
    b = a.copy()
    fit(a, X, y, loss="mse", optimizer="sgd", epochs=5, batch_size=None, sample_weight=w)
    rows = np.repeat(np.arange(10), w.astype(int))
    fit(b, X[rows], y[rows], loss="mse", optimizer="sgd", epochs=5, batch_size=None)
    for name in a.params:
        np.testing.assert_allclose(a.params[name], b.params[name], rtol=1e-12)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": [[np.nan, 0, 0]] * 4}, "NaN"),
        ({"y": np.zeros((3, 1))}, "y must have shape"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_split": 1.5}, "validation_split"),
        ({"loss": "hinge"}, "unknown loss"),
        ({"monitor": "val_loss", "early_stopping": True}, "validation"),
        ({"sample_weight": [1.0, 2.0]}, "sample_weight"),
        ({"sample_weight": [-1.0, 1.0, 1.0, 1.0]}, "sample_weight"),
        ({"metrics": ["auc"]}, "unknown metric"),
        ({"monitor": "accuracy"}, "monitor must be one of"),
        ({"callbacks": [3]}, "callbacks"),
    ],
)
def test_bad_input_is_refused_before_any_change(kwargs, message):
    net = Network.from_sizes([3, 1], "identity", random_state=0)
    before = net.params["W1"].copy()
    args = {"X": np.ones((4, 3)), "y": np.ones((4, 1)), "loss": "mse", **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        fit(net, args.pop("X"), args.pop("y"), **args)
    np.testing.assert_array_equal(net.params["W1"], before)


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    from chainrule.training.callbacks import History

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"chainrule\[plot\]"):
        History({"loss": [1.0]}).plot()


# -- property: a small step against the gradient lowers the loss ------------------------
hypothesis = pytest.importorskip("hypothesis", reason="property tests use hypothesis")


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    seed=hypothesis.strategies.integers(0, 10_000),
    hidden=hypothesis.strategies.integers(1, 6),
    activation=hypothesis.strategies.sampled_from(["tanh", "sigmoid", "softplus"]),
)
def test_small_full_batch_step_lowers_the_loss(seed, hidden, activation):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    net = Network.from_sizes([3, hidden, 2], [activation, "identity"], random_state=seed)
    before = net.loss(X, y, "mse")
    _, grads = net.loss_and_grads(X, y, "mse")
    hypothesis.assume(sum(float((g**2).sum()) for g in grads.values()) > 1e-12)
    fit(net, X, y, loss="mse", optimizer=SGD(lr=1e-3), epochs=1, batch_size=None)
    assert net.loss(X, y, "mse") < before
