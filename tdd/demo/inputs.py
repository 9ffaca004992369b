"""The user's input: an upload or drawing → the model's input, the sampling settings, pinned words."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdd.demo.catalogue import Loaded
from tdd.demo.common import FREE_WORD, MAX_CFG, MAX_SEED, MAX_STEPS, MAX_TEMPERATURE, DemoError


def flatten_drawing(image: Any) -> Any:
    """A gr.Sketchpad / ImageEditor value (a dict) → its flattened drawing; anything else unchanged."""
    if isinstance(image, dict):
        return image.get("composite") if image.get("composite") is not None else image.get("background")
    return image


def image_input(image: Any, loaded: Loaded):
    """A path, bytes, PIL image or array (or a Gradio sketchpad dict) → the model's ``(1, C, H, W)`` input."""
    from tdd.data.digits import preprocess_image
    from tdd.data.images import ImageError, preprocess_rgb

    image = flatten_drawing(image)
    if image is None:
        raise DemoError("no image: upload one, draw one, or pick an example")
    try:
        if loaded.task == "classify":
            x = preprocess_image(image, loaded.image_size)
        else:
            x = preprocess_rgb(image, loaded.image_size)
    except ImageError as e:
        message = str(e)
        if isinstance(image, (str, os.PathLike)):  # name the file, not where the server keeps it
            message = message.replace(str(image), Path(image).name)
        raise DemoError(message) from e
    return x.unsqueeze(0)


SPACING_CHOICES = ("checkpoint", "uniform", "informative")  # TDD sampling timesteps: the model's own, or a choice


@dataclass
class Settings:
    """Sampling settings shared by every control surface (Gradio, Streamlit, API)."""

    steps: int = 20
    cfg: float = 1.0
    cfg_schedule: str = "constant"
    to_one: str = "argmax"
    temperature: float = 1.0
    seed: int = 0
    remasking: str = "low_confidence"
    omega: float = 0.0
    window: tuple[float, float] = (0.3, 0.55)
    spacing: str = "checkpoint"

    def __post_init__(self):
        """Cast and check every field; a value out of its documented range gets a message naming it.

        Ranges: steps 1–100 (whole), seed 0 … 2⁶³ − 1 (whole), CFG scale 0–20, temperature in
        (0, 10], ω and the ω window in [0, 1]; NaN and infinities are refused.
        """
        from tdd.samplers.common import GUIDANCE_SCHEDULES, TO_ONE

        self.steps = _whole("steps", self.steps, 1, MAX_STEPS)
        self.seed = _whole("seed", self.seed, 0, MAX_SEED)
        self.cfg = _number("the CFG scale", self.cfg, 0.0, MAX_CFG)
        self.temperature = _number("temperature", self.temperature, 0.0, MAX_TEMPERATURE, open_low=True)
        self.omega = _number("ω", self.omega, 0.0, 1.0)
        try:
            start, end = self.window
        except (TypeError, ValueError):
            raise DemoError(f"the ω window must be two numbers (start, end), got {self.window!r}") from None
        self.window = (_number("the ω window start", start, 0.0, 1.0), _number("the ω window end", end, 0.0, 1.0))
        if self.window[0] > self.window[1]:
            raise DemoError(f"the ω window must satisfy start ≤ end, got {self.window}")
        if self.cfg_schedule not in GUIDANCE_SCHEDULES:
            raise DemoError(f"CFG schedule must be one of {GUIDANCE_SCHEDULES}, got {str(self.cfg_schedule)[:40]!r}")
        if self.to_one not in TO_ONE:
            raise DemoError(f"to-one must be one of {TO_ONE}, got {str(self.to_one)[:40]!r}")
        if self.remasking not in ("low_confidence", "random"):
            raise DemoError(f"remasking must be low_confidence or random, got {str(self.remasking)[:40]!r}")
        if self.spacing not in SPACING_CHOICES:
            raise DemoError(f"timesteps must be one of {', '.join(SPACING_CHOICES)}, got {str(self.spacing)[:40]!r}")

    @property
    def sampling_spacing(self) -> str | None:
        """For :func:`tdd.caption.captioner_sampler`: ``None`` keeps the checkpoint's own spacing."""
        return None if self.spacing == "checkpoint" else self.spacing


def _number(name: str, value: Any, low: float, high: float, open_low: bool = False) -> float:
    """``value`` as a finite float in [low, high] (or (low, high]), else a :class:`DemoError` naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DemoError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    below = x <= low if open_low else x < low
    if not math.isfinite(x) or below or x > high:
        interval = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
        raise DemoError(f"{name} must be in {interval}, got {str(value)[:40]}")
    return x


def _whole(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as a whole number in [low, high], else a :class:`DemoError` naming ``name``."""
    try:
        x = float(value) if not isinstance(value, int) else value
        if isinstance(x, float):
            if not (math.isfinite(x) and x.is_integer()):
                raise ValueError
            x = int(x)
    except (TypeError, ValueError, OverflowError):
        raise DemoError(f"{name} must be a whole number, got {str(value)[:40]!r}") from None
    if not low <= x <= high:
        raise DemoError(f"{name} must be between {low} and {high}, got {str(value)[:40]}")
    return x


def parse_pins(text: str, loaded: Loaded):
    """A caption with ``_`` for the words to regenerate → ``(clamp_tokens, clamp_mask)`` ``(1, N)``.

    ``"a large _ circle"`` pins positions 0, 1, 3 and leaves the colour (and every position after the
    last word, which is padding) to the sampler. Returns ``(None, None)`` for an empty text.
    """
    import torch

    from tdd.data.tokenizer import PAD_ID, UNK_ID

    words = text.strip().lower().split()
    if not words:
        return None, None
    n = loaded.model.config.max_len
    if len(words) > n:
        raise DemoError(f"the pinned caption has {len(words)} words; this model writes at most {n}")
    tokens = torch.full((1, n), PAD_ID, dtype=torch.long)
    mask = torch.zeros((1, n), dtype=torch.bool)
    for i, w in enumerate(words):
        if w == FREE_WORD:
            continue
        token = loaded.tokenizer.token_to_id(w)
        if token is None or token == UNK_ID:
            raise DemoError(f"the word {w!r} is not in this model's vocabulary")
        tokens[0, i], mask[0, i] = token, True
    if mask.all():
        raise DemoError(f"every word is pinned; replace the words to regenerate with {FREE_WORD}")
    return tokens, mask
