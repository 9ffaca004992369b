"""Frozen-encoder feature caching (MAR's ``main_cache.py`` idea): run a frozen image encoder over the
training set once, store its tokens, and train the conditioning module and denoiser from the store.

Each item gets one ``{index:08d}.safetensors`` file with the tokens ``(L, d)`` of the centre-cropped
image and of its horizontal flip (float16), and its target in the file's metadata. Files are
written atomically, so a killed caching run resumes where it stopped; every rank caches its share
(index ≡ rank mod world size). ``cache.json`` is written last and records what was cached (the
encoder, the image transform, the dataset size) and which items could not be read; a cache built
for something else is refused. Images are decoded by DataLoader workers (``num_workers``).

:class:`CachedFeatures` serves ``(tokens, target)``, choosing the flipped tokens with probability
½ (the only augmentation a cache keeps, as in MAR). The model accepts tokens in place of images
(:class:`~tdd.models.conditioning.ImageConditioner`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path
from typing import Any, cast

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import DataLoader

from tdd.checkpoint import atomic_write, atomic_write_text
from tdd.data.loading import UNREADABLE
from tdd.distributed import DistEnv, barrier

log = logging.getLogger(__name__)
META_NAME = "cache.json"


def _item_path(root: Path, index: int) -> Path:
    return root / f"{index:08d}.safetensors"


def _read_meta(root: Path) -> dict[str, Any] | None:
    path = root / META_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _save_item(tmp: Any, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    save_file(tensors, tmp, metadata=metadata)


class _Indexed:
    """``(index, item)`` for the given indices, ``(index, None)`` when the item cannot be read."""

    def __init__(self, dataset: Any, indices: list[int]):
        self.dataset, self.indices = dataset, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> tuple[int, Any]:
        i = self.indices[k]
        try:
            return i, self.dataset[i]
        except UNREADABLE as e:
            log.warning("feature cache: skipping unreadable item %d: %s", i, e)
            return i, None


@torch.inference_mode()
def build_feature_cache(
    encoder: torch.nn.Module,
    dataset: Any,
    root: str | os.PathLike,
    fingerprint: dict[str, Any],
    env: DistEnv,
    batch_size: int = 64,
    num_workers: int = 0,
) -> Path:
    """Cache ``encoder``'s tokens for every item of ``dataset`` (``(image tensor, target)`` items).

    Args:
        fingerprint: JSON-serialisable description of the encoder and transform; a cache whose
            fingerprint differs raises ``ValueError`` instead of being used.
        num_workers: DataLoader processes decoding images for this rank.
    Returns the cache directory; every rank returns once all ranks are done.
    """

    root = Path(root)
    meta = _read_meta(root)
    expected = {"fingerprint": fingerprint, "size": len(dataset)}
    if meta is not None:
        if {k: meta.get(k) for k in expected} != json.loads(json.dumps(expected)):
            raise ValueError(
                f"{root}: this feature cache was built for {meta.get('fingerprint')} ({meta.get('size')} items), "
                f"not {fingerprint} ({len(dataset)} items); use another --cache-dir or delete it"
            )
        return root
    root.mkdir(parents=True, exist_ok=True)
    encoder = encoder.eval().to(env.device)
    todo = [i for i in range(env.rank, len(dataset), env.world_size) if not _item_path(root, i).is_file()]
    loader: DataLoader = DataLoader(
        cast(Any, _Indexed(dataset, todo)), batch_size=batch_size, num_workers=num_workers, collate_fn=list
    )
    for batch in loader:
        kept = [(i, item) for i, item in batch if item is not None]
        if not kept:
            continue
        x = torch.stack([image for _, (image, _) in kept]).to(env.device)
        tokens = encoder(x).half().cpu()  # (B, L, d)
        flipped = encoder(x.flip(-1)).half().cpu()
        for (i, (_, target)), a, b in zip(kept, tokens, flipped):
            meta_i = {"target": json.dumps(target.item() if isinstance(target, torch.Tensor) else target)}
            tensors = {"tokens": a.contiguous(), "tokens_flip": b.contiguous()}
            atomic_write(_item_path(root, i), functools.partial(_save_item, tensors=tensors, metadata=meta_i))
    barrier()
    if env.is_main:  # what is missing now could not be read (in this run or a killed earlier one)
        missing = [i for i in range(len(dataset)) if not _item_path(root, i).is_file()]
        atomic_write_text(root / META_NAME, json.dumps({**expected, "missing": missing}, indent=2) + "\n")
        print(f"feature cache {root}: {len(dataset) - len(missing)} of {len(dataset)} items "
              f"({len(missing)} unreadable)", flush=True)  # fmt: skip
    barrier()
    return root


class CachedFeatures:
    """``(tokens (L, d) float32, target)`` from a finished cache; items that were unreadable are left out.

    Raises:
        FileNotFoundError: when ``root`` holds no finished cache.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        meta = _read_meta(self.root)
        if meta is None:
            raise FileNotFoundError(f"{self.root}: no {META_NAME}; the feature cache was not finished")
        missing = set(meta["missing"])
        self.indices = [i for i in range(meta["size"]) if i not in missing]
        self.missing = len(missing)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        with safe_open(str(_item_path(self.root, self.indices[i])), framework="pt") as f:
            name = "tokens_flip" if torch.rand(()) < 0.5 else "tokens"  # seeded per item by TrainItems
            tokens = f.get_tensor(name).float()
            target = json.loads(f.metadata()["target"])
        return tokens, target
