import pytest

from tdd.schedule import CosineSchedule, LinearSchedule, make_schedule


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_alpha_bar_strictly_decreasing_in_unit_interval(name):
    s = make_schedule(name, 1000)
    ab = s.alphas_cumprod
    assert ab.shape == (1001,)
    assert ab[0] == 1.0  # ᾱ_0 = 1: t = 0 is the clean one-hot
    assert bool((ab > 0).all()) and bool((ab <= 1).all())
    assert bool((ab[1:] < ab[:-1]).all())


def test_linear_schedule_is_ddpm():
    s = LinearSchedule(1000)
    # β_1 = 1e-4 ⇒ ᾱ_1 = 0.9999; ᾱ_T of DDPM's schedule ≈ 4.0e-5
    assert s.alphas_cumprod[1].item() == pytest.approx(1 - 1e-4)
    assert s.alphas_cumprod[-1].item() == pytest.approx(4.04e-5, rel=0.05)


def test_cosine_schedule_endpoints():
    s = CosineSchedule(1000)
    assert s.alphas_cumprod[-1].item() < 1e-3
    assert s.alphas_cumprod[500].item() == pytest.approx(0.5, abs=0.05)  # cos² at the midpoint


@pytest.mark.parametrize("T", [10, 1000])
def test_respace_gives_distinct_increasing_steps(T):
    s = LinearSchedule(T)
    for steps in range(1, T + 1):
        ts = s.respace(steps)
        assert len(ts) == steps
        asc = ts.flip(0)
        assert bool((asc[1:] > asc[:-1]).all()), steps  # distinct, ordered
        assert ts[0].item() == T and asc[0].item() >= 1
        if steps > 1:
            assert asc[0].item() == 1


def test_respace_rejects_out_of_range():
    s = LinearSchedule(100)
    for bad in (0, 101, -3):
        with pytest.raises(ValueError, match="steps must be between 1 and T=100"):
            s.respace(bad)


def test_schedule_moves_with_device_and_unknown_name():
    s = make_schedule("linear", 50)
    assert "alphas_cumprod" in dict(s.named_buffers())
    with pytest.raises(ValueError, match="unknown schedule 'quadratic'"):
        make_schedule("quadratic")


def test_sample_timesteps_range(gen):
    s = LinearSchedule(20)
    t = s.sample_timesteps(5000, generator=gen)
    assert t.min().item() == 1 and t.max().item() == 20
