"""The training objectives and their helpers: TDD's loss with its levers (K-fold feature reuse §3.3,
condition dropout for CFG A.3, self-conditioning, unrolling), the baselines' losses (masked diffusion,
autoregressive teacher forcing), and EMA (A.3, eq. 2) from timm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from tdd.losses import eps_mse_loss, masked_diffusion_loss, tdd_cross_entropy
from tdd.tensors import map_tensors

if TYPE_CHECKING:
    from tdd.diffusion import TweedieDiffusion
    from tdd.masked import MaskedDiffusion
    from tdd.timesteps import UniformTimesteps

DEFAULT_EMA_DECAY = 0.9999  # A.3
OBJECTIVES = ("ce", "ce_no_coef", "eps_mse")  # Tab. 2: ᾱ_t-weighted CE, plain CE, ε regression
# self-conditioning: the share of training rows given the first pass's p̂ (Analog Bits); the others get zeros, as the
# sampler's first step does
SELF_COND_PROB = 0.5


def kfold_expand(cond: Any, k: int) -> Any:
    """§3.3's feature reuse: repeat each instance's features ``k`` times along the batch.

    ``(B, ...)`` → ``(B·k, ...)`` with copies of one instance adjacent (MAR's
    ``diffusion_batch_mul``), so the encoder runs once while the denoiser sees k timesteps per
    instance. Works on a tensor or a tuple/list/dict of tensors. Repeat the targets the same way.
    """
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    if k == 1:
        return cond
    return map_tensors(lambda x: x.repeat_interleave(k, dim=0), cond)


def sample_drop_mask(
    batch_size: int, prob: float, *, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Condition dropout for CFG: ``(B,)`` bool, ``True`` (use the null condition) with probability ``prob``."""
    if not 0 <= prob < 1:
        raise ValueError(f"condition-dropout probability must lie in [0, 1), got {prob}")
    return torch.rand(batch_size, generator=generator, device=device) < prob


def tdd_loss(
    model: nn.Module,
    diffusion: TweedieDiffusion,
    cond: Any,
    labels: torch.Tensor,
    *,
    objective: str = "ce",
    kfold: int = 1,
    cond_drop: float = 0.0,
    label_smoothing: float = 0.0,
    mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    timesteps: UniformTimesteps | None = None,
    self_cond: bool = False,
    self_cond_prob: float = SELF_COND_PROB,
    unroll: float = 0.0,
    mixed_noise: float = 0.0,
    clean_context: float = 0.0,
) -> torch.Tensor:
    """The TDD training loss of one batch, for any denoiser ``model(y_t, t, cond, drop_cond)``.

    1. K-fold reuse: repeat ``cond`` and ``labels`` ``kfold`` times (§3.3; a model with
       ``repeat_condition(cond, k)``, as the captioners, shares each image's memory among its k rows instead);
    2. draw t ~ U{1..T} and ε, and corrupt the one-hot labels (eq. §3.2);
    3. drop the condition with probability ``cond_drop`` (the null embedding, for CFG);
    4. apply ``objective``: ``"ce"`` (ᾱ_t-weighted CE), ``"ce_no_coef"`` or ``"eps_mse"`` (Tab. 2).

    Args:
        cond: the condition, batch first (computed once per instance, e.g. image features).
        labels: ``(B,)`` classes or ``(B, N)`` tokens. mask: ``(B[, N])`` bool, ``False`` at padding.
        timesteps: where t is drawn (:mod:`tdd.timesteps`); ``None`` is the paper's t ~ U{1..T}. A
            sampler other than the uniform one brings its own CE weighting (ᾱ_t-proportional draws
            and the adaptive one use unweighted CE) and learns from each batch's CE.
        self_cond: self-conditioning (Analog Bits, CDCD): for a random share ``self_cond_prob`` of the items
            (half by default) a first pass without gradient gives p̂, fed to the second pass (the model's
            ``self_cond`` input); the others get zeros, as the sampler's first step does.
        mixed_noise: the share of sequences with about half their positions cleaner than the t the network is told
            (:func:`mixed_noise_input`; adaptive timesteps then learn each t's CE from these easier rows too).
        clean_context: the share of sequences with a random fraction of their positions clean (t = 0, out of the
            loss), the network told each position's t (:func:`clean_context_input`; a model with ``per_position_t``).
        unroll: the share of items whose y_t is built from the model's own argmax at a noisier
            timestep instead of the true tokens (SUNDAE's unrolled denoising, in TDD's own terms: the
            sampler's argmax → one-hot → re-noise), so that it learns to repair its drafts. Not with a
            model whose config has ``output_prior`` (its logits trust y_t).
    With every lever off, the random draws and the forward are exactly those of the paper's recipe.
    """

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    share = getattr(model, "repeat_condition", None)  # a model that shares one image's memory among its k rows
    cond = share(cond, kfold) if share is not None else kfold_expand(cond, kfold)  # B·k rows
    labels = kfold_expand(labels, kfold)  # (B·k[, N])
    if mask is not None:
        mask = kfold_expand(mask, kfold)
    t = None if timesteps is None else timesteps.sample(len(labels), generator=generator, device=labels.device)
    y_t, t, noise = diffusion.training_pair(labels, generator=generator, t=t)
    drop = sample_drop_mask(len(labels), cond_drop, generator=generator, device=labels.device)
    _check_levers(model, objective, self_cond, unroll, mixed_noise, clean_context)
    if mixed_noise:
        y_t = mixed_noise_input(diffusion, labels, y_t, t, noise, mixed_noise, generator)
    row_t, context_rows = t, None
    if clean_context:
        y_t, t, clean = clean_context_input(diffusion, labels, y_t, t, clean_context, generator)
        context_rows = clean.any(dim=1)
        mask = ~clean if mask is None else mask & ~clean  # a clean position has nothing to learn
    if unroll:
        y_t = unrolled_input(model, diffusion, cond, labels, y_t, t, noise, drop, unroll, generator)
    if self_cond:
        out = model(y_t, t, cond, drop, self_cond=self_cond_input(model, y_t, t, cond, drop, generator, self_cond_prob))
    else:
        out = model(y_t, t, cond, drop)
    if objective == "eps_mse":
        return eps_mse_loss(out, noise, mask=mask)
    weighting = "alpha_bar" if objective == "ce" else "none"
    if timesteps is not None:
        weighting = timesteps.weighting if objective == "ce" else "none"
        _learn_timesteps(timesteps, out, labels, mask, row_t, drop, context_rows)
    alpha_bar = diffusion.schedule.alpha_bar(row_t)
    return tdd_cross_entropy(out, labels, alpha_bar, weighting=weighting, label_smoothing=label_smoothing, mask=mask)


def _learn_timesteps(timesteps, out, labels, mask, row_t, drop, context_rows) -> None:
    """Fold the batch's per-item CE into an adaptive timestep draw: from the rows noised to their t alone, not from
    those a clean context helped."""
    plain = torch.ones_like(drop) if context_rows is None else ~context_rows
    ce = per_item_ce(out.detach()[plain], labels[plain], None if mask is None else mask[plain])
    timesteps.update(row_t[plain], ce, conditioned=(~drop)[plain])


def _check_levers(
    model: nn.Module, objective: str, self_cond: bool, unroll: float, mixed_noise: float, clean_context: float
) -> None:
    """One clear error for levers that do not go together, or with this model or objective."""
    config = getattr(model, "config", None)
    if (self_cond or unroll) and objective == "eps_mse":
        raise ValueError("self_cond and unroll act on the predicted tokens: use a cross-entropy objective")
    if unroll and getattr(config, "output_prior", False):
        # an unrolled y_t comes from the model's draft: at small t the exact posterior of the true tokens is then
        # confidently wrong, and the network would need logits of ~1/(1 − ᾱ_t) to overrule it
        raise ValueError("unroll and the output prior do not mix: the prior trusts y_t, which unrolling corrupts")
    if clean_context and (unroll or mixed_noise):
        raise ValueError("clean_context does not mix with unroll or mixed_noise: each rebuilds y_t its own way")
    if clean_context and not getattr(config, "per_position_t", False):
        raise ValueError("clean_context needs a model told each position's t (config per_position_t)")


def _rows(x: Any, keep: torch.Tensor) -> Any:
    rows = getattr(x, "rows", None)  # a SharedCondition (tdd.models.memory) selects its own rows
    return rows(keep) if rows is not None else map_tensors(lambda v: v[keep], x)


@torch.no_grad()
def self_cond_input(
    model: nn.Module,
    y_t: torch.Tensor,
    t: torch.Tensor,
    cond: Any,
    drop: torch.Tensor,
    generator,
    prob: float = SELF_COND_PROB,
) -> torch.Tensor:
    """p̂ ``y_t.shape``: zeros, and for a random share ``prob`` of the rows the model's own first-pass softmax."""
    if not 0 < prob < 1:
        raise ValueError(f"the self-conditioning probability must lie in (0, 1), got {prob}")
    use = torch.rand(len(y_t), generator=generator, device=y_t.device) < prob
    fed = torch.zeros_like(y_t)
    if use.any():
        first = model(y_t[use], t[use], _rows(cond, use), drop[use], self_cond=torch.zeros_like(y_t[use]))
        fed[use] = torch.softmax(first.float(), dim=-1).to(fed.dtype)
    return fed


def _check_sequence_share(lever: str, share: float, labels: torch.Tensor) -> None:
    """A lever that acts on a share of token sequences: the share in (0, 1], and sequences ``(B, N)``."""
    if not 0 < share <= 1:
        raise ValueError(f"{lever} must lie in (0, 1], got {share}")
    if labels.ndim != 2:
        raise ValueError(f"{lever} needs sequences (B, N): a single label has no other positions to read")


@torch.no_grad()
def mixed_noise_input(
    diffusion: TweedieDiffusion,
    labels: torch.Tensor,
    y_t: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    share: float,
    generator,
) -> torch.Tensor:
    """For a ``share`` of the sequences ``(B, N)``, each position kept at the row's t or, with probability 1/2,
    re-noised (same ε) to its own t' ~ U{0..t−1}; the network is still told t.

    Why: noised to one shared t, a position's own coordinates say about as much as its neighbours' at every t,
    so a network learns little from reading the other positions, and a caption's second group is written
    without looking at its first (experiments/phrasings.py, "given the first group"). Clearer neighbours beside
    a noisy position make that reading pay, as the clean words beside masks do in masked diffusion (and per-token
    noise levels do in Diffusion Forcing)."""
    _check_sequence_share("mixed_noise", share, labels)
    g = dict(generator=generator, device=labels.device)
    rows = torch.rand(len(labels), **g) < share  # (B,)
    cleaner = rows[:, None] & (torch.rand(labels.shape, **g) < 0.5) & (t[:, None] > 0)  # (B, N)
    if not cleaner.any():
        return y_t
    t_pos = (torch.rand(labels.shape, **g) * t[:, None].float()).long()  # U{0..t−1} at every position
    levels = torch.where(cleaner, t_pos, t[:, None]).flatten()  # the forward process, one row a position
    y0 = diffusion.one_hot(labels).to(y_t.dtype).flatten(0, 1)
    rebuilt = diffusion.q_sample(y0, levels, noise.flatten(0, 1)).view_as(y_t)
    return torch.where(cleaner[..., None], rebuilt, y_t)


@torch.no_grad()
def clean_context_input(
    diffusion: TweedieDiffusion,
    labels: torch.Tensor,
    y_t: torch.Tensor,
    t: torch.Tensor,
    share: float,
    generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For a ``share`` of the sequences ``(B, N)``, a fraction u ~ U(0, 1) of the positions (drawn per sequence)
    made clean: their exact (λ-)one-hot, at t = 0. Returns ``(y_t, t (B, N), clean (B, N) bool)``: the other
    positions keep the row's y_t and t.

    Why: noised to one shared t, a position's own coordinates say about as much as its neighbours' at every t, so a
    network learns little from reading the other positions, and a caption whose phrasing is free (the scenes' four,
    COCO's five) is written as a mix of two (results/binding.md). Masked diffusion shows clean words beside masks,
    and reading them pays at once; here the same in Gaussian terms, with the network told which positions are clean
    (Diffusion Forcing's per-token noise level at its two extremes). The matching sampler commits positions, clean, as
    masked diffusion unmasks them (:class:`~tdd.samplers.tdd_sampler.TDDSampler`'s ``commit``)."""
    _check_sequence_share("clean_context", share, labels)
    g = dict(generator=generator, device=labels.device)
    rows = torch.rand(len(labels), **g) < share  # (B,)
    fraction = torch.rand(len(labels), 1, **g)  # u per sequence
    clean = rows[:, None] & (torch.rand(labels.shape, **g) < fraction)  # (B, N)
    t_pos = torch.where(clean, torch.zeros_like(labels, dtype=t.dtype), t[:, None].expand_as(labels))
    y0 = diffusion.one_hot(labels).to(y_t.dtype)
    return torch.where(clean[..., None], y0, y_t), t_pos, clean


@torch.no_grad()
def unrolled_input(
    model: nn.Module,
    diffusion: TweedieDiffusion,
    cond: Any,
    labels: torch.Tensor,
    y_t: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    drop: torch.Tensor,
    share: float,
    generator,
) -> torch.Tensor:
    """For a ``share`` of the rows, y_t re-built as the sampler builds it: the model predicts from the
    true tokens noised to a larger t' ∈ (t, T], its argmax is made one-hot and noised to t (same ε)."""
    if not 0 < share <= 1:
        raise ValueError(f"unroll must lie in (0, 1], got {share}")
    pick = (torch.rand(len(labels), generator=generator, device=labels.device) < share) & (t < diffusion.num_timesteps)
    if not pick.any():
        return y_t
    t_pick = t[pick]
    span = (diffusion.num_timesteps - t_pick).float()
    draw = torch.rand(len(t_pick), generator=generator, device=t.device)
    t_hi = t_pick + (draw * span).long().clamp(max=span.long() - 1) + 1  # uniform in (t, T]
    y_hi = diffusion.q_sample(diffusion.one_hot(labels[pick]), t_hi, generator=generator)
    kwargs = {"self_cond": torch.zeros_like(y_hi)} if getattr(model.config, "self_cond", False) else {}
    draft = model(y_hi, t_hi, _rows(cond, pick), drop[pick], **kwargs).argmax(-1)
    y_t = y_t.clone()
    y_t[pick] = diffusion.q_sample(diffusion.one_hot(draft).to(y_t.dtype), t_pick, noise[pick])
    return y_t


def mdd_loss(
    model: nn.Module,
    process: MaskedDiffusion,
    cond: Any,
    tokens: torch.Tensor,
    *,
    cond_drop: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The masked-diffusion baseline's loss (DLC appendix eq. 4): a mask ratio per item, the masked
    positions' cross-entropy weighted by 1/ratio; condition dropout as for TDD."""

    drop = sample_drop_mask(len(tokens), cond_drop, generator=generator, device=tokens.device)
    ratio = process.sample_ratio(len(tokens), generator=generator, device=tokens.device)
    x_t, is_masked = process.q_sample(tokens, ratio, generator=generator)
    return masked_diffusion_loss(model(x_t, ratio, cond, drop), tokens, is_masked, ratio)


def ar_loss(
    model: nn.Module,
    cond: Any,
    tokens: torch.Tensor,
    *,
    cond_drop: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The autoregressive baseline's loss: next-token cross-entropy under teacher forcing."""
    drop = sample_drop_mask(len(tokens), cond_drop, generator=generator, device=tokens.device)
    logits = model(tokens, cond, drop)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))


def per_item_ce(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Unweighted cross-entropy of each item ``(B,)``, averaged over its counted positions."""
    ce = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1).long(), reduction="none"
    ).view(labels.shape)
    if ce.ndim == 1:
        return ce
    counted = torch.ones_like(ce) if mask is None else mask.to(ce.dtype)
    return (ce * counted).sum(-1) / counted.sum(-1).clamp(min=1.0)


def make_ema(model: nn.Module, decay: float = DEFAULT_EMA_DECAY, warmup: bool = True):
    """EMA of ``model``'s weights with timm's ``ModelEmaV3`` (θ_EMA ← α θ_EMA + (1 − α) θ, eq. 2).

    With ``warmup`` the decay ramps up over the first steps (timm's warmup), which small CPU runs
    need: a fixed 0.9999 would leave the EMA near its random initialisation for ~10k steps.
    Call ``ema.update(model, step=step)`` after each optimizer step and evaluate ``ema.module``.
    """

    from timm.utils import ModelEmaV3  # heavy: only when used

    return ModelEmaV3(model, decay=decay, use_warmup=warmup)
