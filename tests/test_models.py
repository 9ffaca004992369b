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
