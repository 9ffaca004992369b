"""The shipped scenes captioners load by name and keep the quality they were measured at, on a
200-scene sample of each split: ``test`` (drawn by the randomised renderer they trained on),
``compositional`` (colour×shape pairs never seen in training) and ``style`` (the held-out renderer).

The floors are the numbers `experiments/eval_scenes_captioners.py` measured on these 200 scenes (20 steps,
argmax, seed 0), less a small margin for BLAS differences; where the issue's target is higher and not
met, results/captioners.md says so.
"""

import time

import pytest
import torch

from tdd.caption import caption
from tdd.data.images import rgb_to_tensor
from tdd.data.scenes import CaptionParseError, caption_metrics, make_scene, parse_caption
from tdd.data.tokenizer import load_tokenizer
from tdd.models.registry import PretrainedModel, bundled_checkpoints, resolve_checkpoint

SAMPLE = 200
SPLITS = {"test": "random", "compositional": "random", "style": "plain"}  # split → renderer (style has its own)
# measured on these 200 scenes per split (TDD: exact 89.0 / 57.5 / 91.0 %, shape 91.8 / 77.5 / 93.7 %, parses 100 /
# 99.5 / 100 %; MDD 83.5 / 38.0 / 85.0 %, AR 94.0 / 84.5 / 97.0 %), minus ~2 points
FLOORS = {
    "scenes-tdd": {
        "test": {"exact_match": 0.87, "shape": 0.89, "colour": 0.94, "size": 0.95, "parses": 0.99},
        "compositional": {"exact_match": 0.55, "shape": 0.75, "colour": 0.92},
        "style": {"exact_match": 0.89, "shape": 0.91, "parses": 0.99},
    },
    "scenes-mdd": {
        "test": {"exact_match": 0.81, "colour": 0.95, "parses": 0.99},
        "compositional": {"exact_match": 0.36},
        "style": {"exact_match": 0.83},
    },
    "scenes-ar": {
        "test": {"exact_match": 0.92, "shape": 0.93},
        "compositional": {"exact_match": 0.82},
        "style": {"exact_match": 0.95},
    },
}


def _sample(split: str):
    scenes = [make_scene(i, 0, split, style=SPLITS[split]) for i in range(SAMPLE)]
    return torch.stack([rgb_to_tensor(s.image) for s in scenes]), [s.description for s in scenes]


def _parses(text: str) -> bool:
    try:
        parse_caption(text)
        return True
    except CaptionParseError:
        return False


def test_all_three_are_bundled():
    assert {"scenes-tdd", "scenes-mdd", "scenes-ar"} <= set(bundled_checkpoints())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_shipped_captioner_meets_its_measured_quality(name):
    start = time.perf_counter()
    model = PretrainedModel.from_pretrained(name)
    tok = load_tokenizer(resolve_checkpoint(name))
    assert model.checkpoint_extra["train_args"]["scene_style"] == "random"
    for split, floors in FLOORS[name].items():
        images, references = _sample(split)
        out = caption(model, tok, images, steps=20, generator=torch.Generator().manual_seed(0))
        scores = caption_metrics(out.captions, references)
        scores["parses"] = sum(map(_parses, out.captions)) / SAMPLE
        for key, floor in floors.items():
            assert scores[key] >= floor, (name, split, key, scores)
    assert time.perf_counter() - start < 60
