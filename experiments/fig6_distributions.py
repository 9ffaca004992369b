"""Fig. 6 analog: the shipped TDD classifier's predicted distribution at each of 20 steps for a
few held-out digits, sharpening into a one-hot.

    python experiments/fig6_distributions.py
"""

from __future__ import annotations

import torch
from common import EVAL_SEED, command_line, experiment_parser, figure_file, markdown_table, test_data, write_result

from tdd.classify import classify
from tdd.models import PretrainedModel

MODEL = "digits-tdd"
IMAGES = (0, 1, 2, 3)  # held-out indices
SHOWN_STEPS = (0, 1, 2, 4, 9, 19)


def main() -> None:
    args = experiment_parser(__doc__).parse_args()
    model = PretrainedModel.from_pretrained(MODEL)
    x, y = test_data(args, model.config.image_size)
    g = torch.Generator().manual_seed(EVAL_SEED)
    result = classify(model, x[list(IMAGES)], steps=20, generator=g)
    probs = torch.stack([r.probs for r in result.records])  # (S, n, K)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(IMAGES), len(SHOWN_STEPS) + 1, figsize=(14, 2.2 * len(IMAGES)))
    for row, i in enumerate(IMAGES):
        axes[row, 0].imshow(x[i, 0].numpy(), cmap="gray")
        axes[row, 0].set_title(f"label {int(y[i])}")
        axes[row, 0].axis("off")
        for col, s in enumerate(SHOWN_STEPS, start=1):
            ax = axes[row, col]
            ax.bar(range(10), probs[s, row].numpy(), color="tab:blue")
            ax.set_ylim(0, 1)
            ax.set_xticks(range(10))
            ax.set_title(f"step {s + 1}/20 (t={int(result.records[s].t)})", fontsize=9)
    fig.suptitle("Fig. 6 analog: predicted class distribution per sampling step (digits-tdd)")
    fig.tight_layout()
    fig.savefig(figure_file(args, "fig6_distributions.png"), dpi=100)

    rows = []
    for row, i in enumerate(IMAGES):
        cells = [f"{int(probs[s, row].argmax())} ({float(probs[s, row].max()):.2f})" for s in SHOWN_STEPS]
        rows.append([f"#{i} (label {int(y[i])})", *cells])
    text = "# Fig. 6 analog: argmax (probability) per step, shipped `digits-tdd`\n\n"
    text += f"Command: `{command_line()}`. Sampling seed {EVAL_SEED}, 20 steps, argmax. Figure: `fig6_distributions.png`.\n\n"
    text += markdown_table(["held-out image", *(f"step {s + 1}" for s in SHOWN_STEPS)], rows)
    text += "\nWhat the network saw: the largest coordinate of the noisy 10-vector y_t at each shown step (pure noise at step 1):\n\n"
    noisy_rows = [[f"#{i} (label {int(y[i])})", *(str(int(result.records[s].noisy[row].argmax())) for s in SHOWN_STEPS)]
                  for row, i in enumerate(IMAGES)]  # fmt: skip
    text += markdown_table(["held-out image", *(f"step {s + 1}" for s in SHOWN_STEPS)], noisy_rows)
    mean_entropy = [float(r.entropy.mean()) for r in result.records]
    text += "\nMean entropy (nats) per step: " + ", ".join(f"{e:.3f}" for e in mean_entropy) + "\n"
    write_result(args, "fig6_distributions.md", text)


if __name__ == "__main__":
    main()
