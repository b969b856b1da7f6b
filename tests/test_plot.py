"""chainrule.evaluation.plots: each figure is a valid PNG that is not blank (Agg backend)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.training import fit
from chainrule.training.callbacks import GradientNorms

matplotlib = pytest.importorskip("matplotlib", reason="the [plot] extra is not installed")
matplotlib.use("Agg")
plot = pytest.importorskip("chainrule.evaluation.plots")
image = pytest.importorskip("matplotlib.image")


def assert_png(path, min_size=(100, 100)):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(path)
    assert pixels.shape[0] >= min_size[0] and pixels.shape[1] >= min_size[1]
    assert pixels[..., :3].var() > 1e-3, "the image is blank"


def xor_fit(callbacks=()):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    net = cr.Network.from_sizes([2, 8, 8, 1], ["tanh", "tanh", "sigmoid"], random_state=0)
    history = fit(
        net,
        X,
        y,
        loss="bce",
        epochs=15,
        validation_split=0.2,
        metrics=["accuracy"],
        callbacks=callbacks,
        random_state=0,
    )
    return net, X, y, history


def test_history_curves(tmp_path):
    _, _, _, history = xor_fit()
    fig = plot.plot_history(history, tmp_path / "history.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]  # training and validation
    assert_png(tmp_path / "history.png")
    with pytest.raises(ValueError, match="no epochs"):
        plot.plot_history(cr.History())


def test_decision_regions_of_a_network_and_an_estimator(tmp_path):
    net, X, y, _ = xor_fit()
    plot.plot_decision_regions(net, X, y, tmp_path / "net.png", resolution=50)
    assert_png(tmp_path / "net.png")
    pytest.importorskip("sklearn", reason="the estimator needs the [sklearn] extra")
    labels = np.where(y > 0, "same sign", "opposite")
    clf = cr.MLPClassifier((8,), max_iter=20, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_[plot._classes_of(clf, X)], clf.predict(X))
    plot.plot_decision_regions(clf, X, labels, tmp_path / "clf.png")
    assert_png(tmp_path / "clf.png")
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        plot.plot_decision_regions(net, np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"y must have shape \(200,\)"):
        plot.plot_decision_regions(net, X, y[:5])


def test_gradient_norms_match_torch_autograd(tmp_path):
    torch = pytest.importorskip("torch", reason="torch gives the independent gradients")
    rng = np.random.default_rng(1)
    X_probe = rng.uniform(-1, 1, (64, 2))
    y_probe = (X_probe[:, 0] * X_probe[:, 1] > 0).astype(float)
    norms = GradientNorms(X_probe, y_probe, loss="bce")
    net, *_ = xor_fit(callbacks=[norms])
    assert sorted(norms.norms) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert all(len(v) == 15 for v in norms.norms.values())
    module = cr.to_torch(net)
    out = module(torch.from_numpy(X_probe))
    loss = torch.nn.functional.binary_cross_entropy(out[:, 0], torch.from_numpy(y_probe))
    loss.backward()
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    for k, linear in enumerate(linears, start=1):
        assert norms.norms[f"W{k}"][-1] == pytest.approx(float(linear.weight.grad.norm()), rel=1e-9)
        assert norms.norms[f"b{k}"][-1] == pytest.approx(float(linear.bias.grad.norm()), rel=1e-9)
    plot.plot_gradient_norms(norms, tmp_path / "grads.png")
    assert_png(tmp_path / "grads.png")
    with pytest.raises(ValueError, match="no gradient norms"):
        plot.plot_gradient_norms({})


def test_gradient_norms_check_the_probe():
    net = cr.Network.from_sizes([2, 1], ["sigmoid"], random_state=0)
    with pytest.raises(ValueError, match="features per instance"):
        fit(
            net,
            np.ones((4, 2)),
            np.ones(4),
            loss="bce",
            epochs=1,
            callbacks=[GradientNorms(np.ones((4, 3)), np.ones(4), "bce")],
        )


def test_weight_histograms(tmp_path):
    net, *_ = xor_fit()
    fig = plot.plot_weight_histograms(net, tmp_path / "weights.png")
    assert len(fig.axes) == 3
    assert_png(tmp_path / "weights.png")
    with pytest.raises(TypeError, match="network must be a chainrule Network"):
        plot.plot_weight_histograms({})


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"chainrule\[plot\]"):
        plot.plot_history(cr.History({"loss": [1.0]}, epochs=1))
