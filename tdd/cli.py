"""The ``tdd`` command line.

    tdd toy [--objective ce|ce_no_coef|eps_mse] [--train-steps N] [--steps S] [--cfg S] [--seed N] [--json]

trains a tiny denoiser on the toy task of :mod:`tdd.toy` (seconds on a CPU), prints one
example's denoising trajectory step by step, and the accuracy of sampled labels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _toy(args: argparse.Namespace) -> int:
    import torch

    from tdd.samplers import TDDSampler
    from tdd.toy import ToyConfig, ToyTask, toy_accuracy, toy_sampler, train_toy

    task = ToyTask(num_classes=args.classes, seed=args.seed)
    start = time.perf_counter()
    model, diffusion, losses = train_toy(
        task, ToyConfig(objective=args.objective, train_steps=args.train_steps, seed=args.seed)
    )
    train_s = time.perf_counter() - start
    sampler: TDDSampler = toy_sampler(diffusion, args.objective, steps=args.steps, cfg=args.cfg)
    g = torch.Generator().manual_seed(args.seed + 100)
    cond, labels = task.batch(1, g)
    records = list(sampler.iterate(model, cond, batch_size=1, generator=g))
    accuracy = toy_accuracy(model, sampler, task, n=args.eval_size, seed=args.seed + 200)
    trajectory = [
        {
            "step": r.step,
            "t": int(r.t),
            "argmax": int(r.tokens[0]),
            "p_argmax": round(float(r.top_probs[0, 0]), 4),
            "entropy": round(float(r.entropy[0]), 4),
        }
        for r in records
    ]
    summary = {
        "objective": args.objective,
        "classes": args.classes,
        "train_steps": args.train_steps,
        "train_seconds": round(train_s, 2),
        "final_loss": round(losses[-1], 5),
        "sampling_steps": args.steps,
        "cfg": args.cfg,
        "true_label": int(labels[0]),
        "trajectory": trajectory,
        "accuracy": accuracy,
        "eval_size": args.eval_size,
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"trained a {args.objective!r} denoiser on the {args.classes}-class toy task in {train_s:.1f}s")
    print(f"denoising one example (true label {summary['true_label']}), from y_T ~ N(0, I):")
    print(f"  {'step':>4} {'t':>5} {'argmax':>6} {'p(argmax)':>9} {'entropy':>8}")
    for row in trajectory:
        print(f"  {row['step']:>4} {row['t']:>5} {row['argmax']:>6} {row['p_argmax']:>9.3f} {row['entropy']:>8.3f}")
    print(f"top-1 accuracy of sampled labels on {args.eval_size} new conditions: {accuracy:.1%}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tdd", description="In-situ Tweedie Discrete Diffusion.")
    sub = parser.add_subparsers(dest="command", required=True)
    toy = sub.add_parser("toy", help="train a tiny denoiser on a toy task and watch it denoise (CPU, seconds)")
    toy.add_argument("--objective", default="ce", choices=["ce", "ce_no_coef", "eps_mse"])
    toy.add_argument("--classes", type=int, default=200, help="K, the number of classes")
    toy.add_argument("--train-steps", type=int, default=400)
    toy.add_argument("--steps", type=int, default=20, help="sampling steps S")
    toy.add_argument("--cfg", type=float, default=1.0, help="classifier-free guidance scale")
    toy.add_argument("--eval-size", type=int, default=1000)
    toy.add_argument("--seed", type=int, default=0)
    toy.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    toy.set_defaults(func=_toy)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:  # bad arguments reach here as clear messages, not tracebacks
        print(f"tdd {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
