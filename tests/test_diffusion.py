import pytest
import torch

from tdd.diffusion import TweedieDiffusion


def test_q_sample_matches_forward_marginal(gen):
    """Empirical mean and variance of y_t equal √ᾱ_t·y_0 and 1 − ᾱ_t (eq. §3.2)."""
    d = TweedieDiffusion(5)
    n = 200_000
    labels = torch.full((n,), 3)
    for t_val in (1, 250, 600, 1000):
        t = torch.full((n,), t_val)
        y_t = d.q_sample(d.one_hot(labels), t, generator=gen)  # (n, K)
        ab = d.schedule.alphas_cumprod[t_val].item()
        expected_mean = torch.zeros(5)
        expected_mean[3] = ab**0.5
        assert torch.allclose(y_t.mean(0), expected_mean, atol=0.01)
        assert torch.allclose(y_t.var(0), torch.full((5,), 1 - ab), atol=0.01)


def test_t0_returns_clean_one_hot_and_prior_is_standard_normal(gen):
    d = TweedieDiffusion(7, onehot_scale=0.5)
    labels = torch.randint(7, (4, 3), generator=gen)
    y0 = d.one_hot(labels)
    assert y0.shape == (4, 3, 7) and torch.allclose(y0.sum(-1), torch.full((4, 3), 0.5))  # λ-hot
    assert torch.equal(d.q_sample(y0, torch.zeros(4, dtype=torch.long), generator=gen), y0)
    prior = d.prior((50_000,), generator=gen)
    assert prior.shape == (50_000, 7)
    assert prior.mean().abs() < 0.01 and (prior.var() - 1).abs() < 0.01


def test_sequences_use_one_timestep_per_sample(gen):
    d = TweedieDiffusion(4)
    y0 = d.one_hot(torch.zeros(2, 3, dtype=torch.long))
    t = torch.tensor([0, 1000])
    y_t = d.q_sample(y0, t, generator=gen)
    assert torch.equal(y_t[0], y0[0])
    assert not torch.allclose(y_t[1], y0[1], atol=0.1)


def test_tweedie_inverts_forward_with_true_noise(gen):
    d = TweedieDiffusion(10)
    labels = torch.randint(10, (8,), generator=gen)
    y_t, t, noise = d.training_pair(labels, generator=gen)
    assert torch.allclose(d.predict_y0_from_eps(y_t, t, noise), d.one_hot(labels), atol=1e-3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        TweedieDiffusion(1)
    with pytest.raises(ValueError, match="onehot_scale"):
        TweedieDiffusion(3, onehot_scale=0)


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_renoise_is_q_sample_of_the_one_hot_with_the_same_draw(scale):
    d = TweedieDiffusion(7, onehot_scale=scale)
    tokens = torch.randint(7, (3, 5), generator=torch.Generator().manual_seed(0))
    for t in (1, 431, 1000):
        fast = d.renoise(tokens, t, generator=torch.Generator().manual_seed(t))
        slow = d.q_sample(d.one_hot(tokens), torch.full((3,), t), generator=torch.Generator().manual_seed(t))
        torch.testing.assert_close(fast, slow, rtol=0, atol=1e-6)


def test_a_timestep_per_position_is_each_position_at_its_own_level(gen):
    d = TweedieDiffusion(num_classes=7, onehot_scale=2.0)
    labels = torch.randint(7, (3, 5), generator=gen)
    t = torch.tensor([[0, 10, 500, 999, 1000], [1, 1, 1, 1, 1], [1000, 0, 0, 0, 300]])
    noise = torch.randn(3, 5, 7, generator=gen)
    y = d.q_sample(d.one_hot(labels), t, noise)
    for b in range(3):
        for n in range(5):  # position by position, as a batch of one at its own t
            one = d.q_sample(d.one_hot(labels[b, n])[None], t[b, n][None], noise[b, n][None])[0]
            assert torch.allclose(y[b, n], one)
            post = d.posterior(y[b, n][None], t[b, n][None])[0]
            assert torch.allclose(d.posterior(y, t)[b, n], post)
    assert torch.equal(y[t == 0], d.one_hot(labels)[t == 0])
