"""The conditioning module of §3.3 / Fig. 2b: learnable class token(s) prepended to the image
tokens, M transformer layers, and the condition c taken from the class token or the token mean.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tdd.models.encoder import ImageEncoder

POOLS = ("cls", "mean")
# how a CNN feature map's tokens learn where they are: a learned embedding (random at the start) or DETR's and
# pix2seq's fixed 2D sine-cosine one (timm's build_sincos2d_pos_embed), which says "left of" and "above" from step 0
POS_EMBEDS = ("learned", "sincos")


class ConditioningModule(nn.Module):
    """tokens ``(B, L, d)`` → (c ``(B, W)``, updated tokens ``(B, L, W)``).

    z̃ = [z_cls; z_1..z_L], M transformer layers (timm's ViT ``Block``), then
    c = z_cls^(M) (``pool="cls"``) or mean(z_1^(M)..z_L^(M)) (``pool="mean"``). ``grid`` (h, w), a CNN feature
    map's shape, gives its h·w tokens a position embedding of the kind ``pos_embed`` names.
    """

    def __init__(
        self,
        in_dim: int,
        width: int,
        depth: int,
        heads: int,
        num_class_tokens: int = 1,
        pool: str = "cls",
        grid: tuple[int, int] | None = None,
        pos_embed: str = "learned",
    ):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if num_class_tokens < 1:
            raise ValueError("num_class_tokens must be ≥ 1")
        if pos_embed not in POS_EMBEDS:
            raise ValueError(f"pos_embed must be one of {POS_EMBEDS}, got {pos_embed!r}")
        self.pool = pool
        self.num_class_tokens = num_class_tokens
        self.proj = nn.Linear(in_dim, width)
        self.class_tokens = nn.Parameter(torch.randn(1, num_class_tokens, width) * 0.02)
        # CNN feature maps carry no position embedding of their own (ViTs do): give them a learned or a fixed one
        self.pos_embed: torch.Tensor | None
        if grid is not None and pos_embed == "sincos":
            from timm.layers import build_sincos2d_pos_embed  # heavy: only when used

            fixed = build_sincos2d_pos_embed(list(grid), width)[None]  # (1, h·w, W), row-major as flatten(2)
            self.register_buffer("pos_embed", fixed, persistent=False)  # recomputed, not stored in checkpoints
        else:
            self.pos_embed = nn.Parameter(torch.randn(1, grid[0] * grid[1], width) * 0.02) if grid else None
        from timm.models.vision_transformer import Block  # heavy: only when used

        self.blocks = nn.Sequential(*(Block(width, heads, mlp_ratio=4.0, qkv_bias=True) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.proj(tokens)  # (B, L, W)
        if self.pos_embed is not None:
            if z.shape[1] != self.pos_embed.shape[1]:
                raise ValueError(f"expected {self.pos_embed.shape[1]} image tokens, got {z.shape[1]}")
            z = z + self.pos_embed
        z = torch.cat([self.class_tokens.expand(z.shape[0], -1, -1), z], dim=1)  # (B, n_cls + L, W)
        z = self.norm(self.blocks(z))
        cls, rest = z[:, : self.num_class_tokens], z[:, self.num_class_tokens :]
        c = cls.mean(1) if self.pool == "cls" else rest.mean(1)  # several class tokens are averaged
        return c, rest


class ImageConditioner(nn.Module):
    """Encoder + conditioning module: images ``(B, C, H, W)`` → (c ``(B, W)``, tokens ``(B, L, W)``).

    ``image_shape`` (C, H, W) lets a CNN encoder's feature map get a position embedding, learned or fixed
    (``pos_embed``, :data:`POS_EMBEDS`).
    The input may also be the encoder's output ``(B, L, d)`` computed earlier (a frozen encoder's
    cached features, :mod:`tdd.data.feature_cache`): then only the conditioning module runs.
    """

    def __init__(
        self,
        encoder: str,
        encoder_kwargs: dict[str, Any],
        width: int,
        depth: int,
        heads: int,
        num_class_tokens: int = 1,
        pool: str = "cls",
        pretrained_file: str | None = None,
        image_shape: tuple[int, int, int] | None = None,
        pos_embed: str = "learned",
    ):
        super().__init__()
        self.encoder = ImageEncoder(encoder, pretrained_file=pretrained_file, **encoder_kwargs)
        grid = self.encoder.feature_grid(image_shape) if image_shape and self.encoder.is_cnn else None
        self.conditioning = ConditioningModule(
            self.encoder.num_features,
            width,
            depth,
            heads,
            num_class_tokens,
            pool,
            grid=grid,
            pos_embed=pos_embed,
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = images if images.ndim == 3 else self.encoder(images)  # (B, L, d)
        return self.conditioning(features)
