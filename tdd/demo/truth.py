"""The truth beside the answer: the bundled examples' true captions, and the answer marked word by word."""

from __future__ import annotations

import hashlib
import html
import os
from collections import Counter
from pathlib import Path
from typing import Any

from tdd.data.domain import unlike_scenes
from tdd.data.images import ImageError
from tdd.data.scene_marks import mark_words, missing_relation
from tdd.data.scenes import CaptionParseError
from tdd.demo.inputs import flatten_drawing


def example_truths(folder: str | os.PathLike) -> dict[str, str]:
    """``{sha256 of the image file: true caption}`` for the examples listed in ``folder/captions.txt``
    (``name<TAB>caption`` lines). Keyed by content, so a copy of an example (an upload, gradio's cache)
    is recognised and nothing else is."""

    folder = Path(folder)
    listing = folder / "captions.txt"
    if not listing.is_file():
        return {}
    truths = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        name, _, caption = line.partition("\t")
        if caption and (folder / name).is_file():
            truths[hashlib.sha256((folder / name).read_bytes()).hexdigest()] = caption.strip()
    return truths


def content_key(image: Any) -> str | None:
    """The sha256 of an image file's bytes (``image`` a path or the bytes), the key examples are known by: a copy
    (an upload, gradio's cache) has the same key; ``None`` when it cannot be read."""

    if isinstance(image, (str, os.PathLike)):
        try:
            data = Path(image).read_bytes()
        except OSError:
            return None
    elif isinstance(image, bytes):
        data = image
    else:
        return None
    return hashlib.sha256(data).hexdigest()


def truth_of(image: Any, truths: dict[str, str]) -> str | None:
    """The true caption when ``image`` (a path or bytes) is one of the examples, else ``None``."""

    key = content_key(image)
    return None if key is None else truths.get(key)


def truth_html(answer: str, truth: str) -> str:
    """The true caption, and each word of the answer marked right (green ✓) or wrong (red ✗)."""

    try:
        marks = mark_words(answer, truth)
    except CaptionParseError:
        return f'<div class="tdd-truth">true caption: <b>{html.escape(truth)}</b></div>'
    colours = {True: ("#2b8a3e", "✓"), False: ("#c92a2a", "✗"), None: ("#868e96", "")}
    words = "".join(
        f'<span class="tdd-mark tdd-{"right" if m else "wrong" if m is False else "plain"}" '
        f'style="color:{colours[m][0]};margin-right:6px">{html.escape(w)}{colours[m][1]}</span>'
        for w, m in marks
    )
    right = sum(m is True for _, m in marks)
    content = sum(m is not None for _, m in marks)
    note = " — the answer names one group of two" if missing_relation(answer, truth) else ""
    return (
        f'<div class="tdd-truth" style="font-size:15px;margin-top:6px">true caption: <b>{html.escape(truth)}</b>'
        f"<br>the answer, word by word: {words} <small>({right}/{content} right{note})</small></div>"
    )


def word_marks(said: list[str], true: list[str]) -> list[tuple[str, bool]]:
    """Each word of an answer marked by whether the true name still has it to give (as bags of words: a word said
    twice is right once when the name has it once)."""
    left = Counter(true)
    marks = []
    for w in said:
        marks.append((w, left[w] > 0))
        left[w] -= 1
    return marks


def name_html(truth: str, right: bool, marks: list[tuple[str, bool]] | None = None) -> str:
    """The true name (an emoji's), whether the answer is it, and the answer's words marked (``marks``) if given."""
    mark = '<b style="color:#2b8a3e">✓ right</b>' if right else '<b style="color:#c92a2a">✗ wrong</b>'
    words = ""
    if marks is not None:
        spans = "".join(
            f'<span class="tdd-mark tdd-{"right" if m else "wrong"}" style="color:{"#2b8a3e" if m else "#c92a2a"};'
            f'margin-right:6px">{html.escape(w)}{"✓" if m else "✗"}</span>'
            for w, m in marks
        )
        count = f"{sum(m for _, m in marks)}/{len(marks)} in the name"
        words = f"<br>the answer, word by word: {spans} <small>({count})</small>"
    name = f"true name: <b>{html.escape(truth)}</b> {mark}"
    return f'<div class="tdd-truth" style="font-size:15px;margin-top:6px">{name}{words}</div>'


def trained_on_scenes(model: Any) -> bool:
    """Whether a checkpoint was trained on the generated scenes (its saved training arguments say so)."""
    return getattr(model, "checkpoint_extra", {}).get("train_args", {}).get("data") == "scenes"


def domain_note(image: Any, model: Any) -> str:
    """HTML saying what a scenes captioner knows, when ``image`` looks unlike a scene (``""`` otherwise,
    and for models trained on other data); :func:`tdd.data.domain.unlike_scenes` is the test."""

    if not trained_on_scenes(model):
        return ""
    try:
        note = unlike_scenes(flatten_drawing(image))
    except (ImageError, TypeError, ValueError):
        return ""
    if note is None:
        return ""
    return f'<div class="tdd-domain" style="color:#a61e4d;margin-top:6px">{html.escape(note)}</div>'
