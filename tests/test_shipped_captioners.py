"""The shipped scenes captioners load by name and keep the quality they were measured at.

The issue's target for scenes-tdd (exact match ≥ 85 %, every attribute ≥ 95 %) is NOT met by the
shipped model (see results/captioners.md); these floors guard the measured numbers (200 held-out
scenes, 20 steps, argmax, seed 0: the training script's own evaluation) against regressions.
"""

import time

import pytest
import torch

from tdd.caption import caption
from tdd.data.images import rgb_to_tensor
from tdd.data.scenes import caption_metrics, make_scene
from tdd.data.tokenizer import load_tokenizer
from tdd.models.registry import PretrainedModel, bundled_checkpoints, resolve_checkpoint

# measured at training time (runs/scenes_*/result.json), minus a small margin for BLAS differences
FLOORS = {
    "scenes-tdd": {"exact_match": 0.55, "relation": 0.90, "size": 0.82},
    "scenes-mdd": {"exact_match": 0.37, "size": 0.82},
    "scenes-ar": {"exact_match": 0.73, "relation": 0.88},
}


@pytest.fixture(scope="module")
def held_out():
    scenes = [make_scene(i, 0, "test") for i in range(200)]
    return torch.stack([rgb_to_tensor(s.image) for s in scenes]), [s.description for s in scenes]


def test_all_three_are_bundled():
    assert {"scenes-tdd", "scenes-mdd", "scenes-ar"} <= set(bundled_checkpoints())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_shipped_captioner_meets_its_measured_quality(name, held_out):
    images, references = held_out
    start = time.perf_counter()
    model = PretrainedModel.from_pretrained(name)
    tok = load_tokenizer(resolve_checkpoint(name))
    out = caption(model, tok, images, steps=20, generator=torch.Generator().manual_seed(0))
    scores = caption_metrics(out.captions, references)
    for key, floor in FLOORS[name].items():
        assert scores[key] >= floor, (name, key, scores)
    assert time.perf_counter() - start < 60
