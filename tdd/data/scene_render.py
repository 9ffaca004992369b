"""The plain scenes renderer: flat shapes drawn with PIL (4× supersampled) on a dark, varied background,
and the layout that makes a description's relation true. Domain-randomised and held-out styles:
:mod:`tdd.data.scene_styles`, :mod:`tdd.data.scene_heldout`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from tdd.data.scene_grammar import COLOURS, DEFAULT_IMAGE_SIZE, SIZES, SUPERSAMPLE, Group, SceneDescription, order_along


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Plain colour, a gradient, or light noise; dark to mid tones so every object colour shows."""
    base = rng.uniform(0.05, 0.4, 3)
    kind = rng.integers(3)
    img = np.broadcast_to(base, (size, size, 3)).copy()
    if kind == 1:
        other = rng.uniform(0.05, 0.4, 3)
        ramp = np.linspace(0, 1, size)[:, None, None] if rng.integers(2) else np.linspace(0, 1, size)[None, :, None]
        img = base * (1 - ramp) + other * ramp
    elif kind == 2:
        img = img + rng.normal(0, 0.04, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _polygon(shape: str, x: float, y: float, r: float) -> list[tuple[float, float]]:
    if shape == "square":
        s = r * 0.85
        return [(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)]
    if shape == "diamond":
        return [(x, y - r), (x + r * 0.8, y), (x, y + r), (x - r * 0.8, y)]
    if shape == "triangle":
        return [(x, y - r), (x + r * 0.95, y + r * 0.75), (x - r * 0.95, y + r * 0.75)]
    if shape == "star":
        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            a = -np.pi / 2 + k * np.pi / 5
            pts.append((x + rad * np.cos(a), y + rad * np.sin(a)))
        return pts
    if shape == "cross":  # twelve corners of a plus sign, arm half-width 0.35 r
        a, b = r, r * 0.35
        corners = [
            (-b, -a),
            (b, -a),
            (b, -b),
            (a, -b),
            (a, b),
            (b, b),
            (b, a),
            (-b, a),
            (-b, b),
            (-a, b),
            (-a, -b),
            (-b, -b),
        ]
        return [(x + dx, y + dy) for dx, dy in corners]
    raise ValueError(f"unknown shape {shape!r}")


def _draw(draw: ImageDraw.ImageDraw, shape: str, colour: str, x: float, y: float, r: float) -> None:
    fill = COLOURS[colour]
    if shape == "circle":
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    else:
        draw.polygon(_polygon(shape, x, y, r), fill=fill)


def _place_group(
    rng, group: Group, box: tuple[float, float, float, float], placed: list, r: float | None = None
) -> list | None:
    """Non-overlapping centres for the group's objects (radius ``r``, by default its size's) inside
    ``box`` (x0, y0, x1, y1) in [0, 1]; ``(x, y, r)`` each."""
    r = SIZES[group.size] if r is None else r
    out: list = []
    for _ in range(group.count):
        for _attempt in range(60):
            x0, y0, x1, y1 = box[0] + r, box[1] + r, box[2] - r, box[3] - r
            if x0 > x1 or y0 > y1:
                return None
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if all((x - px) ** 2 + (y - py) ** 2 > (r + pr + 0.02) ** 2 for px, py, pr in placed + out):
                out.append((x, y, r))
                break
        else:
            return None
    return out


def layout(
    rng: np.random.Generator, d: SceneDescription, radius: dict[Group, float]
) -> list[tuple[Group, float, float, float]] | None:
    """``(group, x, y, r)`` per object, in [0, 1], that make ``d`` true with each group's ``radius``: for a
    relation, the first group lies wholly on that side of a cut, and the two groups overlap along the other
    axis — the inner halves of their extents do — so that no second relation holds, not even nearly (a star
    left of a square is not also above it; see :func:`tdd.data.scenes.true_relations`). ``None`` when this
    draw does not fit."""
    if d.second is None:
        spots = _place_group(rng, d.first, (0.03, 0.03, 0.97, 0.97), [], radius[d.first])
        return None if spots is None else [(d.first, x, y, r) for x, y, r in spots]
    assert d.relation is not None  # two groups always have a relation
    # Split the canvas: the second group on one side, the first on the other, with a gap.
    cut = rng.uniform(0.42, 0.58)
    gap = 0.03
    halves = {
        "to the left of": ((0.02, 0.02, cut - gap, 0.98), (cut + gap, 0.02, 0.98, 0.98)),
        "to the right of": ((cut + gap, 0.02, 0.98, 0.98), (0.02, 0.02, cut - gap, 0.98)),
        "above": ((0.02, 0.02, 0.98, cut - gap), (0.02, cut + gap, 0.98, 0.98)),
        "below": ((0.02, cut + gap, 0.98, 0.98), (0.02, 0.02, 0.98, cut - gap)),
    }
    first_box, second_box = halves[d.relation]
    second = _place_group(rng, d.second, second_box, [], radius[d.second])
    if second is None:
        return None
    first = _place_group(rng, d.first, first_box, second, radius[d.first])
    if first is None:
        return None
    other_axis = 1 if d.relation in ("to the left of", "to the right of") else 0
    if order_along(first, second, other_axis, reach=0.5) != 0:
        return None  # (nearly) apart on the other axis too: two relations would be true
    return [(d.first, x, y, r) for x, y, r in first] + [(d.second, x, y, r) for x, y, r in second]


def render(description: SceneDescription, rng: np.random.Generator, size: int = DEFAULT_IMAGE_SIZE) -> tuple:
    """Draw ``description``; returns ``(image (size, size, 3) uint8, objects)``."""
    spots = fit_layout(rng, description, {g: SIZES[g.size] for g in description.groups()})
    big = size * SUPERSAMPLE
    canvas = Image.fromarray(_background(rng, size)).resize((big, big), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(canvas)
    objects = []
    for group, x, y, r in spots:
        _draw(draw, group.shape, group.colour, x * big, y * big, r * big)
        objects.append((group.shape, group.colour, group.size, x, y, r))
    image = np.array(canvas.resize((size, size), Image.Resampling.LANCZOS))  # a writable copy
    return image, objects


def fit_layout(
    rng: np.random.Generator, d: SceneDescription, radius: dict[Group, float], attempts: int = 100
) -> list[tuple[Group, float, float, float]]:
    """:func:`layout`, drawn again until it fits (the size ranges always fit within a few draws)."""
    for _ in range(attempts):
        spots = layout(rng, d, radius)
        if spots is not None:
            return spots
    raise RuntimeError(f"could not lay out {d}")  # pragma: no cover
