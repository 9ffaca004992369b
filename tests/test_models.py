"""Contract tests over the registry (timm's test_models.py): every model, the same checks."""

import pytest
import torch

from tdd.models import MODELS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_registered_model_contract(name):
    cls = MODELS[name]
    torch.manual_seed(0)
    model = cls(cls.tiny_config())
    out = model.example_forward(3, torch.Generator().manual_seed(0))
    assert out.shape[0] == 3 and out.shape[-1] == model.num_outputs
    assert torch.isfinite(out).all()
    out.float().pow(2).mean().backward()
    no_grad = [
        n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert no_grad == [], f"no gradient reaches {no_grad}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_says_what_it_is_and_the_sampler_follows(name):
    """The table of kinds: a denoising model's noise process matches its output size and picks its
    sampler; the baselines have none and ``sampler_for`` refuses them in words."""
    from tdd.diffusion import TweedieDiffusion
    from tdd.masked import MaskedDiffusion
    from tdd.models import kind_of
    from tdd.samplers import MDDSampler, TDDSampler
    from tdd.sampling import sampler_for

    cls = MODELS[name]
    model = cls(cls.tiny_config())
    kind = kind_of(name)
    assert kind == cls.kind() and (kind.task, kind.method) == (model.task, model.method)
    process = model.noise_process()
    expected = {"tdd": TweedieDiffusion, "mdd": MaskedDiffusion}.get(kind.method)
    if kind.task == "":  # a building block (the MLP denoiser): no app or sampler runs it alone
        assert process is None
        return
    assert kind.denoises == (expected is not None)
    if expected is None:
        assert process is None
        with pytest.raises(TypeError, match="no denoising process"):
            sampler_for(model)
        return
    assert isinstance(process, expected)
    size = process.num_classes if isinstance(process, TweedieDiffusion) else process.vocab_size
    assert size == model.num_outputs
    sampler = sampler_for(model)
    assert isinstance(sampler, TDDSampler if expected is TweedieDiffusion else MDDSampler)


def test_an_unknown_model_type_has_no_kind_and_a_bad_kind_is_refused():
    from tdd.models import kind_of, register_model
    from tdd.models.registry import PretrainedModel

    assert kind_of("no-such-model") is None and kind_of(None) is None

    class Odd(PretrainedModel):
        model_type, task, method = "odd-model", "translate", "tdd"

    with pytest.raises(ValueError, match="task 'translate' must be one of"):
        register_model(Odd)
    assert "odd-model" not in MODELS


def test_a_frozen_cnn_encoder_keeps_its_batch_norm_statistics_in_training():
    from tdd.models.encoder import ImageEncoder

    encoder = ImageEncoder("resnet10t", channels=[8, 8, 8, 8], stem_width=8, output_stride=8)
    model = torch.nn.Sequential(encoder, torch.nn.Linear(8, 2))
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    images = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    model.train()
    model(images)
    changed = [k for k, v in encoder.state_dict().items() if not torch.equal(v, before[k])]
    assert any("running_mean" in k for k in changed)  # in train mode a batch moves the statistics …
    encoder.load_state_dict(before)
    encoder.freeze()
    model.train()  # … a frozen encoder stays in eval mode through model.train()
    assert not encoder.training and model[1].training
    out = model(images)
    assert all(torch.equal(v, before[k]) for k, v in encoder.state_dict().items())
    assert not any(p.requires_grad for p in encoder.parameters())
    out.sum().backward()
    assert model[1].weight.grad is not None and all(p.grad is None for p in encoder.parameters())
    assert torch.equal(out, model.eval()(images))  # the same features in training as in sampling
