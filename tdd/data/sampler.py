"""The training sampler: a :class:`~torch.utils.data.DistributedSampler` that can start mid-epoch and
whose global batches do not depend on how they are split.

Each epoch is one seeded permutation of the dataset cut into *global batches* (one optimizer step
each). A global batch is cut into ``world_size × accum_steps`` micro-batches ("shards"); rank r
takes shards ``r·accum … r·accum + accum − 1``. So shard s holds the same items whether it runs on
rank s of ``s+1`` GPUs or as micro-step s of gradient accumulation on one: two processes with no
accumulation see exactly what one process with two accumulation steps sees, and a run can resume
on a different number of GPUs with the same data order. ``set_epoch(epoch, start_step)`` skips
the global batches already trained on, without loading them.

torch's own ``DistributedSampler`` deals items round-robin (rank r gets items r, r+W, …), which
ties the data order to the world size; the subclass changes only that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any, cast

import torch
from torch.utils.data import DistributedSampler

from tdd import rng


class ResumableDistributedSampler(DistributedSampler):
    """Indices of this rank's micro-batches, global batch after global batch.

    Args:
        dataset: anything with ``len``.
        micro_batch_size: items per micro-batch (per process, per accumulation step).
        accum_steps: micro-batches per process per optimizer step.
        num_replicas, rank: the world size and this process's rank.
        shuffle, seed: a new permutation every epoch from ``seed + epoch`` (same on every rank).
    """

    def __init__(
        self,
        dataset: Sized,
        micro_batch_size: int,
        accum_steps: int = 1,
        *,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
    ):
        super().__init__(
            cast(Any, dataset), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=True
        )
        self.micro_batch_size = micro_batch_size
        self.accum_steps = accum_steps
        self.global_batch_size = micro_batch_size * accum_steps * num_replicas
        self.steps_per_epoch = len(dataset) // self.global_batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"the dataset has {len(dataset)} items, fewer than one global batch "
                f"({num_replicas} processes × {accum_steps} accumulation steps × {micro_batch_size})"
            )
        self.start_step = 0

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Use epoch ``epoch``'s permutation and skip its first ``start_step`` global batches."""
        if not 0 <= start_step < self.steps_per_epoch:
            raise ValueError(f"start_step must lie in [0, {self.steps_per_epoch}), got {start_step}")
        super().set_epoch(epoch)
        self.start_step = start_step

    def __iter__(self) -> Iterator[int]:
        n = len(cast(Sized, self.dataset))
        if self.shuffle:
            g = rng.generator(self.seed + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        per_rank = self.micro_batch_size * self.accum_steps
        for step in range(self.start_step, self.steps_per_epoch):
            first = step * self.global_batch_size + self.rank * per_rank
            yield from order[first : first + per_rank].tolist()

    def __len__(self) -> int:
        return (self.steps_per_epoch - self.start_step) * self.micro_batch_size * self.accum_steps
