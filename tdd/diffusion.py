"""The TDD noise process on one-hot vectors (§3.2). It knows nothing of any network.

Shapes: a single label is ``(B, K)``, a token sequence ``(B, N, K)``; integer labels are
``(B,)`` or ``(B, N)``. Timesteps ``t`` are integers in 0..T, one per batch element ``(B,)`` or, for token
sequences, one per position ``(B, N)`` (the clean-context lever: some positions clean, the rest noised).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tdd import rng
from tdd.rng import Generators
from tdd.schedule import NoiseSchedule, make_schedule


def _per_sample(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-sample ``(B,)`` (or per-position ``(B, N)``) coefficient to broadcast against ``like``
    ``(B, ..., K)``."""
    return x.reshape(*x.shape, *([1] * (like.ndim - x.ndim)))


class TweedieDiffusion:
    """Gaussian diffusion of (λ-)one-hot vectors: q(y_t | y_0) = N(√ᾱ_t y_0, (1 − ᾱ_t) I), eq. §3.2.

    Args:
        num_classes: K, the size of the one-hot vectors (classes or vocabulary).
        schedule: a :class:`NoiseSchedule`, or a schedule name for :func:`make_schedule`.
        num_timesteps: T, when ``schedule`` is a name.
        onehot_scale: λ of the paper's λ-hot variant (§3.2); 1.0 is the plain one-hot.
    """

    def __init__(
        self,
        num_classes: int,
        schedule: NoiseSchedule | str = "linear",
        num_timesteps: int = 1000,
        onehot_scale: float = 1.0,
    ):
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        if not onehot_scale > 0:
            raise ValueError(f"onehot_scale must be positive, got {onehot_scale}")
        self.num_classes = num_classes
        self.schedule = make_schedule(schedule, num_timesteps) if isinstance(schedule, str) else schedule
        self.onehot_scale = onehot_scale

    @property
    def num_timesteps(self) -> int:
        return self.schedule.num_timesteps

    def one_hot(self, labels: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Integer labels ``(B, ...)`` → λ-hot vectors ``(B, ..., K)``."""
        return F.one_hot(labels.long(), self.num_classes).to(dtype) * self.onehot_scale

    def prior(
        self, shape: tuple[int, ...], *, generator: Generators = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """y_T ~ N(0, I) of shape ``(*shape, K)`` where the reverse process starts (one generator
        per row when ``generator`` is a list, :mod:`tdd.rng`)."""
        return rng.randn((*shape, self.num_classes), generator, device)

    def q_sample(
        self,
        y0: torch.Tensor,
        t: torch.Tensor,
        noise: torch.Tensor | None = None,
        *,
        generator: Generators = None,
    ) -> torch.Tensor:
        """Forward process, eq. §3.2: y_t = √ᾱ_t · y_0 + √(1 − ᾱ_t) · ε.

        Args:
            y0: clean (λ-)one-hot vectors ``(B, K)`` or ``(B, N, K)``.
            t: integer timesteps ``(B,)`` in 0..T, or ``(B, N)`` per position; t = 0 returns ``y0`` unchanged.
            noise: ε ~ N(0, I) of ``y0``'s shape; drawn with ``generator`` when omitted.
        """
        if noise is None:
            noise = rng.randn(tuple(y0.shape), generator, y0.device, y0.dtype)
        alpha_bar = _per_sample(self.schedule.alpha_bar(t).to(y0.dtype), y0)  # (B, 1[, 1])
        return alpha_bar.sqrt() * y0 + (1 - alpha_bar).sqrt() * noise

    def renoise(self, tokens: torch.Tensor, t: int, *, generator: Generators = None) -> torch.Tensor:
        """The sampler's re-noise step: :meth:`q_sample` of integer ``tokens`` ``(B[, N])`` at one
        timestep ``t`` shared by the whole batch, with the same noise draw, in three tensor operations
        (the coefficients are Python numbers), since sampling pays for every small op at batch 1."""
        alpha_bar = float(self.schedule.alphas_cumprod[t])  # the table holds ᾱ_0 = 1 at index 0
        y = rng.randn((*tokens.shape, self.num_classes), generator, tokens.device)
        y.mul_((1 - alpha_bar) ** 0.5)  # √(1 − ᾱ_t) ε
        index = tokens.long().unsqueeze(-1)  # + √ᾱ_t λ at each token's entry: the scaled one-hot
        return y.scatter_(-1, index, alpha_bar**0.5 * self.onehot_scale, reduce="add")

    def input_scale(self, t: torch.Tensor) -> torch.Tensor:
        """EDM's c_in for a λ-hot over K classes: 1/√(ᾱ_t λ²/K + 1 − ᾱ_t) ``(B,)``, so that
        ``c_in · y_t`` has unit mean square per coordinate at every t (a network-input preconditioning); the
        shape of ``t``."""
        alpha_bar = self.schedule.alpha_bar(t).float()
        return (alpha_bar * self.onehot_scale**2 / self.num_classes + 1 - alpha_bar).rsqrt()

    def posterior(self, y_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The exact p(y_0 = e_k | y_t) under a uniform prior over the K classes ``(B[, N], K)``:
        softmax(λ√ᾱ_t · y_t / (1 − ᾱ_t)). Still a function of y_t alone (in situ); at t = T it is
        (almost) uniform, near t = 0 it is the one-hot."""
        return torch.softmax(self.posterior_logits(y_t, t), dim=-1)

    def posterior_logits(self, y_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log p(y_0 = e_k | y_t) up to a constant per token (float32): λ√ᾱ_t · y_t / (1 − ᾱ_t); the
        Gaussian's other terms are the same for every one-hot (equal norms), so they cancel in the softmax."""
        alpha_bar = _per_sample(self.schedule.alpha_bar(t).float(), y_t)
        return self.onehot_scale * alpha_bar.sqrt() * y_t.float() / (1 - alpha_bar).clamp(min=1e-6)

    def predict_y0_from_eps(self, y_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Tweedie's estimate of the clean vector from a noise prediction: (y_t − √(1−ᾱ_t) ε̂) / √ᾱ_t.

        Used to decode the regression ablation of Tab. 2 (predict ε with MSE, then argmax).
        """
        alpha_bar = _per_sample(self.schedule.alpha_bar(t).to(y_t.dtype), y_t)
        return (y_t - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()

    def training_pair(
        self, labels: torch.Tensor, *, generator: torch.Generator | None = None, t: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw t ~ U{1..T} (unless ``t`` ``(B,)`` is given, e.g. by :mod:`tdd.timesteps`) and ε for
        integer ``labels``; returns ``(y_t, t, ε)``."""
        if t is None:
            t = self.schedule.sample_timesteps(labels.shape[0], generator=generator, device=labels.device)
        y0 = self.one_hot(labels)
        noise = torch.randn(y0.shape, generator=generator, device=y0.device)
        return self.q_sample(y0, t, noise), t, noise
