"""Sampling settings, defined once: the defaults, the allowed choices and the ranges that the library,
the CLI, both apps and the notebooks read from here (never copy).

    config = SamplingConfig(steps=10, cfg=2.0)          # validated on construction
    sampler = tdd.sampling.sampler_for(model, config)    # TDDSampler or MDDSampler, matching the model
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from tdd import rng
from tdd.rng import MAX_SEED
from tdd.samplers.common import DEFAULT_STEPS, GUIDANCE_SCHEDULES, TO_ONE
from tdd.samplers.mdd_sampler import DEFAULT_REMASK_WINDOW, REMASKING
from tdd.timesteps import SAMPLING_SPACINGS

SPACINGS = ("checkpoint", *SAMPLING_SPACINGS)  # TDD's sampling timesteps: the checkpoint's own, or a choice


class SamplingError(ValueError):
    """A sampling setting outside its choices or range; the message names the setting."""


@dataclass
class SamplingConfig:
    """How to sample from a TDD or masked-diffusion model.

    Args:
        steps: S denoising steps (a list of timesteps in ``spacing`` sets S itself).
        cfg: the classifier-free guidance scale (1 = none).
        cfg_schedule: how the guidance scale moves over the steps.
        to_one: the "to-one" operation of A.2 (argmax, or a multinomial draw).
        temperature: the temperature of ``multinomial``.
        remasking: the masked-diffusion baseline's remasking (DLC appendix): which positions to decode.
        omega: the masked baseline's remasking rate ω.
        window: the share of the trajectory where ω acts.
        omega_steps: the step count ω refers to (``None``: ω per step of this sampler).
        spacing: TDD's timesteps: ``"checkpoint"`` (the model's own), ``"uniform"`` (the paper's
            respacing), ``"informative"`` (equal drops of the model's measured CE curve) or explicit timesteps.
        best_of: n candidates an input, drawn as one batch, of which the one the model itself scores highest is
            kept (:mod:`tdd.rerank`; captioners). 1: the sampler's single answer.
        seed: what the sampling draws start from, 0 … 2⁶³ − 1 (:func:`tdd.rng.generator` makes the generator;
            the samplers themselves take the generator, as diffusers' pipelines do).

    Every field is cast and checked on construction (a form's strings of numbers are accepted);
    :attr:`RANGES` and :attr:`CHOICES` are what the CLI's flags and the apps' widgets offer.
    """

    steps: int = DEFAULT_STEPS
    cfg: float = 1.0
    cfg_schedule: str = "constant"
    to_one: str = "argmax"
    temperature: float = 1.0
    remasking: str = "low_confidence"
    omega: float = 0.0
    window: tuple[float, float] = DEFAULT_REMASK_WINDOW
    spacing: str | tuple[int, ...] = "checkpoint"
    omega_steps: int | None = None
    best_of: int = 1
    seed: int = 0

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "cfg_schedule": GUIDANCE_SCHEDULES,
        "to_one": TO_ONE,
        "remasking": REMASKING,
        "spacing": SPACINGS,
    }
    MAX_CFG: ClassVar[float] = 20.0  # a larger guidance scale only saturates the softmax
    MAX_TEMPERATURE: ClassVar[float] = 10.0
    MAX_BEST_OF: ClassVar[int] = 16  # one batch of n rows an input
    MAX_STEPS: ClassVar[int] = 4096  # the DLC appendix's masked-diffusion sampler; TDD stops at its T

    def __post_init__(self) -> None:
        self.validate(self.MAX_STEPS)

    def validate(self, max_steps: int) -> None:
        """Cast and check every field; ``max_steps`` lets a caller (the app) bound S more tightly."""
        self.steps = whole("steps", self.steps, 1, max_steps)
        self.cfg = number("the CFG scale", self.cfg, 0.0, self.MAX_CFG)
        self.temperature = number("temperature", self.temperature, 0.0, self.MAX_TEMPERATURE, open_low=True)
        self.omega = number("ω", self.omega, 0.0, 1.0)
        try:
            start, end = self.window
        except (TypeError, ValueError):
            raise SamplingError(f"the ω window must be two numbers (start, end), got {self.window!r}") from None
        self.window = (number("the ω window start", start, 0.0, 1.0), number("the ω window end", end, 0.0, 1.0))
        if self.window[0] > self.window[1]:
            raise SamplingError(f"the ω window must satisfy start ≤ end, got {self.window}")
        self.seed = whole("seed", self.seed, 0, MAX_SEED)
        self.best_of = whole("best of n", self.best_of, 1, self.MAX_BEST_OF)
        if self.omega_steps is not None:
            self.omega_steps = whole("omega_steps", self.omega_steps, 1, 1 << 20)
        names = {"cfg_schedule": "CFG schedule", "to_one": "to-one", "remasking": "remasking", "spacing": "timesteps"}
        for name, choices in self.CHOICES.items():
            value = getattr(self, name)
            if name == "spacing" and isinstance(value, (list, tuple)):
                self.spacing = tuple(whole("a timestep", t, 0, 1 << 20) for t in value)
            elif value not in choices:
                raise SamplingError(f"{names[name]} must be one of {', '.join(choices)}, got {str(value)[:40]!r}")

    def generator(self, device: Any = None) -> Any:
        """A generator seeded with :attr:`seed` (:func:`tdd.rng.generator`)."""
        return rng.generator(self.seed, device)

    @property
    def timesteps(self) -> str | list[int] | None:
        """For :func:`tdd.timesteps.sampling_timesteps`: ``None`` keeps the checkpoint's own spacing."""
        if isinstance(self.spacing, tuple):
            return list(self.spacing)
        return None if self.spacing == "checkpoint" else self.spacing


def number(name: str, value: Any, low: float, high: float, open_low: bool = False) -> float:
    """``value`` as a finite float in [low, high] (or (low, high]), else a :class:`SamplingError` naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SamplingError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    below = x <= low if open_low else x < low
    if not math.isfinite(x) or below or x > high:
        interval = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
        raise SamplingError(f"{name} must be in {interval}, got {str(value)[:40]}")
    return x


def whole(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as a whole number in [low, high], else a :class:`SamplingError` naming ``name``."""
    try:
        x = float(value) if not isinstance(value, int) else value
        if isinstance(x, float):
            if not (math.isfinite(x) and x.is_integer()):
                raise ValueError
            x = int(x)
    except (TypeError, ValueError, OverflowError):
        raise SamplingError(f"{name} must be a whole number, got {str(value)[:40]!r}") from None
    if not low <= x <= high:
        raise SamplingError(f"{name} must be between {low} and {high}, got {str(value)[:40]}")
    return x
