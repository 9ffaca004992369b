"""The one place that knows which noise process and which sampler match a model: everything that
samples (the CLI, the apps, the notebooks, the experiments) builds its sampler here from a
:class:`~tdd.samplers.config.SamplingConfig`."""

from __future__ import annotations

from typing import Any

from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.samplers import Guidance, MDDSampler, TDDSampler
from tdd.samplers.config import SamplingConfig
from tdd.timesteps import sampling_timesteps


def diffusion_for(model: Any) -> TweedieDiffusion | MaskedDiffusion:
    """The noise process ``model`` was trained with (its :meth:`~tdd.models.PretrainedModel.noise_process`,
    built from its config): TDD's Gaussian process on one-hots (classes or vocabulary, its schedule, T and
    λ) or the masked-diffusion process."""
    process = model.noise_process() if hasattr(model, "noise_process") else None
    if isinstance(process, (TweedieDiffusion, MaskedDiffusion)):
        return process
    raise TypeError(f"{type(model).__name__} has no denoising process (the AR and linear baselines decode directly)")


def sampler_for(model: Any, config: SamplingConfig | None = None) -> TDDSampler | MDDSampler:
    """The sampler matching ``model`` with ``config``'s settings: :class:`TDDSampler` for TDD models
    (λ, self-conditioning, the commit rule of a model told each position's t and, unless
    ``config.spacing`` says otherwise, the sampling timesteps come
    from the checkpoint's config; explicit timesteps set the step count), :class:`MDDSampler` for MDD."""
    config = config or SamplingConfig()
    process = diffusion_for(model)
    guidance = Guidance(config.cfg, config.cfg_schedule)
    if isinstance(process, MaskedDiffusion):
        return MDDSampler(process, config.steps, guidance, config.to_one, config.temperature, config.remasking,
                          config.omega, config.window, omega_steps=config.omega_steps)  # fmt: skip
    c = model.config
    timesteps = sampling_timesteps(c, config.steps, config.timesteps, process.schedule)
    return TDDSampler(process, len(timesteps), guidance, config.to_one, config.temperature,
                      parameterization=c.parameterization, timesteps=timesteps,
                      self_cond=getattr(c, "self_cond", False),
                      commit=c.commit if getattr(c, "per_position_t", False) else "none")  # fmt: skip
