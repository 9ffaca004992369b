"""Emoji captioning (#40; the paper's Tab. 3 and Fig. 10 on words people wrote): TDD, masked diffusion and the
autoregressive captioner name emoji in their CLDR words, on one frozen encoder (the emoji classifier's, linear
head) and one budget (``train/configs/emoji_caption_{tdd,mdd,ar}.yaml``), trained on Noto + Twemoji + EmojiOne.

Scored on each held-out style (OpenMoji colour, OpenMoji black, Symbola), fresh renderings of a training style,
and the compositional hold-out (role × gender × tone triples never trained on, in Noto and in OpenMoji colour):
exact name, word-level F1, skin tone (on toned emoji; not on the black styles) and gender (on gendered ones) as
the written name says them (:func:`tdd.data.emoji.name_attributes`), BLEU-4 and CIDEr; TDD and MDD at 2, 5, 10 and
20 steps. No CLIP score yet: a CLIP trained on the emoji styles is still to come.

python experiments/emoji_caption.py                   # trains what is missing (2,400 CPU-s each), then scores
python experiments/emoji_caption.py --train-only      # the runs alone
python experiments/emoji_caption.py --train-only --methods ar   # one run (another process may train another)
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from captioning import caption_batched
from common import ROOT, command_line, experiment_parser, markdown_table, run_script, write_result
from emoji_classify import BLACK, SMOKE_LIMIT, glyphs, images_of

from tdd.caption_eval import text_metrics
from tdd.data import emoji
from tdd.data.caption_data import EvalSet
from tdd.data.emoji_styles import HELD_OUT_STYLES
from tdd.data.tokenizer import load_tokenizer
from tdd.evaluation import word_f1 as words_f1
from tdd.models import PretrainedModel

METHODS = ("tdd", "mdd", "ar")
STEP_COUNTS = (2, 5, 10, 20)
BUDGET = ["--time-budget", "2400", "--budget-clock", "cpu", "--threads", "1", "--steps", "100000"]


def train(args, method: str, flags: list[str] | None = None, suffix: str = "") -> Path:
    """Train (or resume, or reuse) the emoji captioner of ``method``; its run directory. ``flags``: more
    ``train_captioner.py`` flags over the method's config (a lever), its run named with ``suffix``."""
    out = Path(args.runs_dir) / f"emoji_caption_{method}{suffix}"
    if (out / "result.json").is_file():
        print(f"reusing {out}", flush=True)
        return out
    argv = ["--config", str(ROOT / "train" / "configs" / f"emoji_caption_{method}.yaml"), "--output", str(out)]
    argv += ["--encoder-from", str(Path(args.runs_dir) / "emoji_linear_seed0" / "final")]  # emoji_classify.py's run
    argv += ["--emoji-limit", str(args.emoji_limit)]
    argv += (
        ["--steps", "2", "--eval-every", "0", "--eval-size", "4"] if args.smoke else [*BUDGET, "--save-every", "500"]
    )
    argv += flags or []
    if any((out / "checkpoints").glob("*.pt")):
        argv.append("--resume")  # a killed run continues from its last checkpoint
    run_script("train_captioner.py", argv)
    return out


def word_f1(caption: str, truth: str) -> float:
    """F1 of the words of ``caption`` against those of ``truth`` (as bags of words)."""
    return words_f1(emoji.tokenize(caption), emoji.tokenize(truth))


def attribute_rate(captions: list[str], keys: list[str], attribute: str) -> tuple[float, int]:
    """How often a caption says the true ``attribute``, over the emoji whose code points have one."""
    pairs = [(emoji.attributes(k)[attribute], emoji.name_attributes(c)[attribute]) for c, k in zip(captions, keys)]
    pairs = [(t, p) for t, p in pairs if t is not None]
    return (sum(t == p for t, p in pairs) / len(pairs) if pairs else math.nan), len(pairs)


def evaluation_sets(limit: int, first: int | None) -> dict[str, tuple[str, list[str], bool]]:
    """name → (style, keys, fresh) of each row (``limit``: ``--emoji-limit``; ``first``: the first keys only)."""
    names = emoji.concepts()
    held = list(emoji.splits()["compositional_holdout"])
    sets = {style: (style, [k for k in glyphs(style, limit).keys if k in names], False) for style in HELD_OUT_STYLES}
    sets["noto (fresh)"] = ("noto", [k for k in glyphs("noto", limit).keys if k in names and k not in held], True)
    noto = set(glyphs("noto", limit).keys)
    sets["compositional (noto)"] = ("noto", [k for k in held if k in noto], False)
    sets["compositional (openmoji)"] = ("openmoji", held, False)
    return {n: (s, keys[:first], fresh) for n, (s, keys, fresh) in sets.items()}


def scores(captions: list[str], keys: list[str], style: str) -> dict[str, float]:
    names = emoji.concepts()
    truths = [" ".join(emoji.tokenize(names[k])) for k in keys]
    metrics = text_metrics(captions, EvalSet([], [[t] for t in truths]))
    tone, n_tone = attribute_rate(captions, keys, "skin_tone")
    gender, n_gender = attribute_rate(captions, keys, "gender")
    return {"exact": metrics["exact_match"], "f1": statistics.mean(word_f1(c, t) for c, t in zip(captions, truths)),
            "bleu4": metrics.get("bleu4", math.nan), "cider": metrics.get("cider", math.nan),
            "skin_tone": math.nan if style in BLACK else tone, "n_tone": n_tone, "gender": gender,
            "n_gender": n_gender}  # fmt: skip


def pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}"


def main() -> None:
    parser = experiment_parser(__doc__)
    parser.add_argument("--train-only", action="store_true", help="train the runs and stop")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="with --train-only: these runs only (one process each, e.g. on two cores)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=20, help="sampling steps of the main table (TDD, MDD)")
    parser.add_argument("--emoji-limit", type=int, default=0, help="the first N concepts only (0: all; smoke: 40)")
    args = parser.parse_args()
    if args.smoke and not args.emoji_limit:
        args.emoji_limit = SMOKE_LIMIT
    if args.train_only:
        for method in args.methods:
            train(args, method)
        return
    runs = {m: train(args, m) for m in METHODS}
    limit = args.emoji_limit
    sets = evaluation_sets(limit, 8 if args.smoke else None)
    table: dict[str, dict[str, dict[str, float]]] = {}
    curves: dict[str, dict[int, float]] = {}
    for method, run in runs.items():
        model = PretrainedModel.from_pretrained(run / "final")
        tok = load_tokenizer(run / "final")
        table[method] = {}
        for name, (style, keys, fresh) in sets.items():
            images = images_of(style, keys, model.config.image_size, fresh, limit)
            captions, _ = caption_batched(model, tok, images, seed=0, steps=args.steps)
            table[method][name] = scores(captions, keys, style)
        if method != "ar":
            style, keys, _ = sets[HELD_OUT_STYLES[0]]
            images = images_of(style, keys, model.config.image_size, limit=limit)
            curves[method] = {n: scores(caption_batched(model, tok, images, seed=0, steps=n)[0], keys, style)["exact"]
                              for n in STEP_COUNTS}  # fmt: skip
    text = "# Emoji captioning: TDD, masked diffusion and AR name emoji (#40)\n\n"
    text += f"Command: `{command_line()}`. Evaluation seed 0; TDD and MDD at {args.steps} steps. The three "
    text += "captioners share the emoji classifier's frozen encoder and train their decoders at one budget "
    text += "(`train/configs/emoji_caption_*.yaml`); no held-out image is used for training or selection.\n\n"
    header = ["evaluated on", "images"] + [f"{m} {c}" for m in METHODS for c in ("exact %", "word F1 %")]
    rows = [[name, f"{len(keys):,}", *(pct(table[m][name][c]) for m in METHODS for c in ("exact", "f1"))]
            for name, (_, keys, _) in sets.items()]  # fmt: skip
    text += markdown_table(header, rows)
    text += "\n## Attributes as the written name says them (skin tone on toned emoji, gender on gendered ones)\n\n"
    header = ["evaluated on"] + [f"{m} {c}" for m in METHODS for c in ("skin tone %", "gender %", "CIDEr")]
    rows = [[name, *(pct(table[m][name][c]) if c != "cider" else f"{table[m][name][c]:.2f}"
                     for m in METHODS for c in ("skin_tone", "gender", "cider"))] for name in sets]  # fmt: skip
    text += markdown_table(header, rows)
    text += f"\n## Exact names on {HELD_OUT_STYLES[0]} against the number of steps\n\n"
    text += markdown_table(["method", *map(str, STEP_COUNTS)],
                           [[m, *(pct(c[n]) for n in STEP_COUNTS)] for m, c in curves.items()])  # fmt: skip
    write_result(args, "emoji_caption.md", text)
    Path(args.results_dir, "emoji_caption.json").write_text(json.dumps({"table": table, "curves": curves}, indent=1))


if __name__ == "__main__":
    main()
