"""Frozen-encoder feature caching (MAR's ``main_cache.py`` idea): run a frozen image encoder over the
training set once, store its tokens, and train the conditioning module and denoiser from the store.

Each item gets one ``{index:08d}.safetensors`` file with the tokens ``(L, d)`` of the centre-cropped
image and of its horizontal flip (float16), and its target in the file's metadata. Files are
written atomically, so a killed caching run resumes where it stopped; every rank caches its share
(index ≡ rank mod world size). ``cache.json`` is written last and records what was cached (the
encoder, the image transform, the dataset size); a cache built for something else is refused.

:class:`CachedFeatures` serves ``(tokens, target)``, choosing the flipped tokens with probability
½ (the only augmentation a cache keeps, as in MAR). The model accepts tokens in place of images
(:class:`~tdd.models.conditioning.ImageConditioner`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from tdd.checkpoint import atomic_write, atomic_write_text
from tdd.data.loading import UNREADABLE
from tdd.distributed import DistEnv, all_reduce_sum, barrier

log = logging.getLogger(__name__)
META_NAME = "cache.json"


def _item_path(root: Path, index: int) -> Path:
    return root / f"{index:08d}.safetensors"


def _read_meta(root: Path) -> dict[str, Any] | None:
    path = root / META_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@torch.inference_mode()
def build_feature_cache(
    encoder: torch.nn.Module,
    dataset: Any,
    root: str | os.PathLike,
    fingerprint: dict[str, Any],
    env: DistEnv,
    batch_size: int = 64,
) -> Path:
    """Cache ``encoder``'s tokens for every item of ``dataset`` (``(image tensor, target)`` items).

    Args:
        fingerprint: JSON-serialisable description of the encoder and transform; a cache whose
            fingerprint differs raises ``ValueError`` instead of being used.
    Returns the cache directory; every rank returns once all ranks are done.
    """
    from safetensors.torch import save_file

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
    unreadable = 0
    for start in range(0, len(todo), batch_size):
        images, targets, kept = [], [], []
        for i in todo[start : start + batch_size]:
            try:
                image, target = dataset[i]
            except UNREADABLE as e:
                unreadable += 1
                log.warning("feature cache: skipping unreadable item %d: %s", i, e)
                continue
            images.append(image)
            targets.append(target)
            kept.append(i)
        if not kept:
            continue
        x = torch.stack(images).to(env.device)
        tokens = encoder(x).half().cpu()  # (B, L, d)
        flipped = encoder(x.flip(-1)).half().cpu()
        for i, target, a, b in zip(kept, targets, tokens, flipped):
            meta_i = {"target": json.dumps(target.item() if isinstance(target, torch.Tensor) else target)}
            tensors = {"tokens": a.contiguous(), "tokens_flip": b.contiguous()}
            atomic_write(_item_path(root, i), lambda tmp, t=tensors, m=meta_i: save_file(t, tmp, metadata=m))
    count = all_reduce_sum(torch.tensor(float(unreadable), device=env.device))
    barrier()
    if env.is_main:
        present = sum(_item_path(root, i).is_file() for i in range(len(dataset)))
        atomic_write_text(
            root / META_NAME,
            json.dumps({**expected, "cached": present, "unreadable_this_run": int(count.item())}, indent=2) + "\n",
        )
        print(f"feature cache {root}: {present} of {len(dataset)} items ({int(count.item())} unreadable)", flush=True)
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
        self.indices = [i for i in range(meta["size"]) if _item_path(self.root, i).is_file()]
        self.missing = meta["size"] - len(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        from safetensors import safe_open

        with safe_open(str(_item_path(self.root, self.indices[i])), framework="pt") as f:
            name = "tokens_flip" if torch.rand(()) < 0.5 else "tokens"  # seeded per item by TrainItems
            tokens = f.get_tensor(name).float()
            target = json.loads(f.metadata()["target"])
        return tokens, target
