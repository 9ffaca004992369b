"""``tdd bench``: latency, where the time goes, condition caching, quality vs time and training
throughput of the shipped models, measured side by side in one run.

    tdd bench                      # the full run on this machine → results/bench.md and results/bench.json
    tdd bench --quick              # tiny repeat counts (the test suite's smoke run)
    tdd bench --device cuda --compile

These machines are noisy, so every comparison is interleaved: each repeat runs every configuration
once, in a shuffled (seeded) order, and the report gives medians with the 10–90 % spread, and ratios
measured within the same run.
"""

from __future__ import annotations

import functools
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

CAPTIONERS = ("scenes-tdd", "scenes-mdd", "scenes-ar")
CLASSIFIER = "digits-tdd"


@dataclass
class BenchConfig:
    device: str = "cpu"
    repeats: int = 7
    steps: tuple[int, ...] = (1, 5, 10, 20, 50)
    batches: tuple[int, ...] = (1, 64)
    quality_images: int = 200
    train_iters: int = 5
    vit_b_iters: int = 2
    compile: bool = False
    seed: int = 0

    @classmethod
    def quick(cls, device: str = "cpu") -> BenchConfig:
        return cls(device, repeats=1, steps=(1, 2), batches=(1, 2), quality_images=4, train_iters=1, vit_b_iters=0)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _summary(times: list[float]) -> dict[str, float]:
    ms = sorted(1000 * t for t in times)
    q = lambda p: ms[min(len(ms) - 1, int(p * (len(ms) - 1) + 0.5))]  # noqa: E731
    return {"median_ms": statistics.median(ms), "p10_ms": q(0.1), "p90_ms": q(0.9), "n": len(ms)}


def interleaved(cases: dict[str, Callable[[], object]], repeats: int, device: str, seed: int) -> dict[str, dict]:
    """Time every case once per repeat, in a fresh shuffled order each time (one warm-up round first)."""
    for fn in cases.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in cases}
    rng = random.Random(seed)
    for _ in range(repeats):
        order = list(cases)
        rng.shuffle(order)
        for k in order:
            _sync(device)
            start = time.perf_counter()
            cases[k]()
            _sync(device)
            times[k].append(time.perf_counter() - start)
    return {k: _summary(v) for k, v in times.items()}


def _load(name: str, device: str):
    from tdd.data.tokenizer import load_tokenizer
    from tdd.models.registry import PretrainedModel, resolve_checkpoint

    model = PretrainedModel.from_pretrained(name, device=device)
    tok = load_tokenizer(resolve_checkpoint(name)) if name.startswith("scenes") else None
    return model, tok


def _images(model, batch: int, device: str, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return model.example_images(batch, g).to(device)


def _sampling_case(name: str, model, tok, x: torch.Tensor, steps: int, scale: float, device: str):
    """One timed configuration: classify or caption ``x`` with ``steps`` and CFG ``scale``, seeded."""
    from tdd.caption import caption
    from tdd.classify import classify

    g = torch.Generator(device=device)

    def run():
        if name == CLASSIFIER:
            return classify(model, x, steps=steps, cfg=scale, generator=g.manual_seed(0))
        return caption(model, tok, x, steps=steps, cfg=scale, generator=g.manual_seed(0))

    return run


def latency(cfg: BenchConfig, models: dict) -> dict[str, dict]:
    """Sampling latency per configuration: model × batch × steps × CFG (AR: one point per batch)."""
    from tdd.caption import caption

    cases: dict[str, Callable[[], object]] = {}
    for name, (model, tok) in models.items():
        for b in cfg.batches:
            x = _images(model, b, cfg.device, cfg.seed)
            if name == "scenes-ar":
                cases[f"{name}|b{b}|greedy|-"] = functools.partial(caption, model, tok, x)
                continue
            for s in cfg.steps:
                for scale in (1.0, 2.0):
                    fn = _sampling_case(name, model, tok, x, s, scale, cfg.device)
                    cases[f"{name}|b{b}|{s}|{'cfg' if scale != 1 else 'no-cfg'}"] = fn
    with torch.inference_mode():
        return interleaved(cases, cfg.repeats, cfg.device, cfg.seed)


class _TimedModel:
    """Wraps a denoiser and adds up the wall time of its forward calls."""

    def __init__(self, model, device: str, recompute_condition: torch.Tensor | None = None):
        self.model, self.device, self.seconds, self.images = model, device, 0.0, recompute_condition
        if recompute_condition is None and hasattr(model, "prepare_condition"):
            self.prepare_condition = self._timed(model.prepare_condition)  # once per run: network work

    def _timed(self, fn: Callable) -> Callable:
        def call(*args):
            _sync(self.device)
            start = time.perf_counter()
            out = fn(*args)
            _sync(self.device)
            self.seconds += time.perf_counter() - start
            return out

        return call

    def __call__(self, x, t, cond, drop_cond=None):
        _sync(self.device)
        start = time.perf_counter()
        out = self._forward(x, t, cond, drop_cond)
        _sync(self.device)
        self.seconds += time.perf_counter() - start
        return out

    def _forward(self, x, t, cond, drop_cond):
        if self.images is not None:  # the uncached variant: the image path runs again every step
            cond = self.model.encode(self.images)
            if drop_cond is not None and len(drop_cond) != len(self.images):  # CFG doubles the batch
                from tdd.tensors import map_tensors

                cond = map_tensors(lambda v: torch.cat([v, v]), cond)
        return self.model(x, t, cond, drop_cond)


def step_breakdown(cfg: BenchConfig, model, steps: int = 20, scale: float = 2.0) -> dict[str, float]:
    """TDD captioner, batch 1, CFG: the network's share of a sampling step vs everything else."""
    from tdd.caption import captioner_sampler

    x = _images(model, 1, cfg.device, cfg.seed)
    sampler = captioner_sampler(model, steps=steps, cfg=scale)
    totals, forwards = [], []
    with torch.inference_mode():
        cond = model.encode(x)
        for r in range(cfg.repeats + 1):
            timed = _TimedModel(model, cfg.device)
            g = torch.Generator(device=cfg.device).manual_seed(r)
            _sync(cfg.device)
            start = time.perf_counter()
            for _ in sampler.iterate(
                timed, cond, batch_size=1, seq_len=model.config.max_len, generator=g, device=cfg.device
            ):
                pass
            _sync(cfg.device)
            if r:  # the first round warms up
                totals.append(time.perf_counter() - start)
                forwards.append(timed.seconds)
    total, forward = statistics.median(totals), statistics.median(forwards)
    return {
        "steps": steps,
        "cfg": scale,
        "ms_per_caption": 1000 * total,
        "ms_per_step": 1000 * total / steps,
        "forward_ms_per_step": 1000 * forward / steps,
        "other_fraction": (total - forward) / total,
    }


def condition_caching(cfg: BenchConfig, model, steps: int = 20) -> dict[str, float]:
    """Per-step cost with the image path cached (the architecture) vs recomputed every step."""
    from tdd.caption import captioner_sampler

    x = _images(model, 1, cfg.device, cfg.seed)
    sampler = captioner_sampler(model, steps=steps, cfg=1.0)
    results = {}
    with torch.inference_mode():
        for variant in ("cached", "recomputed"):
            per_run = []
            for r in range(cfg.repeats + 1):
                timed = _TimedModel(model, cfg.device, recompute_condition=x if variant == "recomputed" else None)
                cond = model.encode(x)
                g = torch.Generator(device=cfg.device).manual_seed(r)
                for _ in sampler.iterate(
                    timed, cond, batch_size=1, seq_len=model.config.max_len, generator=g, device=cfg.device
                ):
                    pass
                if r:
                    per_run.append(timed.seconds / steps)
            results[f"{variant}_ms_per_step"] = 1000 * statistics.median(per_run)
    results["ratio_recomputed_over_cached"] = results["recomputed_ms_per_step"] / results["cached_ms_per_step"]
    return results


def quality_vs_time(cfg: BenchConfig, models: dict, latencies: dict[str, dict]) -> list[dict]:
    """Exact match (captioners) / top-1 (classifier) per method and step count, with batch-1 latency."""
    from tdd.caption import caption
    from tdd.classify import accuracy
    from tdd.data.digits import load_digits_split, to_model_input
    from tdd.data.images import rgb_to_tensor
    from tdd.data.scenes import caption_metrics, make_scene

    n = cfg.quality_images
    scenes = [make_scene(i, 0, "test") for i in range(n)]
    images = torch.stack([rgb_to_tensor(s.image) for s in scenes]).to(cfg.device)
    refs = [s.description for s in scenes]
    rows = []
    for name, (model, tok) in models.items():
        for s in cfg.steps if name != "scenes-ar" else (None,):
            key = f"{name}|b1|{s}|no-cfg" if s else f"{name}|b1|greedy|-"
            g = torch.Generator(device=cfg.device).manual_seed(cfg.seed)
            with torch.inference_mode():
                if name == CLASSIFIER:
                    split = load_digits_split()
                    x = to_model_input(split.test_images[:n], model.config.image_size).to(cfg.device)
                    quality = accuracy(model, x, split.test_labels[:n], steps=s)
                else:
                    kw = {"steps": s} if s else {}
                    quality = caption_metrics(caption(model, tok, images, generator=g, **kw).captions, refs)[
                        "exact_match"
                    ]
            rows.append({"model": name, "steps": s, "quality": quality, "ms_batch1": latencies[key]["median_ms"]})
    for name in models:  # Pareto: no other point of the same task is both faster and at least as good
        task = [r for r in rows if (r["model"] == CLASSIFIER) == (name == CLASSIFIER)]
        for r in (r for r in rows if r["model"] == name):
            r["pareto"] = not any(
                o is not r and o["ms_batch1"] < r["ms_batch1"] and o["quality"] >= r["quality"] for o in task
            )
    return rows


def training_throughput(cfg: BenchConfig) -> dict[str, dict]:
    """Images/s of a training step (forward, backward, AdamW) for the bundled configs and ViT-B/16."""
    from tdd.diffusion import TweedieDiffusion
    from tdd.models.captioner import CaptionerConfig, TDDCaptioner
    from tdd.models.classifier import ClassifierConfig, TDDClassifier
    from tdd.training import tdd_loss

    out = {}
    setups = [
        ("digits-tdd config", _load(CLASSIFIER, cfg.device)[0].config, 64, cfg.train_iters),
        ("scenes-tdd config", _load("scenes-tdd", cfg.device)[0].config, 32, cfg.train_iters),
    ]
    if cfg.vit_b_iters:
        vit_b = ClassifierConfig(
            num_classes=1000, encoder="vit_base_patch16_224", encoder_kwargs={}, image_size=224, in_chans=3
        )
        setups.append(("ViT-B/16 classifier (paper recipe), 224²", vit_b, 8, cfg.vit_b_iters))
    for label, config, batch, iters in setups:
        torch.manual_seed(cfg.seed)
        model = (TDDCaptioner if isinstance(config, CaptionerConfig) else TDDClassifier)(config).to(cfg.device).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        n_out = model.num_outputs
        diffusion = TweedieDiffusion(n_out, config.schedule, config.num_timesteps)
        x = model.example_images(batch, torch.Generator().manual_seed(0)).to(cfg.device)
        shape = (batch, config.max_len) if isinstance(config, CaptionerConfig) else (batch,)
        labels = torch.randint(n_out, shape, device=cfg.device)
        autocast = (
            torch.autocast("cuda", torch.bfloat16)
            if cfg.device.startswith("cuda")
            else torch.autocast("cpu", enabled=False)
        )
        times = []
        for i in range(iters + 1):
            _sync(cfg.device)
            start = time.perf_counter()
            with autocast:
                loss = tdd_loss(model, diffusion, model.encode(x), labels, kfold=4, cond_drop=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            _sync(cfg.device)
            if i:
                times.append(time.perf_counter() - start)
        sec = statistics.median(times)
        out[label] = {"batch": batch, "iters": iters, "s_per_iter": sec, "images_per_s": batch / sec}
    return out


def run(cfg: BenchConfig) -> dict:
    torch.manual_seed(cfg.seed)
    models = {name: _load(name, cfg.device) for name in (*CAPTIONERS, CLASSIFIER)}
    if cfg.compile:
        for model, _ in models.values():
            model.forward = torch.compile(model.forward)
    lat = latency(cfg, models)
    tdd_model = models["scenes-tdd"][0]
    report = {
        "machine": {
            "device": cfg.device,
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name() if cfg.device.startswith("cuda") else None,
        },
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "latency": lat,
        "step_breakdown": step_breakdown(cfg, tdd_model),
        "condition_caching": condition_caching(cfg, tdd_model),
        "quality_vs_time": quality_vs_time(cfg, models, lat),
        "training_throughput": training_throughput(cfg),
    }
    return report


def to_markdown(report: dict, command: str) -> str:
    cfg, lat = report["config"], report["latency"]
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
    br = report["step_breakdown"]
    lines += [
        "",
        "## 2. Where the time goes (scenes-tdd, batch 1, CFG 2, 20 steps)",
        "",
        f"{br['ms_per_caption']:.1f} ms per caption = {br['ms_per_step']:.2f} ms per step, of which the network forward "
        f"{br['forward_ms_per_step']:.2f} ms; everything else (noise, to-one, re-noise, records): "
        f"**{100 * br['other_fraction']:.1f} %** of the step (goal ≤ 10 %).",
    ]
    cc = report["condition_caching"]
    lines += [
        "",
        "## 3. Condition caching (scenes-tdd, batch 1, no CFG)",
        "",
        f"Network time per step with the image path cached: {cc['cached_ms_per_step']:.2f} ms; recomputed every step: "
        f"{cc['recomputed_ms_per_step']:.2f} ms (**{cc['ratio_recomputed_over_cached']:.1f}×**).",
        "",
        "## 4. Quality vs time (batch-1 latency, no CFG; ★ = Pareto point of its task)",
        "",
        "| model | steps | quality | ms (batch 1) | Pareto |",
        "|---|---|---|---|---|",
    ]
    for r in report["quality_vs_time"]:
        metric = "top-1" if r["model"] == CLASSIFIER else "exact match"
        lines.append(
            f"| {r['model']} | {r['steps'] or 'greedy'} | {metric} {100 * r['quality']:.1f} % | {r['ms_batch1']:.1f} | {'★' if r['pareto'] else ''} |"
        )
    caps = [r for r in report["quality_vs_time"] if r["model"] != CLASSIFIER]
    ar = next((r for r in caps if r["model"] == "scenes-ar"), None)
    tdd_rows = [r for r in caps if r["model"] == "scenes-tdd"]
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


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="tdd bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (bf16 training throughput, optional --compile)")
    p.add_argument("--quick", action="store_true", help="tiny repeat counts: checks that the benchmark runs")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--compile", action="store_true", help="torch.compile the models' forward")
    p.add_argument("--output", default="results", help="directory for bench.md and bench.json")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("tdd bench: error: --device cuda but no CUDA device is available", file=sys.stderr)
        return 2
    cfg = BenchConfig.quick(args.device) if args.quick else BenchConfig(args.device)
    cfg.compile = args.compile
    if args.repeats:
        cfg.repeats = args.repeats
    report = run(cfg)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    command = "tdd bench " + " ".join(argv if argv is not None else sys.argv[1:])
    (out / "bench.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    text = to_markdown(report, command.strip())
    (out / "bench.md").write_text(text, encoding="utf-8")
    print(text)
    return 0
