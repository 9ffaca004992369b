"""Random draws that are reproducible per batch row.

Every sampler takes ``generator``: one ``torch.Generator`` for the whole batch, or a list of them,
one per row (as diffusers' pipelines accept). With a list, row ``b`` draws from ``generator[b]``
exactly what a batch of one would draw, so an image's trajectory does not depend on what else is
in the batch: same image + same seed → same trajectory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import torch

Generators: TypeAlias = torch.Generator | Sequence[torch.Generator] | None


def _rows(generator: Generators, batch: int) -> Sequence[torch.Generator] | None:
    """The per-row generators, checked against the batch size; ``None`` for a single generator."""
    if generator is None or isinstance(generator, torch.Generator):
        return None
    if len(generator) != batch:
        raise ValueError(f"got {len(generator)} generators for a batch of {batch}; give one per row")
    return generator


def randn(shape: tuple[int, ...], generator: Generators, device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``torch.randn(shape)``; with a list of generators, row ``b`` is drawn by ``generator[b]``."""
    if generator is None or isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    rows = _rows(generator, shape[0]) or []
    return torch.cat([torch.randn((1, *shape[1:]), generator=g, device=device, dtype=dtype) for g in rows])


def rand(shape: tuple[int, ...], generator: Generators, device) -> torch.Tensor:
    """``torch.rand(shape)``; with a list of generators, row ``b`` is drawn by ``generator[b]``."""
    if generator is None or isinstance(generator, torch.Generator):
        return torch.rand(shape, generator=generator, device=device)
    rows = _rows(generator, shape[0]) or []
    return torch.cat([torch.rand((1, *shape[1:]), generator=g, device=device) for g in rows])


def multinomial(probs: torch.Tensor, generator: Generators) -> torch.Tensor:
    """One draw per distribution of ``probs`` ``(B, ..., K)`` → ids ``(B, ...)``; with a list of
    generators, row ``b``'s draws come from ``generator[b]``."""
    if generator is None or isinstance(generator, torch.Generator):
        flat = probs.reshape(-1, probs.shape[-1])
        return torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])
    rows = _rows(generator, probs.shape[0]) or []
    return torch.stack([multinomial(p.unsqueeze(0), g)[0] for p, g in zip(probs, rows)])
