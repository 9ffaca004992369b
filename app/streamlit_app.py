"""The Streamlit twin of the Gradio app: ``streamlit run app/streamlit_app.py``.

Same tasks, same live per-step view and heatmaps, built on the same UI-independent core
(:mod:`tdd.demo`); this file only lays out widgets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import streamlit as st

from tdd import demo as core

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {
    "caption": sorted((ROOT / "examples" / "scenes").glob("*.png")),
    "classify": sorted((ROOT / "examples" / "digits").glob("*.png")),
}
EXAMPLE_DIR = ROOT / "examples" / "scenes"  # captions.txt: the examples' true captions
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]


def sampling_controls(spec: core.Task) -> core.Settings:
    d, choices = core.Settings(), core.Settings.CHOICES  # defaults and options from the library
    with st.expander("Sampling settings"):
        steps = st.slider("steps", 1, core.MAX_STEPS, d.steps)
        cfg = st.slider("CFG scale (1 = no guidance)", 0.0, 5.0, d.cfg, 0.1)
        cfg_schedule = st.radio(
            "CFG schedule", choices["cfg_schedule"], choices["cfg_schedule"].index(d.cfg_schedule), horizontal=True
        )
        to_one = st.radio("to-one operation", choices["to_one"], choices["to_one"].index(d.to_one), horizontal=True)
        temperature = st.slider("temperature (multinomial)", 0.1, 3.0, d.temperature, 0.1)
        seed = st.number_input("seed", value=d.seed, step=1)
        remasking, omega, window, spacing = d.remasking, d.omega, d.window, d.spacing
        if spec.sequence:  # the masked baseline's and TDD's timestep settings
            spacing = st.radio(
                "TDD timesteps (checkpoint: the model's own)",
                choices["spacing"],
                choices["spacing"].index(d.spacing),
                horizontal=True,
            )
            remasking = st.radio(
                "remasking (masked baseline)",
                choices["remasking"],
                choices["remasking"].index(d.remasking),
                horizontal=True,
            )
            omega = st.slider("ω remasking (masked baseline)", 0.0, 0.5, d.omega, 0.001)
            window = st.slider("ω window", 0.0, 1.0, d.window, 0.05)
    return core.Settings(steps=steps, cfg=cfg, cfg_schedule=cfg_schedule, to_one=to_one, temperature=temperature,
                         seed=int(seed), remasking=remasking, omega=omega, window=window, spacing=spacing)  # fmt: skip


@st.cache_resource
def example_truths() -> dict[str, str]:
    """The examples' true captions by file hash, read once per server (not on every run)."""
    return core.example_truths(EXAMPLE_DIR)


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


def main() -> None:
    st.set_page_config(page_title="TDD: watch a caption crystallise out of noise", layout="wide")
    st.title("In-situ Tweedie Discrete Diffusion (TDD)")
    st.markdown(core.ONE_SENTENCE)
    task = st.radio("task", list(core.TASKS), horizontal=True, key="task")
    spec = core.task_of(task)  # what the task shows: its header, pins, positions, its canvas
    st.markdown(spec.header)
    st.caption(spec.legend)
    left, right = st.columns([1, 2])
    with left:
        upload = st.file_uploader(spec.input_label, type=UPLOAD_TYPES, key="upload")
        canvas = spec.canvas  # Streamlit has no sketchpad: a drawing comes as an upload, in the canvas's colours
        st.caption(
            f"{canvas.label.removeprefix('…or ')}: in any paint program with {', '.join(canvas.names)}, then upload it."
        )
        examples = EXAMPLES[task]
        example = st.selectbox("…or an example", examples, format_func=lambda p: p.name, key=f"example-{task}")
        image = upload.getvalue() if upload is not None else example
        if image is not None:
            st.image(image if upload is not None else str(example), width=200)
        models = core.catalogue(task)  # the only models this app runs
        default = models.index(core.DEFAULT_MODEL[task]) if core.DEFAULT_MODEL[task] in models else 0
        model = st.selectbox("model", models, index=default, key=f"model-{task}")
        pins = ""
        if spec.takes_pins:
            pins = st.text_input("Pin words (optional): keep words to pin, write _ where the model chooses")
        try:
            settings = sampling_controls(spec)
        except core.DemoError as e:
            st.error(str(e))
            return
        pace = st.radio("pace", core.PACES, horizontal=True, key=f"pace-{task}")
        blind = st.checkbox("without the picture (CFG scale 0: the model's prior alone)", key=f"blind-{task}")
        if blind:  # the null condition alone: the language prior writes from noise; the picture is not used
            settings = dataclasses.replace(settings, cfg=0.0)
        go = st.button("Run", type="primary")
        n_samples = st.slider("samples", 2, core.MAX_SAMPLES, 8, key=f"n-samples-{task}")
        sample = st.button("Several samples", key=f"samples-{task}")
    # the answer belongs to its input: a new upload or example shows no trace of the last one's answer
    current = (task, hashlib.sha256(upload.getvalue()).hexdigest() if upload is not None else str(example))
    with right:
        if sample:  # the spread of the model's answer: several seeds as one batch
            try:
                answers = core.several_samples(model, image, settings, n_samples, task)
                st.markdown(core.samples_html(answers, settings), unsafe_allow_html=True)
            except core.DemoError as e:
                st.error(str(e))
        boxes = (st.empty(), st.empty(), st.empty(), st.empty(), st.empty())
        if not go and st.session_state.get("run_input") != current:
            boxes[0].markdown(core.message_html(spec.placeholder), unsafe_allow_html=True)
            return
    if go:
        st.session_state["run_input"] = current
        try:
            loaded = core.load(model)
            run = None
            for run in core.stream(model, image, settings, pins, task):
                show(core.live_views(run, loaded, pace), boxes, f"live-{run.num_steps}")
            assert run is not None  # a run yields at least once
            st.session_state["run"], st.session_state["run_model"] = run, model
            source = str(image) if upload is None else upload.getvalue()
            st.session_state["truth"] = spec.marks(source, run.text, loaded, example_truths())
        except core.DemoError as e:  # one message where the answer goes
            st.session_state["run"] = None
            boxes[0].error(str(e))
            return
    run, name = st.session_state.get("run"), st.session_state.get("run_model")
    if run is None or name is None or run.task != task:
        return
    loaded = core.load(name)
    with right:
        st.caption(core.timing_text(run))
        if st.session_state.get("truth"):
            st.markdown(st.session_state["truth"], unsafe_allow_html=True)
        position, step = 0, None
        if run.records:
            if run.num_steps > 1:
                step = st.slider("step (drag to revisit)", 1, run.num_steps, run.num_steps, key="step") - 1
            if spec.sequence:
                choices = core.positions(run, loaded)
                busiest = core.busiest_position(run)
                position = st.selectbox(
                    "token position for the heatmap", choices, index=busiest, format_func=lambda c: c[0]
                )[1]
        show(core.all_views(run, loaded, position, step), boxes, "final")
        st.download_button(
            "Download the trajectory (JSON)",
            data=json.dumps(run.to_json(loaded), indent=1),
            file_name="tdd_trajectory.json",
            mime="application/json",
        )


main()
