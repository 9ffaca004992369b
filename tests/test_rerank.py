"""Best of n (tdd.rerank): the model's own score prefers a whole answer to a mix of two, and keeping the
best-scoring candidate turns a parallel decoder's mixed answers into whole ones."""

from pathlib import Path

import pytest
import torch

from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.rerank import best_rows, self_score
from tdd.samplers import TDDSampler
from tdd.samplers.config import SamplingConfig, SamplingError

K = 6
ANSWERS = torch.tensor([[1, 2, 3], [4, 5, 0]])  # the two true "captions" of every input; mixes of them are wrong


class TwoAnswers(torch.nn.Module):
    """A denoiser of data that is one of two sentences with equal odds, whatever the condition, part way to
    the Bayes-optimal one: a share ``joint`` of its prediction reads the whole noisy sentence,
    p(x_n | y_t) = Σ_a p(a | y_t) [a_n = x_n] with p(a | y_t) ∝ exp(Σ_m posterior_logits(y_t)[m, a_m]), the rest
    reads each position alone, p(x_n | y_t[n]) (what a network that has not learned to look across positions
    does). With ``joint`` = 1 the TDD sampler never mixes the answers; below it, argmax per position can."""

    def __init__(self, joint: float = 0.5):
        super().__init__()
        self.process, self.joint = TweedieDiffusion(K), joint

    def noise_process(self) -> TweedieDiffusion:
        return self.process

    def _mixture(self, evidence: torch.Tensor) -> torch.Tensor:
        """(2, B[, N]) evidence for each answer → (B[, N], K) probabilities of the tokens."""
        w = torch.softmax(evidence, dim=0)
        b = evidence.shape[1]
        return sum(w[i][..., None, None] * self.process.one_hot(ANSWERS[i]).expand(b, -1, -1) for i in range(2))

    def forward(self, y_t, t, cond, drop=None, self_cond=None):
        logits = self.process.posterior_logits(y_t, t)  # (B, N, K)
        at = torch.stack([logits.gather(-1, a.expand(len(y_t), -1)[..., None])[..., 0] for a in ANSWERS])  # (2, B, N)
        joint = self._mixture(at.sum(-1))  # the whole sentence's evidence
        alone = torch.stack([self._mixture(at[:, :, n])[:, n] for n in range(y_t.shape[1])], dim=1)
        return torch.log((self.joint * joint + (1 - self.joint) * alone).clamp(min=1e-6))


def _whole(tokens: torch.Tensor) -> torch.Tensor:
    return (tokens[:, None, :] == ANSWERS[None]).all(-1).any(-1)


@pytest.mark.parametrize("joint", [1.0, 0.5, 0.2])
def test_the_models_own_score_prefers_a_whole_answer_to_a_mix(joint):
    sentences = torch.tensor([[1, 2, 3], [4, 5, 0], [1, 5, 3], [4, 2, 0], [1, 2, 0]])  # two whole, three mixed
    scores = self_score(TwoAnswers(joint), None, sentences, draws=64, generator=torch.Generator().manual_seed(0))
    assert scores.shape == (5,)
    assert scores[:2].min() > scores[2:].max() + 0.2


def test_best_of_n_keeps_whole_answers_where_single_samples_mix():
    model, n, inputs = TwoAnswers(joint=0.2), 8, 32
    g = torch.Generator().manual_seed(0)
    *_, last = TDDSampler(model.process, steps=4).iterate(model, None, batch_size=inputs * n, seq_len=3, generator=g)
    kept = last.rows(best_rows(self_score(model, None, last.tokens, generator=g), n)).tokens
    assert kept.shape == (inputs, 3)
    assert _whole(last.tokens).float().mean() < 0.6  # the parallel decoder mixes the answers ...
    assert _whole(kept).float().mean() > 0.9  # ... and the best of 8 by its own score is nearly always whole


def test_a_denoiser_that_reads_the_whole_sentence_never_mixes():
    """Why best of n is about the network, not the sampler: with the Bayes-optimal denoiser, argmax → one-hot →
    re-noise settles on one whole answer every time."""
    model = TwoAnswers(joint=1.0)
    *_, last = TDDSampler(model.process, steps=4).iterate(
        model, None, batch_size=256, seq_len=3, generator=torch.Generator().manual_seed(0)
    )
    assert _whole(last.tokens).all()


def test_best_rows_is_input_major():
    scores = torch.tensor([0.0, 2.0, 1.0, 5.0, 4.0, 3.0])
    assert best_rows(scores, 3).tolist() == [1, 3]
    assert best_rows(scores, 1).tolist() == list(range(6))
    with pytest.raises(ValueError, match="groups of n = 4"):
        best_rows(scores, 4)


@pytest.mark.parametrize("bad", [0, SamplingConfig.MAX_BEST_OF + 1, 2.5, "three", None])
def test_best_of_is_a_checked_sampling_setting(bad):
    with pytest.raises(SamplingError, match="best of n"):
        SamplingConfig(best_of=bad)
    assert SamplingConfig(best_of="4").best_of == 4


def test_masked_models_are_scored_on_their_masked_positions():
    class Sure(torch.nn.Module):
        """A masked-diffusion denoiser sure of one sentence."""

        def noise_process(self):
            return MaskedDiffusion(K + 1, K)

        def forward(self, x, t, cond, drop=None):
            return torch.nn.functional.one_hot(ANSWERS[0], K + 1).float().expand(len(x), -1, -1) * 20

    sentences = torch.stack([ANSWERS[0], ANSWERS[1]])
    scores = self_score(Sure(), None, sentences, generator=torch.Generator().manual_seed(0))
    assert scores[0] > -0.01 and scores[1] < -5


def test_record_rows_picks_every_batched_field():
    model = TwoAnswers()
    *_, last = TDDSampler(model.process, steps=2).iterate(model, None, batch_size=4, seq_len=3)
    picked = last.rows(torch.tensor([2, 0]))
    assert torch.equal(picked.tokens, last.tokens[[2, 0]])
    assert torch.equal(picked.noisy, last.noisy[[2, 0]])
    assert picked.step == last.step and picked.alpha_bar == last.alpha_bar


def test_a_shipped_captioner_keeps_one_candidate_an_image_and_its_trajectory():
    from tdd.caption import caption
    from tdd.data.images import preprocess_rgb
    from tdd.data.tokenizer import load_tokenizer
    from tdd.models.registry import PretrainedModel, resolve_checkpoint

    model = PretrainedModel.from_pretrained("scenes-tdd")
    tokenizer = load_tokenizer(resolve_checkpoint("scenes-tdd"))
    examples = Path(__file__).resolve().parent.parent / "examples" / "scenes"
    images = torch.stack([preprocess_rgb(examples / f"scene_{i}.png", 64) for i in (0, 1, 2)])
    runs = [caption(model, tokenizer, images, generator=torch.Generator().manual_seed(0), best_of=4) for _ in range(2)]
    assert runs[0].captions == runs[1].captions  # seeded: the same candidates, scores and choice
    assert len(runs[0].captions) == 3 and runs[0].tokens.shape == (3, model.config.max_len)
    assert len(runs[0].records) == 20 and all(r.tokens.shape == (3, model.config.max_len) for r in runs[0].records)
    assert torch.equal(runs[0].records[-1].tokens, runs[0].tokens)


def test_the_cli_takes_best_of(capsys):
    import json

    from tdd import cli

    image = str(Path(__file__).resolve().parent.parent / "examples" / "scenes" / "scene_0.png")
    assert cli.main(["caption", image, image, "--best-of", "4", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and rows[0]["caption"] == rows[1]["caption"]  # each image seeded alike, as a batch of one
    assert len(rows[0]["trajectory"]) == 20 and rows[0]["trajectory"][-1] == rows[0]["caption"]
