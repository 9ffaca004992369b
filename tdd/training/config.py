"""How to optimise (:class:`EngineConfig`) and the schedule arithmetic of the loop: accumulation,
mixed precision, warmup + cosine."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

AMP_MODES = ("auto", "bf16", "fp16", "none")
BUDGET_CLOCKS = ("wall", "cpu")


@dataclass
class EngineConfig:
    """How to optimise; the scripts fill it from their arguments.

    Args:
        batch_size: the global (effective) batch per optimizer step.
        micro_batch_size: items per process per forward; ``0`` = ``batch_size / world_size``
            (no accumulation). Accumulation steps = batch / (micro · world), which must divide.
        steps, warmup_steps, lr: linear warmup to ``lr`` then cosine decay to 0 over ``steps``.
        save_every: optimizer steps between checkpoints (``0``: only at the end).
        eval_every, log_every: optimizer steps between evaluations / metric rows (``0``: at the end).
        resume: continue from the newest loadable checkpoint in ``output/checkpoints`` when there is one.
        time_budget: seconds of training (evaluation included) after which the run stops, ``0`` for none.
            With a budget the learning-rate schedule follows the elapsed share of it (warmup by steps,
            then cosine to 0 at the budget), so that runs of equal budget are compared fairly; ``steps``
            stays an upper bound. All processes stop at the same step (the mean elapsed time decides).
        budget_clock: what the budget counts: ``"wall"`` seconds, or ``"cpu"`` seconds of this process
            (``time.process_time``), which other work on a shared machine does not eat into: with one
            thread per run, rows of an ablation then get the same compute even when the machine is busy.
        lr_scales: parameter-name prefix → multiplier of ``lr`` for the parameters under it (an AdamW
            param group each; the schedule scales every group alike), e.g. ``{"conditioner.encoder.": 2.0}``.
    """

    output: str
    batch_size: int
    steps: int
    lr: float
    micro_batch_size: int = 0
    warmup_steps: int = 0
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 3.0
    ema_decay: float = 0.9999
    amp: str = "auto"
    seed: int = 0
    num_workers: int = 0
    save_every: int = 1000
    keep_checkpoints: int = 2
    eval_every: int = 0
    log_every: int = 10
    resume: bool = False
    time_budget: float = 0.0
    budget_clock: str = "wall"
    lr_scales: dict[str, float] | None = None
    run_args: dict | None = None  # the script's arguments, kept in every checkpoint


def accumulation_steps(batch_size: int, micro_batch_size: int, world_size: int) -> tuple[int, int]:
    """(micro batch, accumulation steps) that make up ``batch_size`` on ``world_size`` processes."""
    micro = micro_batch_size or batch_size // world_size
    if micro < 1 or batch_size % (micro * world_size):
        raise ValueError(
            f"the global batch {batch_size} is not a multiple of {world_size} processes × micro batch {micro}; "
            "change --batch-size or --micro-batch-size"
        )
    return micro, batch_size // (micro * world_size)


def param_groups(model: torch.nn.Module, lr: float, lr_scales: dict[str, float] | None) -> list[dict]:
    """``model``'s trainable parameters as AdamW param groups: one at ``lr``, and one per prefix of
    ``lr_scales`` at ``lr`` × its scale (the longest matching prefix wins; unused prefixes are an error)."""
    scales = dict(lr_scales or {})
    for prefix, scale in scales.items():
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"lr scale for {prefix!r} must be a positive number, got {scale}")
    groups: dict[str, list[torch.nn.Parameter]] = {"": [], **{prefix: [] for prefix in scales}}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups[max((q for q in scales if name.startswith(q)), key=len, default="")].append(param)
    unused = sorted(q for q in scales if not groups[q])
    if unused:
        raise ValueError(f"lr_scales: no trainable parameter is named after {unused}")
    return [{"params": ps, "lr": lr * scales.get(q, 1.0), "name": q or "default"} for q, ps in groups.items() if ps]


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``mode`` on ``device`` (``None``: full precision)."""
    if mode not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {mode!r}")
    if mode == "none" or (mode == "auto" and device.type != "cuda"):
        return None
    if mode == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if mode == "bf16" else torch.float16


def lr_factor(step: int, total: int, warmup: int, progress: float | None = None) -> float:
    """Linear warmup then cosine decay to 0 (Goyal et al.; paper §4.1), as a factor of the peak lr.
    ``progress`` in [0, 1] replaces the share of steps done (a time budget's elapsed share)."""
    if step < warmup:
        return (step + 1) / warmup
    if progress is None:
        progress = (step - warmup) / max(1, total - warmup)
    progress = min(1.0, progress)
    return 0.5 * (1 + math.cos(math.pi * progress))
