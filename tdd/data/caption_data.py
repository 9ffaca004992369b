"""Captioning data for training and evaluation from any source the training scripts read: generated
scenes, your own folder, COCO, a Hugging Face datasets directory; and the held-out evaluation set."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
SOURCES = ("scenes", "folder", "coco", "hf")


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
    from tdd.data.images import ImageError, open_image

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
    """(training dataset of (image, caption), its captions, evaluation set). A missing ``data_dir`` or
    a path that is not such a dataset raises ``ValueError``/``FileNotFoundError`` at once.

    Scenes: ``scene_style`` is the renderer of the training and the held-out scenes
    (:data:`~tdd.data.scenes.STYLES`), ``scene_phrasing`` how training captions are phrased
    (:data:`~tdd.data.scenes.PHRASINGS`; the held-out references are the descriptions, any phrasing)."""
    from tdd.data.images import preprocess_rgb
    from tdd.data.scenes import ScenesDataset, make_scene, vocabulary

    if source not in SOURCES:
        raise ValueError(f"data source must be one of {', '.join(SOURCES)}, got {source!r}")
    transform = functools.partial(preprocess_rgb, image_size=image_size)
    if source == "scenes":
        data = ScenesDataset(train_size, "train", seed, image_size, scene_style, scene_phrasing)
        held_out = [make_scene(i, 0, "test", image_size, scene_style, scene_phrasing) for i in range(eval_size)]
        evals = EvalSet([s.image for s in held_out], [[s.caption] for s in held_out], [s.description for s in held_out])
        return data, vocabulary(), evals
    if not data_dir:
        raise ValueError(f"--data {source} needs --data-dir DIR")
    if source == "folder":
        from tdd.data.folder import CaptionFolder

        folder = CaptionFolder(data_dir, image_size)
        n = min(eval_size, len(folder))  # your own folder has no held-out split: its first entries
        return folder, folder.captions, readable([(p, [c]) for p, c in folder.entries[:n]])
    if source == "coco":
        from tdd.data.coco import CocoCaptions

        coco = CocoCaptions(data_dir, train_split, transform)
        val = CocoCaptions(data_dir, val_split, transform)
        return coco, coco.captions, readable(val.eval_items(eval_size))
    from tdd.data.hf import HFImageDataset, load_split

    hf = HFImageDataset(load_split(data_dir, train_split), image_column, caption_column, transform)
    val_hf = HFImageDataset(load_split(data_dir, val_split), image_column, caption_column, transform)
    n = min(eval_size, len(val_hf))
    return hf, hf.targets, readable([(val_hf.source(i), [val_hf.target(i)]) for i in range(n)])
