"""Classify images with a TDD classifier (the core sampler, condition computed once) or the
linear-head baseline. The CLI, the app and the notebooks all go through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from tdd.diffusion import TweedieDiffusion
from tdd.models.classifier import LinearClassifier, TDDClassifier
from tdd.rng import Generators
from tdd.samplers import Guidance, StepRecord, TDDSampler


def classifier_diffusion(model: TDDClassifier) -> TweedieDiffusion:
    """The diffusion a TDD classifier was trained with, from its config."""
    c = model.config
    return TweedieDiffusion(c.num_classes, c.schedule, c.num_timesteps, c.onehot_scale)


def classifier_sampler(
    model: TDDClassifier,
    steps: int = 20,
    cfg: float = 1.0,
    cfg_schedule: str = "constant",
    to_one: str = "argmax",
    temperature: float = 1.0,
) -> TDDSampler:
    """A :class:`TDDSampler` matching ``model`` (its schedule and output parameterization)."""
    return TDDSampler(
        classifier_diffusion(model),
        steps=steps,
        guidance=Guidance(cfg, cfg_schedule),
        to_one=to_one,
        temperature=temperature,
        parameterization=model.config.parameterization,
    )


def classify_steps(
    model: TDDClassifier,
    images: torch.Tensor,
    sampler: TDDSampler,
    *,
    generator: Generators = None,
) -> Iterator[StepRecord]:
    """Encode ``images`` ``(B, C, H, W)`` once, then yield the sampler's record after every step."""
    device = images.device
    with torch.inference_mode():
        cond = model.encode(images)  # (B, W): the image path runs once per image
    yield from sampler.iterate(model, cond, batch_size=len(images), generator=generator, device=device)


@dataclass
class Classification:
    """labels ``(B,)``; probs ``(B, K)`` the final predicted distribution; records, one per step (TDD)."""

    labels: torch.Tensor
    probs: torch.Tensor
    records: list[StepRecord] = field(default_factory=list)


def classify(
    model: TDDClassifier | LinearClassifier,
    images: torch.Tensor,
    *,
    steps: int = 20,
    cfg: float = 1.0,
    to_one: str = "argmax",
    temperature: float = 1.0,
    generator: Generators = None,
) -> Classification:
    """Classify a batch. For TDD: ``steps`` denoising steps from y_T ~ N(0, I); for the linear head: one softmax."""
    if isinstance(model, LinearClassifier):
        with torch.inference_mode():
            probs = torch.softmax(model(images).float(), dim=-1)
        return Classification(probs.argmax(-1), probs)
    sampler = classifier_sampler(model, steps=steps, cfg=cfg, to_one=to_one, temperature=temperature)
    records = list(classify_steps(model, images, sampler, generator=generator))
    last = records[-1]
    assert last.probs is not None  # a classifier's last record keeps the whole distribution
    return Classification(last.tokens, last.probs, records)


def accuracy(
    model: TDDClassifier | LinearClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    batch_size: int = 512,
    seed: int = 0,
    **kwargs,
) -> float:
    """Top-1 accuracy of :func:`classify` over a dataset held in memory, seeded."""
    g = torch.Generator(device=images.device).manual_seed(seed)
    correct = 0.0
    for i in range(0, len(images), batch_size):
        result = classify(model, images[i : i + batch_size], generator=g, **kwargs)
        correct += (result.labels.cpu() == labels[i : i + batch_size].cpu()).sum().item()
    return correct / len(images)
