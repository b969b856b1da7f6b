"""Learning-rate schedules: formulas restated, and torch.optim.lr_scheduler as reference."""

import math

import numpy as np
import pytest

from chainrule import Network, fit
from chainrule.schedules import (
    Constant,
    Cosine,
    ExponentialDecay,
    InvScaling,
    ReduceOnPlateau,
    StepDecay,
    get_schedule,
)


def _rates(schedule, lr0, epochs, monitors=None):
    state = schedule.init(lr0)
    rates = []
    for epoch in range(epochs):
        monitor = None if monitors is None or epoch == 0 else monitors[epoch - 1]
        lr, state = schedule.step(epoch, state, monitor)
        rates.append(lr)
    return rates


def test_constant():
    assert _rates(Constant(), 0.3, 4) == [0.3] * 4


def test_step_decay_formula():
    # lr0 * gamma ** floor(e / k), written out by hand for k = 3, gamma = 0.5
    assert _rates(StepDecay(step_size=3, gamma=0.5), 1.0, 7) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_exponential_formula():
    assert _rates(ExponentialDecay(gamma=0.9), 2.0, 4) == pytest.approx([2, 1.8, 1.62, 1.458])


def test_cosine_formula():
    rates = _rates(Cosine(T=4, lr_min=0.1), 1.1, 6)
    # halfway (e = 2) the cosine term is 0: lr = lr_min + (lr0 - lr_min) / 2
    assert rates[0] == pytest.approx(1.1)
    assert rates[2] == pytest.approx(0.6)
    assert rates[4] == rates[5] == pytest.approx(0.1)
    assert rates[1] == pytest.approx(0.1 + 1.0 * (1 + math.cos(math.pi / 4)) / 2)


def _torch_rates(make, epochs, monitors=None):
    torch = pytest.importorskip("torch", reason="torch's schedulers are the reference")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make(torch.optim.lr_scheduler, opt)
    rates = []
    for epoch in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        if monitors is None:
            scheduler.step()
        else:
            scheduler.step(monitors[epoch])
    return rates


def test_same_rates_as_torch():
    cases = [
        (StepDecay(step_size=2, gamma=0.3), lambda s, o: s.StepLR(o, step_size=2, gamma=0.3)),
        (ExponentialDecay(gamma=0.7), lambda s, o: s.ExponentialLR(o, gamma=0.7)),
        (Cosine(T=5, lr_min=0.05), lambda s, o: s.CosineAnnealingLR(o, T_max=5, eta_min=0.05)),
    ]
    for ours, theirs in cases:
        assert _rates(ours, 1.0, 6) == pytest.approx(_torch_rates(theirs, 6), rel=1e-9)


def test_reduce_on_plateau_as_torch():
    monitors = [1.0, 0.9, 0.9, 0.95, 0.91, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7]
    ours = _rates(ReduceOnPlateau(factor=0.5, patience=2), 1.0, len(monitors), monitors)

    def make(s, o):
        return s.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=1e-4)

    assert ours == pytest.approx(_torch_rates(make, len(monitors), monitors))
    assert min(ours) < 1.0  # the sequence does trigger reductions


def test_reduce_on_plateau_restated():
    # Patience 1: two epochs without improvement halve the rate.
    schedule = ReduceOnPlateau(factor=0.5, patience=1, threshold=0.0)
    assert _rates(schedule, 1.0, 5, [3.0, 3.0, 3.0, 2.0]) == [1.0, 1.0, 1.0, 0.5, 0.5]


def test_invscaling_as_sklearns_sgd_optimizer():
    # scikit-learn's SGDOptimizer: learning_rate_init at first, then after each epoch
    # iteration_ends(t_) with t_ the samples seen, here after a warm start from t_ = 30.
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    theirs = SGDOptimizer([np.zeros(1)], 0.2, "invscaling", power_t=0.4)
    schedule, expected = (
        get_schedule("invscaling", power_t=0.4, samples_per_epoch=12, samples_seen=30),
        [],
    )
    for epoch in range(5):
        expected.append(theirs.learning_rate)
        theirs.iteration_ends(30 + 12 * (epoch + 1))
    assert [schedule.value(e, 0.2) for e in range(5)] == expected


def test_fit_records_the_scheduled_rate():
    net = Network.from_sizes([1, 1], "identity", random_state=0)
    X = np.linspace(-1, 1, 8)[:, None]
    history = fit(
        net, X, X, loss="mse", optimizer="sgd", schedule=StepDecay(2, 0.5), epochs=5, batch_size=8
    )
    assert history["lr"] == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: StepDecay(step_size=0), "step_size"),
        (lambda: ExponentialDecay(gamma=1.5), "gamma"),
        (lambda: Cosine(T=0), "T"),
        (lambda: ReduceOnPlateau(factor=1.0), "factor"),
        (lambda: get_schedule("linear"), "unknown schedule"),
        (lambda: InvScaling(power_t=0), "power_t"),
        (lambda: InvScaling(samples_per_epoch=0), "samples_per_epoch"),
        (lambda: InvScaling(samples_seen=-1), "samples_seen"),
    ],
)
def test_bad_settings_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()
