"""Tab. 3 for captioners trained with train_captioner.py: the CLIP score of the ground truth, the
shuffled ground truth and every given model's captions, with exact match / BLEU-4 / CIDEr, on the
same held-out images (the data flags are train_captioner.py's).

    python train/compare_captioners.py --data coco --data-dir /data/coco --eval-size 5000 \\
        --checkpoints runs/coco_mdd/final runs/coco_ar/final runs/coco_tdd/final \\
        --clip-model ViT-B-32 --clip-weights /weights/open_clip_vit_b_32.bin --output results/coco_tab3.md

Each checkpoint is captioned with its own tokenizer (saved beside it) and image size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train_captioner import clip_rows, generate, get_parser, load_data, require_clip_weights, text_metrics  # noqa: E402
from train_utils import start  # noqa: E402

from tdd.checkpoint import CheckpointError, atomic_write_text  # noqa: E402
from tdd.data.tokenizer import load_tokenizer  # noqa: E402
from tdd.models import PretrainedModel  # noqa: E402


def main(argv: list[str] | None = None) -> str:
    p = get_parser()
    p.description = __doc__
    p.add_argument("--checkpoints", nargs="+", required=True, help="final/ directories of trained captioners")
    args = p.parse_args(argv)
    env = start(args)
    require_clip_weights(args)
    _, _, evals = load_data(args)
    rows, metrics = {}, {}
    for path in args.checkpoints:
        try:
            model = PretrainedModel.from_pretrained(path).to(env.device).eval()
            tokenizer = load_tokenizer(path)
        except CheckpointError as e:
            raise SystemExit(f"compare_captioners.py: error: {e}") from None
        args.image_size = model.config.image_size
        name = f"{model.model_type} ({path})"
        rows[name] = generate(model, tokenizer, evals, args, env)
        metrics[name] = text_metrics(rows[name], evals)
    clip = clip_rows(args, evals, rows, env.device) if args.clip_model else {}
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
