"""Noise schedules: the ᾱ_t table of §3.1 and its respacing to S sampling steps.

Timesteps follow the paper: t ∈ {1, …, T}, with ᾱ_0 = 1 (the empty product, i.e. the clean
one-hot). The table therefore has T + 1 entries, ``alphas_cumprod[t] = ᾱ_t``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

DEFAULT_TIMESTEPS = 1000
LINEAR_BETA_START = 1e-4  # DDPM (Ho et al., 2020)
LINEAR_BETA_END = 0.02
COSINE_OFFSET = 0.008  # Nichol & Dhariwal (2021), s in eq. (17)
MAX_BETA = 0.999  # clip that keeps ᾱ_T > 0 for the cosine schedule


class NoiseSchedule(nn.Module):
    """A variance schedule: ᾱ_t for t = 0..T as a buffer, so it follows ``.to(device)``.

    Subclasses only compute the table of betas; everything else is shared.
    """

    alphas_cumprod: torch.Tensor

    def __init__(self, betas: torch.Tensor):
        super().__init__()
        if betas.ndim != 1 or len(betas) == 0:
            raise ValueError("betas must be a non-empty 1-D tensor")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("every beta must lie in (0, 1)")
        alphas_cumprod = torch.cumprod(1.0 - betas.double(), dim=0)  # ᾱ_t = Π_{s≤t} α_s, §3.1
        table = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod])  # ᾱ_0 = 1
        self.register_buffer("alphas_cumprod", table.float(), persistent=False)

    @property
    def num_timesteps(self) -> int:
        """T, the number of diffusion steps."""
        return len(self.alphas_cumprod) - 1

    def alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """ᾱ_t for integer timesteps ``t`` (any shape, values in 0..T)."""
        return self.alphas_cumprod.to(t.device)[t.long()]

    def sample_timesteps(
        self, n: int, *, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """Draw ``n`` training timesteps t ~ U{1, …, T} (the expectation of §3.2's loss)."""
        return torch.randint(1, self.num_timesteps + 1, (n,), generator=generator, device=device)

    def respace(self, steps: int) -> torch.Tensor:
        """The S = ``steps`` timesteps a sampler visits, evenly spaced in [1, T], decreasing.

        As DDIM / MAR respace: an evenly spaced sub-sequence that always contains T (pure noise)
        and, for S > 1, t = 1. Returns a LongTensor of S distinct values, largest first.
        """
        T = self.num_timesteps
        if not 1 <= steps <= T:
            raise ValueError(f"steps must be between 1 and T={T}, got {steps}")
        if steps == 1:
            return torch.tensor([T], dtype=torch.long)
        # Rounding an evenly spaced grid of S ≤ T points in [1, T] keeps them distinct
        # because consecutive points are at least 1 apart.
        ts = torch.linspace(1, T, steps, dtype=torch.float64).round().long()
        return ts.flip(0)


class LinearSchedule(NoiseSchedule):
    """DDPM's linear β schedule from 1e-4 to 0.02."""

    def __init__(
        self,
        num_timesteps: int = DEFAULT_TIMESTEPS,
        beta_start: float = LINEAR_BETA_START,
        beta_end: float = LINEAR_BETA_END,
    ):
        # Scale the endpoints as improved-DDPM does so that T ≠ 1000 keeps the same total noise.
        scale = DEFAULT_TIMESTEPS / num_timesteps
        betas = torch.linspace(beta_start * scale, min(beta_end * scale, MAX_BETA), num_timesteps, dtype=torch.float64)
        super().__init__(betas)


class CosineSchedule(NoiseSchedule):
    """The cosine schedule of Nichol & Dhariwal (2021): ᾱ(t) = f(t)/f(0), f = cos²(((t/T)+s)/(1+s)·π/2)."""

    def __init__(self, num_timesteps: int = DEFAULT_TIMESTEPS, offset: float = COSINE_OFFSET):
        steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
        f = torch.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
        alphas_cumprod = f / f[0]
        betas = (1 - alphas_cumprod[1:] / alphas_cumprod[:-1]).clamp(min=1e-12, max=MAX_BETA)
        super().__init__(betas)


SCHEDULES = {"linear": LinearSchedule, "cosine": CosineSchedule}


def make_schedule(name: str = "linear", num_timesteps: int = DEFAULT_TIMESTEPS) -> NoiseSchedule:
    """Build a schedule by name (one of ``SCHEDULES``)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose from {sorted(SCHEDULES)}")
    return SCHEDULES[name](num_timesteps)
