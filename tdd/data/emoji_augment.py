"""What makes a model trained on three emoji styles read a style it never saw: augmentation of RGBA glyphs.

The design teams differ in more than colour: some fill flat shapes (Twemoji), some shade (Noto), some draw a
black outline round every shape (OpenMoji), some draw in black only (OpenMoji black, Symbola). So besides the
usual affine and colour jitter (torchvision's ``v2``), :class:`EmojiAugment` draws *outlines* (a dark line at the
silhouette and where the colour changes), keeps the lines alone (*line art*), fills the glyph black
(*silhouette*), turns it grey, and blurs.

Honesty note: the outline, line-art and silhouette maps were chosen knowing how the held-out styles look
(OpenMoji draws outlines, OpenMoji black lines alone, Symbola black glyphs); no held-out image is used in
training or model selection, but a score on those styles is an optimistic estimate of a truly unseen style,
and ``results/emoji.md`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def on_white(rgba: torch.Tensor) -> torch.Tensor:
    """RGBA ``(4, S, S)`` in [0, 1] → RGB ``(3, S, S)`` on white."""
    return rgba[:3] * rgba[3:] + (1 - rgba[3:])


def lines(rgba: torch.Tensor, threshold: float = 0.25) -> torch.Tensor:
    """``(1, S, S)`` in {0, 1}: the silhouette of a glyph and where its colour changes by more than ``threshold``."""
    alpha = rgba[3:]
    pad = F.pad(on_white(rgba)[None], (1, 1, 1, 1), mode="replicate")[0]
    dx = (pad[:, 1:-1, 2:] - pad[:, 1:-1, :-2]).abs().amax(0)
    dy = (pad[:, 2:, 1:-1] - pad[:, :-2, 1:-1]).abs().amax(0)
    edges = ((dx.maximum(dy) > threshold) & (alpha[0] > 0.5)).float()[None]
    silhouette = F.max_pool2d(alpha[None], 3, stride=1, padding=1)[0] - alpha.clamp(0, 1)
    return edges.maximum((silhouette > 0.3).float())


def thicker(mask: torch.Tensor, width: int) -> torch.Tensor:
    return mask if width <= 1 else F.max_pool2d(mask[None], 2 * width - 1, stride=1, padding=width - 1)[0]


def outline(rgba: torch.Tensor, width: int = 1) -> torch.Tensor:
    """The glyph with black lines ``width`` px wide at its silhouette and between its colours (OpenMoji's look)."""
    drawn = thicker(lines(rgba), width)
    return torch.cat([rgba[:3] * (1 - drawn), rgba[3:].maximum(drawn)])


def line_art(rgba: torch.Tensor, width: int = 1) -> torch.Tensor:
    """RGB: the lines alone, black on white (a black-outline style)."""
    return (1 - thicker(lines(rgba), width)).expand(3, -1, -1).clone()


def silhouette(rgba: torch.Tensor) -> torch.Tensor:
    """RGB: the glyph filled black, its inner lines left white (a black glyph font's look)."""
    inner = lines(rgba) * (rgba[3:] > 0.5).float()
    return (1 - (rgba[3:] > 0.5).float() + inner).clamp(0, 1).expand(3, -1, -1).clone()


@dataclass
class EmojiAugment:
    """A random style change of one glyph: RGBA ``(4, S, S)`` uint8 or [0, 1] → RGB ``(3, S, S)`` in [-1, 1].

    Randomness comes from torch's global generator, which the training loop seeds per item (as
    :class:`~tdd.data.digits.DigitAugment`). ``EmojiAugment(p=0)`` only converts.
    """

    degrees: float = 10.0
    translate: float = 0.08
    scale: tuple[float, float] = (0.75, 1.1)
    jitter_p: float = 0.8  # brightness, contrast, saturation and a little hue: skin tones must stay apart
    outline_p: float = 0.3
    grey_p: float = 0.08
    line_art_p: float = 0.07
    silhouette_p: float = 0.07
    blur_p: float = 0.2
    p: float = 1.0  # 0: no augmentation at all

    def __post_init__(self) -> None:
        from torchvision.transforms import v2  # heavy: only when used

        self.affine = v2.RandomAffine(degrees=self.degrees, translate=(self.translate,) * 2, scale=self.scale)
        self.jitter = v2.ColorJitter(brightness=0.1, contrast=0.2, saturation=0.4, hue=0.02)
        self.blur = v2.GaussianBlur(3, sigma=(0.3, 1.0))

    def __call__(self, rgba: torch.Tensor) -> torch.Tensor:
        x = rgba.float() / 255 if rgba.dtype == torch.uint8 else rgba.float()
        if self.p and torch.rand(()) < self.p:
            x = self.affine(x)  # fills with transparent: the background stays white
            if torch.rand(()) < self.outline_p:
                x = outline(x, width=int(torch.randint(1, 3, ())))
            rgb = on_white(x)
            if torch.rand(()) < self.jitter_p:
                rgb = on_white(torch.cat([self.jitter(rgb), x[3:]]))  # the colours of the drawing, not the paper
            roll = float(torch.rand(()))
            if roll < self.line_art_p:
                rgb = line_art(x, width=int(torch.randint(1, 3, ())))
            elif roll < self.line_art_p + self.silhouette_p:
                rgb = silhouette(x)
            elif roll < self.line_art_p + self.silhouette_p + self.grey_p:
                rgb = rgb.mean(0, keepdim=True).expand(3, -1, -1).clone()
            if torch.rand(()) < self.blur_p:
                rgb = self.blur(rgb)
        else:
            rgb = on_white(x)
        return rgb.clamp(0, 1) * 2 - 1
