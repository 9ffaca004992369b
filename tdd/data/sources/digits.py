"""Handwritten digits (:mod:`tdd.data.digits`: MNIST when cached, else scikit-learn's bundled digits)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from torch.utils.data import TensorDataset

from tdd.data.digits import NUM_DIGIT_CLASSES, DigitAugment, DigitsDataset, load_digits_split, to_model_input
from tdd.data.registry import EXAMPLES_ROOT, Source, register_dataset


class Digits(Source):
    name = "digits"
    tasks: tuple[str, ...] = ("classify",)
    help = "handwritten digits (bundled with scikit-learn; nothing to download)"
    examples_dir: Path | None = EXAMPLES_ROOT / "digits"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        augment = "digits: JSON dict of tdd.data.digits.DigitAugment overrides ('null': no augmentation)"
        parser.add_argument("--digit-augment", type=json.loads, default={}, help=augment)

    def classify_data(self, opts: Any) -> tuple[Any, Any, int]:
        split = load_digits_split()
        augment = None if opts.digit_augment is None else DigitAugment(**opts.digit_augment)
        train_set = DigitsDataset(split.train_images, split.train_labels, opts.image_size, augment=augment)
        val_set = TensorDataset(to_model_input(split.test_images, opts.image_size), split.test_labels)
        return train_set, val_set, NUM_DIGIT_CLASSES


register_dataset(Digits())
