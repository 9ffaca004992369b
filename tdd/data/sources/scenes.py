"""Generated scenes (:mod:`tdd.data.scenes`): captioning data drawn on the fly, and a held-out split whose
descriptions give exact marks (shape, colour, size, count, relation)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tdd.data.caption_data import EvalSet
from tdd.data.registry import EXAMPLES_ROOT, Source, register_dataset
from tdd.data.scenes import PHRASINGS, STYLES, ScenesDataset, make_scene, vocabulary
from tdd.data.tokenizer import word_tokenizer


class Scenes(Source):
    name = "scenes"
    tasks: tuple[str, ...] = ("caption",)
    help = "generated scenes (nothing to download)"
    examples_dir: Path | None = EXAMPLES_ROOT / "scenes"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--train-size", type=int, default=50_000, help="scenes: distinct training scenes")
        parser.add_argument("--scene-style", default="plain", choices=STYLES,
                            help="scenes: the renderer (random: domain-randomised)")  # fmt: skip
        parser.add_argument("--scene-phrasing", default="any", choices=PHRASINGS,
                            help="scenes: captions in any synonym or one canonical phrasing")  # fmt: skip

    def caption_data(self, opts: Any) -> tuple[Any, list[str], EvalSet]:
        """``scene_style``: the renderer of the training and held-out scenes; ``scene_phrasing``: how training
        captions are phrased (the held-out references are the descriptions, any phrasing)."""
        style, phrasing = opts.scene_style, opts.scene_phrasing
        data = ScenesDataset(opts.train_size, "train", opts.seed, opts.image_size, style, phrasing)
        held_out = [make_scene(i, 0, "test", opts.image_size, style, phrasing) for i in range(opts.eval_size)]
        evals = EvalSet([s.image for s in held_out], [[s.caption] for s in held_out], [s.description for s in held_out])
        return data, vocabulary(), evals

    def caption_tokenizer(self, captions: list[str]) -> Any:
        return word_tokenizer(vocabulary())  # the grammar's words, one token each


register_dataset(Scenes())
