import chainrule


def test_seed_step_lowers_the_error():
    seed = chainrule.seed_example()
    before = chainrule.train_step(seed.network, seed.x, seed.y, lr=seed.lr)
    assert seed.network.loss(seed.x, seed.y) < before
