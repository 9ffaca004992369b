"""The user's input: an upload or drawing → the model's input, the sampling settings, pinned words."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tdd.data.images import ImageError
from tdd.data.tokenizer import PAD_ID, UNK_ID
from tdd.demo.catalogue import Loaded
from tdd.demo.common import FREE_WORD, MAX_STEPS, DemoError
from tdd.demo.task import Task, task_of
from tdd.samplers.config import SamplingConfig, SamplingError


def flatten_drawing(image: Any) -> Any:
    """A gr.Sketchpad / ImageEditor value (a dict) → its flattened drawing; anything else unchanged."""
    if isinstance(image, dict):
        return image.get("composite") if image.get("composite") is not None else image.get("background")
    return image


def image_input(image: Any, loaded: Loaded, spec: Task | None = None):
    """A path, bytes, PIL image or array (or a Gradio sketchpad dict) → the model's ``(1, C, H, W)`` input,
    preprocessed as the tab ``spec`` does (by default the tab named as the model's task)."""

    image = flatten_drawing(image)
    if image is None:
        raise DemoError("no image: upload one, draw one, or pick an example")
    try:
        x = (spec or task_of(loaded.task)).preprocess(image, loaded.image_size)
    except ImageError as e:
        message = str(e)
        if isinstance(image, (str, os.PathLike)):  # name the file, not where the server keeps it
            message = message.replace(str(image), Path(image).name)
        raise DemoError(message) from e
    return x.unsqueeze(0)


@dataclass
class Settings(SamplingConfig):
    """The sampling settings of every control surface (Gradio, Streamlit, API): a
    :class:`SamplingConfig` (its fields, defaults, choices and checks, the seed among them) under the app's bounds.

    Ranges: steps 1–100 (whole), seed 0 … 2⁶³ − 1 (whole), CFG scale 0–20, temperature in (0, 10],
    ω and the ω window in [0, 1]; NaN and infinities are refused. A value out of its range gets a
    :class:`DemoError` naming it.
    """

    def __post_init__(self) -> None:
        try:
            self.validate(MAX_STEPS)
        except SamplingError as e:
            raise DemoError(str(e)) from None


def settings_from(values: dict[str, Any], **fixed: Any) -> Settings:
    """Widgets' values by :class:`Settings` field name → the settings (both apps bind their widgets this way,
    so a new sampling setting is one field plus one widget). A tuple field comes as one value or as its
    parts ``"name[0]"``, ``"name[1]"``; ``fixed`` overrides (e.g. ``cfg=0`` for "without the picture")."""
    fields = dict(values)
    for key in [k for k in fields if k.endswith("]") and "[" in k]:
        name, index = key[:-1].split("[")
        parts = fields.setdefault(name, {})
        parts[int(index)] = fields.pop(key)
    fields = {k: tuple(v[i] for i in sorted(v)) if isinstance(v, dict) else v for k, v in fields.items()}
    unknown = sorted(set(fields) - set(Settings.__dataclass_fields__))
    if unknown:
        raise TypeError(f"no such sampling settings: {unknown}")
    return Settings(**{**fields, **fixed})


def parse_pins(text: str, loaded: Loaded):
    """A caption with ``_`` for the words to regenerate → ``(clamp_tokens, clamp_mask)`` ``(1, N)``.

    ``"a large _ circle"`` pins positions 0, 1, 3 and leaves the colour (and every position after the
    last word, which is padding) to the sampler. Returns ``(None, None)`` for an empty text.
    """

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
