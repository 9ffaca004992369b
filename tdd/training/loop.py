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
  (:mod:`tdd.training.state`) every ``save_every`` steps and at the end.

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
from tqdm.auto import tqdm

from tdd import rng
from tdd.data.loading import TrainItems, collate_counting_skips
from tdd.data.sampler import ResumableDistributedSampler
from tdd.distributed import DistEnv, all_gather_objects, all_reduce_sum
from tdd.tensors import map_tensors
from tdd.training.config import BUDGET_CLOCKS, EngineConfig, accumulation_steps, amp_dtype, lr_factor, param_groups
from tdd.training.metrics import Metrics
from tdd.training.objectives import make_ema
from tdd.training.state import load_latest, rng_state, save_state, set_rng_state

log = logging.getLogger(__name__)
LossFn = Callable[[nn.Module, Any, torch.Generator], torch.Tensor]


def guarded(what: str, fn: Callable[[], Any], skipped: list[str]) -> Any:
    """``fn()``, or ``None`` when it raises: the failure is logged in one line and appended to ``skipped``.

    For evaluations after (or during) training, which must never cost the trained model.
    """
    try:
        return fn()
    except Exception as e:  # any failure of an evaluation is reported, never fatal to the run
        message = f"{what} skipped: {type(e).__name__}: {e}"
        log.warning(message)  # one line, no traceback (stderr, through logging's last-resort handler)
        skipped.append(message)
        return None


def shard_generators(seed: int, env: DistEnv, accum: int) -> list[torch.Generator]:
    """One generator per micro-batch shard this process runs, seeded by the global shard index."""
    first = env.rank * accum
    return rng.generators((seed * 100_003 + first + j for j in range(accum)), env.device)


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
    on_trained: Callable[[nn.Module], None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``dataset`` with ``loss_fn(model, batch, generator) -> loss``.

    ``evaluate(ema_model)`` runs on every process (it may shard its work) every ``eval_every`` steps
    and at the end; rank 0's returned dict is logged. Parameters with ``requires_grad=False`` (a
    frozen encoder) are not optimised. ``stateful`` (anything with ``state_dict``/``load_state_dict``,
    e.g. :class:`tdd.timesteps.AdaptiveTimesteps`) is saved in every checkpoint (rank 0's) and restored
    on resume.

    Nothing an evaluation does can lose the trained model: at the last step the resumable checkpoint
    is written, then ``on_trained(ema_model)`` (the scripts write ``final/`` there, on every process's
    call, rank 0 alone writing), and only then the final evaluation runs. An evaluation that raises
    (a missing optional package, a bad metric) is reported in one line and recorded in the metric row
    as ``skipped_metrics``; training goes on.
    """
    return _Run(model, dataset, loss_fn, config, env, evaluate, stateful, on_trained).run()


class _Run:
    """One run's state, and the loop in named pieces: restore, micro-steps, optimizer step,
    log/evaluate, save."""

    def __init__(self, model, dataset, loss_fn, config: EngineConfig, env: DistEnv, evaluate, stateful, on_trained):
        self.model, self.config, self.env, self.evaluate, self.stateful = model, config, env, evaluate, stateful
        self.on_trained = on_trained
        self.out = Path(config.output)
        self.out.mkdir(parents=True, exist_ok=True)
        self.ckpt_dir = self.out / "checkpoints"
        self.micro, self.accum = accumulation_steps(config.batch_size, config.micro_batch_size, env.world_size)
        self.items = TrainItems(dataset, seed=config.seed)
        self.sampler = ResumableDistributedSampler(
            self.items, self.micro, self.accum, num_replicas=env.world_size, rank=env.rank, shuffle=True,
            seed=config.seed,
        )  # fmt: skip
        self.steps_per_epoch = self.sampler.steps_per_epoch
        model.to(env.device)
        self.ema = make_ema(model, decay=config.ema_decay)
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            param_groups(model, config.lr, config.lr_scales), weight_decay=config.weight_decay, betas=config.betas
        )
        self.budget_share: float | None = None  # with a time budget: the elapsed share, which the schedule follows

        def schedule(s: int) -> float:
            share = self.budget_share
            return lr_factor(
                s, config.steps, config.warmup_steps, None if share is None else max(s / config.steps, share)
            )

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.dtype = amp_dtype(config.amp, env.device)
        self.scaler = torch.amp.GradScaler(env.device.type, enabled=self.dtype == torch.float16)
        self.generators = shard_generators(config.seed, env, self.accum)
        if config.budget_clock not in BUDGET_CLOCKS:
            raise ValueError(f"budget_clock must be one of {BUDGET_CLOCKS}, got {config.budget_clock!r}")
        self.clock = time.process_time if config.budget_clock == "cpu" else time.perf_counter
        self.step, self.elapsed_before, self.skipped, self.budget_before = 0, 0.0, 0, 0.0
        self.restore()
        self.wrapped: nn.Module = LossModule(model, loss_fn)
        if env.distributed:
            self.wrapped = nn.parallel.DistributedDataParallel(
                self.wrapped, device_ids=[env.local_rank] if env.device.type == "cuda" else None
            )
        self.metrics = Metrics(self.out, env, self.step)

    def restore(self) -> None:
        """With ``resume``: the newest loadable checkpoint's weights, optimizer, schedule, RNGs and counters."""
        config, env = self.config, self.env
        state = load_latest(self.ckpt_dir) if config.resume else None
        if state is None:
            if config.resume and env.is_main:
                print(f"no checkpoint in {self.ckpt_dir}; starting from scratch", flush=True)
            return
        self.model.load_state_dict(state["model"])
        self.ema.module.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.elapsed_before, self.skipped = state["step"], state["seconds"], state["skipped_unreadable"]
        self.budget_before = state.get("budget_seconds", self.elapsed_before)
        if self.stateful is not None and state.get("extra") is not None:
            self.stateful.load_state_dict(state["extra"])
        saved_rngs = state["rng"]
        if len(saved_rngs) == env.world_size and len(saved_rngs[env.rank]["generators"]) == self.accum:
            set_rng_state(saved_rngs[env.rank], self.generators)
        else:  # another layout: the data order is the same, the noise draws restart from the step
            self.generators = shard_generators(config.seed + self.step, env, self.accum)
            if env.is_main:
                log.warning("resuming on a different layout (processes × accumulation): noise draws are reseeded")
        if env.is_main:
            print(f"resumed from {state['path']} at step {self.step}", flush=True)

    def budget_seconds(self) -> float:
        """Seconds on the budget's clock, this process, since the run first started."""
        return self.budget_before + self.clock() - self.budget_start

    def save(self, seconds: float) -> None:
        rngs = all_gather_objects(rng_state(self.generators))  # every rank takes part
        if not self.env.is_main:
            return
        state = {
            "model": self.model.state_dict(),
            "ema": self.ema.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rngs,
            "seconds": seconds,
            "budget_seconds": self.budget_seconds(),
            "skipped_unreadable": self.skipped,
            "world_size": self.env.world_size,
            "args": json.loads(json.dumps(self.config.run_args or {}, default=str)),
            "extra": self.stateful.state_dict() if self.stateful is not None else None,
        }
        save_state(self.ckpt_dir, self.step, state, keep=self.config.keep_checkpoints)

    def run_eval(self) -> dict[str, Any]:
        """The evaluation's scores (rank 0's); one that raises is reported, recorded, and not fatal."""
        if self.evaluate is None:
            return {}
        self.ema.module.eval()
        skipped: list[str] = []
        scores = guarded(f"evaluation at step {self.step}", lambda: self.evaluate(self.ema.module), skipped) or {}
        if skipped:
            scores = {**scores, "skipped_metrics": [*scores.get("skipped_metrics", []), *skipped]}
        return scores if self.env.is_main else {}

    def trained(self) -> None:
        """The last step is done and checkpointed: hand the EMA model over before any final evaluation."""
        if self.on_trained is not None:
            self.on_trained(self.ema.module.eval())

    def epoch_batches(self, epoch: int, first: int) -> Any:
        """The batches of ``epoch`` from its ``first`` optimizer step on (a resumed epoch skips the rest)."""
        self.sampler.set_epoch(epoch, first)
        self.items.set_epoch(epoch)
        loader = DataLoader(
            self.items,
            batch_size=self.micro,
            sampler=self.sampler,
            num_workers=self.config.num_workers,
            collate_fn=collate_counting_skips,
            pin_memory=self.env.device.type == "cuda",
            generator=rng.generator(self.config.seed + epoch),  # keeps the global RNG untouched
        )
        return iter(loader)

    def micro_steps(self, batches: Any) -> tuple[torch.Tensor, int]:
        """Forward and backward of the step's ``accum`` micro-batches; (summed loss, items skipped)."""
        env = self.env
        self.wrapped.train()
        loss_sum = torch.zeros((), device=env.device)
        step_skipped = 0
        for j in range(self.accum):
            batch, n_skipped = next(batches)
            step_skipped += n_skipped
            last = not env.distributed or j == self.accum - 1
            sync = contextlib.nullcontext() if last else cast(Any, self.wrapped).no_sync()
            with sync:
                with torch.autocast(env.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
                    batch = map_tensors(lambda x: x.to(env.device, non_blocking=True), batch)
                    loss = self.wrapped(batch, self.generators[j])
                self.scaler.scale(loss / self.accum).backward()
            loss_sum += loss.detach().float()
        return loss_sum, step_skipped

    def optimizer_step(self, loss_sum: torch.Tensor, step_skipped: int) -> tuple[float, float]:
        """Average across processes, stop on a non-finite loss, update; (mean loss, mean budget seconds)."""
        env, config = self.env, self.config
        extras = torch.tensor([float(step_skipped), self.budget_seconds()], device=env.device)
        totals = all_reduce_sum(torch.cat([loss_sum.reshape(1), extras]))
        loss_total, skipped_now, now_sum = totals.tolist()  # the step's one host sync
        mean_loss = loss_total / (self.accum * env.world_size)
        if not math.isfinite(mean_loss):
            raise FloatingPointError(
                f"loss is {mean_loss} at step {self.step + 1}; stopping the run before the update "
                f"(resume from the last checkpoint in {self.ckpt_dir} with a lower lr, or --amp none)"
            )
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.trainable, config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        now = now_sum / env.world_size
        if config.time_budget:
            self.budget_share = now / config.time_budget
        self.scheduler.step()
        self.step += 1
        self.ema.update(self.model, step=self.step)
        self.skipped += int(skipped_now)
        return mean_loss, now

    def log_row(self, window_loss: float, window_steps: int, window_start: float, seconds: float, now: float,
                with_eval: bool) -> dict[str, Any]:  # fmt: skip
        """The metric row at this step (written by rank 0), with the evaluation when it is due."""
        rate = window_steps * self.config.batch_size / max(1e-9, time.perf_counter() - window_start)
        row: dict[str, Any] = {
            "step": self.step,
            "epoch": _epochs(self.step, self.steps_per_epoch),
            "loss": window_loss / window_steps,
            "lr": self.optimizer.param_groups[0]["lr"],
            "images_per_s": round(rate, 2),
            "skipped_unreadable": self.skipped,
            "seconds": seconds,
        }
        if self.config.time_budget:
            row["budget_seconds"] = round(now, 3)
        if with_eval:
            row.update(self.run_eval())
        self.metrics.write(row)
        if self.env.is_main:
            self.bar.write(json.dumps(row))
            sys.stdout.flush()  # rows reach a redirected log at once
        return row

    def announce(self) -> None:
        if self.env.is_main:
            n_train = sum(p.numel() for p in self.trainable)
            print(
                f"{self.env.world_size} process(es) × {self.accum} accumulation step(s) × micro batch {self.micro} "
                f"= batch {self.config.batch_size}; {self.steps_per_epoch} steps/epoch; {n_train / 1e6:.2f}M "
                f"trainable parameters; amp {self.dtype or 'off'}",
                flush=True,
            )

    def run(self) -> TrainResult:
        config = self.config
        self.announce()
        self.start, self.budget_start = time.perf_counter(), self.clock()
        interval = 0.5 if sys.stderr.isatty() else 60.0  # a log file (SLURM) gets a bar line a minute, not a flood
        self.bar = tqdm(total=config.steps, initial=self.step, disable=not self.env.is_main, mininterval=interval,
                        desc="train")  # fmt: skip
        try:
            last = self.loop(bool(config.time_budget and self.budget_before >= config.time_budget))
            if not last:  # resumed at the very end (or past the time budget): evaluate once more
                self.trained()
                last = {"step": self.step, **self.run_eval()}
        finally:
            self.bar.close()
            self.metrics.close()
        last["train_seconds"] = round(self.elapsed_before + time.perf_counter() - self.start, 1)
        return TrainResult(self.ema.module, last)

    def loop(self, done: bool) -> dict[str, Any]:
        """Epochs of optimizer steps until ``steps`` or the time budget; the last metric row."""
        config = self.config
        window_loss, window_steps, window_start, last = 0.0, 0, time.perf_counter(), {}
        while self.step < config.steps and not done:
            epoch, first = divmod(self.step, self.steps_per_epoch)
            batches = self.epoch_batches(epoch, first)
            for _ in range(first, self.steps_per_epoch):
                mean_loss, now = self.optimizer_step(*self.micro_steps(batches))
                window_loss, window_steps = window_loss + mean_loss, window_steps + 1
                self.bar.update(1)
                self.bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)
                done = self.step >= config.steps or bool(config.time_budget and now >= config.time_budget)
                seconds = round(self.elapsed_before + time.perf_counter() - self.start, 3)
                eval_due = done or bool(config.eval_every and self.step % config.eval_every == 0)
                if done or (config.save_every and self.step % config.save_every == 0):
                    self.save(seconds)  # before any evaluation: a kill or a failing metric loses nothing
                if done:
                    self.trained()
                if eval_due or (config.log_every and self.step % config.log_every == 0):
                    last = self.log_row(window_loss, window_steps, window_start, seconds, now, eval_due)
                    window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()
                if done:
                    break
        return last
