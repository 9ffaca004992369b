"""Image encoder E (§3.3): any timm backbone by name, returning tokens z ∈ R^{L×d}.

Random weights unless a local weights file is given explicitly (nothing is downloaded).
"""

from __future__ import annotations

import os
from typing import Any, cast

import torch
from torch import nn


class ImageEncoder(nn.Module):
    """A timm backbone without its head; ``forward(images)`` → tokens ``(B, L, d)``.

    ViT-like backbones give their patch tokens (prefix tokens such as timm's own class token are
    dropped: the conditioning module adds its own); CNNs give their last feature map flattened to
    ``H·W`` tokens.

    Args:
        name: a timm model name (``vit_base_patch16_224`` for the paper's recipe).
        pretrained_file: a local weights file (``.safetensors``/``.pth``/``.bin``) loaded through timm's
            ``pretrained_cfg_overlay``; ``None`` keeps random weights.
        **timm_kwargs: passed to ``timm.create_model`` (``img_size``, ``in_chans``, ``depth``, …).
    """

    def __init__(self, name: str, pretrained_file: str | os.PathLike | None = None, **timm_kwargs: Any):
        super().__init__()
        extra: dict[str, Any] = {}
        if pretrained_file is not None:
            if not os.path.isfile(pretrained_file):
                raise FileNotFoundError(f"{pretrained_file}: pretrained weights file not found")
            extra = {"pretrained": True, "pretrained_cfg_overlay": {"file": str(pretrained_file)}}
        import timm  # heavy: only when used

        self.backbone: Any = timm.create_model(name, num_classes=0, global_pool="", **extra, **timm_kwargs)
        self.num_features: int = int(cast(Any, self.backbone).num_features)
        self.num_prefix_tokens = getattr(self.backbone, "num_prefix_tokens", 0)
        self.frozen = False

    def freeze(self) -> ImageEncoder:
        """Stop training this encoder: no gradients, and eval mode for good — ``model.train()`` no longer
        reaches it, so a CNN's batch norms keep their running statistics and use them in training as in
        sampling (a frozen encoder left in train mode would normalise by each batch and drift its stats)."""
        self.requires_grad_(False)
        self.frozen = True
        return self.eval()

    def train(self, mode: bool = True) -> ImageEncoder:
        return super().train(mode and not self.frozen)

    @property
    def is_cnn(self) -> bool:
        """Whether the backbone is convolutional (a feature map, no position embedding of its own)."""
        return getattr(self.backbone, "pos_embed", None) is None

    @torch.no_grad()
    def feature_grid(self, image_shape: tuple[int, int, int]) -> tuple[int, int]:
        """A CNN's feature map (h, w) for an image of shape (C, H, W), whose h·w tokens :meth:`forward` gives."""
        if not self.is_cnn:
            raise ValueError("feature_grid is for CNN backbones (a ViT's tokens carry their own positions)")
        was_training = self.training
        feats = self.eval().backbone.forward_features(torch.zeros(1, *image_shape))
        self.train(was_training)
        return int(feats.shape[-2]), int(feats.shape[-1])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feats = self.backbone.forward_features(images)
        if feats.ndim == 4:  # CNN: (B, C, H, W) → (B, H·W, C)
            return feats.flatten(2).transpose(1, 2)
        return feats[:, self.num_prefix_tokens :]  # ViT: (B, L, d) patch tokens
