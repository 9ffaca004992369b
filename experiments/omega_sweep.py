"""The DLC appendix's ω sweep for the masked-diffusion sampler: ω ∈ {0, 0.001, 0.01, 0.1, 0.5} remasking
inside the window [0.3, 0.55] of the steps. Does the U-curve appear?

The appendix's ω is a per-step rate of a 4096-step sampler. Here it is read that way at every step
count (``MDDSampler(omega_steps=4096)``: a decoded token survives the window with probability
(1 − ω)^A, A = 1024 active steps of 4096, whatever S), at S = 20 (the app), 256 and 1024 steps.

The DLC sampler draws its tokens; with argmax decoding a remasked token is mostly predicted again the
same way, so ``--to-one multinomial`` (results/omega_sweep_multinomial.md) is the faithful test.

python experiments/omega_sweep.py
python experiments/omega_sweep.py --to-one multinomial --steps 256 1024
"""

from __future__ import annotations

from captioning import caption_batched, eval_size, held_out, load, parser, pct, score, trained_style
from common import command_line, markdown_table, write_result

from tdd.samplers.config import TO_ONE

OMEGAS = (0.0, 0.001, 0.01, 0.1, 0.5)
WINDOW = (0.3, 0.55)
STEP_COUNTS = (20, 256, 1024)
OMEGA_STEPS = 4096  # the DLC appendix samples for 4096 steps


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--steps", type=int, nargs="+", default=list(STEP_COUNTS))
    # the DLC sampler draws its tokens; with argmax a remasked token is predicted again the same way
    p.add_argument("--to-one", default="argmax", choices=TO_ONE, help="how a step turns probabilities into tokens")
    args = p.parse_args()
    n = eval_size(args)
    model, tok = load(args, "mdd")
    images, descriptions, references, _ = held_out(n, "test", model.config.image_size, trained_style(model))
    rows, verdicts = [], []
    for steps in [2] if args.smoke else args.steps:
        exact = []
        for omega in OMEGAS:
            captions, _ = caption_batched(
                model, tok, images, args.seed, steps=steps, omega=omega, window=WINDOW, omega_steps=OMEGA_STEPS,
                to_one=args.to_one,
            )  # fmt: skip
            m = score(captions, descriptions, references)
            exact.append(m["exact_match"])
            row = [steps, omega, pct(m["exact_match"]), pct(m["shape"]), pct(m["colour"])]
            rows.append(row + [f"{m['bleu4']:.3f}", f"{m['cider']:.2f}"])
            print(rows[-1], flush=True)
        best = exact.index(max(exact))
        u_curve = 0 < best < len(exact) - 1 and exact[best] > exact[0] and exact[best] > exact[-1]
        verdicts.append(f"- {steps} steps: {'appears' if u_curve else 'does **not** appear'}; best ω = {OMEGAS[best]}")
    text = f"# ω remasking sweep, masked diffusion (scenes-mdd), {n} held-out scenes\n\n"
    text += f"Command: `{command_line()}`. Low-confidence remasking, window {list(WINDOW)} (ends included), "
    text += f"ω read as the per-step rate of a {OMEGA_STEPS}-step sampler (the DLC appendix's), seed {args.seed}."
    if args.to_one != "argmax":
        text += f" Tokens drawn by {args.to_one} (temperature 1), as the DLC sampler draws them."
    text += "\n\n"
    text += markdown_table(["steps", "ω", "exact %", "shape %", "colour %", "BLEU-4", "CIDEr"], rows)
    text += "\nU-curve (an interior ω beats both ends in exact match):\n" + "\n".join(verdicts) + "\n"
    write_result(args, "omega_sweep.md" if args.to_one == "argmax" else f"omega_sweep_{args.to_one}.md", text)


if __name__ == "__main__":
    main()
