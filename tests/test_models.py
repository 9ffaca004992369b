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
