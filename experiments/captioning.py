"""Shared by the captioning experiments: the shipped scenes captioners, held-out scenes, and scoring.

``--models-dir`` points the scripts at other checkpoints (``DIR/scenes-tdd`` …), e.g. fresh runs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from common import experiment_parser

from tdd.caption import caption
from tdd.data.images import rgb_to_tensor
from tdd.data.scenes import caption_metrics, caption_of, make_scene
from tdd.data.tokenizer import load_tokenizer
from tdd.evaluation import fit_clip, text_similarity
from tdd.models.registry import PretrainedModel, resolve_checkpoint

METHODS = ("tdd", "mdd", "ar")
EVAL_SIZE = 500
NUM_TEMPLATES = 4
SMOKE_SIZE = 8


def parser(description: str):
    p = experiment_parser(description)
    p.add_argument("--models-dir", default=None, help="read DIR/scenes-{tdd,mdd,ar} instead of the bundled models")
    p.add_argument("--eval-size", type=int, default=EVAL_SIZE)
    p.add_argument("--seed", type=int, default=0)
    return p


def eval_size(args) -> int:
    return SMOKE_SIZE if args.smoke else args.eval_size


def load(args, method: str):
    """(model, tokenizer) of the scenes captioner for ``method``."""
    name = f"scenes-{method}"
    where = str(Path(args.models_dir) / name) if args.models_dir else name
    return PretrainedModel.from_pretrained(where), load_tokenizer(resolve_checkpoint(where))


def trained_style(model) -> str:
    """The scene renderer a captioner was trained on (its saved training arguments; ``plain`` before the
    randomised renderer existed): the held-out scenes it is evaluated on by default."""
    return model.checkpoint_extra.get("train_args", {}).get("scene_style") or "plain"


def held_out(n: int, split: str = "test", image_size: int = 64, style: str = "plain"):
    """The first ``n`` scenes of ``split`` drawn in ``style`` (the ``style`` split has its own renderer):
    images ``(n, 3, S, S)``, descriptions, all-template references, the scenes' own captions."""
    return as_batch([make_scene(i, 0, split, image_size, style) for i in range(n)])


def as_batch(scenes: list):
    """Scenes as :func:`held_out` gives them: images, descriptions, all-template references, captions."""
    images = torch.stack([rgb_to_tensor(s.image) for s in scenes])
    descriptions = [s.description for s in scenes]
    references = [[caption_of(d, k) for k in range(NUM_TEMPLATES)] for d in descriptions]
    return images, descriptions, references, [s.caption for s in scenes]


def caption_batched(model, tokenizer, images, seed: int, batch_size: int = 100, **sampling):
    """Captions of all ``images`` (seeded) and the records of every batch."""
    g = torch.Generator().manual_seed(seed)
    captions, records = [], []
    for i in range(0, len(images), batch_size):
        out = caption(model, tokenizer, images[i : i + batch_size], generator=g, **sampling)
        captions += out.captions
        records.append(out.records)
    return captions, records


def seconds_per_caption(model, tokenizer, images, seed: int, repeats: int = 1, **sampling) -> float:
    """Median wall time of captioning one image at batch size 1, over ``images`` × ``repeats``."""
    g = torch.Generator().manual_seed(seed)
    times = []
    for _ in range(repeats):
        for x in images:
            start = time.perf_counter()
            caption(model, tokenizer, x[None], generator=g, **sampling)
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def score(captions, descriptions, references) -> dict[str, float]:
    """Exact match, attribute accuracies, BLEU-4 and CIDEr."""
    return {**caption_metrics(captions, descriptions), **text_similarity(captions, references)}


def figure_path(args, filename: str) -> str:
    """Where a figure goes: ``--results-dir/filename`` (the folder is made if needed)."""
    Path(args.results_dir).mkdir(parents=True, exist_ok=True)
    return str(Path(args.results_dir) / filename)


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def trained_clip(out: Path, model, key: dict, batches, steps: int, lr: float, seed: int):
    """A small CLIP trained contrastively (:func:`tdd.evaluation.fit_clip` on ``batches()``, an iterator of
    ``(images, text ids)``), or the one ``out`` holds when it was trained with the same ``key``; (``model`` in eval
    mode, how it was trained: steps, final loss, seconds — ``None`` for a cached one that did not keep them)."""
    from safetensors.torch import load_file, save_file

    key_text, weights, stats = json.dumps(key), out / "model.safetensors", out / "trained.json"
    if weights.is_file() and (out / "key.json").is_file() and (out / "key.json").read_text() == key_text:
        model.load_state_dict(load_file(weights))
        print(f"reusing {weights}", flush=True)
        return model.eval(), json.loads(stats.read_text()) if stats.is_file() else None
    torch.manual_seed(seed)
    start = time.perf_counter()
    loss = fit_clip(model, batches(), steps, lr)
    out.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), weights)
    trained = {"steps": steps, "final_loss": round(loss, 4), "seconds": round(time.perf_counter() - start, 1)}
    stats.write_text(json.dumps(trained))
    (out / "key.json").write_text(key_text)
    return model.eval(), trained
