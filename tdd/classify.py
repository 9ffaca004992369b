"""Classify images with a TDD classifier (the core sampler, condition computed once) or the
linear-head baseline. The CLI, the app and the notebooks all go through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from tdd import rng
from tdd.diffusion import TweedieDiffusion
from tdd.models.classifier import LinearClassifier, TDDClassifier
from tdd.rng import Generators
from tdd.samplers import StepRecord, TDDSampler
from tdd.samplers.config import SamplingConfig
from tdd.sampling import diffusion_for, sampler_for


def classifier_diffusion(model: TDDClassifier) -> TweedieDiffusion:
    """The diffusion a TDD classifier was trained with, from its config."""
    process = diffusion_for(model)
    assert isinstance(process, TweedieDiffusion)
    return process


def classifier_sampler(model: TDDClassifier, **settings: Any) -> TDDSampler:
    """A :class:`TDDSampler` matching ``model``; ``settings`` are fields of :class:`SamplingConfig`.
    Shorthand for :func:`tdd.sampling.sampler_for`."""
    sampler = sampler_for(model, SamplingConfig(**settings))
    assert isinstance(sampler, TDDSampler)
    return sampler


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
    generator: Generators = None,
    **settings: Any,
) -> Classification:
    """Classify a batch. For TDD: denoising steps from y_T ~ N(0, I), ``settings`` being fields of
    :class:`SamplingConfig` (``steps``, ``cfg``, ``to_one``, …); for the linear head: one softmax."""
    if isinstance(model, LinearClassifier):
        with torch.inference_mode():
            probs = torch.softmax(model(images).float(), dim=-1)
        return Classification(probs.argmax(-1), probs)
    sampler = classifier_sampler(model, **settings)
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
    g = rng.generator(seed, images.device)
    correct = 0.0
    for i in range(0, len(images), batch_size):
        result = classify(model, images[i : i + batch_size], generator=g, **kwargs)
        correct += (result.labels.cpu() == labels[i : i + batch_size].cpu()).sum().item()
    return correct / len(images)
