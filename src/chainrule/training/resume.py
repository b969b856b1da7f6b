"""Checkpoint and resume for the fit loop: what a run must save to continue bit for bit.

A fit with ``checkpoint=PATH`` saves, every ``checkpoint_every`` updates (batches), a
checkpoint (:mod:`chainrule.io.checkpoint`, written atomically) holding:

- the parameters, and the optimizer's state without its scratch arrays (keys that
  start with ``_``; the optimizer rebuilds them);
- the random generator's state now, at the start of the epoch in progress (its shuffle
  is drawn again from it) and at the start of the fit (the validation split is drawn
  again from it);
- the position: the epoch, the next batch, the epoch's loss so far, the update count;
- the schedule's state, the early-stopping bookkeeping (with the best weights) and the
  :class:`~chainrule.training.callbacks.History`;
- the run's identity (:func:`identity`): every setting that shapes the result and a
  SHA-256 of the data, so that a resume with other settings or other data is refused
  (``ValueError`` naming each argument that differs) instead of continuing into a
  different run.

Resuming repeats exactly the arithmetic the uninterrupted run would have done, so the
final weights and history are bit-identical to it.

What may change across a resume is listed in :data:`MAY_CHANGE_ON_RESUME`: what
is shown (``verbose``), the callbacks (not saved; they see ``on_train_begin`` again),
how often checkpoints are written (``checkpoint_every``), ``epochs`` upward (to train
longer; below the epochs the checkpoint has already begun it is refused), and the
network's current weights (the checkpoint's replace them; its architecture must match).
Every other argument of :func:`chainrule.training.fit` is part of the identity.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_positive, is_foreign_array, to_numpy
from ..errors import ModelFileError
from ..io.checkpoint import Checkpoint, _generator, load_checkpoint, save_checkpoint
from ..network import Network
from ..optimizers import Optimizer
from .callbacks import STOP_REASONS, History
from .logs import METRICS
from .settings import FitSettings

# The arguments of fit that may differ between a run and its resume (see the module
# docstring); ``checkpoint`` and ``resume`` say which run to resume. Every other
# argument is in the identity, and tests/test_resume.py checks that the two cover fit.
MAY_CHANGE_ON_RESUME = ("verbose", "callbacks", "checkpoint_every", "epochs")
RESUME_ITSELF = ("checkpoint", "resume")


def _number(value: Any, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r:.40}")
    if finite and not np.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r:.40}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count, got {value!r:.40}")
    return value


def checked_rate_cuts(record: dict[str, Any]) -> list[tuple[int, float]]:
    """The history's ``rate_cuts`` in a saved record (a checkpoint's, an estimator file's),
    checked: (epoch, learning rate > 0) pairs, else a ``ValueError``. A file written before
    they were saved has none: an empty list."""
    cuts = record.get("rate_cuts", [])
    if not isinstance(cuts, list) or not all(
        isinstance(cut, list)
        and len(cut) == 2
        and not isinstance(cut[0], bool)
        and isinstance(cut[0], int)
        and cut[0] >= 0
        and not isinstance(cut[1], bool)
        and isinstance(cut[1], int | float)
        and 0 < cut[1] < np.inf
        for cut in cuts
    ):
        raise ValueError(
            "rate_cuts must be a list of [epoch (an int >= 0), learning rate (a finite "
            f"number > 0)] pairs, got {cuts!r:.80}"
        )
    return [(epoch, float(lr)) for epoch, lr in cuts]


FINISHED = ("early_stopping", "callback")  # a run that ended so is not continued


@dataclass
class RunPosition:
    """Where a fit stands, between batches; everything here goes into a checkpoint."""

    sched_state: dict[str, Any]
    epoch: int = 0  # the epoch in progress (or the next one)
    batch: int = 0  # its next batch
    total: float = 0.0  # the epoch's summed batch losses, weighted by batch rows
    seen: int = 0  # rows whose loss is in ``total`` (skipped batches are not)
    updates: int = 0  # batches done since the run began, for ``checkpoint_every``
    epoch_rng: dict[str, Any] | None = None  # the generator before this epoch's shuffle
    last_monitor: float | None = None
    best: float | None = None
    bad_epochs: int = 0
    best_params: dict[str, np.ndarray] | None = None
    finished: str | None = None


def describe(obj: Any) -> str:
    """A stable description of a setting object: its repr where that shows its settings (a
    dataclass, an activation or a loss), else its type's qualified name."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return repr(obj)
    if callable(getattr(obj, "params", None)):
        return repr(obj)
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def describe_network(network: Network) -> str:
    """The architecture: each layer with its sizes, activation (and its settings) and
    dropout, the dtype and the frozen parameters; not the weights."""
    layers = "; ".join(repr(layer) for layer in network.layers)  # with each layer's settings
    return f"{network!r}; {layers}; frozen={sorted(network.frozen)}"


def describe_seed(random_state: Any, rng: np.random.Generator) -> str:
    """``random_state`` as its generator's state at the start of the fit (None: any)."""
    if random_state is None:
        return "None"
    state = rng.bit_generator.state
    return hashlib.sha256(repr(sorted(state.items())).encode()).hexdigest()


def _digest_state(state: Any) -> str:
    if state is None:
        return "none"
    digest = hashlib.sha256()

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                walk(value[key], f"{path}/{key}")
        elif isinstance(value, np.ndarray):
            digest.update(f"{path}:{data_digest(value)};".encode())
        else:
            digest.update(f"{path}={value!r};".encode())

    walk(state, "")
    return digest.hexdigest()


def data_digest(*arrays: Any) -> str:
    """SHA-256 over the dtypes, shapes and bytes of ``arrays`` (None counts as absent)."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none;")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def identity(
    network: Network,
    settings: FitSettings,
    data: tuple[Any, Any, Any],
    validation_data: Any,
    random_state: str,
    optimizer_state: Any,
    stopping_state: Any = None,
) -> dict[str, Any]:
    """A run's identity, one entry per argument of fit that shapes the result (see
    :data:`MAY_CHANGE_ON_RESUME` for the others); a resume must match it.

    ``data`` is (X, y, sample_weight) as checked, ``random_state`` the description of
    :func:`describe_seed`.
    """
    X, y, w = data
    metrics = [
        name if METRICS.get(name) is fn else f"{name}={describe(fn)}"
        for name, fn in settings.metrics.items()
    ]
    return {
        "network": describe_network(network),
        "X": data_digest(X),
        "y": data_digest(y),
        "sample_weight": data_digest(w),
        "loss": describe(settings.loss),
        "optimizer": describe(settings.optimizer),
        "batch_size": settings.batch_size,
        "shuffle": settings.shuffle,
        "random_state": random_state,
        "validation_split": settings.validation_split,
        "validation_data": data_digest(*(validation_data or ())),
        "early_stopping": settings.early_stopping,
        "monitor": settings.monitor,
        "patience": settings.patience,
        "min_delta": settings.min_delta,
        "restore_best_weights": settings.restore_best_weights,
        "stopping_rule": settings.stopping_rule,
        "schedule": describe(settings.schedule),
        "metrics": metrics,
        "train_metrics": settings.train_metrics,
        "l2": settings.l2,
        "l2_scale": settings.l2_scale,
        "clip_norm": settings.clip_norm,
        "reduction": settings.reduction,
        "optimizer_state": _digest_state(optimizer_state),
        "stopping_state": _digest_state(stopping_state),
        "on_nonfinite": settings.on_nonfinite,
        "device": None if settings.device is None else str(settings.device),
    }


def check_optimizer_state(given: Any, fresh: dict[str, Any]) -> dict[str, Any]:
    """``optimizer_state`` (an earlier fit's ``History.optimizer_state``), checked against
    a fresh state of this fit's optimizer: the same entries, and per-parameter arrays for
    the same parameters and shapes. Returned as a copy: the fit updates its state in
    place, and the caller's (a history's, say) must stay as it was, to be used again."""
    what = "the state of this fit's optimizer (History.optimizer_state of an earlier fit)"
    if not isinstance(given, dict):
        raise TypeError(f"optimizer_state must be {what}, a dict; got {type(given).__name__}")
    missing = sorted(set(fresh) - set(given))
    if missing:
        raise ValueError(
            f"optimizer_state must be {what}, with entries {sorted(fresh)}; it lacks {missing}"
        )
    for key, arrays in fresh.items():
        if not isinstance(arrays, dict):
            _check_state_number(key, given[key], arrays)
            continue
        got = given[key]
        shapes = {name: np.shape(a) for name, a in arrays.items()}
        got_shapes = {n: np.shape(a) for n, a in got.items()} if isinstance(got, dict) else got
        if got_shapes != shapes:
            raise ValueError(
                f"optimizer_state[{key!r}] must hold one array per trainable parameter, "
                f"shapes {shapes}; got {got_shapes!r:.200}"
            )
    return copy.deepcopy(given)


def _check_state_number(key: str, got: Any, fresh: Any) -> None:
    """A number of the optimizer state (the step count ``t``, the rate ``lr``) of the fresh
    state's kind: a count, or a finite number >= 0."""
    if isinstance(fresh, bool):
        ok, what = isinstance(got, bool | np.bool_), "True or False"
    elif isinstance(fresh, int):
        ok = isinstance(got, int | np.integer) and not isinstance(got, bool) and got >= 0
        what = "a count (an int >= 0)"
    else:
        number = isinstance(got, int | float | np.integer | np.floating)
        ok = number and not isinstance(got, bool) and bool(np.isfinite(got)) and got >= 0
        what = "a finite number >= 0"
    if not ok:
        raise ValueError(f"optimizer_state[{key!r}] must be {what}, got {got!r:.40}")


def replay_generator(epoch_rng: dict[str, Any]) -> np.random.Generator:
    """A generator in the state saved at the start of an epoch, to draw its shuffle again."""
    rng = np.random.Generator(getattr(np.random, epoch_rng["bit_generator"])())
    rng.bit_generator.state = epoch_rng
    return rng


def _public(state: Any) -> Any:
    """The optimizer state without its scratch entries (keys starting with ``_``), its
    arrays as NumPy (a device run's copied to the host)."""
    if isinstance(state, dict):
        return {k: _public(v) for k, v in state.items() if not k.startswith("_")}
    return to_numpy(state) if is_foreign_array(state) else state


def _same_structure(saved: Any, fresh: Any, path: str) -> None:
    """The saved optimizer state must have the fresh state's keys, shapes and dtypes."""
    if isinstance(fresh, dict):
        if not isinstance(saved, dict) or set(saved) != set(fresh):
            got = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
            raise ModelFileError(
                f"optimizer state {path or '/'}: expected {sorted(fresh)}, got {got}"
            )
        for key in fresh:
            _same_structure(saved[key], fresh[key], f"{path}/{key}")
    elif isinstance(fresh, np.ndarray):
        if not isinstance(saved, np.ndarray) or (saved.shape, saved.dtype) != (
            fresh.shape,
            fresh.dtype,
        ):
            raise ModelFileError(
                f"optimizer state {path}: expected a {fresh.dtype} array {fresh.shape}"
            )
    elif isinstance(fresh, bool):
        if not isinstance(saved, bool):
            raise ModelFileError(f"optimizer state {path}: expected a bool, got {saved!r:.40}")
    elif isinstance(fresh, int):  # a count, e.g. the step number t
        if isinstance(saved, bool) or not isinstance(saved, int) or saved < 0:
            raise ModelFileError(f"optimizer state {path}: expected a count, got {saved!r:.40}")
    elif isinstance(fresh, float) and (
        isinstance(saved, bool)
        or not isinstance(saved, int | float)
        or not abs(saved) < 1e30
        or (path == "/lr" and not saved > 0)
    ):
        raise ModelFileError(f"optimizer state {path}: expected a rate, got {saved!r:.40}")


@dataclass
class Checkpointer:
    """Saves a fit's progress every ``every`` updates and restores it on resume."""

    path: Path
    every: int
    settings: dict[str, Any]
    start_rng: dict[str, Any]
    saved: int = field(default=0)

    @classmethod
    def create(cls, checkpoint: Any, every: Any, settings: dict[str, Any]) -> Checkpointer | None:
        """None without ``checkpoint``; ``every`` 0 stands for once per epoch (set later)."""
        if checkpoint is None:
            if every is not None:
                raise ValueError("checkpoint_every needs checkpoint=PATH")
            return None
        if not isinstance(checkpoint, str | os.PathLike):
            raise TypeError(f"checkpoint must be a path, got {type(checkpoint).__name__}")
        path = Path(checkpoint)
        if not path.parent.is_dir():
            raise ValueError(f"checkpoint: the folder {str(path.parent)!r} does not exist")
        every = 0 if every is None else int(check_positive(every, "checkpoint_every", integer=True))
        return cls(path, every, settings, start_rng={})

    def load(self, network: Network, epochs: int) -> Checkpoint | None:
        """The checkpoint to resume from (None if there is no file yet), checked in full:
        it must be this run's (its identity), and ``epochs`` must reach the epoch it is in."""
        if not self.path.exists():
            return None
        saved = load_checkpoint(self.path, params_like=network.params)
        extra = saved.extra
        if not isinstance(extra.get("settings"), dict) or not isinstance(extra.get("run"), dict):
            raise ModelFileError(f"{str(self.path)!r} was not written by fit(checkpoint=...)")
        try:
            _generator(extra.get("start_rng"))
        except ValueError as exc:
            raise ModelFileError(f"{str(self.path)!r}: start_rng: {exc}") from None
        differ = sorted(
            key
            for key in set(self.settings) | set(extra["settings"])
            if self.settings.get(key) != extra["settings"].get(key)
        )
        if differ:
            shown = "; ".join(
                f"{k}: {extra['settings'].get(k)!r:.80} in the checkpoint, "
                f"{self.settings.get(k)!r:.80} now"
                for k in differ
            )
            raise ValueError(
                f"resume=True: the checkpoint {str(self.path)!r} belongs to another run ({shown}); "
                "pass the same settings and data, or resume=False to start afresh"
            )
        try:
            begun = _count(saved.position["epoch"]) + bool(_count(saved.position["batch"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{str(self.path)!r} holds an invalid position: {exc}") from None
        if epochs < begun:
            raise ValueError(
                f"resume=True: the checkpoint {str(self.path)!r} belongs to another run (epochs: "
                f"it has begun epoch {begun}, epochs={epochs} now); pass epochs >= {begun}, "
                "or resume=False to start afresh"
            )
        return saved

    def restore(
        self,
        saved: Checkpoint,
        network: Network,
        optimizer: Optimizer,
        names: list[str],
        rng: np.random.Generator,
        history: History,
        sched_state: dict[str, Any],
    ) -> tuple[dict[str, Any], RunPosition]:
        """Put the saved parameters, optimizer state, generator and history in place.

        ``sched_state`` is the schedule's fresh state, to check the saved one against.
        """
        where = repr(str(self.path))
        fresh = optimizer.init({k: network.params[k] for k in names})
        public = _public(saved.optimizer_state)
        _same_structure(public, _public(fresh), "")
        # Everything is checked before anything changes: a bad file leaves the run as it was.
        try:
            position = RunPosition(**{**saved.extra["run"], **saved.position})
            record = saved.history
            restored = History(
                history={str(k): [float(x) for x in v] for k, v in record["history"].items()},
                epochs=_count(record["epochs"]),
                best_epoch=record["best_epoch"],
                stop_reason=record["stop_reason"],
                skipped_batches=[(_count(e), _count(b)) for e, b in record["skipped_batches"]],
                rate_cuts=checked_rate_cuts(record),
            )
            for name in ("epoch", "batch", "seen", "updates", "bad_epochs"):
                _count(getattr(position, name))
            if record["best_epoch"] is not None:
                _count(record["best_epoch"])
            _number(position.total)
            for value in (position.last_monitor, position.best):
                if value is not None:
                    _number(value)
            if not isinstance(position.sched_state, dict) or set(position.sched_state) != set(
                sched_state
            ):
                raise ValueError(f"schedule state {position.sched_state!r:.80}")
            for value in position.sched_state.values():
                _number(value, finite=False)
            if position.finished not in (None, *STOP_REASONS):
                raise ValueError(f"finished {position.finished!r:.40}")
            if record["stop_reason"] not in STOP_REASONS:
                raise ValueError(f"stop_reason {record['stop_reason']!r:.40}")
            if position.epoch_rng is not None:
                _generator(position.epoch_rng)
            elif position.batch and self.settings.get("shuffle"):
                raise ValueError("no generator state for the epoch's shuffle")
            if position.best_params is not None:
                Network.copy(network).set_params(position.best_params)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ModelFileError(f"{where} holds an invalid fit state: {exc!s:.200}") from None
        network.set_params(saved.params)
        rng.bit_generator.state = saved.rng_state
        for name in (
            "history",
            "epochs",
            "best_epoch",
            "stop_reason",
            "skipped_batches",
            "rate_cuts",
        ):
            setattr(history, name, getattr(restored, name))
        state = {**fresh, **public}  # scratch arrays come from init, fresh
        return state, position

    def due(self, updates: int) -> bool:
        """Whether the update just counted is one to checkpoint after."""
        return updates % self.every == 0

    def save(
        self,
        network: Network,
        state: dict[str, Any],
        rng: np.random.Generator,
        position: RunPosition,
        history: History,
    ) -> None:
        """Write the checkpoint (atomically: a crash leaves this one or the previous one)."""
        position_keys = ("epoch", "batch", "total", "seen", "updates", "finished")
        everything = dataclasses.asdict(position)
        position = {k: everything.pop(k) for k in position_keys}
        record = {
            "history": history.history,
            "epochs": history.epochs,
            "best_epoch": history.best_epoch,
            "stop_reason": history.stop_reason,
            "skipped_batches": [list(b) for b in history.skipped_batches],
            "rate_cuts": [list(cut) for cut in history.rate_cuts],
        }
        extra = {"settings": self.settings, "start_rng": self.start_rng, "run": everything}
        save_checkpoint(
            self.path,
            {name: to_numpy(p) for name, p in network.params.items()},
            _public(copy.copy(state)),
            rng,
            position,
            record,
            extra=extra,
        )
        self.saved += 1
