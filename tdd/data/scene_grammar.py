"""The scenes' words and what a caption says — shapes, colours, sizes, counts, relations; a group of objects
and a scene's description — shared by the scene generator (:mod:`tdd.data.scenes`, which re-exports all of
it) and its renderers (:mod:`~tdd.data.scene_render`, :mod:`~tdd.data.scene_styles`,
:mod:`~tdd.data.scene_heldout`), which the generator calls."""

from __future__ import annotations

from dataclasses import dataclass

SHAPES = ("circle", "square", "triangle", "star", "diamond", "cross")
PLURAL = {s: s + ("es" if s.endswith("s") else "s") for s in SHAPES}
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 70),
    "blue": (50, 100, 235),
    "yellow": (240, 220, 40),
    "purple": (150, 60, 200),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
}
SIZES = {"small": 0.09, "large": 0.17}  # radius as a fraction of the image side
COUNTS = {1: "a", 2: "two", 3: "three"}
RELATIONS = ("to the left of", "to the right of", "above", "below")
INVERSE = {"to the left of": "to the right of", "to the right of": "to the left of", "above": "below", "below": "above"}
HELD_OUT_PAIRS = (("red", "star"), ("blue", "triangle"), ("yellow", "cross"), ("purple", "square"))
DEFAULT_IMAGE_SIZE = 64
SUPERSAMPLE = 4  # draw at 4× and downsample, for smooth edges


@dataclass(frozen=True)
class Group:
    """``count`` identical objects: a shape, a colour and a size."""

    shape: str
    colour: str
    size: str
    count: int = 1

    def words(self) -> str:
        noun = self.shape if self.count == 1 else PLURAL[self.shape]
        return f"{COUNTS[self.count]} {self.size} {self.colour} {noun}"


@dataclass(frozen=True)
class SceneDescription:
    """What a caption says: one group, or two groups and how the first sits relative to the second.

    ``canonical()`` orders a two-group description so that equivalent captions ("X left of Y",
    "Y right of X") compare equal.
    """

    first: Group
    relation: str | None = None
    second: Group | None = None

    def canonical(self) -> SceneDescription:
        if self.second is None or self.relation is None:
            return self
        flipped = SceneDescription(self.second, INVERSE[self.relation], self.first)
        key = lambda d: (d.relation in ("to the right of", "below"), d.first.words(), d.second.words())  # noqa: E731
        return min(self, flipped, key=key)

    def groups(self) -> tuple[Group, ...]:
        return (self.first,) if self.second is None else (self.first, self.second)


def order_along(
    a: list[tuple[float, float, float]], b: list[tuple[float, float, float]], axis: int, reach: float = 1.0
) -> int:
    """-1 when every object of ``a`` lies wholly before every object of ``b`` along ``axis`` (0: x, 1: y),
    1 when wholly after, 0 when their extents overlap there; objects are ``(x, y, r)``, each reaching
    ``reach * r`` from its centre."""
    if max(o[axis] + reach * o[2] for o in a) < min(o[axis] - reach * o[2] for o in b):
        return -1
    if min(o[axis] - reach * o[2] for o in a) > max(o[axis] + reach * o[2] for o in b):
        return 1
    return 0
