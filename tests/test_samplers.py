import pytest
import torch
from torch import nn

from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.models import MLPDenoiser, MLPDenoiserConfig
from tdd.models.layers import NullCondition
from tdd.samplers import Guidance, GuidedDenoiser, MDDSampler, TDDSampler

K, D, B, N = 11, 6, 3, 5


@pytest.fixture
def denoiser():
    torch.manual_seed(0)
    return MLPDenoiser(MLPDenoiserConfig(num_classes=K, cond_dim=D, width=32, depth=2)).eval()


@pytest.fixture
def cond():
    return torch.randn(B, D, generator=torch.Generator().manual_seed(1))


class TokenDenoiser(nn.Module):
    """A tiny id-input network for the masked sampler: embeds ids, adds the condition."""

    def __init__(self, vocab=K, dim=D):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(vocab, dim)
        self.null = NullCondition(dim)
        self.out = nn.Linear(dim, vocab)

    def forward(self, x, t, cond, drop):
        return self.out(torch.tanh(self.embed(x) + self.null(cond, drop)[:, None]))


def _run(sampler, model, cond, seed, **kw):
    return list(sampler.iterate(model, cond, batch_size=B, generator=torch.Generator().manual_seed(seed), **kw))


@pytest.mark.parametrize("steps", [1, 5, 20])
def test_tdd_trajectory_length_and_timesteps(denoiser, cond, steps):
    recs = _run(TDDSampler(TweedieDiffusion(K), steps=steps), denoiser, cond, 0)
    assert len(recs) == steps
    assert [r.step for r in recs] == list(range(steps))
    assert recs[0].t == 1000 and all(a.t > b.t for a, b in zip(recs, recs[1:]))
    assert recs[-1].is_last and recs[-1].tokens.shape == (B,)
    assert bool(recs[0].changed.all())


def test_same_seed_same_trajectory_other_seed_other_noise(denoiser, cond):
    sampler = TDDSampler(TweedieDiffusion(K), steps=10, to_one="multinomial")
    a, b, c = (_run(sampler, denoiser, cond, s, seq_len=N) for s in (7, 7, 8))
    for ra, rb in zip(a, b):
        assert torch.equal(ra.tokens, rb.tokens) and torch.equal(ra.probs, rb.probs)
    assert not torch.allclose(a[0].probs, c[0].probs)  # a different y_T


def test_guidance_one_is_the_conditional_model_alone(denoiser, cond):
    calls = []

    def spy(x, t, c, drop):
        calls.append(drop)
        return denoiser(x, t, c, drop)

    d = TweedieDiffusion(K)
    guided = _run(TDDSampler(d, steps=6, guidance=Guidance(1.0)), spy, cond, 3)
    assert calls == [None] * 6  # one conditional forward per step, no unconditional half
    alone = _run(TDDSampler(d, steps=6), lambda x, t, c, drop: denoiser(x, t, c, None), cond, 3)
    for g, a in zip(guided, alone):
        assert torch.equal(g.tokens, a.tokens) and torch.equal(g.probs, a.probs)


def test_guided_denoiser_is_one_batched_call_of_eq1(denoiser, cond):
    y, t = torch.randn(B, K), torch.full((B,), 500)
    sizes = []

    def spy(x, t_, c, drop):
        sizes.append((x.shape[0], drop.tolist()))
        return denoiser(x, t_, c, drop)

    out = GuidedDenoiser(spy, cond, B)(y, t, 3.0)
    assert sizes == [(2 * B, [False] * B + [True] * B)]
    c_ = denoiser(y, t, cond, None)
    u_ = denoiser(y, t, cond, torch.ones(B, dtype=torch.bool))
    assert torch.allclose(out, u_ + 3.0 * (c_ - u_), atol=1e-5)


def test_guidance_schedules():
    assert Guidance(4.0).scale_at(0, 10) == 4.0
    lin = Guidance(4.0, "linear")
    assert lin.scale_at(0, 10) == 1.0 and lin.scale_at(9, 10) == 4.0 and lin.scale_at(1, 1) == 4.0
    with pytest.raises(ValueError, match="guidance schedule"):
        Guidance(2.0, "cosine")


def test_tdd_clamped_positions_never_change(denoiser, cond):
    given = torch.randint(K, (B, N), generator=torch.Generator().manual_seed(2))
    where = torch.zeros(B, N, dtype=torch.bool)
    where[:, [0, 3]] = True
    sampler = TDDSampler(TweedieDiffusion(K), steps=8, to_one="multinomial")
    recs = _run(sampler, denoiser, cond, 0, seq_len=N, clamp_tokens=given, clamp_mask=where)
    for r in recs:
        assert torch.equal(r.tokens[where], given[where])
    free = _run(sampler, denoiser, cond, 0, seq_len=N)
    assert any(not torch.equal(r.tokens[where], given[where]) for r in free)  # the clamp did something


def test_last_step_is_argmax_even_when_sampling(denoiser, cond):
    last = TDDSampler(TweedieDiffusion(K), steps=4, to_one="multinomial", temperature=5.0).sample(
        denoiser, cond, batch_size=B, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(last.tokens, last.probs.argmax(-1))


def test_records_keep_topk_only_for_large_vocabularies(cond):
    big = 300
    model = MLPDenoiser(MLPDenoiserConfig(num_classes=big, cond_dim=D, width=16, depth=1)).eval()
    rec = TDDSampler(TweedieDiffusion(big), steps=2, record_topk=5).sample(model, cond, batch_size=B, seq_len=N)
    assert rec.probs is None and rec.top_probs.shape == (B, N, 5) and rec.top_ids.shape == (B, N, 5)
    assert bool((rec.top_probs[..., :-1] >= rec.top_probs[..., 1:]).all())
    assert rec.entropy.shape == (B, N) and bool((rec.entropy >= 0).all())


def test_epsilon_parameterization_decodes_with_tweedie(cond):
    d = TweedieDiffusion(K)
    labels = torch.tensor([1, 4, 9])

    def oracle(y, t, c, drop):  # the exact noise for the target labels: decoding must return them
        ab = d.schedule.alpha_bar(t)[:, None]
        return (y - ab.sqrt() * d.one_hot(labels)) / (1 - ab).sqrt()

    rec = TDDSampler(d, steps=5, parameterization="epsilon").sample(oracle, cond, batch_size=B)
    assert torch.equal(rec.tokens, labels)


@pytest.mark.parametrize(
    "kwargs", [dict(steps=0), dict(to_one="top_p"), dict(temperature=0.0), dict(parameterization="v")]
)
def test_sampler_argument_errors(kwargs):
    with pytest.raises(ValueError):
        TDDSampler(TweedieDiffusion(K), **kwargs)


def test_clamp_shape_error(denoiser, cond):
    with pytest.raises(ValueError, match="must have shape"):
        TDDSampler(TweedieDiffusion(K), steps=2).sample(
            denoiser, cond, batch_size=B, seq_len=N, clamp_tokens=torch.zeros(B, 2), clamp_mask=torch.ones(B, 2)
        )


MASK_ID = K - 1


@pytest.mark.parametrize("omega", [0.0, 0.1, 0.9])
@pytest.mark.parametrize("remasking", ["low_confidence", "random"])
def test_mdd_sampler_leaves_no_mask(cond, omega, remasking):
    sampler = MDDSampler(MaskedDiffusion(K, MASK_ID), steps=10, omega=omega, remasking=remasking, window=(0.0, 0.9))
    recs = _run(sampler, TokenDenoiser(), cond, 0, seq_len=12)
    assert len(recs) == 10
    assert bool(recs[0].is_masked.any())
    assert not bool(recs[-1].is_masked.any()) and not bool((recs[-1].tokens == MASK_ID).any())


def test_mdd_omega_zero_never_remasks_and_omega_remasks_only_in_window(cond):
    model = TokenDenoiser()

    def remasked_steps(sampler):
        recs, prev, steps = _run(sampler, model, cond, 0, seq_len=16), None, []
        for r in recs:
            if prev is not None and bool((~prev & r.is_masked).any()):  # decoded → masked again
                steps.append(r.step)
            prev = r.is_masked
        return steps

    process = MaskedDiffusion(K, MASK_ID)
    assert remasked_steps(MDDSampler(process, steps=20, omega=0.0)) == []
    steps = remasked_steps(MDDSampler(process, steps=20, omega=0.5, window=(0.3, 0.55)))
    assert steps and all(0.3 <= s / 20 <= 0.55 for s in steps)
    active = [i for i in range(20) if MDDSampler(process, steps=20, omega=0.5, window=(0.3, 0.55)).remask_active(i)]
    assert active == [6, 7, 8, 9, 10, 11]  # the window's right end (i/S = 0.55) included


def test_mdd_omega_steps_makes_the_total_remasking_independent_of_the_step_count():
    """ω of a 4096-step sampler: a decoded token's chance to survive the window is the same at any S."""
    process = MaskedDiffusion(K, MASK_ID)
    survive = []
    for steps in (20, 256, 4096):
        sampler = MDDSampler(process, steps=steps, omega=0.01, window=(0.3, 0.55), omega_steps=4096)
        active = sum(sampler.remask_active(i) for i in range(steps))
        survive.append((1 - sampler.step_omega) ** active)
    assert survive[0] == pytest.approx(survive[2], rel=1e-6) and survive[1] == pytest.approx(survive[2], rel=1e-6)
    assert MDDSampler(process, steps=4096, omega=0.01, omega_steps=4096).step_omega == pytest.approx(0.01)
    assert MDDSampler(process, steps=20, omega=0.01).step_omega == 0.01  # per step, as given
    with pytest.raises(ValueError, match="omega_steps"):
        MDDSampler(process, steps=20, omega=0.01, omega_steps=0)


def test_mdd_clamped_positions_never_change(cond):
    given = torch.randint(MASK_ID, (B, 8), generator=torch.Generator().manual_seed(2))
    where = torch.rand(B, 8, generator=torch.Generator().manual_seed(3)) < 0.4
    sampler = MDDSampler(MaskedDiffusion(K, MASK_ID), steps=6, omega=0.9, window=(0.0, 1.0))
    recs = _run(sampler, TokenDenoiser(), cond, 1, seq_len=8, clamp_tokens=given, clamp_mask=where)
    for r in recs:
        assert torch.equal(r.tokens[where], given[where])


def test_mdd_same_seed_same_trajectory(cond):
    sampler = MDDSampler(MaskedDiffusion(K, MASK_ID), steps=5, to_one="multinomial", remasking="random", omega=0.3)
    a, b = (_run(sampler, TokenDenoiser(), cond, 4, seq_len=7) for _ in range(2))
    assert all(torch.equal(x.tokens, y.tokens) for x, y in zip(a, b))


def test_masked_process(gen):
    p = MaskedDiffusion(20, 19)
    x0 = torch.randint(19, (4000, 10), generator=gen)
    t = torch.full((4000,), 0.3)
    keep = torch.ones(4000, 10, dtype=torch.bool)
    keep[:, -2:] = False
    x_t, m = p.q_sample(x0, t, maskable=keep, generator=gen)
    assert torch.equal(x_t[m], torch.full_like(x_t[m], 19)) and torch.equal(x_t[~m], x0[~m])
    assert not bool(m[:, -2:].any())
    assert m[:, :-2].float().mean().item() == pytest.approx(0.3, abs=0.01)
    ratios = p.sample_ratio(1000, generator=gen)
    assert ratios.min() >= p.min_ratio and ratios.max() <= 1
    with pytest.raises(ValueError, match="mask_id"):
        MaskedDiffusion(5, 5)


def test_records_carry_the_noisy_state_the_network_saw_with_the_forward_process_law():
    """Each TDD record keeps y_t as the network saw it: the prior N(0, I) at the first step, then the previous
    step's tokens re-noised, √ᾱ_t λ·onehot + √(1 − ᾱ_t) ε (mean and variance checked at every step)."""
    K, N, B, lam = 37, 16, 64, 1.5
    seen = []

    def denoiser(x, t, cond, drop_cond):
        seen.append(x.clone())
        g = torch.Generator().manual_seed(int(t[0]))
        return torch.randn(x.shape, generator=g) * 3  # confident, changing choices

    diffusion = TweedieDiffusion(K, onehot_scale=lam)
    sampler = TDDSampler(diffusion, steps=10, to_one="multinomial")
    g = torch.Generator().manual_seed(0)
    records = list(sampler.iterate(denoiser, None, batch_size=B, seq_len=N, generator=g))
    for i, r in enumerate(records):
        assert torch.equal(r.noisy, seen[i]) and r.noisy.shape == (B, N, K)
        assert torch.equal(r.noisy_top_values, seen[i].topk(10, dim=-1).values)  # DEFAULT_RECORD_TOPK
        alpha_bar = float(diffusion.schedule.alphas_cumprod[int(r.t)])
        assert r.alpha_bar == pytest.approx(alpha_bar) and r.signal_scale == pytest.approx(lam * alpha_bar**0.5)
        assert r.snr == pytest.approx(lam**2 * alpha_bar / (1 - alpha_bar))
        if i == 0:
            std = 1.0  # the prior: mean 0, variance 1
            noise = r.noisy
        else:
            noise = r.noisy - r.signal_scale * torch.nn.functional.one_hot(records[i - 1].tokens, K)
            std = (1 - alpha_bar) ** 0.5
        n = noise.numel()  # 37,888 draws: the mean is within 5 standard errors, the std within 2 %
        assert abs(float(noise.mean())) < 5 * std / n**0.5, (i, float(noise.mean()))
        assert float(noise.std()) == pytest.approx(std, rel=0.02), i


def test_records_keep_the_noisy_state_top_k_only_for_large_vocabularies(cond):
    model = MLPDenoiser(MLPDenoiserConfig(num_classes=300, cond_dim=cond.shape[1], width=16, depth=1))
    r = TDDSampler(TweedieDiffusion(300), steps=2).sample(model, cond, batch_size=len(cond))
    assert r.noisy is None and r.noisy_top_ids.shape == (len(cond), 10) and r.signal_scale == pytest.approx(1, abs=1e-3)
