"""Emoji as a dataset: the same ~3,900 concepts drawn by six independent design teams (:mod:`tdd.data.emoji_styles`),
each with its CLDR English name ("woman firefighter: medium skin tone") — both of the paper's tasks on pictures
and words that people made.

- **Concepts**: the fully qualified emoji of PyPI ``emoji`` (``EMOJI_DATA``) that have a name, keyed by their code
  points without U+FE0F (:func:`~tdd.data.emoji_styles.concept_key`).
- **Names**: CLDR short names as OpenMoji 17.0's ``data/openmoji.csv`` records them (its ``annotation`` column,
  one documented source for every style), tokenised into lower-case words with ``:`` and ``,`` kept as tokens.
- **Attributes**, read from the code points, not the text (:func:`attributes`): skin tone, gender, hair,
  direction, flag or not, and the base concept (the key without skin tones).
- **Images**: each style's glyphs rendered once at a fixed size on a transparent background and cached
  (:func:`build_style`: one compressed ``.npz`` per style and size under :func:`cache_dir`, listed in
  ``manifest.json``).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
import tarfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tdd.data.emoji_styles import (
    STYLES,
    EmojiSourceError,
    Reader,
    Style,
    concept_key,
    key_of_filename,
    locate,
    text_of_key,
)
from tdd.data.images import preprocess_rgb

CACHE_ENV = "TDD_DATA_DIR"
NAMES_STYLE = "openmoji"  # the npm package whose data/openmoji.csv holds the CLDR names
NAMES_MEMBER = "package/data/openmoji.csv"
DEFAULT_SIZE = 64
CACHE_VERSION = 1  # bumped whenever a cached rendering would come out different
TONES = {"1f3fb": "light", "1f3fc": "medium-light", "1f3fd": "medium", "1f3fe": "medium-dark", "1f3ff": "dark"}
FEMALE = {"2640", "1f469", "1f467", "1f475"}  # female sign, woman, girl, old woman
MALE = {"2642", "1f468", "1f466", "1f474"}  # male sign, man, boy, old man
NEUTRAL = {"1f9d1", "1f9d2", "1f9d3"}  # person, child, older person
HAIR = {"1f9b0": "red", "1f9b1": "curly", "1f9b3": "white", "1f9b2": "bald"}
FACING_RIGHT = "27a1"  # in a ZWJ sequence: "… facing right"
ATTRIBUTES = ("skin_tone", "gender", "hair", "direction", "flag", "base")


GENDER_WORDS = {"woman": "female", "women": "female", "girl": "female", "female": "female", "man": "male",
                "men": "male", "boy": "male", "male": "male", "person": "neutral", "people": "neutral"}  # fmt: skip


def name_attributes(text: str) -> dict[str, str | None]:
    """Skin tone and gender as a *written* name says them (a caption a model wrote), in the values of
    :func:`attributes`: a known name gives its emoji's code-point attributes; any other text is read word by word
    (the tones before "skin tone"; woman/man/girl/boy/person words, "mixed" when both sexes are named)."""
    words = tokenize(text)
    known = _keys_of_names().get(" ".join(words))
    if known is not None:
        found = attributes(known)
        return {"skin_tone": found["skin_tone"], "gender": found["gender"]}
    tones = [w for i, w in enumerate(words[:-2]) if words[i + 1 : i + 3] == ["skin", "tone"] and w in TONES.values()]
    genders = {GENDER_WORDS[w] for w in words if w in GENDER_WORDS}
    sexed = genders - {"neutral"}
    gender = "mixed" if len(sexed) > 1 else next(iter(sexed), None) or next(iter(genders), None)
    return {"skin_tone": ", ".join(tones) or None, "gender": gender}


@functools.cache
def _keys_of_names() -> dict[str, str]:
    return {" ".join(tokenize(name)): key for key, name in concepts().items()}


def cache_dir() -> Path:
    """Where rendered styles are cached: ``$TDD_DATA_DIR/emoji`` or ``~/.cache/tdd/emoji``."""
    root = os.environ.get(CACHE_ENV)
    return (Path(root) if root else Path.home() / ".cache" / "tdd") / "emoji"


def tokenize(name: str) -> list[str]:
    """A CLDR name → words: lower case, ``:`` and ``,`` as tokens of their own ("flag: Jersey" → flag : jersey)."""
    return re.findall(r"[^\s:,]+|[:,]", name.lower())


def _names_source() -> Path:
    """Where the CLDR names are read from (OpenMoji's tarball or unpacked folder); a clear error when absent."""
    style = STYLES[NAMES_STYLE]
    where = locate(style)
    if where is None:
        into = os.environ.get("TDD_EMOJI_SOURCES") or "~/.cache/tdd/emoji-sources"
        raise EmojiSourceError(f"the emoji names come from {style.title}'s data/openmoji.csv, which is not here; "
                               f"get it: {style.get} (into {into})")  # fmt: skip
    return where


def _names_csv(where: Path) -> str:
    style = STYLES[NAMES_STYLE]
    try:
        if where.is_file():
            with tarfile.open(where) as archive:
                handle = archive.extractfile(NAMES_MEMBER)
                if handle is None:
                    raise KeyError(NAMES_MEMBER)
                return handle.read().decode("utf-8")
        return (where / "data" / "openmoji.csv").read_text(encoding="utf-8")
    except (OSError, KeyError, tarfile.TarError, UnicodeDecodeError) as e:
        raise EmojiSourceError(f"{where}: no readable {NAMES_MEMBER} ({type(e).__name__}: {e}); get it again: "
                               f"{style.get}") from None  # fmt: skip


def concepts() -> dict[str, str]:
    """``{key: CLDR name}`` for every fully qualified emoji with a name, in the order of ``EMOJI_DATA``."""
    where = _names_source()
    stat = where.stat()  # read once per source file as it is now: finding the csv scans the whole tarball (~2 s)
    return dict(_concepts_of(where, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=4)
def _concepts_of(where: Path, mtime_ns: int, size: int) -> dict[str, str]:
    import emoji  # optional (the emoji extra): the list of fully qualified sequences

    names = {concept_key(r["emoji"]): r["annotation"] for r in csv.DictReader(io.StringIO(_names_csv(where)))}
    fully = emoji.STATUS["fully_qualified"]
    keys = [concept_key(e) for e, v in emoji.EMOJI_DATA.items() if v["status"] == fully]
    return {k: names[k] for k in keys if names.get(k)}


def attributes(key: str) -> dict[str, Any]:
    """What the code points say (``None``: the emoji has none of it): skin tone(s), gender, hair, direction,
    flag or not, and the base concept (the key without skin tones)."""
    parts = key.split("-")
    tones = [TONES[p] for p in parts if p in TONES]
    genders = {"female" for p in parts if p in FEMALE} | {"male" for p in parts if p in MALE}
    if not genders and any(p in NEUTRAL for p in parts):
        genders = {"neutral"}
    regional = [p for p in parts if 0x1F1E6 <= int(p, 16) <= 0x1F1FF]
    flag = len(regional) == 2 or (parts[0] == "1f3f4" and len(parts) > 1) or parts[:2] in (["1f3f3", "200d"],)
    return {
        "skin_tone": ", ".join(tones) or None,
        "gender": "mixed" if len(genders) > 1 else next(iter(genders), None),
        "hair": next((HAIR[p] for p in parts if p in HAIR), None),
        "direction": "right" if FACING_RIGHT in parts and "200d" in parts else None,
        "flag": bool(flag),
        "base": "-".join(p for p in parts if p not in TONES),
    }


@dataclass
class StyleImages:
    """One style's cached rendering: ``keys`` and their RGBA images ``(N, S, S, 4)`` uint8."""

    style: str
    keys: list[str]
    images: np.ndarray

    def index(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys)}


def _cache_file(style: str, size: int, subset: str = "") -> Path:
    return cache_dir() / f"{style}_{size}px{subset}.npz"


def subset(limit: int) -> list[str] | None:
    """The concepts of a small run (``--emoji-limit``): the first ``limit`` and the compositional hold-out; ``None``
    (every concept) for 0."""
    if not limit:
        return None
    return list(dict.fromkeys([*list(concepts())[:limit], *splits()["compositional_holdout"]]))


def _manifest() -> dict[str, Any]:
    path = cache_dir() / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return {}  # a damaged manifest is rebuilt entry by entry


def build_style(
    style: str, size: int = DEFAULT_SIZE, keys: list[str] | None = None, force: bool = False
) -> StyleImages:
    """Render ``style``'s glyph of every concept it has (``keys``: of these only), cache and return them; a cached
    rendering of the same source, size, keys and version is read instead."""
    spec = _style(style)
    where = locate(spec)
    if where is None:
        raise EmojiSourceError(f"{spec.title} ({style}) is not here; get it: {spec.get}")
    wanted = list(keys) if keys is not None else list(concepts())
    tag = hashlib.sha256(json.dumps([str(where), size, wanted, CACHE_VERSION]).encode()).hexdigest()[:16]
    path, manifest = _cache_file(style, size, "" if keys is None else f"_{tag}"), _manifest()  # a subset apart
    if not force and path.is_file() and manifest.get(path.name, {}).get("tag") == tag:
        try:
            with np.load(path) as data:
                return StyleImages(style, [str(k) for k in data["keys"]], data["images"])
        except (OSError, ValueError, KeyError):
            pass  # damaged: rendered again below
    reader = Reader(spec, where)
    have = [k for k in wanted if reader.has(k)]
    images = np.stack([reader.draw(k, size) for k in have]) if have else np.zeros((0, size, size, 4), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, keys=np.array(have), images=images)
    os.replace(tmp, path)
    manifest[path.name] = {"style": style, "source": str(where), "size": size, "count": len(have), "tag": tag}
    (cache_dir() / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return StyleImages(style, have, images)


def _style(name: str) -> Style:
    if name not in STYLES:
        raise EmojiSourceError(f"unknown emoji style {name!r}; the styles are: {', '.join(STYLES)}")
    return STYLES[name]


def report() -> str:
    """``tdd data emoji``: which styles are here, how many concepts each draws, and how to get the missing ones."""
    lines = []
    try:
        named = concepts()
        lines.append(f"names: {len(named)} concepts with a CLDR name ({STYLES[NAMES_STYLE].title}'s openmoji.csv)")
    except (EmojiSourceError, ImportError) as e:
        named = {}
        lines.append(f"names: missing — {e}")
    for name, spec in STYLES.items():
        where = locate(spec)
        if where is None:
            lines.append(f"{name:15s} missing   — get it: {spec.get}")
            continue
        try:
            reader = Reader(spec, where)
            if spec.kind == "font":
                drawn = "a font: its glyphs are checked when rendered"
            elif named:
                drawn = f"{sum(reader.has(k) for k in named)} named concepts"
            else:
                drawn = "the names are missing: nothing to count"
            lines.append(f"{name:15s} found     {where} ({drawn})")
        except EmojiSourceError as e:
            lines.append(f"{name:15s} damaged   — {e}")
    sources = os.environ.get("TDD_EMOJI_SOURCES") or "~/.cache/tdd/emoji-sources"
    lines.append(f"npm tarballs are looked for in {sources}; run the npm commands there.")
    return "\n".join(lines)


def keys_from_files(folder: str | os.PathLike) -> list[str]:
    """The keys of a folder of images named by code point (``1f43c.png``, ``1F468-200D-1F692.svg``)."""
    return sorted(key_of_filename(p.stem) for p in Path(folder).iterdir() if p.suffix in (".png", ".svg"))


ROLE_GENDERS = {"1f9d1": "person", "1f468": "man", "1f469": "woman"}  # the first code point of a role sequence
HOLDOUT_SHARE = 5  # one (role, gender, skin tone) triple in five is never trained on
SPLITS_FILE = Path(__file__).with_name("emoji_splits.json")  # committed: the hold-outs as code points


def role_triple(key: str) -> tuple[str, str, str] | None:
    """``(role, gender, tone)`` of a role sequence with a skin tone (``1f469-1f3fd-200d-1f692``: firefighter,
    woman, medium); ``None`` for anything else."""
    parts = key.split("-")
    if len(parts) != 4 or parts[0] not in ROLE_GENDERS or parts[1] not in TONES or parts[2] != "200d":
        return None
    return parts[3], ROLE_GENDERS[parts[0]], TONES[parts[1]]


def compositional_holdout(keys: list[str]) -> list[str]:
    """The fixed compositional hold-out: role × gender × skin-tone triples chosen by a stable hash (one in
    :data:`HOLDOUT_SHARE`), each of whose parts appears in training in other triples."""
    triples = {k: t for k in keys if (t := role_triple(k))}
    chosen = [
        k for k, t in triples.items() if int(hashlib.sha256("|".join(t).encode()).hexdigest(), 16) % HOLDOUT_SHARE == 0
    ]
    kept = [t for k, t in triples.items() if k not in chosen]
    seen = [{t[i] for t in kept} for i in range(3)]
    return sorted(k for k in chosen if all(triples[k][i] in seen[i] for i in range(3)))


def splits() -> dict[str, Any]:
    """The committed splits (:data:`SPLITS_FILE`): training and held-out styles, the compositional hold-out."""
    return json.loads(SPLITS_FILE.read_text(encoding="utf-8"))


MAX_TYPED = 64  # characters: one emoji is at most ~10 code points; anything longer is not one


def typed_emoji(text: Any) -> str:
    """A user's typed or pasted input → the key of the one emoji it holds; a ``ValueError`` that says what is
    wrong otherwise (empty, too long, control or bidi characters, no emoji, several, or one with no name)."""
    try:
        import emoji as emoji_lib  # optional (the emoji extra): what counts as one emoji
    except ImportError:
        raise EmojiSourceError("typed emoji need the 'emoji' package: pip install -e '.[emoji]'") from None

    if not isinstance(text, str) or not text.strip():
        raise ValueError("type or paste one emoji (the box is empty)")
    text = text.strip()
    if len(text) > MAX_TYPED:
        raise ValueError(f"type or paste one emoji, not {len(text):,} characters")
    joiners = lambda c: c == "\u200d" or 0xE0020 <= ord(c) <= 0xE007F  # noqa: E731  (ZWJ; subdivision flags' tags)
    odd = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cc", "Cf") and not joiners(c)})
    if odd:
        raise ValueError(
            f"the input holds control or direction characters ({', '.join(odd[:4])}); paste the emoji alone"
        )
    found = emoji_lib.emoji_list(text)
    if not found:
        raise ValueError(f"no emoji in {text[:20]!r}; type or paste one, e.g. 🐼")
    if len(found) > 1:
        raise ValueError(f"one emoji at a time: the input holds {len(found)}")
    if found[0]["match_start"] != 0 or found[0]["match_end"] != len(text):
        raise ValueError(f"one emoji alone, please: {text[:20]!r} holds other characters too")
    key = concept_key(found[0]["emoji"])
    if key not in concepts():
        raise ValueError(f"{found[0]['emoji']} is an emoji this dataset has no name for (newer than its sources?)")
    return key


@dataclass
class TypedEmoji:
    """A typed emoji drawn in one style: its key, its CLDR name and the glyph RGBA ``(S, S, 4)`` uint8."""

    key: str
    name: str
    style: str
    image: np.ndarray


def draw_typed(text: Any, style: str, size: int = DEFAULT_SIZE) -> TypedEmoji:
    """A user's typed or pasted emoji (:func:`typed_emoji`) drawn in ``style``, as the app's tab shows it; a
    ``ValueError`` that says what is wrong (the input, a style not installed with how to get it, or a style that
    does not draw this emoji)."""
    key = typed_emoji(text)
    spec = _style(style)
    where = locate(spec)
    if where is None:
        raise EmojiSourceError(f"{spec.title} is not installed here; get it: {spec.get}")
    reader = Reader(spec, where)
    if not reader.has(key):
        raise ValueError(f"{spec.title} does not draw {text_of_key(key)} ({concepts()[key]}); pick another style")
    return TypedEmoji(key, concepts()[key], style, reader.draw(key, size))


def preprocess_emoji(source: Any, image_size: int) -> Any:
    """Any picture of an emoji → ``(3, S, S)`` model input in [-1, 1], as the emoji models saw their glyphs:
    over white, centre-cropped, at the cache's :data:`DEFAULT_SIZE`, then area-resized to ``image_size`` (the app's
    tab and ``tdd classify`` alike)."""
    import torch.nn.functional as F  # heavy: only when a picture is read

    x = preprocess_rgb(source, DEFAULT_SIZE)
    return F.interpolate(x[None], size=(image_size, image_size), mode="area")[0] if image_size != DEFAULT_SIZE else x


def glyph_inputs(rgba: Any, image_size: int) -> Any:
    """Glyphs ``(N, 4, S, S)`` in [0, 1] (a cache's images, ``StyleImages.images`` as floats) → model input
    ``(N, 3, size, size)`` in [-1, 1]: over white, area-resized, as :func:`preprocess_emoji` reads one picture."""
    import torch  # heavy: only when glyphs are read
    import torch.nn.functional as F  # with torch

    from tdd.data.emoji_augment import on_white  # torchvision: only here

    rgb = torch.stack([on_white(x) for x in rgba])
    return F.interpolate(rgb, size=(image_size, image_size), mode="area") * 2 - 1
