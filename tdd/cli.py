"""The ``tdd`` command line.

    tdd classify IMAGE [IMAGE ...] [--model NAME|DIR] [--steps N] [--cfg S]
                 [--to-one argmax|multinomial] [--temperature T] [--seed N] [--json] [-v]

classifies images of handwritten digits with a bundled model (``digits-tdd`` by default) or a
checkpoint directory, printing the label per image, and with ``--json`` one JSON object per line
with the label, the class probabilities and the per-step trajectory. An unreadable file gets a clear
error on stderr, the others are still classified, and the exit code is 1.

    tdd caption IMAGE [IMAGE ...] [--model NAME|DIR] [--method tdd|mdd|ar] [--steps N] [--cfg S]
                [--to-one argmax|multinomial] [--best-of N] [--seed N] [--json]

captions images with a captioner (by default the bundled ``scenes-<method>``, or a checkpoint
directory made by ``train/train_captioner.py``); ``--json`` prints one object per image with
``caption``, ``trajectory`` (the decoded sentence at each step) and ``seconds``.

    tdd bench [--captioners NAME ...] [--classifier NAME ...] [--quick] [--device cpu|cuda] [--compile]
              [--output DIR]

measures sampling latency, where the time goes, condition caching, quality vs time and training
throughput side by side (the bundled models by default); ``--output DIR`` also writes bench.md and
bench.json there (``--output results`` for the committed tables).

    tdd toy [--objective ce|ce_no_coef|eps_mse] [--train-steps N] [--steps S] [--cfg S] [--seed N] [--json]

trains a tiny denoiser on the toy task of :mod:`tdd.toy` (seconds on a CPU), prints one
example's denoising trajectory step by step, and the accuracy of sampled labels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tdd import rng

TOY_CANDIDATES = 64


def _toy(args: argparse.Namespace) -> int:
    from tdd.samplers import TDDSampler  # lazy: the CLI starts fast
    from tdd.toy import ToyConfig, ToyTask, toy_accuracy, toy_sampler, train_toy  # lazy: the CLI starts fast

    task = ToyTask(num_classes=args.classes, seed=args.seed)
    start = time.perf_counter()
    model, diffusion, losses = train_toy(
        task, ToyConfig(objective=args.objective, train_steps=args.train_steps, seed=args.seed)
    )
    train_s = time.perf_counter() - start
    sampler: TDDSampler = toy_sampler(diffusion, args.objective, steps=args.steps, cfg=args.cfg)
    # The example shown: of TOY_CANDIDATES conditions, the one the model is least sure of at the first
    # step — most conditions are certain from step 1 on this task, which leaves nothing to watch.
    g = rng.generator(args.seed + 100)
    cond, labels = task.batch(TOY_CANDIDATES, g)
    first = next(iter(sampler.iterate(model, cond, batch_size=len(cond), generator=g)))
    pick = int(first.top_probs[:, 0].argmin())
    cond, labels = cond[pick : pick + 1], labels[pick : pick + 1]
    records = list(sampler.iterate(model, cond, batch_size=1, generator=rng.generator(args.seed)))
    accuracy = toy_accuracy(model, sampler, task, n=args.eval_size, seed=args.seed + 200)
    trajectory = [
        {
            "step": r.step + 1,
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
    print(f"denoising the least certain of {TOY_CANDIDATES} examples (true label {summary['true_label']}), "
          "from y_T ~ N(0, I):")  # fmt: skip
    print(f"  {'step':>4} {'t':>5} {'argmax':>6} {'p(argmax)':>9} {'entropy':>8}")
    for row in trajectory:
        print(f"  {row['step']:>4} {row['t']:>5} {row['argmax']:>6} {row['p_argmax']:>9.3f} {row['entropy']:>8.3f}")
    print(f"top-1 accuracy of sampled labels on {args.eval_size} new conditions: {accuracy:.1%}")
    return 0


def _load_images(paths: list[str], preprocess, command: str) -> tuple[dict[int, Any], dict[int, str]]:
    """Preprocess each path: ``({index: input}, {index: error})``; each error is also said on stderr."""
    from tdd.data.images import ImageError  # lazy: the CLI starts fast

    inputs, errors = {}, {}
    for i, path in enumerate(paths):
        try:
            inputs[i] = preprocess(path)
        except ImageError as e:
            print(f"tdd {command}: error: {e}", file=sys.stderr)
            errors[i] = str(e)
    return inputs, errors


def _generators(seed: int, n: int) -> list:
    """One generator per image, each seeded with ``seed``: an image's result does not depend on what
    else is in the same call (:mod:`tdd.rng`)."""
    return rng.generators([seed] * n)


def _emit(paths: list[str], rows: dict[int, dict], errors: dict[int, str], as_json: bool, line) -> int:
    """Print one line per input, in input order: its result, or (JSON) ``{"image", "error"}``; exit 1 if any failed."""
    for i, path in enumerate(paths):
        if i in rows:
            print(json.dumps({"image": path, **rows[i]}) if as_json else line(path, rows[i]))
        elif as_json:
            print(json.dumps({"image": path, "error": errors[i]}))
    return 1 if errors else 0


def _step_lines(records, i: int) -> list[str]:
    """One line per denoising step (numbered 1…S): the timestep, the top-3 classes and the entropy."""
    lines = [f"  {'step':>4} {'t':>5}  {'top-3 classes (probability)':<36} {'entropy':>7}"]
    for r in records:
        top = "  ".join(f"{int(c)} ({float(p):.2f})" for p, c in zip(r.top_probs[i, :3], r.top_ids[i, :3]))
        lines.append(f"  {r.step + 1:>4} {int(r.t):>5}  {top:<36} {float(r.entropy[i]):>7.3f}")
    return lines


def _step_row(r, i: int) -> dict:
    """A classifier's step for JSON: the whole distribution where the record keeps it (K ≤ 128 and the
    last step), else the top candidates."""
    row = {"step": r.step + 1, "t": int(r.t), "label": int(r.tokens[i]), "entropy": round(float(r.entropy[i]), 5)}
    if r.probs is not None:
        row["probs"] = [round(float(p), 5) for p in r.probs[i]]
    else:
        row["top"] = [[int(c), round(float(p), 5)] for c, p in zip(r.top_ids[i], r.top_probs[i])]
    return row


def _classify(args: argparse.Namespace) -> int:
    import torch  # lazy: the CLI starts fast

    from tdd.classify import classify  # lazy: the CLI starts fast
    from tdd.data.digits import preprocess_image  # lazy: the CLI starts fast
    from tdd.data.emoji import preprocess_emoji  # lazy: the CLI starts fast
    from tdd.models.classifier import LinearClassifier, TDDClassifier  # lazy: the CLI starts fast
    from tdd.models.registry import PretrainedModel  # lazy: the CLI starts fast

    model = PretrainedModel.from_pretrained(args.model)
    if not isinstance(model, (TDDClassifier, LinearClassifier)):
        raise ValueError(f"{args.model} is a {type(model).__name__}, not an image classifier")
    size = model.config.image_size
    # a user image as the model's training data looked: a digit, or an emoji (3 channels, over white)
    emoji = model.checkpoint_extra.get("train_args", {}).get("data") == "emoji"
    preprocess = preprocess_emoji if emoji else preprocess_image
    inputs, errors = _load_images(args.images, lambda p: preprocess(p, size), "classify")
    names = model.checkpoint_extra.get("class_names")
    rows: dict[int, dict] = {}
    if inputs:
        result = classify(
            model,
            torch.stack(list(inputs.values())),
            steps=args.steps,
            cfg=args.cfg,
            to_one=args.to_one,
            temperature=args.temperature,
            generator=_generators(args.seed, len(inputs)),
        )
        for b, i in enumerate(inputs):
            label = int(result.labels[b])
            rows[i] = {"label": label, "p": float(result.probs[b, label]), "b": b}
            if isinstance(names, list) and len(names) == model.num_outputs:  # a classifier whose classes have names
                rows[i]["name"] = str(names[label])
            if args.json:
                rows[i] = {"label": label, "probs": [round(float(p), 5) for p in result.probs[b]],
                           "trajectory": [_step_row(r, b) for r in result.records],
                           **({"name": rows[i]["name"]} if "name" in rows[i] else {})}  # fmt: skip

    def line(path: str, row: dict) -> str:
        steps = _step_lines(result.records, row["b"]) if args.verbose and result.records else []
        named = f" {row['name']}" if "name" in row else ""
        return "\n".join([f"{path}: {row['label']}{named} (p = {row['p']:.3f})", *steps])

    return _emit(args.images, rows, errors, args.json, line)


def _caption(args: argparse.Namespace) -> int:
    import torch  # lazy: the CLI starts fast

    from tdd.caption import caption  # lazy: the CLI starts fast
    from tdd.data.domain import unlike_scenes  # lazy: the CLI starts fast
    from tdd.data.images import preprocess_rgb  # lazy: the CLI starts fast
    from tdd.data.tokenizer import decode, load_tokenizer  # lazy: the CLI starts fast
    from tdd.demo.truth import trained_on_scenes  # lazy: the CLI starts fast
    from tdd.models.captioner import ARCaptioner, MDDCaptioner, TDDCaptioner  # lazy: the CLI starts fast
    from tdd.models.registry import PretrainedModel, resolve_checkpoint  # lazy: the CLI starts fast

    name = args.model or f"scenes-{args.method}"
    model = PretrainedModel.from_pretrained(name)
    if not isinstance(model, (TDDCaptioner, MDDCaptioner, ARCaptioner)):
        raise ValueError(f"{name} is a {type(model).__name__}, not a captioner")
    tokenizer = load_tokenizer(resolve_checkpoint(name))
    size = model.config.image_size
    inputs, errors = _load_images(args.images, lambda p: preprocess_rgb(p, size), "caption")
    rows: dict[int, dict] = {}
    if inputs:
        n = 1 if isinstance(model, ARCaptioner) else args.best_of
        kw = (
            {}
            if isinstance(model, ARCaptioner)
            else dict(steps=args.steps, cfg=args.cfg, to_one=args.to_one, best_of=n)
        )
        if args.spacing is not None and isinstance(model, TDDCaptioner):
            kw["spacing"] = args.spacing
        # every image as a batch of one seeded --seed; with best of n its candidate b is seeded seed + b, as the
        # app seeds the candidates of a run (candidate 0 is the single answer)
        generators = [g for _ in inputs for g in rng.consecutive(args.seed, n)]
        result = caption(model, tokenizer, torch.stack(list(inputs.values())), generator=generators, **kw)
        per_image = result.seconds / len(inputs)
        for b, i in enumerate(inputs):
            trajectory = [decode(tokenizer, r.tokens[b : b + 1])[0] for r in result.records]
            rows[i] = {"caption": result.captions[b], "trajectory": trajectory, "seconds": per_image}
            if trained_on_scenes(model) and (note := unlike_scenes(args.images[i])):
                rows[i]["note"] = note  # what the captioner knows, for an image unlike its training scenes

    def line(path: str, row: dict) -> str:
        return f"{path}: {row['caption']}" + (f"\n{path}: note: {row['note']}" if "note" in row else "")

    return _emit(args.images, rows, errors, args.json, line)


def _spacing(text: str) -> str | list[int]:
    """``--spacing``: a name, or comma-separated timesteps."""
    if text in ("uniform", "informative"):
        return text
    try:
        return [int(t) for t in text.split(",")]
    except ValueError:
        expected = "expected uniform, informative or timesteps like 1000,300,50"
        raise argparse.ArgumentTypeError(f"{expected}; got {text!r}") from None


def _bench(argv: list[str]) -> int:
    """``tdd bench``: the benchmarks of :mod:`tdd.bench` on the bundled models (or the ones named)."""
    import json  # lazy: the CLI starts fast
    from pathlib import Path  # lazy: the CLI starts fast

    import torch  # lazy: the CLI starts fast

    from tdd.bench import BenchConfig, run  # lazy: the CLI starts fast
    from tdd.bench_report import to_markdown  # lazy: the CLI starts fast
    from tdd.data.tokenizer import load_tokenizer  # lazy: the CLI starts fast
    from tdd.demo import METHODS, task_of  # lazy: the CLI starts fast
    from tdd.models.registry import PretrainedModel, resolve_checkpoint  # lazy: the CLI starts fast

    p = argparse.ArgumentParser(prog="tdd bench", description=(
        "Sampling latency, where the time of a step goes, condition caching, quality vs time and training "
        "throughput, measured side by side in one run with interleaved repeats."))  # fmt: skip
    p.add_argument("--captioners", nargs="*", default=[f"scenes-{m}" for m in METHODS], help="names or directories")
    p.add_argument("--classifier", nargs="*", default=[task_of("classify").default_model], help="names or directories")
    p.add_argument("--device", default="cpu", help="cpu or cuda (bf16 training throughput, optional --compile)")
    p.add_argument("--quick", action="store_true", help="tiny repeat counts: checks that the benchmark runs")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--compile", action="store_true", help="torch.compile the models' forward")
    p.add_argument("--output", default=None, help="also write bench.md and bench.json into this directory")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("tdd bench: error: --device cuda but no CUDA device is available", file=sys.stderr)
        return 2
    cfg = BenchConfig.quick(args.device) if args.quick else BenchConfig(args.device)
    cfg.compile = args.compile
    cfg.repeats = args.repeats or cfg.repeats
    models = {}
    for name in [*args.captioners, *args.classifier]:
        model = PretrainedModel.from_pretrained(name, device=args.device)
        tok = load_tokenizer(resolve_checkpoint(name)) if model.task == "caption" else None
        models[name] = (model, tok)
    report = run(cfg, models)
    text = to_markdown(report, ("tdd bench " + " ".join(argv)).strip())
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        (out / "bench.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def _sampling_flags(p: argparse.ArgumentParser, *names: str) -> None:
    """The sampling flags ``names`` with the defaults and choices of :class:`SamplingConfig` (never copied)."""
    from tdd.samplers.config import SamplingConfig  # lazy: the CLI starts fast

    d, choices = SamplingConfig(), SamplingConfig.CHOICES
    flags = {
        "steps": dict(type=int, default=d.steps, help="sampling steps S (denoising models)"),
        "cfg": dict(type=float, default=d.cfg, help="classifier-free guidance scale (1: none)"),
        "to_one": dict(default=d.to_one, choices=choices["to_one"], help="the to-one operation of A.2"),
        "temperature": dict(type=float, default=d.temperature, help="for --to-one multinomial"),
        "best_of": dict(
            type=int,
            default=d.best_of,
            help=f"diffusion captioners: n candidates an image (1-{d.MAX_BEST_OF}), keep the one the model "
            "scores highest (tdd.rerank)",
        ),
    }
    for name in names:
        p.add_argument("--" + name.replace("_", "-"), **flags[name])  # type: ignore[arg-type]


def build_parser() -> argparse.ArgumentParser:
    from tdd.demo.common import METHODS  # lazy: the CLI starts fast
    from tdd.training.objectives import OBJECTIVES  # lazy: the CLI starts fast

    parser = argparse.ArgumentParser(prog="tdd", description="In-situ Tweedie Discrete Diffusion.")
    sub = parser.add_subparsers(dest="command", required=True)
    cls = sub.add_parser("classify", help="classify images of handwritten digits")
    cls.add_argument("images", nargs="+", metavar="IMAGE")
    cls.add_argument("--model", default="digits-tdd", help="bundled model name or checkpoint directory")
    _sampling_flags(cls, "steps", "cfg", "to_one", "temperature")
    cls.add_argument("--seed", type=int, default=0)
    cls.add_argument("--json", action="store_true", help="one JSON object per image with the trajectory")
    cls.add_argument("-v", "--verbose", action="store_true", help="print every denoising step")
    cls.set_defaults(func=_classify)
    cap = sub.add_parser("caption", help="caption images with a TDD, masked-diffusion or AR captioner")
    cap.add_argument("images", nargs="+", metavar="IMAGE")
    cap.add_argument("--model", default=None, help="bundled name or checkpoint directory (default scenes-METHOD)")
    cap.add_argument("--method", default=METHODS[0], choices=METHODS, help="picks the default model")
    _sampling_flags(cap, "steps", "cfg", "to_one", "best_of")
    cap.add_argument("--spacing", default=None, type=_spacing,
                     help="TDD sampling timesteps: uniform, informative or a list such as 1000,300,120,50 "
                          "(default: the checkpoint's own; a list sets the step count)")  # fmt: skip
    cap.add_argument("--seed", type=int, default=0)
    cap.add_argument("--json", action="store_true", help="one JSON object per image with the trajectory")
    cap.set_defaults(func=_caption)
    toy = sub.add_parser("toy", help="train a tiny denoiser on a toy task and watch it denoise (CPU, seconds)")
    toy.add_argument("--objective", default=OBJECTIVES[0], choices=OBJECTIVES)
    toy.add_argument("--classes", type=int, default=200, help="K, the number of classes")
    toy.add_argument("--train-steps", type=int, default=400)
    _sampling_flags(toy, "steps", "cfg")
    toy.add_argument("--eval-size", type=int, default=1000)
    toy.add_argument("--seed", type=int, default=0)
    toy.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    toy.set_defaults(func=_toy)
    data = sub.add_parser("data", help="what a dataset needs and which of its sources are here (tdd data emoji)")
    data.add_argument("dataset", choices=["emoji"])
    data.add_argument("--build", action="store_true", help="render and cache every style found (minutes)")
    data.set_defaults(func=_data)
    sub.add_parser("bench", help="benchmarks of the shipped models (see tdd bench --help)", add_help=False)
    return parser


def _data(args: argparse.Namespace) -> int:
    """``tdd data emoji``: the styles found, their concept counts, the commands that get the missing ones."""
    from tdd.data import emoji  # lazy: the CLI starts fast
    from tdd.data.emoji_styles import STYLES, locate  # lazy: the CLI starts fast

    print(emoji.report())
    if args.build:
        for name, style in STYLES.items():
            if locate(style) is not None:
                built = emoji.build_style(name)
                print(f"{name}: {len(built.keys)} glyphs cached in {emoji.cache_dir()}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own parser: tdd bench --help
        return _bench(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:  # bad arguments and checkpoints reach here as clear messages, not tracebacks
        print(f"tdd {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
