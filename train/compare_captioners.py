"""Tab. 3 for captioners trained with train_captioner.py: the CLIP score of the ground truth, the
shuffled ground truth and every given model's captions, with exact match / BLEU-4 / CIDEr, on the
same held-out images (the data flags are train_captioner.py's).

    python train/compare_captioners.py --data coco --data-dir /data/coco --eval-size 5000 \\
        --checkpoints runs/coco_mdd/final runs/coco_ar/final runs/coco_tdd/final \\
        --clip-model ViT-B-32 --clip-weights /weights/open_clip_vit_b_32.bin --output results/coco_tab3.md

Each checkpoint is captioned with its own tokenizer (saved beside it) and image size.
"""

from __future__ import annotations

import argparse
import json

from tdd.caption_eval import clip_rows, generate_captions, text_metrics
from tdd.checkpoint import CheckpointError, atomic_write_text
from tdd.data.tokenizer import load_tokenizer
from tdd.models import PretrainedModel
from tdd.training.scripts import add_caption_data_args, add_engine_args, load_data, start


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_caption_data_args(p)
    p.add_argument("--checkpoints", nargs="+", required=True, help="final/ directories of trained captioners")
    p.add_argument("--eval-steps", type=int, default=20, help="sampling steps")
    p.add_argument("--clip-model", default=None, help="open_clip model for the CLIP score, e.g. ViT-B-32")
    p.add_argument("--clip-weights", default=None, help="its local weights file (nothing is downloaded)")
    p.add_argument("--output", default="", help="a .md file for the table (and a .json beside it)")
    p.add_argument("--seed", type=int, default=0)
    add_engine_args(p)
    return p


def main(argv: list[str] | None = None) -> str:
    args = get_parser().parse_args(argv)
    env = start(args)
    if args.clip_model:  # stop now, not after captioning, when the weights file is missing
        from tdd.evaluation import check_clip_weights

        try:
            check_clip_weights(args.clip_model, args.clip_weights)
        except FileNotFoundError as e:
            raise SystemExit(f"compare_captioners.py: error: {e}") from None
    args.image_size = 64  # scenes are rendered at this size for loading; each model resizes to its own
    _, _, evals = load_data(args)
    rows, metrics = {}, {}
    for path in args.checkpoints:
        try:
            model = PretrainedModel.from_pretrained(path).to(env.device).eval()
            tokenizer = load_tokenizer(path)
        except CheckpointError as e:
            raise SystemExit(f"compare_captioners.py: error: {e}") from None
        name = f"{model.model_type} ({path})"
        rows[name] = generate_captions(
            model, tokenizer, evals, model.config.image_size, args.eval_steps, args.seed, env
        )
        metrics[name] = text_metrics(rows[name], evals)
    clip = clip_rows(args.clip_model, args.clip_weights, evals, rows, env.device) if args.clip_model else {}
    lines = [
        f"# Captioners on {len(evals.sources)} held-out images of `{args.data}` ({args.eval_steps} sampling steps)",
        "",
        "| captions | CLIP score | exact match | BLEU-4 | CIDEr |",
        "|---|---|---|---|---|",
    ]
    for name in [*(["ground truth", "shuffled ground truth"] if clip else []), *rows]:
        m = metrics.get(name, {})
        cells = [clip.get(name), m.get("exact_match"), m.get("bleu4"), m.get("cider")]
        lines.append(f"| {name} | " + " | ".join("—" if c is None else f"{c:.4f}" for c in cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output.endswith(".md"):
        atomic_write_text(args.output, text)
        atomic_write_text(args.output[:-3] + ".json", json.dumps({"clip": clip, "metrics": metrics}, indent=2) + "\n")
    return text


if __name__ == "__main__":
    main()
