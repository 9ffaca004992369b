"""CLIP score of emoji names (#40; the paper's Tab. 3 on emoji): ground truth, shuffled, TDD, MDD and AR.

No CLIP can be downloaded here, so a small CLIP (:func:`tdd.evaluation.scenes_clip`: open_clip's ``CLIP`` classes,
random init) is first trained contrastively on the captioners' own training pictures and names — Noto, Twemoji and
EmojiOne with the classifier's augmentation, the compositional hold-out left out — then scores each caption set on
OpenMoji colour (a style neither it nor the captioners saw) and on fresh renderings of Noto. The captioners are
``experiments/emoji_caption.py``'s runs (trained there when missing), captioned at 20 steps with evaluation seed 0.

python experiments/emoji_clip_score.py
"""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import torch
from captioning import caption_batched, pct, trained_clip
from common import command_line, experiment_parser, markdown_table, write_result
from emoji_caption import METHODS, evaluation_sets, scores, train
from emoji_classify import SMOKE_LIMIT, images_of

from tdd.data import emoji
from tdd.data.registry import dataset
from tdd.data.tokenizer import encode, load_tokenizer
from tdd.evaluation import clip_score, scenes_clip, scenes_clip_tokens
from tdd.models import PretrainedModel

CLIP_STEPS = 1500
CLIP_BATCH = 128
CLIP_LR = 1e-3
IMAGE_SIZE = 48  # as the captioners read the glyphs
SETS = ("openmoji", "noto (fresh)")  # rows of emoji_caption.py's evaluation sets


def train_clip(args, tok, max_len: int, out: Path):
    """Train (or reuse) the emoji CLIP on the training styles; (the model in eval mode, how it was trained)."""
    vocab = tok.get_vocab_size()
    steps = 3 if args.smoke else CLIP_STEPS
    key = {"steps": steps, "batch": CLIP_BATCH, "lr": CLIP_LR, "vocab": vocab, "seed": args.seed,
           "limit": args.emoji_limit, "cache": emoji.CACHE_VERSION}  # fmt: skip

    def batches():
        opts = Namespace(emoji_train_styles="noto,twemoji,emojione", emoji_eval_style="openmoji", eval_size=1,
                         emoji_limit=args.emoji_limit, emoji_augment={}, seed=args.seed, image_size=IMAGE_SIZE)  # fmt: skip
        data = dataset("emoji").caption_data(opts)[0]  # the captioners' training set and augmentation
        g = torch.Generator().manual_seed(args.seed)
        loader = torch.utils.data.DataLoader(data, batch_size=min(CLIP_BATCH, len(data)), shuffle=True,
                                             drop_last=True, generator=g)  # fmt: skip
        while True:  # epochs until the CLIP has its steps
            for images, names in loader:
                yield images, scenes_clip_tokens(encode(tok, list(names), max_len)[0], vocab)

    torch.manual_seed(args.seed)
    model = scenes_clip(vocab, max_len + 1, image_size=IMAGE_SIZE)
    return trained_clip(out, model, key, batches, steps, CLIP_LR, args.seed)


def main() -> None:
    parser = experiment_parser(__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--emoji-limit", type=int, default=0, help="the first N concepts only (0: all; smoke: 40)")
    args = parser.parse_args()
    if args.smoke and not args.emoji_limit:
        args.emoji_limit = SMOKE_LIMIT
    runs = {m: train(args, m) for m in METHODS}
    models = {m: PretrainedModel.from_pretrained(run / "final") for m, run in runs.items()}  # loaded once
    tok = load_tokenizer(runs["tdd"] / "final")  # the three share the names' vocabulary
    max_len = models["tdd"].config.max_len
    clip, trained = train_clip(args, tok, max_len, Path(args.runs_dir) / "emoji_clip")
    sets = {name: spec for name, spec in evaluation_sets(args.emoji_limit, 8 if args.smoke else None).items()
            if name in SETS}  # fmt: skip
    names = emoji.concepts()
    rows, table = [], {}
    for set_name, (style, keys, fresh) in sets.items():
        images = images_of(style, keys, IMAGE_SIZE, fresh, args.emoji_limit)
        truths = [" ".join(emoji.tokenize(names[k])) for k in keys]
        perm = torch.randperm(len(keys), generator=torch.Generator().manual_seed(args.seed + 1)).tolist()
        captions = {"ground truth": truths, "shuffled ground truth": [truths[p] for p in perm]}
        for method, model in models.items():
            captions[method.upper()] = caption_batched(model, tok, images, seed=args.seed, steps=20)[0]
        table[set_name] = {}
        for what, texts in captions.items():
            ids = scenes_clip_tokens(encode(tok, texts, max_len)[0], tok.get_vocab_size())
            with torch.inference_mode():
                s = clip_score(clip, images, ids).mean().item()
            exact = scores(texts, keys, style)["exact"]
            table[set_name][what] = {"clip": s, "exact": exact}
            rows.append([set_name, f"{len(keys):,}", what, f"{s:.3f}", pct(exact)])
    text = "# CLIP score of emoji names (#40, the paper's Tab. 3 on emoji)\n\n"
    text += f"Command: `{command_line()}`. Seed {args.seed}. TDD and MDD: 20 steps, argmax, no CFG; AR: greedy. "
    text += "CLIP: open_clip `CLIP` (ViT 4×128 on 48×48, 8×8 patches; text transformer 3×128), random init, trained "
    text += "contrastively on Noto + Twemoji + EmojiOne with their CLDR names (the captioners' training set and "
    text += f"augmentation){', ' + json.dumps(trained) if trained else ' (reused from the cache)'}. Score: cosine "
    text += "similarity of image and name embeddings (unscaled), the mean over the images.\n\n"
    text += markdown_table(["evaluated on", "images", "names", "CLIP score", "exact %"], rows)
    text += "\nPaper (COCO, ViT-B/32 CLIP): ground truth 0.30, shuffled 0.16, MDD 0.18, TDD 0.25.\n"
    write_result(args, "emoji_clip_score.md", text)
    Path(args.results_dir, "emoji_clip_score.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
