"""scikit-learn's handwritten digits (1,797 8×8 images, 10 classes; shipped inside scikit-learn),
with a fixed stratified split, light augmentation, and the preprocessing that turns any user image
into the same kind of input.

Model inputs are ``(1, S, S)`` float tensors normalised to [-1, 1]: bright strokes on a dark
background, as in the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from tdd.data.images import ImageInput, open_image, to_grayscale

DIGITS_SIDE = 8  # the dataset's resolution
DIGITS_MAX_VALUE = 16.0  # pixel values are 0..16
NUM_DIGIT_CLASSES = 10
TEST_FRACTION = 0.2
SPLIT_SEED = 0
INK_THRESHOLD = 0.25  # a pixel is ink when brighter than this fraction of the brightest pixel


@dataclass
class DigitsSplit:
    """Images ``(n, 8, 8)`` float in [0, 1] and labels ``(n,)``."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def load_digits_split(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> DigitsSplit:
    """The fixed, documented split: stratified by class, ``seed`` 0, 20 % held out (360 images)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = data.images.astype(np.float32) / DIGITS_MAX_VALUE
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, data.target, test_size=test_fraction, random_state=seed, stratify=data.target
    )
    return DigitsSplit(
        torch.from_numpy(x_tr), torch.from_numpy(y_tr).long(), torch.from_numpy(x_te), torch.from_numpy(y_te).long()
    )


def to_model_input(small: torch.Tensor, image_size: int) -> torch.Tensor:
    """8×8 images in [0, 1], ``(n, 8, 8)`` → model inputs ``(n, 1, S, S)`` in [-1, 1] (bilinear upscale)."""
    x = small.unsqueeze(1)
    if image_size != small.shape[-1]:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x * 2 - 1


def digit_from_image(source: ImageInput) -> torch.Tensor:
    """Turn any image of one digit into an 8×8 array like the dataset's, ``(8, 8)`` in [0, 1].

    Works for RGB, RGBA, grayscale, palette, 16-bit and CMYK images of any size: the image is made
    grayscale, inverted when its border is bright (dark ink on paper), cropped to the ink, padded to
    a square and area-averaged to 8×8, as the dataset was made from 32×32 bitmaps.

    Raises:
        ImageError: when the input cannot be read as an image.
    """
    gray = to_grayscale(open_image(source))  # (H, W) in [0, 1]
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # dark ink on a bright background: make the strokes bright
        gray, border = 1.0 - gray, 1.0 - border
    gray = np.clip(gray - float(np.median(border)), 0, None)  # background → 0
    peak = float(gray.max())
    if peak > 0:
        gray = gray / peak
        rows, cols = np.nonzero(gray > INK_THRESHOLD)
        gray = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = gray.shape
    side = max(h, w)
    square = np.zeros((side, side), dtype=np.float32)
    square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = gray
    small = Image.fromarray(square).resize((DIGITS_SIDE, DIGITS_SIDE), Image.Resampling.BOX)
    out = np.array(small, dtype=np.float32)  # a writable copy
    return torch.from_numpy(out / out.max() if out.max() > 0 else out)


def preprocess_image(source: ImageInput, image_size: int) -> torch.Tensor:
    """The one documented preprocessing for user images: any image → ``(1, S, S)`` model input."""
    return to_model_input(digit_from_image(source).unsqueeze(0), image_size)[0]


class DigitsDataset(Dataset):
    """Digits as model inputs ``(1, S, S)``, with light random affine augmentation when ``train``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, image_size: int, train: bool = False):
        self.inputs = to_model_input(images, image_size)  # (n, 1, S, S), computed once
        self.labels = labels
        self.augment = None
        if train:
            from torchvision.transforms import v2

            # Small rotations, shifts and scalings keep a digit a digit; flips would not.
            self.augment = v2.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.9, 1.1), fill=-1.0)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.inputs[i]
        if self.augment is not None:
            x = self.augment(x)
        return x, self.labels[i]
