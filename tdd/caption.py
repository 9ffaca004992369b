"""Caption images with a TDD, masked-diffusion or autoregressive captioner. The image path runs once
per image; the samplers of :mod:`tdd.samplers` do the denoising. The CLI, the app and the notebooks
all go through here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.models.captioner import ARCaptioner, MDDCaptioner, TDDCaptioner
from tdd.rng import Generators
from tdd.samplers import Guidance, MDDSampler, StepRecord, TDDSampler
from tdd.timesteps import sampling_timesteps

Captioner = TDDCaptioner | MDDCaptioner | ARCaptioner


def captioner_sampler(
    model: TDDCaptioner | MDDCaptioner,
    steps: int = 20,
    cfg: float = 1.0,
    cfg_schedule: str = "constant",
    to_one: str = "argmax",
    temperature: float = 1.0,
    remasking: str = "low_confidence",
    omega: float = 0.0,
    window: tuple[float, float] = (0.3, 0.55),
    spacing: str | list[int] | None = None,
    omega_steps: int | None = None,
) -> TDDSampler | MDDSampler:
    """The sampler matching ``model``: :class:`TDDSampler` for TDD, :class:`MDDSampler` for MDD.

    TDD takes λ, self-conditioning and (unless ``spacing`` says otherwise, :func:`sampling_timesteps`)
    the sampling timesteps from the checkpoint's config; an explicit list of timesteps sets ``steps``."""
    c = model.config
    guidance = Guidance(cfg, cfg_schedule)
    if isinstance(model, TDDCaptioner):
        diffusion = TweedieDiffusion(c.vocab_size, c.schedule, c.num_timesteps, c.onehot_scale)
        timesteps = sampling_timesteps(c, steps, spacing)
        steps = len(timesteps) if timesteps else steps
        return TDDSampler(diffusion, steps, guidance, to_one, temperature, parameterization=c.parameterization,
                          timesteps=timesteps, self_cond=c.self_cond)  # fmt: skip
    if isinstance(model, MDDCaptioner):
        process = MaskedDiffusion(c.vocab_size, c.mask_id)
        return MDDSampler(
            process, steps, guidance, to_one, temperature, remasking, omega, window, omega_steps=omega_steps
        )
    raise TypeError(f"{type(model).__name__} has no denoising sampler (the AR captioner decodes greedily)")


def caption_steps(
    model: TDDCaptioner | MDDCaptioner,
    images: torch.Tensor,
    sampler: TDDSampler | MDDSampler,
    *,
    generator: Generators = None,
    clamp_tokens: torch.Tensor | None = None,
    clamp_mask: torch.Tensor | None = None,
) -> Iterator[StepRecord]:
    """Encode ``images`` ``(B, 3, H, W)`` once, then yield the sampler's record after every step.

    ``clamp_tokens``/``clamp_mask`` ``(B, N)`` pin known words (infilling).
    """
    with torch.inference_mode():
        cond = model.encode(images)
    yield from sampler.iterate(
        model,
        cond,
        batch_size=len(images),
        seq_len=model.config.max_len,
        generator=generator,
        device=images.device,
        clamp_tokens=clamp_tokens,
        clamp_mask=clamp_mask,
    )


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
    """Caption a batch; ``sampling`` is passed to :func:`captioner_sampler` (ignored by the AR model)."""
    from tdd.data.tokenizer import decode

    start = time.perf_counter()
    if isinstance(model, ARCaptioner):
        with torch.inference_mode():
            tokens = model.generate(model.encode(images))
        return Captions(decode(tokenizer, tokens), tokens, [], time.perf_counter() - start)
    records = list(caption_steps(model, images, captioner_sampler(model, **sampling), generator=generator))
    tokens = records[-1].tokens
    return Captions(decode(tokenizer, tokens), tokens, records, time.perf_counter() - start)
