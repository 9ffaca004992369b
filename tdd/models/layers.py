"""Building blocks shared by the denoisers (DiT's timestep embedder and adaLN modulation)."""

from __future__ import annotations

import math

import torch
from torch import nn

TIMESTEP_FREQ_DIM = 256
MAX_PERIOD = 10_000


def timestep_embedding(t: torch.Tensor, dim: int = TIMESTEP_FREQ_DIM, max_period: int = MAX_PERIOD) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps ``(B,)`` → ``(B, dim)`` (DiT, GLIDE)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimestepEmbedder(nn.Module):
    """t ``(B,)`` → ``(B, width)``: sinusoidal features then a two-layer MLP."""

    def __init__(self, width: int, freq_dim: int = TIMESTEP_FREQ_DIM):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(timestep_embedding(t, self.freq_dim))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x · (1 + scale) + shift, with ``(B, W)`` shift/scale broadcast over tokens."""
    while shift.ndim < x.ndim:
        shift, scale = shift.unsqueeze(1), scale.unsqueeze(1)
    return x * (1 + scale) + shift


class AdaLNMLPBlock(nn.Module):
    """A residual MLP block whose LayerNorm is modulated by the embedding of (t, c), as in DiT."""

    def __init__(self, width: int, mlp_ratio: float = 2.0):
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 3 * width))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(emb).chunk(3, dim=-1)  # (B, W) each
        if x.ndim == 3:
            gate = gate.unsqueeze(1)
        return x + gate * self.mlp(modulate(self.norm(x), shift, scale))


class AdaLNOutput(nn.Module):
    """Final adaLN-modulated LayerNorm and linear projection to K outputs."""

    def __init__(self, width: int, out_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.proj = nn.Linear(width, out_dim)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(emb).chunk(2, dim=-1)
        return self.proj(modulate(self.norm(x), shift, scale))


class NullCondition(nn.Module):
    """A learned null embedding that replaces the condition where ``drop`` is set (A.3: "a dedicated
    unconditional class embedding"). Wraps condition tensors ``(B, ...)`` of a fixed trailing shape.
    """

    def __init__(self, *shape: int):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(*shape) * 0.02)

    def forward(self, cond: torch.Tensor, drop: torch.Tensor | None) -> torch.Tensor:
        if drop is None:
            return cond
        drop = drop.reshape(-1, *([1] * (cond.ndim - 1)))
        return torch.where(drop, self.embedding.to(cond.dtype).expand_as(cond), cond)
