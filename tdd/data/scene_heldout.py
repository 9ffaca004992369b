"""A held-out renderer style for the scenes: written apart from the training renderers and never used for
training, so that its test set estimates how a captioner does on images drawn unlike anything it saw.

What differs from :mod:`tdd.data.scenes` and :mod:`tdd.data.scene_styles`:

- primitives: no PIL drawing; every shape is its own vertex list (equilateral triangle, five-point star
  with inner ratio 0.5, cross arms 0.3 wide, …) filled by an even-odd point-in-polygon test on a 3×
  supersampled numpy grid, with a darker rim and a soft drop shadow;
- colours: one fixed value per name from the CSS palette (firebrick, forestgreen, royalblue, gold,
  darkviolet, darkorange, ivory) — inside the named bands (:func:`~tdd.data.scene_styles.nearest_colour`
  gives the name back), never the training renderers' exact values;
- backgrounds: smooth "paper" (bilinear upsampled noise) with a vignette, in light or dark tones.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from tdd.data.scene_grammar import SceneDescription
from tdd.data.scene_render import fit_layout

PALETTE = {
    "red": (178, 34, 34),
    "green": (34, 139, 34),
    "blue": (65, 105, 225),
    "yellow": (255, 215, 0),
    "purple": (148, 0, 211),
    "orange": (255, 140, 0),
    "white": (255, 255, 240),
}
RADIUS = {"small": 0.095, "large": 0.18}
GRID = 3  # supersampling of the point-in-polygon test


def _vertices(shape: str, x: float, y: float, r: float) -> np.ndarray:
    """``(n, 2)`` vertices; circles as 48-gons."""

    def ring(n: int, radii: list[float], start: float) -> np.ndarray:
        angles = start + 2 * math.pi * np.arange(n) / n
        rr = np.array([radii[k % len(radii)] for k in range(n)])
        return np.stack([x + rr * np.cos(angles), y + rr * np.sin(angles)], axis=1)

    if shape == "circle":
        return ring(48, [r], 0.0)
    if shape == "square":
        return ring(4, [r * 1.15], math.pi / 4)
    if shape == "diamond":
        return ring(4, [r], -math.pi / 2) * np.array([0.85, 1.0]) + np.array([x * 0.15, 0.0])
    if shape == "triangle":
        return ring(3, [r * 1.05], -math.pi / 2) + np.array([0.0, r * 0.2])
    if shape == "star":
        return ring(10, [r, r * 0.5], -math.pi / 2)
    if shape == "cross":
        a, b = r, r * 0.3
        d = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)]
        return np.array(d) + np.array([x, y])
    raise ValueError(f"unknown shape {shape!r}")


def _inside(vertices: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd rule: a ray to the right crosses the outline an odd number of times."""
    inside = np.zeros(px.shape, dtype=bool)
    xs, ys = vertices[:, 0], vertices[:, 1]
    for i in range(len(vertices)):
        x0, y0, x1, y1 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        crosses = (y0 > py) != (y1 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (px < at)
    return inside


def _paper(rng: np.random.Generator, size: int) -> np.ndarray:
    light = rng.random() < 0.5
    tone = rng.uniform(0.8, 0.95) if light else rng.uniform(0.08, 0.25)
    coarse = rng.normal(0, 0.06, (6, 6, 1)) + rng.normal(0, 0.01, (6, 6, 3))  # grey blotches, a faint tint
    smooth = np.array(Image.fromarray(((coarse + 0.5) * 255).clip(0, 255).astype(np.uint8)).resize((size, size)))
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    vignette = 1 - 0.35 * (xx**2 + yy**2)
    img = (tone + (smooth / 255.0 - 0.5)) * vignette[..., None]
    return np.clip(img, 0, 1)


def render_heldout(description: SceneDescription, rng: np.random.Generator, size: int) -> tuple:
    """Draw ``description`` in the held-out style; ``(image (size, size, 3) uint8, objects)``."""
    radius = {g: RADIUS[g.size] for g in description.groups()}
    spots = fit_layout(rng, description, radius)
    big = size * GRID
    img = np.array(Image.fromarray((_paper(rng, size) * 255).astype(np.uint8)).resize((big, big))) / 255.0
    py, px = (np.mgrid[0:big, 0:big] + 0.5) / big
    objects = []
    for group, x, y, r in spots:
        body = _inside(_vertices(group.shape, x, y, r), px, py)
        shadow = _inside(_vertices(group.shape, x + 0.012, y + 0.015, r), px, py) & ~body
        core = _inside(_vertices(group.shape, x, y, r * 0.86), px, py)
        colour = np.array(PALETTE[group.colour]) / 255.0
        img[shadow] *= 0.6
        img[body] = colour * 0.7  # the rim
        img[core] = colour
        objects.append((group.shape, group.colour, group.size, x, y, r))
    image = Image.fromarray((img * 255).round().astype(np.uint8)).resize((size, size), Image.Resampling.BOX)
    return np.array(image), objects
