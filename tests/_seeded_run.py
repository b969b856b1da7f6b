"""A seeded training run, importable by the tests and runnable as a child process.

``python _seeded_run.py SEED DTYPE`` prints the run's result as JSON.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

import chainrule


def run(seed: int, dtype: str) -> tuple[str, list[str]]:
    """Mini-batch training driven by one seeded generator: init, data and shuffling.

    Returns the SHA-256 of the final parameters' bytes and every batch loss, exactly
    (as float hex strings).
    """
    rng = np.random.default_rng(seed)
    net = chainrule.Network.from_sizes(
        [4, 8, 3], ["tanh", "softmax"], random_state=rng, dtype=dtype
    )
    X = rng.normal(size=(64, 4))
    y = np.eye(3)[rng.integers(0, 3, size=64)]
    losses = []
    for _ in range(5):
        order = rng.permutation(64)
        for start in range(0, 64, 16):
            batch = order[start : start + 16]
            losses.append(chainrule.train_step(net, X[batch], y[batch], lr=0.3, loss="ce"))
    digest = hashlib.sha256(b"".join(v.tobytes() for v in net.params.values())).hexdigest()
    return digest, [float(v).hex() for v in losses]


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]), sys.argv[2])))
