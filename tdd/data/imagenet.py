"""ImageNet-style classification data: an ImageFolder (``train/`` and ``val/`` of class folders) or a
Hugging Face ``datasets`` directory, with the paper's augmentation from timm (§4.1, A.1).

The training transform is timm's ``create_transform``: random resized crop, flip, RandAugment
``rand-m9-mstd0.5-inc1`` and random erasing (0.25, pixel mode); evaluation resizes and centre-crops
(crop ratio 0.875). Images are opened with :func:`tdd.data.images.open_image` (clear errors; the
training loop skips and counts unreadable files).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from timm.data import create_transform
from torchvision.datasets import ImageFolder

from tdd.data.hf import HFImageDataset, load_split
from tdd.data.images import open_image

DEFAULT_AUTO_AUGMENT = "rand-m9-mstd0.5-inc1"  # A.1
EVAL_CROP_PCT = 0.875


def image_transform(
    image_size: int,
    *,
    train: bool,
    auto_augment: str | None = DEFAULT_AUTO_AUGMENT,
    re_prob: float = 0.25,
    in_chans: int = 3,
) -> Callable[[Any], Any]:
    """timm's train or eval transform: PIL image → normalised ``(C, S, S)`` tensor."""

    if in_chans not in (1, 3):
        raise ValueError(f"in_chans must be 1 or 3, got {in_chans}")
    mean, std = ((0.5,), (0.5,)) if in_chans == 1 else ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    if train:
        tf = create_transform(
            image_size,
            is_training=True,
            auto_augment=auto_augment or None,
            re_prob=re_prob,
            re_mode="pixel",
            interpolation="bicubic",
            mean=mean,
            std=std,
        )
    else:
        tf = create_transform(image_size, crop_pct=EVAL_CROP_PCT, interpolation="bicubic", mean=mean, std=std)
    return _ConvertThen(tf, "L" if in_chans == 1 else "RGB")


class _ConvertThen:
    """Convert the PIL mode, then transform (a class, not a lambda: DataLoader workers pickle it)."""

    def __init__(self, transform: Callable[[Any], Any], mode: str):
        self.transform, self.mode = transform, mode

    def __call__(self, image: Any) -> Any:
        return self.transform(image.convert(self.mode))


def image_folder(root: str | os.PathLike, split: str, transform: Callable[[Any], Any]):
    """``root/split/<class>/<image>`` as torchvision's ``ImageFolder`` (classes sorted by folder name).

    Raises:
        FileNotFoundError: when ``root`` or ``root/split`` does not exist.
    """

    folder = Path(root) / split
    if not Path(root).is_dir():
        raise FileNotFoundError(f"{root}: dataset directory not found")
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not found; an ImageFolder dataset needs train/ and val/ class folders")
    return ImageFolder(str(folder), transform=transform, loader=open_image)


def classification_data(kind: str, root: str | os.PathLike, split: str, transform: Callable[[Any], Any], **columns):
    """``(dataset, num_classes)`` for ``kind`` ``"imagefolder"`` or ``"hf"`` (``image_column``/``label_column``)."""
    if kind == "imagefolder":
        data = image_folder(root, split, transform)
        return data, len(data.classes)
    if kind == "hf":
        image_column, label_column = columns.get("image_column", "image"), columns.get("label_column", "label")
        data = HFImageDataset(load_split(root, split), image_column, label_column, transform)
        return data, data.num_classes()
    raise ValueError(f"unknown classification data kind {kind!r}")
