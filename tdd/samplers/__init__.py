"""Samplers: generators that yield one :class:`StepRecord` per denoising step."""

from tdd.samplers.common import (
    FULL_PROBS_MAX_CLASSES,
    Guidance,
    GuidedDenoiser,
    Sampler,
    StepRecord,
)
from tdd.samplers.mdd_sampler import MDDSampler
from tdd.samplers.tdd_sampler import TDDSampler

__all__ = [
    "FULL_PROBS_MAX_CLASSES",
    "Guidance",
    "GuidedDenoiser",
    "MDDSampler",
    "Sampler",
    "StepRecord",
    "TDDSampler",
]
