import numpy as np
import pytest
import torch

from tdd import viz
from tdd.classify import classify
from tdd.data.digits import load_digits_split, to_model_input
from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.models import MDDCaptioner, PretrainedModel, TDDCaptioner
from tdd.samplers import MDDSampler, TDDSampler


@pytest.fixture(scope="module")
def class_records():
    model = PretrainedModel.from_pretrained("digits-tdd")
    x = to_model_input(load_digits_split().test_images[:2], model.config.image_size)
    return classify(model, x, steps=6, generator=torch.Generator().manual_seed(0)).records


def test_class_figures(class_records):
    bars = viz.class_probability_bars(class_records, index=1)
    assert len(bars.frames) == 6 and len(bars.layout.sliders[0].steps) == 6
    assert np.isclose(sum(bars.frames[-1].data[0].y), 1.0, atol=1e-4)
    heat = viz.class_heatmap(class_records)
    assert np.asarray(heat.data[0].z).shape == (10, 6)
    assert len(viz.entropy_per_step(class_records, index=0).data[0].y) == 6


def _caption_records(cls, sampler):
    torch.manual_seed(0)
    model = cls(cls.tiny_config()).eval()
    cond = model.encode(model.example_images(2, torch.Generator().manual_seed(0)))
    return list(sampler.iterate(model, cond, batch_size=2, seq_len=5, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("method", ["tdd", "mdd"])
def test_sentence_and_token_figures(method):
    if method == "tdd":
        records = _caption_records(TDDCaptioner, TDDSampler(TweedieDiffusion(11), steps=4, record_topk=3))
    else:
        records = _caption_records(MDDCaptioner, MDDSampler(MaskedDiffusion(11, 1), steps=4, record_topk=3))
    words = {i: f"w{i}" for i in range(11)}
    sentence = viz.sentence_trajectory(records, words.__getitem__, index=1, hide=[0])
    text = sentence.data[0].text
    assert len(text) == 4 and len(text[0]) == 5
    last = records[-1].tokens[1].tolist()
    assert [t.lstrip(viz.CHANGED_MARK) for t in text[-1]] == ["" if i == 0 else f"w{i}" for i in last]
    chosen, z = viz.token_candidates(records, position=2, index=1, top=4)
    assert z.shape == (len(chosen), 4) and len(chosen) <= 4 and (z >= 0).all() and (z <= 1).all()
    heat = viz.token_heatmap(records, 2, words.__getitem__, index=1, top=4)
    assert list(heat.data[0].y) == [f"w{c}" for c in chosen]


def test_class_figures_fill_topk_records_with_their_candidates(class_records):
    """A step that kept only its top candidates (a classifier with K > 128) is drawn from them, 0 elsewhere
    (it used to raise; classifiers of any K now keep the whole distribution at the last step)."""
    first = class_records[0]
    kept = {"probs": None, "top_ids": first.top_ids[:, :3], "top_probs": first.top_probs[:, :3]}  # top 3 of 10
    records = [type(first)(**{**vars(first), **kept}), *class_records[1:]]
    full = np.asarray(viz.class_heatmap(class_records).data[0].z)
    z = np.asarray(viz.class_heatmap(records).data[0].z)  # (classes, steps)
    assert np.allclose(z[:, 1:], full[:, 1:])
    top = records[0].top_ids[0].tolist()
    assert (
        np.allclose(z[top, 0], records[0].top_probs[0].numpy())
        and z[[k for k in range(10) if k not in top], 0].sum() == 0
    )


def test_quality_vs_steps():
    fig = viz.quality_vs_steps({"TDD": [(1, 0.5), (10, 0.9)], "MDD": [(1, 0.2), (10, 0.7)]})
    assert [t.name for t in fig.data] == ["TDD", "MDD"]


def test_settle_steps_finds_where_each_word_stopped_changing():
    from types import SimpleNamespace

    import torch

    from tdd.viz import settle_steps

    rows = [[5, 7, 0], [5, 8, 0], [6, 8, 0], [6, 8, 0]]  # position 0 settles at step 3, position 1 at step 2
    records = [SimpleNamespace(tokens=torch.tensor([r])) for r in rows]
    assert settle_steps(records, 0) == [(0, 3), (1, 2)]  # padding (id 0) skipped
    assert settle_steps(records, 0, skip=()) == [(0, 3), (1, 2), (2, 1)]
