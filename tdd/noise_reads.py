"""What the noisy state reads at each step of a TDD run: the numbers behind the app's "what the noise reads"
row, the noisy-state heatmap and the notebooks' views (drawn by :mod:`tdd.viz`).

At step k the network sees y_t: the prior N(0, I) at the first step, and afterwards the previous step's
to-one choice re-noised, λ√ᾱ_t·onehot(draft) + √(1 − ᾱ_t)·ε (:class:`~tdd.samplers.common.StepRecord`'s
``noisy`` fields). Read by its largest coordinate, y_t shows random words while the noise dominates and
the draft's words once the signal stands above the K − 1 noise coordinates. All functions take the
records of one run and a batch row ``index``; positions are ``(N,)`` for a sentence, ``(1,)`` for a label.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tdd.samplers.common import StepRecord


def _ids_row(tokens: torch.Tensor, index: int) -> torch.Tensor:
    """``(P,)`` token ids of batch row ``index`` (a label becomes one position)."""
    return tokens[index].reshape(-1)


def _noisy_row(record: StepRecord, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, ids) ``(P, k)`` of y_t's largest coordinates in batch row ``index``."""
    if record.noisy_top_values is None or record.noisy_top_ids is None:
        raise ValueError("these records carry no noisy state (a masked-diffusion run, or an older sampler)")
    k = record.noisy_top_values.shape[-1]
    return record.noisy_top_values[index].reshape(-1, k), record.noisy_top_ids[index].reshape(-1, k)


def noisy_argmax(record: StepRecord, index: int = 0) -> torch.Tensor:
    """``(P,)`` the word (or class) each position of y_t reads: its largest coordinate."""
    return _noisy_row(record, index)[1][:, 0]


def signal_ids(records: Sequence[StepRecord], step: int, index: int = 0) -> torch.Tensor | None:
    """``(P,)`` the tokens re-noised into step ``step``'s y_t (the previous step's choice); ``None`` at the
    first step, whose y_t is pure noise."""
    return None if step == 0 else _ids_row(records[step - 1].tokens, index)


def signal_margin(records: Sequence[StepRecord], step: int, index: int = 0) -> torch.Tensor | None:
    """``(P,)`` how far the re-noised token's coordinate of y_t stands above the largest other coordinate
    (positive: the noise reads the draft's word). With only the top-k coordinates kept (large K), a token
    outside them gets the bound ``k-th largest − largest`` (it is at least that far below). ``None`` at the
    first step."""
    signal = signal_ids(records, step, index)
    if signal is None:
        return None
    record = records[step]
    if record.noisy is not None:  # the whole state: exact
        y = record.noisy[index].reshape(len(signal), -1)  # (P, K)
        own = y.gather(1, signal[:, None]).squeeze(1)
        others = y.scatter(1, signal[:, None], float("-inf")).amax(1)
        return own - others
    values, ids = _noisy_row(record, index)
    hit = ids == signal[:, None]  # (P, k)
    best_other = torch.where(hit[:, 0], values[:, 1], values[:, 0])  # (P,): the largest coordinate not its own
    own = torch.where(hit.any(1), (values * hit).sum(1), values[:, -1])
    return own - best_other


def settled_share(records: Sequence[StepRecord], index: int = 0, skip: Sequence[int] = ()) -> list[float]:
    """Per step, the share of positions whose noisy argmax is already the run's final word (positions whose
    final word is in ``skip``, e.g. padding, are left out)."""
    final = _ids_row(records[-1].tokens, index)
    keep = torch.ones_like(final, dtype=torch.bool)
    for s in skip:
        keep &= final != s
    if not keep.any():
        keep = torch.ones_like(keep)
    return [float((noisy_argmax(r, index) == final)[keep].float().mean()) for r in records]


def noisy_candidates(
    records: Sequence[StepRecord], position: int, index: int = 0, top: int = 8
) -> tuple[list[int], torch.Tensor]:
    """The words of one position worth drawing — its final word first, then the words y_t read most often
    and the strongest noise coordinates — and their y_t coordinates per step ``(words, steps)`` (NaN where
    a large-K record did not keep a coordinate)."""
    final = int(_ids_row(records[-1].tokens, index)[position])
    counts: dict[int, float] = {final: float("inf")}
    for r in records:
        values, ids = _noisy_row(r, index)
        for rank, i in enumerate(ids[position].tolist()):
            counts[i] = counts.get(i, 0.0) + (1.0 if rank == 0 else 1e-3 * float(values[position, rank]))
    words = sorted(counts, key=lambda i: -counts[i])[:top]
    grid = torch.full((len(words), len(records)), float("nan"))
    for k, r in enumerate(records):
        if r.noisy is not None:
            y = r.noisy[index].reshape(-1, r.noisy.shape[-1])[position]
            grid[:, k] = y[words]
        else:
            values, ids = _noisy_row(r, index)
            where = {int(i): float(v) for i, v in zip(ids[position], values[position])}
            grid[:, k] = torch.tensor([where.get(w, float("nan")) for w in words])
    return words, grid
