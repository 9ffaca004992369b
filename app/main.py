"""The TDD app: give an image, watch the denoising loop write its caption (or pick its class) step by step.

    gradio app/main.py          # reload mode while editing
    python app/main.py          # http://127.0.0.1:7860 ; TDD_HOST=0.0.0.0 (or --host 0.0.0.0) listens on all interfaces

Building ``demo`` is cheap (nothing is loaded at import); ``main()`` loads and warms every model of the
catalogue before it starts serving, so the first Run is as fast as the next. All logic lives in
:mod:`tdd.demo`, shared with the Streamlit twin (``app/streamlit_app.py``); this file only lays out widgets.

API endpoints (``gradio_client``): ``/caption`` and ``/classify``, each returning JSON with the result and
the per-step trajectory; see docs/app.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from tdd import demo as core

ROOT = Path(__file__).resolve().parent.parent
SCENE_EXAMPLES = sorted(str(p) for p in (ROOT / "examples" / "scenes").glob("*.png"))
DIGIT_EXAMPLES = sorted(str(p) for p in (ROOT / "examples" / "digits").glob("*.png"))
MAX_UPLOAD = "10mb"
CONCURRENCY = 2  # runs at once; more requests wait in the queue
SLOW_SECONDS_PER_STEP = 0.25
# In the browser: note the click time, then (after the run) write what the visitor waited into the timing line.
CLICK_JS = """(...args) => {
  window.tddClickedAt = performance.now();
  document.querySelectorAll('.tdd-waited').forEach((span) => { span.textContent = ''; });
  return args;
}"""
SKETCH_CLEAR_JS = """() => {
  document.querySelector('#sketch-TASK button[aria-label="Clear canvas"]')?.click();
}"""
# The sketchpad mounts when its tab opens, and drops its tool when cleared; whenever it shows gradio's
# "select the draw tool to start", pick its brush, so a drag draws at once.
SKETCH_READY_JS = """() => {
  const arm = () => {
    document.querySelectorAll('[id^="sketch-"]').forEach((pad) => {
      const idle = pad.innerText.includes('select the draw tool');
      const brush = pad.querySelector('button[aria-label="Brush"]');
      if (idle && brush && !pad.tddArming) {
        pad.tddArming = true;  // one click per idle spell, not one per DOM change
        brush.click();
        setTimeout(() => { pad.tddArming = false; }, 300);
      }
    });
  };
  new MutationObserver(arm).observe(document.body, { childList: true, subtree: true });
  arm();
}"""
WAITED_JS = """(task) => {
  const ms = Math.round(performance.now() - (window.tddClickedAt || performance.now()));
  const span = document.querySelector(`#timing-${task} .tdd-waited`);
  if (span) span.textContent = `you waited ${ms} ms · `;
  return [];
}"""
QUEUE_SIZE = int(os.environ.get("TDD_QUEUE_SIZE", 64))  # requests waiting beyond this get "Queue is full"
CACHE_SECONDS = int(os.environ.get("TDD_CACHE_SECONDS", 3600))  # uploads and outputs older than this are deleted
PLAY_SECONDS_PER_STEP = 0.2

INTRO = f"""# In-situ Tweedie Discrete Diffusion (TDD)
{core.ONE_SENTENCE}"""
log = logging.getLogger("tdd.app")


class UploadedImage(gr.Image):
    """``gr.Image`` that hands an upload to tdd as a file path without decoding it first.

    Gradio's own preprocessing opens the file with PIL and fails on a corrupt upload with a generic
    error; tdd.data.images validates the file instead and names the problem. ``is_template`` keeps
    the frontend's Image widget.
    """

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        return super().preprocess(payload)


DEFAULTS, CHOICES = core.Settings(), core.Settings.CHOICES  # read from the library, never copied


def _settings(
    steps: Any,
    cfg: Any,
    cfg_schedule: str,
    to_one: str,
    temperature: Any,
    seed: Any,
    remasking: str = DEFAULTS.remasking,
    omega: Any = DEFAULTS.omega,
    w0: Any = DEFAULTS.window[0],
    w1: Any = DEFAULTS.window[1],
    spacing: Any = DEFAULTS.spacing,
) -> core.Settings:
    return core.Settings(
        steps=steps,
        cfg=cfg,
        cfg_schedule=cfg_schedule,
        to_one=to_one,
        temperature=temperature,
        seed=seed,
        remasking=remasking,
        omega=omega,
        window=(w0, w1),
        spacing=spacing,
    )


def _views(run: core.Run, loaded: core.Loaded, position: int | None, step: int | None = None) -> tuple:
    """(sentence, heatmap, bars-or-entropy, history) for one step of a run."""
    return tuple(core.all_views(run, loaded, position or 0, step).values())


@functools.cache
def _truths() -> dict[str, str]:
    """The bundled examples' true captions, keyed by the hash of the file (read once, on first use)."""
    return core.example_truths(ROOT / "examples" / "scenes")


def _timing(run: core.Run) -> str:
    """The timing line: the browser fills ``.tdd-waited`` with what the visitor waited (click → last
    step, see WAITED_JS); the server adds the compute time of the run itself."""
    if run.first_step_seconds is None:
        return ""
    return f'<span class="tdd-waited"></span>{core.timing_text(run)}'


def refused(e: core.DemoError) -> gr.Error:
    """An ordinary user mistake (bad file, empty canvas, out-of-range setting) for the API: its message to
    the client, one line in the server log, no traceback."""
    log.warning("refused: %s", e)
    return gr.Error(str(e), print_exception=False)


def _blank(message: str, *, error: bool = False) -> tuple:
    """Every output of a task tab as for a new input: the message where the answer goes, nothing else."""
    empty = gr.Dropdown(choices=[], value=None)
    return core.message_html(message, error=error), None, None, "", None, None, gr.skip(), empty, "", ""


def fresh_input(task: str) -> tuple:
    """A new input (example, upload, drawing): no trace of the previous answer, its truth, its figures, its
    exports or its samples."""
    return (*_blank(core.task_of(task).placeholder), None, "")


def _blind(task: str, settings: core.Settings, image: Any, blind: bool) -> tuple[core.Settings, Any]:
    """ "Without the picture": CFG scale 0, the null condition alone (the model's language prior writes from
    noise); with no input given, a blank canvas stands in for the unused picture."""
    if not blind:
        return settings, image
    blank = core.task_of(task).canvas.background_image() if image is None else image
    return dataclasses.replace(settings, cfg=0.0), blank


def run_live(
    task: str, image: Any, model: str, position: int | None, pins: str, pace: str, blind: bool, *sampling: Any
) -> Iterator[tuple]:
    """Stream one run. At full speed a step sends only the sentence (a few KB) and the figures come
    once at the end; in slow motion every step sends every view and waits SLOW_SECONDS_PER_STEP."""
    try:
        settings, image = _blind(task, _settings(*sampling), image, blind)
        core.check_model(model, task)
        slow = pace == core.PACES[1]
        loaded = core.load(model)
        run = None
        spec = core.task_of(task)
        for run in core.stream(model, image, settings, pins if spec.takes_pins else "", task):
            sent = core.live_views(run, loaded, pace, position or 0)  # full speed: the sentence alone
            slider = gr.Slider(maximum=max(settings.steps, 2), value=max(run.num_steps, 1)) if slow else gr.skip()
            yield (*(sent.get(v, gr.skip()) for v in core.VIEWS), gr.skip(), slider, gr.skip(), _timing(run), gr.skip())
            if slow:
                time.sleep(SLOW_SECONDS_PER_STEP)
    except core.DemoError as e:  # one message where the answer goes; no error badge on every panel
        log.warning("refused: %s", e)
        yield _blank(str(e), error=True)
        return
    if run is None:
        return
    pos = core.busiest_position(run) if position is None or not slow else position
    choices = gr.Dropdown(choices=core.positions(run, loaded), value=pos) if run.records else gr.skip()
    slider = gr.Slider(minimum=1, maximum=max(run.num_steps, 2), value=max(run.num_steps, 1), step=1)
    marks = spec.marks(image, run.text, loaded, _truths())  # a bundled example's truth, word by word
    yield (*_views(run, loaded, pos), run, slider, choices, _timing(run), marks)


def samples_live(task: str, image: Any, drawing: Any, model: str, n: Any, blind: bool, *sampling: Any) -> str:
    """Several samples of the model's answer to the input, drawn as one batch (:func:`tdd.demo.several_samples`)."""
    try:
        settings, source = _blind(task, _settings(*sampling), _pick(image, drawing), blind)
        core.check_model(model, task)
        answers = core.several_samples(model, source, settings, int(n), task)
    except (core.DemoError, ValueError, TypeError) as e:  # an ordinary mistake: one message, one log line
        log.warning("refused: %s", e)
        return core.message_html(str(e), error=True)
    return core.samples_html(answers, settings)


def show_step(run: core.Run | None, model: str, position: int | None, step: Any) -> tuple:
    """The scrubber: revisit one step of the finished run."""
    if run is None or not run.records:
        return gr.HTML(), gr.Plot(), gr.Plot(), gr.HTML(), gr.Plot()
    return _views(run, core.load(run.model), position, int(step) - 1)


def play(run: core.Run | None, model: str, position: int | None) -> Iterator[tuple]:
    """Replay the finished run, one step every PLAY_SECONDS_PER_STEP."""
    if run is None or not run.records:
        return
    loaded = core.load(run.model)
    for k in range(run.num_steps):
        yield (*_views(run, loaded, position, k), gr.Slider(value=k + 1))
        time.sleep(PLAY_SECONDS_PER_STEP)


def export(run: core.Run | None, model: str, image: Any) -> list[str]:
    if run is None:
        raise gr.Error("run the model first", print_exception=False)
    loaded = core.load(run.model)  # the run's own model, which passed the catalogue check
    out = core.export_dir()
    files = [str(core.export_json(run, loaded, out))]
    if run.records:
        files.append(str(core.export_gif(run, loaded, image, out)))
    return files


def side_by_side(image: Any, steps: Any, seed: Any) -> Iterator[tuple]:
    """TDD and masked diffusion on one image with the same steps, streamed together; then the AR caption."""
    try:
        d = DEFAULTS
        settings = _settings(steps, d.cfg, d.cfg_schedule, d.to_one, d.temperature, seed)
        names = {m: f"scenes-{m}" for m in core.METHODS}
        loaded = {m: core.load(n) for m, n in names.items()}
        runs = {m: core.stream(names[m], image, settings) for m in ("tdd", "mdd")}
        views = {"tdd": "", "mdd": ""}
        done: set[str] = set()
        while len(done) < 2:
            for m, it in runs.items():
                if m in done:
                    continue
                run = next(it, None)
                if run is None:
                    done.add(m)
                    continue
                views[m] = core.sentence_html(run, loaded[m]) + f"<div class='tdd-step'>{core.timing_text(run)}</div>"
            yield views["tdd"], views["mdd"], ""
        ar = core.run_to_end(names["ar"], image, settings)
        yield views["tdd"], views["mdd"], f"**Autoregressive:** {ar.text}  \n<small>{core.timing_text(ar)}</small>"
    except core.DemoError as e:  # one message where the answers go
        log.warning("refused: %s", e)
        yield core.message_html(str(e), error=True), "", ""


def api_caption(
    image: Any,
    steps: Any = DEFAULTS.steps,
    cfg: Any = DEFAULTS.cfg,
    seed: Any = DEFAULTS.seed,
    method: str = core.METHODS[0],
    model: str = "",
    to_one: str = DEFAULTS.to_one,
    temperature: Any = DEFAULTS.temperature,
    pins: str = "",
    spacing: Any = DEFAULTS.spacing,
) -> dict[str, Any]:
    """Caption an image; JSON with ``result`` (the caption), ``seconds`` and the per-step ``trajectory``.
    ``spacing``: TDD's sampling timesteps, ``checkpoint`` (the model's own), ``uniform`` or ``informative``."""
    try:
        name = model or f"scenes-{core.check_method(method)}"
        settings = _settings(steps, cfg, DEFAULTS.cfg_schedule, to_one, temperature, seed, spacing=spacing)
        core.check_model(name, "caption")
        run = core.run_to_end(name, image, settings, pins or "", task="caption")
        return run.to_json(core.load(name))
    except core.DemoError as e:
        raise refused(e) from e


def api_classify(
    image: Any,
    steps: Any = DEFAULTS.steps,
    cfg: Any = DEFAULTS.cfg,
    seed: Any = DEFAULTS.seed,
    model: str = core.DEFAULT_MODEL["classify"],
    to_one: str = DEFAULTS.to_one,
    temperature: Any = DEFAULTS.temperature,
) -> dict[str, Any]:
    """Classify a digit image; JSON with ``result`` (the class), ``probs`` and the per-step ``trajectory``."""
    try:
        name = model or core.DEFAULT_MODEL["classify"]
        settings = _settings(steps, cfg, DEFAULTS.cfg_schedule, to_one, temperature, seed)
        core.check_model(name, "classify")
        run = core.run_to_end(name, image, settings, task="classify")
        return run.to_json(core.load(name))
    except core.DemoError as e:
        raise refused(e) from e


def _sampling_controls(masked: bool) -> list[Any]:
    with gr.Accordion("Sampling settings", open=False):
        d = DEFAULTS  # the sliders show a useful part of each range; the API accepts the whole of it
        steps = gr.Slider(1, core.MAX_STEPS, value=d.steps, step=1, label="steps")
        cfg = gr.Slider(0.0, 5.0, value=d.cfg, step=0.1, label="CFG scale (1 = no guidance)")
        cfg_schedule = gr.Radio(list(CHOICES["cfg_schedule"]), value=d.cfg_schedule, label="CFG schedule")
        to_one = gr.Radio(list(CHOICES["to_one"]), value=d.to_one, label="to-one operation")
        temperature = gr.Slider(0.1, 3.0, value=d.temperature, step=0.1, label="temperature (multinomial)")
        seed = gr.Number(d.seed, precision=0, label="seed")
        remasking = gr.Radio(
            list(CHOICES["remasking"]), value=d.remasking, label="remasking (masked baseline)", visible=masked
        )
        omega = gr.Slider(0.0, 0.5, value=d.omega, step=0.001, label="ω remasking (masked baseline)", visible=masked)
        w0 = gr.Slider(0.0, 1.0, value=d.window[0], step=0.05, label="ω window start", visible=masked)
        w1 = gr.Slider(0.0, 1.0, value=d.window[1], step=0.05, label="ω window end", visible=masked)
        spacing = gr.Radio(
            list(CHOICES["spacing"]),
            value=d.spacing,
            label="TDD timesteps (checkpoint: the model's own; informative: where its CE falls)",
            visible=masked,
        )
    return [steps, cfg, cfg_schedule, to_one, temperature, seed, remasking, omega, w0, w1, spacing]


def _input_widgets(task: str) -> tuple[Any, Any, Any, Any]:
    """The image input of a tab, as two small tabs: an upload (or an example), and the task's drawing canvas
    (:mod:`tdd.demo.canvas`) with its background choice (``None`` where the canvas has one) and Clear button."""
    spec = core.task_of(task)
    canvas = spec.canvas
    with gr.Tabs():
        with gr.Tab("Upload or example", elem_id=f"upload-tab-{task}"):
            image = UploadedImage(type="filepath", sources=["upload", "clipboard"], label=spec.input_label,
                                  height=200, elem_id=f"input-{task}")  # fmt: skip
        with gr.Tab("Draw", elem_id=f"draw-tab-{task}"):
            # the instructions above the canvas, where its toolbar cannot cover them
            gr.Markdown(canvas.label.removeprefix("…or ").capitalize(), elem_id=f"sketch-help-{task}")
            # a canvas that fits its box at 100 % with the brush ready (see SKETCH_READY_JS), the task's palette only
            sketch = gr.Sketchpad(
                value=canvas.background_image(),
                type="pil",
                show_label=False,
                canvas_size=(canvas.side, canvas.side),
                fixed_canvas=True,
                layers=False,
                transforms=(),
                brush=gr.Brush(
                    default_size=canvas.brush,
                    colors=list(canvas.colours),
                    default_color=canvas.colours[0],
                    color_mode="fixed",
                ),  # fmt: skip
                height=canvas.side + 90,
                elem_id=f"sketch-{task}",
            )
            background = None
            if len(canvas.backgrounds) > 1:
                names = list(canvas.backgrounds)
                background = gr.Radio(names, value=names[0], label="background", elem_id=f"background-{task}")
            clear_btn = gr.Button("Clear the drawing", size="sm", elem_id=f"clear-{task}")
    return image, sketch, background, clear_btn


def _pick(img: Any, drawing: dict | None) -> Any:
    """Run's input: a drawing with strokes wins over the upload."""
    return drawing if core.has_drawing(drawing) else img


def _fresh_canvas(task: str, background: str | None = None) -> Any:
    """An empty canvas of ``task`` on ``background`` (the first one by default)."""
    try:
        return core.task_of(task).canvas.background_image(background)
    except core.DemoError as e:
        raise refused(e) from e


def _task_tab(task: str, examples: list[str]) -> None:
    spec = core.task_of(task)  # what the task shows: its header, pins, positions, labels
    models = core.catalogue(task)
    default = core.DEFAULT_MODEL[task] if core.DEFAULT_MODEL[task] in models else (models[0] if models else None)
    gr.Markdown(spec.header, elem_id=f"header-{task}")
    with gr.Row():
        with gr.Column(scale=1):
            image, sketch, background, clear_btn = _input_widgets(task)
            gr.Examples(examples, inputs=image, label="Examples")
            model = gr.Dropdown(models, value=default, label="model")
            pins = gr.Textbox(
                label="Pin words (optional)",
                placeholder="e.g. a large _ circle — keep words to pin them, write _ where the model should choose",
                visible=spec.takes_pins,
            )
            pace = gr.Radio(list(core.PACES), value=core.PACES[0], label="pace", elem_id=f"pace-{task}")
            blind = gr.Checkbox(False, label="without the picture (CFG scale 0: the model's prior alone)",
                                elem_id=f"blind-{task}")  # fmt: skip
            with gr.Row():
                n_samples = gr.Slider(2, core.MAX_SAMPLES, value=8, step=1, label="samples", scale=3)
                samples_btn = gr.Button("Several samples", elem_id=f"samples-btn-{task}", scale=2)
            sampling = _sampling_controls(masked=spec.sequence)
        with gr.Column(scale=2):
            # Run heads the answer column: in view at 1280×720 whichever input (upload, example, drawing) is open
            run_btn = gr.Button("Run", variant="primary", elem_id=f"run-{task}")
            sentence = gr.HTML(core.message_html(spec.placeholder), label="current step", elem_id=f"sentence-{task}")
            timing = gr.HTML(elem_id=f"timing-{task}")
            truth = gr.HTML(elem_id=f"truth-{task}")
            samples = gr.HTML(elem_id=f"samples-{task}")
            with gr.Accordion("How to read the view", open=False):
                gr.Markdown(spec.legend)
            with gr.Row():
                step = gr.Slider(
                    1, DEFAULTS.steps, value=DEFAULTS.steps, step=1, label="step (drag to revisit)", scale=4
                )
                play_btn = gr.Button("▶ play", scale=1)
            position = gr.Dropdown(
                [],
                value=None,
                label="token position for the heatmap",
                visible=spec.sequence,
                allow_custom_value=True,
            )
            noisy = gr.Plot(label="the noisy state y_t the network saw (TDD)", elem_id=f"noisy-{task}")
            heat = gr.Plot(label="heatmap of the answer", elem_id=f"heatmap-{task}")
            side = gr.Plot(label=spec.side_label)
            with gr.Accordion("every step", open=spec.sequence):
                history = gr.HTML()
            with gr.Row():
                export_btn = gr.Button("Export trajectory (JSON) and animation (GIF)")
                files = gr.File(label="downloads", file_count="multiple")
    state = gr.State(None)
    task_box = gr.Textbox(task, visible=False)
    views = [sentence, heat, side, history, noisy]  # in core.VIEWS order
    outputs = [*views, state, step, position, timing, truth]
    inputs = [task_box, image, model, position, pins, pace, blind, *sampling]
    # a new input clears the last answer; a drawing replaces the upload as the input: the newest input wins,
    # and a non-empty drawing wins at Run
    blank = functools.partial(fresh_input, task)
    private: dict[str, Any] = {"queue": False, "api_visibility": "private"}
    image.change(blank, None, [*outputs, files, samples], **private)
    sketch.change(blank, None, [*outputs, files, samples], **private)
    fresh = functools.partial(_fresh_canvas, task)
    image.upload(fresh, background or [], sketch, **private)
    if background is None:  # the canvas's own clear: the pen stays
        clear_btn.click(None, js=SKETCH_CLEAR_JS.replace("TASK", task), api_visibility="private")
    else:  # a fresh canvas on the chosen background
        clear_btn.click(fresh, background, sketch, **private)
        background.change(fresh, background, sketch, **private)
    source = gr.State(None)
    inputs[1] = source
    start = run_btn.click(_pick, [image, sketch], source, js=CLICK_JS, **private)
    event = start.then(run_live, inputs, outputs, api_visibility="private", concurrency_id="run")
    event.then(None, task_box, None, js=WAITED_JS, queue=False, api_visibility="private")
    step.release(show_step, [state, model, position, step], views, api_visibility="private")
    position.change(show_step, [state, model, position, step], views, api_visibility="private")
    play_btn.click(play, [state, model, position], [*views, step], api_visibility="private")
    export_btn.click(export, [state, model, source], files, api_visibility="private")
    samples_in = [task_box, image, sketch, model, n_samples, blind, *sampling]
    samples_btn.click(samples_live, samples_in, samples, api_visibility="private", concurrency_id="run")


def build() -> gr.Blocks:
    # delete_cache: gradio's own copies of uploads and outputs are removed once an hour when older than an hour
    cache = (min(CACHE_SECONDS, 3600), CACHE_SECONDS)
    with gr.Blocks(title="TDD: watch a caption crystallise out of noise", delete_cache=cache) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Caption"):
                _task_tab("caption", SCENE_EXAMPLES)
            with gr.Tab("Side by side"):
                gr.Markdown(
                    "TDD and masked diffusion on the same image with the same number of steps, "
                    "then the autoregressive caption."
                )
                with gr.Row():
                    with gr.Column(scale=1):
                        sbs_image = gr.Image(
                            type="filepath", sources=["upload", "clipboard"], label="Image", height=256
                        )
                        gr.Examples(SCENE_EXAMPLES, inputs=sbs_image)
                        sbs_steps = gr.Slider(1, core.MAX_STEPS, value=DEFAULTS.steps, step=1, label="steps")
                        sbs_seed = gr.Number(DEFAULTS.seed, precision=0, label="seed")
                        sbs_btn = gr.Button("Run all three", variant="primary", elem_id="run-sbs")
                    with gr.Column(scale=2):
                        gr.Markdown("**TDD**")
                        tdd_view = gr.HTML(elem_id="sbs-tdd")
                        gr.Markdown("**Masked diffusion**")
                        mdd_view = gr.HTML(elem_id="sbs-mdd")
                        ar_view = gr.Markdown(elem_id="sbs-ar")
                sbs_views = [tdd_view, mdd_view, ar_view]  # a new image clears the last answers
                sbs_image.change(lambda: ("", "", ""), None, sbs_views, queue=False, api_visibility="private")
                sbs_btn.click(
                    side_by_side,
                    [sbs_image, sbs_steps, sbs_seed],
                    [tdd_view, mdd_view, ar_view],
                    api_name="side_by_side",
                    concurrency_id="run",
                )
            with gr.Tab("Classify"):
                _task_tab("classify", DIGIT_EXAMPLES)
        with gr.Row(visible=False):  # the JSON API: /caption and /classify
            a_image = UploadedImage(type="filepath")
            d = DEFAULTS
            a_steps, a_cfg, a_seed = gr.Number(d.steps, precision=0), gr.Number(d.cfg), gr.Number(d.seed, precision=0)
            a_method, a_model, a_to_one = gr.Textbox(core.METHODS[0]), gr.Textbox(""), gr.Textbox(d.to_one)
            a_temp, a_pins, a_out = gr.Number(d.temperature), gr.Textbox(""), gr.JSON()
            a_spacing = gr.Textbox(d.spacing)
            a_cap, a_cls = gr.Button(), gr.Button()
        a_cap.click(
            api_caption,
            [a_image, a_steps, a_cfg, a_seed, a_method, a_model, a_to_one, a_temp, a_pins, a_spacing],
            a_out,
            api_name="caption",
            concurrency_id="run",
        )
        c_model = gr.Textbox("digits-tdd", visible=False)
        a_cls.click(
            api_classify,
            [a_image, a_steps, a_cfg, a_seed, c_model, a_to_one, a_temp],
            a_out,
            api_name="classify",
            concurrency_id="run",
        )
        app.load(None, js=SKETCH_READY_JS)
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return app


demo = build()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="The TDD app (Gradio).")
    # GRADIO_SERVER_NAME is what Hugging Face Spaces sets (0.0.0.0); locally the default stays private
    host = os.environ.get("TDD_HOST") or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    p.add_argument("--host", default=host, help="0.0.0.0 to listen on all interfaces")
    p.add_argument(
        "--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", os.environ.get("TDD_PORT", 7860)))
    )
    p.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    more = "offer this checkpoint directory or Hub id too (repeatable; $TDD_MODELS adds more)"
    p.add_argument("--model", action="append", default=[], metavar="DIR_OR_HUB_ID", help=more)
    args = p.parse_args(argv)
    app = demo
    if args.model:
        core.add_operator_models(args.model)
        app = build()  # the model lists now include them
    start = time.perf_counter()
    ready = core.warm_up([*core.catalogue("caption"), *core.catalogue("classify")])
    print(f"warmed {len(ready)} models in {time.perf_counter() - start:.1f} s: {', '.join(ready)}", flush=True)
    app.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD)


if __name__ == "__main__":
    main()
