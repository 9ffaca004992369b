"""Fig. 9 analog: the decoded sentence at every denoising step for a few held-out scenes, TDD and
masked diffusion side by side (masked positions shown as _), and what TDD's noisy input y_t reads at each
step (its largest coordinate per position of the final sentence; tdd.noise_reads).

python experiments/fig9_sentences.py
"""

from __future__ import annotations

from captioning import held_out, load, parser, trained_style
from common import command_line, write_result

from tdd.caption import caption
from tdd.data.tokenizer import MASK_ID, PAD_ID
from tdd.noise_reads import noisy_argmax

IMAGES = (0, 1, 5, 8)
STEPS = 20


def sentence(record, tok, i: int = 0) -> str:
    words = []
    for j, t in enumerate(record.tokens[i].tolist()):
        if record.is_masked is not None and bool(record.is_masked[i, j]) or t == MASK_ID:
            words.append("_")
        elif t != PAD_ID:
            words.append(tok.id_to_token(t))
    return " ".join(words)


def noise_reads(records, tok) -> list[str]:
    """What y_t reads at each step, at the positions where the final sentence has a word (in a code span: the
    noise reads special tokens such as [PAD], which Markdown would take for links)."""
    words = [j for j, t in enumerate(records[-1].tokens[0].tolist()) if t != PAD_ID]
    return ["`" + " ".join(tok.id_to_token(int(noisy_argmax(r)[j])) for j in words) + "`" for r in records]


def main() -> None:
    import torch

    args = parser(__doc__).parse_args()
    steps = 3 if args.smoke else STEPS
    models = {m: load(args, m) for m in ("tdd", "mdd")}
    images, _, _, truths = held_out(
        max(IMAGES) + 1, "test", models["tdd"][0].config.image_size, trained_style(models["tdd"][0])
    )
    text = "# The sentence at every step (Fig. 9 analog)\n\n"
    text += f"Command: `{command_line()}`. {steps} steps, argmax, no CFG, seed {args.seed}; held-out test scenes {list(IMAGES)}.\n"
    text += "TDD's input y_t reads: the largest coordinate of the noisy one-hot state the network saw, at the positions of the final sentence's words (the first step's y_t is pure noise).\n"
    for k in IMAGES:
        text += f"\n## Scene {k}: “{truths[k]}”\n\n| step | TDD's input y_t reads | TDD | masked diffusion |\n"
        text += "|---|---|---|---|\n"
        rows = {}
        for method, (model, tok) in models.items():
            g = torch.Generator().manual_seed(args.seed)
            out = caption(model, tok, images[k : k + 1], generator=g, steps=steps)
            rows[method] = [sentence(r, tok) for r in out.records]
            if method == "tdd":
                rows["noise"] = noise_reads(out.records, tok)
        for s in range(steps):
            text += f"| {s + 1} | {rows['noise'][s]} | {rows['tdd'][s]} | {rows['mdd'][s]} |\n"
    write_result(args, "fig9_sentences.md", text)


if __name__ == "__main__":
    main()
