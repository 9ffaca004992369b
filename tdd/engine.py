"""The training loop both training scripts share, from one CPU process to many GPUs on many nodes.

``train(model, dataset, loss_fn, config, env)`` runs ``config.steps`` optimizer steps:

- data: :class:`~tdd.data.sampler.ResumableDistributedSampler` over :class:`~tdd.data.loading.TrainItems`
  (per-item seeded augmentation, unreadable items skipped and counted);
- DDP (``torch.nn.parallel.DistributedDataParallel``) around a module that computes the loss, so the
  model's own methods (``encode`` then the denoiser) run inside DDP's forward and gradients are
  averaged across processes; gradient accumulation (``no_sync`` on all but the last micro-step) makes
  up the global batch when there are fewer processes;
- AMP (bf16 autocast where the GPU has it, fp16 with a ``GradScaler`` otherwise, none on a CPU),
  gradient clipping, AdamW, warmup + cosine (``LambdaLR``), EMA (timm's ``ModelEmaV3``);
- a non-finite loss stops the run before the update, naming the step;
- rank 0: a tqdm bar, TensorBoard scalars (``tb/``), ``metrics.jsonl``, and resumable checkpoints
  (:mod:`tdd.train_state`) every ``save_every`` steps and at the end.

Randomness in the loss (timesteps, noise, condition dropout) comes from one ``torch.Generator`` per
micro-batch *shard*, seeded by its global shard index, so the same shard draws the same numbers
whether it runs on another rank or as another accumulation step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import DataLoader

from tdd.checkpoint import atomic_write_text
from tdd.data.loading import TrainItems, collate_counting_skips
from tdd.data.sampler import ResumableDistributedSampler
from tdd.distributed import DistEnv, all_gather_objects, all_reduce_sum
from tdd.samplers.common import map_tensors
from tdd.train_state import load_latest, rng_state, save_state, set_rng_state
from tdd.training import make_ema

log = logging.getLogger(__name__)
AMP_MODES = ("auto", "bf16", "fp16", "none")
BUDGET_CLOCKS = ("wall", "cpu")
LossFn = Callable[[nn.Module, Any, torch.Generator], torch.Tensor]


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


def shard_generators(seed: int, env: DistEnv, accum: int) -> list[torch.Generator]:
    """One generator per micro-batch shard this process runs, seeded by the global shard index."""
    first = env.rank * accum
    return [torch.Generator(device=env.device).manual_seed(seed * 100_003 + first + j) for j in range(accum)]


@dataclass
class TrainResult:
    """The EMA model (what the scripts save and evaluate) and the last metric row (rank 0's)."""

    ema_model: nn.Module
    metrics: dict[str, Any]


class LossModule(nn.Module):
    """``forward(batch, generator) = loss_fn(model, batch, generator)``: what DDP wraps."""

    def __init__(self, model: nn.Module, loss_fn: LossFn):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch: Any, generator: torch.Generator) -> torch.Tensor:
        return self.loss_fn(self.model, batch, generator)


class _Metrics:
    """Rank 0's outputs: ``metrics.jsonl`` (kept up to the resumed step), TensorBoard, the terminal."""

    def __init__(self, out: Path, env: DistEnv, step: int):
        self.enabled = env.is_main
        self.path = out / "metrics.jsonl"
        self.writer = None
        if not self.enabled:
            return
        rows = []
        if step and self.path.is_file():  # a resumed run: drop rows of steps that are being redone
            rows = [r for r in self.path.read_text(encoding="utf-8").splitlines() if json.loads(r)["step"] <= step]
        atomic_write_text(self.path, "".join(r + "\n" for r in rows))
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out / "tb"), purge_step=step or None)
        except ImportError:  # tensorboard is an optional extra
            log.info("tensorboard is not installed; scalars go to metrics.jsonl only")

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.writer.add_scalar(k, v, row["step"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _epochs(step: int, steps_per_epoch: int) -> int | float:
    """Epochs completed at ``step`` (an int at epoch boundaries)."""
    done = step / steps_per_epoch
    return int(done) if done.is_integer() else round(done, 3)


def train(
    model: nn.Module,
    dataset: Any,
    loss_fn: LossFn,
    config: EngineConfig,
    env: DistEnv,
    *,
    evaluate: Callable[[nn.Module], dict[str, Any]] | None = None,
    stateful: Any = None,
) -> TrainResult:
    """Train ``model`` on ``dataset`` with ``loss_fn(model, batch, generator) -> loss``.

    ``evaluate(ema_model)`` runs on every process (it may shard its work) every ``eval_every`` steps
    and at the end; rank 0's returned dict is logged. Parameters with ``requires_grad=False`` (a
    frozen encoder) are not optimised. ``stateful`` (anything with ``state_dict``/``load_state_dict``,
    e.g. :class:`tdd.timesteps.AdaptiveTimesteps`) is saved in every checkpoint (rank 0's) and restored
    on resume.
    """
    from tqdm.auto import tqdm

    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / "checkpoints"
    micro, accum = accumulation_steps(config.batch_size, config.micro_batch_size, env.world_size)
    items = TrainItems(dataset, seed=config.seed)
    sampler = ResumableDistributedSampler(
        items, micro, accum, num_replicas=env.world_size, rank=env.rank, shuffle=True, seed=config.seed
    )
    steps_per_epoch = sampler.steps_per_epoch

    model.to(env.device)
    ema = make_ema(model, decay=config.ema_decay)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay, betas=config.betas)
    budget_share: list[float | None] = [None]  # with a time budget: the elapsed share, which the schedule follows

    def schedule(s: int) -> float:
        share = budget_share[0]
        return lr_factor(s, config.steps, config.warmup_steps, None if share is None else max(s / config.steps, share))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    dtype = amp_dtype(config.amp, env.device)
    scaler = torch.amp.GradScaler(env.device.type, enabled=dtype == torch.float16)
    generators = shard_generators(config.seed, env, accum)

    if config.budget_clock not in BUDGET_CLOCKS:
        raise ValueError(f"budget_clock must be one of {BUDGET_CLOCKS}, got {config.budget_clock!r}")
    clock = time.process_time if config.budget_clock == "cpu" else time.perf_counter
    step, elapsed_before, skipped, budget_before = 0, 0.0, 0, 0.0
    state = load_latest(ckpt_dir) if config.resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        ema.module.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        step, elapsed_before, skipped = state["step"], state["seconds"], state["skipped_unreadable"]
        budget_before = state.get("budget_seconds", elapsed_before)
        if stateful is not None and state.get("extra") is not None:
            stateful.load_state_dict(state["extra"])
        saved_rngs = state["rng"]
        if len(saved_rngs) == env.world_size and len(saved_rngs[env.rank]["generators"]) == accum:
            set_rng_state(saved_rngs[env.rank], generators)
        else:  # another layout: the data order is the same, the noise draws restart from the step
            generators = shard_generators(config.seed + step, env, accum)
            if env.is_main:
                log.warning("resuming on a different layout (processes × accumulation): noise draws are reseeded")
        if env.is_main:
            print(f"resumed from {state['path']} at step {step}", flush=True)
        del state
    elif config.resume and env.is_main:
        print(f"no checkpoint in {ckpt_dir}; starting from scratch", flush=True)

    wrapped: nn.Module = LossModule(model, loss_fn)
    if env.distributed:
        wrapped = nn.parallel.DistributedDataParallel(
            wrapped, device_ids=[env.local_rank] if env.device.type == "cuda" else None
        )  # fmt: skip
    metrics = _Metrics(out, env, step)
    if env.is_main:
        n_train = sum(p.numel() for p in trainable)
        print(
            f"{env.world_size} process(es) × {accum} accumulation step(s) × micro batch {micro} = batch "
            f"{config.batch_size}; {steps_per_epoch} steps/epoch; {n_train / 1e6:.2f}M trainable parameters; "
            f"amp {dtype or 'off'}",
            flush=True,
        )

    def save(step: int, seconds: float) -> None:
        rngs = all_gather_objects(rng_state(generators))  # every rank takes part
        if env.is_main:
            state = {
                "model": model.state_dict(),
                "ema": ema.module.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "rng": rngs,
                "seconds": seconds,
                "budget_seconds": budget_before + clock() - budget_start,
                "skipped_unreadable": skipped,
                "world_size": env.world_size,
                "args": json.loads(json.dumps(config.run_args or {}, default=str)),
                "extra": stateful.state_dict() if stateful is not None else None,
            }
            save_state(ckpt_dir, step, state, keep=config.keep_checkpoints)

    def run_eval() -> dict[str, Any]:
        ema.module.eval()
        scores = evaluate(ema.module) if evaluate is not None else {}
        return scores if env.is_main else {}

    start, budget_start = time.perf_counter(), clock()
    interval = 0.5 if sys.stderr.isatty() else 60.0  # a log file (SLURM) gets a bar line a minute, not a flood
    bar = tqdm(total=config.steps, initial=step, disable=not env.is_main, mininterval=interval, desc="train")
    window_loss, window_steps, window_start, last = 0.0, 0, time.perf_counter(), {}
    try:
        done = bool(config.time_budget and budget_before >= config.time_budget)  # resumed past the budget
        while step < config.steps and not done:
            epoch, first = divmod(step, steps_per_epoch)
            sampler.set_epoch(epoch, first)
            items.set_epoch(epoch)
            loader = DataLoader(
                items,
                batch_size=micro,
                sampler=sampler,
                num_workers=config.num_workers,
                collate_fn=collate_counting_skips,
                pin_memory=env.device.type == "cuda",
                generator=torch.Generator().manual_seed(config.seed + epoch),  # keeps the global RNG untouched
            )
            batches = iter(loader)
            for _ in range(first, steps_per_epoch):
                wrapped.train()
                loss_sum = torch.zeros((), device=env.device)
                step_skipped = 0
                for j in range(accum):
                    batch, n_skipped = next(batches)
                    step_skipped += n_skipped
                    sync = (
                        contextlib.nullcontext()
                        if not env.distributed or j == accum - 1
                        else cast(Any, wrapped).no_sync()
                    )
                    with sync:
                        with torch.autocast(env.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                            batch = map_tensors(lambda x: x.to(env.device, non_blocking=True), batch)
                            loss = wrapped(batch, generators[j])
                        scaler.scale(loss / accum).backward()
                    loss_sum += loss.detach().float()
                now = budget_before + clock() - budget_start  # on the budget's clock
                extras = torch.tensor([float(step_skipped), now], device=env.device)
                totals = all_reduce_sum(torch.cat([loss_sum.reshape(1), extras]))
                loss_total, skipped_now, now_sum = totals.tolist()  # the step's one host sync
                mean_loss = loss_total / (accum * env.world_size)
                if not math.isfinite(mean_loss):
                    raise FloatingPointError(
                        f"loss is {mean_loss} at step {step + 1}; stopping the run before the update "
                        f"(resume from the last checkpoint in {ckpt_dir} with a lower lr, or --amp none)"
                    )
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                if config.time_budget:
                    budget_share[0] = now_sum / env.world_size / config.time_budget
                scheduler.step()
                step += 1
                ema.update(model, step=step)
                skipped += int(skipped_now)
                window_loss, window_steps = window_loss + mean_loss, window_steps + 1
                bar.update(1)
                bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)

                done = step >= config.steps or bool(
                    config.time_budget and now_sum / env.world_size >= config.time_budget
                )
                seconds = round(elapsed_before + time.perf_counter() - start, 3)
                log_due = done or (config.log_every and step % config.log_every == 0)
                eval_due = done or (config.eval_every and step % config.eval_every == 0)
                if log_due or eval_due:
                    rate = window_steps * config.batch_size / max(1e-9, time.perf_counter() - window_start)
                    last = {
                        "step": step,
                        "epoch": _epochs(step, steps_per_epoch),
                        "loss": window_loss / window_steps,
                        "lr": optimizer.param_groups[0]["lr"],
                        "images_per_s": round(rate, 2),
                        "skipped_unreadable": skipped,
                        "seconds": seconds,
                    }
                    if config.time_budget:
                        last["budget_seconds"] = round(now_sum / env.world_size, 3)
                    window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()
                    if eval_due:
                        last.update(run_eval())
                    metrics.write(last)
                    if env.is_main:
                        bar.write(json.dumps(last))
                        sys.stdout.flush()  # rows reach a redirected log at once
                if done or (config.save_every and step % config.save_every == 0):
                    save(step, seconds)
                if done:
                    break
        if not last:  # resumed at the very end (or past the time budget): evaluate once more
            last = {"step": step, **run_eval()}
    finally:
        bar.close()
        metrics.close()
    last["train_seconds"] = round(elapsed_before + time.perf_counter() - start, 1)
    return TrainResult(ema.module, last)
