"""Out of core: fit and the estimators read memmaps chunk by chunk and iterables batch by batch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.training import fit
from chainrule.training import sources as batches


@pytest.fixture
def memmap_data(tmp_path):
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(96, 3))
    X[:] = rng.normal(size=(96, 3))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float32, shape=(96, 1))
    y[:] = X[:, :1] - 0.5 * X[:, 1:2]
    X.flush()
    y.flush()
    return np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")


def network(seed=0):
    return cr.Network.from_sizes([3, 5, 1], ["tanh", "identity"], random_state=seed).astype(
        np.float32
    )


def train(X, y=None, **kwargs):
    net = network()
    options = {"loss": "mse", "optimizer": "sgd", "epochs": 3, "batch_size": 8, "shuffle": False}
    history = fit(net, X, y, **{**options, **kwargs})
    return net, history


def test_memmap_is_read_in_chunks_and_matches_in_memory(memmap_data, monkeypatch):
    X, y = memmap_data
    assert batches.file_backed(X) is not None
    monkeypatch.setattr(batches, "CHUNK_BYTES", 24 * 3 * 4)  # 24 rows a chunk: 4 chunks
    source = batches.batch_source(network(), X, y)
    assert isinstance(source, batches.ChunkedSource)
    on_disk, h1 = train(X, y)
    in_memory, h2 = train(np.array(X), np.array(y))
    for key, value in in_memory.params.items():
        np.testing.assert_array_equal(on_disk.params[key], value)
    assert h1["loss"] == h2["loss"]


def test_shuffled_memmap_epoch_sees_every_row_once(memmap_data, monkeypatch):
    X, y = memmap_data
    monkeypatch.setattr(batches, "CHUNK_BYTES", 20 * 3 * 4)
    source = batches.batch_source(network(), X, y)
    seen = [Xb for Xb, _, _ in source.epoch(np.random.default_rng(1), True, 8)]
    rows = np.concatenate(seen)
    assert not np.array_equal(rows, X)  # shuffled ...
    np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(np.array(X), axis=0))  # ... all
    assert all(len(b) <= 8 for b in seen)


def test_iterable_of_batches_matches_in_memory(memmap_data):
    X, y = (np.array(a) for a in memmap_data)
    listed = [(X[i : i + 8], y[i : i + 8]) for i in range(0, 96, 8)]
    from_list, h1 = train(listed)
    in_memory, h2 = train(X, y)
    for key, value in in_memory.params.items():
        np.testing.assert_array_equal(from_list.params[key], value)
    assert h1["loss"] == h2["loss"]


def test_one_shot_iterator_serves_one_epoch(memmap_data):
    X, y = (np.array(a) for a in memmap_data)
    gen = ((X[i : i + 8], y[i : i + 8]) for i in range(0, 96, 8))
    with pytest.raises(ValueError, match=r"one-shot iterator of batches.*epochs=3"):
        train(gen)
    _, history = train(gen, epochs=1)
    assert history.epochs == 1


def test_bad_batches_are_named(memmap_data, tmp_path):
    X, y = (np.array(a) for a in memmap_data)
    with pytest.raises(TypeError, match="batch 1 must be a tuple"):
        train([(X[:8], y[:8]), X[8:16]])
    with pytest.raises(ValueError, match="y is required when X is an array"):
        train(X)
    with pytest.raises(ValueError, match="y is required when X is an array"):
        train(X.tolist())
    with pytest.raises(ValueError, match="sample_weight cannot go with an iterable"):
        train([(X, y)], sample_weight=np.ones(96))
    with pytest.raises(ValueError, match="gave no batches"):
        train([])
    bad = np.lib.format.open_memmap(
        tmp_path / "nan.npy", mode="w+", dtype=np.float32, shape=X.shape
    )
    bad[:] = X
    bad[50, 1] = np.nan
    bad.flush()
    with pytest.raises(ValueError, match="X contains NaN"):
        train(np.load(tmp_path / "nan.npy", mmap_mode="r"), y)
    with pytest.raises(ValueError, match="validation_split needs X in memory"):
        train(memmap_data[0], y, validation_split=0.2)


def test_weighted_batches(memmap_data):
    X, y = (np.array(a) for a in memmap_data)
    w = np.linspace(0.5, 2.0, 96)
    listed = [(X[i : i + 8], y[i : i + 8], w[i : i + 8]) for i in range(0, 96, 8)]
    from_list, _ = train(listed)
    in_memory, _ = train(X, y, sample_weight=w)
    np.testing.assert_array_equal(from_list.params["W1"], in_memory.params["W1"])


sklearn = pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")


def test_regressor_on_memmap_matches_in_memory(memmap_data):
    X, y = memmap_data
    options = {"hidden_layer_sizes": (4,), "max_iter": 5, "shuffle": False, "random_state": 0}
    on_disk = cr.MLPRegressor(batch_size=16, **options).fit(X, y[:, 0])
    in_memory = cr.MLPRegressor(batch_size=16, **options).fit(np.array(X), np.array(y[:, 0]))
    np.testing.assert_array_equal(on_disk.coefs_[0], in_memory.coefs_[0])
    on_disk.partial_fit(X, y[:, 0])
    assert on_disk.n_iter_ == 1 and len(on_disk.loss_curve_) == in_memory.n_iter_ + 1


def test_classifier_on_batches_matches_in_memory():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, "yes", "no")
    listed = [(X[i : i + 10], y[i : i + 10]) for i in range(0, 60, 10)]
    options = {"hidden_layer_sizes": (4,), "max_iter": 4, "shuffle": False, "random_state": 0}
    from_list = cr.MLPClassifier(batch_size=10, **options).fit(listed)
    in_memory = cr.MLPClassifier(batch_size=10, **options).fit(X, y)
    np.testing.assert_array_equal(from_list.coefs_[1], in_memory.coefs_[1])
    assert list(from_list.classes_) == ["no", "yes"]
    gen = iter(listed)
    with pytest.raises(ValueError, match="needs its labels up front"):
        cr.MLPClassifier(**options).fit(gen)
    streamed = cr.MLPClassifier(**options).partial_fit(iter(listed), classes=["no", "yes"])
    assert streamed.n_iter_ == 1 and streamed.predict(X).shape == (60,)
    with pytest.raises(ValueError, match="features"):
        streamed.partial_fit([(X[:5, :1], y[:5])])


def test_checkpoints_need_data_in_memory(tmp_path):
    net = cr.Network.from_sizes([2, 3, 1], "sigmoid", random_state=0)
    before = {k: v.copy() for k, v in net.params.items()}
    batches = [(np.zeros((4, 2)), np.zeros((4, 1)))]
    with pytest.raises(ValueError, match="checkpoint needs X and y in memory"):
        fit(net, batches, loss="mse", checkpoint=tmp_path / "run.ckpt")
    assert not (tmp_path / "run.ckpt").exists()
    assert all(np.array_equal(net.params[k], before[k]) for k in before)
