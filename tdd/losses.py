"""Training objectives: TDD's timestep-weighted cross-entropy (§3.2), its ablations (Tab. 2),
and the masked-diffusion baseline's 1/t-weighted cross-entropy (DLC appendix, eq. 4).

Every loss takes per-token logits ``(B, K)`` or ``(B, N, K)`` and returns a scalar. Padding is
excluded with ``mask`` (``True`` where a position counts), and sequence losses average over the
counted positions so that the learning rate does not depend on the caption length.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WEIGHTINGS = ("alpha_bar", "none")


def _masked_mean(values: torch.Tensor, weight: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Σ weight·values over counted positions / number of counted positions."""
    if mask is None:
        mask = torch.ones_like(values, dtype=torch.bool)
    mask = mask.to(values.dtype)
    return (values * weight * mask).sum() / mask.sum().clamp(min=1.0)


def _per_position(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Broadcast a per-sample ``(B,)`` (or already per-position) tensor to per-position ``like`` ``(B[, N])``."""
    return x.reshape(*x.shape, *([1] * (like.ndim - x.ndim))).expand_as(like)


def tdd_cross_entropy(
    logits: torch.Tensor,
    targets: torch.Tensor,
    alpha_bar_t: torch.Tensor,
    *,
    weighting: str = "alpha_bar",
    label_smoothing: float = 0.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The timestep-conditioned cross-entropy of §3.2: L = −E_t ᾱ_t Σ_k y_0^(k) log p_θ(y_0^(k) | y_t, c).

    Args:
        logits: f_θ(y_t, t, c), ``(B, K)`` or ``(B, N, K)``.
        targets: integer classes/tokens ``(B,)`` or ``(B, N)``.
        alpha_bar_t: ᾱ_t of each sample's timestep, ``(B,)``, or of each position's ``(B, N)``.
        weighting: ``"alpha_bar"`` (the paper's coefficient) or ``"none"`` (the
            "w/o timestep-conditioned coefficients" row of Tab. 2).
        label_smoothing: as in ``F.cross_entropy`` (A.1 uses 0.1 on ImageNet).
        mask: ``(B,)`` or ``(B, N)`` bool, ``False`` at padding.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if logits.shape[:-1] != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match targets {tuple(targets.shape)}")
    ce = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        targets.reshape(-1).long(),
        reduction="none",
        label_smoothing=label_smoothing,
    ).view(targets.shape)  # (B[, N])
    if weighting == "alpha_bar":
        weight = _per_position(alpha_bar_t.to(ce.dtype), ce)
    else:
        weight = torch.ones_like(ce)
    return _masked_mean(ce, weight, mask)


def eps_mse_loss(eps_pred: torch.Tensor, noise: torch.Tensor, *, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The regression ablation of Tab. 2: predict the noise ε with MSE, as a continuous DDPM does.

    Decode its samples with :meth:`TweedieDiffusion.predict_y0_from_eps` and argmax.
    """
    if eps_pred.shape != noise.shape:
        raise ValueError(f"eps_pred {tuple(eps_pred.shape)} does not match noise {tuple(noise.shape)}")
    per_position = (eps_pred.float() - noise.float()).pow(2).mean(dim=-1)  # (B[, N])
    return _masked_mean(per_position, torch.ones_like(per_position), mask)


def masked_diffusion_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    is_masked: torch.Tensor,
    t: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. (4) of the DLC appendix (LLaDA): L = −E_{t,x_0,x_t}[ (1/t) Σ_i 1[x_t^i = M] log p_θ(x_0^i | x_t) ].

    The inner sum is normalised by the number of counted positions per batch (as LLaDA divides by
    the sequence length), so that ``mask``-ed padding changes neither the scale nor the gradient.

    Args:
        logits: ``(B, N, V)``. targets: ``(B, N)``. is_masked: ``(B, N)`` bool, 1[x_t^i = M].
        t: the masking ratio of each sample, ``(B,)`` in (0, 1].
        mask: ``(B, N)`` bool, ``False`` at padding.
    """
    if logits.shape[:-1] != targets.shape or is_masked.shape != targets.shape:
        raise ValueError("logits, targets and is_masked must agree on (B, N)")
    ce = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1).long(), reduction="none"
    ).view(targets.shape)  # (B, N)
    weight = is_masked.to(ce.dtype) / _per_position(t.to(ce.dtype), ce)  # 1[x_t = M] / t
    return _masked_mean(ce, weight, mask)
