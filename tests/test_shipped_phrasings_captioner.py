"""The shipped four-phrasing scenes captioner (#42): trained on all four phrasings a scene has (as COCO has several
captions an image) with clean context, told each position's timestep. It loads by name, shares the scenes
captioners' frozen encoder, is offered by the Caption tab beside the default `scenes-tdd`, keeps the quality it was
measured at, and several samples of it differ while staying right on most of the app's examples.

The floors are what `experiments/phrasings.py` and this sample measured (20 steps, argmax, seed 0), less a margin;
the issue's bar for the app's default (97 % / 95 %) is not met, and results/phrasings_clean_context.md says so.
"""

import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tdd import demo
from tdd.caption import caption
from tdd.data.images import rgb_to_tensor
from tdd.data.scene_marks import answer_is_right
from tdd.data.scenes import caption_metrics, make_scene
from tdd.data.tokenizer import load_tokenizer
from tdd.models.registry import PretrainedModel, resolve_checkpoint

NAME = "scenes-tdd-phrasings"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "scenes"
SAMPLE = 200
# measured on these 200 scenes: exact 77.5 %, shape 81.2, colour 80.9, size 89.4, count 94.0, relation 96.3
FLOORS = {"exact_match": 0.755, "shape": 0.79, "colour": 0.79, "count": 0.92, "relation": 0.94}


def test_it_is_told_each_positions_t_shares_the_scenes_encoder_and_is_offered_beside_the_default():
    model = PretrainedModel.from_pretrained(NAME)
    assert model.config.per_position_t and model.config.commit == "left_to_right"
    trained = model.checkpoint_extra["train_args"]
    assert (trained["scene_phrasing"], trained["clean_context"], trained["freeze_encoder"]) == ("any", 1.0, True)
    assert trained["encoder_from"] == "tdd/checkpoints/scenes-tdd"
    mine, theirs = (load_file(resolve_checkpoint(n) / "model.safetensors") for n in (NAME, "scenes-tdd"))
    encoder = [k for k in theirs if k.startswith("conditioner.encoder.")]
    assert len(encoder) > 50 and all(torch.equal(mine[k], theirs[k]) for k in encoder)  # copied, frozen
    assert NAME in demo.catalogue("caption") and demo.task_of("caption").default_model == "scenes-tdd"
    assert demo.compare_of().families()["scenes"]["tdd"] == "scenes-tdd"  # Side by side keeps the canonical one


@pytest.mark.slow
def test_it_keeps_its_measured_quality_on_200_test_scenes():
    start = time.perf_counter()
    model = PretrainedModel.from_pretrained(NAME)
    scenes = [make_scene(i, 0, "test", style="random") for i in range(SAMPLE)]
    images = torch.stack([rgb_to_tensor(s.image) for s in scenes])
    out = caption(model, load_tokenizer(resolve_checkpoint(NAME)), images, steps=20,
                  generator=torch.Generator().manual_seed(0))  # fmt: skip
    scores = caption_metrics(out.captions, [s.description for s in scenes])  # exact: in any of the four phrasings
    assert all(scores[key] >= floor for key, floor in FLOORS.items()), scores
    assert time.perf_counter() - start < 60


def test_several_samples_differ_while_staying_right_on_most_examples():
    """#42: "several samples" gives at least two distinct right phrasings on most of the app's examples (8 samples
    an example, one batch, multinomial at temperature 1, seeds 0-7, as the Caption tab draws them)."""
    examples = [line.split("\t") for line in (EXAMPLES / "captions.txt").read_text().splitlines()]
    spread = {}
    for file, truth in examples:
        answers = demo.several_samples(NAME, EXAMPLES / file, demo.Settings(seed=0), 8)
        spread[file] = sorted({a for a in answers if answer_is_right(a, truth)})
    assert sum(len(right) >= 2 for right in spread.values()) > len(examples) / 2, spread
