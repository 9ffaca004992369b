"""Emoji as a dataset (tdd.data.emoji): keys, names, attributes from code points, the six styles' sources,
the committed splits, and the registry entry. The sources are installed when missing, as root, as the browser
test does with chromium (Debian: apt-get; npm: npm pack into a sources folder); a test that still lacks one
says which and why it skips."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tdd.data import emoji
from tdd.data.emoji_styles import STYLES, EmojiSourceError, Reader, concept_key, key_of_filename, locate

pytest.importorskip("emoji")
SAMPLE = ["🐼", "😇", "👩🏽‍🚒", "🇯🇪", "1️⃣", "🤜🏿", "🦉", "👨🏻‍🌾"]


def _need(sources, *styles):
    absent = [s for s in styles if s in sources["absent"]]
    if absent:
        pytest.skip(f"emoji styles not installable here (no root, apt-get or npm, or no network): {absent}")


def test_keys_drop_fe0f_and_match_file_names():
    assert concept_key("1️⃣") == "31-20e3" == key_of_filename("0031-FE0F-20E3")
    assert concept_key("👩🏽‍🚒") == "1f469-1f3fd-200d-1f692" == key_of_filename("1f469-1f3fd-200d-1f692")
    assert emoji.tokenize("woman firefighter: medium skin tone") == ["woman", "firefighter", ":", "medium", "skin",
                                                                      "tone"]  # fmt: skip
    assert emoji.tokenize("flag: Jersey") == ["flag", ":", "jersey"]
    assert emoji.tokenize("kiss: woman, man, light skin tone")[2:5] == ["woman", ",", "man"]


def test_attributes_come_from_the_code_points():
    firefighter = emoji.attributes(concept_key("👩🏽‍🚒"))
    assert firefighter == {"skin_tone": "medium", "gender": "female", "hair": None, "direction": None, "flag": False,
                           "base": "1f469-200d-1f692"}  # fmt: skip
    assert emoji.attributes(concept_key("🇯🇪"))["flag"] and not emoji.attributes(concept_key("🐼"))["flag"]
    assert emoji.attributes(concept_key("👨🏻‍🦰"))["hair"] == "red"
    assert emoji.attributes("1f6b6-200d-27a1")["direction"] == "right"
    assert emoji.attributes(concept_key("🧑🏿‍🤝‍🧑🏻"))["skin_tone"] == "dark, light"


@pytest.mark.slow  # installs the sources when missing, renders glyphs
def test_every_style_draws_a_handful_of_glyphs(sources):
    _need(sources, *STYLES)
    keys = [concept_key(e) for e in SAMPLE]
    for name, style in STYLES.items():
        reader = Reader(style, locate(style))
        drawable = [k for k in keys if reader.has(k)]
        assert len(drawable) >= (3 if style.single_code_points else 6), (name, drawable)
        image = reader.draw(drawable[0], 32)
        assert image.shape == (32, 32, 4) and image.dtype == np.uint8
        assert image[..., 3].max() == 255 and image[0, 0, 3] == 0  # a glyph on a transparent background
        if style.single_code_points:
            assert not reader.has(concept_key("👩🏽‍🚒")) and not reader.has(concept_key("🇯🇪"))


@pytest.mark.slow  # installs the sources when missing, renders glyphs
def test_the_cache_is_built_once_and_a_damaged_source_is_named(sources, tmp_path, monkeypatch):
    _need(sources, "openmoji", "emojione")
    monkeypatch.setenv("TDD_DATA_DIR", str(tmp_path / "data"))
    keys = [concept_key(e) for e in SAMPLE]
    first = emoji.build_style("emojione", 24, keys)
    assert first.images.shape == (len(first.keys), 24, 24, 4) and "1f43c" in first.keys
    manifest = json.loads((emoji.cache_dir() / "manifest.json").read_text())
    (entry,) = [v for name, v in manifest.items() if name.startswith("emojione_24px_")]  # a subset: a file apart
    assert entry["count"] == len(first.keys) and not (emoji.cache_dir() / "emojione_24px.npz").exists()
    again = emoji.build_style("emojione", 24, keys)
    assert again.keys == first.keys and np.array_equal(again.images, first.images)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "openmoji-17.0.0.tgz").write_bytes(b"not a tarball")
    monkeypatch.setenv("TDD_EMOJI_SOURCES", str(broken))
    with pytest.raises(EmojiSourceError, match="openmoji-17.0.0.tgz: damaged or unreadable.*npm pack openmoji"):
        emoji.build_style("openmoji", 24, keys)
    with pytest.raises(EmojiSourceError, match="unknown emoji style 'wingdings'"):
        emoji.build_style("wingdings")


@pytest.mark.slow  # installs the sources when missing, renders glyphs
def test_the_committed_splits_are_reproduced_and_disjoint(sources):
    _need(sources, "openmoji")
    names = emoji.concepts()
    assert len(names) > 3800 and names[concept_key("🐼")] == "panda"
    assert names[concept_key("👩🏽‍🚒")] == "woman firefighter: medium skin tone"
    splits = emoji.splits()
    held = splits["compositional_holdout"]
    assert held == emoji.compositional_holdout(list(names))  # the manifest is what the rule gives
    assert not set(splits["training_styles"]) & set(splits["held_out_styles"])
    triples = [emoji.role_triple(k) for k in held]
    trained = [emoji.role_triple(k) for k in names if emoji.role_triple(k) and k not in held]
    for i in range(3):  # every part of a held-out triple is seen in training, in other triples
        assert {t[i] for t in triples} <= {t[i] for t in trained}


@pytest.mark.slow  # installs the sources when missing, renders glyphs
def test_the_dataset_entry_trains_without_the_holdout_and_evaluates_on_another_style(sources, tmp_path, monkeypatch):
    _need(sources, "openmoji", "emojione", "noto")
    from types import SimpleNamespace

    from tdd.data.registry import dataset

    monkeypatch.setenv("TDD_DATA_DIR", str(tmp_path / "data"))
    names = emoji.concepts()
    held = emoji.splits()["compositional_holdout"][:2]
    few = {k: names[k] for k in [concept_key(e) for e in SAMPLE] + held if k in names}
    monkeypatch.setattr(emoji, "concepts", lambda: few)  # a handful of concepts: seconds, not minutes
    opts = SimpleNamespace(emoji_train_styles="noto,emojione", emoji_eval_style="openmoji", image_size=16, seed=0,
                           eval_size=4)  # fmt: skip
    data, captions, evals = dataset("emoji", "caption").caption_data(opts)
    trained = {k for _, k in data.items}
    assert trained and not trained & set(held)  # the compositional hold-out is never trained on
    x, caption = data[0]
    tokens = dataset("emoji", "caption").caption_tokenizer(captions).encode(caption).tokens
    assert tokens == caption.split()  # one token a word: the vocabulary is the names' words
    assert x.shape == (3, 16, 16) and -1 <= x.min() and x.max() <= 1 and caption in captions
    assert len(evals.sources) == 4 and evals.sources[0].shape == (64, 64, 3)
    train, val, k = dataset("emoji", "classify").classify_data(opts)
    assert k == len(trained) and all(0 <= val[i][1] < k for i in range(len(val)))
    assert len(train.class_names) == k and train.class_names[train[0][1]].endswith(emoji.concepts()[train.items[0][1]])


@pytest.mark.slow  # runs the CLI
def test_tdd_data_emoji_says_what_is_here_and_how_to_get_the_rest(tmp_path):
    # an empty sources folder and a home without ~/.cache/tdd/emoji-sources: the npm styles are missing
    env = {**os.environ, "TDD_EMOJI_SOURCES": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "tdd.cli", "data", "emoji"], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "twemoji         missing   — get it: npm pack @twemoji/svg@15.0.0" in done.stdout
    assert "names: missing" in done.stdout and "Traceback" not in done.stdout + done.stderr


@pytest.mark.slow  # reads the names from the OpenMoji source, installed when missing
@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the box is empty"),
        (None, "the box is empty"),
        ("🐼" * 10_000, "not 10,000 characters"),
        ("hello", "no emoji in 'hello'"),
        ("🐼🦉", "one emoji at a time: the input holds 2"),
        ("a panda 🐼", "holds other characters too"),
        ("\u202e🐼", "control or direction characters (U+202E)"),
        ("\x00", "control or direction characters (U+0000)"),
    ],
)
def test_typed_input_is_untrusted_and_gets_a_clear_message(sources, text, message):
    _need(sources, "openmoji")
    with pytest.raises(ValueError, match=re.escape(message)):
        emoji.typed_emoji(text)


@pytest.mark.slow  # reads the names from the OpenMoji source, installed when missing
def test_typed_emoji_of_every_kind_find_their_concept(sources):
    _need(sources, "openmoji")
    names = emoji.concepts()
    for text in ("🐼", " 🐼\n", "👩🏽‍🚒", "1️⃣", "🇯🇪", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"):
        assert emoji.typed_emoji(text) in names
    assert names[emoji.typed_emoji("🐼")] == "panda"


def test_a_typed_emoji_is_drawn_in_the_style_asked_for(sources, monkeypatch, tmp_path):
    _need(sources, "noto", "symbola", "openmoji")
    panda = emoji.draw_typed(" 🐼 ", "noto", size=32)
    assert (panda.key, panda.name, panda.image.shape) == ("1f43c", "panda", (32, 32, 4)) and panda.image[..., 3].any()
    assert emoji.draw_typed("🐼", "openmoji").image.shape == (64, 64, 4)
    with pytest.raises(ValueError, match="Symbola.*does not draw 👩🏽‍🚒 \\(woman firefighter: medium skin tone\\)"):
        emoji.draw_typed("👩🏽‍🚒", "symbola")
    with pytest.raises(ValueError, match="one emoji at a time"):
        emoji.draw_typed("🐼🐼", "noto")
    (tmp_path / STYLES["openmoji"].archive).symlink_to(locate(STYLES["openmoji"]))  # the names, and no Twemoji
    monkeypatch.setenv("TDD_EMOJI_SOURCES", str(tmp_path))
    monkeypatch.setattr("tdd.data.emoji_styles.DEFAULT_SOURCES", tmp_path / "none")
    with pytest.raises(EmojiSourceError, match="Twemoji is not installed here; get it: .*npm pack @twemoji/svg@15.0.0"):
        emoji.draw_typed("🐼", "twemoji")


def test_a_written_name_says_its_skin_tone_and_gender(sources):
    _need(sources, "openmoji")  # the names
    assert emoji.name_attributes("woman firefighter: medium skin tone") == {"skin_tone": "medium", "gender": "female"}
    assert emoji.name_attributes("kiss: woman, man, medium-light skin tone, dark skin tone") == {
        "skin_tone": "medium-light, dark", "gender": "mixed"}  # fmt: skip
    # a name no emoji has is read word by word
    assert emoji.name_attributes("man firefighter : dark skin tone tone") == {"skin_tone": "dark", "gender": "male"}
    assert emoji.name_attributes("panda") == {"skin_tone": None, "gender": None}
    assert emoji.name_attributes("people holding hands") == {"skin_tone": None, "gender": "neutral"}


def test_typed_emoji_without_the_emoji_package_is_a_clear_message(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "emoji", None)  # as where the emoji extra is not installed
    with pytest.raises(emoji.EmojiSourceError, match="typed emoji need the 'emoji' package"):
        emoji.typed_emoji("🐼")
