"""Caption images with a TDD, masked-diffusion or autoregressive captioner. The image path runs once
per image; the samplers of :mod:`tdd.samplers` do the denoising. The CLI, the app and the notebooks
all go through here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from tdd.data.tokenizer import decode
from tdd.models.captioner import ARCaptioner, MDDCaptioner, TDDCaptioner
from tdd.rerank import keep_best
from tdd.rng import Generators
from tdd.samplers import MDDSampler, StepRecord, TDDSampler
from tdd.samplers.config import SamplingConfig
from tdd.sampling import sampler_for

Captioner = TDDCaptioner | MDDCaptioner | ARCaptioner


def captioner_sampler(model: TDDCaptioner | MDDCaptioner, **settings: Any) -> TDDSampler | MDDSampler:
    """The sampler matching ``model``; ``settings`` are fields of :class:`SamplingConfig` (``spacing``
    ``None`` keeps the checkpoint's own timesteps). Shorthand for :func:`tdd.sampling.sampler_for`."""
    if settings.get("spacing") is None:
        settings["spacing"] = "checkpoint"
    if isinstance(model, ARCaptioner):
        raise TypeError("ARCaptioner has no denoising sampler (the AR captioner decodes greedily)")
    return sampler_for(model, SamplingConfig(**settings))


def caption_steps(
    model: TDDCaptioner | MDDCaptioner,
    images: torch.Tensor,
    sampler: TDDSampler | MDDSampler,
    *,
    generator: Generators = None,
    clamp_tokens: torch.Tensor | None = None,
    clamp_mask: torch.Tensor | None = None,
    best_of: int = 1,
) -> Iterator[StepRecord]:
    """Encode ``images`` ``(B, 3, H, W)`` once, then yield the sampler's record after every step.

    ``clamp_tokens``/``clamp_mask`` ``(B, N)`` pin known words (infilling). ``best_of`` n > 1: n candidates an
    image are denoised as one batch of ``B · n`` rows (image-major; a list ``generator`` then has one generator
    a row), and once they are done the records of the one the model itself scores highest are yielded, step by
    step (:mod:`tdd.rerank`).
    """
    n = best_of
    if n > 1:
        images = images.repeat_interleave(n, dim=0)  # (B·n, 3, H, W)
        if clamp_tokens is not None and clamp_mask is not None:
            clamp_tokens, clamp_mask = clamp_tokens.repeat_interleave(n, 0), clamp_mask.repeat_interleave(n, 0)
    with torch.inference_mode():
        cond = model.encode(images)
    steps = sampler.iterate(
        model,
        cond,
        batch_size=len(images),
        seq_len=model.config.max_len,
        generator=generator,
        device=images.device,
        clamp_tokens=clamp_tokens,
        clamp_mask=clamp_mask,
    )
    if n == 1:
        yield from steps
    else:
        yield from keep_best(model, cond, list(steps), n, generator=generator)


@dataclass
class Captions:
    """captions (texts); tokens ``(B, N)``; records, one per step (diffusion methods); seconds of wall time."""

    captions: list[str]
    tokens: torch.Tensor
    records: list[StepRecord] = field(default_factory=list)
    seconds: float = 0.0


def caption(
    model: Captioner,
    tokenizer,
    images: torch.Tensor,
    *,
    generator: Generators = None,
    **sampling,
) -> Captions:
    """Caption a batch; ``sampling`` is passed to :func:`captioner_sampler` (ignored by the AR model).

    ``best_of`` n > 1 (a :class:`SamplingConfig` field; diffusion models): n candidates an image, drawn as one
    batch, and the one the model itself scores highest is kept (:mod:`tdd.rerank`); the records are the kept
    candidates' trajectories.
    """

    start = time.perf_counter()
    if isinstance(model, ARCaptioner):
        with torch.inference_mode():
            tokens = model.generate(model.encode(images))
        return Captions(decode(tokenizer, tokens), tokens, [], time.perf_counter() - start)
    sampler = captioner_sampler(model, **sampling)
    n = SamplingConfig(**sampling).best_of
    records = list(caption_steps(model, images, sampler, generator=generator, best_of=n))
    tokens = records[-1].tokens
    return Captions(decode(tokenizer, tokens), tokens, records, time.perf_counter() - start)
