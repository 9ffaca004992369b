"""Benchmarks of any models, measured side by side in one run: sampling latency, where the time of a
step goes, condition caching, quality vs time and the training loop's throughput. ``tdd bench``
(:mod:`tdd.cli`) picks the models (the bundled ones by default) and where the report goes;
:mod:`tdd.bench_report` renders it as markdown.

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
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from tdd import rng
from tdd.caption import caption, captioner_sampler
from tdd.classify import accuracy, classify
from tdd.data.digits import load_digits_split, to_model_input
from tdd.data.images import rgb_to_tensor
from tdd.data.scenes import caption_metrics, make_scene
from tdd.distributed import DistEnv
from tdd.models.classifier import ClassifierConfig, TDDClassifier
from tdd.samplers.common import DEFAULT_STEPS
from tdd.sampling import diffusion_for
from tdd.tensors import map_tensors
from tdd.training import tdd_loss
from tdd.training.config import EngineConfig
from tdd.training.loop import train

Models = dict  # display name → (model, tokenizer or None)


def is_classifier(model) -> bool:
    return model.task == "classify"


def is_autoregressive(model) -> bool:
    return model.method == "ar"


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


def _images(model, batch: int, device: str, seed: int) -> torch.Tensor:
    g = rng.generator(seed)
    return model.example_images(batch, g).to(device)


def _sampling_case(model, tok, x: torch.Tensor, steps: int, scale: float, device: str):
    """One timed configuration: classify or caption ``x`` with ``steps`` and CFG ``scale``, seeded."""

    def run():
        if is_classifier(model):
            return classify(model, x, steps=steps, cfg=scale, generator=rng.generator(0, device))
        return caption(model, tok, x, steps=steps, cfg=scale, generator=rng.generator(0, device))

    return run


def latency(cfg: BenchConfig, models: Models) -> dict[str, dict]:
    """Sampling latency per configuration: model × batch × steps × CFG (AR: one point per batch)."""

    cases: dict[str, Callable[[], object]] = {}
    for name, (model, tok) in models.items():
        for b in cfg.batches:
            x = _images(model, b, cfg.device, cfg.seed)
            if is_autoregressive(model):
                cases[f"{name}|b{b}|greedy|-"] = functools.partial(caption, model, tok, x)
                continue
            for s in cfg.steps:
                for scale in (1.0, 2.0):
                    fn = _sampling_case(model, tok, x, s, scale, cfg.device)
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

    def __call__(self, x, t, cond, drop_cond=None, **inputs):
        """``inputs``: the model's extra inputs, e.g. ``self_cond`` (a self-conditioned TDD captioner)."""
        _sync(self.device)
        start = time.perf_counter()
        out = self._forward(x, t, cond, drop_cond, **inputs)
        _sync(self.device)
        self.seconds += time.perf_counter() - start
        return out

    def _forward(self, x, t, cond, drop_cond, **inputs):
        if self.images is not None:  # the uncached variant: the image path runs again every step
            cond = self.model.encode(self.images)
            if drop_cond is not None and len(drop_cond) != len(self.images):  # CFG doubles the batch
                cond = map_tensors(lambda v: torch.cat([v, v]), cond)
        return self.model(x, t, cond, drop_cond, **inputs)


def step_breakdown(cfg: BenchConfig, model, steps: int = DEFAULT_STEPS, scale: float = 2.0) -> dict[str, float]:
    """TDD captioner, batch 1, CFG: the network's share of a sampling step vs everything else."""

    x = _images(model, 1, cfg.device, cfg.seed)
    sampler = captioner_sampler(model, steps=steps, cfg=scale)
    totals, forwards = [], []
    with torch.inference_mode():
        cond = model.encode(x)
        for r in range(cfg.repeats + 1):
            timed = _TimedModel(model, cfg.device)
            g = rng.generator(r, cfg.device)
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


def condition_caching(cfg: BenchConfig, model, steps: int = DEFAULT_STEPS) -> dict[str, float]:
    """Per-step cost with the image path cached (the architecture) vs recomputed every step."""

    x = _images(model, 1, cfg.device, cfg.seed)
    sampler = captioner_sampler(model, steps=steps, cfg=1.0)
    measured = {}
    with torch.inference_mode():
        for variant in ("cached", "recomputed"):
            per_run = []
            for r in range(cfg.repeats + 1):
                timed = _TimedModel(model, cfg.device, recompute_condition=x if variant == "recomputed" else None)
                cond = model.encode(x)
                g = rng.generator(r, cfg.device)
                for _ in sampler.iterate(
                    timed, cond, batch_size=1, seq_len=model.config.max_len, generator=g, device=cfg.device
                ):
                    pass
                if r:
                    per_run.append(timed.seconds / steps)
            measured[f"{variant}_ms_per_step"] = 1000 * statistics.median(per_run)
    measured["ratio_recomputed_over_cached"] = measured["recomputed_ms_per_step"] / measured["cached_ms_per_step"]
    return measured


def quality_vs_time(cfg: BenchConfig, models: Models, latencies: dict[str, dict]) -> list[dict]:
    """Exact match (captioners) / top-1 (classifier) per method and step count, with batch-1 latency."""

    n = cfg.quality_images
    scenes = [make_scene(i, 0, "test") for i in range(n)]
    images = torch.stack([rgb_to_tensor(s.image) for s in scenes]).to(cfg.device)
    refs = [s.description for s in scenes]
    rows = []
    for name, (model, tok) in models.items():
        for s in cfg.steps if not is_autoregressive(model) else (None,):
            key = f"{name}|b1|{s}|no-cfg" if s else f"{name}|b1|greedy|-"
            g = rng.generator(cfg.seed, cfg.device)
            with torch.inference_mode():
                if is_classifier(model):
                    split = load_digits_split()
                    x = to_model_input(split.test_images[:n], model.config.image_size).to(cfg.device)
                    quality = accuracy(model, x, split.test_labels[:n], steps=s)
                else:
                    kw = {"steps": s} if s else {}
                    quality = caption_metrics(caption(model, tok, images, generator=g, **kw).captions, refs)[
                        "exact_match"
                    ]
            rows.append({"model": name, "steps": s, "quality": quality, "ms_batch1": latencies[key]["median_ms"]})
    for name, (model, _) in models.items():  # Pareto: no other point of the same task is faster and as good
        task = [r for r in rows if is_classifier(models[r["model"]][0]) == is_classifier(model)]
        for r in (r for r in rows if r["model"] == name):
            r["pareto"] = not any(
                o is not r and o["ms_batch1"] < r["ms_batch1"] and o["quality"] >= r["quality"] for o in task
            )
    return rows


def training_throughput(cfg: BenchConfig, models: Models) -> dict[str, dict]:
    """Images/s of the real training loop (:func:`tdd.training.loop.train`: forward, backward, AdamW,
    EMA) for each TDD model's configuration, freshly initialised, on synthetic data; with
    ``vit_b_iters`` also the paper's ViT-B/16 classifier at 224²."""

    setups = [(f"{name} config", type(m)(m.config), 64 if is_classifier(m) else 32, cfg.train_iters)
              for name, (m, _) in models.items() if m.method == "tdd"]  # fmt: skip
    if cfg.vit_b_iters:
        vit_b = ClassifierConfig(
            num_classes=1000, encoder="vit_base_patch16_224", encoder_kwargs={}, image_size=224, in_chans=3
        )
        setups.append(("ViT-B/16 classifier (paper recipe), 224²", TDDClassifier(vit_b), 8, cfg.vit_b_iters))
    return {label: _loop_throughput(cfg, model, batch, iters) for label, model, batch, iters in setups}


def _loop_throughput(cfg: BenchConfig, model, batch: int, iters: int) -> dict[str, float]:
    g = rng.generator(cfg.seed)
    n = batch * (iters + 1)
    images = model.example_images(n, g)
    shape = (n, model.config.max_len) if not is_classifier(model) else (n,)
    labels = torch.randint(model.num_outputs, shape, generator=g)
    data = list(zip(images, labels))
    process = diffusion_for(model)

    def loss_fn(m, batch_items, generator):
        x, y = batch_items
        return tdd_loss(m, process, m.encode(x), y, kfold=4, cond_drop=0.1, generator=generator)

    with tempfile.TemporaryDirectory() as out:
        config = EngineConfig(output=out, batch_size=batch, steps=iters + 1, lr=1e-4, save_every=0, log_every=1,
                              seed=cfg.seed, amp="auto")  # fmt: skip
        train(model, data, loss_fn, config, DistEnv(device=torch.device(cfg.device)))
        rows = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    rate = statistics.median(r["images_per_s"] for r in rows[1:]) if len(rows) > 1 else rows[0]["images_per_s"]
    return {"batch": batch, "iters": iters, "s_per_iter": batch / rate, "images_per_s": rate}


def run(cfg: BenchConfig, models: Models) -> dict:
    """Every section for ``models``; steps 2–3 measure the first TDD captioner among them."""
    rng.seed_global(cfg.seed)
    if cfg.compile:
        for model, _ in models.values():
            model.forward = torch.compile(model.forward)
    lat = latency(cfg, models)
    tdd_name = next((n for n, (m, _) in models.items() if m.method == "tdd" and not is_classifier(m)), None)
    report = {
        "machine": {
            "device": cfg.device,
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name() if cfg.device.startswith("cuda") else None,
        },
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "models": {name: model.model_type for name, (model, _) in models.items()},
        "latency": lat,
        "tdd_captioner": tdd_name,
        "step_breakdown": step_breakdown(cfg, models[tdd_name][0]) if tdd_name else None,
        "condition_caching": condition_caching(cfg, models[tdd_name][0]) if tdd_name else None,
        "quality_vs_time": quality_vs_time(cfg, models, lat),
        "training_throughput": training_throughput(cfg, models),
    }
    return report
