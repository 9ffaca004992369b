"""The masked discrete diffusion (MDD) forward process: the paper's competitor (§4.1, Fig. 1b).

Each token of x_0 is replaced by ``mask_id`` independently with probability t, t ~ U(ε, 1]
(LLaDA; DLC appendix eq. 4). Train with :func:`tdd.losses.masked_diffusion_loss`; sample with
:class:`tdd.samplers.MDDSampler`.
"""

from __future__ import annotations

import torch

from tdd import rng
from tdd.rng import Generators

MIN_MASK_RATIO = 1e-3  # ε: keeps 1/t in eq. (4) finite


class MaskedDiffusion:
    """Absorbing-state (mask) corruption of token sequences ``(B, N)``.

    Args:
        vocab_size: V, including the mask token.
        mask_id: the id of the mask token M, in 0..V-1.
        min_ratio: ε, the smallest masking ratio drawn in training.
    """

    def __init__(self, vocab_size: int, mask_id: int, min_ratio: float = MIN_MASK_RATIO):
        if not 0 <= mask_id < vocab_size:
            raise ValueError(f"mask_id {mask_id} is outside the vocabulary of size {vocab_size}")
        if not 0 < min_ratio < 1:
            raise ValueError(f"min_ratio must lie in (0, 1), got {min_ratio}")
        self.vocab_size = vocab_size
        self.mask_id = mask_id
        self.min_ratio = min_ratio

    def sample_ratio(
        self, n: int, *, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """t ~ U(ε, 1], one masking ratio per sample, ``(n,)``."""
        u = torch.rand(n, generator=generator, device=device)
        return self.min_ratio + (1 - self.min_ratio) * u

    def q_sample(
        self,
        x0: torch.Tensor,
        t: torch.Tensor,
        *,
        maskable: torch.Tensor | None = None,
        generator: Generators = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask each token of ``x0`` ``(B, N)`` with probability ``t`` ``(B,)``.

        Args:
            maskable: ``(B, N)`` bool; positions that are ``False`` (e.g. padding or a prompt) are kept.
        Returns:
            ``(x_t, is_masked)``, both ``(B, N)``.
        """
        u = rng.rand(tuple(x0.shape), generator, x0.device)  # one generator per row allowed (tdd.rng)
        is_masked = u < t.reshape(-1, 1)
        if maskable is not None:
            is_masked &= maskable
        x_t = torch.where(is_masked, torch.full_like(x0, self.mask_id), x0)
        return x_t, is_masked
