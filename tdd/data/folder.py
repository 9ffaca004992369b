"""Your own captioned images: a folder with the images and a ``captions.txt`` listing them.

``captions.txt`` has one ``file name<TAB>caption`` per line (relative to the folder; blank lines and
lines starting with ``#`` are ignored) — the format of ``examples/scenes/captions.txt``. A line naming
a missing file is skipped and counted; an image that cannot be read raises
:class:`~tdd.data.images.ImageError` when loaded, which the training loop skips and counts
(:mod:`tdd.data.loading`), so one bad file never stops a long run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tdd.data.images import preprocess_rgb

CAPTIONS_FILE = "captions.txt"
log = logging.getLogger(__name__)


class CaptionFolder:
    """``(image (3, S, S) in [-1, 1], caption)`` pairs from a folder; a ``torch`` Dataset by duck typing.

    Raises:
        FileNotFoundError: when the folder or its ``captions.txt`` does not exist.
        ValueError: when ``captions.txt`` has a malformed line (naming the line) or no usable entry.
    """

    def __init__(self, root: str | os.PathLike, image_size: int):
        self.root = Path(root)
        self.image_size = image_size
        listing = self.root / CAPTIONS_FILE
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: dataset folder not found")
        if not listing.is_file():
            raise FileNotFoundError(f"{listing}: not found; write one 'file name<TAB>caption' per line")
        self.entries: list[tuple[Path, str]] = []
        self.missing = 0
        for n, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, text = line.partition("\t")
            if not sep or not text.strip():
                raise ValueError(f"{listing}:{n}: expected 'file name<TAB>caption', got {line!r}")
            path = self.root / name.strip()
            if not path.is_file():
                self.missing += 1
                continue
            self.entries.append((path, " ".join(text.lower().split())))
        if self.missing:
            log.warning("%s: %d entries name missing files and are skipped", listing, self.missing)
        if not self.entries:
            raise ValueError(f"{listing}: no entry names an existing image")

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i: int):
        """``(image, caption)``; raises :class:`~tdd.data.images.ImageError` when the image is unreadable."""
        path, text = self.entries[i]
        return preprocess_rgb(path, self.image_size), text

    @property
    def captions(self) -> list[str]:
        return [text for _, text in self.entries]
