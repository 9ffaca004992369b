"""What the noisy state reads (tdd.noise_reads) and its views: the answer really forms over the steps in y_t."""

from pathlib import Path

import torch

from tdd import demo
from tdd.data.tokenizer import PAD_ID
from tdd.noise_reads import noisy_argmax, noisy_candidates, settled_share, signal_margin
from tdd.samplers.common import StepRecord, noisy_summary
from tdd.viz import noisy_state_figure

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLE = sorted((ROOT / "examples" / "scenes").glob("*.png"))[0]  # the app's first example


def test_on_the_apps_default_example_the_noise_reads_random_words_then_the_caption():
    run = demo.run_to_end("scenes-tdd", DEFAULT_EXAMPLE, demo.Settings())  # the app's default settings
    reads = [tuple(noisy_argmax(r).tolist()) for r in run.records]
    assert sum(a != b for a, b in zip(reads, reads[1:])) >= 10  # the row changes at ≥ 10 of 20 steps
    final = tuple(run.records[-1].tokens[0].tolist())
    same = [k for k, row in enumerate(reads) if row == final]
    assert same and min(same) >= 15, same  # it equals the final caption only in the last steps
    share = settled_share(run.records, skip=[PAD_ID])
    assert max(share[:10]) < 0.3 and share[-1] == 1.0
    html = demo.sentence_html(run, demo.load("scenes-tdd"), 0)
    assert html.count('class="tdd-noise"') == 16 and "pure noise" in html and "what the noise reads" in html


def _record(noisy: torch.Tensor, tokens: torch.Tensor, topk: int) -> StepRecord:
    probs = torch.full((*tokens.shape, noisy.shape[-1]), 1.0 / noisy.shape[-1])
    return StepRecord(step=0, num_steps=2, t=1.0, tokens=tokens, top_probs=probs[..., :1], top_ids=tokens[..., None],
                      entropy=tokens.float(), changed=tokens.bool(), **noisy_summary(noisy, topk))  # fmt: skip


def test_signal_margin_exact_and_from_the_top_k_of_a_large_vocabulary():
    draft = torch.tensor([[2, 0, 4]])  # (B=1, N=3)
    y = torch.tensor([[[0.0, 0.1, 0.9, 0.2, 0.0], [0.3, 0.8, 0.0, 0.0, 0.1], [0.5, 0.4, 0.3, 0.2, 0.1]]])
    records = [_record(torch.zeros_like(y), draft, 5), _record(y, draft, 5)]
    assert signal_margin(records, 0) is None
    assert torch.allclose(signal_margin(records, 1), torch.tensor([0.7, -0.5, -0.4]))
    big = torch.cat([y, torch.full((1, 3, 200), -9.0)], dim=-1)  # K = 205: only the top 2 coordinates are kept
    records = [_record(torch.zeros_like(big), draft, 2), _record(big, draft, 2)]
    assert records[1].noisy is None
    # in the top 2: exact; outside: the bound (2nd largest − largest)
    assert torch.allclose(signal_margin(records, 1), torch.tensor([0.7, -0.5, -0.1]))
    words, grid = noisy_candidates(records, position=0)
    assert words[0] == 2 and grid.shape == (len(words), 2) and torch.isnan(grid[words.index(2), 0])


def test_the_noisy_state_figure_and_the_classifier_state():
    run = demo.run_to_end("digits-tdd", ROOT / "examples" / "digits" / "drawn_7.png", demo.Settings(steps=10))
    loaded = demo.load("digits-tdd")
    fig = demo.all_views(run, loaded)["noisy"]
    assert [t.type for t in fig.data] == ["heatmap", "scatter", "scatter"]
    assert set(fig.data[0].y) <= {f"class {c}" for c in range(10)} and fig.data[0].y[0] == "class 7"
    assert list(fig.data[1].y) == [r.signal_scale for r in run.records]
    bars = demo.bars_figure(run, loaded, 3)  # p(class) and the noisy 10-vector the network saw, at step 4
    assert [t.name for t in bars.data] == ["p(class), the answer", "y_t, the noisy input"]
    assert list(bars.data[1].y) == run.records[3].noisy[0].tolist()
    mdd = demo.run_to_end("scenes-mdd", DEFAULT_EXAMPLE, demo.Settings(steps=5))
    assert demo.all_views(mdd, demo.load("scenes-mdd"))["noisy"] is None  # masked diffusion has no y_t
    assert noisy_state_figure(run.records, 0, str).layout.title.text.startswith("What the network saw")


def test_without_the_picture_the_language_prior_writes_a_sentence_from_noise():
    """CFG scale 0 (the null condition alone): the predicted sentence changes at ≥ 3 of the 20 steps for at
    least half of 8 seeds."""
    loaded = demo.load("scenes-tdd")
    changing = 0
    for seed in range(8):
        run = demo.run_to_end("scenes-tdd", DEFAULT_EXAMPLE, demo.Settings(cfg=0.0, seed=seed))
        texts = [demo.sentence_text(r, loaded) for r in run.records]
        changing += sum(a != b for a, b in zip(texts, texts[1:])) >= 3
    assert changing >= 4, changing


def test_several_samples_are_one_batch_whose_rows_are_their_own_seeds():
    blind = demo.Settings(cfg=0.0, seed=5)
    answers = demo.several_samples("scenes-tdd", DEFAULT_EXAMPLE, blind, 6)
    assert len(answers) == 6 and len(set(answers)) >= 2  # without the picture, the answers spread
    for b in (0, 3):
        alone = demo.several_samples("scenes-tdd", DEFAULT_EXAMPLE, demo.Settings(cfg=0.0, seed=5 + b), 1)
        assert alone == [answers[b]]  # row b draws what a batch of one seeded seed + b draws
    assert demo.several_samples("digits-tdd", ROOT / "examples" / "digits" / "drawn_7.png", demo.Settings(), 3) == [
        "7", "7", "7",
    ]  # fmt: skip
    html = demo.samples_html(answers, blind)
    assert "6 samples" in html and "seeds 5–10" in html
    for name, n, message in (("scenes-ar", 2, "one pass"), ("scenes-tdd", 0, "from 1 to 16"),
                             ("scenes-tdd", 17, "from 1 to 16"), ("digits-tdd", 2, "classify model")):  # fmt: skip
        try:
            demo.several_samples(name, DEFAULT_EXAMPLE, demo.Settings(), n, task="caption")
        except demo.DemoError as e:
            assert message in str(e), e
        else:
            raise AssertionError(f"{name}, n={n} was not refused")
