"""The first honest evidence that the method works: a toy task trained in seconds on a CPU."""

import pytest

from tdd.toy import ToyConfig, ToyTask, toy_accuracy, toy_sampler, train_toy


@pytest.fixture(scope="module")
def task():
    return ToyTask()  # K = 200 classes


@pytest.mark.slow
def test_tdd_learns_and_eps_regression_is_clearly_worse(task):
    model, diffusion, losses = train_toy(task, ToyConfig(objective="ce"))
    assert losses[-1] < losses[0] / 5
    tdd_acc = toy_accuracy(model, toy_sampler(diffusion, "ce", steps=20), task)
    assert tdd_acc >= 0.95, tdd_acc

    model, diffusion, _ = train_toy(task, ToyConfig(objective="eps_mse"))
    mse_acc = toy_accuracy(model, toy_sampler(diffusion, "eps_mse", steps=20), task)
    assert mse_acc < tdd_acc - 0.3, (tdd_acc, mse_acc)  # the ordering of Tab. 2
