"""Every file chainrule writes goes through atomic_write: a full disk leaves the old file.

The disk fills up at the last moment (the rename), after the whole new content was
written to the temporary file; the target must still hold its old bytes, and no
temporary file may be left behind.
"""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import chainrule
from chainrule.cli import main

OLD = b"the previous content\n"


@pytest.fixture
def full_disk(monkeypatch):
    """Make the next atomic write fail with ENOSPC (``os.replace`` inside atomic_write)."""

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return lambda: monkeypatch.setattr("chainrule.io.atomic.os.replace", no_space)


def _old_file(path):
    path.write_bytes(OLD)
    return path


def _only(path):
    assert path.read_bytes() == OLD
    assert os.listdir(path.parent) == [path.name]  # no temporary file left


def test_onnx_export(tmp_path, full_disk):
    pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
    path = _old_file(tmp_path / "m.onnx")
    chainrule.export_onnx(chainrule.seed_example().network, path)
    assert path.read_bytes() != OLD  # the normal case writes
    _old_file(path)
    full_disk()
    with pytest.raises(OSError, match="no space left on device; the previous file is unchanged"):
        chainrule.export_onnx(chainrule.seed_example().network, path)
    _only(path)


@pytest.mark.parametrize("option", ["--output", "--diagram"])
def test_cli_explain_outputs(tmp_path, full_disk, capsys, option):
    name = "out.svg" if option == "--diagram" else "out.md"
    path = _old_file(tmp_path / name)
    assert main(["explain", "--format", "markdown", option, str(path)]) == 0
    assert path.read_bytes() != OLD
    _old_file(path)
    capsys.readouterr()
    full_disk()
    assert main(["explain", "--format", "markdown", option, str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{option}: cannot write" in err and "the previous file is unchanged" in err
    _only(path)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_history_plot(tmp_path, full_disk, suffix):
    pytest.importorskip("matplotlib", reason="plots need the plot extra")
    history = chainrule.History()
    for value in (1.0, 0.5, 0.25):
        history.append({"loss": value})
    path = _old_file(tmp_path / f"loss{suffix}")
    history.plot(path)
    content = path.read_bytes()
    assert content.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in content
    _old_file(path)
    full_disk()
    with pytest.raises(OSError, match="no space left on device"):
        history.plot(path)
    _only(path)


def test_checkpoints_of_fit(tmp_path, full_disk):
    """A full disk while fit writes a checkpoint stops the fit and keeps the old checkpoint."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    path = tmp_path / "run.ckpt"
    net = chainrule.Network.from_sizes([3, 1], "identity", random_state=0)
    chainrule.fit(net, X, X[:, :1], loss="mse", epochs=1, checkpoint=path)
    before = path.read_bytes()
    full_disk()
    with pytest.raises(OSError, match="no space left on device"):
        chainrule.fit(net, X, X[:, :1], loss="mse", epochs=2, checkpoint=path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.ckpt"]


def test_estimator_model_file(tmp_path, full_disk):
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    from chainrule import MLPRegressor

    X = np.random.default_rng(0).normal(size=(20, 3))
    reg = MLPRegressor((3,), max_iter=2, random_state=0).fit(X, X[:, 0])
    path = _old_file(tmp_path / "reg.safetensors")
    full_disk()
    with pytest.raises(OSError, match="no space left on device; the previous file is unchanged"):
        reg.save(path)
    _only(path)
