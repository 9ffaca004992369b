"""Hugging Face ``datasets`` on disk: a ``save_to_disk`` directory, or a folder of parquet files in
the Hub's layout (``[data/]{split}-00000-of-00008.parquet``, e.g. ImageNet-1k or
imagenet-1k-vl-enriched copied to this machine). Nothing is downloaded.

Images are read undecoded and opened with :func:`tdd.data.images.open_image`, so a damaged one
raises the same clear :class:`~tdd.data.images.ImageError` as anywhere else in tdd (the training
loop skips and counts it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tdd.data.images import open_image


def _parquet_files(root: Path, split: str) -> list[str]:
    for folder in (root / "data", root):
        files = sorted(folder.glob(f"{split}-*.parquet")) + sorted(folder.glob(f"{split}/*.parquet"))
        if files:
            return [str(f) for f in files]
    return []


def load_split(path: str | os.PathLike, split: str):
    """One split of a dataset directory as a ``datasets.Dataset``.

    Raises:
        FileNotFoundError: when ``path`` does not exist, or holds neither a saved dataset nor
            parquet files of ``split``.
    """
    import datasets  # optional (the train extra): only for Hugging Face data

    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset directory not found")
    if (root / "dataset_dict.json").is_file():
        saved = datasets.load_from_disk(str(root))
        if split not in saved:
            raise FileNotFoundError(f"{root}: no split {split!r} (it has {sorted(saved)})")
        return saved[split]
    if (root / "dataset_info.json").is_file():
        return datasets.load_from_disk(str(root))
    files = _parquet_files(root, split)
    if not files:
        raise FileNotFoundError(
            f"{root}: neither a saved dataset (dataset_dict.json) nor parquet files named {split}-*.parquet"
        )
    return datasets.load_dataset("parquet", data_files={split: files}, split=split)


class HFImageDataset:
    """``(transform(image), row[target_column])`` for each row of a ``datasets.Dataset``.

    Args:
        data: the split (see :func:`load_split`).
        image_column, target_column: the column names (``image``/``label``; ``caption_enriched`` for
            imagenet-1k-vl-enriched's captions).
        transform: PIL image → model input.

    Raises:
        ValueError: when a named column is missing (listing the ones there are).
    """

    def __init__(self, data: Any, image_column: str, target_column: str, transform: Callable[[Any], Any]):
        import datasets  # optional (the train extra): only for Hugging Face data

        for column in (image_column, target_column):
            if column not in data.column_names:
                raise ValueError(f"the dataset has no column {column!r}; its columns: {data.column_names}")
        if isinstance(data.features[image_column], datasets.Image):
            data = data.cast_column(image_column, datasets.Image(decode=False))  # decode ourselves
        self.data = data
        self.image_column = image_column
        self.target_column = target_column
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def source(self, i: int) -> bytes | str:
        """Row ``i``'s image undecoded: its bytes, or its path."""
        value = self.data[i][self.image_column]
        if isinstance(value, dict):  # {"bytes": …, "path": …}: the Hub's image struct
            value = value.get("bytes") or value.get("path")
        return value if value is not None else b""

    def image(self, i: int):
        """Row ``i``'s image, opened (raises :class:`~tdd.data.images.ImageError` when damaged)."""
        return open_image(self.source(i))

    def target(self, i: int) -> Any:
        return self.data[i][self.target_column]

    @property
    def targets(self) -> list[Any]:
        return list(self.data[self.target_column])

    def num_classes(self) -> int:
        """The label feature's class count (ClassLabel), else the largest label + 1."""
        feature = self.data.features[self.target_column]
        return getattr(feature, "num_classes", None) or int(max(self.targets)) + 1

    def __getitem__(self, i: int):
        return self.transform(self.image(i)), self.target(i)
