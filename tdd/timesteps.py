"""Where training and sampling spend their timesteps.

For a one-hot over V classes, y_t carries almost no information about the class for most t drawn
uniformly (``../notes/one-hot-snr.md``: for V = 37 under the linear schedule, < 0.1 nat for t ≳ 420
and a trivial copy for t ≲ 60). These objects move the draws to where the model can learn, without
changing TDD's idea (Gaussian noise on one-hot vectors, cross-entropy on the clean token).

Training (``sample(n)`` → timesteps, ``weighting`` → how the cross-entropy is weighted):

- :class:`UniformTimesteps` — the paper: t ~ U{1..T}, CE weighted by ᾱ_t.
- :class:`AlphaBarTimesteps` — t drawn with probability ∝ ᾱ_t, unweighted CE: the same objective in
  expectation (E_U[ᾱ_t CE_t] = (Σᾱ/T) · E_p[CE_t]) with fewer draws wasted where ᾱ_t ≈ 0.
- :class:`AdaptiveTimesteps` — CDCD's time warping / Plaid's ``LossCDF``: a running CE per bin of
  timesteps, and t drawn with equal probability mass per equal drop of CE (plus a uniform floor),
  unweighted CE.

Each draws independently by default; ``stratified=True`` is VDM's low-discrepancy sampler (Kingma et al.
2021, appendix I.1): the n quantiles of one batch are ``(u + i) / n`` for one u ~ U[0, 1), i = 0..n-1, put
through the inverse CDF and shuffled. Each draw keeps its distribution; the batch covers it evenly, so the
batch's loss has a lower variance.

Sampling: :func:`set_timesteps` is the one place a sampler's timesteps are worked out (:func:`sampling_timesteps`
for a model's config): the uniform respacing, :func:`informative_spacing` (S steps at equal drops of a measured
CE-vs-t curve, starting at T) or a given list (:func:`explicit_spacing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from tdd.schedule import NoiseSchedule, make_schedule

TRAINING_TIMESTEPS = ("uniform", "alpha_bar", "adaptive")
SAMPLING_SPACINGS = ("uniform", "informative")


def stratified_draw(probs: torch.Tensor, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` indices into ``probs`` ``(T,)`` from the evenly spaced quantiles ``(u + i) / n`` (one u), in random
    order: each index has the distribution ``probs``, and the ``n`` together cover it evenly."""
    u = (torch.rand(1, generator=generator, dtype=torch.float64) + torch.arange(n, dtype=torch.float64)) / n
    cdf = torch.cumsum(probs.double(), 0)
    index = torch.searchsorted(cdf / cdf[-1], u, right=True).clamp(max=len(probs) - 1)
    return index[torch.randperm(n, generator=generator)]


class UniformTimesteps:
    """The paper's t ~ U{1..T} with the ᾱ_t-weighted cross-entropy."""

    weighting = "alpha_bar"

    def __init__(self, schedule: NoiseSchedule, stratified: bool = False):
        self.schedule, self.stratified = schedule, stratified

    def probs(self) -> torch.Tensor:
        """``(T,)`` the probability of each t = 1..T (index i is t = i + 1)."""
        return torch.full((self.schedule.num_timesteps,), 1.0 / self.schedule.num_timesteps)

    def sample(self, n: int, *, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        if self.stratified:
            return (stratified_draw(self.probs(), n, generator=generator) + 1).to(device)
        return self._independent(n, generator, device)

    def _independent(self, n: int, generator: torch.Generator | None, device) -> torch.Tensor:
        return self.schedule.sample_timesteps(n, generator=generator, device=device)

    def update(self, t: torch.Tensor, ce: torch.Tensor, conditioned: torch.Tensor | None = None) -> None:
        """Nothing to learn (the adaptive sampler's hook)."""


class _Categorical(UniformTimesteps):
    """t ∈ {1..T} drawn from ``probs()`` ``(T,)`` (index i is t = i + 1), unweighted CE."""

    weighting = "none"

    def _independent(self, n: int, generator: torch.Generator | None, device) -> torch.Tensor:
        index = torch.multinomial(self.probs().float(), n, replacement=True, generator=generator)
        return (index + 1).to(device)


class AlphaBarTimesteps(_Categorical):
    """p(t) ∝ ᾱ_t with unweighted CE: the paper's objective, importance-sampled."""

    def probs(self) -> torch.Tensor:
        alpha_bar = self.schedule.alphas_cumprod[1:]
        return alpha_bar / alpha_bar.sum()


DEFAULT_FLOOR = 0.1  # the adaptive draw's uniform share
# which items' CE the adaptive draw learns from: "all" (the first version) or "conditioned", those that saw their
# image. A condition-dropped item (CFG's null condition, 10 % of the recipe's) has the caption's CE without the
# image, far above the conditioned CE at high t, and with one or two items a step in a high-t bin each such item
# is a spike in that bin's running mean, which the running maximum below keeps. (Not the only spikes: an item whose
# shape the model gets wrong is one too. On the recipe's runs one bin of t > 420 held 18-24 % of all draws at the
# end; learning from the conditioned items only, 19-21 %.)
ADAPTIVE_CE_OF = ("all", "conditioned")


class AdaptiveTimesteps(_Categorical):
    """A distribution of training timesteps learned from the running CE per bin (CDCD, Plaid's LossCDF).

    The CE of a bin falls as t falls; the sampler gives each bin probability ∝ how much CE drops across
    it (so equal mass per equal drop of CE: the steep, informative band gets the draws), mixed with a
    uniform ``floor`` so no bin is starved. Call :meth:`update` with each batch's per-item CE.

    Args:
        bins: the number of equal-width bins over 1..T. floor: the uniform share, in (0, 1].
        momentum: of the running mean CE per bin. stratified: the low-discrepancy draw (module docstring).
        ce_of: which items :meth:`update` learns from (``ADAPTIVE_CE_OF``).
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        bins: int = 50,
        floor: float = DEFAULT_FLOOR,
        momentum: float = 0.95,
        stratified: bool = False,
        ce_of: str = "all",
    ):
        super().__init__(schedule, stratified)
        if not 0 < floor <= 1:
            raise ValueError(f"floor must lie in (0, 1], got {floor}")
        if ce_of not in ADAPTIVE_CE_OF:
            raise ValueError(f"ce_of must be one of {ADAPTIVE_CE_OF}, got {ce_of!r}")
        self.ce_of = ce_of
        T = schedule.num_timesteps
        self.bins, self.floor, self.momentum = bins, floor, momentum
        self.bin_of = torch.div(torch.arange(T) * bins, T, rounding_mode="floor")  # t-1 → its bin
        self.ce = torch.full((bins,), float("nan"))  # running CE per bin; NaN until seen

    def update(self, t: torch.Tensor, ce: torch.Tensor, conditioned: torch.Tensor | None = None) -> None:
        """Fold a batch's per-item CE ``(n,)`` at timesteps ``t`` ``(n,)`` into the running means;
        ``conditioned`` ``(n,)`` bool marks the items that saw their condition (with ``ce_of="conditioned"``
        only those count; ``None``: all did)."""
        if self.ce_of == "conditioned" and conditioned is not None:
            t, ce = t[conditioned], ce[conditioned]
        b = self.bin_of[t.long().cpu() - 1]
        sums = torch.zeros(self.bins).index_add_(0, b, ce.detach().float().cpu())
        counts = torch.zeros(self.bins).index_add_(0, b, torch.ones(len(b)))
        seen = counts > 0
        mean = sums[seen] / counts[seen]
        old = self.ce[seen]
        self.ce[seen] = torch.where(old.isnan(), mean, self.momentum * old + (1 - self.momentum) * mean)

    def probs(self) -> torch.Tensor:
        T = self.schedule.num_timesteps
        uniform = torch.full((T,), 1.0 / T)
        if self.ce.isnan().any():
            return uniform  # until every bin has been seen
        ce = torch.cummax(self.ce, 0).values  # CE cannot fall as t grows: monotone in t
        drop = torch.diff(ce, prepend=ce[:1].clamp(max=0.0))  # CE gained across each bin, from t = 1 up
        if drop.sum() <= 0:
            return uniform
        per_bin = drop / drop.sum()
        width = torch.bincount(self.bin_of, minlength=self.bins).float()
        learned = per_bin[self.bin_of] / width[self.bin_of]  # spread each bin's mass over its timesteps
        return self.floor * uniform + (1 - self.floor) * learned

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"ce": self.ce.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.ce = state["ce"].clone()


def make_timesteps(name: str, schedule: NoiseSchedule, **kwargs) -> UniformTimesteps:
    """A training-timestep sampler by name (one of ``TRAINING_TIMESTEPS``)."""
    classes = {"uniform": UniformTimesteps, "alpha_bar": AlphaBarTimesteps, "adaptive": AdaptiveTimesteps}
    if name not in classes:
        raise ValueError(f"training timesteps must be one of {TRAINING_TIMESTEPS}, got {name!r}")
    return classes[name](schedule, **kwargs)


def informative_spacing(ce_by_t: torch.Tensor, steps: int) -> list[int]:
    """S sampling timesteps at equal drops of a measured CE-vs-t curve, largest first, starting at T.

    Args:
        ce_by_t: ``(T,)`` the model's teacher-forced CE at t = 1..T (any smooth estimate; it is made
            monotone in t first). steps: S.
    Returns:
        S distinct integers, strictly decreasing, the first T: where the CE curve is flat (y_t carries
        nothing, or the token is already certain) the steps are sparse, where it falls they are dense.
    """
    T = len(ce_by_t)
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be between 1 and T={T}, got {steps}")
    ce = torch.cummax(ce_by_t.double().nan_to_num(0.0), 0).values  # (T,), non-decreasing in t
    span = float(ce[-1] - ce[0])
    if steps == 1:
        return [T]
    if span <= 0:  # a flat curve says nothing: the uniform respacing
        return torch.linspace(1, T, steps, dtype=torch.float64).round().long().flip(0).tolist()
    levels = ce[-1] - span * torch.arange(steps, dtype=torch.float64) / steps  # equal drops from the top
    chosen: list[int] = []
    for level in levels.tolist():
        t = int(torch.searchsorted(ce, torch.tensor(level, dtype=torch.float64), right=False)) + 1
        t = min(t, T if not chosen else chosen[-1] - 1)  # strictly decreasing
        chosen.append(max(t, steps - len(chosen)))  # leave room for the remaining steps down to 1
    chosen[0] = T
    return chosen


def explicit_spacing(timesteps: list[int], num_timesteps: int) -> list[int]:
    """A given list of sampling timesteps, checked: integers in 1..T, strictly decreasing."""
    ts = [int(t) for t in timesteps]
    if not ts or any(not 1 <= t <= num_timesteps for t in ts):
        raise ValueError(f"sampling timesteps must lie in 1..{num_timesteps}, got {timesteps}")
    if any(a <= b for a, b in zip(ts, ts[1:])):
        raise ValueError(f"sampling timesteps must be strictly decreasing, got {timesteps}")
    return ts


def curve_on_grid(ts: list[int], values: list[float], num_timesteps: int) -> torch.Tensor:
    """A curve measured at a few timesteps ``ts``, linearly interpolated to t = 1..T ``(T,)``."""
    if len(ts) != len(values) or len(ts) < 2:
        raise ValueError("a measured curve needs at least two (t, value) points of equal count")
    order = sorted(range(len(ts)), key=lambda i: ts[i])
    x = torch.tensor([float(ts[i]) for i in order], dtype=torch.float64)
    y = torch.tensor([float(values[i]) for i in order], dtype=torch.float64)
    grid = torch.arange(1, num_timesteps + 1, dtype=torch.float64)
    index = torch.searchsorted(x, grid).clamp(1, len(x) - 1)
    x0, x1, y0, y1 = x[index - 1], x[index], y[index - 1], y[index]
    w = ((grid - x0) / (x1 - x0)).clamp(0, 1)
    return y0 + w * (y1 - y0)


def set_timesteps(
    schedule: NoiseSchedule, steps: int, spacing: str | Sequence[int] = "uniform", ce_curve: torch.Tensor | None = None
) -> list[int]:
    """The timesteps a sampler visits, largest first — the one place they are worked out (diffusers'
    ``set_timesteps``): ``"uniform"`` the paper's respacing of ``steps`` (:meth:`NoiseSchedule.respace`),
    ``"informative"`` equal drops of ``ce_curve`` ``(T,)`` (:func:`informative_spacing`), a list an explicit
    choice (:func:`explicit_spacing`; its length is the step count)."""
    if isinstance(spacing, (list, tuple)):
        return explicit_spacing(list(spacing), schedule.num_timesteps)
    if spacing == "uniform":
        return schedule.respace(steps).tolist()
    if spacing == "informative":
        if ce_curve is None:
            raise ValueError("this model has no measured CE curve for 'informative' spacing; use 'uniform'")
        return informative_spacing(ce_curve, steps)
    raise ValueError(f"spacing must be one of {SAMPLING_SPACINGS} or a list of timesteps, got {spacing!r}")


def sampling_timesteps(
    config: Any, steps: int, spacing: str | Sequence[int] | None = None, schedule: NoiseSchedule | None = None
) -> list[int]:
    """:func:`set_timesteps` for a model's ``config``: ``spacing`` ``None`` takes the checkpoint's own
    (``config.spacing``, ``"uniform"`` for checkpoints without one); ``"informative"`` reads the CE curve
    measured after training (``config.ce_curve``). ``schedule`` defaults to the config's."""
    if spacing is None:
        spacing = getattr(config, "spacing", "uniform")
    schedule = schedule or make_schedule(config.schedule, config.num_timesteps)
    curve = None
    if spacing == "informative" and getattr(config, "ce_curve", None):
        curve = curve_on_grid(config.ce_curve_t, config.ce_curve, config.num_timesteps)
    return set_timesteps(schedule, steps, spacing, curve)
