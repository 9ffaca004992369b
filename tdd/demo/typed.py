"""Typed input: a tab whose input can be typed as well as uploaded or drawn. The emoji tab's: type or paste an
emoji, pick one of the installed styles, and the glyph that style draws becomes the tab's image, its true name
remembered beside it (so the answer is marked, as for an example)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tdd.data import emoji
from tdd.data.emoji_styles import STYLES, TRAINING_STYLES, locate
from tdd.demo.common import DemoError
from tdd.demo.export import export_root

MAX_REMEMBERED = 4096  # typed glyphs whose truth the server keeps (the oldest forgotten first)


def typed_dir() -> Path:
    """Where typed inputs are drawn: ``typed/`` under the apps' export root (removed with the old exports)."""
    root = export_root() / "typed"
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass(frozen=True)
class Typed:
    """What a typed input drew: the image file the tab runs on and the true answer."""

    path: Path
    truth: str


class TypedEmoji:
    """The emoji tab's typed input (:func:`tdd.data.emoji.draw_typed`): any string in, one glyph or a
    :class:`DemoError` that says what is wrong out."""

    label = "Type or paste an emoji"
    placeholder = "e.g. 🐼 — one emoji, then Enter"
    style_label = "drawn in the style of"

    def __init__(self) -> None:
        self._truths: OrderedDict[str, str] = OrderedDict()

    def styles(self) -> list[str]:
        """The styles installed here that draw typed emoji, training styles first (the Space's: the Debian fonts
        of ``packages.txt``); empty when none is (:meth:`draw` then says how to get one)."""
        order = sorted(STYLES, key=lambda s: (s not in TRAINING_STYLES, list(STYLES).index(s)))
        return [s for s in order if locate(STYLES[s]) is not None]

    def draw(self, text: object, style: object, directory: Path | None = None) -> Typed:
        """``text`` drawn in ``style`` as a PNG in ``directory`` (default :func:`typed_dir`: the same emoji and style
        is the same file, so an app that reruns keeps its input); its name remembered as the truth."""
        if not isinstance(style, str) or not style:
            installed = self.styles()
            if not installed:
                raise DemoError("no emoji style is installed here: `tdd data emoji` says how to get one")
            style = installed[0]
        try:
            typed = emoji.draw_typed(text, style)
        except (ValueError, emoji.EmojiSourceError) as e:  # what is wrong with the input, or the style missing
            raise DemoError(str(e)) from None
        path = Path(directory or typed_dir()) / f"{typed.style}_{typed.key.replace(' ', '_')}.png"
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        Image.fromarray(typed.image, "RGBA").save(partial, format="PNG")
        os.replace(partial, path)  # whole or not at all, whoever draws the same emoji at the same time
        self._remember(hashlib.sha256(path.read_bytes()).hexdigest(), typed.name)
        return Typed(path, typed.name)

    def truths(self) -> dict[str, str]:
        """``{sha256 of a drawn file: its name}`` of the glyphs drawn so far (:func:`tdd.demo.truth_of`)."""
        return dict(self._truths)

    def _remember(self, digest: str, name: str) -> None:
        self._truths[digest] = name
        self._truths.move_to_end(digest)
        while len(self._truths) > MAX_REMEMBERED:
            self._truths.popitem(last=False)
