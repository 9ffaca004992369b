"""The TDD reverse process (§3.2 "Reverse process (inference)", A.2, A.3):

y_T ~ N(0, I)
for t in the S respaced timesteps, largest first:
    1. predict   p = softmax(f_θ(y_t, t, c))          (with CFG, Algorithm 1)
    2. to-one    ŷ_0 = onehot(argmax p)  or  onehot(multinomial p)
    3. re-noise  y_{t'} ~ N(√ᾱ_{t'} ŷ_0, (1 − ᾱ_{t'}) I),  t' the next timestep (ᾱ_0 = 1)
return argmax of the last prediction

With a commit rule (a model trained with clean context, :func:`tdd.training.clean_context_input`; the checkpoint's
rule is the leftmost first) each step also commits positions as masked diffusion unmasks them: from then on they
are held, clean (t = 0), and the network is told each position's t.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import torch

from tdd.diffusion import TweedieDiffusion
from tdd.rng import Generators
from tdd.samplers.common import (
    DEFAULT_RECORD_TOPK,
    DEFAULT_STEPS,
    FULL_PROBS_MAX_CLASSES,
    Denoiser,
    Guidance,
    GuidedDenoiser,
    Sampler,
    StepRecord,
    check_clamp,
    check_sampling_args,
    draw,
    noisy_summary,
    reveal_next,
    summarize,
)
from tdd.timesteps import set_timesteps

PARAMETERIZATIONS = ("x0", "epsilon")
# which positions leave the noise before the end: none (the paper), the surest first, or the leftmost first
COMMITS = ("none", "confidence", "left_to_right")


@dataclass
class TDDSampler(Sampler):
    """Argmax → one-hot → re-noise sampling of a TDD denoiser.

    Args:
        process: the :class:`TweedieDiffusion` the model was trained with (the noise process; as in
            :class:`MDDSampler`).
        steps: S, the number of sampling steps (respaced from T).
        guidance: classifier-free guidance; ``Guidance(1.0)`` is plain conditional sampling.
        to_one: ``"argmax"`` (the paper's default) or ``"multinomial"`` (softmax sampling, A.2).
        temperature: softmax temperature of the multinomial draw.
        parameterization: ``"x0"`` when the network outputs class logits (TDD), ``"epsilon"`` when
            it predicts the noise (Tab. 2's regression ablation; decoded by Tweedie's formula).
        record_topk: how many candidates per position a :class:`StepRecord` keeps.
        timesteps: the S timesteps to visit, largest first (:func:`tdd.timesteps.sampling_timesteps` works
            them out for a model); ``None`` is the paper's uniform respacing of ``steps``. When given, ``steps``
            must equal its length. After construction it holds the timesteps the loop visits
            (:func:`tdd.timesteps.set_timesteps`, the one place they are computed).
        self_cond: feed each step the previous step's probabilities (a model trained with
            self-conditioning); the records keep what was fed (``fed_probs``).
        commit: ``"none"`` (the paper: every position re-noised to the next t), ``"confidence"`` or
            ``"left_to_right"``: each step commits ⌈uncommitted / steps left⌉ more positions of a sequence, those whose
            chosen token has the highest probability (masked diffusion's low-confidence rule) or the leftmost (the
            default of a clean-context checkpoint, ``CaptionerConfig.commit``); a committed position keeps its token
            and enters every later step clean, at t = 0 (the model must take a timestep per position,
            ``per_position_t``). Clamped tokens are committed from the start.
    """

    process: TweedieDiffusion
    steps: int = DEFAULT_STEPS
    guidance: Guidance = field(default_factory=Guidance)
    to_one: str = "argmax"
    temperature: float = 1.0
    parameterization: str = "x0"
    record_topk: int = DEFAULT_RECORD_TOPK
    timesteps: list[int] | None = None  # after construction: the timesteps visited (tdd.timesteps.set_timesteps)
    self_cond: bool = False
    commit: str = "none"

    def __post_init__(self):
        check_sampling_args(self.steps, self.to_one, self.temperature)
        if self.commit not in COMMITS:
            raise ValueError(f"commit must be one of {COMMITS}, got {self.commit!r}")
        given = self.timesteps
        self.timesteps = set_timesteps(self.process.schedule, self.steps, "uniform" if given is None else given)
        if len(self.timesteps) != self.steps:
            raise ValueError(f"{len(self.timesteps)} timesteps given for steps={self.steps}")
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {self.parameterization!r}")

    @torch.inference_mode()
    def iterate(
        self,
        model: Denoiser,
        cond: Any,
        *,
        batch_size: int,
        seq_len: int | None = None,
        generator: Generators = None,
        device: torch.device | str = "cpu",
        clamp_tokens: torch.Tensor | None = None,
        clamp_mask: torch.Tensor | None = None,
    ) -> Iterator[StepRecord]:
        """Run the reverse process, yielding one :class:`StepRecord` per step.

        Args:
            model: a :class:`Denoiser` taking ``(y_t, t, cond, drop_cond)``.
            cond: the condition, batch first (e.g. image features ``(B, D)``).
            batch_size: B.
            seq_len: N for token sequences, ``None`` for single labels ``(B, K)``.
            generator: a ``torch.Generator`` on ``device``, or a list of them, one per row
                (:mod:`tdd.rng`); the same seed gives the same trajectory.
            clamp_tokens: ``(B[, N])`` known tokens, held at every step (infilling, as SEDD's ``proj_fun``):
                their input is the forward-noised given one-hot, their output the given token.
            clamp_mask: ``(B[, N])`` bool, where ``clamp_tokens`` are known.
        """
        diffusion = self.process
        shape = (batch_size,) if seq_len is None else (batch_size, seq_len)
        clamp = check_clamp(clamp_tokens, clamp_mask, shape)
        if clamp is not None:
            clamp = (clamp[0].to(device), clamp[1].to(device))
        timesteps = cast(list[int], self.timesteps)  # set in __post_init__
        y = diffusion.prior(shape, generator=generator, device=device)  # y_T, (B[, N], K)
        commits = _Commits.start(self.commit, diffusion, shape, seq_len, clamp, device)
        if commits.active:  # clamped tokens are committed from the start
            y = commits.clean(y)
        elif clamp is not None:
            y = self._clamp_input(y, timesteps[0], clamp, generator)
        net = GuidedDenoiser(model, cond, batch_size, seq_len)
        previous = None
        fed = torch.zeros_like(y) if self.self_cond else None  # the previous prediction (none at first)
        for i, t_now in enumerate(timesteps):
            gamma = self.guidance.scale_at(i, self.steps)
            state = self._state(y, t_now)  # what the network sees: y_t, before the prediction
            # 1. predict (with commits: the timestep of each position, 0 where committed)
            t_in = commits.timesteps(t_now)
            out = (net(y, t_in, gamma) if fed is None else net(y, t_in, gamma, self_cond=fed)).float()  # (B[, N], K)
            scores = self._scores(out, y, t_now)
            probs = torch.softmax(scores, dim=-1)
            is_last = i == self.steps - 1
            summary = summarize(probs, self.record_topk, keep_full=is_last and seq_len is None)
            # 2. to-one (the last step always returns the argmax, §3.2; the top-k already holds it)
            if is_last or self.to_one == "argmax":
                tokens = summary["top_ids"][..., 0]
            else:
                tokens = draw(probs, self.to_one, self.temperature, scores, generator)
            if commits.active:
                tokens = commits.settle(tokens, probs, self.steps - i)
            elif clamp is not None:
                tokens = torch.where(clamp[1], clamp[0], tokens)
            changed = torch.ones_like(tokens, dtype=torch.bool) if previous is None else tokens != previous
            previous = tokens
            fed_probs = None
            if fed is not None:
                fed_probs = fed if fed.shape[-1] <= FULL_PROBS_MAX_CLASSES else None
                fed = probs.to(fed.dtype)  # what the next step will see
            yield StepRecord(
                step=i,
                num_steps=self.steps,
                t=float(t_now),
                tokens=tokens,
                changed=changed,
                guidance_scale=gamma,
                fed_probs=fed_probs,
                **state,
                **summary,
            )
            if is_last:
                break
            # 3. re-noise ŷ_0 to the next (smaller) timestep; committed positions stay clean
            y = commits.clean(diffusion.renoise(tokens, timesteps[i + 1], generator=generator))

    def _state(self, y: torch.Tensor, t: int) -> dict[str, Any]:
        """What a record keeps of the state y_t the network sees at timestep ``t``: y_t (or its top
        coordinates), ᾱ_t and the signal λ√ᾱ_t of the re-noised token."""
        alpha_bar = float(self.process.schedule.alphas_cumprod[t])
        signal = self.process.onehot_scale * alpha_bar**0.5
        return {**noisy_summary(y, self.record_topk), "alpha_bar": alpha_bar, "signal_scale": signal}

    def _scores(self, out: torch.Tensor, y: torch.Tensor, t_now: int) -> torch.Tensor:
        """The class scores of the network's output: its logits (``"x0"``), or Tweedie's estimate of the clean vector
        from a predicted noise (``"epsilon"``)."""
        if self.parameterization == "x0":
            return out
        t = torch.full((len(y),), t_now, device=y.device, dtype=torch.long)
        return self.process.predict_y0_from_eps(y, t, out)

    def _clamp_input(
        self,
        y: torch.Tensor,
        t: int,
        clamp: tuple[torch.Tensor, torch.Tensor],
        generator: Generators,
    ) -> torch.Tensor:
        """Replace clamped positions of y_t by their given tokens' one-hots forward-noised to timestep ``t``."""
        steps = torch.full((len(y),), t, device=y.device, dtype=torch.long)
        known = self.process.q_sample(self.process.one_hot(clamp[0]), steps, generator=generator)
        return torch.where(clamp[1].unsqueeze(-1), known, y)


@dataclass
class _Commits:
    """The positions a commit rule has taken out of the noise (:attr:`TDDSampler.commit`): each keeps its token
    (``held``) and enters every later step clean, told t = 0. With the rule ``"none"`` there are none and every method
    hands its input back."""

    rule: str
    process: TweedieDiffusion
    committed: torch.Tensor  # (B, N) bool
    held: torch.Tensor  # (B, N) the committed tokens

    @classmethod
    def start(cls, rule: str, process: TweedieDiffusion, shape, seq_len, clamp, device) -> _Commits:
        """No position committed yet, or, with a rule and clamped tokens, those."""
        if rule != "none" and seq_len is None:
            raise ValueError(f"commit={rule!r} acts on token sequences (seq_len), not single labels")
        committed = torch.zeros(shape, dtype=torch.bool, device=device)
        held = torch.zeros(shape, dtype=torch.long, device=device)
        if rule != "none" and clamp is not None:
            committed, held = clamp[1].clone(), clamp[0].long()
        return cls(rule, process, committed, held)

    @property
    def active(self) -> bool:
        return self.rule != "none"

    def timesteps(self, t_now: int) -> torch.Tensor | int:
        """What the network is told: the step's t, or with commits each position's (0 where committed)."""
        if not self.active:
            return t_now
        return torch.where(self.committed, 0, torch.full_like(self.held, t_now))

    def clean(self, y: torch.Tensor) -> torch.Tensor:
        """``y`` with every committed position its exact (λ-)one-hot."""
        if not self.active:
            return y
        return torch.where(self.committed.unsqueeze(-1), self.process.one_hot(self.held, y.dtype), y)

    def settle(self, tokens: torch.Tensor, probs: torch.Tensor, steps_left: int) -> torch.Tensor:
        """The step's tokens with the committed ones held; then commit the next (:meth:`commit`)."""
        tokens = torch.where(self.committed, self.held, tokens)
        self.committed = self.commit(self.committed, tokens, probs, steps_left, self.rule)
        self.held = torch.where(self.committed, tokens, self.held)
        return tokens

    @staticmethod
    def commit(
        committed: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor, steps_left: int, rule: str
    ) -> torch.Tensor:
        """Commit ⌈uncommitted / steps_left⌉ more positions of each row ``(B, N)`` (the last step takes all,
        :func:`~tdd.samplers.common.reveal_next`): the uncommitted ones whose chosen token has the highest probability
        (``"confidence"``, masked diffusion's low-confidence rule) or the leftmost (``"left_to_right"``)."""
        if rule == "confidence":
            score = probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        else:  # a score that falls along the sentence
            score = -torch.arange(tokens.shape[-1], device=tokens.device, dtype=probs.dtype).expand(tokens.shape)
        return committed | reveal_next(~committed, score, steps_left)
