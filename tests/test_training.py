import pytest
import torch

from tdd.models import MLPDenoiser
from tdd.models.layers import NullCondition
from tdd.training import kfold_expand, make_ema, sample_drop_mask


def test_kfold_expand_repeats_each_instance_adjacently():
    feats, labels = torch.arange(6.0).view(3, 2), torch.tensor([7, 8, 9])
    f, l = kfold_expand((feats, labels), 4)
    assert f.shape == (12, 2) and l.tolist() == [7] * 4 + [8] * 4 + [9] * 4
    assert torch.equal(f[4:8], feats[1].expand(4, 2))
    assert kfold_expand({"a": feats}, 2)["a"].shape == (6, 2)
    with pytest.raises(ValueError):
        kfold_expand(feats, 0)


def test_drop_mask_rate_and_null_condition(gen):
    drop = sample_drop_mask(20_000, 0.1, generator=gen)
    assert drop.dtype == torch.bool and drop.float().mean().item() == pytest.approx(0.1, abs=0.01)
    null = NullCondition(4)
    c = torch.randn(3, 4)
    out = null(c, torch.tensor([True, False, True]))
    assert torch.equal(out[1], c[1]) and torch.equal(out[0], null.embedding) and torch.equal(out[2], null.embedding)
    assert torch.equal(null(c, None), c)
    with pytest.raises(ValueError):
        sample_drop_mask(3, 1.0)


def test_ema_follows_the_model():
    torch.manual_seed(0)
    model = MLPDenoiser(MLPDenoiser.tiny_config())
    ema = make_ema(model, decay=0.9)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    for step in range(1, 200):
        ema.update(model, step=step)
    for p, q in zip(model.parameters(), ema.module.parameters()):
        assert torch.allclose(p, q, atol=1e-3)


def test_lr_warms_up_linearly_then_decays_to_zero():
    from tdd.training.loop import lr_factor

    assert [lr_factor(s, 100, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 100, 4) == 1.0 and lr_factor(52, 100, 4) == pytest.approx(0.5)
    assert lr_factor(100, 100, 4) == pytest.approx(0.0) and lr_factor(200, 100, 4) == pytest.approx(0.0)


def test_baseline_losses_draw_dropout_then_ratio_then_mask():
    """mdd_loss / ar_loss (moved out of the captioner script) equal their parts composed by hand."""
    import torch.nn.functional as F

    from tdd.losses import masked_diffusion_loss
    from tdd.masked import MaskedDiffusion
    from tdd.training import ar_loss, mdd_loss

    V, B, N = 7, 4, 5
    tokens = torch.randint(0, V - 1, (B, N), generator=torch.Generator().manual_seed(1))
    proj = torch.nn.Embedding(V, V)

    def mdd_model(x_t, ratio, cond, drop):
        return proj(x_t) * (1 + ratio[:, None, None]) + cond[:, None] * (~drop)[:, None, None]

    def ar_model(x, cond, drop):
        return proj(x) + cond[:, None] * (~drop)[:, None, None]

    process, cond = MaskedDiffusion(V, V - 1), torch.randn(B, 1)
    loss = mdd_loss(mdd_model, process, cond, tokens, cond_drop=0.5, generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    drop = sample_drop_mask(B, 0.5, generator=g)
    ratio = process.sample_ratio(B, generator=g)
    x_t, masked = process.q_sample(tokens, ratio, generator=g)
    assert torch.equal(loss, masked_diffusion_loss(mdd_model(x_t, ratio, cond, drop), tokens, masked, ratio))
    loss = ar_loss(ar_model, cond, tokens, cond_drop=0.5, generator=torch.Generator().manual_seed(3))
    drop = sample_drop_mask(B, 0.5, generator=torch.Generator().manual_seed(3))
    logits = ar_model(tokens, cond, drop)
    assert torch.equal(loss, F.cross_entropy(logits.reshape(-1, V), tokens.reshape(-1)))
    loss.backward()
    assert proj.weight.grad is not None and torch.isfinite(proj.weight.grad).all()


def test_lr_scales_give_each_prefix_its_own_adamw_group_and_step_size():
    from tdd.training.config import param_groups

    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 2))
    model[1].bias.requires_grad_(False)
    groups = param_groups(model, 1e-2, {"0.": 4.0})
    assert [(g["name"], g["lr"], len(g["params"])) for g in groups] == [("default", 1e-2, 1), ("0.", 4e-2, 2)]
    (only,) = param_groups(model, 1e-2, None)
    assert [id(p) for p in only["params"]] == [id(p) for p in list(model.parameters())[:3]]  # frozen ones stay out
    # AdamW's first step moves every weight by ~lr: 4x as far under the scaled prefix
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.AdamW(groups, weight_decay=0.0)
    model(torch.randn(8, 3)).square().sum().backward()
    opt.step()
    moved = [(p.detach() - b).abs().mean().item() for p, b in zip(model.parameters(), before)]
    assert moved[0] == pytest.approx(4e-2, rel=0.05) and moved[2] == pytest.approx(1e-2, rel=0.05)
    assert moved[3] == 0.0
    with pytest.raises(ValueError, match="no trainable parameter is named after"):
        param_groups(model, 1e-2, {"encoder.": 2.0})
    with pytest.raises(ValueError, match="positive"):
        param_groups(model, 1e-2, {"0.": 0.0})
