"""The Gradio app's tabs: one builder per layout (:data:`tdd.demo.LAYOUTS`), laid out for each registered
task (:data:`tdd.demo.TASKS`), and their event handlers. The widgets reach the library's settings by field name
(:func:`sampling_controls`, :func:`tdd.demo.settings_from`)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import gradio as gr
from browser_js import CLICK_JS, SKETCH_CLEAR_JS, WAITED_JS
from gradio_inputs import UploadedImage, input_widgets, pick, typed_input, typed_widgets
from gradio_inputs import fresh_canvas as _fresh_canvas

from tdd import demo as core

SLOW_SECONDS_PER_STEP = 0.25
PLAY_SECONDS_PER_STEP = 0.2
log = logging.getLogger("tdd.app")
DEFAULTS, CHOICES = core.Settings(), core.Settings.CHOICES  # read from the library, never copied


def _views(run: core.Run, loaded: core.Loaded, position: int | None, step: int | None = None) -> tuple:
    """(sentence, heatmap, bars-or-entropy, history) for one step of a run."""
    return tuple(core.all_views(run, loaded, position or 0, step).values())


@functools.cache
def _truths(task: str) -> dict[str, str]:
    """A task's examples' true answers, keyed by the hash of the file (read once, on first use)."""
    folder = core.task_of(task).examples_dir
    return core.example_truths(folder) if folder else {}


def _timing(run: core.Run) -> str:
    """The timing line: the browser fills ``.tdd-waited`` with what the visitor waited (click → last
    step, see WAITED_JS); the server adds the compute time of the run itself."""
    if run.first_step_seconds is None:
        return ""
    return f'<span class="tdd-waited"></span>{core.timing_text(run)}'


def _blank(message: str, *, error: bool = False) -> tuple:
    """Every output of a task tab as for a new input: the message where the answer goes, nothing else."""
    empty = gr.Dropdown(choices=[], value=None)
    return core.message_html(message, error=error), None, None, "", None, None, gr.skip(), empty, "", ""


def fresh_input(task: str) -> tuple:
    """A new input (example, upload, drawing): no trace of the previous answer, its truth, its figures, its
    exports or its samples."""
    return (*_blank(core.task_of(task).placeholder), None, "")


def sketch_changed(task: str, drawing: Any, ran: Any) -> tuple:
    """The canvas changed: a new input (:func:`fresh_input`), unless it holds the very drawing the last run read —
    on a loaded server the canvas's change event can arrive after that run has finished, and must not clear it."""
    if core.has_drawing(drawing) and core.same_drawing(drawing, ran):
        return tuple(gr.skip() for _ in fresh_input(task))
    return fresh_input(task)


def _blind(task: str, values: dict[str, Any], image: Any, blind: bool) -> tuple[core.Settings, Any]:
    """The widgets' values by field name → the settings; "without the picture": CFG scale 0, the null condition
    alone (the model's language prior writes from noise), and with no input given, a blank canvas stands in for
    the unused picture."""
    if not blind:
        return core.settings_from(values), image
    blank = core.task_of(task).canvas.background_image() if image is None else image
    return core.settings_from(values, cfg=0.0), blank


def run_live(
    names: tuple[str, ...], task: str, image: Any, model: str, position: int | None, pins: str, pace: str, blind: bool,
    *sampling: Any,
) -> Iterator[tuple]:  # fmt: skip
    """Stream one run. At full speed a step sends only the sentence (a few KB) and the figures come
    once at the end; in slow motion every step sends every view and waits SLOW_SECONDS_PER_STEP."""
    try:
        settings, image = _blind(task, dict(zip(names, sampling)), image, blind)
        spec = core.task_of(task)
        core.check_model(model, task)
        slow = pace == core.PACES[1]
        loaded = core.load(model)
        run = None
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
    marks = spec.marks(image, run.text, loaded, _truths(task))  # a bundled example's truth, word by word
    yield (*_views(run, loaded, pos), run, slider, choices, _timing(run), marks)


def samples_live(
    names: tuple[str, ...], task: str, image: Any, drawing: Any, model: str, n: Any, blind: bool, *sampling: Any
) -> str:
    """Several samples of the model's answer to the input, drawn as one batch (:func:`tdd.demo.several_samples`)."""
    try:
        settings, source = _blind(task, dict(zip(names, sampling)), pick(image, drawing), blind)
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


def sampling_controls(spec: core.Task) -> dict[str, Any]:
    """The sampling widgets, keyed by :class:`~tdd.demo.Settings` field name (a tuple field by its parts,
    ``window[0]``): the one mapping from widgets to settings (:func:`tdd.demo.settings_from`)."""
    d, seq = DEFAULTS, spec.sequence  # the sliders show a useful part of each range; the API accepts the whole of it
    with gr.Accordion("Sampling settings", open=False):
        return {
            "steps": gr.Slider(1, core.MAX_STEPS, value=d.steps, step=1, label="steps"),
            "cfg": gr.Slider(0.0, 5.0, value=d.cfg, step=0.1, label="CFG scale (1 = no guidance)"),
            "cfg_schedule": gr.Radio(list(CHOICES["cfg_schedule"]), value=d.cfg_schedule, label="CFG schedule"),
            "to_one": gr.Radio(list(CHOICES["to_one"]), value=d.to_one, label="to-one operation"),
            "temperature": gr.Slider(0.1, 3.0, value=d.temperature, step=0.1, label="temperature (multinomial)"),
            "seed": gr.Number(d.seed, precision=0, label="seed"),
            "remasking": gr.Radio(list(CHOICES["remasking"]), value=d.remasking, label="remasking (masked baseline)",
                                  visible=seq),  # fmt: skip
            "omega": gr.Slider(0.0, 0.5, value=d.omega, step=0.001, label="ω remasking (masked baseline)", visible=seq),
            "window[0]": gr.Slider(0.0, 1.0, value=d.window[0], step=0.05, label="ω window start", visible=seq),
            "window[1]": gr.Slider(0.0, 1.0, value=d.window[1], step=0.05, label="ω window end", visible=seq),
            "best_of": gr.Slider(1, d.MAX_BEST_OF, value=d.best_of, step=1, visible=seq,
                                 label="best of n (n candidates, keep the one the model scores highest)"),
            "spacing": gr.Radio(list(CHOICES["spacing"]), value=d.spacing, visible=seq,
                                label="TDD timesteps (checkpoint: the model's own; informative: where its CE falls)"),
        }  # fmt: skip


def _answer_column(spec: core.Task) -> SimpleNamespace:
    """The answer column's widgets, Run at its head: in view at 1280×720 whichever input (upload, example,
    drawing) is open."""
    task = spec.name
    run_btn = gr.Button("Run", variant="primary", elem_id=f"run-{task}")
    sentence = gr.HTML(core.message_html(spec.placeholder), label="current step", elem_id=f"sentence-{task}")
    timing = gr.HTML(elem_id=f"timing-{task}")
    truth = gr.HTML(elem_id=f"truth-{task}")
    samples = gr.HTML(elem_id=f"samples-{task}")
    with gr.Accordion("How to read the view", open=False):
        gr.Markdown(spec.legend)
    with gr.Row():
        step = gr.Slider(1, DEFAULTS.steps, value=DEFAULTS.steps, step=1, label="step (drag to revisit)", scale=4)
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
    return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("spec", "task")})


def task_tab(spec: core.Task) -> None:
    """A tab of layout "single": one model's live run, its heatmaps, the settings (``spec``: what the task shows)."""
    task = spec.name
    models = core.catalogue(spec.name)
    default = spec.default_model if spec.default_model in models else (models[0] if models else None)
    examples = [str(p) for p in spec.examples()]
    gr.Markdown(spec.header, elem_id=f"header-{task}")
    with gr.Row():
        with gr.Column(scale=1):
            typed = typed_widgets(spec)
            image, sketch, background, clear_btn = input_widgets(task)
            gr.Examples(examples, inputs=image, label="Examples")
            model = gr.Dropdown(models, value=default, label="model", elem_id=f"model-{task}")
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
            sampling = sampling_controls(spec)
        with gr.Column(scale=2):
            a = _answer_column(spec)
    state = gr.State(None)
    task_box = gr.Textbox(task, visible=False)
    names = tuple(sampling)  # the settings' field names, in the widgets' order
    views = [a.sentence, a.heat, a.side, a.history, a.noisy]  # in core.VIEWS order
    outputs = [*views, state, a.step, a.position, a.timing, a.truth]
    inputs = [image, model, a.position, pins, pace, blind, *sampling.values()]
    # a new input clears the last answer; a drawing replaces the upload as the input: the newest input wins,
    # and a non-empty drawing wins at Run
    blank = functools.partial(fresh_input, task)
    private: dict[str, Any] = {"queue": False, "api_visibility": "private"}
    source = gr.State(None)  # the input the last Run read
    image.change(blank, None, [*outputs, a.files, a.samples], **private)
    changed = functools.partial(sketch_changed, task)
    sketch.change(changed, [sketch, source], [*outputs, a.files, a.samples], **private)
    fresh = functools.partial(_fresh_canvas, task)
    image.upload(fresh, background or [], sketch, **private)
    if background is None:  # the canvas's own clear: the pen stays
        clear_btn.click(None, js=SKETCH_CLEAR_JS.replace("TASK", task), api_visibility="private")
    else:  # a fresh canvas on the chosen background
        clear_btn.click(fresh, background, sketch, **private)
        background.change(fresh, background, sketch, **private)
    if typed is not None:  # Enter (or a new style) draws the typed input into the image
        draw = functools.partial(typed_input, task)
        for trigger in (typed.text.submit, typed.style.change):
            trigger(draw, [typed.text, typed.style], [image, sketch, typed.message], **private)
    inputs[0] = source
    start = a.run_btn.click(pick, [image, sketch], source, js=CLICK_JS, **private)
    live = functools.partial(run_live, names, task)
    event = start.then(live, inputs, outputs, api_visibility="private", concurrency_id="run")
    event.then(None, task_box, None, js=WAITED_JS, queue=False, api_visibility="private")
    a.step.release(show_step, [state, model, a.position, a.step], views, api_visibility="private")
    a.position.change(show_step, [state, model, a.position, a.step], views, api_visibility="private")
    a.play_btn.click(play, [state, model, a.position], [*views, a.step], api_visibility="private")
    a.export_btn.click(export, [state, model, source], a.files, api_visibility="private")
    samples_in = [image, sketch, model, n_samples, blind, *sampling.values()]
    several = functools.partial(samples_live, names, task)
    samples_btn.click(several, samples_in, a.samples, api_visibility="private", concurrency_id="run")


def side_by_side(image: Any, steps: Any, seed: Any, family: Any = None) -> Iterator[tuple]:
    """The "Side by side" tab's run (:class:`tdd.demo.CompareTask`): every method's view, in its order."""
    spec = core.compare_of()
    try:
        settings = core.Settings(steps=steps, seed=seed)
        for views in spec.stream(image, family or spec.default_family, settings):
            yield tuple(views[m] for m in spec.methods)
    except core.DemoError as e:  # one message where the answers go
        log.warning("refused: %s", e)
        yield core.message_html(str(e), error=True), *[""] * (len(spec.methods) - 1)


def compare_tab(spec: core.CompareTab) -> None:
    """A tab of layout "compare": one image, one family of captioners, every method at once."""
    families = list(spec.families())
    gr.Markdown(spec.header)
    with gr.Row():
        with gr.Column(scale=1):
            # as the single tabs take it: the file as uploaded (an emoji's transparency kept), checked by tdd
            image = UploadedImage(type="filepath", sources=["upload", "clipboard"], label="Image", height=256,
                                  elem_id="input-sbs")  # fmt: skip
            gr.Examples([str(p) for p in spec.examples()], inputs=image)
            family = gr.Dropdown(families, value=spec.default_family if spec.default_family in families else None,
                                 label="captioners trained on", elem_id="sbs-family")  # fmt: skip
            steps = gr.Slider(1, core.MAX_STEPS, value=DEFAULTS.steps, step=1, label="steps")
            seed = gr.Number(DEFAULTS.seed, precision=0, label="seed")
            run_btn = gr.Button(f"Run all {len(spec.methods)}", variant="primary", elem_id="run-sbs")
        with gr.Column(scale=2):
            views = []
            for m in spec.methods:
                if m in core.compare.STREAMED:
                    gr.Markdown(f"**{core.compare.METHOD_TITLES[m]}**")
                    views.append(gr.HTML(elem_id=f"sbs-{m}"))
                else:
                    views.append(gr.Markdown(elem_id=f"sbs-{m}"))
    clear = ("",) * len(views)  # a new image clears the last answers; an example picks its own family

    def changed(path: Any) -> tuple:
        found = spec.family_of(path) if path else None
        return (*clear, gr.update(value=found) if found else gr.update())

    image.change(changed, image, [*views, family], queue=False, api_visibility="private")
    run_btn.click(side_by_side, [image, steps, seed, family], views, api_name="side_by_side", concurrency_id="run")


TAB_BUILDERS: dict[str, Callable[[Any], None]] = {
    "single": task_tab,
    "compare": compare_tab,
}  # a task's layout → how a tab of it is laid out
