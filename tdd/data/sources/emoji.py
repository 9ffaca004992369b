"""Emoji (:mod:`tdd.data.emoji`): name an emoji (captioning) or tell which of ~3,900 it is (classification),
trained on some art styles and evaluated on a style never seen (:data:`~tdd.data.emoji_styles.HELD_OUT_STYLES`),
without the compositional hold-out (:func:`~tdd.data.emoji.compositional_holdout`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from tdd.data import emoji
from tdd.data.caption_data import EvalSet
from tdd.data.emoji_augment import EmojiAugment
from tdd.data.emoji_styles import HELD_OUT_STYLES, STYLES, TRAINING_STYLES, text_of_key
from tdd.data.registry import EXAMPLES_ROOT, Source, register_dataset
from tdd.data.tokenizer import train_tokenizer


def on_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA ``(S, S, 4)`` uint8 → RGB on a white background."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    return (rgba[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)


class EmojiImages(Dataset):
    """``(image (3, S, S) in [-1, 1], target)`` for ``(style, key)`` items: the name (captions) or the class."""

    def __init__(self, items: list[tuple[str, str]], rendered: dict[str, emoji.StyleImages], image_size: int,
                 target: Any, augment: EmojiAugment | None = None):  # fmt: skip
        self.items, self.image_size, self.target, self.augment = items, image_size, target, augment
        self.rendered = rendered
        self.index = {style: images.index() for style, images in rendered.items()}
        self.class_names: list[str] | None = None  # a classifier's: what each class is

    def __len__(self) -> int:
        return len(self.items)

    def image(self, i: int) -> np.ndarray:
        style, key = self.items[i]
        return on_white(self.rendered[style].images[self.index[style][key]])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        if self.augment is None:
            x = torch.from_numpy(self.image(i)).permute(2, 0, 1).float().div(127.5).sub(1)
        else:
            style, key = self.items[i]
            x = self.augment(torch.from_numpy(self.rendered[style].images[self.index[style][key]]).permute(2, 0, 1))
        if x.shape[-1] != self.image_size:
            x = torch.nn.functional.interpolate(x[None], size=self.image_size, mode="area")[0]
        return x, self.target(self.items[i][1])


def _styles(text: str, what: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in STYLES]
    if unknown or not names:
        raise ValueError(f"{what}: unknown emoji styles {unknown or text!r}; the styles are: {', '.join(STYLES)}")
    return names


class Emoji(Source):
    name = "emoji"
    tasks: tuple[str, ...] = ("caption", "classify")
    help = "emoji in several art styles with their CLDR names (tdd data emoji says which styles are here)"
    examples_dir: Path | None = EXAMPLES_ROOT / "emoji"  # openly licensed styles only (ATTRIBUTION.md there)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--emoji-train-styles", default=",".join(TRAINING_STYLES),
                            help="emoji: the styles trained on (comma-separated)")  # fmt: skip
        parser.add_argument("--emoji-eval-style", default=HELD_OUT_STYLES[0], help="emoji: the held-out style")
        parser.add_argument(
            "--emoji-limit",
            type=int,
            default=0,
            help="emoji: the first N concepts and the compositional hold-out only (0: all)",
        )
        augment = "emoji: JSON dict of tdd.data.emoji_augment.EmojiAugment overrides ('null': no augmentation)"
        parser.add_argument("--emoji-augment", type=json.loads, default={}, help=augment)

    def _split(self, opts: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, Any]]:
        names = emoji.concepts()
        held = set(emoji.splits()["compositional_holdout"])
        train_styles = _styles(opts.emoji_train_styles, "--emoji-train-styles")
        eval_style = _styles(opts.emoji_eval_style, "--emoji-eval-style")[0]
        keys = emoji.subset(getattr(opts, "emoji_limit", 0))
        rendered = {s: emoji.build_style(s, keys=keys) for s in {*train_styles, eval_style}}
        train = [(s, k) for s in train_styles for k in rendered[s].keys if k not in held]
        rng = np.random.default_rng(opts.seed)
        evals = [(eval_style, k) for k in rendered[eval_style].keys if k in names]
        evals = [evals[i] for i in sorted(rng.permutation(len(evals))[: opts.eval_size or len(evals)])]
        settings = getattr(opts, "emoji_augment", {})
        augment = None if settings is None else EmojiAugment(**settings)
        return train, evals, {"names": names, "rendered": rendered, "augment": augment}

    def caption_data(self, opts: Any) -> tuple[Any, list[str], EvalSet]:
        train, evals, ctx = self._split(opts)
        names, rendered = ctx["names"], ctx["rendered"]
        caption = lambda k: " ".join(emoji.tokenize(names[k]))  # noqa: E731
        data = EmojiImages(train, rendered, opts.image_size, caption, ctx["augment"])
        held = EmojiImages(evals, rendered, opts.image_size, caption)
        references = [[caption(k)] for _, k in evals]
        return data, [caption(k) for _, k in train], EvalSet([held.image(i) for i in range(len(held))], references)

    def classify_data(self, opts: Any) -> tuple[Any, Any, int]:
        train, evals, ctx = self._split(opts)
        classes = {k: i for i, k in enumerate(dict.fromkeys(k for _, k in sorted(train, key=lambda t: t[1])))}
        evals = [(s, k) for s, k in evals if k in classes]
        rendered, names = ctx["rendered"], ctx["names"]
        data = EmojiImages(train, rendered, opts.image_size, classes.__getitem__, ctx["augment"])
        data.class_names = [f"{text_of_key(k)} {names.get(k, k)}" for k in classes]  # "🐼 panda"
        held = EmojiImages(evals, rendered, opts.image_size, classes.__getitem__)
        return data, held, len(classes)

    def caption_tokenizer(self, captions: list[str]) -> Any:
        return train_tokenizer(captions, "word")  # CLDR names: ~1,800 words, each a token


register_dataset(Emoji())
