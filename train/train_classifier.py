"""Train a TDD image classifier or its linear-head baseline, on one CPU or many GPUs.

argparse defaults are the paper's ImageNet recipe (§4.1, A.1): timm ``vit_base_patch16_224`` from
scratch, 500 epochs, AdamW (β 0.9/0.95), lr = 1e-4 × batch / 256, weight decay 0.3, batch 4096
(gradient accumulation when fewer processes hold it), 20 warmup epochs then cosine, clipping 3.0,
AMP (bf16 where the GPU has it), RandAugment rand-m9-mstd0.5-inc1, random erasing 0.25 (pixel),
label smoothing 0.1, EMA 0.9999, K-fold feature reuse 4, condition dropout 0.1. A YAML ``--config``
overrides the defaults, flags override the config.

    # ImageNet (train/ and val/ class folders, or a Hugging Face datasets directory with --data hf)
    torchrun --nproc_per_node=8 train/train_classifier.py --data imagefolder --data-dir /data/imagenet \\
        --output runs/imagenet_tdd
    torchrun --nproc_per_node=8 train/train_classifier.py --data imagefolder --data-dir /data/imagenet \\
        --head linear --output runs/imagenet_linear            # the linear-head baseline (Tab. 1)
    # ... killed? the same command with --resume continues from the last checkpoint

    # the bundled digits models (one CPU process)
    python train/train_classifier.py --config train/configs/digits_tdd.yaml
    python train/train_classifier.py --config train/configs/digits_linear.yaml

Ablations (Tab. 2) change one flag: ``--loss ce_no_coef``, ``--loss eps_mse``, ``--cond-drop 0``.
A frozen pretrained encoder can be cached once (``--pretrained-encoder W --cache-dir DIR``).
Outputs under ``--output``: ``metrics.jsonl`` and ``tb/`` (loss, lr, images/s, EMA top-1),
``checkpoints/`` (resumable), ``final/`` (EMA weights, loadable with ``PretrainedModel.from_pretrained``)
and ``result.json`` (top-1 and the accuracy-vs-steps curve of the EMA weights).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from tdd.checkpoint import atomic_write_text
from tdd.classify import classifier_diffusion, classify
from tdd.data.imagenet import DEFAULT_AUTO_AUGMENT
from tdd.data.loading import TrainItems, collate_counting_skips
from tdd.data.registry import add_data_arguments, dataset
from tdd.distributed import DistEnv, all_reduce_sum
from tdd.models.classifier import CLASSIFIER_PRECONDS, ClassifierConfig, LinearClassifier, TDDClassifier
from tdd.schedule import SCHEDULES
from tdd.training import OBJECTIVES, tdd_loss
from tdd.training.loop import guarded, train
from tdd.training.scripts import (
    add_engine_args,
    cached_features,
    engine_config,
    fit_batch_size,
    parse_with_config,
    push_final,
    run_main,
    start,
)


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=str, default=None, help="YAML file whose keys override these defaults")
    add_data_arguments(p, "classify", default="imagefolder")
    p.add_argument("--data-dir", default=None, help="imagefolder: holds train/ and val/; hf: a datasets directory")
    p.add_argument("--train-split", default="train")
    p.add_argument("--val-split", default="val", help="'validation' for Hugging Face ImageNet-1k")
    p.add_argument("--image-column", default="image", help="hf: the image column")
    p.add_argument("--label-column", default="label", help="hf: the label column")
    p.add_argument("--head", default="tdd", choices=["tdd", "linear"], help="TDD denoiser or linear baseline")
    p.add_argument("--loss", default="ce", choices=OBJECTIVES, help="TDD objective (Tab. 2)")
    # model
    p.add_argument("--encoder", default="vit_base_patch16_224", help="timm backbone name")
    p.add_argument("--encoder-kwargs", type=json.loads, default={}, help="JSON dict of timm.create_model overrides")
    p.add_argument("--pretrained-encoder", default=None, help="local weights file for the encoder")
    p.add_argument("--freeze-encoder", action="store_true", help="train only the conditioning module and head")
    p.add_argument("--cache-dir", default=None, help="cache the frozen encoder's features (implies --freeze-encoder)")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--in-chans", type=int, default=3)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--cond-depth", type=int, default=2, help="M transformer layers of the conditioning module")
    p.add_argument("--cond-heads", type=int, default=12)
    p.add_argument("--num-class-tokens", type=int, default=1)
    p.add_argument("--pool", default="cls", choices=["cls", "mean"])
    p.add_argument("--denoiser-width", type=int, default=1024)
    p.add_argument("--denoiser-depth", type=int, default=6)
    # diffusion
    p.add_argument("--schedule", default="linear", choices=sorted(SCHEDULES))
    p.add_argument("--num-timesteps", type=int, default=1000)
    p.add_argument("--onehot-scale", type=float, default=1.0, help="λ of the λ-hot (§3.2), kept in the checkpoint")
    p.add_argument("--input-precond", default="none", choices=CLASSIFIER_PRECONDS, help="how y_t enters the denoiser")
    p.add_argument("--output-prior", action=argparse.BooleanOptionalAction, default=False,
                   help="add the exact posterior's logits to the network's (Plaid)")  # fmt: skip
    p.add_argument("--cond-readout", action=argparse.BooleanOptionalAction, default=False,
                   help="add a linear readout of c to the TDD denoiser's logits (skips its adaLN blocks)")  # fmt: skip
    p.add_argument("--kfold", type=int, default=4, help="§3.3 feature reuse: timesteps per image (MAR: 4)")
    p.add_argument("--cond-drop", type=float, default=0.1, help="condition dropout for CFG")
    # optimisation (paper §4.1, A.1)
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=4096, help="effective (global) batch size")
    p.add_argument("--blr", type=float, default=1e-4, help="base learning rate; lr = blr · batch / 256")
    p.add_argument("--weight-decay", type=float, default=0.3)
    p.add_argument("--warmup-epochs", type=int, default=20)
    p.add_argument("--grad-clip", type=float, default=3.0)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--ema-decay", type=float, default=0.9999)
    # augmentation (timm)
    p.add_argument("--aa", default=DEFAULT_AUTO_AUGMENT, help="timm auto-augment policy ('' for none)")
    p.add_argument("--reprob", type=float, default=0.25, help="random erasing probability (pixel mode)")
    p.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (timm Mixup; linear head only)")
    p.add_argument("--cutmix", type=float, default=0.0, help="cutmix alpha (timm Mixup; linear head only)")
    # evaluation
    p.add_argument("--eval-steps", type=int, default=20, help="sampling steps for evaluation")
    p.add_argument("--eval-cfg", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=1, help="epochs between evaluations (0: only at the end)")
    p.add_argument("--eval-size", type=int, default=0, help="validation images to evaluate (0: all)")
    p.add_argument("--eval-curve", default="1,2,5,10,20,50", help="steps of the final accuracy-vs-steps curve")
    p.add_argument("--eval-batch-size", type=int, default=256)
    # run
    p.add_argument("--output", default="runs/classifier")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many optimizer steps (smoke tests)")
    add_engine_args(p)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Defaults ← YAML config ← command line."""
    return parse_with_config(get_parser(), argv)


def build_model(args: argparse.Namespace, num_classes: int) -> TDDClassifier | LinearClassifier:
    fields = {f.name for f in dataclasses.fields(ClassifierConfig)}
    config = ClassifierConfig(
        **{k: v for k, v in vars(args).items() if k in fields},
        num_classes=num_classes,
        parameterization="epsilon" if args.loss == "eps_mse" else "x0",
    )
    cls = TDDClassifier if args.head == "tdd" else LinearClassifier
    model = cls(config, pretrained_encoder=args.pretrained_encoder)
    if args.freeze_encoder or args.cache_dir:
        model.conditioner.encoder.freeze()  # eval mode too: batch norms keep their statistics
    return model


def load_data(args: argparse.Namespace) -> tuple[Any, Any, int]:
    """(training dataset, validation dataset, number of classes) of ``--data`` (:mod:`tdd.data.registry`);
    a missing path fails at once."""
    try:
        return dataset(args.data, "classify").classify_data(args)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"train_classifier.py: error: {e}") from None


def top1(
    model: TDDClassifier | LinearClassifier, val_set: Any, args: argparse.Namespace, env: DistEnv, steps: int
) -> float:
    """Top-1 of ``model`` on the first ``--eval-size`` validation images, each process taking a share."""
    n = min(args.eval_size or len(val_set), len(val_set))
    share = Subset(TrainItems(val_set), range(env.rank, n, env.world_size))  # an unreadable image: the next one
    loader = DataLoader(share, batch_size=args.eval_batch_size, collate_fn=collate_counting_skips)
    g = torch.Generator(device=env.device).manual_seed(args.seed + env.rank)
    counts = torch.zeros(2, device=env.device)
    for (images, labels), _ in loader:
        images, labels = images.to(env.device), torch.as_tensor(labels, device=env.device)
        result = classify(model, images, steps=steps, cfg=args.eval_cfg, generator=g)
        counts += torch.stack([(result.labels == labels).sum(), torch.tensor(len(labels), device=env.device)])
    all_reduce_sum(counts)
    return (counts[0] / counts[1]).item()


def make_loss_fn(args: argparse.Namespace, diffusion: Any, mixup: Any) -> Any:
    """The loss of a batch for the head: cross-entropy (with mixup/cutmix when asked) or TDD's."""

    def loss_fn(model: Any, batch: Any, generator: torch.Generator) -> torch.Tensor:
        images, labels = batch
        if args.head == "linear":
            if mixup is not None:
                from timm.loss import SoftTargetCrossEntropy  # only with --mixup/--cutmix

                images, soft = mixup(images, labels)
                return SoftTargetCrossEntropy()(model(images), soft)
            return torch.nn.functional.cross_entropy(model(images), labels, label_smoothing=args.label_smoothing)
        assert diffusion is not None  # the TDD head
        return tdd_loss(
            model,
            diffusion,
            model.encode(images),  # (B, W): the image path runs once, reused by the k timesteps
            labels,
            objective=args.loss,
            kfold=args.kfold,
            cond_drop=args.cond_drop,
            label_smoothing=args.label_smoothing,
            generator=generator,
        )

    return loss_fn


def write_final(ema: Any, result: dict, args: argparse.Namespace, env: DistEnv, class_names: Any = None) -> None:
    """``OUTPUT/final`` (with the data's class names when it has them) and ``OUTPUT/result.json`` (rank 0)."""
    if env.is_main:
        out = Path(args.output)
        extra: dict[str, Any] = {"train_args": vars(args), "result": result}
        if class_names is not None:
            extra["class_names"] = list(class_names)
        ema.save_pretrained(out / "final", extra=extra)
        atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")


def main(args: argparse.Namespace, env: DistEnv | None = None) -> dict:
    env = env or start(args)
    if args.head == "tdd" and (args.mixup or args.cutmix):
        raise SystemExit(
            "train_classifier.py: error: --mixup/--cutmix need --head linear: TDD diffuses one-hot labels, "
            "and a mixed label is not one"
        )
    train_set, val_set, num_classes = load_data(args)
    names = getattr(train_set, "class_names", None)  # what each class is, where the data says (the app shows it)
    torch.manual_seed(args.seed)
    model = build_model(args, num_classes)
    train_set = cached_features(args, model, train_set, env)
    fit_batch_size(args, len(train_set), env)
    steps_per_epoch = len(train_set) // args.batch_size
    total = args.epochs * steps_per_epoch
    if args.max_steps:
        total = min(total, args.max_steps)
    config = engine_config(
        args, steps=total, lr=args.blr * args.batch_size / 256, warmup_steps=args.warmup_epochs * steps_per_epoch
    )
    config.log_every = steps_per_epoch
    config.eval_every = args.eval_every * steps_per_epoch
    diffusion = classifier_diffusion(model) if args.head == "tdd" else None
    mixup = None
    if args.mixup or args.cutmix:
        from timm.data import Mixup  # only with --mixup/--cutmix

        mixup = Mixup(mixup_alpha=args.mixup, cutmix_alpha=args.cutmix, label_smoothing=args.label_smoothing,
                      num_classes=num_classes)  # fmt: skip
    if env.is_main:
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{args.head} classifier, {n_params / 1e6:.2f}M parameters, {total} steps, lr {config.lr:.2e}")

    pending = {"eval_steps": args.eval_steps, "evaluation": "pending"}  # final/ exists before any evaluation
    run = train(
        model, train_set, make_loss_fn(args, diffusion, mixup), config, env,
        evaluate=lambda ema: {"test_top1": top1(ema, val_set, args, env, args.eval_steps)},
        on_trained=lambda ema: write_final(ema, pending, args, env, names),
    )  # fmt: skip
    ema = run.ema_model.eval()
    curve: dict[int, float] = {}
    skipped = list(run.metrics.get("skipped_metrics", []))
    if args.head == "tdd" and args.eval_curve:
        steps_list = [int(s) for s in args.eval_curve.split(",")]
        what = "the accuracy-vs-steps curve"
        curve = guarded(what, lambda: {s: top1(ema, val_set, args, env, s) for s in steps_list}, skipped) or {}
    result = {
        "test_top1": run.metrics.get("test_top1"),
        "eval_steps": args.eval_steps,
        "eval_cfg": args.eval_cfg,
        "accuracy_vs_steps": curve,
        "train_seconds": run.metrics["train_seconds"],
        "skipped_unreadable": run.metrics.get("skipped_unreadable", 0),
    }
    if skipped:
        result["skipped_metrics"] = skipped
    if env.is_main:
        write_final(ema, result, args, env, names)
        print(json.dumps(result), flush=True)
        push_final(args, Path(args.output) / "final")
    return result


if __name__ == "__main__":
    run_main(main, parse_args())
