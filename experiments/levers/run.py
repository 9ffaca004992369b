"""Running one row: train it (reused when its run is finished), then evaluate it into a record."""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import torch
from captioning import held_out, trained_style
from common import run_script
from levers.rows import BANDS, BASE, CONFIGS, ROWS, STEP_COUNTS, TIMING_IMAGES, TRAINS_AS

from tdd.caption import caption
from tdd.data.scenes import SCENES_VERSION, caption_metrics
from tdd.data.tokenizer import encode, load_tokenizer
from tdd.diagnostics import teacher_forced_curve
from tdd.diffusion import TweedieDiffusion
from tdd.models.registry import PretrainedModel


def size_tag(budget: float | None, budget_steps: int | None) -> str:
    """A row's budget in its run folder's and record's name: ``b<seconds>``, or ``n<steps>`` with a step budget."""
    return f"n{budget_steps}" if budget_steps else f"b{budget:g}"


def run_dir(args, row: str, budget: float | None = None, seed: int | None = None) -> Path:
    budget = args.budget if budget is None else budget
    seed = args.seed if seed is None else seed
    size = size_tag(budget, args.budget_steps)
    return Path(args.runs_dir).parent / "levers" / f"{TRAINS_AS.get(row, row)}_{size}_s{seed}"


def train_row(args, row: str) -> Path:
    method, flags, _ = ROWS[row]
    out = run_dir(args, row)
    if (out / "final" / "config.json").is_file():
        print(f"reusing {out}", flush=True)
        return out
    length = ["--time-budget", str(args.budget), "--budget-clock", "cpu", "--steps", "100000"]
    if args.budget_steps:
        length = ["--steps", str(args.budget_steps)]
    argv = ["--config", str(CONFIGS[method]), *BASE, *flags, "--seed", str(args.seed), "--threads", "1", *length,
            "--eval-every", "0", "--log-every", "100", "--save-every", "200", "--eval-size", "16", "--output", str(out),
            "--resume"]  # fmt: skip
    if args.smoke:
        argv += ["--time-budget", "3", "--train-size", "64", "--batch-size", "8", "--warmup-steps", "2"]
    print(f"training {row}: {' '.join(argv)}", flush=True)
    run_script("train_captioner.py", argv)
    return out


def band_ce(model, tokenizer, images, references, seed: int) -> dict[str, float]:
    """Teacher-forced CE (nats/token) averaged over a few t in each band of ``BANDS``."""
    c = model.config
    diffusion = TweedieDiffusion(c.vocab_size, c.schedule, c.num_timesteps, c.onehot_scale)
    tokens, _ = encode(tokenizer, [r[0] for r in references], c.max_len, truncate=True)
    g = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        cond = model.encode(images)
        out = {}
        for lo, hi in BANDS:
            ts = torch.linspace(lo, hi, 5).round().long().tolist()
            rows = teacher_forced_curve(model, diffusion, cond, tokens, ts, generator=g)
            out[f"ce_{lo}_{hi}"] = statistics.mean(r["ce"] for r in rows)
    return out


def evaluate_row(args, row: str, out: Path) -> dict:
    method, _, sampling = ROWS[row]
    model = PretrainedModel.from_pretrained(out / "final").eval()
    tokenizer = load_tokenizer(out / "final")
    n = 8 if args.smoke else args.eval_size
    images, descriptions, references, _ = held_out(n, "test", model.config.image_size, trained_style(model))
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    trained = next(m for m in reversed(metrics) if "seconds" in m)
    budget = {"budget_steps": args.budget_steps} if args.budget_steps else {"budget": args.budget}
    result = {"row": row, "method": method, "seed": args.seed, **budget, "steps": trained["step"],
              "images_seen": trained["step"] * model.checkpoint_extra["train_args"]["batch_size"],
              "train_seconds": trained["seconds"], "cpu_seconds": trained.get("budget_seconds"),
              "eval_size": n, "scenes_version": SCENES_VERSION, "cpu": cpu_name()}  # fmt: skip
    counts = (None,) if method == "ar" else STEP_COUNTS
    for steps in counts:
        kw = {} if steps is None else {"steps": steps, **sampling}
        captions = []
        g = torch.Generator().manual_seed(args.seed)
        for i in range(0, n, 100):
            captions += caption(model, tokenizer, images[i : i + 100], generator=g, **kw).captions
        result[f"at_{steps or 'greedy'}"] = caption_metrics(captions, descriptions)
    timing_kw = {} if method == "ar" else {"steps": 20, **sampling}
    times = []
    for x in images[:TIMING_IMAGES]:
        start = time.process_time()  # CPU time of this one-thread process: other work on the machine does not count
        caption(model, tokenizer, x[None], generator=torch.Generator().manual_seed(0), **timing_kw)
        times.append(time.process_time() - start)
    result["ms_per_caption"] = 1000 * statistics.median(times)
    if method == "tdd":
        result.update(band_ce(model, tokenizer, images, references, args.seed))
    (out / f"ablation_{row}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), flush=True)
    return result


def cpu_name() -> str:
    """This machine's CPU model (``/proc/cpuinfo``'s model name where there is one), kept in each record."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_of(record: dict) -> str:
    """The CPU a record was made on; records from before the field were all made on one machine, not named."""
    return record.get("cpu", LEGACY_CPU)


LEGACY_CPU = "earlier machine (not recorded)"


def run_row(args, row: str) -> dict:
    torch.set_num_threads(1)
    return evaluate_row(args, row, train_row(args, row))
