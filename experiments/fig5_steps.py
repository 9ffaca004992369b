"""Fig. 5 analog: held-out top-1 vs the number of sampling steps, with and without the ᾱ_t coefficient.

Reuses the CE run of Tab. 1 and the no-coefficient run of Tab. 2:

    python experiments/fig5_steps.py
"""

from __future__ import annotations

from common import (
    EVAL_SEED,
    command_line,
    experiment_parser,
    figure_file,
    markdown_table,
    test_data,
    train_run,
    write_result,
)

from tdd.classify import accuracy
from tdd.models import PretrainedModel

STEPS = (1, 2, 5, 10, 20, 50)


def main() -> None:
    args = experiment_parser(__doc__).parse_args()
    runs = {
        "w/ ᾱ_t coefficient": train_run(args, "tab1_tdd_seed0", "tdd", 0),
        "w/o ᾱ_t coefficient": train_run(args, "tab2_ce_no_coef_seed0", "tdd", 0, "--loss", "ce_no_coef"),
    }
    curves = {}
    for label, run in runs.items():
        model = PretrainedModel.from_pretrained(run / "final")
        x, y = test_data(args, model.config.image_size)
        curves[label] = [accuracy(model, x, y, steps=s, seed=EVAL_SEED) for s in STEPS]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, accs in curves.items():
        ax.plot(STEPS, [100 * a for a in accs], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xticks(STEPS, [str(s) for s in STEPS])
    ax.set_xlabel("sampling steps")
    ax.set_ylabel("held-out top-1 %")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Fig. 5 analog: accuracy vs sampling steps (digits)")
    fig.tight_layout()
    fig.savefig(figure_file(args, "fig5_steps.png"), dpi=120)

    rows = [[label, *(f"{100 * a:.2f}" for a in accs)] for label, accs in curves.items()]
    text = f"# Fig. 5 analog: top-1 % vs sampling steps (digits, held-out MNIST, {len(y):,} images)\n\n"
    text += f"Command: `{command_line()}`. Training seed 0, evaluation seed {EVAL_SEED}, argmax, no CFG. "
    text += "Figure: `fig5_steps.png`.\n\n"
    text += markdown_table(["model", *(f"{s} steps" for s in STEPS)], rows)
    text += "\n"
    one_image = 100 / len(y)
    gains = []
    for label, accs in curves.items():
        best = max(range(len(STEPS)), key=lambda i: accs[i])
        gains.append(100 * (accs[best] - accs[0]))
        text += (
            f"- {label}: best at {STEPS[best]} steps ({100 * accs[best]:.2f} %), {gains[-1]:+.2f} points over 1 step.\n"
        )
    small = max(gains) <= 3 * one_image
    text += (
        f"\nThe paper finds ~10 steps good and 20 best on ImageNet. Here the largest gain of more steps over one step is "
        f"{max(gains):.2f} points ({max(gains) / one_image:.0f} of {len(y)} test images): "
        + ("within three images, so the step count matters little on digits.\n" if small else "more steps help.\n")
    )
    write_result(args, "fig5_steps.md", text)


if __name__ == "__main__":
    main()
