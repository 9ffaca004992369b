import pytest
import torch
import torch.nn.functional as F

from tdd.losses import eps_mse_loss, masked_diffusion_loss, tdd_cross_entropy


def test_alpha_bar_weighting_and_plain_ce(gen):
    logits = torch.randn(6, 5, generator=gen)
    targets = torch.randint(5, (6,), generator=gen)
    ab = torch.rand(6, generator=gen)
    ce = F.cross_entropy(logits, targets, reduction="none")
    assert torch.allclose(tdd_cross_entropy(logits, targets, ab), (ab * ce).mean())
    assert torch.allclose(tdd_cross_entropy(logits, targets, ab, weighting="none"), ce.mean())
    smoothed = F.cross_entropy(logits, targets, label_smoothing=0.1)
    assert torch.allclose(tdd_cross_entropy(logits, targets, ab, weighting="none", label_smoothing=0.1), smoothed)


def test_padding_mask_excludes_positions(gen):
    logits = torch.randn(2, 4, 9, generator=gen, requires_grad=True)
    targets = torch.randint(9, (2, 4), generator=gen)
    mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    ab = torch.tensor([0.5, 0.25])
    loss = tdd_cross_entropy(logits, targets, ab, mask=mask)
    ce = F.cross_entropy(logits.reshape(-1, 9), targets.reshape(-1), reduction="none").view(2, 4)
    expected = (ce * ab[:, None] * mask).sum() / mask.sum()
    assert torch.allclose(loss, expected)
    loss.backward()
    assert logits.grad[~mask].abs().sum() == 0 and logits.grad[mask].abs().sum() > 0


def test_shape_and_weighting_errors(gen):
    with pytest.raises(ValueError, match="do not match targets"):
        tdd_cross_entropy(torch.randn(3, 4), torch.zeros(2, dtype=torch.long), torch.ones(3))
    with pytest.raises(ValueError, match="weighting"):
        tdd_cross_entropy(torch.randn(3, 4), torch.zeros(3, dtype=torch.long), torch.ones(3), weighting="snr")


def test_eps_mse(gen):
    a, b = torch.randn(3, 4, 5, generator=gen), torch.randn(3, 4, 5, generator=gen)
    assert torch.allclose(eps_mse_loss(a, b), F.mse_loss(a, b))
    assert eps_mse_loss(a, a).item() == 0


def test_masked_diffusion_loss_is_eq4(gen):
    logits = torch.randn(2, 3, 6, generator=gen)
    targets = torch.randint(6, (2, 3), generator=gen)
    is_masked = torch.tensor([[True, False, True], [False, False, True]])
    t = torch.tensor([0.5, 0.2])
    ce = F.cross_entropy(logits.reshape(-1, 6), targets.reshape(-1), reduction="none").view(2, 3)
    expected = (ce * is_masked / t[:, None]).sum() / 6  # (1/t) Σ_i 1[x_t^i = M] CE, over B·N positions
    assert torch.allclose(masked_diffusion_loss(logits, targets, is_masked, t), expected)
    # unmasked positions never contribute
    changed = logits.clone()
    changed[~is_masked] += 100
    assert torch.allclose(masked_diffusion_loss(changed, targets, is_masked, t), expected)
