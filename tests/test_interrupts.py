"""Interrupts take effect between batches: an update is never torn (issue 15, point 8).

Each test interrupts a fit at every point of an update (before the first parameter,
between two, after the last) and compares the result with snapshots of the same fit
run uninterrupted, taken after each of its updates: the parameters, the optimizer state
and the history of the interrupted fit must all be those of one and the same update.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from chainrule import MLPClassifier, Network, fit
from chainrule.optimizers import SGD, Adam

SETTINGS = {"loss": "ce", "epochs": 2, "batch_size": 8, "random_state": 0}
N_PARAMS = 4  # W1, b1, W2, b2


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.eye(3)[rng.integers(0, 3, n)]
    return X, y


def _network():
    return Network.from_sizes([4, 6, 3], ["tanh", "softmax"], random_state=1)


def _public(state):
    return {k: v for k, v in state.items() if not k.startswith("_")}


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else value


def _equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.tobytes() == b.tobytes()
    return a == b


class Tripwire(dict):
    """The parameters handed to an update; ``trip()`` is called after the ``at``-th
    parameter the update has taken from it (0: before the first)."""

    def __init__(self, params, at, trip):
        super().__init__(params)
        self.at, self.trip, self.seen = at, trip, 0

    def items(self):
        if self.at == 0:
            self.trip()
        for item in super().items():
            yield item
            self.seen += 1
            if self.seen == self.at:
                self.trip()


def _snapshots(optimizer, monkeypatch):
    """The uninterrupted fit: params and optimizer state after each update, by ``t``."""
    real, snapshots = type(optimizer).update, {}

    def recording(self, params, grads, state, **options):
        out = real(self, params, grads, state, **options)
        snapshots[state["t"]] = (_copy(dict(params)), _copy(_public(state)))
        return out

    X, y = _data()
    with monkeypatch.context() as patch:
        patch.setattr(type(optimizer), "update", recording)
        history = fit(_network(), X, y, optimizer=optimizer, **SETTINGS)
    return snapshots, history


def _interrupted_fit(optimizer, monkeypatch, call, at, trip):
    real, calls = type(optimizer).update, [0]

    def tripped(self, params, grads, state, **options):
        calls[0] += 1
        if calls[0] == call:
            params = Tripwire(params, at, trip)
        return real(self, params, grads, state, **options)

    X, y = _data()
    net = _network()
    with monkeypatch.context() as patch:
        patch.setattr(type(optimizer), "update", tripped)
        history = fit(net, X, y, optimizer=optimizer, **SETTINGS)
    return net, history


def _sigint():
    os.kill(os.getpid(), signal.SIGINT)


def _assert_one_step(net, history, snapshots, reference):
    t = history.optimizer_state["t"]
    params, state = snapshots[t]
    assert _equal(dict(net.params), params), f"parameters torn at t={t}"
    assert _equal(_public(history.optimizer_state), state), f"optimizer state torn at t={t}"
    epochs_done = t // 5  # 40 rows, batches of 8
    assert history.epochs == epochs_done
    assert history.history.get("loss", []) == reference["loss"][:epochs_done]


@pytest.mark.parametrize(
    "optimizer", [Adam(lr=0.05), SGD(lr=0.1, momentum=0.9)], ids=["adam", "sgd-momentum"]
)
def test_sigint_at_every_point_of_an_update_leaves_one_step(optimizer, monkeypatch):
    snapshots, reference = _snapshots(optimizer, monkeypatch)
    assert reference.stop_reason == "completed" and len(snapshots) == 10
    for call in (1, 3, 5, 6, 10):  # the first, a middle, an epoch's last, the next, the end
        for at in range(N_PARAMS + 1):
            net, history = _interrupted_fit(optimizer, monkeypatch, call, at, _sigint)
            assert history.stop_reason == "interrupted"
            # The update in progress is finished, the next one never starts.
            assert history.optimizer_state["t"] == call
            _assert_one_step(net, history, snapshots, reference)


def test_a_keyboard_interrupt_raised_inside_a_custom_optimizer_is_undone(monkeypatch):
    class Custom(Adam):  # not chainrule's own: its update could raise half-way
        pass

    optimizer = Custom(lr=0.05)
    snapshots, reference = _snapshots(optimizer, monkeypatch)

    def raise_now():
        raise KeyboardInterrupt

    for call in (1, 4, 6):
        for at in range(N_PARAMS + 1):
            net, history = _interrupted_fit(optimizer, monkeypatch, call, at, raise_now)
            assert history.stop_reason == "interrupted"
            # The interrupted update is undone as a whole.
            assert history.optimizer_state["t"] == call - 1
            if call > 1:
                _assert_one_step(net, history, snapshots, reference)
            else:
                assert _equal(dict(net.params), dict(_network().params))


def test_sigterm_waits_for_the_update_then_runs_its_own_handler(monkeypatch):
    class TerminatedError(Exception):
        pass

    def handler(signum, frame):
        raise TerminatedError

    optimizer = Adam(lr=0.05)
    snapshots, _ = _snapshots(optimizer, monkeypatch)
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        X, y = _data()
        net = _network()
        real, calls, seen = Adam.update, [0], {}

        def tripped(self, params, grads, state, **options):
            calls[0] += 1
            if calls[0] == 3:
                params = Tripwire(params, 2, lambda: os.kill(os.getpid(), signal.SIGTERM))
            out = real(self, params, grads, state, **options)
            seen["state"] = state
            return out

        with monkeypatch.context() as patch:
            patch.setattr(Adam, "update", tripped)
            with pytest.raises(TerminatedError):
                fit(net, X, y, optimizer=optimizer, **SETTINGS)
        assert seen["state"]["t"] == 3
        params, state = snapshots[3]
        assert _equal(dict(net.params), params)
        assert _equal(_public(seen["state"]), state)
        assert signal.getsignal(signal.SIGTERM) is handler  # put back after the fit
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_fit_puts_the_previous_handlers_back():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    X, y = _data()
    fit(_network(), X, y, **SETTINGS)
    assert {s: signal.getsignal(s) for s in before} == before


def test_fit_in_another_thread_leaves_the_handlers_alone():
    before = signal.getsignal(signal.SIGINT)
    X, y = _data()
    result = {}

    def work():
        result["history"] = fit(_network(), X, y, **SETTINGS)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert result["history"].stop_reason == "completed"
    assert signal.getsignal(signal.SIGINT) is before


def test_partial_fit_after_an_interrupted_fit_continues_from_one_step(monkeypatch):
    X, y = _data(60)
    labels = y.argmax(axis=1)
    params = {"hidden_layer_sizes": (5,), "batch_size": 10, "max_iter": 3, "random_state": 0}
    snapshots = {}
    real = Adam.update

    def recording(self, p, grads, state, **options):
        out = real(self, p, grads, state, **options)
        snapshots[state["t"]] = (_copy(dict(p)), _copy(_public(state)))
        return out

    with monkeypatch.context() as patch:
        patch.setattr(Adam, "update", recording)
        MLPClassifier(**params).fit(X, labels)
    calls = [0]

    def tripped(self, p, grads, state, **options):
        calls[0] += 1
        if calls[0] == 8:  # the second epoch's second batch, between W1 and b1
            p = Tripwire(p, 1, _sigint)
        return real(self, p, grads, state, **options)

    interrupted = MLPClassifier(**params)
    with monkeypatch.context() as patch:
        patch.setattr(Adam, "update", tripped)
        interrupted.fit(X, labels)
    assert interrupted.history_.stop_reason == "interrupted"
    t = interrupted._optimizer_state["t"]
    assert t == 8
    assert _equal(dict(interrupted.network_.params), snapshots[t][0])
    assert _equal(_public(interrupted._optimizer_state), snapshots[t][1])
    assert interrupted.n_iter_ == 1  # one whole epoch in the history
    # partial_fit goes on from that one step: one more epoch of 6 updates.
    interrupted.partial_fit(X, labels)
    assert interrupted._optimizer_state["t"] == t + 6
    assert interrupted.n_iter_ == 1 and len(interrupted.loss_curve_) == 2
    assert all(np.isfinite(p).all() for p in interrupted.network_.params.values())


def test_updates_are_copied_first_only_where_an_interrupt_could_tear_them():
    from chainrule.training.interrupts import DeferredSignals, whole_updates

    class Custom(Adam):
        pass

    def update(*args):
        return None

    found = {}

    def in_a_thread():
        with DeferredSignals() as signals:
            found["thread"] = whole_updates(update, Adam(), signals) is update

    with DeferredSignals() as signals:
        assert whole_updates(update, Adam(), signals) is update
        assert whole_updates(update, SGD(), signals) is update
        assert whole_updates(update, Custom(), signals) is not update
    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert found["thread"]  # no signal can raise in another thread
