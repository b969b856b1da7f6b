"""A checkpointed training run, importable by the tests and runnable as a child process.

``python _resume_run.py CHECKPOINT [DTYPE]`` trains with a checkpoint after every
update and ``resume=True``: run it again after a kill and it continues from the
checkpoint. ``-`` for CHECKPOINT trains without one.
It prints ``training`` when the first epoch begins, ``epoch`` at the end of each epoch
and, when training is over, the result as JSON on one line.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import numpy as np

import chainrule
from chainrule.training.callbacks import Callback

EPOCHS = 12


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2026)
    X = rng.normal(size=(600, 10))
    y = np.eye(3)[(X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 1)]
    return X, y


def run(
    checkpoint: str | None, init_seed: int = 0, callbacks: Any = (), dtype: str = "float64"
) -> dict[str, Any]:
    """Train; return the SHA-256 of the final weights' bytes and the exact history."""
    X, y = data()
    net = chainrule.Network.from_sizes(
        [10, 32, 16, 3],
        ["relu", "tanh", "softmax"],
        random_state=init_seed,
        dropout=0.1,
        dtype=dtype,
    )
    history = chainrule.fit(
        net,
        X,
        y,
        loss="cross_entropy",
        optimizer=chainrule.Adam(lr=0.01),
        epochs=EPOCHS,
        batch_size=16,
        random_state=7,
        validation_split=0.2,
        metrics=["accuracy"],
        schedule="plateau",
        l2=1e-4,
        callbacks=callbacks,
        checkpoint=checkpoint,
        checkpoint_every=None if checkpoint is None else 1,
        resume=checkpoint is not None,
    )
    digest = hashlib.sha256(b"".join(v.tobytes() for v in net.params.values())).hexdigest()
    exact = {k: [float(v).hex() for v in values] for k, values in history.history.items()}
    return {"weights": digest, "history": exact, "epochs": history.epochs}


class _Announce(Callback):
    def on_train_begin(self, network: Any, history: Any) -> None:
        print("training", flush=True)

    def on_epoch_end(self, epoch: int, logs: Any, network: Any) -> None:
        print("epoch", flush=True)


if __name__ == "__main__":
    path = None if sys.argv[1] == "-" else sys.argv[1]
    dtype = sys.argv[2] if len(sys.argv) > 2 else "float64"
    result = run(path, callbacks=[_Announce()], dtype=dtype)
    print(json.dumps(result), flush=True)
