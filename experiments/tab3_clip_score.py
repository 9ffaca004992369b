"""Tab. 3 analog: CLIP score of ground-truth, shuffled, MDD, AR and TDD captions of held-out scenes.

No CLIP can be downloaded here, so a small CLIP built from open_clip's model classes
(:func:`tdd.evaluation.scenes_clip`) is first trained contrastively on generated scenes with their
captions (random init, a few minutes on a CPU; cached under --runs-dir), then scores every caption
set beside exact match and attribute accuracy.

python experiments/tab3_clip_score.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from captioning import caption_batched, eval_size, held_out, load, parser, pct, score, trained_clip
from common import command_line, markdown_table, write_result

from tdd.data.scenes import MAX_CAPTION_WORDS, SCENES_VERSION, ScenesDataset, vocabulary
from tdd.data.tokenizer import encode, word_tokenizer
from tdd.evaluation import clip_score, scenes_clip, scenes_clip_tokens

CLIP_STEPS = 1000
CLIP_BATCH = 128
CLIP_LR = 1e-3
CLIP_STYLE = "random"  # the renderer the shipped captioners train on (tdd.data.scene_styles)


def train_clip(args, tok, out: Path):
    """Train (or reuse) the scenes CLIP; (the model in eval mode, how it was trained)."""
    vocab = tok.get_vocab_size()
    steps = 3 if args.smoke else CLIP_STEPS
    # a CLIP trained on other scenes (another generator version) is not reused
    key = {"steps": steps, "batch": CLIP_BATCH, "lr": CLIP_LR, "vocab": vocab, "seed": args.seed, "style": CLIP_STYLE}

    def batches():
        g = torch.Generator().manual_seed(args.seed)
        data = ScenesDataset(50_000, "train", seed=1, size=64, style=CLIP_STYLE)  # other scenes than the captioners'
        loader = torch.utils.data.DataLoader(data, batch_size=CLIP_BATCH, shuffle=True, drop_last=True, generator=g)
        while True:  # epochs until the CLIP has its steps
            for images, captions in loader:
                yield images, scenes_clip_tokens(encode(tok, captions, MAX_CAPTION_WORDS)[0], vocab)

    torch.manual_seed(args.seed)  # the CLIP's initialisation, as emoji_clip_score.py seeds it
    model = scenes_clip(vocab, MAX_CAPTION_WORDS + 1)
    return trained_clip(out, model, key | {"scenes_version": SCENES_VERSION}, batches, steps, CLIP_LR, args.seed)


def main() -> None:
    args = parser(__doc__).parse_args()
    n = eval_size(args)
    tok = word_tokenizer(vocabulary())
    clip, trained = train_clip(args, tok, Path(args.runs_dir) / "scenes_clip")
    images, descriptions, references, truths = held_out(n, "test", style=CLIP_STYLE)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed + 1)).tolist()
    sets = {"ground truth": truths, "shuffled ground truth": [truths[p] for p in perm]}
    for method in ("mdd", "ar", "tdd"):
        model, mtok = load(args, method)
        inputs = held_out(n, "test", model.config.image_size, CLIP_STYLE)[0]
        sets[method.upper()] = caption_batched(model, mtok, inputs, args.seed, steps=20)[0]
    rows = []
    for name, captions in sets.items():
        ids, _ = encode(tok, captions, MAX_CAPTION_WORDS)
        s = clip_score(clip, images, scenes_clip_tokens(ids, tok.get_vocab_size()))
        m = score(captions, descriptions, references)
        rows.append(
            [name, f"{s.mean():.3f}", pct(m["exact_match"]), pct(m["shape"]), pct(m["colour"]), f"{m['cider']:.2f}"]
        )
    text = f"# CLIP score of caption sets on {n} held-out scenes (Tab. 3 analog)\n\n"
    text += f"Command: `{command_line()}`. Seed {args.seed}. TDD and MDD: 20 steps, argmax, no CFG; AR: greedy.\n"
    text += "CLIP: open_clip `CLIP` (ViT 4×128 on 64×64, 8×8 patches; text transformer 3×128), random init, trained "
    text += f"contrastively on 50k generated scenes drawn by the {CLIP_STYLE!r} renderer, as are the evaluation scenes (seed 1, disjoint from them){', ' + json.dumps(trained) if trained else ' (reused from the cache)'}. "
    text += "Score: cosine similarity of image and caption embeddings (unscaled).\n\n"
    text += markdown_table(["captions", "CLIP score", "exact %", "shape %", "colour %", "CIDEr"], rows)
    text += "\nPaper (COCO, ViT-B/32 CLIP): ground truth 0.30, shuffled 0.16, MDD 0.18, TDD 0.25.\n"
    write_result(args, "tab3_clip_score.md", text)


if __name__ == "__main__":
    main()
