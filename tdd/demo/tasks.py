"""The single-model tabs of the apps — name an emoji, caption an image, classify an image — as
:class:`~tdd.demo.task.Task` objects, registered here, so that the rest of the app core says each thing once instead
of branching on the name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tdd import rng
from tdd.caption import caption, caption_steps
from tdd.classify import classify, classify_steps
from tdd.data.digits import preprocess_image
from tdd.data.emoji import preprocess_emoji
from tdd.data.emoji import tokenize as emoji_words
from tdd.data.images import preprocess_rgb
from tdd.data.registry import dataset
from tdd.data.tokenizer import PAD_ID, decode
from tdd.demo.canvas import Canvas, digit_canvas, emoji_canvas, scene_canvas
from tdd.demo.catalogue import Loaded, class_names
from tdd.demo.common import CLASS_LEGEND, COLOUR_LEGEND, HEATMAP_TOP, DemoError
from tdd.demo.compare import CompareTask
from tdd.demo.inputs import parse_pins
from tdd.demo.task import register_task
from tdd.demo.truth import domain_note, name_html, truth_html, truth_of, word_marks
from tdd.demo.typed import TypedEmoji
from tdd.demo.views import PAD_MARK, bars_figure, cell, entropy_figure, sentence_text
from tdd.samplers import TDDSampler
from tdd.sampling import sampler_for
from tdd.viz import class_heatmap, token_heatmap

if TYPE_CHECKING:
    from tdd.demo.run import Run


class _ImageTask:
    """What both tasks share: a layout of one model, the examples of a dataset of the registry."""

    layout = "single"
    data: str
    typed: TypedEmoji | None = None  # a typed input beside the upload and the canvas (the emoji tab's)

    @property
    def examples_dir(self) -> Path | None:
        return dataset(self.data).examples_dir

    def examples(self) -> list[Path]:
        return dataset(self.data).examples()


class CaptionTask(_ImageTask):
    """Captioners: a sentence of words, each with its confidence; heatmaps per token position."""

    name = model_task = "caption"
    title = "Caption"
    default_model = "scenes-tdd"
    data = "scenes"
    # what the apps lay out for the task, read by both layouts instead of branching on the name
    header = (
        "**Pick an example scene, upload an image or draw one, then press Run**: the caption forms word by word "
        "as the noise over its one-hot word vectors is taken away."
    )
    legend = COLOUR_LEGEND
    placeholder = "The caption will form here, step by step: pick an example, upload an image or draw, then Run."
    input_label = "Image"
    takes_pins = True  # the "Pin words" box
    sequence = True  # several positions: the position picker, the masked baseline's and spacing settings
    side_label = "entropy per step"

    @property
    def canvas(self) -> Canvas:
        return scene_canvas()

    def marks(self, image: Any, text: str, loaded: Loaded, truths: dict[str, str]) -> str:
        """HTML under the answer: the true caption with right/wrong marks for a bundled example (else ``""``)."""

        truth = truth_of(image, truths)
        return truth_html(text, truth) if truth else ""

    def domain_note(self, image: Any, loaded: Loaded) -> str:
        """HTML beside the answer, in words, when the image looks unlike what the model was trained on."""

        return domain_note(image, loaded.model)

    def records(self, run: Run, loaded: Loaded, x, settings, pins: str, generator) -> Iterator:
        """The denoising steps for image ``x`` (``pins``: words to keep, ``_`` for the ones to write)."""

        clamp_tokens, clamp_mask = parse_pins(pins, loaded)
        if clamp_mask is not None:
            run.pinned = [bool(m) for m in clamp_mask[0]]
        try:
            sampler = sampler_for(loaded.model, settings)
        except ValueError as e:  # e.g. informative timesteps for a model without a measured CE curve
            raise DemoError(f"{run.model}: {e}") from None
        n = settings.best_of
        if n > 1:  # candidate b is seeded seed + b: candidate 0 is the single run's answer (tdd.rng)
            generator = [g for _ in range(len(x)) for g in rng.consecutive(settings.seed, n)]
        return caption_steps(loaded.model, x, sampler, generator=generator, clamp_tokens=clamp_tokens,
                             clamp_mask=clamp_mask, best_of=n)  # fmt: skip

    def one_pass(self, run: Run, loaded: Loaded, x) -> None:
        """The autoregressive captioner: the library's own entry point, as the CLI uses it."""

        run.text = caption(loaded.model, loaded.tokenizer, x).captions[0]

    def preprocess(self, image: Any, size: int):
        return preprocess_rgb(image, size)

    def update(self, run: Run, record, loaded: Loaded) -> None:
        """The run's answer after ``record``: the decoded sentence."""
        run.text = sentence_text(record, loaded)

    def history_text(self, record, loaded: Loaded) -> str:
        return sentence_text(record, loaded)

    def answers(self, tokens, loaded: Loaded) -> list[str]:
        """Every row's answer: ``tokens`` ``(B, N)`` → B captions."""

        return decode(loaded.tokenizer, tokens.cpu())

    def label_of(self, loaded: Loaded, i: int) -> str:
        """A word id as the views write it (padding as a faint ·)."""

        return PAD_MARK if i == PAD_ID else loaded.id_to_token(i)

    def step_json(self, r, loaded: Loaded) -> dict[str, Any]:
        row: dict[str, Any] = {
            "sentence": sentence_text(r, loaded),
            "tokens": loaded.words(r.tokens[0]),
            "confidence": [round(float(p), 4) for p in r.top_probs[0, :, 0]],
            "changed": [bool(c) for c in r.changed[0]],
            "top": [
                [[loaded.id_to_token(int(i)), round(float(p), 4)] for i, p in zip(ids[:5], ps[:5])]
                for ids, ps in zip(r.top_ids[0], r.top_probs[0])
            ],
        }
        if r.is_masked is not None:
            row["masked"] = [bool(m) for m in r.is_masked[0]]
        return row

    def cells(self, run: Run, r, k: int, loaded: Loaded) -> str:
        out = []
        masked = r.is_masked[0].tolist() if r.is_masked is not None else [False] * r.tokens.shape[1]
        words = zip(r.tokens[0].tolist(), r.top_probs[0, :, 0].tolist(), r.changed[0].tolist())
        for i, (tok, p, ch) in enumerate(words):
            word = "[mask]" if masked[i] else (PAD_MARK if tok == PAD_ID else loaded.id_to_token(tok))
            top = zip(r.top_ids[0, i, :3], r.top_probs[0, i, :3])
            alts = ", ".join(f"{loaded.id_to_token(int(a))} {float(q):.2f}" for a, q in top)
            pinned = bool(run.pinned and run.pinned[i])
            out.append(cell(word, p, bool(ch) and k > 0, pinned, masked[i], f"position {i}: {alts}"))
        return '<div class="tdd-sentence" style="font-size:18px;line-height:2.1">' + "".join(out) + "</div>"

    def frame_words(self, r, k: int, loaded: Loaded) -> list[tuple[str, float, bool]]:
        """(word, confidence, changed) for an animation frame; padding left out."""

        return [
            (loaded.id_to_token(t), float(p), bool(c) and k > 0)
            for t, p, c in zip(r.tokens[0].tolist(), r.top_probs[0, :, 0].tolist(), r.changed[0].tolist())
            if t != PAD_ID
        ]

    def heatmap(self, records: list, position: int, loaded: Loaded):
        position = max(0, min(int(position), records[0].tokens.shape[1] - 1))
        return token_heatmap(records, position, loaded.id_to_token, top=HEATMAP_TOP)

    def side_figure(self, run: Run, loaded: Loaded, step: int | None):
        return entropy_figure(run, step)

    def positions(self, run: Run, loaded: Loaded) -> list[tuple[str, int]]:
        words = loaded.words(run.records[-1].tokens[0]) if run.records else []
        return [(f"{i}: {w}", i) for i, w in enumerate(words)]

    def busiest_position(self, run: Run) -> int:
        if not run.records:
            return 0
        counts = [0] * run.records[0].tokens.shape[1]
        for r in run.records[1:]:
            for i, c in enumerate(r.changed[0].tolist()):
                counts[i] += int(c)
        words = [i for i, tok in enumerate(run.records[-1].tokens[0].tolist()) if tok != PAD_ID] or [0]
        return max(words, key=lambda i: (counts[i], -i))


class ClassifyTask(_ImageTask):
    """Classifiers: one label with its probability; heatmaps over classes."""

    name = model_task = "classify"
    title = "Classify"
    default_model = "digits-tdd"
    data = "digits"
    header = (
        "**Draw a digit, upload one or pick an example, then press Run**: the class forms as the noise over the "
        "ten one-hot class vectors is taken away."
    )
    legend = CLASS_LEGEND
    placeholder = "The class will form here, step by step: draw a digit, upload one or pick an example, then Run."
    input_label = "Digit image"
    takes_pins = False
    sequence = False
    side_label = "class probabilities"

    @property
    def canvas(self) -> Canvas:
        return digit_canvas()

    def marks(self, image: Any, text: str, loaded: Loaded, truths: dict[str, str]) -> str:
        return ""

    def domain_note(self, image: Any, loaded: Loaded) -> str:
        return ""  # every image is made an MNIST digit (tdd.data.digits.preprocess_image); no test of its own

    def records(self, run: Run, loaded: Loaded, x, settings, pins: str, generator) -> Iterator:
        if settings.best_of > 1:
            raise DemoError("best of n is for captioners: a class label has no words to mix")
        sampler = sampler_for(loaded.model, settings)
        assert isinstance(sampler, TDDSampler)  # a classifier's process is TDD's
        return classify_steps(loaded.model, x, sampler, generator=generator)

    def one_pass(self, run: Run, loaded: Loaded, x) -> None:
        """The linear head: one softmax."""

        result = classify(loaded.model, x)
        run.text, run.final_probs = self.answer_of(loaded, int(result.labels[0])), result.probs[0].tolist()

    def preprocess(self, image: Any, size: int):
        return preprocess_image(image, size)

    def update(self, run: Run, record, loaded: Loaded) -> None:
        """The run's answer after ``record``: the label, and the distribution when the record kept it."""
        run.text = self.answer_of(loaded, int(record.tokens[0]))
        if record.probs is not None:  # every step for K ≤ 128; the last step always
            run.final_probs = record.probs[0].tolist()

    def answer_of(self, loaded: Loaded, i: int) -> str:
        """Class ``i`` as the answer says it (the digit itself)."""
        return str(i)

    def history_text(self, record, loaded: Loaded) -> str:
        return f"{self.label_of(loaded, int(record.tokens[0]))} (p = {float(record.top_probs[0, 0]):.2f})"

    def label_of(self, loaded: Loaded, i: int) -> str:
        return f"class {i}"

    def answers(self, tokens, loaded: Loaded) -> list[str]:
        """Every row's answer: ``tokens`` ``(B,)`` → B class labels."""
        return [self.answer_of(loaded, int(t)) for t in tokens]

    def step_json(self, r, loaded: Loaded) -> dict[str, Any]:
        row: dict[str, Any] = {"label": int(r.tokens[0]), "answer": self.answer_of(loaded, int(r.tokens[0]))}
        if r.probs is not None:
            row["probs"] = [round(float(p), 5) for p in r.probs[0]]
        else:  # K > 128, not the last step: the top candidates the record kept
            row["top"] = [[int(c), round(float(p), 5)] for c, p in zip(r.top_ids[0], r.top_probs[0])]
        return row

    def cells(self, run: Run, r, k: int, loaded: Loaded) -> str:
        label, p = self.label_of(loaded, int(r.tokens[0])), float(r.top_probs[0, 0])
        return cell(label, p, bool(r.changed[0]) and k > 0, False, False, f"p = {p:.3f}")

    def frame_words(self, r, k: int, loaded: Loaded) -> list[tuple[str, float, bool]]:
        return [(self.label_of(loaded, int(r.tokens[0])), float(r.top_probs[0, 0]), False)]

    def heatmap(self, records: list, position: int, loaded: Loaded):
        return class_heatmap(records, 0, class_names(loaded))

    def side_figure(self, run: Run, loaded: Loaded, step: int | None):
        return bars_figure(run, loaded, step)

    def positions(self, run: Run, loaded: Loaded) -> list[tuple[str, int]]:
        return []

    def busiest_position(self, run: Run) -> int:
        return 0


class _EmojiInput:
    """What the emoji tabs share: a typed emoji beside the upload and the canvas, the emoji canvas, glyphs prepared
    as the emoji models saw them, and the true name of a typed emoji or an example."""

    data = "emoji"
    input_label = "Emoji picture"
    typed: TypedEmoji | None

    def __init__(self) -> None:
        self.typed = TypedEmoji()

    @property
    def canvas(self) -> Canvas:
        return emoji_canvas()

    def preprocess(self, image: Any, size: int):
        """As the emoji models saw their glyphs (:func:`tdd.data.emoji.preprocess_emoji`)."""
        return preprocess_emoji(image, size)

    def true_name(self, image: Any, truths: dict[str, str]) -> str | None:
        """The CLDR name of a typed emoji or an example (``None`` for anything else)."""
        return truth_of(image, {**truths, **(self.typed.truths() if self.typed else {})})


class EmojiTask(_EmojiInput, ClassifyTask):
    """Name an emoji (#40): typed, an example, an upload or a drawing → one of the emoji classifier's ~3,900
    names, formed as the noise over their one-hot vectors is taken away."""

    name = "emoji"
    title = "Name an emoji"
    default_model = "emoji-tdd"
    header = (
        "**Type or paste an emoji, pick an example, upload a picture or draw one, then press Run**: its name is "
        "chosen among the ~3,900 emoji the model knows as the noise over their one-hot vectors is taken away. "
        "The model learnt from Noto, Twemoji and EmojiOne; OpenMoji and Symbola are styles it never saw, and it "
        "names far fewer of them (results/emoji_classify.md). *Emoji, word by word* writes the name instead."
    )
    placeholder = "The name will form here, step by step: type an emoji, pick an example, upload or draw, then Run."
    side_label = "the most likely names"

    def marks(self, image: Any, text: str, loaded: Loaded, truths: dict[str, str]) -> str:
        """The true name of a typed emoji or an example, and whether the answer is it."""
        truth = self.true_name(image, truths)
        return name_html(truth, text == truth) if truth else ""

    def answer_of(self, loaded: Loaded, i: int) -> str:
        """The emoji's CLDR name (its class name without the glyph in front)."""
        return _emoji_names(loaded)[i][1]

    def label_of(self, loaded: Loaded, i: int) -> str:
        glyph, name = _emoji_names(loaded)[i]
        return f"{glyph} {name}".strip()


class EmojiWordsTask(_EmojiInput, CaptionTask):
    """Emoji, word by word (#40): the emoji captioners write an emoji's CLDR name ("woman firefighter : medium skin
    tone") word by word out of noise over the ~1,800 words of those names, so a combination never trained on can
    still be named."""

    name = "emoji_words"
    title = "Emoji, word by word"
    default_model = "emoji-names-tdd"
    header = (
        "**Type or paste an emoji, pick an example, upload a picture or draw one, then press Run**: its name is "
        "written word by word as the noise over the one-hot word vectors is taken away — the ~1,800 words of the "
        "emoji's names, so parts can combine into a name never trained on. These captioners are small and named "
        "far fewer emoji than the classifier of *Name an emoji* (results/emoji_caption.md)."
    )
    placeholder = "The name will form here, word by word: type an emoji, pick an example, upload or draw, then Run."

    def marks(self, image: Any, text: str, loaded: Loaded, truths: dict[str, str]) -> str:
        """The true name, and each word of the answer marked: in the name (✓) or not (✗)."""
        truth = self.true_name(image, truths)
        if not truth:
            return ""
        said, true = emoji_words(text), emoji_words(truth)
        return name_html(truth, said == true, word_marks(said, true))

    def domain_note(self, image: Any, loaded: Loaded) -> str:
        return ""  # the scenes' test of a picture; an emoji is whatever is typed, uploaded or drawn


def _emoji_names(loaded: Loaded) -> list[tuple[str, str]]:
    """(glyph, name) of each class: an emoji classifier's class names are "🐼 panda"; a class named otherwise is
    its whole name (a model trained on your own folder)."""
    cached = _NAMES.get(loaded.name)
    if cached is None or len(cached) != loaded.model.num_outputs:
        pairs = []
        for n in class_names(loaded):
            glyph, _, rest = n.partition(" ")
            pairs.append((glyph, rest) if rest and not glyph.isascii() else ("", n))
        cached = _NAMES[loaded.name] = pairs
    return cached


_NAMES: dict[str, list[tuple[str, str]]] = {}

# the apps' tabs, in this order (tdd.demo.task.TASKS): a new tab is one class and one line here
register_task(EmojiTask())
register_task(EmojiWordsTask())
register_task(CaptionTask())
register_task(CompareTask())
register_task(ClassifyTask())
