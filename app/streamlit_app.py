"""The Streamlit twin of the Gradio app: ``streamlit run app/streamlit_app.py``.

Same tasks, same live per-step view and heatmaps, built on the same UI-independent core
(:mod:`tdd.demo`); this file only lays out widgets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import streamlit as st

from tdd import demo as core

ROOT = Path(__file__).resolve().parent.parent
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]


def sampling_controls(spec: core.Task) -> dict[str, Any]:
    """The sampling widgets' values by :class:`~tdd.demo.Settings` field name (:func:`tdd.demo.settings_from`)."""
    d, choices = core.Settings(), core.Settings.CHOICES  # defaults and options from the library

    def radio(label: str, name: str) -> Any:
        return st.radio(label, choices[name], choices[name].index(getattr(d, name)), horizontal=True)

    with st.expander("Sampling settings"):
        values = {
            "steps": st.slider("steps", 1, core.MAX_STEPS, d.steps),
            "cfg": st.slider("CFG scale (1 = no guidance)", 0.0, 5.0, d.cfg, 0.1),
            "cfg_schedule": radio("CFG schedule", "cfg_schedule"),
            "to_one": radio("to-one operation", "to_one"),
            "temperature": st.slider("temperature (multinomial)", 0.1, 3.0, d.temperature, 0.1),
            "seed": st.number_input("seed", value=d.seed, step=1),
        }
        if spec.sequence:  # the masked baseline's and TDD's timestep settings
            values["best_of"] = st.slider(
                "best of n (n candidates, keep the one the model scores highest)", 1, d.MAX_BEST_OF, d.best_of
            )
            values["spacing"] = radio("TDD timesteps (checkpoint: the model's own)", "spacing")
            values["remasking"] = radio("remasking (masked baseline)", "remasking")
            values["omega"] = st.slider("ω remasking (masked baseline)", 0.0, 0.5, d.omega, 0.001)
            values["window"] = st.slider("ω window", 0.0, 1.0, d.window, 0.05)
    return values


@st.cache_resource
def example_truths(task: str) -> dict[str, str]:
    """A task's examples' true answers by file hash, read once per server (not on every run)."""
    folder = core.task_of(task).examples_dir
    return core.example_truths(folder) if folder else {}


def show(views: dict, boxes: Any, tag: str) -> None:
    """Fill the boxes of the views given (:func:`tdd.demo.views`); ``tag`` keeps chart ids unique in one script run."""
    sentence, noisy, heat, side, history = boxes
    if "sentence" in views:
        sentence.markdown(views["sentence"], unsafe_allow_html=True)
    for box, name in ((noisy, "noisy"), (heat, "heatmap"), (side, "side")):
        if views.get(name) is not None:
            box.plotly_chart(views[name], width="stretch", key=f"{name}-{tag}")
    if "history" in views:
        history.markdown(views["history"], unsafe_allow_html=True)


def typed_input(spec: core.Task) -> Path | None:
    """The tab's typed input, drawn (:mod:`tdd.demo.typed`), or ``None`` when nothing is typed (a message
    under the box when what is typed is not one emoji)."""
    if spec.typed is None:
        return None
    text = st.text_input(spec.typed.label, placeholder=spec.typed.placeholder, key=f"typed-{spec.name}")
    styles = spec.typed.styles()
    style = st.selectbox(spec.typed.style_label, styles, key=f"style-{spec.name}") if styles else None
    if not text:
        return None
    try:
        return spec.typed.draw(text, style).path
    except core.DemoError as e:
        st.error(str(e))
        return None


def inputs(spec: core.Task) -> SimpleNamespace:
    """The left column: the image (upload or example), the model, pins, settings and buttons."""
    task = spec.name
    upload = st.file_uploader(spec.input_label, type=UPLOAD_TYPES, key=f"upload-{task}")
    canvas = spec.canvas  # Streamlit has no sketchpad: a drawing comes as an upload, in the canvas's colours
    st.caption(
        f"{canvas.label.removeprefix('…or ')}: in any paint program with {', '.join(canvas.names)}, then upload it."
    )
    example = st.selectbox("…or an example", spec.examples(), format_func=lambda p: p.name, key=f"example-{task}")
    image = upload.getvalue() if upload is not None else example
    typed = typed_input(spec) if upload is None else None  # a typed emoji wins over the example
    if typed is not None:
        image = example = typed
    if image is not None:
        st.image(image if upload is not None else str(example), width=200)
    models = core.catalogue(spec.name)  # the only models this app runs
    default = models.index(spec.default_model) if spec.default_model in models else 0
    model = st.selectbox("model", models, index=default, key=f"model-{task}")
    pins = ""
    if spec.takes_pins:
        pins = st.text_input("Pin words (optional): keep words to pin, write _ where the model chooses")
    values = sampling_controls(spec)
    pace = st.radio("pace", core.PACES, horizontal=True, key=f"pace-{task}")
    blind = st.checkbox("without the picture (CFG scale 0: the model's prior alone)", key=f"blind-{task}")
    go = st.button("Run", type="primary")
    n_samples = st.slider("samples", 2, core.MAX_SAMPLES, 8, key=f"n-samples-{task}")
    sample = st.button("Several samples", key=f"samples-{task}")
    # the answer belongs to its input: a new upload or example shows no trace of the last one's answer
    current = (task, hashlib.sha256(upload.getvalue()).hexdigest() if upload is not None else str(example))
    return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("spec", "canvas", "models", "default")})


def run_now(spec: core.Task, i: SimpleNamespace, settings: core.Settings, boxes: Any) -> bool:
    """Stream a run into ``boxes``; keep it in the session with its truth. ``False`` when it was refused."""
    st.session_state["run_input"] = i.current
    try:
        loaded = core.load(i.model)
        run = None
        for run in core.stream(i.model, i.image, settings, i.pins, spec.name):
            show(core.live_views(run, loaded, i.pace), boxes, f"live-{run.num_steps}")
        assert run is not None  # a run yields at least once
        st.session_state["run"], st.session_state["run_model"] = run, i.model
        source = str(i.image) if i.upload is None else i.upload.getvalue()
        st.session_state["truth"] = spec.marks(source, run.text, loaded, example_truths(spec.name))
        return True
    except core.DemoError as e:  # one message where the answer goes
        st.session_state["run"] = None
        boxes[0].error(str(e))
        return False


def finished(spec: core.Task, boxes: Any) -> None:
    """The last run of this task: its timing, truth, step slider, position picker, views and download."""
    run, name = st.session_state.get("run"), st.session_state.get("run_model")
    if run is None or name is None or run.task != spec.name:
        return
    loaded = core.load(name)
    st.caption(core.timing_text(run))
    if st.session_state.get("truth"):
        st.markdown(st.session_state["truth"], unsafe_allow_html=True)
    position, step = 0, None
    if run.records:
        if run.num_steps > 1:
            step = st.slider("step (drag to revisit)", 1, run.num_steps, run.num_steps, key="step") - 1
        if spec.sequence:
            choices = core.positions(run, loaded)
            position = st.selectbox("token position for the heatmap", choices, index=core.busiest_position(run),
                                    format_func=lambda c: c[0])[1]  # fmt: skip
    show(core.all_views(run, loaded, position, step), boxes, "final")
    st.download_button("Download the trajectory (JSON)", data=json.dumps(run.to_json(loaded), indent=1),
                       file_name="tdd_trajectory.json", mime="application/json")  # fmt: skip


def single_page(spec: core.Task) -> None:
    """A task of layout "single": one model, the live run, its heatmaps."""
    st.markdown(spec.header)
    st.caption(spec.legend)
    left, right = st.columns([1, 2])
    with left:
        i = inputs(spec)
    try:
        settings = core.settings_from(i.values, **({"cfg": 0.0} if i.blind else {}))  # blind: the prior alone
    except core.DemoError as e:
        left.error(str(e))
        return
    with right:
        if i.sample:  # the spread of the model's answer: several seeds as one batch
            try:
                answers = core.several_samples(i.model, i.image, settings, i.n_samples, spec.name)
                st.markdown(core.samples_html(answers, settings), unsafe_allow_html=True)
            except core.DemoError as e:
                st.error(str(e))
        boxes = (st.empty(), st.empty(), st.empty(), st.empty(), st.empty())
        if not i.go and st.session_state.get("run_input") != i.current:
            boxes[0].markdown(core.message_html(spec.placeholder), unsafe_allow_html=True)
            return
        if i.go and not run_now(spec, i, settings, boxes):
            return
        finished(spec, boxes)


def compare_page(spec: core.CompareTab) -> None:
    """A tab of layout "compare": every method of one family on the same image, streamed together."""
    st.markdown(spec.header)
    families = list(spec.families())
    left, right = st.columns([1, 2])
    with left:
        upload = st.file_uploader("Image", type=UPLOAD_TYPES, key=f"upload-{spec.name}")
        example = st.selectbox("…or an example", spec.examples(), format_func=lambda p: p.name, key="sbs-example")
        image = upload.getvalue() if upload is not None else example
        found = spec.family_of(image)  # an example picks its own family's captioners
        if found in families and st.session_state.get("sbs-picked") != image:
            st.session_state["sbs-picked"] = image
            st.session_state["sbs-family"] = found
        family = st.selectbox("captioners trained on", families, key="sbs-family")
        steps = st.slider("steps", 1, core.MAX_STEPS, core.Settings().steps, key="sbs-steps")
        seed = st.number_input("seed", value=0, step=1, key="sbs-seed")
        go = st.button(f"Run all {len(spec.methods)}", type="primary", key="sbs-run")
    if not go:
        return
    with right:
        boxes = {m: st.empty() for m in spec.methods}
        try:
            for views in spec.stream(image, family, core.Settings(steps=steps, seed=int(seed))):
                for m, box in boxes.items():
                    box.markdown(views[m], unsafe_allow_html=True)
        except core.DemoError as e:
            st.error(str(e))


PAGES: dict[str, Callable[[Any], None]] = {"single": single_page, "compare": compare_page}  # a layout → its page


def main() -> None:
    st.set_page_config(page_title="TDD: watch a caption crystallise out of noise", layout="wide")
    st.title("In-situ Tweedie Discrete Diffusion (TDD)")
    st.markdown(core.ONE_SENTENCE)
    tabs = core.TASKS  # one page per registered task, as the Gradio app's tabs
    name = st.radio("task", list(tabs), format_func=lambda n: tabs[n].title, horizontal=True, key="task")
    PAGES[tabs[name].layout](tabs[name])


main()
