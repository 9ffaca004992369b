"""The decoder's attention to the image memory: the adaLN block whose keys are [image memory ; text], the
sampler's in-place key/value buffers, and the memory shared by the rows of one image in training (§3.3's
K-fold reuse, CFG's null rows) without copying it.

The paper reuses each image's features for K timesteps: the plain way (:func:`~tdd.training.kfold_expand`)
repeats every layer's image keys and values K times, and CFG's dropout then swaps the dropped rows' keys for
the null memory with a ``torch.where`` of the same size; the attention concatenates them with the text keys
once more. On the scenes captioner (K 2, CPU) those copies were about a fifth of the profiled op time of a
training step; without them a step of the loss and its backward takes ~10 % less CPU time.

Here the K rows of one image attend together instead: their queries ``(B, H, K·N, d)`` against
``[image memory ; null token ; the K rows' text]``, with an additive bias ``(B, 1, K·N, L + 1 + K·N)`` that
lets each row see the image (or, if dropped, the null token) and its own text only. The null token gets the
bias log L: the plain way repeats it L times, and L equal keys weigh L times one, so the softmax — and every
output — is the same as the plain way's up to rounding (tests/test_captioner.py checks it, with gradients).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tdd.models.layers import modulate


@dataclass
class SharedCondition:
    """The condition of B images for ``B · group`` rows, the ``group`` rows of one image adjacent (what
    :func:`~tdd.training.kfold_expand` would give, not copied). ``c`` ``(B, W)``; ``kv`` each layer's image
    keys and values ``(B, H, L, d)``."""

    c: torch.Tensor
    kv: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    group: int

    def __len__(self) -> int:
        return len(self.c) * self.group

    def rows(self, keep: torch.Tensor) -> SharedCondition:
        """The condition of the rows ``keep`` (bool ``(B·group,)``), one row per image (gathered copies)."""
        if keep.shape != (len(self),):
            raise ValueError(f"keep must be a bool mask over the {len(self)} rows, got shape {tuple(keep.shape)}")
        image = keep.nonzero().squeeze(1) // self.group
        return SharedCondition(self.c[image], tuple((k[image], v[image]) for k, v in self.kv), 1)


@dataclass
class SharedMemory:
    """One layer's image keys and values ``(B, H, L + 1, d)`` with the null token last, for the ``group``
    rows of each image; ``bias`` ``(B, 1, group·N, L + 1 + group·N)`` is set by the decoder for its N."""

    keys: torch.Tensor
    values: torch.Tensor
    drop: torch.Tensor
    group: int
    bias: torch.Tensor | None = None


def memory_bias(drop: torch.Tensor, group: int, memory_len: int, n: int, causal: bool) -> torch.Tensor:
    """The attention bias of :class:`SharedMemory`: ``drop`` ``(B·group,)`` bool (CFG's null rows) →
    ``(B, 1, group·N, L + 1 + group·N)``: 0 where a query may look, −inf elsewhere, log L on the null token.

    A row sees the image memory unless dropped, the null token if dropped, and the text of its own row
    (with ``causal``, its earlier positions and itself)."""
    if drop.ndim != 1 or len(drop) % group:
        raise ValueError(f"drop must be (B·{group},) bool, got shape {tuple(drop.shape)}")
    b = len(drop) // group
    dropped = drop.view(b, group, 1).expand(b, group, n).reshape(b, group * n, 1)  # per query
    zero = torch.zeros((), device=drop.device)
    never = torch.full((), -math.inf, device=drop.device)
    memory = torch.where(dropped, never, zero).expand(b, group * n, memory_len)
    null = torch.where(dropped, torch.full((), math.log(memory_len), device=drop.device), never)
    query = torch.arange(group * n, device=drop.device)
    sees = (query[:, None] // n) == (query[None, :] // n)  # the same row
    if causal:
        sees &= (query[None, :] % n) <= (query[:, None] % n)
    text = torch.where(sees, zero, never).expand(b, group * n, group * n)
    return torch.cat([memory, null, text], dim=-1)[:, None]


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
        if isinstance(memory_kv, SharedMemory):  # training: the rows of one image attend together
            if past is not None or memory_kv.bias is None:
                raise ValueError("a SharedMemory is for training without a past, with the decoder's bias set")
            rows = x.shape[0] // memory_kv.group
            q, k, v = (self._heads(z.reshape(rows, -1, z.shape[-1])) for z in (q, k, v))  # (B, H, group·n, d)
            keys = torch.cat([memory_kv.keys, k], dim=2)
            values = torch.cat([memory_kv.values, v], dim=2)
            out = F.scaled_dot_product_attention(q, keys, values, attn_mask=memory_kv.bias.to(q.dtype))
            return self._finish(x, out, gate1, shift2, scale2, gate2), (k, v)
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
        return self._finish(x, out, gate1, shift2, scale2, gate2), (k, v)

    def _finish(self, x, out, gate1, shift2, scale2, gate2) -> torch.Tensor:
        """The attention's output ``(B', H, n', d)`` (any grouping of x's rows) → the block's output."""
        x = x + gate1.unsqueeze(1) * self.proj(out.transpose(1, 2).reshape(x.shape))
        return x + gate2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift2, scale2))
