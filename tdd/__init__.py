"""In-situ Tweedie Discrete Diffusion (TDD).

Importing ``tdd`` is cheap: it loads no torch, no model and no UI. The public names below are
imported on first access.

- :class:`TweedieDiffusion` — the Gaussian forward process on one-hot vectors (§3.2)
- :class:`LinearSchedule`, :class:`CosineSchedule`, :func:`make_schedule` — ᾱ_t tables, respacing
- :func:`tdd_cross_entropy`, :func:`eps_mse_loss`, :func:`masked_diffusion_loss` — objectives
- :class:`TDDSampler`, :class:`MDDSampler`, :class:`Guidance`, :class:`StepRecord` — samplers
- :class:`SamplingConfig`, :func:`sampler_for`, :func:`diffusion_for` — sampling settings, defined once, and
  the sampler and noise process that match a model
- :class:`MaskedDiffusion` — the masked-diffusion baseline's forward process
- :func:`kfold_expand`, :func:`sample_drop_mask`, :class:`NullCondition`, :func:`make_ema` — training
- :class:`PretrainedModel`, :data:`MODELS`, :class:`CheckpointError` — models and checkpoints
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "TweedieDiffusion": "tdd.diffusion",
    "NoiseSchedule": "tdd.schedule",
    "LinearSchedule": "tdd.schedule",
    "CosineSchedule": "tdd.schedule",
    "make_schedule": "tdd.schedule",
    "tdd_cross_entropy": "tdd.losses",
    "eps_mse_loss": "tdd.losses",
    "masked_diffusion_loss": "tdd.losses",
    "MaskedDiffusion": "tdd.masked",
    "TDDSampler": "tdd.samplers",
    "MDDSampler": "tdd.samplers",
    "Guidance": "tdd.samplers",
    "StepRecord": "tdd.samplers",
    "SamplingConfig": "tdd.samplers.config",
    "sampler_for": "tdd.sampling",
    "diffusion_for": "tdd.sampling",
    "kfold_expand": "tdd.training",
    "sample_drop_mask": "tdd.training",
    "NullCondition": "tdd.models.layers",
    "make_ema": "tdd.training",
    "CheckpointError": "tdd.checkpoint",
    "PretrainedModel": "tdd.models",
    "MODELS": "tdd.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tdd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
