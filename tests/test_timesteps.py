"""Where training and sampling spend their timesteps (tdd.timesteps)."""

import pytest
import torch

from tdd.schedule import make_schedule
from tdd.timesteps import (
    AdaptiveTimesteps,
    AlphaBarTimesteps,
    UniformTimesteps,
    explicit_spacing,
    informative_spacing,
    make_timesteps,
    stratified_draw,
)

SCHEDULE = make_schedule("linear")
T = SCHEDULE.num_timesteps


def test_alpha_bar_sampler_follows_alpha_bar_and_keeps_the_objective():
    sampler = AlphaBarTimesteps(SCHEDULE)
    t = sampler.sample(200_000, generator=torch.Generator().manual_seed(0))
    assert t.min() >= 1 and t.max() <= T and sampler.weighting == "none"
    hist = torch.bincount(t, minlength=T + 1)[1:].double() / len(t)  # (T,)
    expected = SCHEDULE.alphas_cumprod[1:] / SCHEDULE.alphas_cumprod[1:].sum()
    for lo in range(0, T, 100):  # the histogram in bins of 100 timesteps
        assert hist[lo : lo + 100].sum() == pytest.approx(float(expected[lo : lo + 100].sum()), abs=0.005)
    # E_U[ᾱ_t f(t)] = (Σᾱ / T) · E_p[f(t)] for any per-timestep loss f
    f = torch.linspace(3.0, 0.1, T, dtype=torch.float64)
    uniform = (SCHEDULE.alphas_cumprod[1:] * f).mean()
    assert float((expected * f).sum() * SCHEDULE.alphas_cumprod[1:].sum() / T) == pytest.approx(float(uniform))
    assert UniformTimesteps(SCHEDULE).weighting == "alpha_bar"


def test_adaptive_sampler_concentrates_where_the_ce_changes():
    sampler = AdaptiveTimesteps(SCHEDULE, bins=20, floor=0.1)
    assert torch.allclose(sampler.probs(), torch.full((T,), 1 / T))  # uniform until every bin is seen
    g = torch.Generator().manual_seed(0)
    for _ in range(30):  # CE flat at 0 below t = 200, a ramp over 200..400, flat at ln 37 above
        t = torch.randint(1, T + 1, (512,), generator=g)
        ce = torch.clamp((t.float() - 200) / 200, 0, 1) * 3.6
        sampler.update(t, ce)
    p = sampler.probs()
    assert p.sum() == pytest.approx(1.0, abs=1e-5) and (p > 0).all()  # the floor keeps every t possible
    ramp = p[150:450].sum()  # the ramp, give or take a bin of 50 (bin means lag the curve)
    assert ramp > 0.85 and p[600:].sum() < 0.05  # 0.9 · (the ramp's mass) + 0.1 · 0.3 from the floor
    state = sampler.state_dict()
    again = AdaptiveTimesteps(SCHEDULE, bins=20, floor=0.1)
    again.load_state_dict(state)
    assert torch.equal(again.probs(), p)
    with pytest.raises(ValueError, match="must be one of"):
        make_timesteps("log_normal", SCHEDULE)


def _noisy_ramp_updates(sampler, seed: int, steps: int = 300, n: int = 64, spikes: float = 0.1):
    """Updates as training gives them: a few items per bin per step, CE a ramp over t ∈ [100, 400] then flat at
    0.1 nats, and a ``spikes`` share of items (condition-dropped ones) at 2 nats wherever they land."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        t = torch.randint(1, T + 1, (n,), generator=g)
        dropped = torch.rand(n, generator=g) < spikes
        ce = torch.clamp((t.float() - 100) / 300, 0, 1) * 0.1 + 0.02 * torch.randn(n, generator=g).abs()
        sampler.update(t, torch.where(dropped, torch.full_like(ce, 2.0), ce), conditioned=~dropped)


def test_adaptive_draw_from_the_conditioned_items_stays_on_the_ramp():
    ramp = slice(100, 400)  # where the conditioned CE changes
    share, top = {}, {}
    for ce_of in ("all", "conditioned"):
        for seed in range(3):
            s = AdaptiveTimesteps(SCHEDULE, bins=50, floor=0.1, ce_of=ce_of)
            _noisy_ramp_updates(s, seed=seed)
            p = s.probs()
            assert p.sum() == pytest.approx(1.0, abs=1e-5) and (p > 0).all()
            share[ce_of, seed], top[ce_of, seed] = float(p[ramp].sum()), float(p.view(50, 20).sum(1).max())
    for seed in range(3):
        # every item counted: the dropped items' spikes, not the ramp, get the draws; one bin takes a third or more
        assert share["all", seed] < 0.5 and top["all", seed] > 0.3
        # the conditioned items only: the ramp gets ~0.9 · 1 + 0.1 · 0.3, less the lag of the bin means
        assert share["conditioned", seed] > 0.7 and top["conditioned", seed] < 0.15
    with pytest.raises(ValueError, match="must be one of"):
        AdaptiveTimesteps(SCHEDULE, ce_of="some")


def test_adaptive_ce_of_conditioned_ignores_dropped_items():
    t, ce = torch.tensor([10, 10, 900, 900]), torch.tensor([0.1, 5.0, 1.0, 5.0])
    saw = torch.tensor([True, False, True, False])
    s = AdaptiveTimesteps(SCHEDULE, bins=4, ce_of="conditioned")
    s.update(t, ce, conditioned=saw)
    assert s.ce[0] == pytest.approx(0.1) and s.ce[3] == pytest.approx(1.0) and s.ce[1:3].isnan().all()
    s.update(t, torch.full((4,), 0.3))  # no mask: every item saw its condition
    assert s.ce[0] == pytest.approx(0.95 * 0.1 + 0.05 * 0.3)
    every = AdaptiveTimesteps(SCHEDULE, bins=4)  # "all", the first version: the dropped items count
    every.update(t, ce, conditioned=saw)
    assert every.ce[0] == pytest.approx(2.55) and every.ce[3] == pytest.approx(3.0)


def test_informative_spacing_is_monotone_starts_at_T_and_packs_the_steep_band():
    t = torch.arange(1, T + 1, dtype=torch.float64)
    ce = 3.6 / (1 + torch.exp(-(t - 300) / 40))  # a sigmoid: the informative band is around t = 300
    for steps in (1, 2, 5, 10, 20, 50):
        ts = informative_spacing(ce, steps)
        assert len(ts) == steps and ts[0] == T and all(a > b >= 1 for a, b in zip(ts, ts[1:]))
    ts = informative_spacing(ce, 10)
    assert sum(150 <= x <= 450 for x in ts) >= 7  # the uniform respacing puts 3 of 10 there
    assert informative_spacing(torch.zeros(T), 4) == SCHEDULE.respace(4).tolist()  # flat: uniform
    assert explicit_spacing([1000, 300, 200, 120, 50], T) == [1000, 300, 200, 120, 50]
    for bad in ([1000, 1000, 5], [5, 10], [1001, 3], []):
        with pytest.raises(ValueError, match="sampling timesteps"):
            explicit_spacing(bad, T)


def test_tdd_loss_draws_from_the_sampler_and_feeds_it():
    from tdd.diffusion import TweedieDiffusion
    from tdd.models import MLPDenoiser, MLPDenoiserConfig
    from tdd.training import tdd_loss

    diffusion = TweedieDiffusion(7)
    model = MLPDenoiser(MLPDenoiserConfig(num_classes=7, cond_dim=8, width=16, depth=1))
    cond, labels = torch.randn(32, 8), torch.randint(7, (32,))
    paper = tdd_loss(model, diffusion, cond, labels, generator=torch.Generator().manual_seed(0))
    again = tdd_loss(model, diffusion, cond, labels, generator=torch.Generator().manual_seed(0), timesteps=None)
    assert torch.equal(paper, again)  # no sampler: the paper's draws, bit for bit
    adaptive = AdaptiveTimesteps(diffusion.schedule, bins=4)
    loss = tdd_loss(model, diffusion, cond, labels, kfold=8, generator=torch.Generator().manual_seed(0),
                    timesteps=adaptive)  # fmt: skip
    loss.backward()
    assert torch.isfinite(loss) and (~adaptive.ce.isnan()).sum() >= 3  # 256 draws reached (nearly) every bin


def test_stratified_draw_keeps_the_distribution_and_covers_it_evenly():
    g = torch.Generator().manual_seed(0)
    probs = SCHEDULE.alphas_cumprod[1:] / SCHEDULE.alphas_cumprod[1:].sum()
    draws = torch.cat([stratified_draw(probs, 64, generator=g) for _ in range(3000)])  # (192,000,)
    hist = torch.bincount(draws, minlength=T).double() / len(draws)
    for lo in range(0, T, 100):  # each draw keeps the distribution: the histogram in bins of 100 timesteps
        assert hist[lo : lo + 100].sum() == pytest.approx(float(probs[lo : lo + 100].sum()), abs=0.005)
    # one batch of n covers the distribution evenly: for every s, #{t ≤ s} is n·F(s) give or take one
    # (independent draws of 64 stray by 3 or more, about 7 typically)
    for sampler in (AlphaBarTimesteps(SCHEDULE, stratified=True), AdaptiveTimesteps(SCHEDULE, stratified=True)):
        t = sampler.sample(64, generator=g)
        counts = torch.cumsum(torch.bincount(t - 1, minlength=T), 0).double()  # #{t ≤ s}, s = 1..T
        assert (counts - 64 * torch.cumsum(sampler.probs().double(), 0)).abs().max() <= 1 + 1e-6
    uniform = UniformTimesteps(SCHEDULE, stratified=True).sample(1000, generator=g)
    assert sorted(uniform.tolist()) == list(range(1, T + 1))  # n = T: every timestep exactly once
    assert not torch.equal(uniform, torch.arange(1, T + 1))  # in random order (the K-fold copies of an image differ)
    # the independent draw is unchanged by the new switch
    a = AlphaBarTimesteps(SCHEDULE).sample(32, generator=torch.Generator().manual_seed(1))
    b = torch.multinomial(probs.float(), 32, replacement=True, generator=torch.Generator().manual_seed(1)) + 1
    assert torch.equal(a, b)
