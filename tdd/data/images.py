"""Reading user images safely: any common format and mode, with one clear error when it fails."""

from __future__ import annotations

import io
import os
from typing import TypeAlias

import numpy as np
import torch
from PIL import Image, ImageSequence, UnidentifiedImageError

MAX_IMAGE_PIXELS = 50_000_000  # larger images are refused as decompression bombs (PIL's own check)
MAX_FILE_BYTES = 25 * 1024 * 1024

ImageInput: TypeAlias = str | os.PathLike | bytes | Image.Image | np.ndarray


class ImageError(ValueError):
    """An input is not a usable image; the message names the input and the problem."""


def _name(source: ImageInput) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"


def open_image(source: ImageInput) -> Image.Image:
    """Open a path, bytes, PIL image or array as a fully decoded PIL image (first frame if animated).

    Raises:
        ImageError: for a missing, empty, oversized, truncated or non-image input.
    """
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.size == 0:
            raise ImageError(f"{_name(source)}: an image array must be (H, W) or (H, W, C), got {source.shape}")
        array = source
        if array.dtype != np.uint8:
            array = np.asarray(array, dtype=np.float32)
            span = float(array.max() - array.min()) or 1.0
            array = ((array - array.min()) / span * 255).astype(np.uint8)
        image = Image.fromarray(array.squeeze(-1) if array.ndim == 3 and array.shape[-1] == 1 else array)
    else:
        if isinstance(source, bytes):
            data, name = source, _name(source)
        else:
            name = str(source)
            if not os.path.isfile(name):
                raise ImageError(f"{name}: no such file")
            if os.path.getsize(name) > MAX_FILE_BYTES:
                raise ImageError(f"{name}: file is larger than {MAX_FILE_BYTES // 2**20} MB")
            with open(name, "rb") as f:
                data = f.read()
        if len(data) == 0:
            raise ImageError(f"{name}: the file is empty")
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
        try:
            image = Image.open(io.BytesIO(data))
            if getattr(image, "n_frames", 1) > 1:
                image = next(iter(ImageSequence.Iterator(image)))
            image.load()
        except Image.DecompressionBombError as e:
            raise ImageError(f"{name}: image is too large ({e})") from e
        except UnidentifiedImageError as e:
            raise ImageError(f"{name}: not a readable image file") from e
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageError(f"{name}: corrupt or truncated image ({e})") from e
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise ImageError(f"{_name(source)}: image is too large ({image.width}×{image.height} pixels)")
    return image


def _over_white(image: Image.Image) -> Image.Image:
    """Composite a transparent or palette image over white; other modes are returned unchanged."""
    if image.mode not in ("RGBA", "LA", "PA", "P"):
        return image
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)


def rgb_to_tensor(array: np.ndarray):
    """An ``(H, W, 3)`` uint8 array → a ``(3, H, W)`` float tensor in [-1, 1] (the captioners' input)."""

    return torch.from_numpy(np.array(array, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1.0


def to_grayscale(image: Image.Image) -> np.ndarray:
    """Any PIL mode → float32 ``(H, W)`` in [0, 1]; transparency is composited over white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float32)
        peak = float(array.max())
        return array / peak if peak > 0 else array
    return np.asarray(_over_white(image).convert("L"), dtype=np.float32) / 255.0


def preprocess_rgb(source: ImageInput, image_size: int):
    """Any image → ``(3, S, S)`` float tensor in [-1, 1]: transparency over white, centre-cropped to
    a square, resized with bicubic interpolation (the scenes captioners' input)."""
    image = open_image(source)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = Image.fromarray((to_grayscale(image) * 255).astype(np.uint8))
    image = _over_white(image).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((image_size, image_size), Image.Resampling.BICUBIC)
    return rgb_to_tensor(np.asarray(image))
