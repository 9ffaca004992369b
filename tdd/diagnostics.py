"""Where a noisy one-hot carries information, and where a trained model uses it.

- :func:`onehot_information`: for the noise process alone, per timestep, the mutual information
  I(y_0; y_t) (nats, of ln K at most) and P(argmax y_t = y_0), by Monte Carlo with the exact posterior
  (:meth:`TweedieDiffusion.posterior`).
- :func:`teacher_forced_curve`: a trained TDD denoiser's cross-entropy, token accuracy and exact match
  per timestep when the *true* tokens are noised to t (one prediction, no sampling loop).

``experiments/timestep_information.py`` prints both as a table and a plotly figure; training stores the
CE curve with the checkpoint for :func:`tdd.timesteps.informative_spacing`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from tdd import rng
from tdd.data.images import preprocess_rgb
from tdd.data.tokenizer import encode
from tdd.diffusion import TweedieDiffusion


def timestep_grid(num_timesteps: int, points: int = 40) -> list[int]:
    """``points`` timesteps spread over 1..T, denser at small t (where one-hot information lives)."""
    grid = torch.linspace(0, 1, points, dtype=torch.float64) ** 1.5 * (num_timesteps - 1) + 1
    return sorted({int(round(float(t))) for t in grid})


@torch.no_grad()
def onehot_information(
    diffusion: TweedieDiffusion, ts: list[int], *, samples: int = 4000, generator: torch.Generator | None = None
) -> list[dict[str, float]]:
    """Per timestep: ``mutual_info`` I(y_0; y_t) = ln K − E[H(p(y_0 | y_t))] in nats, and ``p_argmax``,
    the chance that the largest entry of y_t is the true class (K classes, uniform prior)."""
    K = diffusion.num_classes
    rows = []
    for t in ts:
        labels = torch.randint(K, (samples,), generator=generator)
        tt = torch.full((samples,), int(t), dtype=torch.long)
        y_t = diffusion.q_sample(diffusion.one_hot(labels), tt, generator=generator)
        post = diffusion.posterior(y_t, tt)
        entropy = torch.special.entr(post).sum(-1).mean().item()
        rows.append(
            {
                "t": int(t),
                "alpha_bar": float(diffusion.schedule.alphas_cumprod[int(t)]),
                "mutual_info": max(0.0, math.log(K) - entropy),
                "p_argmax": (y_t.argmax(-1) == labels).float().mean().item(),
            }
        )
    return rows


@torch.no_grad()
def teacher_forced_curve(
    model: Any,
    diffusion: TweedieDiffusion,
    cond: Any,
    tokens: torch.Tensor,
    ts: list[int],
    *,
    generator: torch.Generator | None = None,
) -> list[dict[str, float]]:
    """The model's unweighted CE (nats per token), token accuracy and exact match (all positions of a row
    right) at each t, on the true ``tokens`` ``(B[, N])`` noised to t, given ``cond`` (batch first)."""
    rows = []
    for t in ts:
        tt = torch.full((len(tokens),), int(t), dtype=torch.long, device=tokens.device)
        y_t = diffusion.q_sample(diffusion.one_hot(tokens), tt, generator=generator)
        logits = model(y_t, tt, cond, None).float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1).long())
        right = logits.argmax(-1) == tokens
        exact = right.reshape(len(tokens), -1).all(-1).float().mean()
        rows.append({"t": int(t), "ce": ce.item(), "token_acc": right.float().mean().item(), "exact": exact.item()})
    return rows


CE_CURVE_ITEMS = 256  # held-out captions the stored CE curve is measured on


def measure_ce_curve(model: Any, tokenizer: Any, evals: Any, *, seed: int = 0) -> tuple[list[int], list[float]]:
    """The curve that informative sampling spacing reads (:mod:`tdd.timesteps`): the model's teacher-forced
    CE at :func:`timestep_grid` on (up to :data:`CE_CURVE_ITEMS`) held-out pairs of ``evals`` (a
    :class:`~tdd.data.caption_data.EvalSet`), against each image's first reference — in the phrasing the
    model was trained on, or the CE measures the phrasing."""

    c = model.config
    device = next(model.parameters()).device
    n = min(CE_CURVE_ITEMS, len(evals.sources))
    images = torch.stack([preprocess_rgb(s, c.image_size) for s in evals.sources[:n]]).to(device)
    diffusion = TweedieDiffusion(c.vocab_size, c.schedule, c.num_timesteps, c.onehot_scale)
    tokens, _ = encode(tokenizer, [refs[0] for refs in evals.references[:n]], c.max_len, truncate=True)
    g = rng.generator(seed, device)
    with torch.inference_mode():
        cond = model.encode(images)
        rows = teacher_forced_curve(model, diffusion, cond, tokens.to(device), timestep_grid(c.num_timesteps),
                                    generator=g)  # fmt: skip
    return [r["t"] for r in rows], [round(r["ce"], 5) for r in rows]
