"""Captioned scenes, generated: 1–3 coloured shapes on a varied background, with a caption from a
small documented grammar that :func:`parse_caption` reads back, so captions can be checked exactly.

The grammar (every caption uses only these words):

    size      := small | large
    colour    := red | green | blue | yellow | purple | orange | white
    shape     := circle | square | triangle | star | diamond | cross      (plural: + s / es)
    count     := two | three
    relation  := to the left of | to the right of | above | below
    thing     := a size colour shape | count size colour shapes
    caption   := [there is | there are] thing                         (one group of objects)
               | thing [is | are] relation thing                     (two groups, either order:
                                                                      "X left of Y" = "Y right of X")

Scenes are deterministic: ``make_scene(index, seed)`` gives the same image and caption on any
machine. A *compositional split* keeps some colour×shape pairs out of training entirely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from tdd.data.images import rgb_to_tensor
from tdd.data.scene_grammar import (  # noqa: F401  (re-exported: the scenes' words and types live there)
    COLOURS,
    COUNTS,
    DEFAULT_IMAGE_SIZE,
    HELD_OUT_PAIRS,
    INVERSE,
    PLURAL,
    RELATIONS,
    SHAPES,
    SIZES,
    SUPERSAMPLE,
    Group,
    SceneDescription,
    order_along,
)
from tdd.data.scene_heldout import render_heldout
from tdd.data.scene_render import render
from tdd.data.scene_styles import render_randomised

MAX_CAPTION_WORDS = 16

SPLIT_OFFSETS = {"train": 0, "test": 1_000_003, "compositional": 2_000_003, "style": 3_000_003}  # disjoint streams
# The generator's version, kept with results made from its scenes: bumped whenever an index draws another scene.
# 2: two groups overlap along the other axis, so that just the named relation holds (1: they could also be
# wholly apart there, and then two relations were true of 178 of 248 two-group test scenes).
SCENES_VERSION = 2
STYLES = ("plain", "random")  # the training renderers: this module's, and domain-randomised (scene_styles)
# How a scene's caption is phrased: "any" of the NUM_TEMPLATES synonyms (drawn per scene), or "canonical":
# always template 0 of the canonical description, so the caption is a function of the scene alone. A
# non-autoregressive model predicts every position at once; with synonyms that shift words ("there is a …"
# vs "a …", either group first) the per-position target is multimodal, which is what sequence-level
# distillation removes for non-autoregressive translation (Gu et al. 2018; Zhou et al. 2020).
PHRASINGS = ("any", "canonical")


@dataclass
class Scene:
    """A rendered scene: the image ``(H, W, 3)`` uint8, its description and one caption of it."""

    image: np.ndarray
    description: SceneDescription
    caption: str
    # shape, colour, size, x, y, r: centre and radius as fractions of the image side (y grows downwards)
    objects: list[tuple[str, str, str, float, float, float]] = field(default_factory=list)


def caption_of(description: SceneDescription, template: int = 0) -> str:
    """One of the grammar's phrasings of ``description``; ``template`` picks among the synonyms."""
    if description.second is None:
        g = description.first
        lead = ("there is " if g.count == 1 else "there are ") if template % 2 else ""
        return lead + g.words()
    assert description.relation is not None  # two groups always have a relation
    d = (
        description
        if template % 2 == 0
        else SceneDescription(description.second, INVERSE[description.relation], description.first)
    )
    assert d.second is not None
    verb = ""
    if template // 2 % 2:
        verb = "is " if d.first.count == 1 else "are "
    return f"{d.first.words()} {verb}{d.relation} {d.second.words()}"


NUM_TEMPLATES = 4

_GROUP = (
    r"(a|two|three) ("
    + "|".join(SIZES)
    + r") ("
    + "|".join(COLOURS)
    + r") ("
    + "|".join(list(SHAPES) + list(PLURAL.values()))
    + r")"
)
_REL = "|".join(re.escape(r) for r in RELATIONS)
_ONE = re.compile(rf"^(?:there is |there are )?{_GROUP}$")
_TWO = re.compile(rf"^{_GROUP} (?:is |are )?({_REL}) {_GROUP}$")


class CaptionParseError(ValueError):
    """A caption is outside the grammar."""


def _group(count: str, size: str, colour: str, noun: str) -> Group:
    n = {"a": 1, "two": 2, "three": 3}[count]
    plural = noun not in SHAPES
    if plural != (n > 1):
        raise CaptionParseError(f"number disagreement in {count!r} … {noun!r}")
    shape = noun if not plural else next(s for s, p in PLURAL.items() if p == noun)
    return Group(shape, colour, size, n)


def parse_caption(text: str) -> SceneDescription:
    """Read a caption of the grammar back into its (canonical) description.

    Raises:
        CaptionParseError: when the text is not a sentence of the grammar.
    """
    words = " ".join(text.lower().split())
    if m := _ONE.match(words):
        return SceneDescription(_group(*m.groups())).canonical()
    if m := _TWO.match(words):
        g = m.groups()
        return SceneDescription(_group(*g[:4]), g[4], _group(*g[5:])).canonical()
    raise CaptionParseError(f"not a caption of the scenes grammar: {text!r}")


def vocabulary() -> list[str]:
    """Every word the grammar can produce, in a fixed order."""
    words = ["a", "two", "three", "there", "is", "are", "to", "the", "left", "right", "of", "above", "below"]
    words += list(SIZES) + list(COLOURS) + list(SHAPES) + list(PLURAL.values())
    return words


# ----------------------------------------------------------------------------------------------
# Sampling a description


def _uses_held_out(description: SceneDescription) -> bool:
    return any((g.colour, g.shape) in HELD_OUT_PAIRS for g in description.groups())


def sample_description(rng: np.random.Generator) -> SceneDescription:
    """A random description: one group (1–3 objects) or two groups with a relation (≤ 3 objects)."""

    def group(count: int) -> Group:
        return Group(
            SHAPES[rng.integers(len(SHAPES))], list(COLOURS)[rng.integers(len(COLOURS))],
            list(SIZES)[rng.integers(len(SIZES))], count,
        )  # fmt: skip

    kind = rng.integers(4)
    if kind == 0:
        return SceneDescription(group(1))
    if kind == 1:
        return SceneDescription(group(int(rng.integers(2, 4))))
    first = group(2 if kind == 3 else 1)
    second = group(1)
    while second.shape == first.shape and second.colour == first.colour:
        second = group(1)
    return SceneDescription(first, RELATIONS[rng.integers(len(RELATIONS))], second)


def make_scene(
    index: int,
    seed: int = 0,
    split: str = "train",
    size: int = DEFAULT_IMAGE_SIZE,
    style: str = "plain",
    phrasing: str = "any",
) -> Scene:
    """The scene at ``index`` of ``split``, the same on any machine.

    Splits: ``train``, ``test`` and ``style`` never use the held-out colour×shape pairs; ``compositional``
    always uses at least one of them. ``style`` is drawn by the held-out renderer
    (:mod:`tdd.data.scene_heldout`), which no training split uses; the others by ``style``: ``plain``
    (this module's renderer) or ``random`` (domain randomisation, :mod:`tdd.data.scene_styles`).
    ``phrasing`` (:data:`PHRASINGS`) changes the caption only, never the image.
    """
    if phrasing not in PHRASINGS:
        raise ValueError(f"phrasing must be one of {PHRASINGS}, got {phrasing!r}")
    if split not in SPLIT_OFFSETS:
        raise ValueError(f"split must be one of {sorted(SPLIT_OFFSETS)}, got {split!r}")
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    rng = np.random.default_rng([seed, SPLIT_OFFSETS[split] + index])
    while True:
        description = sample_description(rng)
        if _uses_held_out(description) == (split == "compositional"):
            break
    template = int(rng.integers(NUM_TEMPLATES))  # drawn for every phrasing: the image stays the same
    if split == "style":
        image, objects = render_heldout(description, rng, size)
    elif style == "random":
        image, objects = render_randomised(description, rng, size)
    else:
        image, objects = render(description, rng, size)
    text = caption_of(description.canonical(), 0) if phrasing == "canonical" else caption_of(description, template)
    return Scene(image, description.canonical(), text, objects)


# ----------------------------------------------------------------------------------------------
# Evaluation and training data

ATTRIBUTES = ("shape", "colour", "size", "count", "relation")


def caption_metrics(captions: list[str], references: list[SceneDescription]) -> dict[str, float]:
    """Exact match (after canonicalisation) and per-attribute accuracy of ``captions``.

    Attributes are compared group by group in canonical order (``relation`` only for two-group
    scenes); a caption outside the grammar counts as wrong on every attribute.
    """
    if len(captions) != len(references):
        raise ValueError(f"{len(captions)} captions for {len(references)} references")
    exact = 0
    hits = {a: 0 for a in ATTRIBUTES}
    totals = {a: 0 for a in ATTRIBUTES}
    for text, ref in zip(captions, references):
        try:
            pred = parse_caption(text)
        except CaptionParseError:
            pred = None
        exact += pred == ref
        ref_groups = ref.groups()
        pred_groups = pred.groups() if pred is not None else ()
        for i, g in enumerate(ref_groups):
            p = pred_groups[i] if i < len(pred_groups) else None
            for a in ("shape", "colour", "size", "count"):
                totals[a] += 1
                hits[a] += p is not None and getattr(p, a) == getattr(g, a)
        if ref.relation is not None:
            totals["relation"] += 1
            hits["relation"] += pred is not None and pred.relation == ref.relation
    n = max(1, len(captions))
    out = {"exact_match": exact / n}
    out.update({a: hits[a] / totals[a] if totals[a] else float("nan") for a in ATTRIBUTES})
    return out


def true_relations(description: SceneDescription, objects: list[tuple]) -> set[str]:
    """The relations that hold between a two-group scene's groups as drawn, first group to second.

    A relation holds when the first group's objects lie wholly on its side of the second's along its
    axis (:func:`order_along`: the extents, not just the centres, are apart). The renderers lay two
    groups out so that the other axis never separates them (they overlap there), so for a generated
    scene this is just the named relation; an image laid out otherwise (a star to the left of a square
    and also wholly above it) makes both captions true. ``objects`` are a rendered scene's
    ``(shape, colour, size, x, y, r)``. Groups drawn alike, and one-group scenes, give just the named
    relation (or nothing).
    """
    if description.second is None or description.relation is None:
        return set()
    key = lambda g: (g.shape, g.colour, g.size)  # noqa: E731
    if key(description.first) == key(description.second):
        return {description.relation}
    a = [tuple(o[3:6]) for o in objects if tuple(o[:3]) == key(description.first)]
    b = [tuple(o[3:6]) for o in objects if tuple(o[:3]) == key(description.second)]
    if not a or not b:
        return {description.relation}
    across, down = order_along(a, b, 0), order_along(a, b, 1)
    holds = {"to the left of": across < 0, "to the right of": across > 0, "above": down < 0, "below": down > 0}
    return {r for r, ok in holds.items() if ok} | {description.relation}


class ScenesDataset:
    """``length`` scenes of ``split`` as ``(image (3, S, S) in [-1, 1], caption)``, generated on the fly.

    A ``torch.utils.data.Dataset`` by duck typing; indexing is deterministic (``make_scene``).
    """

    def __init__(
        self,
        length: int,
        split: str = "train",
        seed: int = 0,
        size: int = DEFAULT_IMAGE_SIZE,
        style: str = "plain",
        phrasing: str = "any",
    ):
        if phrasing not in PHRASINGS:
            raise ValueError(f"phrasing must be one of {PHRASINGS}, got {phrasing!r}")
        self.length, self.split, self.seed, self.size, self.style = length, split, seed, size, style
        self.phrasing = phrasing

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        if not 0 <= i < self.length:
            raise IndexError(i)
        scene = make_scene(i, self.seed, self.split, self.size, self.style, self.phrasing)
        return rgb_to_tensor(scene.image), scene.caption
