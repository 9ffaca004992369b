"""Where each emoji art style comes from, and how one glyph of it is drawn: six independent design teams'
emoji, reachable from the package registries (Debian, npm), each a *style* of :mod:`tdd.data.emoji`.

A style is found in the first place that has it: a folder or tarball under one of the source folders
(``$TDD_EMOJI_SOURCES``, colon-separated, then ``~/.cache/tdd/emoji-sources``), then where the Debian package
installs it. Keys are code points in lower-case hex joined by ``-``, without U+FE0F (:func:`concept_key`).
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SOURCES_ENV = "TDD_EMOJI_SOURCES"
DEFAULT_SOURCES = Path.home() / ".cache" / "tdd" / "emoji-sources"
FONT_SIZE = 109  # Noto Color Emoji is a bitmap (CBDT) font: it renders at this size only


def concept_key(text: str) -> str:
    """An emoji (one grapheme, any qualification) → its key: code points in hex, ``-``-joined, no FE0F."""
    return "-".join(f"{ord(c):x}" for c in text if c != "\ufe0f")


def key_of_filename(stem: str) -> str:
    """``1F468-200D-1F692`` or ``1f468-200d-1f692`` (FE0F or not) → the key."""
    return "-".join(p.lower().lstrip("0") or "0" for p in re.split(r"[-_]", stem) if p.lower() != "fe0f")


def text_of_key(key: str) -> str:
    return "".join(chr(int(p, 16)) for p in key.split("-"))


@dataclass(frozen=True)
class Style:
    """One art style: its name, what it is, where it comes from, its licence, and how to get it."""

    name: str
    title: str
    kind: str  # "font" (a glyph per key), "png" (a folder of PNGs), "svg" (SVGs in an npm tarball or folder)
    system_path: str | None  # where the Debian package puts it
    archive: str | None  # the npm tarball's file name (``npm pack NAME@VERSION``)
    member_dir: str  # inside the tarball or folder: where the images are
    get: str  # the command that fetches it
    licence: str
    single_code_points: bool = False  # a font that draws one code point at a time (no sequences, no flags)
    colour: bool = True


STYLES = {
    s.name: s
    for s in (
        Style(
            "noto",
            "Noto Color Emoji",
            "font",
            "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
            None,
            "",
            "apt-get install fonts-noto-color-emoji",
            "SIL Open Font License 1.1",
        ),
        Style(
            "twemoji",
            "Twemoji",
            "svg",
            None,
            "twemoji-svg-15.0.0.tgz",
            "package",
            "npm pack @twemoji/svg@15.0.0",
            "CC-BY 4.0 (graphics), Twitter, Inc and other contributors",
        ),
        Style(
            "emojione",
            "EmojiOne 3",
            "png",
            "/usr/share/rubygems-integration/all/gems/gemojione-3.3.0",
            None,
            "assets/png",
            "apt-get install ruby-gemojione",
            "CC-BY 4.0 (EmojiOne 3 artwork, via gemojione)",
        ),
        Style(
            "openmoji",
            "OpenMoji (colour)",
            "svg",
            None,
            "openmoji-17.0.0.tgz",
            "package/color/svg",
            "npm pack openmoji@17.0.0",
            "CC BY-SA 4.0, the OpenMoji project",
        ),
        Style(
            "openmoji-black",
            "OpenMoji (black)",
            "svg",
            None,
            "openmoji-17.0.0.tgz",
            "package/black/svg",
            "npm pack openmoji@17.0.0",
            "CC BY-SA 4.0, the OpenMoji project",
            colour=False,
        ),
        Style(
            "symbola",
            "Symbola",
            "font",
            "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
            None,
            "",
            "apt-get install fonts-symbola",
            "free for any use (George Douros)",
            single_code_points=True,
            colour=False,
        ),
    )  # fmt: skip
}
TRAINING_STYLES = ("noto", "twemoji", "emojione")
HELD_OUT_STYLES = ("openmoji", "openmoji-black", "symbola")


class EmojiSourceError(ValueError):
    """A style's source is missing or damaged; the message names it and how to get it."""


def source_dirs() -> list[Path]:
    """The folders searched for tarballs and unpacked styles, in order."""
    listed = [Path(p).expanduser() for p in os.environ.get(SOURCES_ENV, "").split(os.pathsep) if p]
    return [*listed, DEFAULT_SOURCES]


def locate(style: Style) -> Path | None:
    """Where ``style`` is on this machine: a tarball, an unpacked folder, a font or a PNG folder; ``None``."""
    for folder in source_dirs():
        if style.archive and (folder / style.archive).is_file():
            return folder / style.archive
        unpacked = folder / style.name
        if unpacked.is_dir() or (unpacked.with_suffix(".ttf")).is_file():
            return unpacked if unpacked.is_dir() else unpacked.with_suffix(".ttf")
    if style.system_path and Path(style.system_path).exists():
        return Path(style.system_path)
    return None


class Reader:
    """The glyphs of one located style: ``keys()`` it has, ``draw(key, size)`` → RGBA ``(size, size, 4)`` uint8."""

    def __init__(self, style: Style, where: Path):
        self.style, self.where = style, where
        self._files: dict[str, Callable[[], bytes]] = {}
        self._font: ImageFont.FreeTypeFont | None = None
        try:
            self._open()
        except (OSError, tarfile.TarError, ValueError) as e:
            reason = " ".join(str(e).split())  # one line, whatever the library wrote
            problem = f"{style.title} at {where}: damaged or unreadable ({reason}); get it again: {style.get}"
            raise EmojiSourceError(problem) from None

    def _open(self) -> None:
        s, where = self.style, self.where
        if s.kind == "font":
            self._font = ImageFont.truetype(str(where), FONT_SIZE if s.name == "noto" else 96)
            return
        suffix = ".png" if s.kind == "png" else ".svg"
        if where.is_file():  # an npm tarball, read in place
            archive = tarfile.open(where)
            prefix = s.member_dir.rstrip("/") + "/"
            for m in archive.getmembers():
                if m.isfile() and m.name.startswith(prefix) and "/" not in m.name[len(prefix) :]:
                    if m.name.endswith(suffix):
                        self._files[key_of_filename(Path(m.name).stem)] = _member_reader(archive, m)
            return
        folder = where / s.member_dir if (where / s.member_dir).is_dir() else where
        for path in folder.glob(f"*{suffix}"):
            self._files[key_of_filename(path.stem)] = path.read_bytes
        if not self._files:
            raise ValueError(f"no {suffix} files under {folder}")

    def has(self, key: str) -> bool:
        if self._font is None:
            return key in self._files
        if self.style.single_code_points and "-" in key:
            return False
        return _font_has(self._font, text_of_key(key), colour=self.style.name == "noto")

    def draw(self, key: str, size: int) -> np.ndarray:
        """The glyph of ``key`` centred on a transparent square, ``(size, size, 4)`` uint8."""
        if self._font is not None:
            image = _draw_font(self._font, text_of_key(key), colour=self.style.name == "noto")
        elif self.style.kind == "png":
            image = Image.open(io.BytesIO(self._files[key]())).convert("RGBA")
        else:
            image = _render_svg(self._files[key](), 4 * size)
        return np.asarray(_square(image, size), dtype=np.uint8)


def _member_reader(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        handle = archive.extractfile(member)
        if handle is None:
            raise EmojiSourceError(f"{member.name}: not a file")
        return handle.read()

    return read


def _font_has(font: ImageFont.FreeTypeFont, text: str, colour: bool) -> bool:
    """Whether the font draws ``text`` as a glyph of its own (not blank, not the missing-glyph box)."""
    drawn = np.asarray(_draw_font(font, text, colour))
    missing = np.asarray(_draw_font(font, "\U0010fffd", colour))
    return bool(drawn[..., 3].any()) and (drawn.shape != missing.shape or not np.array_equal(drawn, missing))


def _draw_font(font: ImageFont.FreeTypeFont, text: str, colour: bool) -> Image.Image:
    left, top, right, bottom = font.getbbox(text, mode="RGBA" if colour else "L")
    canvas = Image.new("RGBA", (max(right - left, 1), max(bottom - top, 1)), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((-left, -top), text, font=font, fill=(0, 0, 0, 255), embedded_color=colour)
    return canvas


def _render_svg(data: bytes, size: int) -> Image.Image:
    import resvg_py  # optional (the emoji extra): only for the SVG styles

    try:
        png = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), width=size, height=size)
    except Exception as e:  # resvg raises its own errors for a malformed SVG
        raise EmojiSourceError(f"an SVG that does not render ({type(e).__name__}: {e})") from None
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def _square(image: Image.Image, size: int) -> Image.Image:
    """Trim the transparent margin, fit the glyph into ``size`` with a small border, centred."""
    box = image.getbbox()
    if box is not None:
        image = image.crop(box)
    inner = max(1, round(size * 0.9))
    scale = inner / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(image, ((size - image.width) // 2, (size - image.height) // 2), image)
    return canvas
