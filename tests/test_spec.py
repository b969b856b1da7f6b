"""Spec files (JSON and TOML) and the errors a bad one gives."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.datasets import SEED_SPEC

SEED_TOML = """
x = [0.5, 0.1]
y = 0.9
lr = 0.5

[[layers]]
W = [[0.15, 0.2], [0.24, 0.3]]
b = [1, 1]
activation = "sigmoid"

[[layers]]
W = [[-0.4], [0.5]]
b = [1]
activation = "sigmoid"
"""


def test_toml_and_json_give_the_seed(tmp_path):
    (tmp_path / "seed.toml").write_text(SEED_TOML)
    (tmp_path / "seed.json").write_text(json.dumps(SEED_SPEC))
    for name in ("seed.toml", "seed.json"):
        example = cr.load_spec(tmp_path / name)
        before = cr.train_step(example.network, example.x, example.y, lr=example.lr)
        assert round(before, 6) == 0.011843
        assert round(example.network.loss(example.x, example.y), 6) == 0.010953


def test_sizes_form_builds_a_seeded_network():
    spec = {"sizes": [3, 4, 2], "activations": ["tanh", "softmax"], "seed": 3,
            "x": [[0.1, 0.2, 0.3]], "y": [[0, 1]], "lr": 0.1, "loss": "cross_entropy"}  # fmt: skip
    a, b = cr.spec_from_dict(spec), cr.spec_from_dict(spec)
    assert repr(a.network) == "Network(3-4-2, activations=tanh-softmax, dtype=float64)"
    assert np.array_equal(a.network.params["W1"], b.network.params["W1"])
    assert a.loss.name == "cross_entropy"


def broken(change) -> dict:
    spec = copy.deepcopy(SEED_SPEC)
    change(spec)
    return spec


BAD_SPECS = [
    (lambda s: s["layers"][1].update(W=[[-0.4], [0.5], [0.1]]), ValueError,
     r"layer 2: W2 has shape \(3, 1\), so it expects 3 inputs, but layer 1 has 2 outputs"),
    (lambda s: s["layers"][0].update(b=[1, 1, 1]), ValueError,
     r"layer 1: b1 must have shape \(2,\), one bias per column of W1 \(2, 2\), got shape \(3,\)"),
    (lambda s: s.update(x=[0.5, 0.1, 0.2]), ValueError,
     r"X has 3 features per instance, but layer 1 \(W1, shape \(2, 2\)\) expects 2"),
    (lambda s: s.update(y=[0.9, 0.1]), ValueError, r"y must have shape \(1, 1\).*got shape \(2,\)"),
    (lambda s: s.update(x=[0.5, float("nan")]), ValueError, "field 'x' contains NaN or infinity"),
    (lambda s: s["layers"][0].update(W=[[0.15, float("inf")], [0.24, 0.3]]), ValueError,
     "W1 contains NaN or infinity"),
    (lambda s: s["layers"][0].update(activation="sigmod"), ValueError,
     "unknown layer 1 activation 'sigmod'; known: identity, leaky_relu, relu, sigmoid"),
    (lambda s: s.update(loss="hinge"), ValueError, "field 'loss': unknown loss 'hinge'; known:"),
    (lambda s: s.update(reduction="avg"), ValueError, "field 'reduction': reduction must be one"),
    (lambda s: s.update(lr=-1), ValueError, "field 'lr' must be a positive finite number, got -1"),
    (lambda s: s.update(lr="fast"), TypeError, "field 'lr' must be a positive number"),
    (lambda s: s.pop("x"), ValueError, "field 'x' is missing"),
    (lambda s: s.update(hidden=3), ValueError, r"unknown field\(s\) \['hidden'\]; known fields"),
    (lambda s: s["layers"][0].pop("W"), ValueError,
     r"layers\[0\] \(layer 1\): field 'W' is missing"),
    (lambda s: s["layers"][0].update(W=[[0.15, 0.2], [0.24]]), ValueError,
     "W1 must be a rectangular array of numbers"),
    (lambda s: s["layers"][0].update(W="weights"), TypeError, "W1 must be numeric, got a str"),
    (lambda s: s.update(frozen=["c1"]), ValueError, r"cannot freeze unknown parameters \['c1'\]"),
    (lambda s: s.update(dtype="float16"), ValueError,
     "field 'dtype' must be 'float32' or 'float64'"),
    (lambda s: s.update(sizes=[2, 1]), ValueError, "give exactly one of the fields 'layers'"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "error", "message"), BAD_SPECS)
def test_bad_spec_names_the_field(change, error, message):
    with pytest.raises(error, match=message):
        cr.spec_from_dict(broken(change))


def test_malformed_files(tmp_path):
    (tmp_path / "bad.json").write_text('{"x": [0.5, 0.1],')
    (tmp_path / "bad.toml").write_text("x = [0.5, \n")
    (tmp_path / "spec.yaml").write_text("x: 1")
    with pytest.raises(ValueError, match=r"bad\.json' is not valid JSON: .*line 1"):
        cr.load_spec(tmp_path / "bad.json")
    with pytest.raises(ValueError, match=r"bad\.toml' is not valid TOML"):
        cr.load_spec(tmp_path / "bad.toml")
    with pytest.raises(ValueError, match=r"must end in \.json or \.toml, got '\.yaml'"):
        cr.load_spec(tmp_path / "spec.yaml")
    with pytest.raises(ValueError, match="cannot read spec file"):
        cr.load_spec(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(TypeError, match=r"list\.json'.*a spec must be a mapping"):
        cr.load_spec(tmp_path / "list.json")
