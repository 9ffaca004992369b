"""Running a model on one image: the growing :class:`Run`, streamed step by step from the library's sampler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from PIL import Image

from tdd import rng
from tdd.demo.catalogue import Loaded, catalogue, load
from tdd.demo.common import DemoError
from tdd.demo.inputs import Settings, image_input
from tdd.demo.task import Task, model_tasks, task_of
from tdd.demo.views import heatmap_figure, history_html, noisy_figure, sentence_html


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
    note: str = ""  # HTML shown beside the answer when the input looks unlike the model's training data

    @property
    def num_steps(self) -> int:
        return len(self.records)

    def to_json(self, loaded: Loaded) -> dict[str, Any]:
        """The final result and the per-step trajectory, as plain JSON types."""
        steps = []
        for r in self.records:
            row: dict[str, Any] = {"step": r.step + 1, "t": float(r.t), "entropy": round(float(r.entropy[0].mean()), 5)}
            row.update(task_of(self.task).step_json(r, loaded))
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
    return (
        f"{run.num_steps} steps (compute {ms:.0f} ms, first step after {(run.first_step_seconds or 0.0) * 1000:.0f} ms)"
    )


def _tab(name: str, loaded: Loaded, task: str | None) -> Task:
    """The tab a run of ``name`` belongs to; a :class:`DemoError` when the model is of another kind."""
    spec = task_of(task or loaded.task)
    if loaded.task != spec.model_task:
        raise DemoError(f"{name} is a {loaded.task} model; pick a {spec.model_task} model")
    return spec


def stream(
    name: str, image: Any, settings: Settings | None = None, pins: str = "", task: str | None = None
) -> Iterator[Run]:
    """Run the model on one image and yield the growing :class:`Run` after every denoising step.

    Classifiers and captioners alike; the AR captioner and the linear classifier have no denoising
    loop and yield once. ``pins`` (captioners): a caption with ``_`` for the words to regenerate.
    ``task``: the tab (:data:`tdd.demo.TASKS`) whose views the run feeds, by default the one named as the
    model's task; the model must be of the kind it runs (a clear error otherwise).
    """
    settings = settings or Settings()
    loaded = load(name)
    spec = _tab(name, loaded, task)
    x = image_input(image, loaded, spec)
    run = Run(spec.name, name, loaded.method, settings, note=spec.domain_note(image, loaded))
    start = time.perf_counter()
    g = settings.generator()
    if loaded.method in ("ar", "linear"):
        if pins.strip():
            raise DemoError("pinning words needs a diffusion model (TDD or MDD), not the autoregressive one")
        spec.one_pass(run, loaded, x)
        run.seconds = run.first_step_seconds = time.perf_counter() - start
        yield run
        return
    steps = spec.records(run, loaded, x, settings, pins, g)
    # run.seconds counts the model's own work (input, sampler, decoding), not the time the consumer
    # spends between steps drawing or sending its views
    run.seconds = time.perf_counter() - start
    while True:
        t0 = time.perf_counter()
        record = next(steps, None)
        if record is None:
            return
        run.records.append(record)
        spec.update(run, record, loaded)
        run.seconds += time.perf_counter() - t0
        if run.first_step_seconds is None:
            run.first_step_seconds = run.seconds
        yield run


PACES = ("full speed", "slow motion")  # full speed: figures once at the end; slow motion: every view every step
VIEWS = ("sentence", "heatmap", "side", "history", "noisy")


def all_views(run: Run, loaded: Loaded, position: int = 0, step: int | None = None) -> dict[str, Any]:
    """Every view of one step (default: the last): the sentence (with what the noise reads, for TDD), the
    heatmap, the bars (classify) or entropy (caption) figure, the sentence at every step, and TDD's noisy
    state (``None`` for other methods)."""
    side = task_of(run.task).side_figure(run, loaded, step)
    return {
        "sentence": sentence_html(run, loaded, step),
        "heatmap": heatmap_figure(run, loaded, int(position or 0), step),
        "side": side,
        "history": history_html(run, loaded, step),
        "noisy": noisy_figure(run, loaded, int(position or 0), step),
    }


def live_views(run: Run, loaded: Loaded, pace: str, position: int = 0) -> dict[str, Any]:
    """What a live view sends after a step. At full speed only the sentence (a few KB of HTML) — the
    figures are drawn once, when the run ends; in slow motion every view, every step."""
    if pace not in PACES:
        raise DemoError(f"pace must be one of {', '.join(PACES)}, got {str(pace)[:40]!r}")
    if pace == PACES[0]:
        return {"sentence": sentence_html(run, loaded)}
    return all_views(run, loaded, position)


MAX_SAMPLES = 16  # "several samples": the rows of one batch


def several_samples(
    name: str, image: Any, settings: Settings | None = None, n: int = 4, task: str | None = None
) -> list[str]:
    """``n`` answers of a diffusion model to one input, drawn as one batch with the multinomial to-one (at
    ``settings.temperature``), row b seeded ``seed + b`` (:mod:`tdd.rng`: a row draws what a batch of one
    would): the spread of the model's answer. One-pass models (AR, linear) have no spread to show."""
    settings = settings or Settings()
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES:
        raise DemoError(f"samples must be a whole number from 1 to {MAX_SAMPLES}, got {str(n)[:20]!r}")
    loaded = load(name)
    spec = _tab(name, loaded, task)
    if loaded.method in ("ar", "linear"):
        raise DemoError(f"{name} answers in one pass; several samples need a diffusion model (TDD or MDD)")
    x = image_input(image, loaded, spec)
    drawn = replace(settings, to_one="multinomial", best_of=1)  # the spread itself, each row its own answer
    generators = rng.consecutive(settings.seed, n)
    run = Run(spec.name, name, loaded.method, drawn)
    *_, last = spec.records(run, loaded, x.expand(n, *x.shape[1:]), drawn, "", generators)
    return spec.answers(last.tokens, loaded)


def run_to_end(name: str, image: Any, settings: Settings | None = None, pins: str = "", task: str | None = None) -> Run:
    """:func:`stream` consumed: the finished run."""
    *_, last = stream(name, image, settings, pins, task)
    return last


def warm_up(names: list[str] | None = None) -> list[str]:
    """Load each model and run it once on a blank image in the first tab that offers it, so that the first
    visitor's run is as fast as the next one (models, kernels and allocations ready). ``names``: by default every
    model of every tab. Returns the names that loaded; a model that does not load is left out (its error shows
    when someone picks it)."""
    tab_of: dict[str, str] = {}
    for task in model_tasks():
        for name in catalogue(task):
            tab_of.setdefault(name, task)
    blank = Image.new("RGB", (64, 64), "white")
    ready = []
    for name in tab_of if names is None else names:
        try:
            run_to_end(name, blank, Settings(steps=2, cfg=2.0), task=tab_of.get(name))
            run_to_end(name, blank, Settings(steps=2), task=tab_of.get(name))
        except DemoError:
            continue
        ready.append(name)
    return ready
