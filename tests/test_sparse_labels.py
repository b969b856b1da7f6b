"""``fit(net, X, y, loss="cross_entropy")`` with integer class labels, against PyTorch's
``cross_entropy`` on the same labels."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

import chainrule
import chainrule.training.sources
from chainrule import Network


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10, 4))
    labels = rng.integers(0, 3, size=10)
    W1, b1 = rng.normal(size=(4, 5)) * 0.5, rng.normal(size=5) * 0.1
    W2, b2 = rng.normal(size=(5, 3)) * 0.5, rng.normal(size=3) * 0.1
    return X, labels, [W1, W2], [b1, b2]


def test_integer_labels_train_as_torch_cross_entropy():
    X, labels, weights, biases = _data()
    net = Network.from_weights(weights, biases, ["tanh", "softmax"])
    chainrule.fit(
        net,
        X,
        labels,
        loss="cross_entropy",
        optimizer=chainrule.SGD(lr=0.1),
        epochs=3,
        batch_size=10,
        shuffle=False,
    )
    params = [torch.tensor(a, requires_grad=True) for a in (*weights, *biases)]
    W1, W2, b1, b2 = params
    for _ in range(3):
        logits = torch.tanh(torch.tensor(X) @ W1 + b1) @ W2 + b2
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= 0.1 * g
    for name, p in zip(["W1", "W2", "b1", "b2"], params, strict=True):
        np.testing.assert_allclose(net.params[name], p.detach().numpy(), rtol=0, atol=1e-12)


def test_labels_out_of_range_are_refused_before_training():
    X, labels, weights, biases = _data()
    net = Network.from_weights(weights, biases, ["tanh", "softmax"])
    before = {k: v.copy() for k, v in net.params.items()}
    labels[4] = 3
    with pytest.raises(ValueError, match=r"y holds class labels outside 0\.\.2 .* 3 at row 4"):
        chainrule.fit(net, X, labels, loss="cross_entropy", epochs=1)
    labels[4] = -1
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        chainrule.fit(
            net, X, np.zeros(10, dtype=int), loss="ce", epochs=1, validation_data=(X, labels)
        )
    assert all(np.array_equal(before[k], v) for k, v in net.params.items())


# -- out of core: a memmap's and an iterable's labels, one-hot batch by batch ---------------

K = 3  # classes


def _labelled(tmp_path, n=120, seed=1, width=4, k=K, dtypes=(np.float64, np.int64)):
    """A memmap X (n, width) and a memmap of integer labels below k, both opened
    read-only from disk."""
    rng = np.random.default_rng(seed)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=dtypes[0], shape=(n, width))
    X[:] = rng.normal(size=(n, width))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=dtypes[1], shape=(n,))
    y[:] = rng.integers(0, k, size=n)
    X.flush()
    y.flush()
    return np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")


def _net(dtype=np.float64):
    return Network.from_sizes([4, 6, K], ["tanh", "softmax"], random_state=2, dtype=dtype)


OPTIONS = {
    "loss": "cross_entropy",
    "optimizer": "adam",
    "epochs": 3,
    "batch_size": 16,
    "random_state": 5,
}


def _assert_same_weights(a, b):
    for name, value in a.params.items():
        np.testing.assert_array_equal(value, b.params[name], err_msg=name)


@pytest.mark.parametrize("shuffle", [False, True])
def test_memmap_labels_train_as_the_in_memory_one_hot(tmp_path, monkeypatch, shuffle):
    X, labels = _labelled(tmp_path)
    assert chainrule.training.sources.file_backed(labels) is not None
    # 40 rows a chunk (3 chunks): the block shuffle and the label check cross chunks
    monkeypatch.setattr(chainrule.training.sources, "CHUNK_BYTES", 40 * 4 * 8)
    one_hot = np.eye(K)[np.array(labels)]
    X_val, labels_val = np.array(X[:30]), np.array(labels[:30])
    nets = [_net(), _net()]
    h_labels = chainrule.fit(
        nets[0], X, labels, shuffle=shuffle,
        validation_data=(X_val, labels_val), **OPTIONS,
    )  # fmt: skip
    h_one_hot = chainrule.fit(
        nets[1], X, one_hot, shuffle=shuffle,
        validation_data=(X_val, np.eye(K)[labels_val]), **OPTIONS,
    )  # fmt: skip
    _assert_same_weights(*nets)
    assert h_labels["loss"] == h_one_hot["loss"]
    assert h_labels["val_loss"] == h_one_hot["val_loss"]
    if not shuffle:  # the same batches as X and the one-hot in memory
        in_memory = _net()
        chainrule.fit(in_memory, np.array(X), one_hot, shuffle=False, **OPTIONS)
        _assert_same_weights(nets[0], in_memory)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_iterable_labels_train_as_the_in_memory_one_hot(tmp_path, dtype):
    X, labels = (np.array(a) for a in _labelled(tmp_path))
    X = X.astype(dtype)
    batches = [(X[i : i + 16], labels[i : i + 16]) for i in range(0, len(X), 16)]
    nets = [_net(dtype), _net(dtype)]
    chainrule.fit(nets[0], batches, **OPTIONS)
    chainrule.fit(nets[1], X, np.eye(K, dtype=dtype)[labels], shuffle=False, **OPTIONS)
    _assert_same_weights(*nets)
    assert nets[0].dtype == dtype


def test_labels_on_a_device_train_as_the_one_hot_there(tmp_path):
    X, labels = (np.array(a) for a in _labelled(tmp_path))
    nets = [_net(np.float32), _net(np.float32)]
    chainrule.fit(nets[0], X, labels, device="cpu", validation_data=(X, labels), **OPTIONS)
    one_hot = np.eye(K, dtype=np.float32)[labels]
    chainrule.fit(nets[1], X, one_hot, device="cpu", validation_data=(X, one_hot), **OPTIONS)
    _assert_same_weights(*nets)


def _traced_peak(run):
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memmap_labels_never_hold_the_whole_one_hot(tmp_path):
    # 200,000 rows of 40 classes: the one-hot would be 32 MB in float32 (64 MB float64);
    # X (2 float32 columns) and the int32 labels are 1.6 MB and 0.8 MB on disk.
    n, k = 200_000, 40
    X, y = _labelled(tmp_path, n, seed=0, width=2, k=k, dtypes=(np.float32, np.int32))
    one_hot_bytes = n * k * 4

    def train(rows=n):
        net = Network.from_sizes([2, 8, k], ["tanh", "softmax"], random_state=0, dtype=np.float32)
        before = net.params["W2"].copy()
        chainrule.fit(net, X[:rows], y[:rows], loss="ce", optimizer="sgd", epochs=1,
                      batch_size=500, random_state=0)  # fmt: skip
        assert not np.array_equal(net.params["W2"], before)  # it trained

    train(1000)  # the first fit's lazy imports and caches are not the data's memory
    peak = _traced_peak(train)
    assert peak < one_hot_bytes / 4, f"traced peak {peak / 2**20:.1f} MiB"


def test_in_memory_labels_are_one_hot_in_the_network_dtype():
    # A float64 one-hot for a float32 network would be a second n x k copy (float64,
    # then float32): the peak stays below 1.5 x the float32 one-hot.
    n, k = 200_000, 10
    labels = np.random.default_rng(0).integers(0, k, size=n)
    X = np.zeros((n, 2), dtype=np.float32)
    net = Network.from_sizes([2, k], ["softmax"], random_state=0, dtype=np.float32)
    loss = chainrule.losses.get_loss("ce")
    found = {}

    def encode():
        found["y"] = chainrule.training.sources.batch_source(net, X, labels, loss=loss).y

    peak = _traced_peak(encode)
    assert found["y"].dtype == np.float32
    np.testing.assert_array_equal(found["y"], np.eye(k)[labels])
    assert peak < 1.5 * n * k * 4, f"traced peak {peak / 2**20:.1f} MiB"


def test_memmap_labels_out_of_range_are_refused_before_training(tmp_path, monkeypatch):
    X, labels = _labelled(tmp_path)
    monkeypatch.setattr(chainrule.training.sources, "CHUNK_BYTES", 40 * 4 * 8)
    bad = np.array(labels)
    bad[97] = K  # in the third chunk of labels read
    np.save(tmp_path / "bad.npy", bad)
    bad = np.load(tmp_path / "bad.npy", mmap_mode="r")
    net = _net()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(
        ValueError, match=r"^y holds class labels outside 0\.\.2 .*, e\.g\. 3 at row 97$"
    ):
        chainrule.fit(net, X, bad, **OPTIONS)
    with pytest.raises(ValueError, match=r"^validation_data: y holds .* e\.g\. -1 at row 2$"):
        chainrule.fit(net, X, labels, validation_data=(X[:5], [0, 1, -1, 0, 2]), **OPTIONS)
    _assert_same_weights(net, Network.from_weights(
        [before["W1"], before["W2"]], [before["b1"], before["b2"]], ["tanh", "softmax"]
    ))  # fmt: skip


def test_iterable_labels_out_of_range_name_the_batch_and_row(tmp_path):
    X, labels = (np.array(a) for a in _labelled(tmp_path))
    batches = [(X[i : i + 16], labels[i : i + 16].copy()) for i in range(0, len(X), 16)]
    batches[2][1][5] = 7
    net = _net()
    with pytest.raises(ValueError, match=r"^batch 2 of the iterable: y holds class labels "
                                         r"outside 0\.\.2 .*, e\.g\. 7 at row 5$"):  # fmt: skip
        chainrule.fit(net, batches, **OPTIONS)
    # a bad first batch: nothing trained
    net, first = _net(), [(X[:4], np.array([0, 1, 2, -3]))]
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"^batch 0 of the iterable: .* e\.g\. -3 at row 3$"):
        chainrule.fit(net, first, **OPTIONS)
    assert all(np.array_equal(before[k], v) for k, v in net.params.items())


def test_binary_cross_entropy_takes_0_1_labels_out_of_core_as_today(tmp_path):
    X, labels = _labelled(tmp_path)
    binary = np.asarray(labels) % 2
    np.save(tmp_path / "b.npy", binary)
    on_disk = np.load(tmp_path / "b.npy", mmap_mode="r")
    nets = [Network.from_sizes([4, 5, 1], ["tanh", "sigmoid"], random_state=0) for _ in "ab"]
    settings = {**OPTIONS, "loss": "bce", "shuffle": False}
    chainrule.fit(nets[0], X, on_disk, **settings)
    chainrule.fit(nets[1], np.array(X), binary.astype(np.float64), **settings)
    _assert_same_weights(*nets)
