"""Image captioners that share one encoder, conditioning module and decoder block (§3.4, §4.3):

- :class:`TDDCaptioner`: all N noisy one-hot tokens ``(B, N, V)`` denoised in parallel;
- :class:`MDDCaptioner`: the masked-diffusion baseline, token ids with [MASK] in, logits out;
- :class:`ARCaptioner`: a causal decoder of the same size, greedy decoding with a KV cache.

The condition is "injected via self-attention" (§3.4): every text token attends to the image tokens
and the other text tokens. The image tokens are a fixed memory: :meth:`encode` runs the image path
once and returns each layer's image keys/values, so a denoising step costs only the token path.
For CFG the dropped rows attend to a learned null memory instead. The attention block and the ways the
memory is laid out (sampling's buffers, training's memory shared by an image's rows) are in
:mod:`tdd.models.memory`.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.models.captioner_config import CaptionerConfig
from tdd.models.conditioning import ImageConditioner
from tdd.models.layers import TimestepEmbedder, timestep_embedding
from tdd.models.memory import KVBuffer, MemoryAttentionBlock, SharedCondition, SharedMemory, memory_bias
from tdd.models.registry import PretrainedModel, register_model

MEMORY_TOKENS_NAME = "kv"  # the condition dict: {"kv": ((k, v) per layer), "c": (B, W)}
PREPARED_EMB_NAME = "emb"  # a prepared condition: {"emb": embedded c (B, W), "kv": KVBuffer per layer}


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
            pos_embed=config.pos_embed,
        )
        self.c_embed = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.pos: torch.Tensor
        if config.pos_embed == "sincos":  # the Transformer's fixed positions, recomputed (not in the checkpoint)
            fixed = timestep_embedding(torch.arange(config.max_len), w)[None]  # (1, N, W)
            self.register_buffer("pos", fixed, persistent=False)
        else:
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

    def repeat_condition(self, cond: dict[str, Any], k: int) -> SharedCondition:
        """§3.3's K-fold reuse for training: ``cond`` of B images for ``B·k`` rows (each image's k rows
        adjacent), as :func:`~tdd.training.kfold_expand` gives but without copying (:mod:`tdd.models.memory`)."""
        if k < 1:
            raise ValueError(f"k must be ≥ 1, got {k}")
        return SharedCondition(cond["c"], tuple(cond[MEMORY_TOKENS_NAME]), k)

    def prepare_condition(self, cond: dict[str, Any], drop: torch.Tensor | None, seq_len: int | None = None):
        """For sampling: the condition with CFG's null rows applied once, and each layer's keys and values
        in a :class:`KVBuffer` with room for ``seq_len`` text tokens. The forward then takes it with
        ``drop_cond=None`` and gives the same outputs as with ``cond`` and ``drop``."""
        if isinstance(cond, SharedCondition):
            raise ValueError("prepare_condition takes encode()'s condition, not a training SharedCondition")
        emb, kv = self._copied_condition(cond, drop)
        n = seq_len or self.config.max_len
        buffers = []
        for k, v in kv:
            b, h, length, d = k.shape
            keys, values = k.new_empty(b, h, length + n, d), v.new_empty(b, h, length + n, d)
            keys[:, :, :length], values[:, :, :length] = k, v
            buffers.append(KVBuffer(keys, values, length))
        return {PREPARED_EMB_NAME: emb, MEMORY_TOKENS_NAME: tuple(buffers)}

    def _condition(self, cond: dict[str, Any] | SharedCondition, drop: torch.Tensor | None):
        """(embedded pooled condition ``(rows, W)``, each layer's memory) for the forward. With CFG's dropout
        (``drop``, as in training) or a :class:`SharedCondition` the memory is not copied per row: each layer
        gets a :class:`SharedMemory` (the null token beside the image tokens), which :meth:`_decode` completes."""
        if isinstance(cond, dict) and PREPARED_EMB_NAME in cond:  # from prepare_condition: already applied
            if drop is not None:
                raise ValueError("a prepared condition already holds its null rows; pass drop_cond=None")
            return cond[PREPARED_EMB_NAME], cond[MEMORY_TOKENS_NAME]
        if isinstance(cond, dict) and drop is None:
            return self.c_embed(cond["c"]), cond[MEMORY_TOKENS_NAME]
        shared = cond if isinstance(cond, SharedCondition) else self.repeat_condition(cond, 1)
        c = shared.c.repeat_interleave(shared.group, dim=0) if shared.group > 1 else shared.c
        if drop is None:
            drop = torch.zeros(len(c), dtype=torch.bool, device=c.device)
        if drop.shape != (len(c),):
            raise ValueError(f"drop_cond must be ({len(c)},) bool for this condition, got shape {tuple(drop.shape)}")
        memory = []
        for block, (k, v) in zip(self._blocks(), shared.kv):
            nk, nv = block.project_memory(self.null_memory.to(k.dtype))  # (1, H, 1, d)
            keys = torch.cat([k, nk.expand(len(k), -1, -1, -1)], dim=2)  # (B, H, L + 1, d)
            values = torch.cat([v, nv.expand(len(v), -1, -1, -1)], dim=2)
            memory.append(SharedMemory(keys, values, drop, shared.group))
        return self._embed_pooled(c, drop), tuple(memory)

    def _copied_condition(self, cond: dict[str, Any], drop: torch.Tensor | None):
        """CFG's dropout by copying: dropped rows see the null pooled condition and the null token repeated
        to the memory's length L (the layout :class:`KVBuffer` needs; :meth:`_condition` gives the same
        outputs without the copies)."""
        c, kv = cond["c"], cond[MEMORY_TOKENS_NAME]
        if drop is None:
            return self.c_embed(c), kv
        out = []
        for block, (k, v) in zip(self._blocks(), kv):
            nk, nv = block.project_memory(self.null_memory)  # (1, H, 1, d)
            # the null memory is one token; pad it to L by repeating, so both halves share one batch
            nk, nv = nk.expand_as(k), nv.expand_as(v)
            sel = drop[:, None, None, None]
            out.append((torch.where(sel, nk, k), torch.where(sel, nv, v)))
        return self._embed_pooled(c, drop), tuple(out)

    def _embed_pooled(self, c: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        """The pooled condition ``(rows, W)`` with CFG's null rows swapped in, embedded."""
        return self.c_embed(torch.where(drop[:, None], self.null_c.to(c.dtype).expand_as(c), c))

    def _decode(self, x: torch.Tensor, emb: torch.Tensor, kv) -> torch.Tensor:
        x = x + self.pos[:, : x.shape[1]]
        if kv and isinstance(kv[0], SharedMemory):  # one bias for every layer: who sees what
            first = kv[0]
            bias = memory_bias(first.drop, first.group, first.keys.shape[2] - 1, x.shape[1], self.causal)
            for memory in kv:
                memory.bias = bias
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
    task, method = "caption", "tdd"

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
        if config.per_position_t:
            self.t_token_embed = TimestepEmbedder(config.width)
            last = cast(nn.Linear, self.t_token_embed.mlp[-1])
            nn.init.zeros_(last.weight)  # starts as the model told only the row's t
            nn.init.zeros_(last.bias)

    def noise_process(self) -> TweedieDiffusion:
        """TDD's Gaussian process on one-hot tokens (vocabulary, schedule, T and λ of the config)."""
        c = self.config
        return TweedieDiffusion(c.vocab_size, c.schedule, c.num_timesteps, c.onehot_scale)

    def embed_input(self, y_t: torch.Tensor, t: torch.Tensor, self_cond: torch.Tensor | None = None) -> torch.Tensor:
        """y_t ``(B, N, V)`` (and the previous prediction, with ``self_cond``) → decoder input ``(B, N, W)``."""
        precond = self.config.input_precond
        if precond == "unit_var":
            scale = self.diffusion.input_scale(t).to(y_t.dtype)
            y_t = y_t * scale.reshape(*scale.shape, *([1] * (y_t.ndim - scale.ndim)))
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
        """``y_t`` ``(B, N, V)``, ``t`` ``(B,)`` (or ``(B, N)``, one a position, for a model with
        ``per_position_t``), ``cond`` from :meth:`encode` → logits ``(B, N, V)``.

        ``self_cond`` ``(B, N, V)``: the previous prediction's probabilities (models with ``self_cond``;
        ``None`` is the all-zero "no previous prediction" input)."""
        emb, kv = self._condition(cond, drop_cond)
        x = self.embed_input(y_t, t, self_cond)
        row_t = t
        if t.ndim == 2:
            if not self.config.per_position_t:
                raise ValueError("a timestep per position (B, N) needs a model trained with per_position_t")
            row_t = t.max(dim=1).values  # the blocks' adaLN: the row's noisiest position
        if self.config.per_position_t:
            per_pos = t if t.ndim == 2 else t[:, None].expand(-1, y_t.shape[1])
            x = x + self.t_token_embed(per_pos.flatten()).view(*per_pos.shape, -1).to(x.dtype)
        logits = self._decode(x, emb + self.t_embed(row_t), kv)
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
    task, method = "caption", "mdd"

    def __init__(self, config: CaptionerConfig, pretrained_encoder: str | None = None):
        super().__init__(config, pretrained_encoder)
        self.embed = nn.Embedding(config.vocab_size, config.width)

    def noise_process(self) -> MaskedDiffusion:
        """The masked-diffusion process on token ids (the config's vocabulary and [MASK] id)."""
        return MaskedDiffusion(self.config.vocab_size, self.config.mask_id)

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
    task, method = "caption", "ar"
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
