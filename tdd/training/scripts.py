"""What the training scripts share: YAML configs over argparse, engine flags, feature caching, start-up."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import yaml

from tdd.checkpoint import CheckpointError
from tdd.data.feature_cache import CachedFeatures, build_feature_cache
from tdd.data.registry import add_data_arguments, dataset
from tdd.distributed import DEVICES, cleanup, setup
from tdd.hub import push_checkpoint
from tdd.training.config import AMP_MODES, BUDGET_CLOCKS, EngineConfig

if TYPE_CHECKING:
    from tdd.data.caption_data import EvalSet
    from tdd.distributed import DistEnv
    from tdd.training.config import EngineConfig


def parse_with_config(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """argparse defaults ← a YAML ``--config`` file ← the command line. Unknown config keys are an error."""
    args, _ = parser.parse_known_args(argv)
    if getattr(args, "config", None):
        with open(args.config, encoding="utf-8") as f:
            values = yaml.safe_load(f) or {}
        known = {a.dest for a in parser._actions}
        values = {k.replace("-", "_"): v for k, v in values.items()}
        unknown = sorted(k for k in values if k not in known)
        if unknown:
            parser.error(f"{args.config}: unknown keys {unknown}")
        parser.set_defaults(**values)
    return parser.parse_args(argv)


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """The flags of :class:`tdd.training.config.EngineConfig` and the process set-up, shared by the scripts."""
    g = p.add_argument_group("run: devices, checkpoints, logging")
    resolved = "print the resolved arguments (defaults ← recipe ← config ← flags) as JSON, then exit"
    g.add_argument("--print-args", action="store_true", help=resolved)
    g.add_argument("--device", default="auto", choices=DEVICES, help="auto: this rank's GPU if any")
    g.add_argument("--micro-batch-size", type=int, default=0,
                   help="per process and forward; 0: batch / processes (no gradient accumulation)")  # fmt: skip
    g.add_argument("--amp", default="auto", choices=AMP_MODES, help="auto: bf16 (or fp16) on GPUs, none on CPUs")
    g.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes per rank")
    g.add_argument("--save-every", type=int, default=1000, help="optimizer steps between resumable checkpoints")
    g.add_argument("--keep-checkpoints", type=int, default=2)
    g.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT/checkpoints")
    g.add_argument("--threads", type=int, default=0, help="torch CPU threads per process (0: torch's default)")
    budget = "stop after this many seconds of training; the lr schedule follows the budget (0: none)"
    g.add_argument("--time-budget", type=float, default=0.0, help=budget)
    clock = "what --time-budget counts: wall-clock seconds, or this process's CPU seconds (fair on a busy machine)"
    g.add_argument("--budget-clock", default="wall", choices=BUDGET_CLOCKS, help=clock)
    push = "at the end, upload OUTPUT/final with a generated model card to this Hub repository"
    g.add_argument("--push-to-hub", default=None, metavar="OWNER/NAME", help=push)


def fit_batch_size(args: argparse.Namespace, n_items: int, env: DistEnv) -> None:
    """A dataset smaller than one ``--batch-size``: train with the largest batch it fills, and say so.

    The batch stays a multiple of the process count; an explicit ``--micro-batch-size`` larger than the
    new batch's share falls back to no accumulation. Fewer items than processes: stop, naming the cause.
    """
    if n_items >= args.batch_size:
        return
    world = env.world_size
    batch = n_items // world * world
    if batch < 1:
        raise SystemExit(f"{Path(sys.argv[0]).name}: error: the dataset has {n_items} usable items, fewer than the "
                         f"{world} processes; add images or run fewer processes")  # fmt: skip
    if env.is_main:
        print(f"note: the dataset has {n_items} items, fewer than --batch-size {args.batch_size}; "
              f"training with batch {batch} (every item once a step)", flush=True)  # fmt: skip
    if args.micro_batch_size and batch % (args.micro_batch_size * world):
        args.micro_batch_size = 0
    args.batch_size = batch


def push_final(args: argparse.Namespace, final_dir: Path) -> None:
    """With ``--push-to-hub``: upload the final checkpoint with its model card (:func:`tdd.hub.push_checkpoint`)."""
    if getattr(args, "push_to_hub", None):
        push_checkpoint(final_dir, args.push_to_hub)
        print(f"pushed {final_dir} to the Hugging Face Hub: {args.push_to_hub}", flush=True)


def engine_config(
    args: argparse.Namespace, *, steps: int, lr: float, warmup_steps: int, lr_scales: dict[str, float] | None = None
) -> EngineConfig:
    """An :class:`tdd.training.config.EngineConfig` from the script's arguments."""

    return EngineConfig(
        output=args.output,
        batch_size=args.batch_size,
        micro_batch_size=args.micro_batch_size,
        steps=steps,
        lr=lr,
        warmup_steps=warmup_steps,
        weight_decay=args.weight_decay,
        grad_clip=args.grad_clip,
        ema_decay=args.ema_decay,
        amp=args.amp,
        seed=args.seed,
        num_workers=args.num_workers,
        save_every=args.save_every,
        keep_checkpoints=args.keep_checkpoints,
        resume=args.resume,
        time_budget=args.time_budget,
        budget_clock=args.budget_clock,
        lr_scales=lr_scales,
        run_args=vars(args),
    )


def cached_features(args: argparse.Namespace, model: Any, dataset: Any, env: DistEnv) -> Any:
    """With ``--cache-dir``: the frozen encoder's features of ``dataset`` (built once), else ``dataset``."""
    if not args.cache_dir:
        return dataset
    fingerprint = {
        "encoder": args.encoder,
        "encoder_kwargs": args.encoder_kwargs,
        "weights": args.pretrained_encoder,
        "encoder_from": getattr(args, "encoder_from", None),
        "data": args.data,
        "image_size": args.image_size,
    }
    build_feature_cache(
        model.conditioner.encoder, dataset, args.cache_dir, fingerprint, env, num_workers=args.num_workers
    )
    return CachedFeatures(args.cache_dir)


def start(args: argparse.Namespace) -> DistEnv:
    """Threads, then the process group from the torchrun environment; returns the DistEnv."""

    if args.threads:
        torch.set_num_threads(args.threads)
    return setup(args.device)


def run_main(main: Callable[[argparse.Namespace, DistEnv], Any], args: argparse.Namespace) -> Any:
    """``main(args, env)`` inside the process group, left cleanly on success and on errors.

    Errors a user can fix (a missing dataset, a non-finite loss, a damaged checkpoint) end the
    process with the message and exit status 1 rather than a traceback on every rank.
    """

    if args.print_args:  # what the defaults, recipe, config file and flags resolve to; nothing is run
        print(json.dumps(vars(args), default=str, sort_keys=True))
        return None
    env = start(args)
    try:
        return main(args, env)
    except (FloatingPointError, CheckpointError) as e:
        raise SystemExit(f"{Path(sys.argv[0]).name}: error: {e}") from None
    finally:
        cleanup()


def add_caption_data_args(p: argparse.ArgumentParser) -> None:
    """Where captioning data come from: ``--data`` (:mod:`tdd.data.registry`, each dataset with its own flags)
    and the flags they share; shared by ``train_captioner.py`` and ``compare_captioners.py``."""
    add_data_arguments(p, "caption", default="scenes")
    p.add_argument("--data-dir", default=None, help="folder: holds captions.txt; coco: the COCO root; hf: datasets dir")
    p.add_argument("--train-split", default="train")
    p.add_argument("--val-split", default="val", help="coco: val; hf: validation")
    p.add_argument("--image-column", default="image", help="hf: the image column")
    p.add_argument("--caption-column", default="caption_enriched", help="hf: the caption column")
    p.add_argument("--eval-size", type=int, default=200, help="held-out images for evaluation")


def load_data(args: argparse.Namespace) -> tuple[Any, list[str], EvalSet]:
    """(training dataset, its captions, evaluation set) from the data flags; a bad path ends the run
    at once with the message."""
    try:
        return dataset(args.data, "caption").caption_data(args)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"{Path(sys.argv[0]).name}: error: {e}") from None
