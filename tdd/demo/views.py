"""The views of a run: the sentence as HTML, the step history, and the plotly figures."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from tdd.data.tokenizer import PAD_ID, decode
from tdd.demo.catalogue import Loaded, class_names
from tdd.demo.task import task_of
from tdd.noise_reads import noisy_argmax, signal_ids, signal_margin
from tdd.viz import entropy_per_step, noisy_state_figure

if TYPE_CHECKING:
    from tdd.demo.run import Run


def sentence_text(record, loaded: Loaded) -> str:
    return decode(loaded.tokenizer, record.tokens[:1].cpu())[0]


PAD_MARK = "·"  # an empty slot after the sentence's end


SURE_DIGITS = 3  # the shade is full at p = 1 − 10⁻³


def confidence_shade(p: float) -> float:
    """0…1 shade of a word with probability ``p`` on a log-odds-like scale, −log₁₀(1 − p) / 3:
    p = 0.5 → 0.10, 0.9 → 0.33, 0.99 → 0.67, ≥ 0.999 → 1 — so 0.5 and 0.99 look different."""
    p = max(0.0, min(1.0, p))
    return max(0.0, min(1.0, -math.log10(max(1.0 - p, 10.0**-SURE_DIGITS)) / SURE_DIGITS))


def cell(word: str, confidence: float, changed: bool, pinned: bool, masked: bool, title: str) -> str:
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


NOISE_ROW_LABEL = "what the noise reads — the largest coordinate of y_t, the network's input"
ANSWER_ROW_LABEL = "the model's answer p(y₀ | y_t, c)"


def _row_label(text: str) -> str:
    return f'<div class="tdd-row-label" style="color:#868e96;font-size:12px;margin-top:4px">{html.escape(text)}</div>'


def noise_cell(word: str, margin: float | None, title: str) -> str:
    """One position of the noise row: teal, deeper as the draft's word stands further above the noise
    (``margin`` > 0); grey where y_t reads a random word (or is pure noise, ``None``). ``title``: the hover
    text, the position and how far its draft word stands above the strongest other coordinate."""
    if margin is not None and margin > 0:
        alpha = 0.12 + 0.88 * min(1.0, margin)
        style = f"background:rgba(12,166,120,{alpha:.2f});color:{'#fff' if alpha > 0.55 else '#0b3d2e'}"
    else:
        style = "background:#f1f3f5;color:#868e96"
    return (
        f'<span class="tdd-noise" title="{html.escape(title)}" style="{style};border-radius:6px;'
        f'font-family:monospace;padding:1px 5px;margin:1px;display:inline-block">{html.escape(word)}</span>'
    )


def noise_row_html(run: Run, loaded: Loaded, k: int) -> str:
    """TDD: what y_t reads at step ``k`` (:mod:`tdd.noise_reads`), one cell per position; ``""`` for runs
    without a noisy state (masked diffusion, one-pass models)."""

    r = run.records[k]
    if r.noisy_top_ids is None:
        return ""
    label_of = task_of(run.task).label_of
    margins, draft = signal_margin(run.records, k), signal_ids(run.records, k)
    cells = []
    for i, w in enumerate(noisy_argmax(r).tolist()):
        margin = None if margins is None else float(margins[i])
        title = f"{i}: pure noise" if draft is None else f"{i}: draft {label_of(loaded, int(draft[i]))!r} {margin:+.2f}"
        cells.append(noise_cell(label_of(loaded, w), margin, title))
    signal = f" (signal λ√ᾱ_t = {r.signal_scale:.2f})" if r.signal_scale is not None else ""
    return _row_label(NOISE_ROW_LABEL + signal) + '<div class="tdd-noise-row">' + "".join(cells) + "</div>"


def samples_html(answers: list[str], settings: Any) -> str:
    """The answers of several samples, most frequent first, with how often each came."""
    counts: dict[str, int] = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    rows = "".join(
        f"<li><code>{html.escape(a)}</code>{f' × {c}' if c > 1 else ''}</li>"
        for a, c in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    head = (
        f"<b>{len(answers)} samples</b>, {len(counts)} different (multinomial to-one at temperature "
        f"{settings.temperature:g}, seeds {settings.seed}–{settings.seed + len(answers) - 1}, one batch):"
    )
    return f'<div class="tdd-samples">{head}<ol>{rows}</ol></div>'


def step_label(record, method: str) -> str:
    """What the network saw at this step: TDD's timestep t, or the masked baseline's mask ratio."""
    if method == "mdd":
        return f"mask ratio {float(record.t):.2f}"
    return f"t = {float(record.t):g}"


def message_html(text: str, *, error: bool = False) -> str:
    """A message where the answer goes: what to do first, or why a run was refused (escaped; ``role=alert``
    for an error, so that it is read out and found by tests)."""
    style = "color:#a61e4d;border-left:4px solid #a61e4d" if error else "color:#555;border-left:4px solid #ccc"
    role = ' role="alert"' if error else ""
    kind = "tdd-error" if error else "tdd-placeholder"
    return f'<div class="{kind}"{role} style="{style};padding:6px 10px;font-size:16px">{html.escape(text)}</div>'


def sentence_html(run: Run, loaded: Loaded, step: int | None = None) -> str:
    """The sentence at ``step`` (default: the last) with each word shaded by confidence, changed
    words outlined, pinned words marked 📌, padding shown as a faint · (captions) — or the class and its
    probability (classification)."""

    if not run.records:
        return f'<div class="tdd-sentence"><b>{html.escape(run.text)}</b></div>' + run.note
    k = len(run.records) - 1 if step is None else max(0, min(step, len(run.records) - 1))
    r = run.records[k]
    style = "color:#868e96;font-size:13px"
    where = f"step {r.step + 1} / {r.num_steps} &nbsp; {step_label(r, run.method)}"
    head = f'<div class="tdd-step" style="{style}">{where}</div>'
    noise = noise_row_html(run, loaded, k)  # TDD: the state the network saw, above what it answered
    answer = (_row_label(ANSWER_ROW_LABEL) if noise else "") + task_of(run.task).cells(run, r, k, loaded)
    return head + noise + answer + run.note  # the note: beside the answer, in words


def history_html(run: Run, loaded: Loaded, upto: int | None = None) -> str:
    """The decoded sentence at every step up to ``upto`` (Fig. 9), newest last."""
    if not run.records:
        return ""
    last = len(run.records) if upto is None else upto + 1
    rows = []
    for r in run.records[:last]:
        text = task_of(run.task).history_text(r, loaded)
        rows.append(
            f"<tr><td style='padding-right:8px;color:#868e96'>{r.step + 1}</td><td>{html.escape(text)}</td></tr>"
        )
    return "<table class='tdd-history' style='font-family:monospace;font-size:13px'>" + "".join(rows) + "</table>"


def positions(run: Run, loaded: Loaded) -> list[tuple[str, int]]:
    """(label, index) per token position of the last step, for a position picker (captions)."""
    return task_of(run.task).positions(run, loaded)


def busiest_position(run: Run) -> int:
    """The word position (not padding at the end) whose word changed most often: the most interesting
    heatmap to start with (captions; 0 otherwise)."""
    return task_of(run.task).busiest_position(run)


def heatmap_figure(run: Run, loaded: Loaded, position: int = 0, upto: int | None = None):
    """Captions: top candidates × steps for one token position (Fig. 10); classification: classes × steps."""
    records = run.records if upto is None else run.records[: upto + 1]
    if not records:
        return None
    return task_of(run.task).heatmap(records, position, loaded)


def noisy_figure(run: Run, loaded: Loaded, position: int = 0, upto: int | None = None):
    """TDD: y_t's coordinates for one position's candidates over the steps, √ᾱ_t and the share of positions
    already reading their final word (:func:`tdd.viz.noisy_state_figure`); ``None`` without a noisy state."""

    records = run.records if upto is None else run.records[: upto + 1]
    if not records or records[0].noisy_top_ids is None:
        return None
    spec = task_of(run.task)
    position = max(0, min(int(position), records[0].tokens[0].numel() - 1))
    skip = (PAD_ID,) if spec.sequence else ()
    return noisy_state_figure(records, position, lambda i: spec.label_of(loaded, i), skip=skip)


MAX_BARS = 20  # a bar chart of more classes shows the most likely ones


def bars_figure(run: Run, loaded: Loaded, step: int | None = None):
    """Classification: p(class) at one step as bars (the distribution sharpening into a one-hot, Fig. 6)."""
    import plotly.graph_objects as go  # heavy: loaded when a figure is drawn, not at import

    if task_of(run.task).model_task != "classify":
        return None
    names = class_names(loaded)
    if run.records:
        k = len(run.records) - 1 if step is None else max(0, min(step, len(run.records) - 1))
        r, title = run.records[k], f"p(class) at step {k + 1}"
        if r.probs is not None:
            probs = r.probs[0].tolist()
        else:  # K > 128 and not the last step: the record kept its top candidates only
            names = [names[int(i)] for i in r.top_ids[0]]
            probs, title = r.top_probs[0].tolist(), title + f" (top {len(names)} of {loaded.model.num_outputs})"
    else:  # the linear baseline: one softmax
        probs, title = run.final_probs, "p(class), linear head"
    if len(probs) > MAX_BARS:  # many classes: the most likely ones
        top = sorted(range(len(probs)), key=lambda i: -probs[i])[:MAX_BARS]
        names, probs, title = [names[i] for i in top], [probs[i] for i in top], title + f" (top {MAX_BARS})"
    fig = go.Figure(go.Bar(x=names, y=probs, marker_color="#1f77b4", name="p(class), the answer"))
    fig.update_layout(title=title, yaxis=dict(range=[0, 1], title="probability"), xaxis_title="class", height=300)
    if run.records and r.noisy is not None and len(probs) == r.noisy.shape[-1]:  # TDD: the noisy input beside it
        fig.add_trace(go.Bar(x=names, y=r.noisy[0].tolist(), marker_color="#0ca678", name="y_t, the noisy input",
                             yaxis="y2", opacity=0.6))  # fmt: skip
        fig.update_layout(
            title=title + " and the noisy one-hot y_t the network saw",
            yaxis2=dict(title="y_t", overlaying="y", side="right", zeroline=True),
            barmode="group", legend=dict(orientation="h", y=-0.25), height=340,
        )  # fmt: skip
    return fig


def entropy_figure(run: Run, upto: int | None = None):
    records = run.records if upto is None else run.records[: upto + 1]
    if not records:
        return None
    fig = entropy_per_step(records, index=0)
    fig.update_layout(height=260, margin=dict(t=40, b=40))
    return fig
