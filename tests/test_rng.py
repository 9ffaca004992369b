"""Per-row generators: an image's trajectory does not depend on what else is in the batch."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tdd import rng
from tdd.caption import caption_steps, captioner_sampler
from tdd.data.images import preprocess_rgb
from tdd.models.registry import PretrainedModel

ROOT = Path(__file__).resolve().parent.parent
SCENES = sorted((ROOT / "examples" / "scenes").glob("*.png"))


def _gens(n, seed=0):
    return [torch.Generator().manual_seed(seed) for _ in range(n)]


def test_per_row_draws_equal_a_batch_of_one():
    alone = rng.randn((1, 3, 5), _gens(1)[0], "cpu")
    batch = rng.randn((4, 3, 5), _gens(4), "cpu")
    assert all(torch.equal(batch[b], alone[0]) for b in range(4))
    probs = torch.softmax(torch.randn(3, 4, 7, generator=torch.Generator().manual_seed(1)), -1)
    one = rng.multinomial(probs[1:2], _gens(1, 5)[0])
    assert torch.equal(rng.multinomial(probs, _gens(3, 5))[1], one[0])
    with pytest.raises(ValueError, match="3 generators for a batch of 2"):
        rng.rand((2, 4), _gens(3), "cpu")


@pytest.mark.parametrize("name, kw", [("scenes-tdd", dict(to_one="multinomial", cfg=2.0)), ("scenes-mdd", {})])
def test_an_image_alone_in_two_and_in_six_gives_one_trajectory(name, kw):
    model = PretrainedModel.from_pretrained(name)
    images = torch.stack([preprocess_rgb(p, model.config.image_size) for p in SCENES])  # 6 scenes
    sampler = (
        captioner_sampler(model, steps=6, remasking="random", **kw)
        if "mdd" in name
        else captioner_sampler(model, steps=6, **kw)
    )

    def trajectory(batch, row):
        records = list(caption_steps(model, batch, sampler, generator=_gens(len(batch), seed=3)))
        return [r.tokens[row] for r in records], torch.stack([r.top_probs[row] for r in records])

    tokens, probs = trajectory(images[:1], 0)
    for batch, row in ((images[:2], 0), (images, 0), (images[[3, 0]], 1)):  # wherever it stands in the batch
        other_tokens, other_probs = trajectory(batch, row)
        assert all(torch.equal(a, b) for a, b in zip(other_tokens, tokens))  # the same words at every step
        torch.testing.assert_close(other_probs, probs, rtol=1e-4, atol=1e-5)  # matmuls differ with batch size


@pytest.mark.slow
def test_cli_captions_do_not_depend_on_the_other_images():
    def run(*paths):
        out = subprocess.run([sys.executable, "-m", "tdd", "caption", *map(str, paths), "--json", "--to-one",
                              "multinomial"], capture_output=True, text=True, timeout=300)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return {r["image"]: r["trajectory"] for r in map(json.loads, out.stdout.splitlines())}

    alone = run(SCENES[0])[str(SCENES[0])]
    assert run(SCENES[0], SCENES[1])[str(SCENES[0])] == alone
    assert run(*SCENES)[str(SCENES[0])] == alone
