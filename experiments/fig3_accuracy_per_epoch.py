"""Fig. 3 analog: held-out top-1 of the EMA weights after every epoch, TDD vs linear head.

Reads (or trains) the runs of Tab. 1, so it costs nothing after that script:

    python experiments/fig3_accuracy_per_epoch.py
"""

from __future__ import annotations

import statistics

from common import (
    command_line,
    experiment_parser,
    figure_file,
    load_metrics,
    markdown_table,
    seeds,
    train_run,
    write_result,
)


def main() -> None:
    args = experiment_parser(__doc__).parse_args()
    curves = {}
    for head in ("linear", "tdd"):
        per_seed = [load_metrics(train_run(args, f"tab1_{head}_seed{s}", head, s)) for s in seeds(args)]
        epochs = [row["epoch"] for row in per_seed[0] if "test_top1" in row]
        curves[head] = (epochs, [statistics.mean(r[i]["test_top1"] for r in per_seed) for i in range(len(epochs))])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for head, label in (("tdd", "TDD (20 steps)"), ("linear", "linear head")):
        ax.plot(*[curves[head][0], [100 * a for a in curves[head][1]]], label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"held-out top-1 % (mean of {len(seeds(args))} seeds)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Fig. 3 analog: accuracy per epoch (digits)")
    fig.tight_layout()
    png = figure_file(args, "fig3_accuracy_per_epoch.png")
    fig.savefig(png, dpi=120)

    epochs = curves["tdd"][0]
    marks = sorted({e for e in epochs if e in (1, 5, 10, 20, 30, 40, 50) or e % 10 == 0} | {epochs[-1]})
    rows = [
        [e, f"{100 * curves['linear'][1][epochs.index(e)]:.1f}", f"{100 * curves['tdd'][1][epochs.index(e)]:.1f}"]
        for e in marks
    ]
    text = "# Fig. 3 analog: held-out top-1 per epoch\n\n"
    text += f"Command: `{command_line()}` (the runs of Tab. 1, seeds {seeds(args)}, mean). Figure: `fig3_accuracy_per_epoch.png`.\n\n"
    text += markdown_table(["epoch", "linear head %", "TDD %"], rows)
    write_result(args, "fig3_accuracy_per_epoch.md", text)


if __name__ == "__main__":
    main()
