"""A Hugging Face ``datasets`` directory or parquet files (:mod:`tdd.data.hf`): captions
(``--caption-column``, e.g. imagenet-1k-vl-enriched) or class labels (``--label-column``, e.g. ImageNet-1k)."""

from __future__ import annotations

import functools
from typing import Any

from tdd.data.caption_data import EvalSet, readable
from tdd.data.images import preprocess_rgb
from tdd.data.registry import Source, register_dataset


class HF(Source):
    name = "hf"
    tasks: tuple[str, ...] = ("caption", "classify")
    help = "a Hugging Face datasets directory or parquet files"

    def caption_data(self, opts: Any) -> tuple[Any, list[str], EvalSet]:
        from tdd.data.hf import HFImageDataset, load_split  # the datasets library: only when asked

        transform = functools.partial(preprocess_rgb, image_size=opts.image_size)
        root = self.data_dir(opts)
        hf = HFImageDataset(load_split(root, opts.train_split), opts.image_column, opts.caption_column, transform)
        val = HFImageDataset(load_split(root, opts.val_split), opts.image_column, opts.caption_column, transform)
        n = min(opts.eval_size, len(val))
        return hf, hf.targets, readable([(val.source(i), [val.target(i)]) for i in range(n)])

    def classify_data(self, opts: Any) -> tuple[Any, Any, int]:
        from tdd.data.imagenet import classification_data  # timm and torchvision (seconds): only when asked

        return classification_split(self.name, self.data_dir(opts), opts, classification_data)


def classification_split(kind: str, root: str, opts: Any, read: Any) -> tuple[Any, Any, int]:
    """(train, val, classes) of an image-classification source, with timm's training and evaluation transforms
    (no augmentation when the frozen encoder's features are cached)."""
    from tdd.data.imagenet import image_transform  # timm and torchvision (seconds): only when asked

    columns = {"image_column": opts.image_column, "label_column": opts.label_column}
    train_tf = image_transform(opts.image_size, train=not opts.cache_dir, auto_augment=opts.aa,
                               re_prob=opts.reprob, in_chans=opts.in_chans)  # fmt: skip
    eval_tf = image_transform(opts.image_size, train=False, in_chans=opts.in_chans)
    train_set, num_classes = read(kind, root, opts.train_split, train_tf, **columns)
    val_set, _ = read(kind, root, opts.val_split, eval_tf, **columns)
    return train_set, val_set, num_classes


register_dataset(HF())
