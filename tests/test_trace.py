"""Trace: every quantity of a step, in order, under the seed's names; off by default."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.trace import Trace


def traced_step(sizes=(2, 3, 2, 1), n=1):
    net = cr.Network.from_sizes(list(sizes), "sigmoid", random_state=0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1]))
    trace = Trace()
    cr.train_step(net, X, y, lr=0.1, tracer=trace)
    return trace


def test_names_in_order_for_three_layers():
    assert list(traced_step()) == [
        "x", "y", "W1", "b1", "W2", "b2", "W3", "b3",
        "inL1", "outL1", "inL2", "outL2", "inL3", "outL3", "e", "E",
        "dEdOutL3", "dEdInL3", "dEdW3", "dEdB3",
        "dEdOutL2", "dEdInL2", "dEdW2", "dEdB2",
        "dEdOutL1", "dEdInL1", "dEdW1", "dEdB1",
        "W1_new", "b1_new", "W2_new", "b2_new", "W3_new", "b3_new", "e_new", "E_new",
    ]  # fmt: skip


def test_values_are_copies_with_the_right_shapes():
    trace = traced_step(n=4)
    assert trace["inL2"].shape == (4, 2) and trace["e"].shape == (4,)
    assert trace["dEdW1"].shape == trace["W1"].shape == (2, 3)
    assert not np.array_equal(trace["W1"], trace["W1_new"])  # W1 was copied before the update
    np.testing.assert_allclose(trace["W1_new"], trace["W1"] - 0.1 * trace["dEdW1"])


def test_access_by_name_iterate_and_print():
    trace = traced_step()
    assert "dEdB2" in trace and "dEdB9" not in trace
    assert dict(trace.items()).keys() == set(trace)
    with pytest.raises(KeyError, match="'nope' is not in this trace"):
        trace["nope"]
    assert str(trace).splitlines()[0].startswith("x: [[")


def test_off_by_default_records_nothing(monkeypatch):
    def fail(self, name, value):
        raise AssertionError(f"recorded {name} without a tracer")

    monkeypatch.setattr(Trace, "record", fail)
    seed = cr.seed_example()
    cr.train_step(seed.network, seed.x, seed.y, lr=0.5)
    seed.network.loss_and_grads(seed.x, seed.y)


def test_any_object_with_record_is_a_tracer():
    names = []

    class Names:
        def record(self, name, value):
            names.append(name)

    seed = cr.seed_example()
    cr.train_step(seed.network, seed.x, seed.y, lr=0.5, tracer=Names())
    assert names[:2] == ["x", "y"] and names[-1] == "E_new"
