"""The apps' emoji tabs (#40), "Name an emoji" (the classifier) and "Emoji, word by word" (the captioners): their
catalogues, their examples, typed input (every bad string), the shipped emoji models on the examples, the emoji
family of "Side by side", and the ``/name_emoji`` endpoint through gradio_client."""

import hashlib
import re
from pathlib import Path

import pytest
import torch

from tdd import demo as core
from tdd.data.emoji import tokenize as emoji_words
from tdd.noise_reads import noisy_argmax

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "emoji"
BAD_TYPED = {
    "": "the box is empty",
    "   ": "the box is empty",
    "x" * 10_000: "not 10,000 characters",
    "hello": "no emoji in 'hello'",
    "🐼🐼": "one emoji at a time: the input holds 2",
    "a 🐼": "holds other characters too",
    "\u202e🐼": "control or direction characters (U+202E)",
    "🐼\x00": "control or direction characters (U+0000)",
}


def test_each_tab_offers_the_models_of_its_data():
    assert list(core.TASKS)[0] == "emoji" and core.task_of("emoji").title == "Name an emoji"
    assert core.trained_on("emoji-tdd") == "emoji" and core.trained_on("digits-tdd") == "digits"
    emoji_models, digit_models = core.catalogue("emoji"), core.catalogue("classify")
    assert "emoji-tdd" in emoji_models and not {"digits-tdd", "digits-linear"} & set(emoji_models)
    assert "emoji-tdd" not in digit_models and {"digits-tdd", "digits-linear"} <= set(digit_models)
    with pytest.raises(core.DemoError, match="unknown model 'emoji-tdd'; choose one of: digits"):
        core.check_model("emoji-tdd", "classify")  # the digits tab would read an emoji as a digit
    assert core.catalogue("classify") == core.catalogue("classify")  # a model task's own list is unchanged
    assert set(core.available_models("classify")) >= {"emoji-tdd", "digits-tdd"}


def test_the_word_by_word_tab_offers_the_emoji_captioners_and_side_by_side_has_their_family(tmp_path):
    captioners = ["emoji-names-ar", "emoji-names-mdd", "emoji-names-tdd"]
    assert list(core.TASKS)[:2] == ["emoji", "emoji_words"] and core.task_of("emoji_words").default_model in captioners
    assert core.catalogue("emoji_words") == captioners
    assert not set(captioners) & set(core.catalogue("caption"))  # the scenes tab would read an emoji as a scene
    assert not {"scenes-tdd", "emoji-tdd"} & set(core.catalogue("emoji_words"))
    with pytest.raises(core.DemoError, match="unknown model 'scenes-tdd'; choose one of: emoji-names"):
        core.check_model("scenes-tdd", "emoji_words")
    compare = core.compare_of()
    assert compare.families()["emoji"] == {"ar": captioners[0], "mdd": captioners[1], "tdd": captioners[2]}
    assert compare.tab_of("emoji") == "emoji_words" and compare.tab_of("scenes") == "caption"
    names = [p.name for p in compare.examples()]
    assert names[0].startswith("scene_") and "twemoji_0.png" in names  # the default family's first
    views = list(compare.stream(str(EXAMPLES / "twemoji_3.png"), "emoji", core.Settings(steps=4)))
    assert "step 4 / 4" in views[-1]["tdd"] and "step 4 / 4" in views[-1]["mdd"]
    assert "**Autoregressive:** red heart" in views[-1]["ar"]  # measured; read as the emoji tab reads a picture
    # picking an example selects its family (by content: gradio hands over a cached copy), any other picture none
    copy = tmp_path / "copy.png"
    copy.write_bytes((EXAMPLES / "twemoji_3.png").read_bytes())
    assert compare.family_of(str(copy)) == "emoji" and compare.family_of(copy.read_bytes()) == "emoji"
    assert compare.family_of(str(compare.examples()[0])) == "scenes"
    assert compare.family_of(str(ROOT / "examples" / "digits" / "drawn_7.png")) is None
    assert compare.family_of(str(tmp_path / "missing.png")) is None and compare.family_of(None) is None


def test_the_answer_is_marked_word_by_word_against_the_name():
    assert core.word_marks(["thumbs", "up", "up", ":"], ["thumbs", "up", ":", "medium"]) == [
        ("thumbs", True), ("up", True), ("up", False), (":", True)]  # fmt: skip
    html = core.name_html("thumbs up: medium skin tone", False, core.word_marks(["thumbs", "down"], ["thumbs", "up"]))
    assert "true name: <b>thumbs up: medium skin tone</b>" in html and "✗ wrong" in html and "(1/2 in the name)" in html
    assert "✓ right" in core.name_html("panda", True) and "word by word" not in core.name_html("panda", True)


def test_the_examples_are_openly_licensed_and_carry_their_names():
    files = core.task_of("emoji").examples()
    assert len(files) == 16 and {p.name.split("_")[0] for p in files} == {"twemoji", "openmoji"}
    truths = core.example_truths(EXAMPLES)
    assert len(truths) == 16
    assert truths[hashlib.sha256((EXAMPLES / "twemoji_0.png").read_bytes()).hexdigest()] == "panda"
    credits = (EXAMPLES / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "CC-BY 4.0" in credits and "CC BY-SA 4.0" in credits


def test_the_shipped_emoji_classifier_names_the_examples():
    """emoji-tdd (results/emoji_classify.md) on the committed examples at 20 steps: the Twemoji ones, a training
    style, all but at most one (measured: 7 of 8, the red heart read as "heart suit"); the OpenMoji ones, never
    seen, at least 3 of 8 (measured 4). The answer forms over the steps: p of the step's answer grows from the first
    step to the last (measured: on all 16, from 0.07–0.97 to 0.68–0.99). The answer, the record and the marks agree."""
    truths = core.example_truths(EXAMPLES)
    loaded = core.load("emoji-tdd")
    spec, right, grew = core.task_of("emoji"), {"twemoji": 0, "openmoji": 0}, 0
    for path in spec.examples():
        run = core.run_to_end("emoji-tdd", str(path), core.Settings(steps=20), task="emoji")
        truth = core.truth_of(str(path), truths)
        assert run.num_steps == 20 and run.text == spec.answer_of(loaded, int(run.records[-1].tokens[0]))
        marks = spec.marks(str(path), run.text, loaded, truths)
        assert f"true name: <b>{truth}</b>" in marks and (("✓ right" in marks) == (run.text == truth))
        right[path.name.split("_")[0]] += run.text == truth
        grew += float(run.records[0].top_probs[0, 0]) < float(run.records[-1].top_probs[0, 0])
    assert right["twemoji"] >= 7 and right["openmoji"] >= 3, right
    assert grew >= 14
    assert loaded.model.num_outputs > 3800 and sum(p.numel() for p in loaded.model.parameters()) < 5_000_000


def test_the_shipped_emoji_captioners_write_the_examples_names_word_by_word():
    """The three emoji captioners (results/emoji_caption.md) on the 16 committed examples at 20 steps, in the word by
    word tab. Measured, exact names / words of the answers that are in the true name: TDD 1 / 23, MDD 0 / 14, AR 7 /
    29 of 16 names — small models, far below the classifier's 11 names; the floors are those counts. Every answer is
    marked word by word against the true name, and TDD's noise row reads the final name only at the end: at step 1 of
    20 (t = 1000) it differs from it on every example."""
    truths, spec = core.example_truths(EXAMPLES), core.task_of("emoji_words")
    floors = {"emoji-names-tdd": (1, 23), "emoji-names-mdd": (0, 14), "emoji-names-ar": (7, 29)}
    for name, (exact_floor, words_floor) in floors.items():
        exact = words = 0
        for path in spec.examples():
            run = core.run_to_end(name, str(path), core.Settings(steps=20), task="emoji_words")
            truth = core.truth_of(str(path), truths)
            said, true = emoji_words(run.text), emoji_words(truth)
            marks = spec.marks(str(path), run.text, core.load(name), truths)
            assert f"true name: <b>{truth}</b>" in marks and ("✓ right" in marks) == (said == true)
            assert "the answer, word by word" in marks and marks.count("tdd-mark") == len(said)
            exact += said == true
            words += sum(right for _, right in core.word_marks(said, true))
            if name == "emoji-names-tdd":
                assert not torch.equal(noisy_argmax(run.records[0]), run.records[-1].tokens[0])
        assert exact >= exact_floor and words >= words_floor, (name, exact, words)
    assert sum(p.numel() for p in core.load("emoji-names-tdd").model.parameters()) < 4_000_000


@pytest.fixture(scope="module")
def noto(sources):
    if "noto" in sources["absent"] or "openmoji" in sources["absent"]:
        pytest.skip(f"typed emoji need Noto and OpenMoji's names, missing here: {sources['absent']}")


def test_typed_emoji_are_drawn_named_and_marked(noto, tmp_path):
    spec = core.task_of("emoji")
    assert spec.typed.styles()[:3] == ["noto", "twemoji", "emojione"]  # training styles first
    typed = spec.typed.draw("🐼", "noto", tmp_path)
    assert typed.truth == "panda" and typed.path.parent == tmp_path
    again = spec.typed.draw(" 🐼 ", "noto")  # the default folder: the same emoji and style, the same file
    assert again.path == spec.typed.draw("🐼", "noto").path and again.path.read_bytes() == typed.path.read_bytes()
    run = core.run_to_end("emoji-tdd", str(typed.path), core.Settings(), task="emoji")
    assert run.text == "panda"
    assert "✓ right" in spec.marks(str(typed.path), run.text, core.load("emoji-tdd"), {})
    for text, message in BAD_TYPED.items():
        with pytest.raises(core.DemoError, match=re.escape(message)):
            spec.typed.draw(text, "noto", tmp_path)
    with pytest.raises(core.DemoError, match="unknown emoji style 'comic-sans'"):
        spec.typed.draw("🐼", "comic-sans", tmp_path)


def test_the_name_emoji_endpoint(noto, app_server):
    from gradio_client import Client

    client = Client(app_server[0], verbose=False)
    out = client.predict("🐼", "noto", 10, 1.0, 0, api_name="/name_emoji")
    assert out["result"] == "panda" and out["truth"] == "panda" and out["right"] is True
    assert out["task"] == "emoji" and out["model"] == "emoji-tdd" and len(out["trajectory"]) == 10
    assert out["trajectory"][-1]["answer"] == "panda"
    for text, message in BAD_TYPED.items():
        with pytest.raises(Exception, match=re.escape(message)):
            client.predict(text, "noto", 10, 1.0, 0, api_name="/name_emoji")
    assert client.predict("🚀", "", 5, 1.0, 0, api_name="/name_emoji")["truth"] == "rocket"  # the first style
    words = client.predict("🐼", "noto", 6, 1.0, 0, "emoji-names-ar", api_name="/name_emoji")  # a captioner
    assert words["task"] == "emoji_words" and words["model"] == "emoji-names-ar" and words["truth"] == "panda"
    assert words["right"] == (words["result"] == "panda")
    with pytest.raises(Exception, match="unknown model 'scenes-tdd'; choose one of: emoji-tdd, emoji-names-ar"):
        client.predict("🐼", "noto", 6, 1.0, 0, "scenes-tdd", api_name="/name_emoji")
