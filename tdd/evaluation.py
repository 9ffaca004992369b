"""Caption quality beyond exact match: BLEU-4 and CIDEr (pycocoevalcap, the COCO caption metrics) and
the CLIP score (open_clip), for the scenes captioners here and COCO-scale runs alike.

CLIP needs weights. Offline there is nothing to download, so :func:`load_clip` takes a local weights
file (or an open_clip pretrained tag whose file is already in the local cache) and says clearly when
it is missing; :func:`scenes_clip` builds a small CLIP from open_clip's own model classes that
``experiments/tab3_clip_score.py`` trains contrastively on the generated scenes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from tdd.data.images import open_image
from tdd.data.tokenizer import PAD_ID


def word_f1(said: Sequence[str], true: Sequence[str]) -> float:
    """F1 of the words ``said`` against the ``true`` ones, as bags of words (0 when none is shared)."""
    both = sum((Counter(said) & Counter(true)).values())
    return 2 * both / (len(said) + len(true)) if both else 0.0


def text_similarity(captions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Corpus BLEU-4 and CIDEr of ``captions`` against several references each (pycocoevalcap).

    Captions are compared as lower-case whitespace tokens (the scenes grammar's words; COCO captions
    should be normalised the same way first).
    """
    from pycocoevalcap.bleu.bleu import Bleu  # optional (the train extra): only for BLEU/CIDEr
    from pycocoevalcap.cider.cider import Cider  # optional (the train extra): only for BLEU/CIDEr

    if len(captions) != len(references):
        raise ValueError(f"{len(captions)} captions for {len(references)} reference lists")
    res = {i: [" ".join(c.lower().split()) or "<empty>"] for i, c in enumerate(captions)}
    gts = {i: [" ".join(r.lower().split()) for r in refs] for i, refs in enumerate(references)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return {"bleu4": float(bleu[3]), "cider": float(cider)}


# ----------------------------------------------------------------------------------------------
# CLIP score


class ClipWeightsMissing(FileNotFoundError):
    """No local CLIP weights: nothing can be downloaded here."""


def check_clip_weights(model_name: str, weights: str | os.PathLike | None) -> None:
    """Raise :class:`ClipWeightsMissing` (naming what to pass) unless ``weights`` is a local file."""
    if weights is None or not os.path.isfile(weights):
        raise ClipWeightsMissing(
            f"CLIP weights for {model_name} not found ({weights!r}). Nothing is downloaded: pass a local "
            f"file with --clip-weights, e.g. open_clip_pytorch_model.bin from the laion/CLIP-{model_name} "
            f"repository, copied to this machine."
        )


def load_clip(model_name: str = "ViT-B-32", weights: str | os.PathLike | None = None, device: str = "cpu"):
    """An open_clip model, its eval transform and tokenizer, from a local weights file.

    ``model_name`` is an open_clip architecture (``ViT-B-32``) or the path of a model config JSON
    in open_clip's format (its file name becomes the architecture name).

    Raises:
        ClipWeightsMissing: when ``weights`` is not given or the file does not exist, naming what to pass.
    """
    import open_clip  # optional (the train extra): only for CLIP scores

    check_clip_weights(model_name, weights)
    if str(model_name).endswith(".json"):  # a model config of your own, e.g. a small CLIP trained elsewhere
        if not os.path.isfile(model_name):
            raise FileNotFoundError(f"{model_name}: CLIP model config not found")
        open_clip.add_model_config(model_name)
        model_name = os.path.splitext(os.path.basename(model_name))[0]
    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(weights), device=device)
    return model.eval(), preprocess, open_clip.get_tokenizer(model_name)


@torch.inference_mode()
def clip_score(model, images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of each image with its text, ``(B,)`` (the paper's CLIP score, unscaled).

    ``images`` are the model's preprocessed inputs, ``texts`` its token ids, row i paired with row i.
    """
    img = F.normalize(model.encode_image(images).float(), dim=-1)
    txt = F.normalize(model.encode_text(texts).float(), dim=-1)
    return (img * txt).sum(-1)


@torch.inference_mode()
def clip_image_features(model, preprocess, images: Sequence[Any], device="cpu", batch_size: int = 64) -> torch.Tensor:
    """Normalised CLIP features ``(N, D)`` of ``images`` (PIL images, paths, arrays: anything
    :func:`tdd.data.images.open_image` reads), opened batch by batch through open_clip's ``preprocess``."""

    feats = []
    for i in range(0, len(images), batch_size):
        x = torch.stack([preprocess(open_image(im).convert("RGB")) for im in images[i : i + batch_size]])
        feats.append(F.normalize(model.encode_image(x.to(device)).float(), dim=-1))
    return torch.cat(feats) if feats else torch.empty(0)


@torch.inference_mode()
def mean_clip_score(
    model, tokenize, image_features: torch.Tensor, texts: Sequence[str], device="cpu", batch_size: int = 64
) -> float:
    """Mean CLIP score of ``texts`` with the images of ``image_features`` (row i with row i), so that
    several caption sets (ground truth, shuffled, each model) share one pass over the images."""
    if len(image_features) != len(texts):
        raise ValueError(f"{len(image_features)} images for {len(texts)} texts")
    total = 0.0
    for i in range(0, len(texts), batch_size):
        txt = F.normalize(model.encode_text(tokenize(list(texts[i : i + batch_size])).to(device)).float(), dim=-1)
        total += (image_features[i : i + batch_size].to(device) * txt).sum().item()
    return total / max(1, len(texts))


def scenes_clip(vocab_size: int, context_length: int, image_size: int = 64, embed_dim: int = 128):
    """A small CLIP for the scenes, built from open_clip's ``CLIP`` class (random init).

    Text ids are the captioners' word ids followed by an end token ``vocab_size`` (the highest id, so
    open_clip's argmax pooling reads it, as in CLIP); ``context_length`` counts that end token.
    """
    import open_clip  # optional (the train extra): only for CLIP scores

    vision = open_clip.CLIPVisionCfg(layers=4, width=128, head_width=32, patch_size=8, image_size=image_size)
    text = open_clip.CLIPTextCfg(
        context_length=context_length, vocab_size=vocab_size + 1, width=128, heads=4, layers=3
    )  # fmt: skip
    return open_clip.CLIP(embed_dim, vision, text, output_dict=True)


def scenes_clip_tokens(token_ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Captioner ids ``(B, N)`` (padding 0) → scenes-CLIP text input ``(B, N + 1)`` with the end token."""

    b, n = token_ids.shape
    out = torch.full((b, n + 1), PAD_ID, dtype=torch.long)
    out[:, :n] = token_ids
    lengths = (token_ids != PAD_ID).sum(1)
    out[torch.arange(b), lengths] = vocab_size  # padding comes only after the words
    return out


def clip_contrastive_loss(model, images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    """The symmetric InfoNCE loss of CLIP, through open_clip's ``ClipLoss``."""
    from open_clip.loss import ClipLoss  # optional (the train extra): only for CLIP scores

    out: dict[str, Any] = model(images, texts)
    return ClipLoss()(out["image_features"], out["text_features"], out["logit_scale"])


def fit_clip(
    model, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], steps: int, lr: float, log_every: int = 200
) -> float:
    """Train a small CLIP (:func:`scenes_clip`) contrastively for ``steps`` batches of ``(images, text ids)``
    (AdamW, weight decay 0.1, one-cycle schedule with 10 % warm-up, as open_clip trains); the last batch's loss.
    ``batches`` may end early: training stops there."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps, pct_start=0.1)
    model.train()
    loss = torch.tensor(0.0)
    for step, (images, texts) in enumerate(batches, start=1):
        loss = clip_contrastive_loss(model, images, texts)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % log_every == 0:
            print(f"clip step {step}: loss {loss.item():.3f}", flush=True)
        if step >= steps:
            break
    model.eval()
    return loss.item()
