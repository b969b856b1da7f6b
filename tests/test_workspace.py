"""The fast path (Workspace, and fit's use of it) against the plain engine and PyTorch.

Where the workspace runs the same operations as Network.forward/backward, the results
must be equal bit for bit; where plain SGD is folded into the backward pass, equal to
rounding. The seed's numbers come from the seed notebook.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Network, seed_example
from chainrule.losses import get_loss
from chainrule.optimizers import SGD, Adam
from chainrule.training import fit
from chainrule.training import update as fit_step
from chainrule.training.update import Workspace, supports

CASES = [
    (["relu", "relu", "softmax"], "cross_entropy"),
    (["sigmoid", "tanh", "sigmoid"], "half_squared_error"),
    (["tanh", "identity", "sigmoid"], "binary_cross_entropy"),
    (["relu", "sigmoid", "identity"], "mean_squared_error"),
    (["tanh", "relu", "softmax"], "half_squared_error"),  # softmax without its loss
]


def _data(n_out: int, loss: str, dtype: type, n: int = 37, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 20)).astype(dtype)
    if loss == "cross_entropy":
        y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, n)]
    else:
        y = rng.random((n, n_out)).astype(dtype)
    return X, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("acts", "loss"), CASES)
def test_gradients_are_bit_identical_to_the_plain_path(acts, loss, reduction, dtype):
    net = Network.from_sizes([20, 16, 12, 3], acts, random_state=1, dtype=dtype)
    X, y = _data(3, loss, dtype)
    _, caches = net.forward(X)
    E, grads = net.backward(y, caches, get_loss(loss), reduction)
    ws = Workspace(net, loss, batch_size=50)  # a batch shorter than the buffers
    E_fast, grads_fast = ws.loss_and_grads(X, y, reduction)
    assert E_fast == float(E)
    for name, g in grads.items():
        assert grads_fast[name].dtype == dtype
        np.testing.assert_array_equal(grads_fast[name], g, err_msg=name)


@pytest.mark.parametrize(("acts", "loss"), CASES[:3])
def test_sgd_step_equals_gradient_then_update_to_rounding(acts, loss):
    net = Network.from_sizes([20, 16, 12, 3], acts, random_state=2)
    net.freeze("b2")
    X, y = _data(3, loss, np.float64)
    expected = net.copy()
    _, caches = expected.forward(X)
    E, grads = expected.backward(y, caches, get_loss(loss))
    for name in expected.trainable:
        expected.params[name] -= 0.1 * grads[name]
    b2 = net.params["b2"].copy()
    E_fast = Workspace(net, loss, batch_size=len(X)).sgd_step(X, y, lr=0.1)
    assert E_fast == pytest.approx(float(E), rel=1e-15)
    for name, p in expected.params.items():
        np.testing.assert_allclose(net.params[name], p, rtol=1e-13, atol=1e-15, err_msg=name)
    np.testing.assert_array_equal(net.params["b2"], b2)  # frozen


def test_seed_step_gives_the_notebooks_numbers():
    # The seed notebook: error 0.011843 before, 0.010953 after one step at lr 0.5, and
    # dEdW1 = [[0.001093, -0.001345], [0.000219, -0.000269]], dEdW2 = [[-0.021869], [-0.022037]].
    seed = seed_example()
    X, y = seed.network.check_Xy(seed.x, seed.y)
    W1, W2 = seed.network.params["W1"].copy(), seed.network.params["W2"].copy()
    ws = Workspace(seed.network, "half_squared_error", batch_size=1)
    assert ws.sgd_step(X, y, lr=0.5) == pytest.approx(0.011843, abs=5e-7)
    dW1 = np.array([[0.001093, -0.001345], [0.000219, -0.000269]])
    dW2 = np.array([[-0.021869], [-0.022037]])
    np.testing.assert_allclose(seed.network.params["W1"], W1 - 0.5 * dW1, atol=5e-7)
    np.testing.assert_allclose(seed.network.params["W2"], W2 - 0.5 * dW2, atol=5e-7)
    assert ws.sgd_step(X, y, lr=0.5) == pytest.approx(0.010953, abs=5e-7)


def _fit_both(optimizer, monkeypatch, **kwargs):
    # The NumPy kernels: the fused ones equal them to rounding only (test_fused_kernels.py).
    monkeypatch.setenv("CHAINRULE_KERNELS", "numpy")
    X, y = _data(3, "cross_entropy", np.float32, n=300, seed=3)
    nets = []
    for fast in (True, False):
        net = Network.from_sizes(
            [20, 16, 12, 3], ["relu", "relu", "softmax"], random_state=4, dtype=np.float32
        )
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(fit_step, "supports", lambda network, loss: False)
            history = fit(
                net,
                X,
                y,
                loss="ce",
                optimizer=optimizer,
                epochs=3,
                batch_size=32,
                random_state=5,
                **kwargs,
            )
        nets.append((net, history))
    return nets


@pytest.mark.parametrize(
    ("optimizer", "kwargs"),
    [(Adam(lr=0.01), {}), (SGD(lr=0.1, momentum=0.9), {"l2": 0.01, "clip_norm": 1.0})],
)
def test_fit_fast_path_is_bit_identical_to_the_plain_path(optimizer, kwargs, monkeypatch):
    (fast, h_fast), (plain, h_plain) = _fit_both(optimizer, monkeypatch, **kwargs)
    assert h_fast["loss"] == h_plain["loss"]
    for name, p in plain.params.items():
        np.testing.assert_array_equal(fast.params[name], p, err_msg=name)


def test_fit_folded_sgd_matches_the_plain_path_to_rounding(monkeypatch):
    (fast, h_fast), (plain, h_plain) = _fit_both(SGD(lr=0.1), monkeypatch)
    np.testing.assert_allclose(h_fast["loss"], h_plain["loss"], rtol=1e-5)
    for name, p in plain.params.items():
        np.testing.assert_allclose(fast.params[name], p, rtol=1e-4, atol=1e-6, err_msg=name)


def test_fit_epoch_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch (test extra) is the reference")
    X, y = _data(3, "cross_entropy", np.float64, n=200, seed=6)
    net = Network.from_sizes([20, 16, 12, 3], ["relu", "tanh", "softmax"], random_state=7)
    linears = [torch.nn.Linear(*layer.W.shape, dtype=torch.float64) for layer in net.layers]
    with torch.no_grad():
        for linear, layer in zip(linears, net.layers, strict=True):
            linear.weight.copy_(torch.from_numpy(layer.W.T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.b))
    model = torch.nn.Sequential(
        linears[0], torch.nn.ReLU(), linears[1], torch.nn.Tanh(), linears[2]
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    order = np.random.default_rng(8).permutation(200)  # what fit draws with random_state=8
    Xt, labels = torch.from_numpy(X), torch.from_numpy(y.argmax(axis=1))
    for start in range(0, 200, 32):
        rows = torch.from_numpy(order[start : start + 32])
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt[rows]), labels[rows]).backward()
        opt.step()
    fit(net, X, y, loss="ce", optimizer=SGD(lr=0.05), epochs=1, batch_size=32, random_state=8)
    for linear, layer in zip(linears, net.layers, strict=True):
        np.testing.assert_allclose(layer.W, linear.weight.detach().numpy().T, rtol=1e-12)
        np.testing.assert_allclose(layer.b, linear.bias.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_fit_uses_the_workspace_only_where_it_applies():
    relu = Network.from_sizes([4, 3, 2], ["relu", "softmax"], random_state=0)
    assert supports(relu, "ce")
    assert not supports(Network.from_sizes([4, 3, 2], ["softplus", "softmax"]), "ce")
    assert not supports(Network.from_sizes([4, 3, 2], ["relu", "softmax"], dropout=0.5), "ce")


def test_bad_arguments_are_refused():
    net = Network.from_sizes([4, 3, 2], ["relu", "softmax"], random_state=0)
    with pytest.raises(TypeError, match="network must be a Network"):
        Workspace("net", "ce", 8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hidden activations"):
        Workspace(Network.from_sizes([4, 3, 2], ["softplus", "softmax"]), "ce", 8)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        Workspace(net, "ce", 0)
    ws = Workspace(net, "ce", 8)
    X, y = _data(2, "cross_entropy", np.float64, n=9)
    with pytest.raises(ValueError, match="a batch must have 1 to 8 rows, got 9"):
        ws.loss_and_grads(X[:, :4], y)
    with pytest.raises(ValueError, match="reduction must be one of"):
        ws.loss_and_grads(X[:4, :4], y[:4], "median")


def test_the_finite_check_passes_huge_finite_data_and_refuses_nan_and_inf():
    # The one-pass check sums the data: a sum that overflows must not refuse finite data.
    net = Network.from_sizes([3, 2], ["softmax"], random_state=0, dtype=np.float32)
    huge = np.full((4, 3), 3e38, dtype=np.float32)
    assert net.check_X(huge).shape == (4, 3)
    for bad in (np.nan, np.inf, -np.inf):
        X = np.ones((4, 3), dtype=np.float32)
        X[2, 1] = bad
        with pytest.raises(ValueError, match="X contains NaN or infinity"):
            net.check_X(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaled_gradients_are_the_gradients_times_the_factor(dtype):
    net = Network.from_sizes(
        [20, 16, 12, 3], ["relu", "tanh", "softmax"], random_state=9, dtype=dtype
    )
    X, y = _data(3, "cross_entropy", dtype)
    _, caches = net.forward(X)
    E, grads = net.backward(y, caches, get_loss("ce"))
    E_scaled, steps = Workspace(net, "ce", batch_size=len(X)).loss_and_grads(X, y, scale=0.3)
    assert E_scaled == float(E)  # the loss is not scaled
    eps = float(np.finfo(dtype).eps)  # rounding, relative to each gradient's largest entry
    for name, g in grads.items():
        atol = 64 * eps * float(np.abs(0.3 * g).max())
        np.testing.assert_allclose(steps[name], 0.3 * g, rtol=0, atol=atol, err_msg=name)


def test_fit_takes_the_short_way_for_plain_sgd_only(monkeypatch):
    scales = []
    original = Workspace.loss_and_grads

    def spy(self, X, y, reduction="mean", scale=1.0):
        scales.append(scale)
        return original(self, X, y, reduction, scale)

    monkeypatch.setattr(Workspace, "loss_and_grads", spy)
    X, y = _data(3, "cross_entropy", np.float64, n=64)
    for optimizer, kwargs, expected in [
        (SGD(lr=0.1), {}, {0.1}),  # the steps lr * g straight from the workspace
        (SGD(lr=0.1, momentum=0.5), {}, {1.0}),  # the gradients, for the optimizer
        (SGD(lr=0.1), {"l2": 0.01}, {1.0}),
        (SGD(lr=0.1), {"clip_norm": 1.0}, {1.0}),
        (Adam(), {}, {1.0}),
    ]:
        scales.clear()
        net = Network.from_sizes([20, 8, 3], ["relu", "softmax"], random_state=0)
        fit(net, X, y, loss="ce", optimizer=optimizer, epochs=1, batch_size=16, **kwargs)
        assert set(scales) == expected and len(scales) == 4, (optimizer, kwargs)


def test_the_short_way_hands_a_bad_batch_to_the_guard_which_names_it():
    # Row 5 overflows the forward pass: the cheap check fails, the batch is computed
    # again the usual way, and the error names where, as on the plain path.
    from chainrule import DivergenceError

    X, y = _data(3, "cross_entropy", np.float32, n=12)
    X[5] = 3e38
    net = Network.from_sizes([20, 8, 3], ["relu", "softmax"], random_state=0, dtype=np.float32)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(DivergenceError, match="epoch 0, batch 1"):
        fit(net, X, y, loss="ce", optimizer=SGD(lr=0.1), batch_size=4, shuffle=False)
    # Batch 0 was trained on; batch 1 changed nothing: the weights are those after batch 0.
    expected = Network.from_sizes([20, 8, 3], ["relu", "softmax"], random_state=0, dtype=np.float32)
    fit(
        expected,
        X[:4],
        y[:4],
        loss="ce",
        optimizer=SGD(lr=0.1),
        epochs=1,
        batch_size=4,
        shuffle=False,
    )
    for name, value in net.params.items():
        assert not np.array_equal(value, before[name]), name
        np.testing.assert_array_equal(value, expected.params[name], err_msg=name)


@pytest.mark.parametrize("n", [1, 2, 129])
@pytest.mark.parametrize("sizes", [[2, 2, 1], [5, 1, 1], [1, 7, 3]])
def test_one_instance_and_one_wide_layers_are_bit_identical_too(sizes, n):
    # Vector-shaped products and one-element sums take their own code paths (BLAS gemv,
    # skipped sums); the results must still be the plain path's.
    net = Network.from_sizes(sizes, ["sigmoid", "sigmoid"], random_state=3)
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((n, sizes[0])), rng.random((n, sizes[-1]))
    _, caches = net.forward(X)
    E, grads = net.backward(y, caches, get_loss("half_squared_error"))
    E_fast, grads_fast = Workspace(net, "half_squared_error", n).loss_and_grads(X, y)
    assert E_fast == float(E)
    for name, g in grads.items():
        np.testing.assert_array_equal(grads_fast[name], g, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_in_place_activations_equal_the_plain_ones_at_the_extremes(name, dtype):
    from chainrule.activations import get_activation
    from chainrule.kernels import kernel_for

    z = [-np.inf, -1e4, -745.0, -88.7, -1.0, -0.0, 0.0, 1e-30, 1.13, 40.0, 1e4, np.inf, np.nan]
    Z = np.stack([z, np.negative(z)]).astype(dtype)  # (2, 13), as a batch
    A = Z.copy()
    with np.errstate(all="ignore"):  # float32 overflows on the way, in both
        kernel_for(get_activation(name), Z).forward(
            A, A, np.empty(Z.shape, bool), np.empty_like(Z), None
        )
        expected = get_activation(name).value(Z)
    np.testing.assert_array_equal(A, expected)  # NaN where the plain path has NaN


# -- the guard's bound on the sum of squares of the gradients ---------------------------------
# A wide network, so that the Workspace reads the bound rather than the gradients.
WIDE = [1000, 128, 64, 3]


@pytest.mark.parametrize("scale", [1.0, 0.01])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("acts", "loss"), CASES)
def test_the_squares_bound_is_above_the_sum_of_squares(acts, loss, reduction, dtype, scale):
    net = Network.from_sizes(WIDE, acts, random_state=5, dtype=dtype)
    rng = np.random.default_rng(6)
    X = (3 * rng.standard_normal((13, WIDE[0]))).astype(dtype)
    _, y = _data(WIDE[-1], loss, dtype, n=13)
    ws = Workspace(net, loss, batch_size=16)  # 13 rows: the buffers' first rows
    assert ws.bounds
    _, grads = ws.loss_and_grads(X, y, reduction, scale=scale)
    exact = sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values())
    bound = ws.squares_bound(X)
    assert exact <= bound < np.inf


def test_a_workspace_bounds_only_where_that_reads_far_less_than_the_gradients():
    acts = ["relu", "relu", "softmax"]
    wide = Network.from_sizes([784, 2048, 2048, 10], acts, random_state=0, dtype=np.float32)
    assert Workspace(wide, "cross_entropy", batch_size=128).bounds
    # The reference network: the bound would read 0.85 as much as the gradients.
    reference = Network.from_sizes([784, 256, 128, 10], acts, random_state=0)
    assert not Workspace(reference, "cross_entropy", batch_size=128).bounds
    # 4 rows of 20 and 8 values against 160 weights: the calls' fixed cost decides.
    small = Network.from_sizes([20, 8, 3], ["relu", "softmax"], random_state=0)
    assert not Workspace(small, "cross_entropy", batch_size=4).bounds
    seed = seed_example()
    assert not Workspace(seed.network, seed.loss, batch_size=1).bounds


@pytest.mark.parametrize("bad", [np.nan, np.inf, 3e38])
def test_the_squares_bound_is_not_finite_when_an_input_or_a_delta_is_not(bad):
    net = Network.from_sizes(WIDE, ["relu", "tanh", "softmax"], random_state=7, dtype=np.float32)
    X, y = _data(WIDE[-1], "cross_entropy", np.float32, n=8)
    X = np.repeat(X, WIDE[0] // X.shape[1], axis=1)
    X[3, 5] = bad  # 3e38: finite, but its square (and the products) overflow float32
    ws = Workspace(net, "cross_entropy", batch_size=8)
    with np.errstate(over="ignore", invalid="ignore"):
        ws.loss_and_grads(X, y)
        assert not np.isfinite(ws.squares_bound(X))


def test_the_guard_reads_the_gradients_when_the_bound_is_too_loose():
    from chainrule.training.callbacks import History
    from chainrule.training.guard import Guard

    net = Network.from_sizes([2, 2, 1], "sigmoid", random_state=0)
    guard = Guard(net, "raise", History())
    small, bad = {"W1": np.full((2, 2), 0.5)}, {"W1": np.array([[np.nan, 0.0]])}
    assert guard.fine(0.1, small, 0.5, bound=np.inf)  # too loose: the gradients decide
    assert guard.fine(0.1, small, 0.5, bound=np.nan)
    assert not guard.fine(0.1, bad, 0.5, bound=np.nan)
    assert not guard.fine(np.nan, small, 0.5, bound=1.0)  # the loss is checked first


@pytest.mark.parametrize("optimizer", [SGD(lr=0.1), Adam(lr=0.1)])
def test_a_bounded_bad_batch_is_named_and_leaves_the_last_finite_weights(optimizer):
    # As the test above, with a network wide enough for the bound (and Adam's usual way).
    from chainrule import DivergenceError

    X, y = _data(3, "cross_entropy", np.float32, n=12)
    X = np.repeat(X, WIDE[0] // X.shape[1], axis=1)
    X[5] = 3e38

    def network() -> Network:
        acts = ["relu", "relu", "softmax"]
        return Network.from_sizes(WIDE, acts, random_state=0, dtype=np.float32)

    net = network()
    assert fit_step.batch_gradients(
        net, get_loss("ce"), batch=4, reduction="mean", rng=np.random.default_rng(0)
    ).bound
    with pytest.raises(DivergenceError, match="epoch 0, batch 1"):
        fit(net, X, y, loss="ce", optimizer=optimizer, batch_size=4, shuffle=False)
    expected = network()
    fit(
        expected,
        X[:4],
        y[:4],
        loss="ce",
        optimizer=optimizer,
        epochs=1,
        batch_size=4,
        shuffle=False,
    )
    for name, value in net.params.items():
        np.testing.assert_array_equal(value, expected.params[name], err_msg=name)
