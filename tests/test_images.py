"""Every kind of user image either becomes a sensible model input or gives a clear ImageError."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from tdd.data.digits import digit_from_image, preprocess_image
from tdd.data.images import ImageError, open_image


def _png(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _seven(mode: str, size=(120, 90)) -> Image.Image:
    """A bright bar-and-diagonal '7' on dark, converted to ``mode``."""
    a = np.zeros(size[::-1], dtype=np.uint8)
    a[10:20, 20:100] = 255
    for r in range(20, 85):
        c = 100 - (r - 20)
        a[r, max(c - 5, 0) : c + 5] = 255
    return Image.fromarray(a).convert(mode)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "CMYK", "LA", "1", "I", "F"])
def test_every_mode_gives_a_model_input(mode):
    x = preprocess_image(_seven(mode), 32)
    assert x.shape == (1, 32, 32) and torch.isfinite(x).all()
    assert x.min() >= -1 and x.max() <= 1 and x.max() > 0.5  # some ink survived


def test_sixteen_bit_and_inverted_and_animated():
    a = (np.asarray(_seven("L"), dtype=np.uint16) * 200).astype(np.uint16)
    sixteen = Image.fromarray(a)  # uint16 → mode "I;16"
    assert sixteen.mode == "I;16"
    ref = digit_from_image(_seven("L"))
    assert torch.allclose(digit_from_image(_png(sixteen)), ref, atol=0.05)
    dark_on_white = Image.fromarray(255 - np.asarray(_seven("L")))
    assert torch.allclose(digit_from_image(dark_on_white), ref, atol=0.05)  # paper-style input is inverted
    frames = [_seven("P"), Image.new("P", (120, 90))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    assert torch.allclose(digit_from_image(gif.getvalue()), ref, atol=0.05)  # the first frame


def test_tiny_and_blank_images():
    assert preprocess_image(Image.new("L", (1, 1), 255), 32).shape == (1, 32, 32)
    blank = preprocess_image(Image.new("RGB", (50, 50)), 32)
    assert torch.isfinite(blank).all()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is not an image at all", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable image|corrupt"),
    ],
)
def test_bad_bytes(data, message):
    with pytest.raises(ImageError, match=message):
        open_image(data)


def test_truncated_file_and_missing_path(tmp_path):
    data = _png(_seven("RGB", (400, 400)))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png: corrupt or truncated"):
        open_image(path)
    with pytest.raises(ImageError, match="no such file"):
        open_image(tmp_path / "nope.png")


def test_decompression_bomb_is_refused():
    bomb = _png(Image.new("1", (12000, 12000)))  # 144 Mpixel, a few KB compressed
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="too large"):
        open_image(bomb)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "CMYK", "LA", "1", "I", "F", "I;16"])
def test_rgb_preprocessing_of_every_mode(mode):
    from tdd.data.images import preprocess_rgb

    image = _seven("L", (90, 120))
    image = Image.fromarray(np.asarray(image).astype(np.uint16) * 200) if mode == "I;16" else image.convert(mode)
    x = preprocess_rgb(image if mode in ("CMYK", "I", "F") else _png(image), 64)  # PNG cannot hold these
    assert x.shape == (3, 64, 64) and torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
