"""Domain randomisation for the scenes renderer: the same descriptions, drawn many ways, so that a
captioner learns shapes and colours rather than one renderer's exact pixels.

Every scene draws its own style from the scene's generator (deterministic per index):

- **colour**: each named colour is a band, not one RGB value (``COLOUR_BANDS``): a hue interval and
  saturation/value ranges in HSV; white is low saturation and high value. The documented metric
  :func:`nearest_colour` maps any RGB back to a name (white when saturation < 0.2 and value > 0.75,
  otherwise the nearest hue centre on the colour circle), and every band stays nearest to its own name.
- **background**: flat light, flat dark, a gradient, noise, or stripes/checks (simple textures); a
  background too close to an object's colour is redrawn.
- **objects**: filled or outlined (stroke 1–4 px at 64 px), drawn anti-aliased (4× supersampling) or not,
  radius drawn per group from its size's range (``SIZE_RANGES``, boundary at 0.125 of the side: small is
  always below, large always above; a lone large object, the way a person draws one shape, up to
  ``LONE_LARGE_MAX`` so that it may fill most of the image), rotated by up to ±12° (a square never
  becomes a diamond, which is a 45° square), and a hand-drawn wobble of the outline.
- **image**: rendered at 48–128 px and resized, Gaussian blur, JPEG compression (each with a probability).
"""

from __future__ import annotations

import colorsys
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tdd.data.scene_grammar import SUPERSAMPLE, Group, SceneDescription
from tdd.data.scene_render import _polygon, fit_layout

# name → (hue centre in degrees, hue half-width, saturation range, value range); white: hue unused
COLOUR_BANDS: dict[str, tuple[float, float, tuple[float, float], tuple[float, float]]] = {
    "red": (0.0, 10.0, (0.65, 1.0), (0.6, 1.0)),
    "orange": (28.0, 7.0, (0.75, 1.0), (0.85, 1.0)),
    "yellow": (54.0, 6.0, (0.7, 1.0), (0.85, 1.0)),
    "green": (125.0, 25.0, (0.55, 1.0), (0.45, 0.95)),
    "blue": (222.0, 16.0, (0.6, 1.0), (0.6, 1.0)),
    "purple": (282.0, 16.0, (0.5, 1.0), (0.5, 0.95)),
    "white": (0.0, 180.0, (0.0, 0.08), (0.9, 1.0)),
}
HUE_CENTRES = {name: band[0] for name, band in COLOUR_BANDS.items() if name != "white"}
WHITE_MAX_SATURATION, WHITE_MIN_VALUE = 0.2, 0.75
SIZE_RANGES = {"small": (0.07, 0.115), "large": (0.135, 0.21)}  # radius / side; boundary 0.125
SIZE_BOUNDARY = 0.125
LONE_LARGE_MAX = 0.33  # radius / side of a scene's only object when large: two thirds of the image wide
MAX_ROTATION_DEGREES = 12.0
MIN_BACKGROUND_DISTANCE = 0.35  # RGB distance in [0, √3] between the background and every object colour


def nearest_colour(rgb: tuple[float, float, float] | np.ndarray) -> str:
    """The named colour of an RGB triple in [0, 255]: white when saturation < 0.2 and value > 0.75,
    otherwise the name whose hue centre is nearest on the colour circle (the documented metric)."""
    r, g, b = (float(c) / 255.0 for c in rgb)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    if s < WHITE_MAX_SATURATION and v > WHITE_MIN_VALUE:
        return "white"
    hue = 360.0 * h
    return min(HUE_CENTRES, key=lambda n: min(abs(hue - HUE_CENTRES[n]), 360 - abs(hue - HUE_CENTRES[n])))


def sample_colour(rng: np.random.Generator, name: str) -> tuple[int, int, int]:
    """An RGB triple from the band of ``name``."""
    centre, half, (s0, s1), (v0, v1) = COLOUR_BANDS[name]
    hue = (centre + rng.uniform(-half, half)) % 360.0
    r, g, b = colorsys.hsv_to_rgb(hue / 360.0, rng.uniform(s0, s1), rng.uniform(v0, v1))
    return int(round(255 * r)), int(round(255 * g)), int(round(255 * b))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """One of: flat light, flat dark, gradient, noise, stripes or checks; ``(size, size, 3)`` in [0, 1]."""
    kind = rng.integers(6)
    light = rng.integers(2) == 1
    base = rng.uniform(0.75, 0.97, 3) if light else rng.uniform(0.02, 0.35, 3)
    base = base * 0.3 + base.mean() * 0.7  # mostly grey, a little tint
    img = np.broadcast_to(base, (size, size, 3)).copy()
    if kind == 2:  # gradient towards another tone
        other = np.clip(base + rng.uniform(-0.25, 0.25, 3), 0, 1)
        ramp = np.linspace(0, 1, size)
        ramp = ramp[:, None, None] if rng.integers(2) else ramp[None, :, None]
        img = base * (1 - ramp) + other * ramp
    elif kind == 3:  # noise
        img = img + rng.normal(0, rng.uniform(0.02, 0.07), img.shape)
    elif kind in (4, 5):  # stripes or checks of a nearby tone
        period = int(rng.integers(4, 12)) * size // 64 or 1
        yy, xx = np.mgrid[0:size, 0:size] // period
        mask = (yy % 2) if kind == 4 else ((yy + xx) % 2)
        img = img + (mask[..., None] * rng.uniform(-0.12, 0.12))
    return np.clip(img, 0, 1)


def _wobble(points: list[tuple[float, float]], rng: np.random.Generator, amount: float) -> list[tuple[float, float]]:
    """Subdivide each edge and jitter the points: a hand-drawn outline."""
    out = []
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        for k in range(3):
            t = k / 3
            out.append((x0 + t * (x1 - x0) + rng.normal(0, amount), y0 + t * (y1 - y0) + rng.normal(0, amount)))
    return out


def _rotate(points: list[tuple[float, float]], x: float, y: float, degrees: float) -> list[tuple[float, float]]:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return [(x + (px - x) * c - (py - y) * s, y + (px - x) * s + (py - y) * c) for px, py in points]


def _outline(shape: str, x: float, y: float, r: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """The shape's outline as a polygon (circles as 32-gons), rotated and wobbled."""
    if shape == "circle":
        pts = [(x + r * math.cos(2 * math.pi * k / 32), y + r * math.sin(2 * math.pi * k / 32)) for k in range(32)]
    else:
        pts = _polygon(shape, x, y, r)
    pts = _rotate(pts, x, y, rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    if rng.random() < 0.5:
        pts = _wobble(pts, rng, r * rng.uniform(0.01, 0.04))
    return pts


def _far_from(background: np.ndarray, colours: list[tuple[int, int, int]]) -> bool:
    mean = background.reshape(-1, 3).mean(0)
    return all(np.linalg.norm(mean - np.array(c) / 255.0) >= MIN_BACKGROUND_DISTANCE for c in colours)


def size_range(description: SceneDescription, group: Group) -> tuple[float, float]:
    """The radius range (fraction of the side) a group's objects are drawn from: its size's, and for a lone
    large object up to :data:`LONE_LARGE_MAX`."""
    low, high = SIZE_RANGES[group.size]
    alone = description.second is None and group.count == 1 and group.size == "large"
    return (low, LONE_LARGE_MAX) if alone else (low, high)


def render_randomised(description: SceneDescription, rng: np.random.Generator, size: int) -> tuple:
    """Draw ``description`` in a random style; returns ``(image (size, size, 3) uint8, objects)``."""
    groups = description.groups()
    radius = {g: float(rng.uniform(*size_range(description, g))) for g in groups}
    spots = fit_layout(rng, description, radius)
    colours = {g: sample_colour(rng, g.colour) for g in groups}
    draw_size = int(rng.integers(48, 129)) if rng.random() < 0.3 else size
    for _ in range(20):
        background = _background(rng, draw_size)
        if _far_from(background, list(colours.values())):
            break
    smooth = rng.random() < 0.7
    scale = SUPERSAMPLE if smooth else 1
    big = draw_size * scale
    canvas = Image.fromarray((background * 255).astype(np.uint8)).resize((big, big), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(canvas)
    filled = rng.random() < 0.7
    stroke = max(1, int(round(rng.uniform(1, 4) * big / 64)))
    objects = []
    for group, x, y, r in spots:
        outline = _outline(group.shape, x * big, y * big, r * big, rng)
        if filled:
            draw.polygon(outline, fill=colours[group])
        else:
            draw.line(outline + outline[:1], fill=colours[group], width=stroke, joint="curve")
        objects.append((group.shape, group.colour, group.size, x, y, r))
    image = canvas.resize((size, size), Image.Resampling.LANCZOS if smooth else Image.Resampling.BILINEAR)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.3:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(rng.integers(30, 95)))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return np.array(image), objects
