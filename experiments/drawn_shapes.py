"""Shapes drawn another way: flat PIL polygons on plain grey, navy or white backgrounds — how a person's
image program draws a scene, unlike either of the project's renderers — captioned by each shipped scenes
captioner (20 steps, argmax; AR greedy). Each drawing is made at the size the app's canvas asks for (a
shape about a third of the image wide) and once far larger, 62 % of the image wide: larger than any shape of a
two-object scene in training, within the range of a lone large one (``tdd.data.scene_styles.LONE_LARGE_MAX``).

python experiments/drawn_shapes.py
"""

from __future__ import annotations

import math

import torch
from captioning import METHODS, load, parser
from common import command_line, markdown_table, write_result
from PIL import Image, ImageDraw

from tdd.caption import caption
from tdd.data.images import rgb_to_tensor
from tdd.data.scenes import CaptionParseError, Group, SceneDescription, parse_caption

CANVAS = 256
BACKGROUNDS = {"grey": (200, 200, 200), "navy": (20, 20, 80), "white": (255, 255, 255)}
FILLS = {"red": (230, 30, 30), "green": (40, 200, 60), "blue": (30, 60, 230), "yellow": (240, 220, 30)}


def _outline(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    """Polygon vertices of ``shape`` around (cx, cy) with half-width ``r`` (None: drawn as an ellipse)."""
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + 0.8 * r), (cx - r, cy + 0.8 * r)]
    if shape == "star":
        return [
            (cx + (r if k % 2 == 0 else 0.42 * r) * math.sin(k * math.pi / 5),
             cy - (r if k % 2 == 0 else 0.42 * r) * math.cos(k * math.pi / 5))
            for k in range(10)
        ]  # fmt: skip
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    return None


def drawing(background: str, items: list[tuple[str, str, float, float]], r: float) -> Image.Image:
    """``items``: (shape, colour, cx, cy) in canvas pixels; drawn at half-width ``r``, downscaled to 64 px."""
    im = Image.new("RGB", (CANVAS, CANVAS), BACKGROUNDS[background])
    d = ImageDraw.Draw(im)
    for shape, colour, cx, cy in items:
        points = _outline(shape, cx, cy, r)
        if points is None:
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=FILLS[colour])
        else:
            d.polygon(points, fill=FILLS[colour])
    return im.resize((64, 64), Image.BILINEAR)


def cases() -> list[tuple[str, Image.Image, SceneDescription]]:
    """(name, drawing, what a right caption says)."""
    out = []
    singles = [("red", "triangle", "grey"), ("green", "triangle", "navy"), ("blue", "triangle", "white"),
               ("yellow", "star", "grey"), ("red", "circle", "navy")]  # fmt: skip
    for size, r in (("canvas size", 44), ("far larger", 80)):
        for colour, shape, bg in singles:
            truth = SceneDescription(Group(shape, colour, "large"))
            out.append((f"{colour} {shape} on {bg}, {size}", drawing(bg, [(shape, colour, 128, 128)], r), truth))
    pair = [("circle", "red", 68, 128), ("square", "blue", 190, 128)]
    truth = SceneDescription(
        Group("circle", "red", "large"), "to the left of", Group("square", "blue", "large")
    ).canonical()
    out.append(("red circle left of blue square on white, canvas size", drawing("white", pair, 36), truth))
    return out


def right(text: str, truth: SceneDescription) -> bool:
    try:
        return parse_caption(text).canonical() == truth.canonical()
    except CaptionParseError:
        return False


def main() -> None:
    args = parser(__doc__).parse_args()
    drawn = cases()
    images = torch.stack([rgb_to_tensor(im) for _, im, _ in drawn])
    columns = {}
    for method in METHODS:
        model, tok = load(args, method)
        kw = {} if method == "ar" else {"steps": 3 if args.smoke else 20}
        columns[method] = caption(model, tok, images, generator=torch.Generator().manual_seed(args.seed), **kw).captions
    rows = []
    for i, (name, _, truth) in enumerate(drawn):
        rows.append([name, *(f"{columns[m][i]} {'✓' if right(columns[m][i], truth) else '✗'}" for m in METHODS)])
    text = "# Shapes drawn another way\n\n"
    text += f"Command: `{command_line()}`. Flat PIL shapes on plain backgrounds, {CANVAS}² px downscaled to 64²; "
    text += f"seed {args.seed}; ✓: the caption parses to the drawn scene.\n\n"
    text += markdown_table(["drawing", *(f"scenes-{m}" for m in METHODS)], rows)
    for m in METHODS:
        for size in ("canvas size", "far larger"):
            hits = [right(columns[m][i], t) for i, (name, _, t) in enumerate(drawn) if name.endswith(size)]
            text += f"\n- scenes-{m}, {size}: {sum(hits)} of {len(hits)} right"
    write_result(args, "drawn_shapes.md", text + "\n")


if __name__ == "__main__":
    main()
