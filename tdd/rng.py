"""Seeds and random draws that are reproducible per batch row.

A seed becomes a ``torch.Generator`` here and nowhere else in the library (:func:`generator`,
:func:`generators`; :func:`seed_default_cpu` and :func:`seed_global` for code that draws from torch's
global generators, such as weight initialisation and data workers).

Every sampler takes ``generator``: one ``torch.Generator`` for the whole batch, or a list of them,
one per row (as diffusers' pipelines accept). With a list, row ``b`` draws from ``generator[b]``
exactly what a batch of one would draw, so an image's trajectory does not depend on what else is
in the batch: same image + same seed → same trajectory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

import torch

Generators: TypeAlias = torch.Generator | Sequence[torch.Generator] | None
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a 64-bit seed; 0 … 2⁶³ − 1 is documented


def generator(seed: int, device: torch.device | str | None = None) -> torch.Generator:
    """A generator on ``device`` (CPU by default) seeded with ``seed``."""
    return torch.Generator(device=device if device is not None else "cpu").manual_seed(int(seed))


def generators(seeds: Iterable[int], device: torch.device | str | None = None) -> list[torch.Generator]:
    """One generator per seed: per-row generators, so that row ``b`` draws what a batch of one would."""
    return [generator(s, device) for s in seeds]


def consecutive(seed: int, n: int, device: torch.device | str | None = None) -> list[torch.Generator]:
    """``n`` per-row generators seeded ``seed``, ``seed + 1``, … (wrapping past :data:`MAX_SEED`): the candidates
    or samples of one input, row 0 drawing what a single run seeded ``seed`` draws."""
    return generators(((seed + b) % (MAX_SEED + 1) for b in range(n)), device)


def seed_default_cpu(seed: int) -> None:
    """Seed torch's default CPU generator only (not every GPU's, as ``torch.manual_seed`` does): what a data
    worker's item draws inside ``torch.random.fork_rng(devices=[])``."""
    torch.default_generator.manual_seed(int(seed))


def seed_global(seed: int) -> None:
    """``torch.manual_seed``: weight initialisation and other draws from torch's global generators."""
    torch.manual_seed(int(seed))


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
