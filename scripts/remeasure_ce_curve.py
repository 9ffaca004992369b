"""Measure a TDD captioner's stored CE curve again and set its default sampling spacing.

The curve (teacher-forced CE at a grid of t, :func:`tdd.diagnostics.measure_ce_curve`) is what
``spacing="informative"`` reads. Training measures it at the end on its held-out scenes; a checkpoint
trained before those held-out captions followed ``--scene-phrasing`` was measured against the wrong
phrasing, and this rewrites it from the checkpoint's own training arguments (generated scenes only).

    python scripts/remeasure_ce_curve.py tdd/checkpoints/scenes-tdd --spacing uniform
"""

import argparse
import json

from tdd.data.caption_data import load_caption_data
from tdd.data.tokenizer import load_tokenizer
from tdd.diagnostics import measure_ce_curve
from tdd.models.registry import PretrainedModel
from tdd.timesteps import SAMPLING_SPACINGS


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a TDD captioner's checkpoint directory (written in place)")
    p.add_argument("--spacing", default=None, choices=SAMPLING_SPACINGS, help="the default spacing (default: kept)")
    args = p.parse_args()
    model = PretrainedModel.from_pretrained(args.checkpoint)
    train = model.checkpoint_extra.get("train_args", {})
    if train.get("data") != "scenes" or (model.task, model.method) != ("caption", "tdd"):
        raise SystemExit(
            f"{args.checkpoint}: not a TDD captioner trained on generated scenes; retrain it to measure its curve"
        )
    tokenizer = load_tokenizer(args.checkpoint)
    _, _, evals = load_caption_data(
        "scenes", None, model.config.image_size, eval_size=train.get("eval_size", 200), seed=train.get("seed", 0),
        scene_style=train.get("scene_style") or "plain", scene_phrasing=train.get("scene_phrasing") or "any",
    )  # fmt: skip
    model.config.ce_curve_t, model.config.ce_curve = measure_ce_curve(
        model, tokenizer, evals, seed=train.get("seed", 0)
    )
    if args.spacing:
        model.config.spacing = args.spacing
    model.save_pretrained(args.checkpoint)
    print(json.dumps({"spacing": model.config.spacing, "t": model.config.ce_curve_t, "ce": model.config.ce_curve}))


if __name__ == "__main__":
    main()
