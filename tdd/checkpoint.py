"""Checkpoint directories: ``config.json`` + ``model.safetensors`` (+ tokenizer files).

Loading never unpickles. Every failure is a :class:`CheckpointError` that names the file and what
is wrong with it. Every file is written atomically (a temporary file in the same folder, fsync,
then ``os.replace``), weights before config, so a killed save never leaves a half-written file
under a final name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FILE_MODE = 0o644


class CheckpointError(ValueError):
    """A checkpoint directory is missing, incomplete, corrupt or does not match its model."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then move the finished file to ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; checkpoints are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, write)


def save_checkpoint(
    directory: str | os.PathLike,
    *,
    model_type: str,
    config: dict[str, Any],
    state_dict: dict[str, torch.Tensor],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` then ``config.json`` into ``directory``.

    Args:
        model_type: the registry name that rebuilds the model.
        config: the model's constructor arguments (JSON-serialisable).
        state_dict: the weights; copied to contiguous, unshared tensors for safetensors.
        extra: other JSON metadata to keep (the diffusion settings, training results, …).
    """

    directory = Path(directory)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    atomic_write(directory / WEIGHTS_NAME, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}))
    meta = {"format_version": FORMAT_VERSION, "model_type": model_type, "config": config, "extra": extra or {}}
    atomic_write_text(directory / CONFIG_NAME, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return directory


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and validate ``config.json``; returns its dict with ``model_type``, ``config``, ``extra``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(directory, "checkpoint directory does not exist")
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(path, "missing: a checkpoint needs config.json beside model.safetensors")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(path, f"not valid JSON ({e})") from e
    if not isinstance(meta, dict):
        raise CheckpointError(path, "must hold a JSON object")
    for key, kind in (("format_version", int), ("model_type", str), ("config", dict)):
        if not isinstance(meta.get(key), kind):
            raise CheckpointError(path, f"field {key!r} is missing or not a {kind.__name__}")
    if meta["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            path, f"format_version {meta['format_version']} is newer than this tdd understands ({FORMAT_VERSION})"
        )
    meta.setdefault("extra", {})
    return meta


def read_weights(directory: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read ``model.safetensors`` (no pickle) into CPU tensors."""

    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise CheckpointError(path, "missing: the checkpoint has no weights file")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(path, f"corrupt or truncated safetensors file ({e})") from e


def check_state_dict(
    path: str | os.PathLike, expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]
) -> None:
    """Raise a :class:`CheckpointError` naming the keys or shapes where ``found`` ≠ ``expected``."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    mismatched = [
        f"{k}: file {tuple(found[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(found))
        if found[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing tensors {missing[:5]}{' …' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"unexpected tensors {unexpected[:5]}{' …' if len(unexpected) > 5 else ''}")
    if mismatched:
        problems.append(f"shape mismatch {mismatched[:5]}{' …' if len(mismatched) > 5 else ''}")
    if problems:
        raise CheckpointError(path, "weights do not match config.json: " + "; ".join(problems))
