"""Helpers every training script shares: config files over argparse defaults, the LR schedule."""

from __future__ import annotations

import argparse
import math


def parse_with_config(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """argparse defaults ← a YAML ``--config`` file ← the command line. Unknown config keys are an error."""
    args, _ = parser.parse_known_args(argv)
    if getattr(args, "config", None):
        import yaml

        with open(args.config, encoding="utf-8") as f:
            values = yaml.safe_load(f) or {}
        known = {a.dest for a in parser._actions}
        values = {k.replace("-", "_"): v for k, v in values.items()}
        unknown = sorted(k for k in values if k not in known)
        if unknown:
            parser.error(f"{args.config}: unknown keys {unknown}")
        parser.set_defaults(**values)
    return parser.parse_args(argv)


def optimizer_step(loss, model, optimizer, ema, step: int, grad_clip: float) -> int:
    """Backward, clip, step and update the EMA; a NaN/inf loss stops the run naming the step. Returns step + 1."""
    import torch

    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()} at step {step}; stopping the run")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    ema.update(model, step=step + 1)
    return step + 1


def lr_at(step: int, total: int, warmup: int, lr: float) -> float:
    """Linear warmup then cosine decay to 0 (Goyal et al.; paper §4.1)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return lr * 0.5 * (1 + math.cos(math.pi * progress))
