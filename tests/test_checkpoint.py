"""Checkpoints: exact round trips of parameters, optimizer state, generator, position, history."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule
from chainrule import ModelFileError


def _args(rng: np.random.Generator) -> dict:
    return {
        "params": {"W1": rng.normal(size=(3, 2)), "b1": np.zeros(2, np.float64)},
        "optimizer_state": {
            "t": 7,
            "lr": 0.01,
            "m/W1": rng.normal(size=(3, 2)),
            "v": {"W1": rng.random((3, 2)), "b1": np.ones(2)},
            "nesterov": True,
            "name": "adam",
            "unused": None,
        },
        "rng_state": rng,
        "position": {"epoch": 3, "batch": 11},
        "history": {"loss": [0.9, 0.5, 0.25], "val_loss": [float("nan"), 0.6, float("inf")]},
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(tmp_path, dtype):
    rng = np.random.default_rng(42)
    rng.random(5)  # a generator part-way through its stream
    args = _args(rng)
    args["params"] = {k: v.astype(dtype) for k, v in args["params"].items()}
    state_before = rng.bit_generator.state
    path = chainrule.save_checkpoint(tmp_path / "run.ckpt", **args, extra={"seed": 42})
    ckpt = chainrule.load_checkpoint(path, params_like=args["params"])
    for name, value in args["params"].items():
        assert ckpt.params[name].dtype == dtype
        assert ckpt.params[name].tobytes() == value.tobytes()
    opt = ckpt.optimizer_state
    assert opt["t"] == 7 and opt["lr"] == 0.01 and opt["nesterov"] is True
    assert opt["name"] == "adam" and opt["unused"] is None
    assert opt["m/W1"].tobytes() == args["optimizer_state"]["m/W1"].tobytes()
    assert opt["v"]["b1"].tobytes() == np.ones(2).tobytes()
    assert ckpt.position == {"epoch": 3, "batch": 11}
    assert ckpt.history["loss"] == [0.9, 0.5, 0.25]
    assert np.isnan(ckpt.history["val_loss"][0]) and ckpt.history["val_loss"][2] == np.inf
    assert ckpt.extra == {"seed": 42}
    assert ckpt.rng_state == state_before
    # The restored generator continues with exactly the same stream.
    restored = ckpt.generator()
    assert restored.random(1000).tobytes() == rng.random(1000).tobytes()
    assert restored.permutation(50).tolist() == rng.permutation(50).tolist()


@pytest.mark.parametrize("name", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_every_numpy_bit_generator(tmp_path, name):
    rng = np.random.Generator(getattr(np.random, name)(123))
    rng.normal(size=3)
    path = chainrule.save_checkpoint(tmp_path / "c", {"W1": np.ones((1, 1))}, {}, rng, {}, {})
    restored = chainrule.load_checkpoint(path).generator()
    assert restored.integers(0, 2**62, 100).tolist() == rng.integers(0, 2**62, 100).tolist()


def test_state_dict_accepted_as_well_as_generator(tmp_path):
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert json.loads(json.dumps(state)) == state  # JSON-able as the fit loop passes it
    path = chainrule.save_checkpoint(tmp_path / "c", {"W1": np.ones((1, 1))}, {}, state, {}, {})
    assert chainrule.load_checkpoint(path).rng_state == state


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"params": {"W1": np.array([[np.nan]])}}, ValueError, "params\\['W1'\\]"),
        ({"params": {"W1": np.array([[1]])}}, TypeError, "floating"),
        ({"params": [1, 2]}, TypeError, "params must be a mapping"),
        ({"optimizer_state": {"m": object()}}, TypeError, "optimizer_state/m"),
        ({"optimizer_state": {"m": np.array([np.inf])}}, ValueError, "NaN or infinity"),
        ({"rng_state": {"bit_generator": "os.system"}}, ValueError, "rng_state"),
        ({"rng_state": 42}, ValueError, "rng_state"),
        ({"history": {1: [0.5]}}, TypeError, "history"),
        ({"position": "epoch 3"}, TypeError, "position must be a mapping"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path, change, error, match):
    args = {**_args(np.random.default_rng(0)), **change}
    with pytest.raises(error, match=match):
        chainrule.save_checkpoint(tmp_path / "c", **args)
    assert list(tmp_path.iterdir()) == []


def test_params_like_catches_a_checkpoint_of_another_model(tmp_path):
    args = _args(np.random.default_rng(0))
    path = chainrule.save_checkpoint(tmp_path / "c", **args)
    with pytest.raises(ModelFileError, match="W1"):
        chainrule.load_checkpoint(path, params_like={"W1": np.ones((2, 2)), "b1": np.ones(2)})
    with pytest.raises(ModelFileError, match="float32"):
        chainrule.load_checkpoint(
            path, params_like={k: v.astype(np.float32) for k, v in args["params"].items()}
        )
    with pytest.raises(ModelFileError, match="parameters"):
        chainrule.load_checkpoint(path, params_like={"W1": args["params"]["W1"]})


def test_model_file_given_to_load_checkpoint(tmp_path):
    path = chainrule.save(chainrule.seed_example().network, tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="read it with load\\(\\)"):
        chainrule.load_checkpoint(path)


def test_truncated_checkpoint(tmp_path):
    path = chainrule.save_checkpoint(tmp_path / "c", **_args(np.random.default_rng(0)))
    raw = path.read_bytes()
    for length in range(0, len(raw), 7):
        path.write_bytes(raw[:length])
        with pytest.raises(ModelFileError):
            chainrule.load_checkpoint(path)


def test_checkpoint_overwrite_is_atomic(tmp_path, monkeypatch):
    """A failure while writing the new checkpoint leaves the old one loadable."""
    path = tmp_path / "run.ckpt"
    chainrule.save_checkpoint(path, **_args(np.random.default_rng(0)))
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("chainrule.io.atomic.os.replace", fail)
    with pytest.raises(OSError, match="no space left on device; the previous file is unchanged"):
        chainrule.save_checkpoint(path, **_args(np.random.default_rng(1)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]


def test_self_containing_state_is_refused(tmp_path):
    state: dict = {}
    state["self"] = state
    with pytest.raises(ValueError, match="nested deeper"):
        chainrule.save_checkpoint(
            tmp_path / "c", {"W1": np.ones((1, 1))}, state, np.random.default_rng(), {}, {}
        )
    assert list(tmp_path.iterdir()) == []


def test_what_saves_also_loads_at_the_depth_limit(tmp_path):
    saved = 0
    for levels in range(20, 40):
        deep: object = 1.0
        for _ in range(levels):
            deep = [deep]
        path = tmp_path / f"c{levels}"
        args = ({"W1": np.ones((1, 1))}, {"deep": deep}, np.random.default_rng(), {}, {})
        try:
            chainrule.save_checkpoint(path, *args)
        except ValueError as exc:
            assert "deeper" in str(exc)
            assert not path.exists()
            continue
        saved += 1
        assert chainrule.load_checkpoint(path).optimizer_state["deep"] == deep
    assert 0 < saved < 20  # both sides of the limit were tried
