"""What rank 0 writes while training: ``metrics.jsonl`` (kept up to a resumed step), TensorBoard, the terminal."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tdd.checkpoint import atomic_write_text
from tdd.distributed import DistEnv

log = logging.getLogger(__name__)


class Metrics:
    """Rank 0's outputs: ``metrics.jsonl`` (kept up to the resumed step), TensorBoard, the terminal."""

    def __init__(self, out: Path, env: DistEnv, step: int):
        self.enabled = env.is_main
        self.path = out / "metrics.jsonl"
        self.writer = None
        if not self.enabled:
            return
        rows = []
        if step and self.path.is_file():  # a resumed run: drop rows of steps that are being redone
            rows = [r for r in self.path.read_text(encoding="utf-8").splitlines() if json.loads(r)["step"] <= step]
        atomic_write_text(self.path, "".join(r + "\n" for r in rows))
        try:
            from torch.utils.tensorboard import SummaryWriter  # optional (the train extra): only with TensorBoard logs

            self.writer = SummaryWriter(str(out / "tb"), purge_step=step or None)
        except ImportError:  # tensorboard is an optional extra
            log.info("tensorboard is not installed; scalars go to metrics.jsonl only")

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.writer.add_scalar(k, v, row["step"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
