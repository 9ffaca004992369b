"""The Gradio app's inputs of a tab: the upload that hands tdd the file itself, the typed input, the drawing canvas,
which of them a Run takes, and how an ordinary mistake is refused."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import gradio as gr

from tdd import demo as core

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


def refused(e: core.DemoError) -> gr.Error:
    """An ordinary user mistake (bad file, empty canvas, out-of-range setting) for the API: its message to
    the client, one line in the server log, no traceback."""
    log.warning("refused: %s", e)
    return gr.Error(str(e), print_exception=False)


def typed_widgets(spec: core.Task) -> SimpleNamespace | None:
    """The typed input of a tab that has one (:mod:`tdd.demo.typed`): the text box, the style, a message line."""
    if spec.typed is None:
        return None
    styles = spec.typed.styles()
    with gr.Row():
        text = gr.Textbox(label=spec.typed.label, placeholder=spec.typed.placeholder, scale=3, max_lines=1,
                          elem_id=f"typed-{spec.name}")  # fmt: skip
        style = gr.Dropdown(styles, value=styles[0] if styles else None, label=spec.typed.style_label, scale=2,
                            elem_id=f"style-{spec.name}")  # fmt: skip
    message = gr.HTML(elem_id=f"typed-message-{spec.name}")
    return SimpleNamespace(text=text, style=style, message=message)


def input_widgets(task: str) -> tuple[Any, Any, Any, Any]:
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


def typed_input(task: str, text: Any, style: Any) -> tuple:
    """A typed input drawn as the tab's image (the drawing cleared, so the typed glyph is what runs), or a message
    saying what is wrong with it and the image left as it was."""
    try:
        typed = core.task_of(task).typed.draw(text, style)
    except core.DemoError as e:
        log.warning("refused: %s", e)
        return gr.skip(), gr.skip(), core.message_html(str(e), error=True)
    return str(typed.path), None, ""


def pick(img: Any, drawing: dict | None) -> Any:
    """Run's input: a drawing with strokes wins over the upload."""
    return drawing if core.has_drawing(drawing) else img


def fresh_canvas(task: str, background: str | None = None) -> Any:
    """An empty canvas of ``task`` on ``background`` (the first one by default)."""
    try:
        return core.task_of(task).canvas.background_image(background)
    except core.DemoError as e:
        raise refused(e) from e
