"""A scenes captioner trained on all four phrasings against the shipped one (one canonical phrasing):
whether its answers differ while staying right, as COCO's five captions an image would let them.

- exact match (a caption counts when it parses to the true scene, in any phrasing) on the held-out test
  split and the held-out renderer (``style``), 20 steps, argmax, the rows of ``eval_scenes_captioners``: each
  model alone and as the best of n candidates by its own score (``--best-of``, :mod:`tdd.rerank`);
- several samples: 8 answers per bundled example (one batch, multinomial at temperature 1, seeds 0-7),
  how many are right (`tdd.data.scene_marks`, paraphrases accepted) and how many right ones differ;
- without the picture (CFG scale 0): on how many of 8 seeds the predicted sentence changes at >= 3 steps;
- the second group given the first: on two-group test scenes, the first group and the relation of the true
  caption pinned (either order: the scene's first group, or its second with the inverse relation) and the rest
  sampled; exact when the whole caption parses to the scene. With one phrasing the rest is a function of the
  image; with four it hangs on the pinned words, so this measures whether the network reads the other positions.

    python experiments/phrasings.py --candidate runs/scenes_tdd_phrasings/final [DIR ...] [--best-of 1 8]

A TDD captioner trained with clean context (``--clean-context``, told each position's t) gets one set of rows per
commit rule of ``--commit`` (its sampler commits the surest positions first, or the leftmost).
"""

from __future__ import annotations

from pathlib import Path

import torch
from captioning import as_batch, parser
from common import command_line, markdown_table, write_result
from eval_scenes_captioners import ATTRS, rows_for

from tdd import demo
from tdd.caption import caption_steps, captioner_sampler
from tdd.data.scene_marks import answer_is_right
from tdd.data.scenes import INVERSE, caption_metrics, make_scene
from tdd.data.tokenizer import decode, encode
from tdd.models.captioner_config import COMMIT_RULES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES, BLIND_SEEDS = 8, 8
TARGETS = "≥ 97 % exact on test and ≥ 95 % on the held-out renderer (style) to become the app's default"


def candidate_label(model) -> str:
    """A four-phrasing captioner's row label: its method, and what else set its training apart (unrolled drafts,
    mixed noise levels, clean context)."""
    trained = model.checkpoint_extra.get("train_args", {})
    unrolled = f", unrolled {trained['unroll']:g}" if trained.get("unroll") else ""
    mixed = f", mixed noise {trained['mixed_noise']:g}" if trained.get("mixed_noise") else ""
    context = f", clean context {trained['clean_context']:g}" if trained.get("clean_context") else ""
    return f"{model.method.upper()}, all four phrasings{unrolled}{mixed}{context}"


def spread_rows(label: str, name: str, smoke: bool) -> list[list]:
    """Several samples on each bundled example: right answers and distinct right answers."""
    examples = [line.split("\t") for line in (ROOT / "examples" / "scenes" / "captions.txt").read_text().splitlines()]
    rows = []
    for file, truth in examples[: 2 if smoke else None]:
        answers = demo.several_samples(name, ROOT / "examples" / "scenes" / file, demo.Settings(seed=0), SAMPLES)
        good = [a for a in answers if answer_is_right(a, truth)]
        rows.append([label, file, f"{len(good)} / {SAMPLES}", len(set(good)), "; ".join(sorted(set(good)))[:160]])
    return rows


def blind_changes(name: str, smoke: bool) -> int:
    """On how many seeds the sentence predicted without the picture changes at >= 3 of 20 steps."""
    loaded = demo.load(name)
    changing = 0
    for seed in range(2 if smoke else BLIND_SEEDS):
        run = demo.run_to_end(name, ROOT / "examples" / "scenes" / "scene_0.png", demo.Settings(cfg=0.0, seed=seed))
        texts = [demo.sentence_text(r, loaded) for r in run.records]
        changing += sum(a != b for a, b in zip(texts, texts[1:])) >= 3
    return changing


def pinned_runs(model, tokenizer, n: int, seed: int, swap: bool) -> tuple[list[str], list, list]:
    """On the two-group scenes among ``n`` test scenes: the captions written with the true first group and relation
    pinned (``swap``: the scene's second group pinned first, with the inverse relation), the scenes' descriptions,
    and each pinned ``(first, relation, second)`` in the order given."""
    scenes = [
        s
        for s in (make_scene(i, 0, "test", model.config.image_size, "random") for i in range(n))
        if s.description.second
    ]
    images, descriptions, _, _ = as_batch(scenes)
    texts, counts, given = [], [], []
    for d in descriptions:
        first, second, relation = (d.second, d.first, INVERSE[d.relation]) if swap else (d.first, d.second, d.relation)
        texts.append(f"{first.words()} {relation} {second.words()}")
        counts.append(len(first.words().split()) + len(relation.split()))
        given.append((first, relation, second))
    tokens, _ = encode(tokenizer, texts, model.config.max_len)
    mask = torch.arange(tokens.shape[1])[None] < torch.tensor(counts)[:, None]  # (B, N): the pinned prefix
    sampler = captioner_sampler(model, steps=20)
    g = torch.Generator().manual_seed(seed)
    *_, last = caption_steps(model, images, sampler, generator=g, clamp_tokens=tokens, clamp_mask=mask)
    return decode(tokenizer, last.tokens), descriptions, given


def given_first_group(model, tokenizer, n: int, seed: int) -> tuple[float, float, int]:
    """Exact % of two-group test scenes captioned with the first group and the relation pinned, in the scene's
    order and in the swapped one (the second group first, the inverse relation), and how many scenes."""
    out = []
    for swap in (False, True):
        captions, descriptions, _ = pinned_runs(model, tokenizer, n, seed, swap)
        out.append(100 * caption_metrics(captions, descriptions)["exact_match"])
    return out[0], out[1], len(descriptions)


def main() -> None:
    p = parser(__doc__)
    p.add_argument(
        "--candidate", required=True, nargs="+", help="captioners trained on all four phrasings (directories)"
    )
    p.add_argument(
        "--best-of", type=int, nargs="+", default=[1, 8], help="n of the best-of-n rows (1: the model alone)"
    )
    p.add_argument("--output", default="phrasings.md", help="the table's file name under --results-dir")
    rules = "the commit rules to measure for a captioner told each position's t (clean context)"
    p.add_argument("--commit", nargs="+", default=list(COMMIT_RULES), choices=COMMIT_RULES, help=rules)
    args = p.parse_args()
    n = 8 if args.smoke else args.eval_size
    quality, spread, blind, binding = [], [], [], []
    for name in ["scenes-tdd", *args.candidate]:
        loaded = demo.load(name)  # one copy of each model, shared with the app's several samples and runs below
        model, tokenizer = loaded.model, loaded.tokenizer
        base = name if name == "scenes-tdd" else candidate_label(model)
        for rule in args.commit if getattr(model.config, "per_position_t", False) else [None]:
            label = base
            if rule is not None:  # this model's sampler commits by this rule
                model.config.commit = rule
                label += f", commits {rule.replace('_', ' ')}"
            for k in args.best_of:
                suffix = f", best of {k}" if k > 1 else ""
                quality += rows_for(label + suffix, model, tokenizer, n, args.seed, only=("test", "style"), best_of=k)
            spread += spread_rows(label, name, args.smoke)
            in_order, swapped, m = given_first_group(model, tokenizer, n, args.seed)
            binding.append([label, m, f"{in_order:.1f}", f"{swapped:.1f}"])
            blind.append([label, f"{blind_changes(name, args.smoke)} / {2 if args.smoke else BLIND_SEEDS}"])
    header = ["model", "split", "exact %", "parses %", *(f"{a} %" for a in ATTRS), "BLEU-4", "CIDEr"]
    header += ["trained on", "phrasing", "training"]
    text = "# One phrasing or four: does the answer differ while staying right?\n\n"
    text += f"Command: `{command_line()}`. Sampling seed {args.seed}; {n} held-out scenes per split, 20 steps, argmax, "
    text += "no CFG; a caption is exact when it parses to the true scene, in any of the four phrasings. Best of n: n "
    text += "candidates an image drawn as one batch, the one the model itself scores highest kept (`tdd.rerank`: its "
    text += "log-likelihood of the sentence from noisy copies at 1 − ᾱ = 0.25, 0.5, 0.75, two draws each).\n\n"
    text += markdown_table(header, quality)
    text += f"\nTarget for the four-phrasing captioner: {TARGETS}.\n\n"
    text += f"## Several samples ({SAMPLES} a bundled example, one batch, multinomial at temperature 1, seeds 0–7)\n\n"
    text += markdown_table(["model", "example", "right", "distinct right", "the right answers"], spread)
    text += "\n## Without the picture (CFG scale 0, scene_0.png, seeds 0–7)\n\n"
    text += markdown_table(["model", "seeds whose predicted sentence changes at ≥ 3 of 20 steps"], blind)
    text += "\n## The second group given the first (two-group test scenes, 20 steps, argmax)\n\n"
    text += "The true caption's first group and relation pinned (`clamp_tokens`), the second group sampled; exact "
    text += "when the whole caption parses to the scene. *Swapped*: the scene's second group pinned first, with "
    text += "the inverse relation (a phrasing the canonical model never saw).\n\n"
    text += markdown_table(["model", "scenes", "exact %, in the scene's order", "exact %, swapped"], binding)
    write_result(args, args.output, text)


if __name__ == "__main__":
    main()
