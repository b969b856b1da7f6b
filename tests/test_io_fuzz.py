"""Fuzzing model and checkpoint files: a mutated file is refused or loads unchanged.

Every mutated file must either raise :class:`chainrule.ModelFileError` or load to
exactly the original (a mutation may be harmless, e.g. the case of a hex digit in a
JSON escape); nothing else may happen: no other exception, no hang, no different model.

``CHAINRULE_FUZZ_EXAMPLES`` sets the number of mutated files per test (default 1500,
about 6,000 files over the module in CI); raise it for a longer run, e.g.
``CHAINRULE_FUZZ_EXAMPLES=100000 pytest tests/test_io_fuzz.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule
from chainrule import ModelFileError, Network
from chainrule.training.callbacks import Callback

EXAMPLES = int(os.environ.get("CHAINRULE_FUZZ_EXAMPLES", "1500"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # no wall-clock assertions; the suite's own timeout bounds the run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Estimator files take longer to load (scikit-learn objects): a third as many cases.
ESTIMATOR_EXAMPLES = max(EXAMPLES // 3, 100)
ESTIMATOR_FUZZ = settings(FUZZ, max_examples=ESTIMATOR_EXAMPLES)
pytestmark = pytest.mark.slow


class Tally:
    """Counts the outcomes, so that a run shows how many files it really tried."""

    def __init__(self) -> None:
        self.refused = self.loaded = 0

    def check(self, name: str, expected: int = EXAMPLES) -> None:
        total = self.refused + self.loaded
        print(f"{name}: {total} files, {self.refused} refused, {self.loaded} loaded and checked")
        assert total >= expected


def _network() -> Network:
    return Network.from_sizes([3, 2, 2], ["leaky_relu", "softmax"], random_state=3, frozen=["b1"])


def _mutations(size: int) -> st.SearchStrategy:
    position = st.integers(0, size - 1)
    some_bytes = st.binary(min_size=1, max_size=16)
    return st.one_of(
        st.tuples(st.just("flip"), st.lists(st.tuples(position, st.integers(0, 7)), min_size=1)),
        st.tuples(st.just("truncate"), position),
        st.tuples(st.just("overwrite"), position, some_bytes),
        st.tuples(st.just("insert"), position, some_bytes),
        st.tuples(st.just("delete"), position, st.integers(1, 64)),
        st.tuples(st.just("length"), st.integers(0, 2**64 - 1)),
    )


def _mutate(raw: bytes, mutation: tuple) -> bytes:
    data = bytearray(raw)
    kind = mutation[0]
    if kind == "flip":
        for position, bit in mutation[1]:
            data[position] ^= 1 << bit
    elif kind == "truncate":
        del data[mutation[1] :]
    elif kind == "overwrite":
        _, position, chunk = mutation
        data[position : position + len(chunk)] = chunk
    elif kind == "insert":
        _, position, chunk = mutation
        data[position:position] = chunk
    elif kind == "delete":
        _, position, count = mutation
        del data[position : position + count]
    else:  # a new header length
        data[:8] = struct.pack("<Q", mutation[1])
    return bytes(data)


def _same_network(a: Network, b: Network) -> bool:
    return (
        repr(a) == repr(b)
        and [layer.activation for layer in a.layers] == [layer.activation for layer in b.layers]
        and all(a.params[k].tobytes() == b.params[k].tobytes() for k in a.params)
    )


def test_mutated_model_files_are_refused_or_unchanged():
    with tempfile.TemporaryDirectory() as folder:
        original = _network()
        raw = chainrule.save(original, Path(folder) / "m.safetensors").read_bytes()
        target = Path(folder) / "mutated.safetensors"
        tally = Tally()

        @FUZZ
        @given(mutation=_mutations(len(raw)))
        def check(mutation: tuple) -> None:
            mutated = _mutate(raw, mutation)
            target.write_bytes(mutated)
            try:
                loaded = chainrule.load(target)
            except ModelFileError:
                tally.refused += 1
                return
            tally.loaded += 1
            assert _same_network(loaded, original), f"{mutation} changed the model silently"

        check()
        tally.check("mutated model files")


def _rewrite_metadata(raw: bytes, meta: object) -> bytes:
    """Replace the chainrule metadata and re-sign it, as a deliberate forger would."""
    (n,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8 : 8 + n]), raw[8 + n :]
    text = json.dumps(meta)
    header["__metadata__"] = {
        "chainrule": text,
        "chainrule_sha256": hashlib.sha256(text.encode() + data).hexdigest(),
    }
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON document, to pick where a forged value goes."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            paths += _paths(item, (*prefix, i))
    return paths


def _checkpoint_args() -> tuple:
    rng = np.random.default_rng(5)
    params = {"W1": rng.normal(size=(2, 2)), "b1": np.zeros(2)}
    state = {"t": 4, "m/W1": rng.normal(size=(2, 2)), "beta1": 0.9}
    history = {"loss": [0.5, 0.25], "val_loss": [float("nan"), 0.3]}
    return params, state, rng, {"epoch": 2, "batch": 0}, history


def _use_network(path: Path) -> None:
    net = chainrule.load(path)
    out = net.predict(np.ones((2, net.n_features)))
    assert out.shape == (2, net.n_outputs)
    assert np.isfinite(out).all()


def _use_checkpoint(path: Path) -> None:
    ckpt = chainrule.load_checkpoint(path)
    ckpt.generator().random()
    for name, value in ckpt.params.items():
        assert isinstance(name, str)
        assert np.isfinite(value).all()
    for field in ("optimizer_state", "position", "history", "extra"):
        assert isinstance(getattr(ckpt, field), dict)


@pytest.mark.parametrize("kind", ["network", "checkpoint"])
def test_forged_metadata_is_refused_or_usable(kind):
    """With a valid checksum, the checks of the content itself must hold the line."""
    with tempfile.TemporaryDirectory() as folder:
        if kind == "network":
            path = chainrule.save(_network(), Path(folder) / "m.safetensors")
            use = _use_network
        else:
            path = chainrule.save_checkpoint(Path(folder) / "run.ckpt", *_checkpoint_args())
            use = _use_checkpoint
        raw = path.read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        meta = json.loads(json.loads(raw[8 : 8 + n])["__metadata__"]["chainrule"])
        paths = [p for p in _paths(meta) if p]
        target = Path(folder) / "forged"
        tally = Tally()

        @FUZZ
        @given(path=st.sampled_from(paths), value=json_values)
        def check(path: tuple, value: object) -> None:
            forged = json.loads(json.dumps(meta))
            node = forged
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            target.write_bytes(_rewrite_metadata(raw, forged))
            try:
                use(target)
            except ModelFileError:
                tally.refused += 1
                return
            tally.loaded += 1

        check()
        tally.check(f"forged {kind} metadata")


def test_mutated_checkpoints_are_refused_or_unchanged():
    with tempfile.TemporaryDirectory() as folder:
        path = chainrule.save_checkpoint(Path(folder) / "run.ckpt", *_checkpoint_args())
        raw = path.read_bytes()
        original = chainrule.load_checkpoint(path)
        target = Path(folder) / "mutated.ckpt"
        tally = Tally()

        @FUZZ
        @given(mutation=_mutations(len(raw)))
        def check(mutation: tuple) -> None:
            target.write_bytes(_mutate(raw, mutation))
            try:
                loaded = chainrule.load_checkpoint(target)
            except ModelFileError:
                tally.refused += 1
                return
            tally.loaded += 1
            assert json.dumps(loaded.history) == json.dumps(original.history)
            assert loaded.rng_state == original.rng_state
            assert loaded.position == original.position
            for name, value in original.params.items():
                assert loaded.params[name].tobytes() == value.tobytes()

        check()
        tally.check("mutated checkpoints")


def _classifier() -> object:
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    from chainrule import MLPClassifier

    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 3))
    y = np.array(["no", "maybe", "yes"])[rng.integers(0, 3, 30)]
    return MLPClassifier((4,), max_iter=3, random_state=0, early_stopping=True).fit(X, y)


PROBE = np.linspace(-1, 1, 12).reshape(4, 3)


def test_mutated_estimator_files_are_refused_or_unchanged():
    original = _classifier()
    expected = original.predict_proba(PROBE)
    with tempfile.TemporaryDirectory() as folder:
        raw = chainrule.save(original, Path(folder) / "clf.safetensors").read_bytes()
        target = Path(folder) / "mutated.safetensors"
        tally = Tally()

        @ESTIMATOR_FUZZ
        @given(mutation=_mutations(len(raw)))
        def check(mutation: tuple) -> None:
            target.write_bytes(_mutate(raw, mutation))
            try:
                loaded = chainrule.load(target)
            except ModelFileError:
                tally.refused += 1
                return
            tally.loaded += 1
            assert loaded.predict_proba(PROBE).tobytes() == expected.tobytes()
            assert loaded.classes_.tolist() == original.classes_.tolist()

        check()
        tally.check("mutated estimator files", ESTIMATOR_EXAMPLES)


def test_forged_estimator_metadata_is_refused_or_usable():
    with tempfile.TemporaryDirectory() as folder:
        raw = chainrule.save(_classifier(), Path(folder) / "clf.safetensors").read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        meta = json.loads(json.loads(raw[8 : 8 + n])["__metadata__"]["chainrule"])
        paths = [p for p in _paths(meta) if p]
        target = Path(folder) / "forged"
        tally = Tally()

        @ESTIMATOR_FUZZ
        @given(path=st.sampled_from(paths), value=json_values)
        def check(path: tuple, value: object) -> None:
            forged = json.loads(json.dumps(meta))
            node = forged
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            target.write_bytes(_rewrite_metadata(raw, forged))
            try:
                loaded = chainrule.load(target)
            except ModelFileError:
                tally.refused += 1
                return
            tally.loaded += 1
            # Whatever loads must work: probabilities of the right shape, labels it knows.
            proba = loaded.predict_proba(PROBE)
            assert proba.shape == (4, len(loaded.classes_)) and np.isfinite(proba).all()
            assert set(loaded.predict(PROBE).tolist()) <= set(loaded.classes_.tolist())

        check()
        tally.check("forged estimator metadata", ESTIMATOR_EXAMPLES)


class _Stop(Callback):
    """Stands for a crash after the second epoch (the checkpoint of update 5 stays)."""

    def on_epoch_end(self, epoch, logs, network):
        if epoch == 1:
            raise KeyError("simulated crash")


def _fit_run(path: Path, resume: bool, callbacks: tuple = ()) -> Network:
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    net = Network.from_sizes([3, 4, 1], ["tanh", "identity"], random_state=0, dropout=0.25)
    chainrule.fit(
        net,
        X,
        y,
        loss="mse",
        epochs=3,
        batch_size=4,
        random_state=1,
        schedule="plateau",
        early_stopping=True,
        validation_split=0.25,
        checkpoint=path,
        checkpoint_every=5,
        resume=resume,
        callbacks=callbacks,
    )
    return net


def test_forged_fit_checkpoints_are_refused_or_resume_cleanly():
    """fit(resume=True) on a forged checkpoint: refused (ModelFileError, or ValueError for
    another run's settings), a divergence, or a run that ends with finite weights."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.ckpt"
        with pytest.raises(KeyError, match="simulated crash"):
            _fit_run(path, resume=False, callbacks=(_Stop(),))
        raw = path.read_bytes()
        assert chainrule.load_checkpoint(path).position["batch"] > 0  # part-way through
        (n,) = struct.unpack("<Q", raw[:8])
        meta = json.loads(json.loads(raw[8 : 8 + n])["__metadata__"]["chainrule"])
        paths = [p for p in _paths(meta) if p]
        target = Path(folder) / "forged.ckpt"
        tally = Tally()

        @ESTIMATOR_FUZZ
        @given(path=st.sampled_from(paths), value=json_values)
        def check(path: tuple, value: object) -> None:
            forged = json.loads(json.dumps(meta))
            node = forged
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            target.write_bytes(_rewrite_metadata(raw, forged))
            try:
                net = _fit_run(target, resume=True)
            except (ModelFileError, chainrule.DivergenceError):
                tally.refused += 1
                return
            except ValueError as exc:
                assert "belongs to another run" in str(exc)
                tally.refused += 1
                return
            tally.loaded += 1
            assert all(np.isfinite(v).all() for v in net.params.values())

        check()
        tally.check("forged fit checkpoints", ESTIMATOR_EXAMPLES)
