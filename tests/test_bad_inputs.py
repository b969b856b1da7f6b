"""The input validation matrix: every bad input is refused clearly, before any change.

Each row gives a call, the error type it must raise and a text the message must hold
(the offending argument or field). Every call gets a fresh copy of the seed network;
after the error, its parameters and frozen set must be exactly as before, and no file
may have been written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import Network, check_gradients, get_activation, get_loss, train_step
from chainrule.activations import Activation, LeakyReLU
from chainrule.cli import main
from chainrule.losses import BinaryCrossEntropy

SEED_W = [[[0.15, 0.2], [0.24, 0.3]], [[-0.4], [0.5]]]
SEED_B = [[1, 1], [1]]
X, Y = [0.5, 0.1], 0.9
XB = [[0.5, 0.1], [0.2, 0.3]]  # a batch of two instances


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Network, Path], Any]
    error: type[Exception]
    names: str


def _fw(**changes: Any) -> Callable[[Network, Path], Any]:
    args = {"weights": SEED_W, "biases": SEED_B, "activations": "sigmoid", **changes}
    return lambda net, tmp: Network.from_weights(**args)


def _fs(**changes: Any) -> Callable[[Network, Path], Any]:
    args = {"sizes": [2, 2, 1], **changes}
    return lambda net, tmp: Network.from_sizes(**args)


def _spec(**changes: Any) -> dict[str, Any]:
    spec = {"layers": [{"W": w, "b": b} for w, b in zip(SEED_W, SEED_B, strict=True)]}
    spec.update({"x": X, "y": Y, "lr": 0.5})
    spec.update(changes)
    return {k: v for k, v in spec.items() if v is not None}


def _sd(**changes: Any) -> Callable[[Network, Path], Any]:
    return lambda net, tmp: chainrule.spec_from_dict(_spec(**changes))


def _spec_file(name: str, content: str | bytes) -> Callable[[Network, Path], Any]:
    def call(net: Network, tmp: Path) -> Any:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return chainrule.load_spec(path)

    return call


class Swish(Activation):
    name = "swish"


def _corrupt_model(net: Network, tmp: Path) -> Any:
    path = chainrule.save(net, tmp / "m.safetensors")
    path.write_bytes(path.read_bytes()[:-4])
    return chainrule.load(path)


DEEP_JSON = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
NAN = float("nan")

CASES = [
    # Network.from_weights
    Case("W-ragged", _fw(weights=[[[0.15, 0.2], [0.24]], SEED_W[1]]), ValueError, "W1"),
    Case("W-1d", _fw(weights=[[0.15, 0.2], SEED_W[1]]), ValueError, "W1"),
    Case("W-nan", _fw(weights=[[[NAN, 0.2], [0.24, 0.3]], SEED_W[1]]), ValueError, "W1"),
    Case("W-string", _fw(weights=["0.15", SEED_W[1]]), TypeError, "W1"),
    Case("W-object", _fw(weights=[np.array([[1, "a"]], dtype=object), SEED_W[1]]), TypeError, "W1"),
    Case("W-complex", _fw(weights=[np.ones((2, 2), complex), SEED_W[1]]), TypeError, "W1"),
    Case("W-empty", _fw(weights=[np.zeros((0, 2)), SEED_W[1]]), ValueError, "W1"),
    Case("weights-int", _fw(weights=5), TypeError, "weights"),
    Case("weights-count", _fw(weights=SEED_W[:1]), ValueError, "weights and biases"),
    Case("W-chain", _fw(weights=[SEED_W[0], [[1.0]]]), ValueError, "W2"),
    Case("b-shape", _fw(biases=[[1, 1, 1], [1]]), ValueError, "b1"),
    Case("b-inf", _fw(biases=[[1, np.inf], [1]]), ValueError, "b1"),
    Case("dtype-int", _fw(dtype=int), ValueError, "dtype"),
    Case("dtype-name", _fw(dtype="double precision"), TypeError, "dtype"),
    Case("frozen-string", _fw(frozen="b1"), TypeError, "frozen"),
    Case("frozen-unknown", _fw(frozen=["b7"]), ValueError, "b7"),
    Case("activation-unknown", _fw(activations="swish"), ValueError, "activation"),
    Case("activation-int", _fw(activations=3), TypeError, "activation"),
    Case("activations-count", _fw(activations=["relu"] * 3), ValueError, "activations"),
    # Network.from_sizes
    Case("sizes-zero", _fs(sizes=[2, 0, 1]), ValueError, "sizes[1]"),
    Case("sizes-float", _fs(sizes=[2, 2.5, 1]), ValueError, "sizes[1]"),
    Case("sizes-string", _fs(sizes="221"), TypeError, "sizes"),
    Case("sizes-short", _fs(sizes=[2]), ValueError, "sizes"),
    Case("initializer-unknown", _fs(initializer="orthogonal"), ValueError, "initializer"),
    Case("initializer-list", _fs(initializer=["he_normal"]), TypeError, "initializer"),
    Case("random-state-negative", _fs(random_state=-1), ValueError, "random_state"),
    Case("random-state-string", _fs(random_state="42"), TypeError, "random_state"),
    Case("layers-not-dense", lambda net, tmp: Network([1]), TypeError, "layers[0]"),
    # set_params, freeze
    Case("set-unknown", lambda net, tmp: net.set_params({"W9": 1.0}), ValueError, "W9"),
    Case("set-shape", lambda net, tmp: net.set_params({"W1": np.ones((3, 2))}), ValueError, "W1"),
    Case(
        "set-half-valid",  # W1 is fine, b2 is not: W1 must not change either
        lambda net, tmp: net.set_params({"W1": np.zeros((2, 2)), "b2": [NAN]}),
        ValueError,
        "b2",
    ),
    Case("set-string", lambda net, tmp: net.set_params({"b1": "1 1"}), TypeError, "b1"),
    Case("set-list", lambda net, tmp: net.set_params([np.ones((2, 2))]), TypeError, "params"),
    Case("freeze-unknown", lambda net, tmp: net.freeze("W3"), ValueError, "W3"),
    Case("unfreeze-unknown", lambda net, tmp: net.unfreeze("b3"), ValueError, "b3"),
    Case("astype-int", lambda net, tmp: net.astype("int32"), ValueError, "dtype"),
    # predict
    Case("X-features", lambda net, tmp: net.predict([1, 2, 3]), ValueError, "X"),
    Case("X-3d", lambda net, tmp: net.predict(np.ones((1, 1, 2))), ValueError, "X"),
    Case("X-empty", lambda net, tmp: net.predict(np.ones((0, 2))), ValueError, "X"),
    Case("X-nan", lambda net, tmp: net.predict([NAN, 1]), ValueError, "X"),
    Case("X-inf", lambda net, tmp: net.predict([[1, 2], [-np.inf, 1]]), ValueError, "X"),
    Case("X-ragged", lambda net, tmp: net.predict([[1, 2], [3]]), ValueError, "X"),
    Case("X-object", lambda net, tmp: net.predict(np.array([1, None])), TypeError, "X"),
    Case("X-string", lambda net, tmp: net.predict("0.5 0.1"), TypeError, "X"),
    Case("X-none", lambda net, tmp: net.predict(None), TypeError, "X"),
    Case("X-scalar", lambda net, tmp: net.predict(0.5), ValueError, "X"),
    # loss_and_grads
    Case("y-shape", lambda net, tmp: net.loss_and_grads(X, [1, 2]), ValueError, "y"),
    Case("y-labels", lambda net, tmp: net.loss_and_grads(XB, ["cat", "dog"]), TypeError, "y"),
    Case("y-nan", lambda net, tmp: net.loss_and_grads(X, NAN), ValueError, "y"),
    Case(
        "reduction",
        lambda net, tmp: net.loss_and_grads(X, Y, reduction="max"),
        ValueError,
        "reduction",
    ),
    Case(
        "loss-unknown", lambda net, tmp: net.loss_and_grads(X, Y, loss="hinge"), ValueError, "loss"
    ),
    Case("loss-int", lambda net, tmp: net.loss_and_grads(X, Y, loss=2), TypeError, "loss"),
    # train_step
    Case("lr-zero", lambda net, tmp: train_step(net, X, Y, lr=0), ValueError, "lr"),
    Case("lr-negative", lambda net, tmp: train_step(net, X, Y, lr=-0.5), ValueError, "lr"),
    Case("lr-nan", lambda net, tmp: train_step(net, X, Y, lr=NAN), ValueError, "lr"),
    Case("lr-inf", lambda net, tmp: train_step(net, X, Y, lr=np.inf), ValueError, "lr"),
    Case("lr-string", lambda net, tmp: train_step(net, X, Y, lr="0.5"), TypeError, "lr"),
    Case("lr-bool", lambda net, tmp: train_step(net, X, Y, lr=True), TypeError, "lr"),
    Case("lr-array", lambda net, tmp: train_step(net, X, Y, lr=np.array([0.5])), TypeError, "lr"),
    Case(
        "step-reduction",
        lambda net, tmp: train_step(net, X, Y, lr=0.5, reduction=None),
        ValueError,
        "reduction",
    ),
    Case("step-y-labels", lambda net, tmp: train_step(net, XB, ["a", "b"], lr=0.5), TypeError, "y"),
    Case(
        "step-y-ragged",
        lambda net, tmp: train_step(net, XB, [[1], [1, 2]], lr=0.5),
        ValueError,
        "y",
    ),
    Case("step-y-count", lambda net, tmp: train_step(net, XB, [1, 2, 3], lr=0.5), ValueError, "y"),
    Case("step-X-nan", lambda net, tmp: train_step(net, [[NAN, 1]], [1], lr=0.5), ValueError, "X"),
    Case("step-network", lambda net, tmp: train_step("net", X, Y, lr=0.5), TypeError, "network"),
    # check_gradients
    Case("eps-zero", lambda net, tmp: check_gradients(net, "mse", X, Y, eps=0), ValueError, "eps"),
    Case("eps-nan", lambda net, tmp: check_gradients(net, "mse", X, Y, eps=NAN), ValueError, "eps"),
    Case("gc-loss", lambda net, tmp: check_gradients(net, "l1", X, Y), ValueError, "loss"),
    Case("gc-X", lambda net, tmp: check_gradients(net, "mse", [1, 2, 3], Y), ValueError, "X"),
    Case("gc-network", lambda net, tmp: check_gradients({}, "mse", X, Y), TypeError, "network"),
    # get_activation, get_loss and their settings
    Case("get-activation", lambda net, tmp: get_activation("swish"), ValueError, "swish"),
    Case("get-activation-none", lambda net, tmp: get_activation(None), TypeError, "activation"),
    Case("get-loss", lambda net, tmp: get_loss("hinge"), ValueError, "hinge"),
    Case("get-loss-list", lambda net, tmp: get_loss(["mse"]), TypeError, "loss"),
    Case("leaky-negative", lambda net, tmp: LeakyReLU(-0.1), ValueError, "alpha"),
    Case("leaky-inf", lambda net, tmp: LeakyReLU(np.inf), ValueError, "alpha"),
    Case("leaky-string", lambda net, tmp: LeakyReLU("0.1"), TypeError, "alpha"),
    Case(
        "from-logits",
        lambda net, tmp: BinaryCrossEntropy(from_logits="no"),
        TypeError,
        "from_logits",
    ),
    # spec_from_dict
    Case("spec-list", lambda net, tmp: chainrule.spec_from_dict([1]), TypeError, "spec"),
    Case("spec-unknown", _sd(hidden=3), ValueError, "hidden"),
    Case("spec-no-lr", _sd(lr=None), ValueError, "'lr'"),
    Case("spec-lr", _sd(lr=-1), ValueError, "'lr'"),
    Case("spec-dtype", _sd(dtype="int8"), ValueError, "'dtype'"),
    Case("spec-frozen", _sd(frozen="b1"), TypeError, "'frozen'"),
    Case("spec-y-labels", _sd(y="yes"), TypeError, "'y'"),
    Case("spec-x-shape", _sd(x=[1, 2, 3]), ValueError, "X"),
    Case(
        "spec-both",
        _sd(sizes=[2, 1]),
        ValueError,
        "'layers'",
    ),
    Case(
        "spec-huge",
        _sd(layers=None, sizes=[2, 10**9, 1]),
        ValueError,
        "'sizes'",
    ),
    Case(
        "spec-seed",
        _sd(layers=None, sizes=[2, 1], seed=1.5),
        TypeError,
        "'seed'",
    ),
    Case(
        "spec-layer-field",
        _sd(layers=[{"W": SEED_W[0], "bias": [1, 1]}]),
        ValueError,
        "layers[0]",
    ),
    # load_spec
    Case("spec-suffix", _spec_file("spec.yaml", "x: 1"), ValueError, "spec.yaml"),
    Case(
        "spec-missing",
        lambda net, tmp: chainrule.load_spec(tmp / "absent.json"),
        ValueError,
        "absent.json",
    ),
    Case("spec-json", _spec_file("bad.json", '{"x": [0.5, }'), ValueError, "not valid JSON"),
    Case("spec-toml", _spec_file("bad.toml", "x = [0.5,"), ValueError, "not valid TOML"),
    Case("spec-deep", _spec_file("deep.json", DEEP_JSON), ValueError, "deep.json"),
    Case("spec-bytes", _spec_file("bin.json", b"\xff\xfe{}"), ValueError, "UTF-8"),
    Case(
        "spec-toml-nan",
        _spec_file("nan.toml", "x = [nan, 0.1]\ny = 0.9\nlr = 0.5\nsizes = [2, 1]"),
        ValueError,
        "'x'",
    ),
    # save and load
    Case("save-dict", lambda net, tmp: chainrule.save({"W1": 1}, tmp / "m"), TypeError, "model"),
    Case(
        "save-custom-activation",
        lambda net, tmp: chainrule.save(Network.from_sizes([2, 1], Swish()), tmp / "m"),
        TypeError,
        "activation",
    ),
    Case(
        "save-no-folder",
        lambda net, tmp: chainrule.save(net, tmp / "absent" / "m.safetensors"),
        OSError,
        "absent",
    ),
    Case("load-corrupt", _corrupt_model, chainrule.ModelFileError, "m.safetensors"),
    Case(
        "load-missing",
        lambda net, tmp: chainrule.load(tmp / "nope.safetensors"),
        FileNotFoundError,
        "nope",
    ),
    Case(
        "checkpoint-nan",
        lambda net, tmp: chainrule.save_checkpoint(
            tmp / "c", {"W1": np.array([[NAN]])}, {}, np.random.default_rng(0), {}, {}
        ),
        ValueError,
        "params['W1']",
    ),
]


def _snapshot(net: Network) -> tuple[dict[str, bytes], frozenset[str]]:
    return {k: v.tobytes() for k, v in net.params.items()}, net.frozen


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_is_refused_before_any_change(case, tmp_path):
    net = Network.from_weights(SEED_W, SEED_B, "sigmoid", frozen=["b2"])
    before = _snapshot(net)
    files_before = sorted(tmp_path.iterdir())
    with pytest.raises(case.error) as info:
        case.call(net, tmp_path)
    assert case.names in str(info.value), f"{info.value!s} does not name {case.names}"
    assert _snapshot(net) == before
    # Only a file the case itself wrote before the bad call may exist; nothing new is half-written.
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(list(tmp_path.iterdir())) <= len(files_before) + 1


def test_the_matrix_is_large():
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


# -- the command line ----------------------------------------------------------------------
SPEC_FILES = {
    "missing": ("absent.json", None, "absent.json"),
    "suffix": ("spec.txt", "x = 1", "must end in .json or .toml"),
    "json": ("bad.json", '{"x": [0.5, 0.1], ', "not valid JSON"),
    "toml": ("bad.toml", "x = [0.5, 0.1", "not valid TOML"),
    "not-utf8": ("bin.toml", b"x = \xff", "UTF-8"),
    "deep": ("deep.json", DEEP_JSON, "not valid JSON"),
    "not-a-table": ("list.json", "[1, 2]", "mapping"),
    "unknown-field": ("u.json", json.dumps(_spec(epochs=3)), "epochs"),
    "lr": ("lr.json", json.dumps(_spec(lr=0)), "'lr'"),
    "nan": ("nan.toml", "x = [nan, 0.1]\ny = 0.9\nlr = 0.5\nsizes = [2, 1]", "'x'"),
    "activation": (
        "a.json",
        json.dumps(_spec(layers=None, sizes=[2, 1], activations="gelu")),
        "gelu",
    ),
    "shape": ("s.json", json.dumps(_spec(x=[1, 2, 3])), "X has 3 features"),
    "ragged": ("r.json", json.dumps(_spec(layers=[{"W": [[1, 2], [3]], "b": [1, 1]}])), "W1"),
    "labels": ("l.json", json.dumps(_spec(y=["yes"])), "'y'"),
    "huge": ("h.json", json.dumps(_spec(layers=None, sizes=[2, 10**12])), "'sizes'"),
    "loss": ("loss.json", json.dumps(_spec(loss="hinge")), "hinge"),
    "reduction": ("red.json", json.dumps(_spec(reduction="median")), "reduction"),
}


def _write_spec(tmp_path: Path, name: str, content: str | bytes | None) -> Path:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("key", SPEC_FILES)
def test_cli_bad_spec_is_one_line_and_exit_2(key, tmp_path, capsys):
    name, content, names = SPEC_FILES[key]
    path = _write_spec(tmp_path, name, content)
    assert main(["explain", "--spec", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("chainrule: error: ")
    assert names in lines[0]


@pytest.mark.parametrize("key", ["deep", "huge", "ragged"])
def test_cli_bad_spec_in_a_real_process_has_no_traceback(key, tmp_path):
    name, content, names = SPEC_FILES[key]
    path = _write_spec(tmp_path, name, content)
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--spec", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and names in result.stderr


def test_cli_counts_toward_the_matrix():
    assert len(CASES) + len(SPEC_FILES) >= 100
