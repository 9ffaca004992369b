"""Your own folder of images with a ``captions.txt`` (:class:`~tdd.data.folder.CaptionFolder`)."""

from __future__ import annotations

from typing import Any

from tdd.data.caption_data import EvalSet, readable
from tdd.data.folder import CaptionFolder
from tdd.data.registry import Source, register_dataset
from tdd.data.tokenizer import train_tokenizer


class Folder(Source):
    name = "folder"
    tasks: tuple[str, ...] = ("caption",)
    help = "your own folder: images and captions.txt (file name<TAB>caption per line)"

    def caption_data(self, opts: Any) -> tuple[Any, list[str], EvalSet]:
        folder = CaptionFolder(self.data_dir(opts), opts.image_size)
        n = min(opts.eval_size, len(folder))  # your own folder has no held-out split: its first entries
        return folder, folder.captions, readable([(p, [c]) for p, c in folder.entries[:n]])

    def caption_tokenizer(self, captions: list[str]) -> Any:
        return train_tokenizer(captions, "word")  # a word per token: a folder's captions are few


register_dataset(Folder())
