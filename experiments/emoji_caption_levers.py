"""TDD's levers on the emoji captioner (#40): does a change of the TDD recipe close the gap to the AR captioner at
the same budget? Each lever is ``train/configs/emoji_caption_tdd.yaml`` with a few flags changed, trained like
``experiments/emoji_caption.py``'s TDD run (2,400 CPU-seconds on one thread, the same frozen encoder), and scored
beside that run on OpenMoji colour (never trained on) and fresh Noto renderings: exact names and word F1 at 20 steps,
evaluation seed 0.

- ``kfold 1``: one noised copy of each caption a step (the recipe's 2 split the batch's decoder passes between two
  noise levels); in the same CPU-seconds it takes more steps.

python experiments/emoji_caption_levers.py
"""

from __future__ import annotations

import json
from pathlib import Path

from captioning import caption_batched
from common import command_line, experiment_parser, markdown_table, write_result
from emoji_caption import evaluation_sets, pct, scores, train
from emoji_classify import SMOKE_LIMIT, images_of

from tdd.data.tokenizer import load_tokenizer
from tdd.models import PretrainedModel

LEVERS = {"kfold 1": ["--kfold", "1"]}  # row → train_captioner.py flags over the TDD config
SETS = ("openmoji", "noto (fresh)")


def ar_note(args) -> str:
    """What the AR captioner scored on these sets at the same budget, as emoji_caption.py wrote it (if it has)."""
    path = Path(args.results_dir, "emoji_caption.json")
    if not path.is_file():
        return ""
    ar = json.loads(path.read_text())["table"]["ar"]
    said = ", ".join(f"{pct(ar[n]['exact'])} % exact on {n}" for n in SETS if n in ar)
    return f" The AR captioner at the same budget: {said} (`results/emoji_caption.md`)." if said else ""


def main() -> None:
    parser = experiment_parser(__doc__)
    parser.add_argument("--emoji-limit", type=int, default=0, help="the first N concepts only (0: all; smoke: 40)")
    args = parser.parse_args()
    if args.smoke and not args.emoji_limit:
        args.emoji_limit = SMOKE_LIMIT
    runs = {"TDD (the recipe, emoji_caption.py's run)": train(args, "tdd")}
    for lever, flags in LEVERS.items():
        runs[f"TDD, {lever}"] = train(args, "tdd", flags, suffix="_" + lever.replace(" ", ""))
    sets = {n: s for n, s in evaluation_sets(args.emoji_limit, 8 if args.smoke else None).items() if n in SETS}
    rows, table = [], {}
    for row, run in runs.items():
        model, tok = PretrainedModel.from_pretrained(run / "final"), load_tokenizer(run / "final")
        steps = model.checkpoint_extra.get("result", {}).get("step")
        table[row] = {"steps": steps}
        for name, (style, keys, fresh) in sets.items():
            images = images_of(style, keys, model.config.image_size, fresh, args.emoji_limit)
            table[row][name] = scores(caption_batched(model, tok, images, seed=0, steps=20)[0], keys, style)
        rows.append([row, f"{steps:,}" if steps else "?",
                     *(pct(table[row][n][c]) for n in sets for c in ("exact", "f1"))])  # fmt: skip
    text = "# TDD's levers on the emoji captioner (#40)\n\n"
    text += f"Command: `{command_line()}`. Evaluation seed 0, 20 steps, argmax. Every run: 2,400 CPU-seconds on one "
    text += "thread, the emoji classifier's frozen encoder (`train/configs/emoji_caption_tdd.yaml` plus the lever's "
    text += "flags)." + ar_note(args) + "\n\n"
    header = ["run", "training steps", *(f"{n} {c}" for n in sets for c in ("exact %", "word F1 %"))]
    text += markdown_table(header, rows)
    write_result(args, "emoji_caption_levers.md", text)
    Path(args.results_dir, "emoji_caption_levers.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
