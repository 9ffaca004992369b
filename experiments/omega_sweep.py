"""The DLC appendix's ω sweep for the masked-diffusion sampler: ω ∈ {0, 0.001, 0.01, 0.1, 0.5}
remasking inside the window [0.3, 0.55] of the steps. Does the U-curve appear?

python experiments/omega_sweep.py
"""

from __future__ import annotations

from captioning import caption_batched, eval_size, held_out, load, parser, pct, score
from common import command_line, markdown_table, write_result

OMEGAS = (0.0, 0.001, 0.01, 0.1, 0.5)
WINDOW = (0.3, 0.55)
STEPS = 20


def main() -> None:
    args = parser(__doc__).parse_args()
    n = eval_size(args)
    model, tok = load(args, "mdd")
    images, descriptions, references, _ = held_out(n, "test", model.config.image_size)
    rows = []
    for omega in OMEGAS:
        captions, _ = caption_batched(model, tok, images, args.seed, steps=STEPS, omega=omega, window=WINDOW)
        m = score(captions, descriptions, references)
        rows.append(
            [omega, pct(m["exact_match"]), pct(m["shape"]), pct(m["colour"]), f"{m['bleu4']:.3f}", f"{m['cider']:.2f}"]
        )
    exact = [float(r[1]) for r in rows]
    best = exact.index(max(exact))
    u_curve = 0 < best < len(exact) - 1 and exact[best] > exact[0] and exact[best] > exact[-1]
    text = f"# ω remasking sweep, masked diffusion (scenes-mdd), {n} held-out scenes\n\n"
    text += f"Command: `{command_line()}`. {STEPS} steps, low-confidence remasking, window {list(WINDOW)}, seed {args.seed}.\n\n"
    text += markdown_table(["ω", "exact %", "shape %", "colour %", "BLEU-4", "CIDEr"], rows)
    verdict = "appears" if u_curve else "does **not** appear"
    text += f"\nU-curve (an interior ω beats both ends in exact match): {verdict}; best ω = {OMEGAS[best]}.\n"
    write_result(args, "omega_sweep.md", text)


if __name__ == "__main__":
    main()
