"""What the TDD and MDD samplers share: the per-step record, classifier-free guidance (A.3),
and the summary of a predicted distribution that a step record keeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import torch

from tdd import rng
from tdd.rng import Generators
from tdd.tensors import map_tensors

GUIDANCE_SCHEDULES = ("constant", "linear")
TO_ONE = ("argmax", "multinomial")  # the "to-one" operations of A.2
DEFAULT_STEPS = 20  # the paper samples with 10–20 steps
FULL_PROBS_MAX_CLASSES = 128  # keep the whole distribution in a record only for small K
DEFAULT_RECORD_TOPK = 10  # otherwise keep the top candidates per position


class Denoiser(Protocol):
    """What a sampler calls: ``model(x, t, cond, drop_cond) -> (B, [N,] K)`` predictions.

    ``x`` is the noisy one-hot ``(B, [N,] K)`` for TDD or token ids ``(B, N)`` for MDD; ``t`` is
    ``(B,)``; ``cond`` a tensor (or tuple/dict of tensors) with batch first; ``drop_cond`` is
    ``None`` or ``(B,)`` bool, ``True`` where the learned null condition replaces ``cond`` (CFG).
    """

    def __call__(self, x: torch.Tensor, t: torch.Tensor, cond: Any, drop_cond: torch.Tensor | None) -> torch.Tensor: ...


@dataclass
class Guidance:
    """Classifier-free guidance, eq. (1) of A.3: x_guided = x_uncond + s · (x_cond − x_uncond).

    Args:
        scale: s ≥ 0; 1 is the conditional model alone (and costs one forward, not two).
        schedule: ``"constant"`` keeps s at every step; ``"linear"`` ramps γ_i from 1 at the
            first (noisiest) step to s at the last, as MAR's linear CFG schedule does.
    """

    scale: float = 1.0
    schedule: str = "constant"

    def __post_init__(self):
        if self.schedule not in GUIDANCE_SCHEDULES:
            raise ValueError(f"guidance schedule must be one of {GUIDANCE_SCHEDULES}, got {self.schedule!r}")
        if not (self.scale >= 0 and math.isfinite(self.scale)):
            raise ValueError(f"guidance scale must be finite and ≥ 0, got {self.scale}")

    def scale_at(self, step: int, num_steps: int) -> float:
        """γ_i, the guidance scale at step ``step`` (0-based) of ``num_steps`` (Algorithm 1's s(t))."""
        if self.schedule == "constant" or num_steps == 1:
            return self.scale
        return 1.0 + (self.scale - 1.0) * step / (num_steps - 1)


class GuidedDenoiser:
    """The network calls of one sampling run, with CFG, and the condition prepared once per run.

    ``net(x, t, scale)`` is eq. (1) of A.3 in one batched forward. The condition doubled for CFG (conditional
    half, null half) is built on first use and kept for the later steps instead of being rebuilt
    every step. A model may also offer ``prepare_condition(cond, drop_cond, seq_len)``, which
    applies its null condition once (and may lay out per-layer buffers, as the captioners do) and
    returns a condition its forward takes with ``drop_cond=None``; it must give the same outputs.

    Args:
        model: the denoiser. cond: the condition, batch first, for ``batch_size`` items.
        seq_len: N for token sequences (passed to ``prepare_condition``), ``None`` for labels.
    """

    def __init__(self, model: Denoiser, cond: Any, batch_size: int, seq_len: int | None = None):
        self.model, self.cond, self.batch_size, self.seq_len = model, cond, batch_size, seq_len
        self._single: tuple[Any, torch.Tensor | None] | None = None
        self._double: tuple[Any, torch.Tensor | None] | None = None

    def _prepare(self, cond: Any, drop: torch.Tensor | None) -> tuple[Any, torch.Tensor | None]:
        prepare = getattr(self.model, "prepare_condition", None)
        if prepare is None:
            return cond, drop
        return prepare(cond, drop, self.seq_len), None

    def __call__(self, x: torch.Tensor, t: torch.Tensor | int, scale: float, **inputs: torch.Tensor) -> torch.Tensor:
        """The guided prediction for ``x``; ``t`` is ``(B,)`` or one timestep shared by the batch;
        ``inputs`` are further batch-first inputs of the model (e.g. ``self_cond``), doubled with CFG."""
        guided = scale != 1.0
        if not isinstance(t, torch.Tensor):  # made at the size the call needs (CFG doubles the batch)
            t = torch.full((len(x) * (2 if guided else 1),), t, dtype=torch.long, device=x.device)
        elif guided:
            t = torch.cat([t, t])
        if not guided:
            if self._single is None:
                self._single = self._prepare(self.cond, None)
            cond, drop = self._single
            return self.model(x, t, cond, drop, **inputs)
        if self._double is None:
            both = map_tensors(lambda c: torch.cat([c, c]), self.cond)
            b = self.batch_size
            drop = torch.cat([torch.zeros(b, dtype=torch.bool), torch.ones(b, dtype=torch.bool)]).to(x.device)
            self._double = self._prepare(both, drop)
        cond, drop = self._double
        inputs = {k: torch.cat([v, v]) for k, v in inputs.items()}
        out_cond, out_uncond = self.model(torch.cat([x, x]), t, cond, drop, **inputs).chunk(2)
        return torch.lerp(out_uncond, out_cond, scale)  # eq. (1), A.3: uncond + s · (cond − uncond)


@dataclass
class StepRecord:
    """What a sampler yields after each denoising step. Tensors are detached, batch first.

    Attributes:
        step: 0-based index of this step among ``num_steps``.
        num_steps: S, the number of sampling steps.
        t: the noise level the network saw (TDD: the integer timestep; MDD: the mask ratio).
        tokens: ``(B[, N])`` the decoded state after this step (TDD: argmax of the prediction;
            MDD: the partially unmasked sequence, ``mask_id`` where still masked).
        top_probs, top_ids: ``(B[, N], k)`` the most likely candidates of the predicted distribution.
        entropy: ``(B[, N])`` entropy (nats) of the predicted distribution.
        changed: ``(B[, N])`` bool, where ``tokens`` differ from the previous step (all ``True`` first).
        probs: ``(B[, N], K)`` the whole distribution when K ≤ ``FULL_PROBS_MAX_CLASSES``, and always
            at the last step of single-label sampling (TDD classifiers); else ``None``.
        is_masked: MDD only, ``(B, N)`` bool.
        guidance_scale: γ_i used at this step.
        fed_probs: TDD with self-conditioning, ``(B[, N], K)``: the previous step's probabilities that
            this step's network saw (zeros at the first step; ``None`` for K > ``FULL_PROBS_MAX_CLASSES``).
        noisy: TDD, ``(B[, N], K)``: the noisy one-hot state y_t the network saw at this step, when
            K ≤ ``FULL_PROBS_MAX_CLASSES`` (else ``None``). The first step's is the prior N(0, I); every later
            one is the previous step's to-one choice re-noised, √ᾱ_t λ·onehot + √(1 − ᾱ_t) ε.
        noisy_top_values, noisy_top_ids: TDD, ``(B[, N], k)``: y_t's k largest coordinates and their ids,
            for any K (enough to draw the state when the vocabulary is large).
        alpha_bar: TDD, ᾱ_t at this step's timestep (1 at t = 0).
        signal_scale: TDD, λ√ᾱ_t: how far the re-noised token's coordinate of y_t is shifted from the noise
            (whose standard deviation is √(1 − ᾱ_t)); :attr:`snr` is their squared ratio.
    """

    step: int
    num_steps: int
    t: float
    tokens: torch.Tensor
    top_probs: torch.Tensor
    top_ids: torch.Tensor
    entropy: torch.Tensor
    changed: torch.Tensor
    probs: torch.Tensor | None = None
    is_masked: torch.Tensor | None = None
    guidance_scale: float = 1.0
    fed_probs: torch.Tensor | None = None
    noisy: torch.Tensor | None = None
    noisy_top_values: torch.Tensor | None = None
    noisy_top_ids: torch.Tensor | None = None
    alpha_bar: float | None = None
    signal_scale: float | None = None

    @property
    def is_last(self) -> bool:
        return self.step == self.num_steps - 1

    def rows(self, index: torch.Tensor) -> StepRecord:
        """This record for the batch rows ``index`` ``(B',)`` (e.g. the kept candidate of each input,
        :mod:`tdd.rerank`); the scalars are shared."""
        picked = {
            f.name: value[index]
            for f in fields(self)
            if isinstance(value := getattr(self, f.name), torch.Tensor) and value.dim() > 0
        }
        return replace(self, **picked)

    @property
    def snr(self) -> float | None:
        """TDD: the signal-to-noise ratio of y_t, λ²ᾱ_t / (1 − ᾱ_t) (``inf`` at t = 0; ``None`` for MDD)."""
        if self.alpha_bar is None or self.signal_scale is None:
            return None
        return self.signal_scale**2 / (1 - self.alpha_bar) if self.alpha_bar < 1 else float("inf")


def summarize(probs: torch.Tensor, topk: int, keep_full: bool = False) -> dict[str, Any]:
    """Top-k candidates, entropy and the whole distribution of ``probs`` ``(..., K)`` when K is small
    or ``keep_full`` (the final prediction of a classifier, whatever K)."""
    k = min(topk, probs.shape[-1])
    top_probs, top_ids = probs.topk(k, dim=-1)
    entropy = torch.special.entr(probs).sum(-1)  # −Σ p log p, with 0 log 0 = 0
    full = probs if keep_full or probs.shape[-1] <= FULL_PROBS_MAX_CLASSES else None
    return {"top_probs": top_probs, "top_ids": top_ids, "entropy": entropy, "probs": full}


def noisy_summary(y: torch.Tensor, topk: int) -> dict[str, Any]:
    """What a record keeps of the noisy state y_t ``(..., K)``: all of it when K is small, and always its
    ``topk`` largest coordinates (one ``topk`` call, ~6 µs at N = 16, K = 37: no extra forward pass). ``y``
    itself is kept, not a copy: a sampler makes each step's state anew and never changes it in place."""
    values, ids = y.topk(min(topk, y.shape[-1]), dim=-1)
    full = y if y.shape[-1] <= FULL_PROBS_MAX_CLASSES else None
    return {"noisy": full, "noisy_top_values": values, "noisy_top_ids": ids}


def draw(
    probs: torch.Tensor, to_one: str, temperature: float, logits: torch.Tensor, generator: Generators
) -> torch.Tensor:
    """The "to-one" choice of A.2: ``argmax`` of the prediction, or a ``multinomial`` draw from
    softmax(logits / temperature) with ``torch.multinomial``. Returns ids ``probs.shape[:-1]``."""
    if to_one == "argmax":
        return probs.argmax(-1)
    if to_one == "multinomial":
        return rng.multinomial(torch.softmax(logits.float() / temperature, dim=-1), generator)
    raise ValueError(f"to_one must be 'argmax' or 'multinomial', got {to_one!r}")


def reveal_next(pending: torch.Tensor, score: torch.Tensor, steps_left: int) -> torch.Tensor:
    """Which of the ``pending`` positions ``(B, N)`` to reveal at this step: ⌈pending / steps_left⌉ of each row (the
    last step takes all), those with the highest ``score`` — masked diffusion's unmasking count and order, shared by
    its sampler (the masked positions) and TDD's commits (the positions still in the noise)."""
    score = torch.where(pending, score, torch.full_like(score, float("-inf")))
    k = torch.ceil(pending.sum(-1).float() / steps_left).long()  # (B,)
    order = score.argsort(dim=-1, descending=True)
    positions = torch.arange(score.shape[-1], device=score.device).expand_as(order)
    rank = torch.empty_like(order).scatter_(-1, order, positions)
    return pending & (rank < k.unsqueeze(-1))


def check_sampling_args(steps: int, to_one: str, temperature: float) -> None:
    """Clear errors for the arguments every sampler shares."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if to_one not in TO_ONE:
        raise ValueError(f"to_one must be one of {TO_ONE}, got {to_one!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")


def check_clamp(
    clamp_tokens: torch.Tensor | None, clamp_mask: torch.Tensor | None, shape: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Validate the infilling arguments; returns ``(tokens, mask)`` or ``None`` when not clamping."""
    if clamp_tokens is None and clamp_mask is None:
        return None
    if clamp_tokens is None or clamp_mask is None:
        raise ValueError("clamp_tokens and clamp_mask must be given together")
    if tuple(clamp_tokens.shape) != shape or tuple(clamp_mask.shape) != shape:
        raise ValueError(
            f"clamp_tokens {tuple(clamp_tokens.shape)} and clamp_mask {tuple(clamp_mask.shape)} must have shape {shape}"
        )
    return clamp_tokens.long(), clamp_mask.bool()


class Sampler:
    """Base of the samplers: ``iterate(...)`` yields step records, ``sample(...)`` runs it to the end."""

    iterate: Callable[..., Iterator[StepRecord]]  # (model, cond, *, batch_size, …) in each sampler

    def sample(self, model: Denoiser, cond: Any, **kwargs: Any) -> StepRecord:
        """Run :meth:`iterate` to the end and return the last record (its ``tokens`` are the result)."""
        record = None
        for record in self.iterate(model, cond, **kwargs):  # noqa: B007  (keep the last record)
            pass
        if record is None:  # unreachable: steps ≥ 1 is checked at construction
            raise RuntimeError("the sampler yielded no step")
        return record
