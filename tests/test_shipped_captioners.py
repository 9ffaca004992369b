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
from tdd.data.scenes import SCENES_VERSION, CaptionParseError, caption_metrics, make_scene, parse_caption
from tdd.data.tokenizer import load_tokenizer
from tdd.models.registry import PretrainedModel, bundled_checkpoints, resolve_checkpoint

SAMPLE = 200
SPLITS = {"test": "random", "compositional": "random", "style": "plain"}  # split → renderer (style has its own)
# measured on these 200 scenes per split (TDD: exact 98.0 / 89.0 / 97.0 %, shape 98.9 / 94.2 / 100 %, parses 100 %
# throughout; MDD 97.5 / 87.5 / 97.0 %, AR 98.0 / 78.0 / 96.5 %), minus ~2 points
FLOORS = {
    "scenes-tdd": {
        "test": {"exact_match": 0.96, "shape": 0.96, "colour": 0.98, "size": 0.97, "relation": 0.97, "parses": 0.99},
        "compositional": {"exact_match": 0.87, "shape": 0.92, "colour": 0.97},
        "style": {"exact_match": 0.95, "shape": 0.98, "parses": 0.99},
    },
    "scenes-mdd": {
        "test": {"exact_match": 0.95, "colour": 0.98, "parses": 0.99},
        "compositional": {"exact_match": 0.85},
        "style": {"exact_match": 0.95},
    },
    "scenes-ar": {
        "test": {"exact_match": 0.96, "shape": 0.96},
        "compositional": {"exact_match": 0.76},
        "style": {"exact_match": 0.94},
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
    assert model.checkpoint_extra["scenes_version"] == SCENES_VERSION  # trained on the scenes it is measured on
    for split, floors in FLOORS[name].items():
        images, references = _sample(split)
        out = caption(model, tok, images, steps=20, generator=torch.Generator().manual_seed(0))
        scores = caption_metrics(out.captions, references)
        scores["parses"] = sum(map(_parses, out.captions)) / SAMPLE
        for key, floor in floors.items():
            assert scores[key] >= floor, (name, split, key, scores)
    assert time.perf_counter() - start < 60


def test_the_three_share_one_frozen_encoder_bit_for_bit():
    """README: one encoder, trained once (train/configs/scenes_encoder.yaml) and frozen for all three."""
    from safetensors.torch import load_file

    weights = {n: load_file(resolve_checkpoint(n) / "model.safetensors") for n in FLOORS}
    encoder = {n: {k: v for k, v in w.items() if k.startswith("conditioner.encoder.")} for n, w in weights.items()}
    first, *others = encoder.values()
    assert len(first) > 50
    for other in others:
        assert other.keys() == first.keys() and all(torch.equal(other[k], first[k]) for k in first)
    for n in FLOORS:
        trained = PretrainedModel.from_pretrained(n).checkpoint_extra["train_args"]
        assert trained["freeze_encoder"] and trained["encoder_from"] == "runs/scenes_encoder/final", n
    decoders = [w["head.weight"] for w in weights.values()]
    assert not torch.equal(decoders[0], decoders[1])  # each trained its own decoder
