"""The masked-diffusion baseline's sampler: LLaDA's low-confidence / random remasking, plus the
DLC appendix's random remasking of already-decoded tokens with ratio ω inside a window of steps.

    x ← all [MASK] (clamped positions hold their tokens)
    for step i = 0..S-1:
        0. remask   if i/S ∈ [w_lo, w_hi]: each decoded, unclamped token → [MASK] with prob. ω_S
        1. predict  p = softmax(f_θ(x, t, c)) with CFG; [MASK] is never predicted
        2. to-one   x̂_0 = argmax p  or  multinomial(p)
        3. unmask   keep x̂_0 at the k_i masked positions of highest confidence (LLaDA's
                    ``low_confidence``) or at k_i random ones (``random``); the rest stay masked.
                    k_i = ceil(#masked / (S − i)), so the last step unmasks everything.

ω is the DLC appendix's per-step rate, of a 4096-step sampler there. Run with S steps, the same ω per
step remasks far less in total at S = 20 than at S = 4096. With ``omega_steps`` = S_ref, ω is read as
the rate of an S_ref-step sampler and each of the A_S active steps of this one (those in the window) uses
ω_S = 1 − (1 − ω)^(A_ref / A_S), so that a decoded token survives the window with the same probability
(1 − ω)^A_ref whatever S; ``None`` uses ω per step as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from tdd import rng
from tdd.masked import MaskedDiffusion
from tdd.rng import Generators
from tdd.samplers.common import (
    DEFAULT_RECORD_TOPK,
    DEFAULT_STEPS,
    Denoiser,
    Guidance,
    GuidedDenoiser,
    Sampler,
    StepRecord,
    check_clamp,
    check_sampling_args,
    draw,
    reveal_next,
    summarize,
)

REMASKING = ("low_confidence", "random")
DEFAULT_REMASK_WINDOW = (0.3, 0.55)  # DLC appendix, Fig. 8


@dataclass
class MDDSampler(Sampler):
    """Iterative unmasking for a masked-diffusion denoiser ``model(x_ids, t, cond, drop_cond)``.

    Args:
        process: the :class:`MaskedDiffusion` the model was trained with (gives ``mask_id``).
        steps: S. guidance, to_one, temperature: as for :class:`TDDSampler`.
        remasking: how the k_i positions to decode are chosen: ``"low_confidence"`` or ``"random"``.
        omega: ω, the probability that a decoded token is masked again at a step inside ``window``;
            0 disables remasking.
        window: ``(lo, hi)`` fractions of the trajectory in which ω is active (both ends included).
        omega_steps: S_ref, the step count ω refers to (4096 for the DLC appendix's ω); ``None``: ω per
            step of this sampler, as given.
    """

    process: MaskedDiffusion
    steps: int = DEFAULT_STEPS
    guidance: Guidance = field(default_factory=Guidance)
    to_one: str = "argmax"
    temperature: float = 1.0
    remasking: str = "low_confidence"
    omega: float = 0.0
    window: tuple[float, float] = DEFAULT_REMASK_WINDOW
    record_topk: int = DEFAULT_RECORD_TOPK
    omega_steps: int | None = None

    def __post_init__(self):
        check_sampling_args(self.steps, self.to_one, self.temperature)
        if self.remasking not in REMASKING:
            raise ValueError(f"remasking must be one of {REMASKING}, got {self.remasking!r}")
        if not 0 <= self.omega <= 1:
            raise ValueError(f"omega must lie in [0, 1], got {self.omega}")
        lo, hi = self.window
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"window must satisfy 0 ≤ lo ≤ hi ≤ 1, got {self.window}")
        if self.omega_steps is not None and self.omega_steps < 1:
            raise ValueError(f"omega_steps must be a positive step count, got {self.omega_steps}")

        self.step_omega = self._step_omega()  # ω_S, the remasking probability at each active step

    def _step_omega(self) -> float:
        if self.omega_steps is None or self.omega in (0.0, 1.0):
            return self.omega
        active = self._active_steps(self.steps)
        return 1 - (1 - self.omega) ** (self._active_steps(self.omega_steps) / active) if active else 0.0

    def _active_steps(self, steps: int) -> int:
        lo, hi = self.window
        return sum(lo <= i / steps <= hi for i in range(steps))

    def remask_active(self, step: int) -> bool:
        """Whether ω-remasking applies at 0-based ``step`` (its progress i/S lies in the window, ends included)."""
        lo, hi = self.window
        return self.omega > 0 and lo <= step / self.steps <= hi

    @torch.inference_mode()
    def iterate(
        self,
        model: Denoiser,
        cond: Any,
        *,
        batch_size: int,
        seq_len: int,
        generator: Generators = None,
        device: torch.device | str = "cpu",
        clamp_tokens: torch.Tensor | None = None,
        clamp_mask: torch.Tensor | None = None,
    ) -> Iterator[StepRecord]:
        """Run the unmasking loop, yielding one :class:`StepRecord` per step (see the module doc).

        ``clamp_tokens``/``clamp_mask`` ``(B, N)`` pin known tokens: they are never masked.
        """
        mask_id = self.process.mask_id
        shape = (batch_size, seq_len)
        clamp = check_clamp(clamp_tokens, clamp_mask, shape)
        pinned = torch.zeros(shape, dtype=torch.bool, device=device)
        x = torch.full(shape, mask_id, dtype=torch.long, device=device)
        if clamp is not None:
            pinned = clamp[1].to(device)
            x = torch.where(pinned, clamp[0].to(device), x)
        net = GuidedDenoiser(model, cond, batch_size, seq_len)
        previous = None
        for i in range(self.steps):
            # 0. ω-remasking of decoded tokens inside the window (DLC appendix, Fig. 8)
            if self.remask_active(i):
                u = rng.rand(shape, generator, device)
                x = torch.where((x != mask_id) & ~pinned & (u < self.step_omega), torch.full_like(x, mask_id), x)
            is_masked = x == mask_id  # (B, N)
            ratio = is_masked.float().mean(-1)  # t of eq. (4): the current masking ratio, (B,)
            gamma = self.guidance.scale_at(i, self.steps)
            # 1. predict
            logits = net(x, ratio, gamma).float()  # (B, N, V)
            logits[..., mask_id] = float("-inf")
            probs = torch.softmax(logits, dim=-1)
            # 2. to-one
            x0 = draw(probs, self.to_one, self.temperature, logits, generator)  # (B, N)
            # 3. unmask k_i positions, chosen by confidence or at random
            if self.remasking == "low_confidence":
                confidence = probs.gather(-1, x0.unsqueeze(-1)).squeeze(-1)
            else:
                confidence = rng.rand(shape, generator, device)
            reveal = reveal_next(is_masked, confidence, self.steps - i)  # the last step takes all
            x = torch.where(reveal, x0, x)
            changed = torch.ones_like(x, dtype=torch.bool) if previous is None else x != previous
            previous = x
            yield StepRecord(
                step=i,
                num_steps=self.steps,
                t=float(ratio.mean()),
                tokens=x,
                changed=changed,
                is_masked=x == mask_id,
                guidance_scale=gamma,
                **summarize(probs, self.record_topk),
            )
