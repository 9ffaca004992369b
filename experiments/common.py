"""Shared by the experiment scripts: cached training runs, evaluation and markdown output.

Every run is ``train/train_classifier.py`` with the bundled digits config plus overrides, keyed by
its name under ``--runs-dir``; a run whose ``result.json`` exists with the same arguments is reused,
so the scripts can share runs (Fig. 3 and Fig. 5 read the runs of Tab. 1 and Tab. 2).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFIGS = {
    "tdd": ROOT / "train" / "configs" / "digits_tdd.yaml",
    "linear": ROOT / "train" / "configs" / "digits_linear.yaml",
}
EXPERIMENT_EPOCHS = 12  # the shipped models train 60 epochs of MNIST; the experiments scale down to fit the CPU
SEEDS = (0, 1, 2)
EVAL_SEED = 0
SMOKE_TEST_IMAGES = 64  # a smoke run scores this many held-out images: the script runs, the numbers mean nothing


def experiment_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=EXPERIMENT_EPOCHS)
    p.add_argument("--runs-dir", default=str(ROOT / "runs" / "experiments"))
    p.add_argument("--results-dir", default=str(ROOT / "results"))
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="training seeds (Tab. 1, Fig. 3)")
    p.add_argument("--smoke", action="store_true", help="a few iterations and the first seed only: the script runs")
    return p


def seeds(args: argparse.Namespace) -> list[int]:
    """The training seeds of a multi-seed table; a smoke run takes the first only."""
    return args.seeds[:1] if args.smoke else args.seeds


def train_run(
    args: argparse.Namespace, name: str, head: str, seed: int, *extra: str, config: Path | None = None
) -> Path:
    """Train (or reuse) one run (the digits config of ``head`` unless ``config``); returns its directory
    (``final/`` holds the EMA checkpoint)."""
    out = Path(args.runs_dir) / name
    config = config or CONFIGS[head]
    argv = ["--config", str(config), "--seed", str(seed), "--epochs", str(args.epochs)]
    argv += ["--eval-every", "1", "--output", str(out), *extra]
    if args.smoke:
        argv += ["--max-steps", "2", "--eval-steps", "2", "--epochs", "1"]
        argv += ["--eval-size", str(SMOKE_TEST_IMAGES), "--eval-curve", "1,2"]  # the end-of-run curve on a few images
    key = json.dumps(argv)
    done = out / "run_key.json"
    if (out / "result.json").is_file() and done.is_file() and done.read_text() == key:
        print(f"reusing {out}", flush=True)
        return out
    if any((out / "checkpoints").glob("*.pt")):
        argv_run = [*argv, "--resume"]  # a killed run continues from its last checkpoint
    else:
        argv_run = argv
    print(f"training {name}: {' '.join(argv_run)}", flush=True)
    run_script("train_classifier.py", argv_run)
    done.write_text(key)
    return out


def run_script(script: str, argv: list[str]) -> None:
    """Run a training script of ``train/`` as its own process (scripts are not imported as modules)."""
    done = subprocess.run([sys.executable, str(ROOT / "train" / script), *argv])
    if done.returncode:
        raise SystemExit(f"train/{script} failed with exit code {done.returncode}")


def figure_file(args: argparse.Namespace, name: str) -> str:
    """Where a figure goes: ``--results-dir/name``, the folder made if needed."""
    Path(args.results_dir).mkdir(parents=True, exist_ok=True)
    return str(Path(args.results_dir) / name)


def recipe_note() -> str:
    """The bundled digits recipe in words, read from its config (so the tables cannot go stale)."""
    import yaml

    c = yaml.safe_load(CONFIGS["tdd"].read_text(encoding="utf-8"))
    return (f"timm `{c['encoder']}` at {c['image_size']} px + conditioning module (the shipped models train "
            f"{c['epochs']} epochs)")  # fmt: skip


def load_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def smoke_subset(args: argparse.Namespace, images, labels):
    """``images, labels`` as they are, or their first :data:`SMOKE_TEST_IMAGES` in a smoke run."""
    return (images[:SMOKE_TEST_IMAGES], labels[:SMOKE_TEST_IMAGES]) if args.smoke else (images, labels)


def test_data(args: argparse.Namespace, image_size: int):
    """The held-out MNIST images as the model reads them, and their labels (the first few in a smoke run)."""
    from tdd.data.digits import load_digits_split, to_model_input

    split = load_digits_split()
    images, labels = smoke_subset(args, split.test_images, split.test_labels)
    return to_model_input(images, image_size), labels


def mean_std(values: list[float]) -> str:
    pct = [100 * v for v in values]
    if len(pct) == 1:
        return f"{pct[0]:.2f}"
    return f"{statistics.mean(pct):.2f} ± {statistics.stdev(pct):.2f}"


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_result(args: argparse.Namespace, filename: str, text: str) -> Path:
    path = Path(args.results_dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(text)
    return path


def command_line() -> str:
    """The command that ran this script, relative to the repository root."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return " ".join(["python", str(shown), *sys.argv[1:]])
