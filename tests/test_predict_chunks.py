"""Prediction out of core: ``Network.predict`` and the estimators' ``predict``,
``predict_proba`` and ``score`` work chunk by chunk, also on a memmap, so the peak memory
is the output plus one chunk's activations (measured with tracemalloc in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np

from chainrule import MLPClassifier, Network

_CHILD = textwrap.dedent(
    """
    import json, sys, tracemalloc
    import numpy as np
    from chainrule import Network

    path, n = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    net = Network.from_weights(
        [rng.normal(size=(10, 64)), rng.normal(size=(64, 3))],
        [np.zeros(64), np.zeros(3)],
        ["relu", "softmax"],
    )
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, 10))
    tracemalloc.start()
    out = net.predict(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    head = net.forward(np.asarray(X[:1000], dtype=np.float64))[0]
    print(json.dumps({
        "peak": peak, "out": out.nbytes, "chunk": net._chunk_rows(),
        "diff": float(np.abs(out[:1000] - head).max()),
    }))
    """
)


def test_predict_on_a_memmap_peaks_at_the_output_plus_one_chunk(tmp_path):
    n = 400_000
    path = tmp_path / "X.f32"
    data = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, 10))
    data[:] = np.random.default_rng(1).normal(size=(n, 10)).astype(np.float32)
    data.flush()
    del data
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(n)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(done.stdout)
    assert result["diff"] < 1e-12
    # One chunk: its float64 input, and Z and A of the 64-wide layer, and of the output.
    chunk = result["chunk"] * (10 + 2 * 64 + 2 * 3) * 8
    assert result["peak"] <= result["out"] + 2 * chunk
    # All rows at once would need every layer's activations for every row.
    assert result["peak"] < n * 64 * 8


def test_chunked_predictions_equal_the_whole_forward_pass():
    rng = np.random.default_rng(2)
    net = Network.from_weights(
        [rng.normal(size=(5, 8)), rng.normal(size=(8, 2))],
        [np.zeros(8), np.zeros(2)],
        ["tanh", "sigmoid"],
    )
    n = 3 * net._chunk_rows() + 17  # an uneven last chunk
    X = rng.normal(size=(n, 5))
    np.testing.assert_array_equal(net.predict(X), net.forward(X)[0])


def test_estimators_predict_in_chunks_on_a_memmap(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    n = 2 * clf.network_._chunk_rows() + 5
    big = np.memmap(tmp_path / "X.f32", dtype=np.float32, mode="w+", shape=(n, 4))
    big[:] = rng.normal(size=(n, 4)).astype(np.float32)
    whole = clf.network_.forward(np.asarray(big))[0]  # float32, as the fit's X
    np.testing.assert_array_equal(clf.predict_proba(big)[:, 1], whole[:, 0])
    labels = (whole[:, 0] >= 0.5).astype(int)
    np.testing.assert_array_equal(clf.predict(big), labels)
    assert clf.score(big, labels) == 1.0
