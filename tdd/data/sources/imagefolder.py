"""An ImageNet-style folder: ``train/<class>/*.jpg`` and ``val/<class>/*.jpg`` (torchvision's ImageFolder)."""

from __future__ import annotations

from typing import Any

from tdd.data.registry import Source, register_dataset
from tdd.data.sources.hf import classification_split


class ImageFolder(Source):
    name = "imagefolder"
    tasks: tuple[str, ...] = ("classify",)
    help = "an ImageNet-style folder: train/ and val/, one sub-folder per class"

    def classify_data(self, opts: Any) -> tuple[Any, Any, int]:
        from tdd.data.imagenet import classification_data  # torchvision: only when asked

        return classification_split(self.name, self.data_dir(opts), opts, classification_data)


register_dataset(ImageFolder())
