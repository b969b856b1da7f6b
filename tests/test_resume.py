"""Checkpoint and resume in the fit loop: a crashed run, resumed, is bit-identical.

The reference is always the same fit run once, uninterrupted and without a checkpoint,
so these tests also show that checkpointing does not change the arithmetic.
"""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import ModelFileError, Network, fit
from chainrule.optimizers import SGD
from chainrule.training import loop as training

from ._resume_run import run

SCRIPT = Path(__file__).with_name("_resume_run.py")


class SimulatedCrashError(Exception):
    """Stands for the process dying in the middle of a batch."""


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.eye(3)[rng.integers(0, 3, n)]
    return X, y


CONFIGS = {
    "adam-dropout-validation-plateau-early-stopping": (
        {"layers": ["tanh", "softmax"], "dropout": 0.2, "dtype": "float64"},
        {
            "loss": "ce",
            "optimizer": "adam",
            "epochs": 6,
            "batch_size": 8,
            "random_state": 3,
            "validation_split": 0.2,
            "metrics": ["accuracy"],
            "schedule": "plateau",
            "early_stopping": True,
            "patience": 2,
        },
    ),
    "sgd-nesterov-float32-l2-clip-no-shuffle": (
        {"layers": ["relu", "softmax"], "dropout": 0.0, "dtype": "float32"},
        {
            "loss": "ce",
            "optimizer": SGD(lr=0.1, momentum=0.9, nesterov=True),
            "epochs": 5,
            "batch_size": 7,
            "shuffle": False,
            "l2": 0.01,
            "clip_norm": 0.5,
            "schedule": "cosine",
        },
    ),
}


def _network(spec: dict, seed: int) -> Network:
    return Network.from_sizes(
        [4, 8, 3], spec["layers"], random_state=seed, dropout=spec["dropout"], dtype=spec["dtype"]
    )


@contextmanager
def _crash_at(call: int):
    """Within the block, the ``call``-th batch's gradients (counting from 1) raise
    :class:`SimulatedCrashError`, whichever path (plain, workspace, or plain SGD's scaled
    gradients) computes them."""
    real, calls = training.batch_gradients, [0]

    def counted(compute):
        def crashing(*batch):
            calls[0] += 1
            if calls[0] == call:
                raise SimulatedCrashError
            done = compute(*batch)
            calls[0] -= done is None  # scaled's "not this batch": ``gradients`` counts it
            return done

        return crashing

    def patched(*args, **kwargs):
        computer = real(*args, **kwargs)
        scaled = None if computer.scaled is None else counted(computer.scaled)
        return dataclasses.replace(computer, gradients=counted(computer.gradients), scaled=scaled)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "batch_gradients", patched)
        yield


def _same(a: Network, b: Network) -> bool:
    return all(a.params[k].tobytes() == b.params[k].tobytes() for k in a.params)


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("every", [1, 3])
def test_crash_anywhere_then_resume_is_bit_identical(tmp_path, config, every):
    spec, settings = CONFIGS[config]
    X, y = _data()
    reference = _network(spec, seed=1)
    expected = fit(reference, X, y, **settings)
    n_updates = sum(
        1
        for _ in range(expected.epochs)
        for _ in range(0, 40 if "validation_split" in settings else 50, settings["batch_size"])
    )
    path = tmp_path / "run.ckpt"
    for call in sorted({every + 1, 2 * every + 2, n_updates // 2, n_updates - 1, n_updates}):
        path.unlink(missing_ok=True)
        crashed = _network(spec, seed=1)
        with _crash_at(call), pytest.raises(SimulatedCrashError):
            fit(crashed, X, y, checkpoint=path, checkpoint_every=every, **settings)
        assert path.exists()
        # A new process would build a new network: other initial weights, same shape.
        resumed = _network(spec, seed=99)
        history = fit(
            resumed, X, y, checkpoint=path, checkpoint_every=every, resume=True, **settings
        )
        assert _same(resumed, reference), f"weights differ after a crash at update {call}"
        assert history.history == expected.history
        assert (history.epochs, history.stop_reason) == (expected.epochs, expected.stop_reason)
        assert (history.best_epoch, history.restored_best) == (
            expected.best_epoch,
            expected.restored_best,
        )
        for name, value in expected.optimizer_state.items():
            if isinstance(value, dict):
                for key, array in value.items():
                    assert history.optimizer_state[name][key].tobytes() == array.tobytes()
            elif not name.startswith("_"):
                assert history.optimizer_state[name] == value


def test_a_crash_in_the_middle_of_an_epoch_and_after_its_last_batch(tmp_path):
    """Positions in the middle of an epoch and between its last batch and its end."""
    X, y = _data()
    settings = {"loss": "ce", "epochs": 3, "batch_size": 10, "random_state": 0}
    reference = _network(CONFIGS["adam-dropout-validation-plateau-early-stopping"][0], 1)
    expected = fit(reference, X, y, **settings)
    path = tmp_path / "c"
    for call in range(2, 16):  # 5 batches an epoch: every position of all three epochs
        crashed = _network(CONFIGS["adam-dropout-validation-plateau-early-stopping"][0], 1)
        with _crash_at(call), pytest.raises(SimulatedCrashError):
            fit(crashed, X, y, checkpoint=path, checkpoint_every=1, **settings)
        position = chainrule.load_checkpoint(path).position
        # The last checkpoint was written after update call - 1; batch 5 is "epoch done".
        done = call - 1
        assert (position["epoch"], position["batch"]) == ((done - 1) // 5, (done - 1) % 5 + 1)
        resumed = _network(CONFIGS["adam-dropout-validation-plateau-early-stopping"][0], 5)
        history = fit(resumed, X, y, checkpoint=path, checkpoint_every=1, resume=True, **settings)
        assert _same(resumed, reference)
        assert history.history == expected.history


# scikit-learn's adaptive rate: min_delta is out of reach, so early stopping runs out every
# second epoch and divides the rate instead of stopping (cuts after epochs 2, 4 and 6).
ADAPTIVE = {
    "loss": "ce",
    "optimizer": SGD(lr=0.5),
    "epochs": 8,
    "batch_size": 10,
    "random_state": 0,
    "early_stopping": True,
    "stopping_rule": "sklearn_adaptive",
    "patience": 1,
    "min_delta": 0.5,
}
ADAPTIVE_SPEC = {"layers": ["tanh", "softmax"], "dropout": 0.0, "dtype": "float64"}


def _adaptive_reference():
    X, y = _data()
    expected = fit(_network(ADAPTIVE_SPEC, seed=1), X, y, **ADAPTIVE)
    assert len(expected.rate_cuts) >= 2  # else the tests below would prove nothing
    return X, y, expected


def _crash_adaptive(path: Path, X, y, call: int) -> None:
    with _crash_at(call), pytest.raises(SimulatedCrashError):
        fit(_network(ADAPTIVE_SPEC, seed=1), X, y, checkpoint=path, checkpoint_every=1, **ADAPTIVE)


# A crash at every update of the 8 epochs of 5 batches but the first.
@pytest.mark.parametrize("call", range(2, 41))
def test_a_resume_after_a_rate_cut_keeps_the_cuts(tmp_path, call):
    X, y, expected = _adaptive_reference()
    path = tmp_path / "run.ckpt"
    _crash_adaptive(path, X, y, call)
    # The first cut ends epoch 2, after update 15 and its checkpoint: the checkpoints after
    # updates 16 and later hold it, the resume of an earlier one makes it again.
    assert bool(chainrule.load_checkpoint(path).history["rate_cuts"]) == (call > 16)
    resumed = _network(ADAPTIVE_SPEC, seed=99)
    history = fit(resumed, X, y, checkpoint=path, checkpoint_every=1, resume=True, **ADAPTIVE)
    assert history.rate_cuts == expected.rate_cuts
    assert history.history == expected.history
    assert history.optimizer_state["lr"] == expected.optimizer_state["lr"]


def _rewrite_history(path: Path, **changes) -> None:
    """The checkpoint at ``path`` written again with its history record changed (a key
    whose value is ``...`` is removed), as an older or a hostile writer would leave it."""
    saved = chainrule.load_checkpoint(path)
    record = {k: v for k, v in {**saved.history, **changes}.items() if v is not ...}
    chainrule.save_checkpoint(
        path,
        saved.params,
        saved.optimizer_state,
        saved.rng_state,
        saved.position,
        record,
        extra=saved.extra,
    )


def test_a_checkpoint_without_rate_cuts_resumes_with_the_later_ones(tmp_path):
    # Files written before the cuts were saved lack the field: they resume, and the history
    # holds the cuts made after the checkpoint (those before it were not recorded).
    X, y, expected = _adaptive_reference()
    path = tmp_path / "run.ckpt"
    _crash_adaptive(path, X, y, 26)
    epoch = chainrule.load_checkpoint(path).position["epoch"]
    _rewrite_history(path, rate_cuts=...)
    assert "rate_cuts" not in chainrule.load_checkpoint(path).history
    resumed = _network(ADAPTIVE_SPEC, seed=99)
    history = fit(resumed, X, y, checkpoint=path, checkpoint_every=1, resume=True, **ADAPTIVE)
    later = [(e, lr) for e, lr in expected.rate_cuts if e >= epoch]
    assert history.rate_cuts == later != expected.rate_cuts
    assert history.history == expected.history


@pytest.mark.parametrize(
    "cuts",
    [
        "[[2, 0.1]]",
        {"2": 0.1},
        [2, 0.1],
        [[2]],
        [[2, 0.1, 3]],
        [[-1, 0.1]],
        [[2.0, 0.1]],
        [[True, 0.1]],
        [[2, "0.1"]],
        [[2, None]],
        [[2, 0.0]],
        [[2, -0.1]],
        [[2, float("nan")]],
        [[2, float("inf")]],
        [[2, False]],
    ],
)
def test_a_checkpoint_with_malformed_rate_cuts_is_refused(tmp_path, cuts):
    X, y, _ = _adaptive_reference()
    path = tmp_path / "run.ckpt"
    _crash_adaptive(path, X, y, 26)
    _rewrite_history(path, rate_cuts=cuts)
    net = _network(ADAPTIVE_SPEC, seed=99)
    before = {k: v.copy() for k, v in net.params.items()}
    seen = []
    with pytest.raises(ModelFileError, match="invalid fit state: rate_cuts must be a list of"):
        fit(
            net,
            X,
            y,
            checkpoint=path,
            resume=True,
            callbacks=[lambda epoch, logs, network: seen.append(epoch)],
            **ADAPTIVE,
        )
    assert all(net.params[k].tobytes() == v.tobytes() for k, v in before.items())
    assert seen == []


def test_the_checkpoint_holds_no_scratch_arrays(tmp_path):
    X, y = _data()
    net = _network(CONFIGS["adam-dropout-validation-plateau-early-stopping"][0], 1)
    fit(net, X, y, loss="ce", epochs=1, checkpoint=tmp_path / "c")
    saved = chainrule.load_checkpoint(tmp_path / "c")
    assert sorted(saved.optimizer_state) == ["lr", "m", "s", "t"]
    assert saved.position["finished"] == "completed"


def test_resume_of_a_finished_run_trains_no_more_and_more_epochs_continue(tmp_path):
    X, y = _data()
    spec = CONFIGS["adam-dropout-validation-plateau-early-stopping"][0]
    settings = {"loss": "ce", "batch_size": 8, "random_state": 4, "schedule": "plateau"}
    long = _network(spec, 1)
    expected = fit(long, X, y, epochs=5, **settings)
    path = tmp_path / "c"
    first = _network(spec, 1)
    fit(first, X, y, epochs=3, checkpoint=path, **settings)
    again = _network(spec, 2)
    history = fit(again, X, y, epochs=3, checkpoint=path, resume=True, **settings)
    assert _same(again, first) and history.epochs == 3
    more = _network(spec, 2)
    history = fit(more, X, y, epochs=5, checkpoint=path, resume=True, **settings)
    assert _same(more, long)
    assert history.history == expected.history


def test_resume_without_a_file_starts_afresh(tmp_path):
    X, y = _data()
    spec = CONFIGS["adam-dropout-validation-plateau-early-stopping"][0]
    a, b = _network(spec, 1), _network(spec, 1)
    fit(a, X, y, loss="ce", epochs=2, random_state=0)
    fit(b, X, y, loss="ce", epochs=2, random_state=0, checkpoint=tmp_path / "c", resume=True)
    assert _same(a, b)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"batch_size": 5}, "batch_size"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"l2": 0.1}, "l2"),
        ({"loss": "mse"}, "loss"),
        ({"X": "other"}, "data"),
        ({"validation_split": 0.3}, "validation_split"),
    ],
)
def test_resume_with_other_settings_or_data_is_refused(tmp_path, change, named):
    X, y = _data()
    spec = CONFIGS["adam-dropout-validation-plateau-early-stopping"][0]
    settings = {"loss": "ce", "epochs": 2, "batch_size": 8, "random_state": 0}
    fit(_network(spec, 1), X, y, checkpoint=tmp_path / "c", **settings)
    if change.pop("X", None):
        X = X + 1.0
    net = _network(spec, 7)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=f"another run.*{named}"):
        fit(net, X, y, checkpoint=tmp_path / "c", resume=True, **{**settings, **change})
    assert _same(
        net,
        Network.from_weights(
            [before["W1"], before["W2"]], [before["b1"], before["b2"]], spec["layers"]
        ),
    )


def test_resume_from_another_models_or_a_damaged_checkpoint_is_refused(tmp_path):
    X, y = _data()
    path = tmp_path / "c"
    fit(Network.from_sizes([4, 5, 3], ["tanh", "softmax"]), X, y, loss="ce", checkpoint=path)
    net = Network.from_sizes([4, 8, 3], ["tanh", "softmax"], random_state=0)
    W1 = net.params["W1"].copy()
    with pytest.raises(ModelFileError, match="does not match the model"):
        fit(net, X, y, loss="ce", checkpoint=path, resume=True)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="corrupt"):
        fit(net, X, y, loss="ce", checkpoint=path, resume=True)
    assert net.params["W1"].tobytes() == W1.tobytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"checkpoint_every": 2}, "checkpoint_every needs checkpoint"),
        ({"resume": True}, "resume=True needs checkpoint=PATH, the file to resume from"),
        ({"checkpoint": "c", "checkpoint_every": 0}, "checkpoint_every"),
        ({"checkpoint": 3}, "checkpoint must be a path"),
        ({"checkpoint": "no/such/folder/c"}, "does not exist"),
    ],
)
def test_bad_checkpoint_arguments(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.chdir(tmp_path)
    X, y = _data()
    with pytest.raises((ValueError, TypeError), match=message):
        fit(Network.from_sizes([4, 3], "softmax"), X, y, loss="ce", **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    """A child process trains with a checkpoint after every update; it is killed at random
    moments (often in the middle of writing a checkpoint) and started again until it ends."""
    reference = run(None)  # in this process, uninterrupted, no checkpoint
    path = tmp_path / "run.ckpt"
    moments = random.Random(20261128)
    kills, result = 0, None
    while result is None:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "training"
        out = ""
        if kills < 8:
            # A random moment counted in the run's own progress, not in seconds, so that a
            # faster machine is killed as often: after 0 or 1 more epochs, a little into the
            # next (the child checkpoints after every update, so often while writing one).
            for _ in range(moments.randint(0, 1)):
                line = proc.stdout.readline()
                if line.strip() != "epoch":  # it finished: the result, or nothing
                    out = line
                    break
            else:
                time.sleep(moments.uniform(0.0, 0.02))  # a random moment, not a measurement
                proc.send_signal(signal.SIGKILL)
        out += proc.stdout.read()
        proc.wait()
        proc.stdout.close()
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            if path.exists():  # never torn: the previous checkpoint or the new one
                chainrule.load_checkpoint(path)
        else:
            assert proc.returncode == 0
            result = json.loads(out.strip().splitlines()[-1])
    print(f"{kills} kills, resumed each time")
    assert kills >= 3
    assert result == json.loads(json.dumps(reference))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_estimator_fit_resumes_bit_identical(tmp_path, monkeypatch, kind):
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    from chainrule import MLPClassifier, MLPRegressor

    X, Y = _data(80)
    if kind == "classifier":
        make, y = MLPClassifier, Y.argmax(axis=1)
    else:
        make, y = MLPRegressor, Y @ np.array([1.0, -1.0, 0.5])
    params = {
        "hidden_layer_sizes": (8,),
        "max_iter": 6,
        "batch_size": 16,
        "early_stopping": True,
        "n_iter_no_change": 20,
        "dropout": 0.1,
        "learning_rate": "adaptive",
        "random_state": 0,
    }
    expected = make(**params).fit(X, y)
    path = tmp_path / "est.ckpt"
    real, calls = Network.backward, [0]

    def backward(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 13:
            raise SimulatedCrashError
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Network, "backward", backward)
    crashed = make(**params)
    with pytest.raises(SimulatedCrashError):
        crashed.fit(X, y, checkpoint=path, checkpoint_every=4)
    assert not hasattr(crashed, "network_")
    monkeypatch.undo()
    resumed = make(**params).fit(X, y, checkpoint=path, checkpoint_every=4, resume=True)
    for a, b in zip(
        expected.coefs_ + expected.intercepts_, resumed.coefs_ + resumed.intercepts_, strict=True
    ):
        assert a.tobytes() == b.tobytes()
    assert resumed.loss_curve_ == expected.loss_curve_
    assert resumed.validation_scores_ == expected.validation_scores_


def test_estimator_resume_after_an_adaptive_rate_cut_keeps_the_cuts(tmp_path):
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    from chainrule import MLPClassifier

    X, Y = _data(80)
    params = {
        "hidden_layer_sizes": (8,),
        "solver": "sgd",
        "learning_rate": "adaptive",
        "learning_rate_init": 0.5,
        "n_iter_no_change": 1,
        "tol": 0.5,  # out of reach: the rate is cut every second epoch
        "max_iter": 8,
        "batch_size": 16,
        "random_state": 0,
    }
    expected = MLPClassifier(**params).fit(X, Y.argmax(axis=1))
    assert len(expected.history_.rate_cuts) >= 2
    path = tmp_path / "est.ckpt"
    with _crash_at(28), pytest.raises(SimulatedCrashError):  # 5 batches an epoch: in epoch 5
        MLPClassifier(**params).fit(X, Y.argmax(axis=1), checkpoint=path, checkpoint_every=1)
    resumed = MLPClassifier(**params).fit(
        X, Y.argmax(axis=1), checkpoint=path, checkpoint_every=1, resume=True
    )
    assert resumed.history_.rate_cuts == expected.history_.rate_cuts
    assert resumed.loss_curve_ == expected.loss_curve_


# -- what may change across a resume, and what is refused (issue 15, point 9) -------------
def _walk_network(**changes):
    settings = {"random_state": 1, "dropout": 0.1, "dtype": "float64", "frozen": (), **changes}
    activations = settings.pop("activations", [chainrule.activations.LeakyReLU(0.01), "softmax"])
    return Network.from_sizes([4, 8, 3], activations, **settings)


def _walk_settings(path):
    """Every argument of fit but network, X and y, at the values of the checkpointed run."""
    return {
        "loss": "ce",
        "optimizer": chainrule.Adam(lr=0.01),
        "epochs": 3,
        "batch_size": 8,
        "shuffle": True,
        "random_state": 0,
        "validation_split": 0.2,
        "validation_data": None,
        "early_stopping": True,
        "monitor": "val_loss",
        "patience": 5,
        "min_delta": 0.0,
        "restore_best_weights": True,
        "stopping_rule": "keras",
        "schedule": "plateau",
        "metrics": ["accuracy"],
        "train_metrics": True,
        "callbacks": (),
        "verbose": 0,
        "l2": 0.0,
        "l2_scale": "fixed",
        "clip_norm": None,
        "sample_weight": None,
        "reduction": "mean",
        "optimizer_state": None,
        "stopping_state": None,
        "checkpoint": path,
        "checkpoint_every": None,
        "resume": True,
        "on_nonfinite": "raise",
        "device": None,
    }


X_WALK, Y_WALK = _data(40, seed=5)

# For each argument of fit: changes that would change the result, so a resume refuses them.
REFUSED = {
    "network": [
        _walk_network(activations=[chainrule.activations.LeakyReLU(0.3), "softmax"]),
        _walk_network(activations=["tanh", "softmax"]),
        _walk_network(dropout=0.3),
        _walk_network(dtype="float32"),
        _walk_network(frozen=["b1"]),
    ],
    "X": [X_WALK + 1.0],
    "y": [Y_WALK[::-1].copy()],
    "loss": ["mse"],
    "optimizer": [chainrule.Adam(lr=0.02), chainrule.AdamW(lr=0.01), "sgd"],
    "epochs": [1],  # below the epochs the checkpoint has begun (upward is allowed)
    "batch_size": [5],
    "shuffle": [False],
    "random_state": [1, None],
    "validation_split": [0.3],
    "validation_data": [(X_WALK[:10], Y_WALK[:10])],
    "early_stopping": [False],
    "monitor": ["val_accuracy"],
    "patience": [2],
    "min_delta": [0.01],
    "restore_best_weights": [False],
    "stopping_rule": ["sklearn"],
    "schedule": ["constant", chainrule.schedules.ReduceOnPlateau(factor=0.3)],
    "metrics": [["accuracy", "mse"], {"accuracy": lambda y, A: 0.0}],
    "train_metrics": [False],
    "l2": [0.01],
    "l2_scale": ["batch"],
    "clip_norm": [1.0],
    "sample_weight": [np.ones(40)],
    "reduction": ["sum"],
    "optimizer_state": ["fresh"],  # an Adam state of the network, built below
    "stopping_state": [{"best": 0.5, "bad_epochs": 2, "best_params": None}],
    "on_nonfinite": ["skip"],
    "device": ["cpu"],  # PyTorch's CPU: another engine's rounding
}


class _Quiet(chainrule.training.Callback):
    pass


# Changes a resume takes: what is shown, the callbacks, how often to checkpoint, more
# epochs; and ``checkpoint`` and ``resume`` themselves (another file, or no resume,
# start afresh).
ALLOWED = {
    "callbacks": [(_Quiet(),)],
    "verbose": [2],
    "checkpoint_every": [2],
    "epochs": [5],
    "checkpoint": ["other"],
    "resume": [False],
}


def test_every_argument_of_fit_may_change_on_resume_or_is_refused():
    import inspect

    from chainrule.training.resume import MAY_CHANGE_ON_RESUME, RESUME_ITSELF

    arguments = set(inspect.signature(fit).parameters)
    assert set(MAY_CHANGE_ON_RESUME) | set(RESUME_ITSELF) == set(ALLOWED)
    assert set(REFUSED) | set(ALLOWED) == arguments
    assert set(REFUSED) & set(ALLOWED) == {"epochs"}  # upward allowed, downward refused


@pytest.fixture(scope="module")
def walk_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("walk") / "run.ckpt"
    settings = {**_walk_settings(path), "resume": False}
    fit(_walk_network(), X_WALK, Y_WALK, **settings)
    return path


def _resume_with(path, tmp_path, name, value):
    copy = tmp_path / "run.ckpt"
    copy.write_bytes(path.read_bytes())
    arguments = {"network": _walk_network(), "X": X_WALK, "y": Y_WALK, **_walk_settings(copy)}
    if isinstance(value, str) and value == "fresh":
        value = chainrule.Adam(lr=0.01).init(arguments["network"].params)
    if isinstance(value, str) and value == "other":
        value = tmp_path / "other.ckpt"
    arguments[name] = value
    network, X, y = arguments.pop("network"), arguments.pop("X"), arguments.pop("y")
    return fit(network, X, y, **arguments)


@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, values in REFUSED.items() for i in range(len(values))]
)
def test_a_resume_refuses_each_change_that_would_change_the_result(
    walk_checkpoint, tmp_path, name, index
):
    # Parameters of another shape or dtype are refused by the file's own check, first.
    other_arrays = "|does not match the model" if name == "network" else ""
    with pytest.raises(ValueError, match=rf"another run \(.*\b{name}\b{other_arrays}"):
        _resume_with(walk_checkpoint, tmp_path, name, REFUSED[name][index])


@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, values in ALLOWED.items() for i in range(len(values))]
)
def test_a_resume_takes_the_changes_on_the_list(walk_checkpoint, tmp_path, name, index, capsys):
    history = _resume_with(walk_checkpoint, tmp_path, name, ALLOWED[name][index])
    assert history.stop_reason == "completed"


def test_an_estimator_resume_with_another_random_state_is_refused(tmp_path):
    from chainrule import MLPClassifier

    X, Y = _data(60)
    path = tmp_path / "est.ckpt"
    params = {"hidden_layer_sizes": (5,), "max_iter": 2, "random_state": 0}
    MLPClassifier(**params).fit(X, Y.argmax(axis=1), checkpoint=path)
    other = MLPClassifier(**{**params, "random_state": 1})
    with pytest.raises(ValueError, match=r"another run \(.*random_state"):
        other.fit(X, Y.argmax(axis=1), checkpoint=path, resume=True)
