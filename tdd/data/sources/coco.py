"""COCO 2017 captions (:class:`~tdd.data.coco.CocoCaptions`): train split for training, val for evaluation
with all five references."""

from __future__ import annotations

import functools
from typing import Any

from tdd.data.caption_data import EvalSet, readable
from tdd.data.images import preprocess_rgb
from tdd.data.registry import Source, register_dataset


class Coco(Source):
    name = "coco"
    tasks: tuple[str, ...] = ("caption",)
    help = "COCO 2017 captions (annotations/ + train2017/, val2017/ under --data-dir)"

    def caption_data(self, opts: Any) -> tuple[Any, list[str], EvalSet]:
        from tdd.data.coco import CocoCaptions  # pycocotools-free, but reads large JSON: only when asked

        transform = functools.partial(preprocess_rgb, image_size=opts.image_size)
        coco = CocoCaptions(self.data_dir(opts), opts.train_split, transform)
        val = CocoCaptions(opts.data_dir, opts.val_split, transform)
        return coco, coco.captions, readable(val.eval_items(opts.eval_size))


register_dataset(Coco())
