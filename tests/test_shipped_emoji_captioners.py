"""The shipped emoji captioners (emoji-names-{tdd,mdd,ar}, #40) load by name and keep the quality they were measured
at, on a fixed sample of 200 concepts of OpenMoji colour, a style none of them was trained on or selected with.

The floors are what these 200 measured (20 steps, argmax, evaluation seed 0), less a point for BLAS differences.
They are far below #40's targets (30 % exact, 60 % word F1), which results/emoji_caption.md reports as missed; on
all of OpenMoji colour the three measured 5.2 / 3.2 / 16.1 % exact there.
"""

import random

import pytest

from tdd.caption import caption
from tdd.data import emoji
from tdd.data.tokenizer import load_tokenizer
from tdd.evaluation import word_f1
from tdd.models.registry import PretrainedModel, bundled_checkpoints, resolve_checkpoint
from tdd.rng import generator

pytestmark = pytest.mark.slow

SAMPLE, STYLE = 200, "openmoji"
# measured on these 200 (exact names of 200, mean word F1)
FLOORS = {
    "emoji-names-tdd": (12, 0.40),  # measured 14, 0.419
    "emoji-names-mdd": (3, 0.34),  # measured 5, 0.361
    "emoji-names-ar": (34, 0.50),  # measured 37, 0.520
}


@pytest.fixture(scope="module")
def openmoji(sources):
    if STYLE in sources["absent"]:
        pytest.skip(f"OpenMoji is not installable here: {sources['absent']}")
    names = emoji.concepts()  # OpenMoji's own list of names: it draws every one
    glyphs = emoji.build_style(STYLE, keys=sorted(random.Random(0).sample(sorted(names), SAMPLE)))
    assert len(glyphs.keys) == SAMPLE
    import torch

    rgba = torch.from_numpy(glyphs.images).permute(0, 3, 1, 2).float() / 255
    return rgba, [emoji.tokenize(names[k]) for k in glyphs.keys]


def test_all_three_are_bundled_in_float16_under_10_mb():
    for name in FLOORS:
        assert name in bundled_checkpoints()
        assert sum(f.stat().st_size for f in resolve_checkpoint(name).iterdir()) < 10 * 2**20


def test_each_keeps_its_measured_quality_on_openmoji_and_tdd_beats_masked_diffusion(openmoji):
    rgba, truths = openmoji
    measured = {}
    for name, (exact_floor, f1_floor) in FLOORS.items():
        model = PretrainedModel.from_pretrained(name)
        x = emoji.glyph_inputs(rgba, model.config.image_size)
        said = [emoji.tokenize(c) for c in caption(model, load_tokenizer(resolve_checkpoint(name)), x, steps=20,
                                                   generator=generator(0)).captions]  # fmt: skip
        exact = sum(s == t for s, t in zip(said, truths))
        f1 = sum(word_f1(s, t) for s, t in zip(said, truths)) / len(truths)
        measured[name] = (exact, f1)
        assert exact >= exact_floor and f1 >= f1_floor, (name, exact, f1)
    tdd, mdd = measured["emoji-names-tdd"], measured["emoji-names-mdd"]
    assert tdd[0] > mdd[0] and tdd[1] > mdd[1], measured  # the paper's claim that holds here (results/emoji_caption.md)
