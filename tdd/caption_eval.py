"""Evaluating captioners on a held-out :class:`~tdd.data.caption_data.EvalSet`: captions of every
image (sharded over processes), exact match / attribute accuracy or BLEU-4 / CIDEr, and the CLIP
score rows of Tab. 3. The training script and ``train/compare_captioners.py`` both use these."""

from __future__ import annotations

import functools
import logging
from typing import Any

import torch

from tdd import rng
from tdd.caption import caption
from tdd.data.caption_data import EvalSet
from tdd.data.images import preprocess_rgb
from tdd.data.scenes import caption_metrics
from tdd.distributed import DistEnv, all_gather_objects
from tdd.evaluation import clip_image_features, load_clip, mean_clip_score, text_similarity

log = logging.getLogger(__name__)


def generate_captions(
    model: Any, tokenizer: Any, evals: EvalSet, image_size: int, steps: int, seed: int, env: Any = None,
    batch_size: int = 64,
) -> list[str]:  # fmt: skip
    """Captions of every evaluation image, each process captioning a share; the same list on every rank."""

    env = env or DistEnv()
    mine = list(range(env.rank, len(evals.sources), env.world_size))
    g = rng.generator(seed, env.device)
    out: list[tuple[int, str]] = []
    for first in range(0, len(mine), batch_size):
        idx = mine[first : first + batch_size]
        images = torch.stack([preprocess_rgb(evals.sources[i], image_size) for i in idx]).to(env.device)
        out += zip(idx, caption(model, tokenizer, images, steps=steps, generator=g).captions)
    merged = dict(pair for part in all_gather_objects(out) for pair in part)
    return [merged[i] for i in range(len(evals.sources))]


def text_metrics(captions: list[str], evals: EvalSet) -> dict[str, Any]:
    """Scenes: exact match and attribute accuracy (parsed); otherwise exact match, BLEU-4 and CIDEr.

    Without the optional ``pycocoevalcap`` (the ``train`` extra), BLEU-4 and CIDEr are skipped: the
    row says so under ``skipped_metrics``, and one line is logged (once a process).
    """

    if evals.scenes:
        return caption_metrics(captions, evals.scenes)
    exact = sum(c in refs for c, refs in zip(captions, evals.references)) / max(1, len(captions))
    try:
        return {"exact_match": exact, **text_similarity(captions, evals.references)}
    except ModuleNotFoundError as e:
        if e.name is None or not e.name.startswith("pycocoevalcap"):
            raise
        _log_once(SKIPPED_COCO_METRICS)
        return {"exact_match": exact, "skipped_metrics": [SKIPPED_COCO_METRICS]}


SKIPPED_COCO_METRICS = "BLEU-4 and CIDEr skipped: pycocoevalcap is not installed (pip install -e '.[train]')"


@functools.cache
def _log_once(message: str) -> None:
    log.warning(message)


def clip_rows(
    clip_model: str, clip_weights: str | None, evals: EvalSet, rows: dict[str, list[str]], device: Any
) -> dict[str, float]:
    """Mean CLIP score of each row of captions, plus the ground truth and the shuffled ground truth (Tab. 3)."""

    clip, preprocess, tokenize = load_clip(clip_model, clip_weights, device=str(device))
    truth = [refs[0] for refs in evals.references]
    texts = {"ground truth": truth, "shuffled ground truth": truth[1:] + truth[:1], **rows}
    images = clip_image_features(clip, preprocess, evals.sources, device)  # once, for every row
    return {name: mean_clip_score(clip, tokenize, images, caps, device) for name, caps in texts.items()}
