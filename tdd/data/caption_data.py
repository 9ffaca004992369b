"""The held-out evaluation set of captioning data, and :func:`load_caption_data`: any captioning dataset of
the registry (:mod:`tdd.data.registry`: generated scenes, your own folder, COCO, a Hugging Face datasets
directory, …) by name."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from tdd.data.images import ImageError, open_image

log = logging.getLogger(__name__)


@dataclass
class EvalSet:
    """Held-out images (anything ``preprocess_rgb`` opens) with their reference captions.

    ``scenes`` holds the scene descriptions when the data are generated scenes (exact parsing).
    """

    sources: list[Any]
    references: list[list[str]]
    scenes: list[Any] = field(default_factory=list)


def readable(items: list[tuple[Any, list[str]]]) -> EvalSet:
    """The evaluation pairs whose image opens (checked once, up front, so evaluation never fails later)."""

    kept = []
    for source, refs in items:
        try:
            open_image(source)
            kept.append((source, refs))
        except ImageError as e:
            print(f"evaluation: skipping {e}", flush=True)
    return EvalSet([s for s, _ in kept], [r for _, r in kept])


def load_caption_data(
    source: str,
    data_dir: str | None,
    image_size: int,
    *,
    eval_size: int,
    seed: int = 0,
    train_size: int = 50_000,
    train_split: str = "train",
    val_split: str = "val",
    image_column: str = "image",
    caption_column: str = "caption",
    scene_style: str = "plain",
    scene_phrasing: str = "any",
) -> tuple[Any, list[str], EvalSet]:
    """(training dataset of (image, caption), its captions, evaluation set) of the captioning dataset
    ``source`` (:func:`tdd.data.registry.dataset`; the training scripts pass their flags the same way). A
    missing ``data_dir`` or a path that is not such a dataset raises ``ValueError``/``FileNotFoundError`` at once.

    Scenes: ``scene_style`` is the renderer of the training and the held-out scenes
    (:data:`~tdd.data.scenes.STYLES`), ``scene_phrasing`` how training captions are phrased
    (:data:`~tdd.data.scenes.PHRASINGS`; the held-out references are the descriptions, any phrasing)."""
    from tdd.data.registry import dataset  # the registry's entries build on this module's EvalSet

    options = {k: v for k, v in locals().items() if k != "source"}
    return dataset(source, "caption").caption_data(SimpleNamespace(**options))
