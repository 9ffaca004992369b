"""A toy conditional task for seeing TDD work in seconds on a CPU.

The condition is a random vector c ∈ R^D and the label is a fixed function of it: the index of
its nearest prototype, y = argmin_k ‖c − μ_k‖ over K prototypes drawn once from the task seed.
Conditions are drawn around the prototypes (c = μ_j + σ ε), so the classes are well separated and
the label is still an exact function of c. A tiny :class:`MLPDenoiser` is
trained with one of Tab. 2's objectives and sampled with :class:`TDDSampler`:

- ``"ce"``: timestep-conditioned cross-entropy, weighted by ᾱ_t (the paper's TDD);
- ``"ce_no_coef"``: the same without the ᾱ_t coefficient;
- ``"eps_mse"``: the regression ablation, predict ε with MSE and decode by Tweedie's formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tdd import rng
from tdd.diffusion import TweedieDiffusion
from tdd.models.mlp_denoiser import MLPDenoiser, MLPDenoiserConfig
from tdd.samplers import Guidance, TDDSampler
from tdd.samplers.common import DEFAULT_STEPS
from tdd.training import OBJECTIVES, tdd_loss


@dataclass
class ToyTask:
    """y = argmin_k ‖c − μ_k‖ with prototypes μ ∈ R^{K×D} fixed by ``seed``; c = μ_j + σ ε, j ~ U{K}."""

    num_classes: int = 200  # large K is where ε-regression collapses (Tab. 2)
    cond_dim: int = 16
    spread: float = 0.35  # σ
    seed: int = 0

    def __post_init__(self):
        g = rng.generator(self.seed)
        self.prototypes = torch.randn(self.num_classes, self.cond_dim, generator=g)  # (K, D)

    def labels_of(self, cond: torch.Tensor) -> torch.Tensor:
        """The label function: index of the nearest prototype, ``(n, D)`` → ``(n,)``."""
        return torch.cdist(cond, self.prototypes).argmin(-1)

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` conditions ``(n, D)`` and their labels ``(n,)``."""
        centre = torch.randint(self.num_classes, (n,), generator=generator)
        cond = self.prototypes[centre] + self.spread * torch.randn(n, self.cond_dim, generator=generator)
        return cond, self.labels_of(cond)


@dataclass
class ToyConfig:
    objective: str = "ce"
    train_steps: int = 400
    batch_size: int = 128
    kfold: int = 4  # §3.3: K timesteps per condition
    lr: float = 2e-3
    cond_drop: float = 0.1  # CFG null-condition rate
    width: int = 128
    depth: int = 2
    schedule: str = "linear"
    seed: int = 0


def train_toy(task: ToyTask, config: ToyConfig) -> tuple[MLPDenoiser, TweedieDiffusion, list[float]]:
    """Train a tiny denoiser on ``task``; returns the model, its diffusion and the loss curve."""
    if config.objective not in OBJECTIVES:  # fail before building anything
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {config.objective!r}")
    rng.seed_global(config.seed)  # weight init
    g = rng.generator(config.seed + 1)
    diffusion = TweedieDiffusion(task.num_classes, schedule=config.schedule)
    model = MLPDenoiser(MLPDenoiserConfig(task.num_classes, task.cond_dim, width=config.width, depth=config.depth))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    losses = []
    model.train()
    for _ in range(config.train_steps):
        cond, labels = task.batch(config.batch_size, g)
        loss = tdd_loss(
            model, diffusion, cond, labels, objective=config.objective, kfold=config.kfold,
            cond_drop=config.cond_drop, generator=g,
        )  # fmt: skip
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model.eval(), diffusion, losses


def toy_sampler(
    diffusion: TweedieDiffusion, objective: str, steps: int = DEFAULT_STEPS, cfg: float = 1.0, **kwargs
) -> TDDSampler:
    """The sampler matching a toy objective (ε-prediction is decoded by Tweedie's formula)."""
    parameterization = "epsilon" if objective == "eps_mse" else "x0"
    return TDDSampler(diffusion, steps=steps, guidance=Guidance(cfg), parameterization=parameterization, **kwargs)


def toy_accuracy(model: MLPDenoiser, sampler: TDDSampler, task: ToyTask, n: int = 1000, seed: int = 1234) -> float:
    """Top-1 accuracy of sampled labels on ``n`` fresh conditions."""
    g = rng.generator(seed)
    cond, labels = task.batch(n, g)
    final = sampler.sample(model, cond, batch_size=n, generator=g)
    return (final.tokens == labels).float().mean().item()
