"""Image classifiers: TDD (§3.4, Fig. 2a) and the linear-head baseline ("standard classification", Tab. 1).

Both share the encoder and conditioning module. :class:`TDDClassifier` denoises a noisy one-hot
label conditioned on c; it is a :class:`~tdd.samplers.common.Denoiser` whose condition is the
output of :meth:`TDDClassifier.encode`, computed once per image. Sampling lives in
:mod:`tdd.classify`; the networks never import the noise process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tdd.diffusion import TweedieDiffusion
from tdd.models.conditioning import ImageConditioner
from tdd.models.mlp_denoiser import MLPDenoiser, MLPDenoiserConfig
from tdd.models.registry import PretrainedModel, register_model


def _digits_vit() -> dict[str, Any]:
    """A tiny ViT for 32×32 grayscale digits (timm's ViT class, 4×4 patches → 64 tokens)."""
    return {
        "img_size": 32,
        "patch_size": 4,
        "in_chans": 1,
        "embed_dim": 96,
        "depth": 4,
        "num_heads": 3,
        "mlp_ratio": 2.0,
    }


CLASSIFIER_PRECONDS = ("none", "posterior")


@dataclass
class ClassifierConfig:
    """Architecture of both classifiers, plus the diffusion settings a TDD model was trained with.

    Args:
        encoder, encoder_kwargs: timm backbone name and its ``create_model`` overrides.
        image_size, in_chans: the input images ``(in_chans, image_size, image_size)``.
        width, cond_depth, cond_heads, num_class_tokens, pool: the conditioning module (M = cond_depth).
        denoiser_width, denoiser_depth: the adaLN MLP denoiser (TDD only).
        schedule, num_timesteps, parameterization, onehot_scale: how the TDD model was trained (read by
            the sampler; ``onehot_scale`` is λ of the λ-hot, §3.2).
        input_precond: how y_t enters the denoiser: ``"none"`` (as it is) or ``"posterior"`` (the exact
            p(y_0 | y_t), the scenes ablation's lever: at large K a noisy one-hot is almost all noise, the
            posterior is almost uniform there instead); output_prior: the posterior's logits added to the
            network's (Plaid), so near t = 0 the network need not copy y_t. Both as the captioners'.
        cond_readout: a linear readout of c added to the denoiser's logits (TDD only; :class:`MLPDenoiser`).
    """

    num_classes: int = 10
    encoder: str = "vit_tiny_patch16_224"
    encoder_kwargs: dict[str, Any] = field(default_factory=_digits_vit)
    image_size: int = 32
    in_chans: int = 1
    width: int = 128
    cond_depth: int = 2
    cond_heads: int = 4
    num_class_tokens: int = 1
    pool: str = "cls"
    denoiser_width: int = 192
    denoiser_depth: int = 3
    schedule: str = "linear"
    num_timesteps: int = 1000
    parameterization: str = "x0"
    onehot_scale: float = 1.0
    input_precond: str = "none"
    output_prior: bool = False
    cond_readout: bool = False

    def __post_init__(self) -> None:
        if self.input_precond not in CLASSIFIER_PRECONDS:
            raise ValueError(f"input_precond must be one of {CLASSIFIER_PRECONDS}, got {self.input_precond!r}")


def _tiny_config() -> ClassifierConfig:
    kwargs = {"img_size": 16, "patch_size": 8, "in_chans": 1, "embed_dim": 16, "depth": 1, "num_heads": 2}
    return ClassifierConfig(
        num_classes=5, encoder_kwargs=kwargs, image_size=16, width=16, cond_depth=1, cond_heads=2, denoiser_width=16
    )


class _ImageClassifier(PretrainedModel):
    """Shared parts: the conditioner (encoder + conditioning module) and example images."""

    def __init__(self, config: ClassifierConfig, pretrained_encoder: str | None = None):
        super().__init__(config)
        self.conditioner = ImageConditioner(
            config.encoder,
            config.encoder_kwargs,
            config.width,
            config.cond_depth,
            config.cond_heads,
            config.num_class_tokens,
            config.pool,
            pretrained_file=pretrained_encoder,
            image_shape=(config.in_chans, config.image_size, config.image_size),  # CNNs: a position embedding
        )

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → condition c ``(B, width)``."""
        return self.conditioner(images)[0]

    def example_images(self, batch_size: int, generator: torch.Generator | None) -> torch.Tensor:
        c = self.config
        return torch.randn(batch_size, c.in_chans, c.image_size, c.image_size, generator=generator)

    @classmethod
    def tiny_config(cls) -> ClassifierConfig:
        return _tiny_config()


@register_model
class TDDClassifier(_ImageClassifier):
    """Encoder + conditioning module + denoiser f_θ(y_t, t, c) → K logits."""

    model_type = "tdd-classifier"
    config_class = ClassifierConfig
    task, method = "classify", "tdd"

    def __init__(self, config: ClassifierConfig, pretrained_encoder: str | None = None):
        super().__init__(config, pretrained_encoder)
        self.denoiser = MLPDenoiser(
            MLPDenoiserConfig(
                num_classes=config.num_classes,
                cond_dim=config.width,
                width=config.denoiser_width,
                depth=config.denoiser_depth,
                num_timesteps=config.num_timesteps,
                cond_readout=config.cond_readout,
            )
        )
        # the noise process, for the input preconditioning and the output prior only
        self.diffusion = self.noise_process()

    def noise_process(self) -> TweedieDiffusion:
        """TDD's Gaussian process on one-hot labels (K classes, schedule, T and λ of the config)."""
        c = self.config
        return TweedieDiffusion(c.num_classes, c.schedule, c.num_timesteps, c.onehot_scale)

    def forward(
        self, y_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, drop_cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``y_t`` ``(B, K)``, ``t`` ``(B,)``, c = ``encode(images)`` ``(B, W)`` → logits ``(B, K)``."""
        x = self.diffusion.posterior(y_t, t).to(y_t.dtype) if self.config.input_precond == "posterior" else y_t
        logits = self.denoiser(x, t, cond, drop_cond)
        if self.config.output_prior:
            logits = logits + self.diffusion.posterior_logits(y_t, t).to(logits.dtype)
        return logits

    def example_forward(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        images = self.example_images(batch_size, generator)
        y_t, t, _, drop = self.denoiser.example_inputs(batch_size, generator)
        return self(y_t, t, self.encode(images), drop)


@register_model
class LinearClassifier(_ImageClassifier):
    """The same encoder and conditioning module with a linear layer on c (the paper's baseline)."""

    model_type = "linear-classifier"
    config_class = ClassifierConfig
    task, method = "classify", "linear"

    def __init__(self, config: ClassifierConfig, pretrained_encoder: str | None = None):
        super().__init__(config, pretrained_encoder)
        self.head = nn.Linear(config.width, config.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → logits ``(B, K)``."""
        return self.head(self.encode(images))

    def example_forward(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self(self.example_images(batch_size, generator))
