"""Train a TDD image classifier or its linear-head baseline.

argparse defaults are the paper's ImageNet recipe (§4.1, A.1); a YAML config overrides them and
command-line flags override the config. The bundled digits models:

    python train/train_classifier.py --config train/configs/digits_tdd.yaml
    python train/train_classifier.py --config train/configs/digits_linear.yaml

Ablations (Tab. 2) change one flag: ``--loss ce_no_coef`` (no ᾱ_t coefficient), ``--loss eps_mse``
(regression of ε), ``--cond-drop 0`` (no CFG training). Outputs under ``--output``:
``metrics.jsonl`` (one line per epoch: loss, test top-1 of the EMA weights) and ``final/``, the EMA
weights as a checkpoint directory loadable with ``PretrainedModel.from_pretrained``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from train_utils import lr_at, optimizer_step, parse_with_config  # noqa: E402

from tdd.checkpoint import atomic_write_text  # noqa: E402
from tdd.classify import accuracy, classifier_diffusion  # noqa: E402
from tdd.data.digits import NUM_DIGIT_CLASSES, DigitsDataset, load_digits_split, to_model_input  # noqa: E402
from tdd.models.classifier import ClassifierConfig, LinearClassifier, TDDClassifier  # noqa: E402
from tdd.training import OBJECTIVES, make_ema, tdd_loss  # noqa: E402


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=str, default=None, help="YAML file whose keys override these defaults")
    p.add_argument("--data", default="digits", choices=["digits"], help="dataset (digits: bundled with scikit-learn)")
    p.add_argument("--head", default="tdd", choices=["tdd", "linear"], help="TDD denoiser or linear baseline")
    p.add_argument("--loss", default="ce", choices=OBJECTIVES, help="TDD objective (Tab. 2)")
    # model
    p.add_argument("--encoder", default="vit_base_patch16_224", help="timm backbone name")
    p.add_argument("--encoder-kwargs", type=json.loads, default={}, help="JSON dict of timm.create_model overrides")
    p.add_argument("--pretrained-encoder", default=None, help="local weights file for the encoder")
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
    p.add_argument("--schedule", default="linear", choices=["linear", "cosine"])
    p.add_argument("--num-timesteps", type=int, default=1000)
    p.add_argument("--kfold", type=int, default=4, help="§3.3 feature reuse: timesteps per image (MAR: 4)")
    p.add_argument("--cond-drop", type=float, default=0.1, help="condition dropout for CFG")
    # optimisation (paper §4.1, A.1)
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=4096, help="effective batch size")
    p.add_argument("--blr", type=float, default=1e-4, help="base learning rate; lr = blr · batch / 256")
    p.add_argument("--weight-decay", type=float, default=0.3)
    p.add_argument("--warmup-epochs", type=int, default=20)
    p.add_argument("--grad-clip", type=float, default=3.0)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--ema-decay", type=float, default=0.9999)
    # evaluation
    p.add_argument("--eval-steps", type=int, default=20, help="sampling steps for evaluation")
    p.add_argument("--eval-cfg", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=1, help="epochs between evaluations (0: only at the end)")
    # run
    p.add_argument("--output", default="runs/classifier")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many optimizer steps (smoke tests)")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Defaults ← YAML config ← command line."""
    return parse_with_config(get_parser(), argv)


def build_model(args: argparse.Namespace) -> TDDClassifier | LinearClassifier:
    fields = {f.name for f in dataclasses.fields(ClassifierConfig)}
    config = ClassifierConfig(
        **{k: v for k, v in vars(args).items() if k in fields},
        num_classes=NUM_DIGIT_CLASSES,
        parameterization="epsilon" if args.loss == "eps_mse" else "x0",
    )
    cls = TDDClassifier if args.head == "tdd" else LinearClassifier
    return cls(config, pretrained_encoder=args.pretrained_encoder)


def main(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    split = load_digits_split()
    train_set = DigitsDataset(split.train_images, split.train_labels, args.image_size, train=True)
    test_inputs = to_model_input(split.test_images, args.image_size)
    g = torch.Generator().manual_seed(args.seed)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True, generator=g)

    model = build_model(args)
    ema = make_ema(model, decay=args.ema_decay)
    lr = args.blr * args.batch_size / 256
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=args.weight_decay, betas=(0.9, 0.95))
    steps_per_epoch = len(loader)
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = args.warmup_epochs * steps_per_epoch
    diffusion = classifier_diffusion(model) if args.head == "tdd" else None
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.head} classifier, {n_params / 1e6:.2f}M parameters, {total_steps} steps, lr {lr:.2e}", flush=True)

    def evaluate() -> float:
        return accuracy(ema.module, test_inputs, split.test_labels, steps=args.eval_steps, cfg=args.eval_cfg)

    metrics_path = out / "metrics.jsonl"
    metrics_path.unlink(missing_ok=True)
    step, start, top1 = 0, time.perf_counter(), float("nan")
    for epoch in range(args.epochs):
        model.train()
        losses = []
        for images, labels in loader:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, warmup_steps, lr)
            if args.head == "linear":
                loss = torch.nn.functional.cross_entropy(model(images), labels, label_smoothing=args.label_smoothing)
            else:
                loss = tdd_loss(
                    model,
                    diffusion,
                    model.encode(images),  # (B, W): the image path runs once, reused by the k timesteps
                    labels,
                    objective=args.loss,
                    kfold=args.kfold,
                    cond_drop=args.cond_drop,
                    label_smoothing=args.label_smoothing,
                    generator=g,
                )
            step = optimizer_step(loss, model, optimizer, ema, step, args.grad_clip)
            losses.append(loss.item())
            if args.max_steps and step >= args.max_steps:
                break
        last_epoch = epoch == args.epochs - 1 or (args.max_steps and step >= args.max_steps)
        row = {"epoch": epoch + 1, "step": step, "loss": sum(losses) / max(1, len(losses))}
        if last_epoch or (args.eval_every and (epoch + 1) % args.eval_every == 0):
            top1 = evaluate()
            row["test_top1"] = top1
        row["seconds"] = round(time.perf_counter() - start, 1)
        with open(metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        if last_epoch:
            break

    result = {
        "test_top1": top1,
        "eval_steps": args.eval_steps,
        "eval_cfg": args.eval_cfg,
        "train_seconds": row["seconds"],
    }
    ema.module.save_pretrained(out / "final", extra={"train_args": vars(args), "result": result})
    atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main(parse_args())
