"""The drawing canvas of each task, as data the apps lay out (Gradio's sketchpad, Streamlit's upload):
the pen colours, the brush, the backgrounds to draw on, and whether a sketchpad value holds a drawing.

The scenes canvas offers exactly the scenes' named colours (:data:`tdd.data.scenes.COLOURS`) and a light
or a dark background, so that what a student draws is something the captioner has words for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageChops

from tdd.data.scenes import COLOURS
from tdd.demo.common import DemoError


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


@dataclass(frozen=True)
class Canvas:
    """One task's canvas. ``colours``: the pen's palette (hex), the first one selected; ``names``: what each
    colour is called; ``backgrounds``: name → hex of the plain backgrounds to choose from (empty: the
    sketchpad's own white, no choice); ``side``: canvas pixels; ``brush``: the default pen width."""

    label: str
    colours: tuple[str, ...]
    names: tuple[str, ...]
    side: int
    brush: int
    backgrounds: dict[str, str] = field(default_factory=dict)

    def background_image(self, name: str | None = None):
        """The empty canvas on background ``name`` (the first by default) as an RGB PIL image, or ``None``
        for a canvas without backgrounds."""

        if not self.backgrounds:
            return None
        name = name or next(iter(self.backgrounds))
        if name not in self.backgrounds:
            raise DemoError(f"background must be one of {', '.join(self.backgrounds)}, got {name!r}")
        return Image.new("RGB", (self.side, self.side), self.backgrounds[name])


def scene_canvas() -> Canvas:
    return Canvas(
        label="…or draw a scene: pick a colour, paint shapes about a third of the canvas wide or smaller",
        colours=tuple(_hex(rgb) for rgb in COLOURS.values()),
        names=tuple(COLOURS),
        side=256,
        brush=14,
        backgrounds={"light": "#ececec", "dark": "#202020"},  # flat backgrounds, as the randomised renderer draws
    )


def digit_canvas() -> Canvas:
    return Canvas(label="…or draw a digit: drag on the white square", colours=("#000000",), names=("black",),
                  side=280, brush=16)  # fmt: skip


def emoji_canvas() -> Canvas:
    """The emoji tab's: a face's yellow, outline black and a few strong colours on white."""
    names = ("yellow", "black", "red", "orange", "brown", "green", "blue", "white")
    colours = ("#ffcc4d", "#000000", "#dd2e44", "#f4900c", "#a0522d", "#2e9e44", "#3b88c3", "#ffffff")
    return Canvas(label="…or draw an emoji: a big face or thing filling most of the square", colours=colours,
                  names=names, side=256, brush=16)  # fmt: skip


def has_drawing(value: Any) -> bool:
    """Whether a sketchpad value (``{"background", "layers", "composite"}``) holds any stroke: a drawn
    layer's alpha, or, without layers, a composite that differs from the background (an empty canvas on
    a coloured background is opaque, so its alpha alone says nothing) or, without a background, any
    non-transparent pixel of the composite."""
    if not isinstance(value, dict):
        return False
    layers = [layer for layer in value.get("layers") or [] if layer is not None]
    if layers:
        return any(_alpha_box(layer) is not None for layer in layers)
    composite, background = value.get("composite"), value.get("background")
    if composite is None:
        return False
    if background is not None:
        return _differs(composite, background)
    return _alpha_box(composite) is not None


def same_drawing(a: Any, b: Any) -> bool:
    """Whether two sketchpad values hold the same picture, pixel for pixel (their composites): a change event of
    the canvas that arrives after a run of that very drawing is no new input."""
    if not (isinstance(a, dict) and isinstance(b, dict)) or a.get("composite") is None or b.get("composite") is None:
        return False
    x, y = np.asarray(_pil(a["composite"])), np.asarray(_pil(b["composite"]))
    return x.shape == y.shape and bool(np.array_equal(x, y))


def _pil(image: Any):
    return image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))


def _differs(a: Any, b: Any) -> bool:
    a, b = _pil(a).convert("RGB"), _pil(b).convert("RGB")
    return a.size != b.size or ImageChops.difference(a, b).getbbox() is not None


def _alpha_box(image: Any):
    image = _pil(image)
    return image.getchannel("A").getbbox() if image.mode == "RGBA" else image.getbbox()
