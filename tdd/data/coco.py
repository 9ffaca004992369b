"""COCO 2017 captions: ``annotations/captions_{train,val}2017.json`` and the ``{train,val}2017/`` images.

Training items are (image, caption) pairs, one per annotation (about five per image); evaluation
uses each image once with all of its captions as references. Entries whose image file is missing
are skipped and counted when the file list is read; unreadable images are skipped (and counted) by
the training loop.

torchvision's ``CocoCaptions`` needs pycocotools and gives one item per image; reading the JSON
here is a dozen lines and gives the per-annotation pairs and the missing-file count directly.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def normalize_caption(text: str) -> str:
    """Lower-case, single spaces, no trailing full stop (COCO captions vary in all three)."""
    return " ".join(text.lower().strip().rstrip(".").split())


class CocoCaptions:
    """``(transform(image file), caption)`` per caption annotation of one COCO split.

    Args:
        root: the COCO folder (holding ``annotations/`` and ``{split}2017/``).
        split: ``"train"`` or ``"val"``.
        transform: image path → model input (e.g. ``lambda p: preprocess_rgb(p, 64)``).

    Raises:
        FileNotFoundError: when ``root``, the annotation file or the image folder is missing.
        ValueError: when the annotation file is not COCO captions JSON, or no entry has its image.
    """

    def __init__(self, root: str | os.PathLike, split: str, transform: Callable[[str], Any]):
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: COCO directory not found")
        ann_file = root / "annotations" / f"captions_{split}2017.json"
        image_dir = root / f"{split}2017"
        if not ann_file.is_file():
            raise FileNotFoundError(f"{ann_file}: not found (COCO captions annotations)")
        if not image_dir.is_dir():
            raise FileNotFoundError(f"{image_dir}: image folder not found")
        try:
            meta = json.loads(ann_file.read_text(encoding="utf-8"))
            files = {img["id"]: img["file_name"] for img in meta["images"]}
            anns = [(a["image_id"], a["caption"]) for a in meta["annotations"]]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{ann_file}: not COCO captions JSON ({type(e).__name__}: {e})") from e
        self.transform = transform
        self.missing = 0
        self.pairs: list[tuple[str, str]] = []
        by_image: dict[str, list[str]] = {}
        for image_id, text in anns:
            path = image_dir / files.get(image_id, f"<unknown image id {image_id}>")
            if not path.is_file():
                self.missing += 1
                continue
            caption = normalize_caption(text)
            self.pairs.append((str(path), caption))
            by_image.setdefault(str(path), []).append(caption)
        if self.missing:
            log.warning("%s: %d captions name missing image files and are skipped", ann_file, self.missing)
        if not self.pairs:
            raise ValueError(f"{ann_file}: no caption names an existing image in {image_dir}")
        self.images = list(by_image.items())  # (path, all its captions), for evaluation

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int):
        path, caption = self.pairs[i]
        return self.transform(path), caption

    @property
    def captions(self) -> list[str]:
        return [c for _, c in self.pairs]

    def eval_items(self, n: int) -> list[tuple[str, list[str]]]:
        """The first ``n`` images with every caption of each: ``[(path, references), …]``."""
        return self.images[:n]
