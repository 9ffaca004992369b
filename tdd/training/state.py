"""Resumable training checkpoints: everything a run needs to continue as if it had never stopped.

One file per save, ``checkpoints/step_00001000.pt``: model, EMA, optimizer, gradient scaler, LR
scheduler, step, every rank's random-generator states, the arguments and the elapsed time. Each is
written atomically (a temporary file, fsync, rename), so a run killed mid-save leaves the previous
checkpoint intact; the newest ``keep`` are kept. :func:`load_latest` returns the newest one that
loads, falling back past a damaged file with a warning.

These files are for resuming your own runs: they are read with ``torch.load(weights_only=True)``
(tensors, numbers, strings and containers only — no arbitrary unpickling). The shareable model is
the ``final/`` safetensors directory the training scripts write.
"""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tdd.checkpoint import CheckpointError, atomic_write

log = logging.getLogger(__name__)
STATE_VERSION = 1
_NAME = re.compile(r"^step_(\d{8,})\.pt$")


def state_path(directory: str | os.PathLike, step: int) -> Path:
    return Path(directory) / f"step_{step:08d}.pt"


def list_states(directory: str | os.PathLike) -> list[Path]:
    """The complete checkpoint files in ``directory``, oldest first (temporary files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_state(directory: str | os.PathLike, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` as the checkpoint of ``step`` atomically, then delete all but the newest ``keep``."""
    if keep < 1:
        raise ValueError(f"keep must be ≥ 1, got {keep}")
    path = state_path(directory, step)
    atomic_write(path, lambda tmp: torch.save({"version": STATE_VERSION, "step": step, **state}, tmp))
    for old in list_states(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read one checkpoint file; a :class:`CheckpointError` naming the file when it is damaged."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError, EOFError, pickle errors … for damaged files
        raise CheckpointError(path, f"corrupt or truncated training checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION or "step" not in state:
        raise CheckpointError(path, f"not a version-{STATE_VERSION} tdd training checkpoint")
    return state


def load_latest(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The newest checkpoint in ``directory`` that loads (``None`` when there is none).

    Raises:
        CheckpointError: when there are checkpoint files but every one of them is damaged.
    """
    paths = list_states(directory)
    errors = []
    for path in reversed(paths):
        try:
            state = load_state(path)
            state["path"] = str(path)
            return state
        except CheckpointError as e:
            log.warning("%s; trying the previous checkpoint", e)
            errors.append(str(e))
    if errors:
        raise CheckpointError(directory, "every checkpoint is damaged: " + "; ".join(errors))
    return None


# ----------------------------------------------------------------------------------------------
# random-generator states (one dict per process)


def rng_state(generators: list[torch.Generator]) -> dict[str, Any]:
    """This process's generator states: torch (CPU and CUDA), Python, NumPy, and ``generators``."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, gauss),
        "generators": [g.get_state() for g in generators],
    }


def set_rng_state(state: dict[str, Any], generators: list[torch.Generator]) -> None:
    """Restore what :func:`rng_state` saved (``generators`` must match in number)."""
    if len(state["generators"]) != len(generators):
        raise ValueError(f"{len(state['generators'])} saved generators for {len(generators)} in this run")
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    for g, s in zip(generators, state["generators"]):
        g.set_state(s)
