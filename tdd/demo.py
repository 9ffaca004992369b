"""The UI-independent core of the apps (``app/main.py`` for Gradio, ``app/streamlit_app.py``).

Both apps only lay out widgets; everything else is here, so they cannot drift apart:

- which models exist (the bundled ones and checkpoint directories under a runs folder), loaded once;
- turning an upload into the model's input, with a clear :class:`DemoError` for bad files;
- streaming a run: :func:`stream` consumes the library's sampler generator and yields the growing
  :class:`Run` after every denoising step (the loop itself is never re-implemented here);
- pinning words for infilling, the sentence view as HTML, the figures (from :mod:`tdd.viz`), and the
  exports (JSON trajectory, animated GIF).
"""

from __future__ import annotations

import functools
import html
import io
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("caption", "classify")
DEFAULT_MODEL = {"caption": "scenes-tdd", "classify": "digits-tdd"}
RUNS_DIR_ENV = "TDD_RUNS_DIR"  # where the apps look for your own checkpoint directories
MODELS_ENV = "TDD_MODELS"  # the operator's own models: checkpoint directories or Hub ids, comma-separated
MAX_STEPS = 100
MAX_CFG = 20.0  # a larger guidance scale only saturates the softmax
MAX_TEMPERATURE = 10.0
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a 64-bit seed; 0 … 2⁶³ − 1 is documented
METHODS = ("tdd", "mdd", "ar")  # the captioning methods a bundled scenes model exists for
FREE_WORD = "_"  # in a pinned caption, a word to be regenerated
HEATMAP_TOP = 8
ONE_SENTENCE = (
    "TDD writes a caption (or picks a class) by starting from pure Gaussian noise over one-hot word "
    "vectors and repeatedly predicting the clean sentence, snapping it to words, and re-noising it a "
    "little less, until the words settle."
)
COLOUR_LEGEND = (
    "Each word is shaded by the model's confidence p on a log scale — pale at p = 0.5, mid-blue at 0.99, dark at "
    "0.999 and above — and p is printed under it; an orange outline marks a word that changed since the previous "
    "step; a faint · is an empty slot after the end and [mask] a still-masked slot of the masked-diffusion baseline."
)


class DemoError(ValueError):
    """A problem with the user's input or settings, worded for the user."""


# ----------------------------------------------------------------------------------------------
# Models


@dataclass
class Loaded:
    """A model ready to run: its task, method (tdd/mdd/ar/linear), tokenizer (captioners) and name."""

    name: str
    model: Any
    task: str
    method: str
    tokenizer: Any = None

    @property
    def image_size(self) -> int:
        return self.model.config.image_size

    def words(self, ids) -> list[str]:
        return [self.id_to_token(int(i)) for i in ids]

    def id_to_token(self, i: int) -> str:
        if self.tokenizer is None:
            return str(i)
        return self.tokenizer.id_to_token(i) or "?"


def runs_dir() -> Path:
    """The folder searched for user checkpoints: ``$TDD_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(RUNS_DIR_ENV, "runs"))


def _model_type(directory: Path) -> str | None:
    try:
        return json.loads((directory / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None


TYPE_TO_TASK = {
    "tdd-classifier": ("classify", "tdd"),
    "linear-classifier": ("classify", "linear"),
    "tdd-captioner": ("caption", "tdd"),
    "mdd-captioner": ("caption", "mdd"),
    "ar-captioner": ("caption", "ar"),
}


def available_models(task: str, runs: Path | None = None) -> list[str]:
    """Bundled model names for ``task``, then checkpoint directories (with ``config.json``) found
    up to three levels under the runs folder."""
    from tdd.models.registry import BUNDLED_DIR, bundled_checkpoints

    if task not in TASKS:
        raise DemoError(f"task must be one of {TASKS}, got {task!r}")
    names = [n for n in bundled_checkpoints() if TYPE_TO_TASK.get(_model_type(BUNDLED_DIR / n), ("",))[0] == task]
    root = runs if runs is not None else runs_dir()
    if root.is_dir():
        found = sorted(
            {p.parent for pattern in ("config.json", "*/config.json", "*/*/config.json") for p in root.glob(pattern)}
        )
        names += [str(d) for d in found if TYPE_TO_TASK.get(_model_type(d), ("",))[0] == task]
    return names


def operator_models() -> list[str]:
    """Models the operator added by ``$TDD_MODELS`` (comma-separated checkpoint directories or Hub
    ids, e.g. ``owner/name`` or ``owner/name@revision``) or by :func:`add_operator_models`."""
    names = [n.strip() for n in os.environ.get(MODELS_ENV, "").split(",")]
    return list(dict.fromkeys([n for n in names if n] + _EXTRA_MODELS))


_EXTRA_MODELS: list[str] = []


def add_operator_models(names: list[str]) -> None:
    """Allow these models in the app's catalogue (the app's ``--model`` flag)."""
    _EXTRA_MODELS.extend(n for n in names if n not in _EXTRA_MODELS)


@functools.lru_cache(maxsize=64)
def _operator_task(name: str) -> str | None:
    """The task of an operator's model; ``None`` when it cannot be loaded (listed nowhere then)."""
    try:
        return load(name).task
    except DemoError:
        return None


def catalogue(task: str) -> list[str]:
    """Every model the app offers for ``task``, and the only ones its endpoints accept: the bundled
    models, checkpoint directories under the runs folder, and the operator's models
    (:func:`operator_models`)."""
    names = available_models(task)
    names += [n for n in operator_models() if n not in names and _operator_task(n) == task]
    return names


def check_model(name: Any, task: str) -> str:
    """``name`` if it is in the catalogue of ``task``, else one :class:`DemoError` that lists the
    choices. The check is on the name alone, before any file is touched, so the answer is the same
    whether or not a path of that name exists on the server."""
    choices = catalogue(task)
    if not isinstance(name, str) or name not in choices:
        raise DemoError(f"unknown model {str(name)[:80]!r}; choose one of: {', '.join(choices)}")
    return name


def check_method(method: Any) -> str:
    if method not in METHODS:
        raise DemoError(f"method must be one of {', '.join(METHODS)}, got {str(method)[:40]!r}")
    return method


@functools.lru_cache(maxsize=8)
def load(name: str) -> Loaded:
    """Load a bundled model or checkpoint directory once (cached); errors name the file at fault."""
    from tdd.checkpoint import CheckpointError
    from tdd.data.tokenizer import load_tokenizer
    from tdd.models.registry import PretrainedModel, resolve_checkpoint

    try:
        model = PretrainedModel.from_pretrained(name)
    except (CheckpointError, FileNotFoundError) as e:
        raise DemoError(f"cannot load model {name!r}: {e}") from e
    task, method = TYPE_TO_TASK.get(model.model_type, (None, None))
    if task is None:
        raise DemoError(f"{name!r} holds a {type(model).__name__}, which the app cannot run")
    tokenizer = load_tokenizer(resolve_checkpoint(name)) if task == "caption" else None
    return Loaded(name, model, task, method, tokenizer)


def class_names(loaded: Loaded) -> list[str]:
    return [str(k) for k in range(loaded.model.num_outputs)]


# ----------------------------------------------------------------------------------------------
# Inputs


def _drawing(image: Any) -> Any:
    """A gr.Sketchpad / ImageEditor value (a dict) → its flattened drawing; anything else unchanged."""
    if isinstance(image, dict):
        return image.get("composite") if image.get("composite") is not None else image.get("background")
    return image


def image_input(image: Any, loaded: Loaded):
    """A path, bytes, PIL image or array (or a Gradio sketchpad dict) → the model's ``(1, C, H, W)`` input."""
    from tdd.data.digits import preprocess_image
    from tdd.data.images import ImageError, preprocess_rgb

    image = _drawing(image)
    if image is None:
        raise DemoError("no image: upload one, draw one, or pick an example")
    try:
        if loaded.task == "classify":
            x = preprocess_image(image, loaded.image_size)
        else:
            x = preprocess_rgb(image, loaded.image_size)
    except ImageError as e:
        message = str(e)
        if isinstance(image, (str, os.PathLike)):  # name the file, not where the server keeps it
            message = message.replace(str(image), Path(image).name)
        raise DemoError(message) from e
    return x.unsqueeze(0)


@dataclass
class Settings:
    """Sampling settings shared by every control surface (Gradio, Streamlit, API)."""

    steps: int = 20
    cfg: float = 1.0
    cfg_schedule: str = "constant"
    to_one: str = "argmax"
    temperature: float = 1.0
    seed: int = 0
    remasking: str = "low_confidence"
    omega: float = 0.0
    window: tuple[float, float] = (0.3, 0.55)

    def __post_init__(self):
        """Cast and check every field; a value out of its documented range gets a message naming it.

        Ranges: steps 1–100 (whole), seed 0 … 2⁶³ − 1 (whole), CFG scale 0–20, temperature in
        (0, 10], ω and the ω window in [0, 1]; NaN and infinities are refused.
        """
        from tdd.samplers.common import GUIDANCE_SCHEDULES, TO_ONE

        self.steps = _whole("steps", self.steps, 1, MAX_STEPS)
        self.seed = _whole("seed", self.seed, 0, MAX_SEED)
        self.cfg = _number("the CFG scale", self.cfg, 0.0, MAX_CFG)
        self.temperature = _number("temperature", self.temperature, 0.0, MAX_TEMPERATURE, open_low=True)
        self.omega = _number("ω", self.omega, 0.0, 1.0)
        try:
            start, end = self.window
        except (TypeError, ValueError):
            raise DemoError(f"the ω window must be two numbers (start, end), got {self.window!r}") from None
        self.window = (_number("the ω window start", start, 0.0, 1.0), _number("the ω window end", end, 0.0, 1.0))
        if self.window[0] > self.window[1]:
            raise DemoError(f"the ω window must satisfy start ≤ end, got {self.window}")
        if self.cfg_schedule not in GUIDANCE_SCHEDULES:
            raise DemoError(f"CFG schedule must be one of {GUIDANCE_SCHEDULES}, got {str(self.cfg_schedule)[:40]!r}")
        if self.to_one not in TO_ONE:
            raise DemoError(f"to-one must be one of {TO_ONE}, got {str(self.to_one)[:40]!r}")
        if self.remasking not in ("low_confidence", "random"):
            raise DemoError(f"remasking must be low_confidence or random, got {str(self.remasking)[:40]!r}")


def _number(name: str, value: Any, low: float, high: float, open_low: bool = False) -> float:
    """``value`` as a finite float in [low, high] (or (low, high]), else a :class:`DemoError` naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DemoError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    below = x <= low if open_low else x < low
    if not math.isfinite(x) or below or x > high:
        interval = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
        raise DemoError(f"{name} must be in {interval}, got {str(value)[:40]}")
    return x


def _whole(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as a whole number in [low, high], else a :class:`DemoError` naming ``name``."""
    try:
        x = float(value) if not isinstance(value, int) else value
        if isinstance(x, float):
            if not (math.isfinite(x) and x.is_integer()):
                raise ValueError
            x = int(x)
    except (TypeError, ValueError, OverflowError):
        raise DemoError(f"{name} must be a whole number, got {str(value)[:40]!r}") from None
    if not low <= x <= high:
        raise DemoError(f"{name} must be between {low} and {high}, got {str(value)[:40]}")
    return x


def parse_pins(text: str, loaded: Loaded):
    """A caption with ``_`` for the words to regenerate → ``(clamp_tokens, clamp_mask)`` ``(1, N)``.

    ``"a large _ circle"`` pins positions 0, 1, 3 and leaves the colour (and every position after the
    last word, which is padding) to the sampler. Returns ``(None, None)`` for an empty text.
    """
    import torch

    from tdd.data.tokenizer import PAD_ID, UNK_ID

    words = text.strip().lower().split()
    if not words:
        return None, None
    n = loaded.model.config.max_len
    if len(words) > n:
        raise DemoError(f"the pinned caption has {len(words)} words; this model writes at most {n}")
    tokens = torch.full((1, n), PAD_ID, dtype=torch.long)
    mask = torch.zeros((1, n), dtype=torch.bool)
    for i, w in enumerate(words):
        if w == FREE_WORD:
            continue
        token = loaded.tokenizer.token_to_id(w)
        if token is None or token == UNK_ID:
            raise DemoError(f"the word {w!r} is not in this model's vocabulary")
        tokens[0, i], mask[0, i] = token, True
    if mask.all():
        raise DemoError(f"every word is pinned; replace the words to regenerate with {FREE_WORD}")
    return tokens, mask


# ----------------------------------------------------------------------------------------------
# Running


@dataclass
class Run:
    """One run as it grows: the sampler's records (batch of one, top-k/small-K probabilities only),
    the final text and the wall time so far."""

    task: str
    model: str
    method: str
    settings: Settings
    records: list = field(default_factory=list)
    text: str = ""
    seconds: float = 0.0
    first_step_seconds: float | None = None
    pinned: list[bool] | None = None
    final_probs: list[float] | None = None  # classification: the final p(class)

    @property
    def num_steps(self) -> int:
        return len(self.records)

    def to_json(self, loaded: Loaded) -> dict[str, Any]:
        """The final result and the per-step trajectory, as plain JSON types."""
        steps = []
        for r in self.records:
            row: dict[str, Any] = {"step": r.step + 1, "t": float(r.t), "entropy": round(float(r.entropy[0].mean()), 5)}
            if self.task == "caption":
                row["sentence"] = sentence_text(r, loaded)
                row["tokens"] = loaded.words(r.tokens[0])
                row["confidence"] = [round(float(p), 4) for p in r.top_probs[0, :, 0]]
                row["changed"] = [bool(c) for c in r.changed[0]]
                row["top"] = [
                    [[loaded.id_to_token(int(i)), round(float(p), 4)] for i, p in zip(ids[:5], ps[:5])]
                    for ids, ps in zip(r.top_ids[0], r.top_probs[0])
                ]
                if r.is_masked is not None:
                    row["masked"] = [bool(m) for m in r.is_masked[0]]
            else:
                row["label"] = int(r.tokens[0])
                row["probs"] = [round(float(p), 5) for p in r.probs[0]]
            steps.append(row)
        out = {
            "task": self.task,
            "model": self.model,
            "method": self.method,
            "settings": asdict(self.settings),
            "result": self.text,
            "seconds": round(self.seconds, 4),
            "trajectory": steps,
        }
        if self.final_probs is not None:
            out["probs"] = [round(p, 5) for p in self.final_probs]
        return out


def timing_text(run: Run) -> str:
    """How long the model itself took: the denoising steps, or one pass for the AR and linear models."""
    ms = run.seconds * 1000
    if not run.records:
        what = "written left to right" if run.method == "ar" else "one softmax"
        return f"{what} in {ms:.0f} ms (compute; no denoising steps)"
    return f"{run.num_steps} steps (compute {ms:.0f} ms, first step after {run.first_step_seconds * 1000:.0f} ms)"


def sentence_text(record, loaded: Loaded) -> str:
    from tdd.data.tokenizer import decode

    return decode(loaded.tokenizer, record.tokens[:1].cpu())[0]


def _generator(seed: int):
    import torch

    return torch.Generator().manual_seed(seed)


def stream(
    name: str, image: Any, settings: Settings | None = None, pins: str = "", task: str | None = None
) -> Iterator[Run]:
    """Run the model on one image and yield the growing :class:`Run` after every denoising step.

    Classifiers and captioners alike; the AR captioner and the linear classifier have no denoising
    loop and yield once. ``pins`` (captioners): a caption with ``_`` for the words to regenerate.
    ``task``, when given, must be the model's task (a clear error otherwise).
    """
    from tdd.caption import caption, caption_steps, captioner_sampler
    from tdd.classify import classifier_sampler, classify, classify_steps

    settings = settings or Settings()
    loaded = load(name)
    if task is not None and loaded.task != task:
        raise DemoError(f"{name} is a {loaded.task} model; pick a {task} model")
    x = image_input(image, loaded)
    run = Run(loaded.task, name, loaded.method, settings)
    start = time.perf_counter()
    g = _generator(settings.seed)
    if loaded.method in ("ar", "linear"):
        if pins.strip():
            raise DemoError("pinning words needs a diffusion model (TDD or MDD), not the autoregressive one")
        if loaded.method == "ar":  # the library's own entry points, as the CLI uses them
            run.text = caption(loaded.model, loaded.tokenizer, x).captions[0]
        else:
            result = classify(loaded.model, x)
            run.text, run.final_probs = str(int(result.labels[0])), result.probs[0].tolist()
        run.seconds = run.first_step_seconds = time.perf_counter() - start
        yield run
        return
    if loaded.task == "classify":
        sampler = classifier_sampler(
            loaded.model, settings.steps, settings.cfg, settings.cfg_schedule, settings.to_one, settings.temperature
        )
        steps = classify_steps(loaded.model, x, sampler, generator=g)
    else:
        clamp_tokens, clamp_mask = parse_pins(pins, loaded)
        if clamp_mask is not None:
            run.pinned = [bool(m) for m in clamp_mask[0]]
        sampler = captioner_sampler(
            loaded.model,
            steps=settings.steps,
            cfg=settings.cfg,
            cfg_schedule=settings.cfg_schedule,
            to_one=settings.to_one,
            temperature=settings.temperature,
            remasking=settings.remasking,
            omega=settings.omega,
            window=settings.window,
        )
        steps = caption_steps(loaded.model, x, sampler, generator=g, clamp_tokens=clamp_tokens, clamp_mask=clamp_mask)
    # run.seconds counts the model's own work (input, sampler, decoding), not the time the consumer
    # spends between steps drawing or sending its views
    run.seconds = time.perf_counter() - start
    while True:
        t0 = time.perf_counter()
        record = next(steps, None)
        if record is None:
            return
        run.records.append(record)
        if loaded.task == "classify":
            run.text, run.final_probs = str(int(record.tokens[0])), record.probs[0].tolist()
        else:
            run.text = sentence_text(record, loaded)
        run.seconds += time.perf_counter() - t0
        if run.first_step_seconds is None:
            run.first_step_seconds = run.seconds
        yield run


PACES = ("full speed", "slow motion")  # full speed: figures once at the end; slow motion: every view every step
VIEWS = ("sentence", "heatmap", "side", "history")


def views(run: Run, loaded: Loaded, position: int = 0, step: int | None = None) -> dict[str, Any]:
    """Every view of one step (default: the last): the sentence, the heatmap, the bars (classify) or
    entropy (caption) figure, and the sentence at every step."""
    side = bars_figure(run, loaded, step) if run.task == "classify" else entropy_figure(run, step)
    return {
        "sentence": sentence_html(run, loaded, step),
        "heatmap": heatmap_figure(run, loaded, int(position or 0), step),
        "side": side,
        "history": history_html(run, loaded, step),
    }


def live_views(run: Run, loaded: Loaded, pace: str, position: int = 0) -> dict[str, Any]:
    """What a live view sends after a step. At full speed only the sentence (a few KB of HTML) — the
    figures are drawn once, when the run ends; in slow motion every view, every step."""
    if pace not in PACES:
        raise DemoError(f"pace must be one of {', '.join(PACES)}, got {str(pace)[:40]!r}")
    if pace == PACES[0]:
        return {"sentence": sentence_html(run, loaded)}
    return views(run, loaded, position)


def run_to_end(name: str, image: Any, settings: Settings | None = None, pins: str = "", task: str | None = None) -> Run:
    """:func:`stream` consumed: the finished run."""
    *_, last = stream(name, image, settings, pins, task)
    return last


# ----------------------------------------------------------------------------------------------
# Views (HTML strings and plotly figures)


PAD_MARK = "·"  # an empty slot after the sentence's end


SURE_DIGITS = 3  # the shade is full at p = 1 − 10⁻³


def confidence_shade(p: float) -> float:
    """0…1 shade of a word with probability ``p`` on a log-odds-like scale, −log₁₀(1 − p) / 3:
    p = 0.5 → 0.10, 0.9 → 0.33, 0.99 → 0.67, ≥ 0.999 → 1 — so 0.5 and 0.99 look different."""
    p = max(0.0, min(1.0, p))
    return max(0.0, min(1.0, -math.log10(max(1.0 - p, 10.0**-SURE_DIGITS)) / SURE_DIGITS))


def _cell(word: str, confidence: float, changed: bool, pinned: bool, masked: bool, title: str) -> str:
    alpha = 0.08 + 0.92 * confidence_shade(confidence)
    ink = "#fff" if alpha > 0.55 else "#102a43"
    border = "2px solid #f08c00" if changed else "2px solid transparent"
    style = f"background:rgba(31,119,180,{alpha:.2f});color:{ink};border:{border};padding:2px 6px;margin:2px;"
    number = f"{confidence:.2f}" if confidence < 0.995 else f"{confidence:.3f}"
    if masked:
        style = "background:#e9ecef;color:#868e96;border:2px dashed #adb5bd;padding:2px 6px;margin:2px;"
        number = ""
    elif word == PAD_MARK:  # padding: faint and narrow, so the sentence stands out and stays on one line
        style += "opacity:0.35;padding:2px 2px;margin:2px 1px;"
        number = ""
    pin = "📌" if pinned else ""
    sub = f'<span style="display:block;font-size:10px;line-height:1;opacity:0.8">{number}</span>' if number else ""
    return (
        f'<span class="tdd-tok" title="{html.escape(title)}" style="{style}border-radius:6px;display:inline-block;'
        f'font-family:monospace;text-align:center;vertical-align:top">{pin}{html.escape(word)}{sub}</span>'
    )


def step_label(record, method: str) -> str:
    """What the network saw at this step: TDD's timestep t, or the masked baseline's mask ratio."""
    if method == "mdd":
        return f"mask ratio {float(record.t):.2f}"
    return f"t = {float(record.t):g}"


def sentence_html(run: Run, loaded: Loaded, step: int | None = None) -> str:
    """The sentence at ``step`` (default: the last) with each word shaded by confidence, changed
    words outlined, pinned words marked 📌, padding shown as a faint · (captions) — or the class and its
    probability (classification)."""
    from tdd.data.tokenizer import PAD_ID

    if not run.records:
        return f'<div class="tdd-sentence"><b>{html.escape(run.text)}</b></div>'
    k = len(run.records) - 1 if step is None else max(0, min(step, len(run.records) - 1))
    r = run.records[k]
    style = "color:#868e96;font-size:13px"
    where = f"step {r.step + 1} / {r.num_steps} &nbsp; {step_label(r, run.method)}"
    head = f'<div class="tdd-step" style="{style}">{where}</div>'
    if run.task == "classify":
        label, p = int(r.tokens[0]), float(r.top_probs[0, 0])
        return head + _cell(f"class {label}", p, bool(r.changed[0]) and k > 0, False, False, f"p = {p:.3f}")
    cells = []
    masked = r.is_masked[0].tolist() if r.is_masked is not None else [False] * r.tokens.shape[1]
    for i, (tok, p, ch) in enumerate(zip(r.tokens[0].tolist(), r.top_probs[0, :, 0].tolist(), r.changed[0].tolist())):
        word = "[mask]" if masked[i] else (PAD_MARK if tok == PAD_ID else loaded.id_to_token(tok))
        alts = ", ".join(
            f"{loaded.id_to_token(int(a))} {float(q):.2f}" for a, q in zip(r.top_ids[0, i, :3], r.top_probs[0, i, :3])
        )
        pinned = bool(run.pinned and run.pinned[i])
        cells.append(_cell(word, p, bool(ch) and k > 0, pinned, masked[i], f"position {i}: {alts}"))
    return head + '<div class="tdd-sentence" style="font-size:18px;line-height:2.1">' + "".join(cells) + "</div>"


def history_html(run: Run, loaded: Loaded, upto: int | None = None) -> str:
    """The decoded sentence at every step up to ``upto`` (Fig. 9), newest last."""
    if not run.records:
        return ""
    last = len(run.records) if upto is None else upto + 1
    rows = []
    for r in run.records[:last]:
        text = (
            sentence_text(r, loaded)
            if run.task == "caption"
            else f"class {int(r.tokens[0])} (p = {float(r.top_probs[0, 0]):.2f})"
        )
        rows.append(
            f"<tr><td style='padding-right:8px;color:#868e96'>{r.step + 1}</td><td>{html.escape(text)}</td></tr>"
        )
    return "<table class='tdd-history' style='font-family:monospace;font-size:13px'>" + "".join(rows) + "</table>"


def positions(run: Run, loaded: Loaded) -> list[tuple[str, int]]:
    """(label, index) per token position of the last step, for a position picker."""
    if run.task != "caption" or not run.records:
        return []
    words = loaded.words(run.records[-1].tokens[0])
    return [(f"{i}: {w}", i) for i, w in enumerate(words)]


def busiest_position(run: Run) -> int:
    """The word position (not padding at the end) whose word changed most often: the most interesting
    heatmap to start with."""
    from tdd.data.tokenizer import PAD_ID

    if run.task != "caption" or not run.records:
        return 0
    counts = [0] * run.records[0].tokens.shape[1]
    for r in run.records[1:]:
        for i, c in enumerate(r.changed[0].tolist()):
            counts[i] += int(c)
    words = [i for i, tok in enumerate(run.records[-1].tokens[0].tolist()) if tok != PAD_ID] or [0]
    return max(words, key=lambda i: (counts[i], -i))


def heatmap_figure(run: Run, loaded: Loaded, position: int = 0, upto: int | None = None):
    """Captions: top candidates × steps for one token position (Fig. 10); classification: classes × steps."""
    from tdd.viz import class_heatmap, token_heatmap

    records = run.records if upto is None else run.records[: upto + 1]
    if not records:
        return None
    if run.task == "classify":
        return class_heatmap(records, 0, class_names(loaded))
    position = max(0, min(int(position), records[0].tokens.shape[1] - 1))
    return token_heatmap(records, position, loaded.id_to_token, top=HEATMAP_TOP)


def bars_figure(run: Run, loaded: Loaded, step: int | None = None):
    """Classification: p(class) at one step as bars (the distribution sharpening into a one-hot, Fig. 6)."""
    import plotly.graph_objects as go

    if run.task != "classify":
        return None
    if run.records:
        k = len(run.records) - 1 if step is None else max(0, min(step, len(run.records) - 1))
        probs, title = run.records[k].probs[0].tolist(), f"p(class) at step {k + 1}"
    else:  # the linear baseline: one softmax
        probs, title = run.final_probs, "p(class), linear head"
    fig = go.Figure(go.Bar(x=class_names(loaded), y=probs, marker_color="#1f77b4"))
    fig.update_layout(title=title, yaxis=dict(range=[0, 1], title="probability"), xaxis_title="class", height=300)
    return fig


def entropy_figure(run: Run, upto: int | None = None):
    from tdd.viz import entropy_per_step

    records = run.records if upto is None else run.records[: upto + 1]
    if not records:
        return None
    fig = entropy_per_step(records, index=0)
    fig.update_layout(height=260, margin=dict(t=40, b=40))
    return fig


# ----------------------------------------------------------------------------------------------
# Exports


EXPORT_ROOT_ENV = "TDD_EXPORT_DIR"  # where the app writes exports (default: <tmp>/tdd_exports)
EXPORT_MAX_AGE_ENV = "TDD_EXPORT_MAX_AGE"  # seconds an export is kept (default 3600)


def export_dir(now: float | None = None) -> Path:
    """A fresh folder for one export, inside the export root; folders older than the maximum age
    (``$TDD_EXPORT_MAX_AGE`` seconds, default 3600) are removed first, so a long-running server
    does not fill its disk."""
    import shutil
    import tempfile

    root = Path(os.environ.get(EXPORT_ROOT_ENV) or Path(tempfile.gettempdir()) / "tdd_exports")
    root.mkdir(parents=True, exist_ok=True)
    max_age = float(os.environ.get(EXPORT_MAX_AGE_ENV, 3600))
    now = time.time() if now is None else now
    for old in root.iterdir():
        try:
            if now - old.stat().st_mtime > max_age:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        except OSError:  # another request removed it first
            pass
    return Path(tempfile.mkdtemp(prefix="export_", dir=root))


def warm_up(names: list[str]) -> list[str]:
    """Load each model and run it once on a blank image, so that the first visitor's run is as fast as
    the next one (models, kernels and allocations ready). Returns the names that loaded; a model that
    does not load is left out (its error shows when someone picks it)."""
    from PIL import Image

    blank = Image.new("RGB", (64, 64), "white")
    ready = []
    for name in names:
        try:
            run_to_end(name, blank, Settings(steps=2, cfg=2.0))
            run_to_end(name, blank, Settings(steps=2))
        except DemoError:
            continue
        ready.append(name)
    return ready


# ----------------------------------------------------------------------------------------------
# The truth beside the answer (bundled examples)


def example_truths(folder: str | os.PathLike) -> dict[str, str]:
    """``{sha256 of the image file: true caption}`` for the examples listed in ``folder/captions.txt``
    (``name<TAB>caption`` lines). Keyed by content, so a copy of an example (an upload, gradio's cache)
    is recognised and nothing else is."""
    import hashlib

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


def truth_of(image: Any, truths: dict[str, str]) -> str | None:
    """The true caption when ``image`` (a path or bytes) is one of the examples, else ``None``."""
    import hashlib

    if isinstance(image, (str, os.PathLike)):
        try:
            data = Path(image).read_bytes()
        except OSError:
            return None
    elif isinstance(image, bytes):
        data = image
    else:
        return None
    return truths.get(hashlib.sha256(data).hexdigest())


def truth_html(answer: str, truth: str) -> str:
    """The true caption, and each word of the answer marked right (green ✓) or wrong (red ✗)."""
    from tdd.data.scene_marks import mark_words, missing_relation
    from tdd.data.scenes import CaptionParseError

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


def export_json(run: Run, loaded: Loaded, directory: str | os.PathLike) -> Path:
    path = Path(directory) / "tdd_trajectory.json"
    path.write_text(json.dumps(run.to_json(loaded), indent=1), encoding="utf-8")
    return path


def export_gif(run: Run, loaded: Loaded, image: Any, directory: str | os.PathLike, ms_per_step: int = 350) -> Path:
    """An animated GIF: the input image beside the sentence (or class) at each step."""
    from PIL import Image, ImageDraw, ImageFont

    from tdd.data.images import open_image

    if not run.records:
        raise DemoError("nothing to animate: this model has no denoising steps")
    image = _drawing(image)
    thumb = open_image(image).convert("RGB").resize((128, 128))
    font = ImageFont.load_default(size=16)
    frames = []
    for k, r in enumerate(run.records):
        frame = Image.new("RGB", (640, 148), "white")
        frame.paste(thumb, (10, 10))
        draw = ImageDraw.Draw(frame)
        draw.text((150, 12), f"step {r.step + 1}/{r.num_steps}  t={float(r.t):g}", fill=(100, 100, 100), font=font)
        if run.task == "classify":
            words = [(f"class {int(r.tokens[0])}", float(r.top_probs[0, 0]), False)]
        else:
            from tdd.data.tokenizer import PAD_ID

            words = [
                (loaded.id_to_token(t), float(p), bool(c) and k > 0)
                for t, p, c in zip(r.tokens[0].tolist(), r.top_probs[0, :, 0].tolist(), r.changed[0].tolist())
                if t != PAD_ID
            ]
        x, y = 150, 44
        for word, p, changed in words:
            w = draw.textlength(word, font=font) + 10
            if x + w > 630:
                x, y = 150, y + 28
            shade = int(235 - 190 * max(0.0, min(1.0, p)))
            draw.rounded_rectangle(
                (x, y, x + w, y + 24),
                5,
                fill=(shade, shade + 10 if shade < 245 else 255, 255),
                outline=(240, 140, 0) if changed else None,
                width=2,
            )
            draw.text((x + 5, y + 3), word, fill="white" if p > 0.55 else (16, 42, 67), font=font)
            x += w + 4
        frames.append(frame)
    path = Path(directory) / "tdd_denoising.gif"
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=ms_per_step, loop=0)
    path.write_bytes(buf.getvalue())
    return path
