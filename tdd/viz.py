"""Plotly figures built from the samplers' :class:`~tdd.samplers.StepRecord` lists, shared by the
app, the notebooks and the experiment scripts.

- :func:`class_probability_bars` — the predicted class distribution per step, with a step slider (Fig. 6)
- :func:`class_heatmap` — classes × steps (Fig. 6 as one picture)
- :func:`sentence_trajectory` — the decoded sentence at every step, coloured by confidence, changes marked (Fig. 9)
- :func:`token_heatmap` — top candidates × steps for one token position (Fig. 10)
- :func:`settle_steps` — the step at which each word of the final sentence stopped changing
- :func:`entropy_per_step` — mean entropy of the prediction at each step
- :func:`quality_vs_steps` — quality against sampling steps or wall time (Fig. 5)
- :func:`noisy_state_figure` — what the network saw: y_t's coordinates for one position's candidates over the
  steps, above √ᾱ_t and the share of positions whose noisy argmax is already the final word (TDD only)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tdd.noise_reads import noisy_candidates, settled_share

CONFIDENCE_SCALE = "Blues"
CHANGED_MARK = "•"  # prefixes a token that differs from the previous step
MAX_HEATMAP_CLASSES = 128  # a classes × steps heatmap with more rows shows the top candidates' classes only


def _go():
    import plotly.graph_objects as go  # heavy: loaded when a figure is drawn, not at import

    return go


def _probs_matrix(records: Sequence, index: int, position: int | None = None) -> np.ndarray:
    """``(S, K)`` probabilities of sample ``index`` (and token ``position``) at each step. A step that
    kept only its top-k candidates (K > 128) has them filled in and 0 elsewhere."""
    rows = []
    for r in records:
        if r.probs is not None:
            p = r.probs[index] if position is None else r.probs[index, position]
            rows.append(p.detach().float().cpu().numpy())
            continue
        ids = r.top_ids[index] if position is None else r.top_ids[index, position]
        top = r.top_probs[index] if position is None else r.top_probs[index, position]
        row: Any = np.zeros(_num_classes(records), np.float32)
        row[ids.cpu().numpy()] = top.detach().float().cpu().numpy()
        rows.append(row)
    return np.stack(rows)


def _num_classes(records: Sequence) -> int:
    """K, from any record that kept the whole distribution (a classifier's last step always does)."""
    for r in reversed(records):
        if r.probs is not None:
            return r.probs.shape[-1]
    return int(max(int(r.top_ids.max()) for r in records)) + 1


def _step_labels(records: Sequence) -> list[str]:
    return [f"{r.step + 1} (t={r.t:g})" for r in records]


def class_probability_bars(records: Sequence, index: int = 0, class_names: Sequence[str] | None = None):
    """Bars of p(class) with a slider over steps: the distribution sharpening into a one-hot (Fig. 6)."""
    go = _go()
    probs = _probs_matrix(records, index)
    names = list(class_names) if class_names is not None else [str(k) for k in range(probs.shape[1])]
    labels = _step_labels(records)
    frames = [go.Frame(data=[go.Bar(x=names, y=p, marker_color="#1f77b4")], name=s) for p, s in zip(probs, labels)]
    fig = go.Figure(data=frames[-1].data, frames=frames)
    steps = [
        {
            "label": s,
            "method": "animate",
            "args": [[s], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}],
        }
        for s in labels
    ]
    fig.update_layout(
        title="Predicted class distribution per denoising step",
        xaxis_title="class",
        yaxis=dict(title="probability", range=[0, 1]),
        sliders=[{"active": len(labels) - 1, "steps": steps, "currentvalue": {"prefix": "step "}}],
        updatemenus=[
            {
                "type": "buttons",
                "showactive": False,
                "buttons": [
                    {
                        "label": "▶ play",
                        "method": "animate",
                        "args": [None, {"frame": {"duration": 250}, "fromcurrent": False}],
                    }
                ],
            }
        ],
    )
    return fig


def class_heatmap(records: Sequence, index: int = 0, class_names: Sequence[str] | None = None):
    """Classes × steps heatmap of p(class); with more than ``MAX_HEATMAP_CLASSES`` classes, only the
    classes that were among some step's top candidates."""
    go = _go()
    probs = _probs_matrix(records, index)
    names = list(class_names) if class_names is not None else [str(k) for k in range(probs.shape[1])]
    if probs.shape[1] > MAX_HEATMAP_CLASSES:
        shown = sorted({int(k) for r in records for k in r.top_ids[index].tolist()})
        probs, names = probs[:, shown], [names[k] for k in shown]
    fig = go.Figure(
        go.Heatmap(z=probs.T, x=_step_labels(records), y=names, colorscale=CONFIDENCE_SCALE, zmin=0, zmax=1)
    )
    fig.update_layout(title="p(class) across denoising steps", xaxis_title="step", yaxis_title="class")
    return fig


def sentence_trajectory(records: Sequence, id_to_token: Callable[[int], str], index: int = 0, hide: Sequence[int] = ()):
    """The sentence at every step (rows) × token positions (columns), cells coloured by the
    probability of the shown token; a token that changed since the previous step is marked •.
    ``hide`` lists ids drawn as blanks (e.g. padding)."""
    go = _go()
    text, conf = [], []
    for r in records:
        ids = r.tokens[index].tolist()
        changed = r.changed[index].tolist()
        p = r.top_probs[index, ..., 0].detach().float().cpu().numpy()
        if r.is_masked is not None:  # MDD: the shown token is the committed one; masked cells have no confidence
            p = np.where(r.is_masked[index].cpu().numpy(), 0.0, p)
        row = []
        for tok, ch in zip(ids, changed):
            word = "" if tok in hide else id_to_token(tok)
            row.append(f"{CHANGED_MARK}{word}" if ch and word and r.step > 0 else word)
        text.append(row)
        conf.append(p)
    z = np.stack(conf)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            x=[f"{i}" for i in range(z.shape[1])],
            y=_step_labels(records),
            colorscale=CONFIDENCE_SCALE,
            zmin=0,
            zmax=1,
            colorbar=dict(title="confidence"),
        )
    )
    fig.update_layout(
        title=f"Sentence at each step (colour: confidence; {CHANGED_MARK} = changed since the last step)",
        xaxis_title="token position",
        yaxis=dict(title="step", autorange="reversed"),
    )
    return fig


def token_candidates(records: Sequence, position: int, index: int = 0, top: int = 8) -> tuple[list[int], np.ndarray]:
    """The ``top`` candidate ids for one position (by their highest probability over the steps) and
    their probabilities ``(top, S)``; works from the records' top-k lists, so any vocabulary size."""
    best: dict[int, float] = {}
    per_step = []
    for r in records:
        ids = r.top_ids[index, position].tolist()
        ps = r.top_probs[index, position].tolist()
        per_step.append(dict(zip(ids, ps)))
        for i, p in zip(ids, ps):
            best[i] = max(best.get(i, 0.0), p)
    chosen = sorted(best, key=lambda i: best[i], reverse=True)[:top]
    z = np.array([[step.get(c, 0.0) for step in per_step] for c in chosen])
    return chosen, z


def settle_steps(records: Sequence, index: int = 0, skip: Sequence[int] = (0,)) -> list[tuple[int, int]]:
    """(position, 1-based step from which the argmax equals the final token) for each final token
    not in ``skip`` (padding by default): when each word of a caption settled (Fig. 10)."""
    final = records[-1].tokens[index]
    out = []
    for pos, tok in enumerate(final.tolist()):
        if tok in skip:
            continue
        step = len(records)
        while step > 1 and int(records[step - 2].tokens[index, pos]) == tok:
            step -= 1
        out.append((pos, step))
    return out


def token_heatmap(records: Sequence, position: int, id_to_token: Callable[[int], str], index: int = 0, top: int = 8):
    """Top candidates × steps for one token position (Fig. 10); candidates outside a step's top-k show as 0."""
    go = _go()
    chosen, z = token_candidates(records, position, index, top)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=_step_labels(records),
            y=[id_to_token(c) for c in chosen],
            colorscale=CONFIDENCE_SCALE,
            zmin=0,
            zmax=1,
            colorbar=dict(title="p"),
        )
    )
    fig.update_layout(title=f"Candidates for token {position} across steps", xaxis_title="step", yaxis_title="token")
    return fig


def entropy_per_step(records: Sequence, index: int | None = None):
    """Mean entropy (nats) of the prediction at each step, for one sample or the batch mean."""
    go = _go()
    values = [float((r.entropy if index is None else r.entropy[index]).float().mean()) for r in records]
    fig = go.Figure(go.Scatter(x=[r.step + 1 for r in records], y=values, mode="lines+markers"))
    fig.update_layout(title="Entropy of the prediction per step", xaxis_title="step", yaxis_title="entropy (nats)")
    return fig


def quality_vs_steps(
    curves: dict[str, Sequence[tuple[float, float]]], x_title: str = "sampling steps", y_title: str = "quality"
):
    """Lines of (x, quality) points per method, e.g. top-1 vs steps (Fig. 5) or exact match vs seconds."""
    go = _go()
    fig = go.Figure()
    for name, points in curves.items():
        xs, ys = zip(*points) if points else ((), ())
        fig.add_trace(go.Scatter(x=list(xs), y=list(ys), mode="lines+markers", name=name))
    fig.update_layout(xaxis=dict(title=x_title, type="log"), yaxis_title=y_title)
    return fig


def noisy_state_figure(
    records: Sequence,
    position: int,
    id_to_token: Callable[[int], str],
    index: int = 0,
    top: int = 8,
    skip: Sequence[int] = (),
):
    """TDD's noisy one-hot state y_t, the network's input, over the steps (:mod:`tdd.noise_reads`).

    Top: the y_t coordinates of ``position``'s candidate words (its final word first, then the words the
    noise read most) at every step, on a scale centred at 0: the draft's word rises out of the noise as
    t falls. Bottom: the signal λ√ᾱ_t and the share of positions (``skip``: final words left out, e.g.
    padding) whose noisy argmax is already the final word.
    """
    from plotly.subplots import make_subplots  # heavy: loaded when a figure is drawn, not at import

    go = _go()
    words, grid = noisy_candidates(records, position, index, top)
    steps = [r.step + 1 for r in records]
    fig = make_subplots(rows=2, cols=1, row_heights=[0.68, 0.32], vertical_spacing=0.12, shared_xaxes=True)
    limit = float(np.nanmax(np.abs(grid.numpy()))) if np.isfinite(grid.numpy()).any() else 1.0
    fig.add_trace(
        go.Heatmap(
            z=grid.numpy(), x=steps, y=[id_to_token(w) for w in words], colorscale="RdBu", reversescale=True,
            zmid=0, zmin=-limit, zmax=limit, colorbar=dict(title="y_t", len=0.6, y=0.7),
        ),
        row=1, col=1,
    )  # fmt: skip
    signal = [float(r.signal_scale) for r in records]
    fig.add_trace(go.Scatter(x=steps, y=signal, mode="lines", name="signal λ√ᾱ_t"), row=2, col=1)
    share = settled_share(records, index, skip)
    fig.add_trace(go.Scatter(x=steps, y=share, mode="lines+markers", name="noise reads the final word"), row=2, col=1)
    fig.update_layout(
        title=f"What the network saw: the noisy one-hot y_t at position {position}",
        legend=dict(orientation="h", y=-0.18),
        margin=dict(t=50),
    )
    fig.update_yaxes(title_text="word", row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    return fig
