"""A benchmark report (:func:`tdd.bench.run`) as markdown."""

from __future__ import annotations

from tdd.models import ModelKind, kind_of


def _kind(model_type: str) -> ModelKind:
    kind = kind_of(model_type)
    if kind is None:
        raise ValueError(f"the report names a model type this version does not know: {model_type!r}")
    return kind


def to_markdown(report: dict, command: str) -> str:
    cfg, lat, tdd = report["config"], report["latency"], report["tdd_captioner"]
    kinds = {name: _kind(model_type) for name, model_type in report["models"].items()}  # the report records types
    lines = [
        "# Benchmarks, measured side by side in one run",
        "",
        f"Command: `{command}`. Machine: {report['machine']}. Repeats: {cfg['repeats']} per configuration, interleaved in a shuffled order; "
        "times are medians with the 10–90 % spread, per batch (encode + all steps).",
        "",
        "## 1. Sampling latency",
        "",
        "| model | batch | steps | CFG | median ms | p10–p90 ms | images/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, s in lat.items():
        name, b, steps, guidance = key.split("|")
        batch = int(b[1:])
        lines.append(
            f"| {name} | {batch} | {steps} | {guidance} | {s['median_ms']:.1f} | {s['p10_ms']:.1f}–{s['p90_ms']:.1f} | {1000 * batch / s['median_ms']:.1f} |"
        )
    b_small, b_big = min(cfg["batches"]), max(cfg["batches"])
    lines += ["", f"Throughput ratio batch {b_big} / batch {b_small} (images/s), same steps and CFG:", ""]
    for key in lat:
        name, b, steps, guidance = key.split("|")
        if b == f"b{b_small}" and (other := f"{name}|b{b_big}|{steps}|{guidance}") in lat:
            ratio = (b_big / lat[other]["median_ms"]) / (b_small / lat[key]["median_ms"])
            lines.append(f"- {name}, {steps} steps, {guidance}: {ratio:.1f}×")
    if report["step_breakdown"] is None or report["condition_caching"] is None:
        lines += ["", "(Sections 2 and 3 need a TDD captioner among the models.)"]
    else:
        lines += _tdd_sections(tdd, report["step_breakdown"], report["condition_caching"])
    lines += [
        "",
        "## 4. Quality vs time (batch-1 latency, no CFG; ★ = Pareto point of its task)",
        "",
        "| model | steps | quality | ms (batch 1) | Pareto |",
        "|---|---|---|---|---|",
    ]
    for r in report["quality_vs_time"]:
        metric = "top-1" if kinds[r["model"]].task == "classify" else "exact match"
        lines.append(
            f"| {r['model']} | {r['steps'] or 'greedy'} | {metric} {100 * r['quality']:.1f} % | {r['ms_batch1']:.1f} | {'★' if r['pareto'] else ''} |"
        )
    rows = report["quality_vs_time"]
    ar = next((r for r in rows if kinds[r["model"]].method == "ar"), None)
    tdd_rows = [r for r in rows if r["model"] == tdd]
    if ar and tdd_rows:
        best = max(tdd_rows, key=lambda r: (r["quality"], -r["ms_batch1"]))
        verdict = "at equal or better quality" if best["quality"] >= ar["quality"] else "but at **lower** quality"
        lines += [
            "",
            f"TDD at its best-quality step count ({best['steps']} steps, {100 * best['quality']:.1f} %) takes "
            f"{best['ms_batch1'] / ar['ms_batch1']:.2f}× the AR captioner's time ({100 * ar['quality']:.1f} %), {verdict}.",
        ]
    lines += [
        "",
        "## 5. Training throughput",
        "",
        "| configuration | batch | s / iteration | images/s |",
        "|---|---|---|---|",
    ]
    for label, t in report["training_throughput"].items():
        lines.append(f"| {label} | {t['batch']} | {t['s_per_iter']:.3f} | {t['images_per_s']:.1f} |")
    return "\n".join(lines) + "\n"


def _tdd_sections(tdd: str, br: dict, cc: dict) -> list[str]:
    """Section 2 (where the time of a step goes) and 3 (condition caching) for the TDD captioner."""
    return [
        "",
        f"## 2. Where the time goes ({tdd}, batch 1, CFG 2, 20 steps)",
        "",
        f"{br['ms_per_caption']:.1f} ms per caption = {br['ms_per_step']:.2f} ms per step, of which the network forward "
        f"{br['forward_ms_per_step']:.2f} ms; everything else (noise, to-one, re-noise, records): "
        f"**{100 * br['other_fraction']:.1f} %** of the step (goal ≤ 10 %).",
        "",
        f"## 3. Condition caching ({tdd}, batch 1, no CFG)",
        "",
        f"Network time per step with the image path cached: {cc['cached_ms_per_step']:.2f} ms; recomputed every step: "
        f"{cc['recomputed_ms_per_step']:.2f} ms (**{cc['ratio_recomputed_over_cached']:.1f}×**).",
    ]
