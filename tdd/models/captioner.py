"""Image captioners that share one encoder, conditioning module and decoder block (§3.4, §4.3):

- :class:`TDDCaptioner`: all N noisy one-hot tokens ``(B, N, V)`` denoised in parallel;
- :class:`MDDCaptioner`: the masked-diffusion baseline, token ids with [MASK] in, logits out;
- :class:`ARCaptioner`: a causal decoder of the same size, greedy decoding with a KV cache.

The condition is "injected via self-attention" (§3.4): every text token attends to the image tokens
and the other text tokens. The image tokens are a fixed memory: :meth:`encode` runs the image path
once and returns each layer's image keys/values, so a denoising step costs only the token path.
For CFG the dropped rows attend to a learned null memory instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from tdd.diffusion import TweedieDiffusion
from tdd.models.conditioning import ImageConditioner
from tdd.models.layers import TimestepEmbedder, modulate
from tdd.models.registry import PretrainedModel, register_model

MEMORY_TOKENS_NAME = "kv"  # the condition dict: {"kv": ((k, v) per layer), "c": (B, W)}
PREPARED_EMB_NAME = "emb"
INPUT_PRECONDS = ("none", "unit_var", "posterior")
SPACINGS = ("uniform", "informative")  # a prepared condition: {"emb": embedded c (B, W), "kv": KVBuffer per layer}


def _scenes_vit() -> dict[str, Any]:
    """A tiny ViT for 64×64 RGB scenes (8×8 patches → 64 image tokens)."""
    return dict(img_size=64, patch_size=8, in_chans=3, embed_dim=96, depth=4, num_heads=3, mlp_ratio=2.0)


@dataclass
class CaptionerConfig:
    """Args: vocab_size V and max_len N of the captions; the encoder and conditioning module as for
    :class:`~tdd.models.classifier.ClassifierConfig`; depth/heads of the decoder; the diffusion
    settings (TDD) and the mask id (MDD) the model was trained with.

    TDD's levers (:mod:`tdd.timesteps`, issue "TDD that learns fast"); the defaults are the paper's, and a
    checkpoint without these fields loads with them:

    - ``onehot_scale``: λ of the λ-hot (§3.2), used by training and sampling alike.
    - ``input_precond``: how y_t enters the decoder: ``"none"`` (``Linear(V, W)(y_t)``), ``"unit_var"``
      (EDM's c_in · y_t, unit mean square at every t) or ``"posterior"`` (the exact p(y_0 | y_t), an
      in-situ function of y_t, through ``Linear(V, W)``).
    - ``adaln_zero``: DiT's initialisation (every block's modulation and the output head start at zero).
    - ``self_cond``: the previous prediction p̂ ``(B, N, V)`` enters through a zero-initialised projection.
    - ``output_prior``: Plaid's output prior: the logits are the network's plus the exact posterior's,
      log p(y_0 | y_t) (:meth:`~tdd.diffusion.TweedieDiffusion.posterior_logits`), so the network learns only
      what y_t does not already say (at small t nothing; at t = T everything, from the image).
    - ``spacing``: the sampling timesteps used by default, ``"uniform"`` (the paper) or ``"informative"``
      (equal drops of ``ce_curve``, the model's held-out CE at ``ce_curve_t``, measured after training).
    """

    vocab_size: int
    max_len: int = 16
    encoder: str = "vit_tiny_patch16_224"
    encoder_kwargs: dict[str, Any] = field(default_factory=_scenes_vit)
    image_size: int = 64
    in_chans: int = 3
    width: int = 128
    cond_depth: int = 1
    cond_heads: int = 4
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    schedule: str = "linear"
    num_timesteps: int = 1000
    parameterization: str = "x0"
    mask_id: int = 1
    onehot_scale: float = 1.0
    input_precond: str = "none"
    adaln_zero: bool = False
    self_cond: bool = False
    output_prior: bool = False
    spacing: str = "uniform"
    ce_curve_t: list[int] | None = None
    ce_curve: list[float] | None = None

    def __post_init__(self):
        if self.input_precond not in INPUT_PRECONDS:
            raise ValueError(f"input_precond must be one of {INPUT_PRECONDS}, got {self.input_precond!r}")
        if self.spacing not in SPACINGS:
            raise ValueError(f"spacing must be one of {SPACINGS}, got {self.spacing!r}")
        if self.spacing == "informative" and not self.ce_curve:
            raise ValueError("spacing 'informative' needs the measured ce_curve")


@dataclass
class KVBuffer:
    """One layer's attention keys and values for sampling, ``(B, H, L + N, d)``: the image part
    ``[:L]`` is filled once per run, the text part is written in place at every step, so the
    cached image keys are never copied again (a per-step ``torch.cat`` copied them each time)."""

    keys: torch.Tensor
    values: torch.Tensor
    memory_len: int


class MemoryAttentionBlock(nn.Module):
    """adaLN transformer block whose attention keys are [image memory ; text] (optionally causal on text)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.memory_kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, w = x.shape
        return x.view(b, n, self.heads, w // self.heads).transpose(1, 2)  # (B, H, n, d)

    def project_memory(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image tokens ``(B, L, W)`` → this layer's keys and values ``(B, H, L, d)`` (cached per image)."""
        k, v = self.memory_kv(memory).chunk(2, dim=-1)
        return self._heads(k), self._heads(v)

    def forward(
        self,
        x: torch.Tensor,
        emb: torch.Tensor,
        memory_kv: tuple[torch.Tensor, torch.Tensor],
        *,
        causal: bool = False,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x`` ``(B, n, W)`` text tokens → updated tokens, and the text keys/values (for a KV cache).

        ``past`` holds earlier text keys/values (incremental AR decoding); ``causal`` masks later text.
        """
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(emb).chunk(6, dim=-1)  # (B, W) each
        q, k, v = self.qkv(modulate(self.norm1(x), shift1, scale1)).chunk(3, dim=-1)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        if isinstance(memory_kv, KVBuffer):  # sampling: write the text part in place
            if causal or past is not None:
                raise ValueError("a KVBuffer is for non-causal sampling without a past")
            start, end = memory_kv.memory_len, memory_kv.memory_len + k.shape[2]
            memory_kv.keys[:, :, start:end] = k
            memory_kv.values[:, :, start:end] = v
            keys, values = memory_kv.keys[:, :, :end], memory_kv.values[:, :, :end]  # (B, H, L + n, d)
        else:
            keys = torch.cat([memory_kv[0], k], dim=2)  # (B, H, L + n_total, d)
            values = torch.cat([memory_kv[1], v], dim=2)
        mask = None
        if causal:
            n_new, n_total, n_mem = q.shape[2], k.shape[2], memory_kv[0].shape[2]
            text_pos = torch.arange(n_total, device=x.device)
            query_pos = torch.arange(n_total - n_new, n_total, device=x.device)
            text_ok = text_pos[None, :] <= query_pos[:, None]  # (n_new, n_total)
            mask = torch.cat([torch.ones(n_new, n_mem, dtype=torch.bool, device=x.device), text_ok], dim=1)
        out = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)  # (B, H, n, d)
        out = out.transpose(1, 2).reshape(x.shape)
        x = x + gate1.unsqueeze(1) * self.proj(out)
        x = x + gate2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift2, scale2))
        return x, (k, v)


class _Captioner(PretrainedModel):
    """The shared parts: conditioner, text positions, decoder blocks, null memory, output head."""

    causal = False

    def __init__(self, config: CaptionerConfig, pretrained_encoder: str | None = None):
        super().__init__(config)
        w = config.width
        self.conditioner = ImageConditioner(
            config.encoder,
            config.encoder_kwargs,
            w,
            config.cond_depth,
            config.cond_heads,
            pool="cls",
            pretrained_file=pretrained_encoder,
            image_shape=(config.in_chans, config.image_size, config.image_size),
        )
        self.c_embed = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.pos = nn.Parameter(torch.randn(1, config.max_len, w) * 0.02)
        self.blocks = nn.ModuleList(
            MemoryAttentionBlock(w, config.heads, config.mlp_ratio) for _ in range(config.depth)
        )
        self.null_c = nn.Parameter(torch.randn(w) * 0.02)
        self.null_memory = nn.Parameter(torch.randn(1, 1, w) * 0.02)  # CFG: the unconditional memory token
        self.norm = nn.LayerNorm(w)
        self.head = nn.Linear(w, config.vocab_size)
        if getattr(config, "adaln_zero", False):
            self._zero_init()

    def _zero_init(self) -> None:
        """adaLN-Zero (DiT): each block starts as the identity (shift, scale, gate = 0) and the logits at 0."""
        for block in self.blocks:
            last = cast(nn.Linear, cast(MemoryAttentionBlock, block).modulation[-1])
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def _blocks(self) -> list[MemoryAttentionBlock]:
        return [cast(MemoryAttentionBlock, b) for b in self.blocks]

    @property
    def num_outputs(self) -> int:
        return self.config.vocab_size

    def encode(self, images: torch.Tensor) -> dict[str, Any]:
        """Run the image path once: images ``(B, C, H, W)`` → ``{"c": (B, W), "kv": ((k, v) per layer)}``."""
        c, tokens = self.conditioner(images)
        return {"c": c, MEMORY_TOKENS_NAME: tuple(block.project_memory(tokens) for block in self._blocks())}

    def prepare_condition(self, cond: dict[str, Any], drop: torch.Tensor | None, seq_len: int | None = None):
        """For sampling: the condition with CFG's null rows applied once, and each layer's keys and values
        in a :class:`KVBuffer` with room for ``seq_len`` text tokens. The forward then takes it with
        ``drop_cond=None`` and gives the same outputs as with ``cond`` and ``drop``."""
        emb, kv = self._condition(cond, drop)
        n = seq_len or self.config.max_len
        buffers = []
        for k, v in kv:
            b, h, length, d = k.shape
            keys, values = k.new_empty(b, h, length + n, d), v.new_empty(b, h, length + n, d)
            keys[:, :, :length], values[:, :, :length] = k, v
            buffers.append(KVBuffer(keys, values, length))
        return {PREPARED_EMB_NAME: emb, MEMORY_TOKENS_NAME: tuple(buffers)}

    def _condition(self, cond: dict[str, Any], drop: torch.Tensor | None):
        """Apply CFG dropout: dropped rows see the null pooled condition and a one-token null memory."""
        if PREPARED_EMB_NAME in cond:  # from prepare_condition: already applied
            if drop is not None:
                raise ValueError("a prepared condition already holds its null rows; pass drop_cond=None")
            return cond[PREPARED_EMB_NAME], cond[MEMORY_TOKENS_NAME]
        c, kv = cond["c"], cond[MEMORY_TOKENS_NAME]
        if drop is None:
            return self.c_embed(c), kv
        c = torch.where(drop[:, None], self.null_c.to(c.dtype).expand_as(c), c)
        out = []
        for block, (k, v) in zip(self._blocks(), kv):
            nk, nv = block.project_memory(self.null_memory)  # (1, H, 1, d)
            # the null memory is one token; pad it to L by repeating, so both halves share one batch
            nk, nv = nk.expand_as(k), nv.expand_as(v)
            sel = drop[:, None, None, None]
            out.append((torch.where(sel, nk, k), torch.where(sel, nv, v)))
        return self.c_embed(c), tuple(out)

    def _decode(self, x: torch.Tensor, emb: torch.Tensor, kv) -> torch.Tensor:
        x = x + self.pos[:, : x.shape[1]]
        for block, memory_kv in zip(self.blocks, kv):
            x, _ = block(x, emb, memory_kv, causal=self.causal)
        return self.head(self.norm(x))  # (B, N, V)

    def example_images(self, batch_size: int, generator: torch.Generator | None) -> torch.Tensor:
        c = self.config
        return torch.randn(batch_size, c.in_chans, c.image_size, c.image_size, generator=generator)

    @classmethod
    def tiny_config(cls) -> CaptionerConfig:
        kw = dict(img_size=16, patch_size=8, in_chans=3, embed_dim=16, depth=1, num_heads=2)
        return CaptionerConfig(
            vocab_size=11, max_len=5, encoder_kwargs=kw, image_size=16, width=16, cond_heads=2, depth=2, heads=2
        )


@register_model
class TDDCaptioner(_Captioner):
    """f_θ(Y_t, t, c) → logits ``(B, N, V)`` for all tokens at once (§3.4 "Text generation")."""

    model_type = "tdd-captioner"
    config_class = CaptionerConfig

    def __init__(self, config: CaptionerConfig, pretrained_encoder: str | None = None):
        super().__init__(config, pretrained_encoder)
        self.in_proj = nn.Linear(config.vocab_size, config.width)  # noisy one-hot → width
        self.t_embed = TimestepEmbedder(config.width)
        # the noise process, for the input preconditioning only (c_in, the exact posterior)
        self.diffusion = TweedieDiffusion(config.vocab_size, config.schedule, config.num_timesteps, config.onehot_scale)
        if config.self_cond:
            self.self_cond_proj = nn.Linear(config.vocab_size, config.width)
            nn.init.zeros_(self.self_cond_proj.weight)  # starts as the model without self-conditioning
            nn.init.zeros_(self.self_cond_proj.bias)

    def embed_input(self, y_t: torch.Tensor, t: torch.Tensor, self_cond: torch.Tensor | None = None) -> torch.Tensor:
        """y_t ``(B, N, V)`` (and the previous prediction, with ``self_cond``) → decoder input ``(B, N, W)``."""
        precond = self.config.input_precond
        if precond == "unit_var":
            y_t = y_t * self.diffusion.input_scale(t).to(y_t.dtype)[:, None, None]
        elif precond == "posterior":
            y_t = self.diffusion.posterior(y_t, t).to(y_t.dtype)
        x = self.in_proj(y_t)
        if self.config.self_cond:
            x = x + self.self_cond_proj(torch.zeros_like(y_t) if self_cond is None else self_cond.to(y_t.dtype))
        return x

    def forward(
        self,
        y_t: torch.Tensor,
        t: torch.Tensor,
        cond: dict,
        drop_cond: torch.Tensor | None = None,
        self_cond: torch.Tensor | None = None,
    ):
        """``y_t`` ``(B, N, V)``, ``t`` ``(B,)``, ``cond`` from :meth:`encode` → logits ``(B, N, V)``.

        ``self_cond`` ``(B, N, V)``: the previous prediction's probabilities (models with ``self_cond``;
        ``None`` is the all-zero "no previous prediction" input)."""
        emb, kv = self._condition(cond, drop_cond)
        logits = self._decode(self.embed_input(y_t, t, self_cond), emb + self.t_embed(t), kv)
        if self.config.output_prior:
            logits = logits + self.diffusion.posterior_logits(y_t, t).to(logits.dtype)
        return logits

    def example_forward(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        c = self.config
        y_t = torch.randn(batch_size, c.max_len, c.vocab_size, generator=generator)
        t = torch.randint(1, c.num_timesteps + 1, (batch_size,), generator=generator)
        drop = torch.arange(batch_size) % 2 == 0
        return self(y_t, t, self.encode(self.example_images(batch_size, generator)), drop)


@register_model
class MDDCaptioner(_Captioner):
    """The masked-diffusion baseline: token ids ``(B, N)`` with [MASK] → logits ``(B, N, V)``."""

    model_type = "mdd-captioner"
    config_class = CaptionerConfig

    def __init__(self, config: CaptionerConfig, pretrained_encoder: str | None = None):
        super().__init__(config, pretrained_encoder)
        self.embed = nn.Embedding(config.vocab_size, config.width)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: dict, drop_cond: torch.Tensor | None = None):
        """``t`` (the mask ratio) is not used, as in LLaDA: the [MASK] tokens carry it."""
        emb, kv = self._condition(cond, drop_cond)
        return self._decode(self.embed(x), emb, kv)

    def example_forward(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        c = self.config
        x = torch.randint(c.vocab_size, (batch_size, c.max_len), generator=generator)
        drop = torch.arange(batch_size) % 2 == 0
        return self(x, torch.rand(batch_size), self.encode(self.example_images(batch_size, generator)), drop)


@register_model
class ARCaptioner(_Captioner):
    """A causal decoder of the same size: token i is predicted from the image and tokens < i."""

    model_type = "ar-captioner"
    config_class = CaptionerConfig
    causal = True

    def __init__(self, config: CaptionerConfig, pretrained_encoder: str | None = None):
        super().__init__(config, pretrained_encoder)
        self.embed = nn.Embedding(config.vocab_size, config.width)
        self.start = nn.Parameter(torch.randn(1, 1, config.width) * 0.02)  # the first input, no BOS id needed

    def _inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: [start, x_0, …, x_{N-2}] ``(B, N, W)``."""
        start = self.start.expand(tokens.shape[0], -1, -1)
        return torch.cat([start, self.embed(tokens[:, :-1])], dim=1)

    def forward(self, tokens: torch.Tensor, cond: dict, drop_cond: torch.Tensor | None = None) -> torch.Tensor:
        """Training: logits ``(B, N, V)`` for each position given the earlier ones."""
        emb, kv = self._condition(cond, drop_cond)
        return self._decode(self._inputs(tokens), emb, kv)

    @torch.inference_mode()
    def generate(self, cond: dict, *, steps: int | None = None) -> torch.Tensor:
        """Greedy decoding with a KV cache: one new token per step, ``steps`` = N by default → ``(B, N)``."""
        emb, kv = self._condition(cond, None)
        n = steps or self.config.max_len
        batch = emb.shape[0]
        x = self.start.expand(batch, -1, -1)
        past: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(self.blocks)
        out = []
        for i in range(n):
            h = x + self.pos[:, i : i + 1]
            for j, (block, memory_kv) in enumerate(zip(self.blocks, kv)):
                h, past[j] = block(h, emb, memory_kv, causal=True, past=past[j])
            token = self.head(self.norm(h))[:, -1].argmax(-1)  # (B,)
            out.append(token)
            x = self.embed(token)[:, None]
        return torch.stack(out, dim=1)

    def example_forward(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        c = self.config
        tokens = torch.randint(c.vocab_size, (batch_size, c.max_len), generator=generator)
        drop = torch.arange(batch_size) % 2 == 0
        return self(tokens, self.encode(self.example_images(batch_size, generator)), drop)
