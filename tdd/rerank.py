"""Best of n: several samples of one input, kept by how likely the model itself finds each.

A parallel decoder predicts every position from the same noisy state, so where the data say one thing in
several ways (a scene's four phrasings, COCO's five captions an image) the positions can settle on parts of
different answers ("a small red cross" from "a large red circle … a small white cross"). Autoregressive
decoding cannot mix answers that way; parallel decoders answer with several candidates and a score:
noisy parallel decoding (Gu et al. 2018, §3.4) and Mask-Predict's length beam (Ghazvininejad et al. 2019)
keep the candidate with the best log-likelihood. Here the score is the model's own, with nothing else trained:

    score(x) = mean over t in the score timesteps and noise draws of  Σ_n log p_θ(x_n | x_t, c)

x re-noised by the model's forward process at a few noise levels and denoised once each: the cross-entropy
terms of the diffusion ELBO at those levels (TDD: Gaussian noise on the one-hot sentence; masked diffusion:
masks, summed over the masked positions). A sentence that mixes two answers is one that no noisy copy of a
true caption leads back to, so it scores lower.
"""

from __future__ import annotations

from typing import Any

import torch

from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.rng import Generators
from tdd.samplers import StepRecord
from tdd.sampling import diffusion_for

# the noise levels a sentence is scored at: the share of noise, 1 − ᾱ_t (TDD: the timestep whose ᾱ_t is nearest)
# or the mask ratio (MDD); the middle of the trajectory, where the words are neither given away nor lost
SCORE_LEVELS = (0.25, 0.5, 0.75)
SCORE_DRAWS = 2  # noise draws per level


@torch.inference_mode()
def self_score(
    model: Any,
    cond: Any,
    tokens: torch.Tensor,
    *,
    levels: tuple[float, ...] = SCORE_LEVELS,
    draws: int = SCORE_DRAWS,
    generator: Generators = None,
) -> torch.Tensor:
    """The model's own log-likelihood of each sentence ``tokens`` ``(B, N)`` given its condition, ``(B,)``.

    Args:
        model: a TDD or masked-diffusion denoiser (``model(x_t, t, cond, drop_cond)``, as the samplers call it).
        cond: the condition of each row, batch first (e.g. ``model.encode(images)``).
        levels: the noise levels: 1 − ᾱ_t (TDD) or the mask ratio (MDD).
        draws: noise draws per level.
        generator: the draws' generator (or one per row, :mod:`tdd.rng`).
    """
    process = diffusion_for(model)
    b = len(tokens)
    total = torch.zeros(b, device=tokens.device)
    for level in levels:
        for _ in range(draws):
            if isinstance(process, TweedieDiffusion):
                t = torch.full((b,), timestep_at(process, level), dtype=torch.long, device=tokens.device)
                y_t = process.q_sample(process.one_hot(tokens), t, generator=generator)
                logp = torch.log_softmax(model(y_t, t, cond, None).float(), dim=-1)  # (B, N, K)
                total += logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1).sum(-1)
            elif isinstance(process, MaskedDiffusion):
                ratio = torch.full((b,), level, device=tokens.device)
                x_t, masked = process.q_sample(tokens, ratio, generator=generator)  # (B, N) each
                logp = torch.log_softmax(model(x_t, ratio, cond, None).float(), dim=-1)
                total += (logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) * masked).sum(-1)
            else:  # pragma: no cover - diffusion_for returns one of the two
                raise TypeError(f"no self-score for {type(process).__name__}")
    return total / (len(levels) * draws)


def timestep_at(process: TweedieDiffusion, level: float) -> int:
    """The timestep whose noise share 1 − ᾱ_t is nearest ``level``."""
    noise = 1 - process.schedule.alphas_cumprod  # (T + 1,), t = 0 … T
    return int((noise - level).abs().argmin())


def best_rows(scores: torch.Tensor, n: int) -> torch.Tensor:
    """The row of the best-scoring candidate of each input, for ``scores`` ``(B · n,)`` laid out input-major
    (rows ``i·n … i·n + n − 1`` are input i's); ``(B,)`` indices into the ``B · n`` rows."""
    if scores.dim() != 1 or len(scores) % n:
        raise ValueError(f"{tuple(scores.shape)} scores do not split into groups of n = {n}")
    groups = scores.view(-1, n)  # (B, n)
    return groups.argmax(dim=1) + torch.arange(len(groups), device=scores.device) * n


def keep_best(
    model: Any, cond: Any, records: list[StepRecord], n: int, *, generator: Generators = None
) -> list[StepRecord]:
    """The records of the best-scoring candidate of each input (:func:`self_score` of the last step's
    tokens), from ``records`` of ``B · n`` rows laid out input-major with ``cond`` the rows' condition."""
    kept = best_rows(self_score(model, cond, records[-1].tokens, generator=generator), n)
    return [r.rows(kept) for r in records]
