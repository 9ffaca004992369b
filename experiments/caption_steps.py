"""Caption quality vs sampling steps {1, 2, 5, 10, 20, 50} for TDD and MDD, with the wall time per
caption at each point (batch 1, median), and the AR captioner's point on the same plot.

python experiments/caption_steps.py
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from captioning import (  # noqa: E402
    caption_batched,
    eval_size,
    figure_path,
    held_out,
    load,
    parser,
    pct,
    score,
    seconds_per_caption,
    trained_style,
)
from common import command_line, markdown_table, write_result  # noqa: E402

STEPS = (1, 2, 5, 10, 20, 50)
TIMED_IMAGES = 20


def main() -> None:
    args = parser(__doc__).parse_args()
    n = eval_size(args)
    steps = (1, 2) if args.smoke else STEPS
    timed = 2 if args.smoke else TIMED_IMAGES
    rows, points = [], {}
    for method in ("tdd", "mdd", "ar"):
        model, tok = load(args, method)
        images, descriptions, references, _ = held_out(n, "test", model.config.image_size, trained_style(model))
        for s in steps if method != "ar" else (model.config.max_len,):
            sampling = {} if method == "ar" else {"steps": s}
            captions, _ = caption_batched(model, tok, images, args.seed, **sampling)
            m = score(captions, descriptions, references)
            ms = 1000 * seconds_per_caption(model, tok, images[:timed], args.seed, **sampling)
            rows.append(
                [method, s, pct(m["exact_match"]), pct(m["shape"]), pct(m["colour"]), f"{m['cider']:.2f}", f"{ms:.1f}"]
            )
            points.setdefault(method, []).append((ms, 100 * m["exact_match"], s))
    text = f"# Caption quality vs sampling steps ({n} held-out scenes)\n\n"
    text += (
        f"Command: `{command_line()}`. Seed {args.seed}; argmax, no CFG. Time: median ms per caption at batch 1 over "
    )
    text += f"{timed} images on this machine (AR: greedy decoding of {rows[-1][1]} tokens with a KV cache; its 'steps' are tokens).\n\n"
    text += markdown_table(["method", "steps", "exact %", "shape %", "colour %", "CIDEr", "ms / caption"], rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, pts in points.items():
        xs, ys, labels = zip(*pts)
        ax.plot(xs, ys, "o-" if len(pts) > 1 else "s", label=method.upper())
        for x, y, s in pts:
            ax.annotate(str(s), (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("ms per caption (batch 1, this CPU)")
    ax.set_ylabel("exact match %")
    ax.set_title("Quality vs latency (labels: steps)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(figure_path(args, "caption_steps.png"), dpi=120)
    write_result(args, "caption_steps.md", text)


if __name__ == "__main__":
    main()
