"""Exports of a run (trajectory JSON, animated GIF) and the folder they go to."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from tdd.data.images import open_image
from tdd.demo.catalogue import Loaded
from tdd.demo.common import DemoError
from tdd.demo.inputs import flatten_drawing
from tdd.demo.run import Run
from tdd.demo.task import task_of
from tdd.noise_reads import noisy_argmax, signal_margin

EXPORT_ROOT_ENV = "TDD_EXPORT_DIR"  # where the app writes exports (default: <tmp>/tdd_exports)
EXPORT_MAX_AGE_ENV = "TDD_EXPORT_MAX_AGE"  # seconds an export is kept (default 3600)


def export_root() -> Path:
    """Where the apps write what they hand out: ``$TDD_EXPORT_DIR`` or ``<tmp>/tdd_exports`` (made if missing)."""
    root = Path(os.environ.get(EXPORT_ROOT_ENV) or Path(tempfile.gettempdir()) / "tdd_exports")
    root.mkdir(parents=True, exist_ok=True)
    return root


def export_dir(now: float | None = None) -> Path:
    """A fresh folder for one export, inside the export root; folders older than the maximum age
    (``$TDD_EXPORT_MAX_AGE`` seconds, default 3600) are removed first, so a long-running server
    does not fill its disk."""

    root = export_root()
    max_age = float(os.environ.get(EXPORT_MAX_AGE_ENV, 3600))
    now = time.time() if now is None else now
    for old in root.iterdir():
        try:
            if now - old.stat().st_mtime > max_age:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        except OSError:  # another request removed it first
            pass
    return Path(tempfile.mkdtemp(prefix="export_", dir=root))


def export_json(run: Run, loaded: Loaded, directory: str | os.PathLike) -> Path:
    path = Path(directory) / "tdd_trajectory.json"
    path.write_text(json.dumps(run.to_json(loaded), indent=1), encoding="utf-8")
    return path


def _noise_words(run: Run, k: int, loaded: Loaded) -> list[tuple[str, float, bool]]:
    """(word y_t reads, how far the draft stands above the noise clamped to [0, 1], False) per position."""

    margins = signal_margin(run.records, k)
    label_of = task_of(run.task).label_of
    ids = noisy_argmax(run.records[k]).tolist()
    return [(label_of(loaded, w), 0.0 if margins is None else max(0.0, min(1.0, float(margins[i]))), False)
            for i, w in enumerate(ids)]  # fmt: skip


def _word_row(draw: Any, words: list[tuple[str, float, bool]], y: float, font: Any, noise: bool = False) -> float:
    """Draw (word, shade, changed) boxes from x = 150, wrapping at 630; returns the y below the last line.
    The answer is blue by confidence; the noise row teal by how far the draft stands above the noise."""
    x = 150.0
    for word, p, changed in words:
        w = draw.textlength(word, font=font) + 10
        if x + w > 630:
            x, y = 150, y + 28
        if noise:
            fill = (241, 243, 245) if p <= 0 else (int(235 - 223 * p), int(245 - 79 * p), int(240 - 120 * p))
        else:
            shade = int(235 - 190 * max(0.0, min(1.0, p)))
            fill = (shade, shade + 10 if shade < 245 else 255, 255)
        draw.rounded_rectangle((x, y, x + w, y + 24), 5, fill=fill, outline=(240, 140, 0) if changed else None, width=2)
        ink = (134, 142, 150) if noise and p <= 0 else ("white" if p > 0.55 else (16, 42, 67))
        draw.text((x + 5, y + 3), word, fill=ink, font=font)
        x += w + 4
    return y + 28


def export_gif(run: Run, loaded: Loaded, image: Any, directory: str | os.PathLike, ms_per_step: int = 350) -> Path:
    """An animated GIF: the input image beside the sentence (or class) at each step."""

    if not run.records:
        raise DemoError("nothing to animate: this model has no denoising steps")
    image = flatten_drawing(image)
    thumb = open_image(image).convert("RGB").resize((128, 128))
    font = ImageFont.load_default(size=16)
    frames = []
    noisy = run.records[0].noisy_top_ids is not None  # TDD: a row of what the noise reads above the answer
    height = 230 if noisy else 148
    for k, r in enumerate(run.records):
        frame = Image.new("RGB", (640, height), "white")
        frame.paste(thumb, (10, 10))
        draw = ImageDraw.Draw(frame)
        draw.text((150, 8), f"step {r.step + 1}/{r.num_steps}  t={float(r.t):g}", fill=(100, 100, 100), font=font)
        y = 30.0
        if noisy:
            small = ImageFont.load_default(size=12)
            draw.text((150, y), "what the noise reads (y_t)", fill=(134, 142, 150), font=small)
            y = _word_row(draw, _noise_words(run, k, loaded), y + 16, font, noise=True) + 4
            draw.text((150, y), "the model's answer", fill=(134, 142, 150), font=small)
            y += 16
        _word_row(draw, task_of(run.task).frame_words(r, k, loaded), y, font)
        frames.append(frame)
    path = Path(directory) / "tdd_denoising.gif"
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=ms_per_step, loop=0)
    path.write_bytes(buf.getvalue())
    return path
