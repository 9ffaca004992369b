"""Tab. 1 analog: TDD vs the linear head on the same backbone and budget, mean ± std over 3 seeds.

python experiments/tab1_tdd_vs_linear.py            # ≈ 25 min on a 2-core CPU
"""

from __future__ import annotations

import json
import math
import statistics

from common import (
    command_line,
    experiment_parser,
    load_metrics,
    markdown_table,
    mean_std,
    recipe_note,
    seeds,
    train_run,
    write_result,
)


def main() -> None:
    args = experiment_parser(__doc__).parse_args()
    rows, finals = [], {}
    for head in ("linear", "tdd"):
        tops, seconds = [], []
        for seed in seeds(args):
            run = train_run(args, f"tab1_{head}_seed{seed}", head, seed)
            result = json.loads((run / "result.json").read_text())
            tops.append(result["test_top1"])
            seconds.append(result["train_seconds"])
        finals[head] = tops
        name = (
            "linear head (standard classification)" if head == "linear" else "TDD (ᾱ_t-weighted CE, 20 steps, argmax)"
        )
        per_seed = ", ".join(f"{100 * t:.2f}" for t in tops)
        rows.append([name, mean_std(tops), per_seed, ", ".join(f"{x:.0f}" for x in seconds)])
    epochs = load_metrics(run)[-1]["epoch"]
    gap = 100 * (statistics.mean(finals["tdd"]) - statistics.mean(finals["linear"]))
    # standard error of the difference of two means over the seeds
    se = 100 * math.sqrt(sum(statistics.variance(v) / len(v) for v in finals.values())) if len(seeds(args)) > 1 else 0.0
    if gap > 2 * se:
        verdict = "reproduces: TDD is above the linear head by more than two standard errors"
    elif gap < -2 * se:
        verdict = "does **not** reproduce: TDD is below the linear head by more than two standard errors"
    else:
        verdict = f"is not resolved: the gap is within two standard errors (±{2 * se:.2f} points)"
    text = "# Tab. 1 analog: TDD vs linear head (digits, held-out MNIST, 1,000 images)\n\n"
    text += f"Command: `{command_line()}`. Seeds {seeds(args)} (training); evaluation seed 0. "
    text += f"{epochs} epochs each, the same backbone ({recipe_note()}), optimizer, augmentation and batch; "
    text += "EMA weights, final epoch (no selection on the test set). Train seconds are wall-clock on a 2-core "
    text += "machine shared with other work, so they vary between seeds.\n\n"
    text += markdown_table(["method", "top-1 % (mean ± std)", "per seed", "train seconds per seed"], rows)
    text += f"\nTDD − linear = {gap:+.2f} points (standard error {se:.2f}). The paper's claim (82.8 vs 82.3 on ImageNet, ViT-B/16) {verdict} "
    text += "at this scale.\n"
    write_result(args, "tab1_tdd_vs_linear.md", text)


if __name__ == "__main__":
    main()
