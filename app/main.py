"""The TDD app: give an image, watch the denoising loop write its caption (or pick its class) step by step.

    gradio app/main.py          # reload mode while editing
    python app/main.py          # http://127.0.0.1:7860 ; TDD_HOST=0.0.0.0 (or --host 0.0.0.0) listens on all interfaces

Building ``demo`` is cheap (nothing is loaded at import); ``main()`` loads and warms every model of the
catalogue before it starts serving, so the first Run is as fast as the next. All logic lives in
:mod:`tdd.demo`, shared with the Streamlit twin (``app/streamlit_app.py``); this file only lays out widgets.

API endpoints (``gradio_client``): ``/caption``, ``/classify`` and ``/name_emoji`` (a typed emoji), each
returning JSON with the result and the per-step trajectory; see docs/app.md.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import gradio as gr
from browser_js import SKETCH_READY_JS
from gradio_inputs import UploadedImage, refused
from gradio_tabs import DEFAULTS, TAB_BUILDERS

from tdd import demo as core
from tdd.data.emoji import tokenize as emoji_words

MAX_UPLOAD = "10mb"
CONCURRENCY = 2  # runs at once; more requests wait in the queue
QUEUE_SIZE = int(os.environ.get("TDD_QUEUE_SIZE", 64))  # requests waiting beyond this get "Queue is full"
EMOJI_TABS = ("emoji", "emoji_words")  # the tabs /name_emoji runs: the classifier's, the captioners'
CACHE_SECONDS = int(os.environ.get("TDD_CACHE_SECONDS", 3600))  # uploads and outputs older than this are deleted

INTRO = f"""# In-situ Tweedie Discrete Diffusion (TDD)
{core.ONE_SENTENCE}"""


def default_captioner(method: Any) -> str:
    """The captioner of ``method`` in the default family of "Side by side" (the bundled scenes captioners)."""
    compare = core.compare_of()
    models = compare.models_of(compare.default_family)
    if core.check_method(method) not in models:
        raise core.DemoError(f"no {method} captioner in the catalogue; pass a model")
    return models[method]


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
    best_of: Any = DEFAULTS.best_of,
) -> dict[str, Any]:
    """Caption an image; JSON with ``result`` (the caption), ``seconds`` and the per-step ``trajectory``.
    ``spacing``: TDD's sampling timesteps, ``checkpoint`` (the model's own), ``uniform`` or ``informative``;
    ``best_of``: n candidates, the one the model scores highest kept (diffusion captioners; the trajectory is its)."""
    try:
        name = model or default_captioner(method)
        settings = core.Settings(
            steps=steps, cfg=cfg, seed=seed, to_one=to_one, temperature=temperature, spacing=spacing, best_of=best_of
        )
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
    model: str = "",
    to_one: str = DEFAULTS.to_one,
    temperature: Any = DEFAULTS.temperature,
) -> dict[str, Any]:
    """Classify a digit image; JSON with ``result`` (the class), ``probs`` and the per-step ``trajectory``."""
    try:
        name = model or core.task_of("classify").default_model
        settings = core.Settings(steps=steps, cfg=cfg, seed=seed, to_one=to_one, temperature=temperature)
        core.check_model(name, "classify")
        run = core.run_to_end(name, image, settings, task="classify")
        return run.to_json(core.load(name))
    except core.DemoError as e:
        raise refused(e) from e


def api_name_emoji(
    text: Any,
    style: Any = "",
    steps: Any = DEFAULTS.steps,
    cfg: Any = DEFAULTS.cfg,
    seed: Any = DEFAULTS.seed,
    model: str = "",
) -> dict[str, Any]:
    """Name a typed or pasted emoji drawn in ``style`` (an installed one; empty: the first); JSON with ``result``
    (the name), ``truth`` (the emoji's CLDR name), ``right`` and the per-step ``trajectory``. ``model``: the emoji
    classifier (default) or an emoji captioner, which writes the name word by word (the "Emoji, word by word" tab).
    Any string is accepted: one that is not a single emoji gets a message saying what is wrong."""
    try:
        name = model or core.task_of("emoji").default_model
        tab = next((t for t in EMOJI_TABS if name in core.catalogue(t)), None)
        if tab is None:
            choices = [n for t in EMOJI_TABS for n in core.catalogue(t)]
            raise core.DemoError(f"unknown model {str(name)[:80]!r}; choose one of: {', '.join(choices)}")
        settings = core.Settings(steps=steps, cfg=cfg, seed=seed)
        typed = core.task_of(tab).typed.draw(text, style)
        run = core.run_to_end(name, str(typed.path), settings, task=tab)
        right = emoji_words(run.text) == emoji_words(typed.truth)  # a captioner writes "flag : japan"
        return {**run.to_json(core.load(name)), "truth": typed.truth, "right": right}
    except core.DemoError as e:
        raise refused(e) from e


def _api() -> None:
    """The JSON API, hidden widgets: /caption, /classify and /name_emoji (/side_by_side is the tab's own button)."""
    with gr.Row(visible=False):
        a_image = UploadedImage(type="filepath")
        d = DEFAULTS
        a_steps, a_cfg, a_seed = gr.Number(d.steps, precision=0), gr.Number(d.cfg), gr.Number(d.seed, precision=0)
        a_method, a_model, a_to_one = gr.Textbox(core.METHODS[0]), gr.Textbox(""), gr.Textbox(d.to_one)
        a_temp, a_pins, a_out = gr.Number(d.temperature), gr.Textbox(""), gr.JSON()
        a_spacing, a_best_of = gr.Textbox(d.spacing), gr.Number(d.best_of, precision=0)
        a_cap, a_cls, a_emoji = gr.Button(), gr.Button(), gr.Button()
        a_text, a_style = gr.Textbox(""), gr.Textbox("")
    a_cap.click(
        api_caption,
        [a_image, a_steps, a_cfg, a_seed, a_method, a_model, a_to_one, a_temp, a_pins, a_spacing, a_best_of],
        a_out,
        api_name="caption",
        concurrency_id="run",
    )
    c_model = gr.Textbox(core.task_of("classify").default_model, visible=False)
    a_cls.click(
        api_classify,
        [a_image, a_steps, a_cfg, a_seed, c_model, a_to_one, a_temp],
        a_out,
        api_name="classify",
        concurrency_id="run",
    )
    e_model = gr.Textbox(core.task_of("emoji").default_model, visible=False)
    a_emoji.click(
        api_name_emoji,
        [a_text, a_style, a_steps, a_cfg, a_seed, e_model],
        a_out,
        api_name="name_emoji",
        concurrency_id="run",
    )


def build() -> gr.Blocks:
    """One tab per registered task (:data:`tdd.demo.TASKS`, laid out by its layout), then the API."""
    # delete_cache: gradio's own copies of uploads and outputs are removed once an hour when older than an hour
    cache = (min(CACHE_SECONDS, 3600), CACHE_SECONDS)
    with gr.Blocks(title="TDD: watch a caption crystallise out of noise", delete_cache=cache) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for spec in core.TASKS.values():
                with gr.Tab(spec.title):
                    TAB_BUILDERS[spec.layout](spec)
        _api()
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
    ready = core.warm_up()
    print(f"warmed {len(ready)} models in {time.perf_counter() - start:.1f} s: {', '.join(ready)}", flush=True)
    app.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD)


if __name__ == "__main__":
    main()
