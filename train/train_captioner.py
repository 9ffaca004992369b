"""Train a TDD, masked-diffusion (MDD) or autoregressive (AR) image captioner.

All three share the encoder, conditioning module and decoder size, and see the same number of
image–caption pairs with the same optimizer. On the generated scenes (tdd.data.scenes):

    python train/train_captioner.py --config train/configs/scenes_tdd.yaml
    python train/train_captioner.py --config train/configs/scenes_tdd.yaml --method mdd --output runs/scenes_mdd
    python train/train_captioner.py --config train/configs/scenes_ar.yaml

Your own data: a folder of images with a captions.txt (``file name<TAB>caption`` per line, see
tdd/data/folder.py); the tokenizer is built from the captions' words, and evaluation (BLEU-4/CIDEr
and exact string match) runs on the first ``--eval-size`` entries, which are training images:

    python train/train_captioner.py --data folder --data-dir my_images/ --steps 2000 --output runs/mine

Outputs under ``--output``: ``metrics.jsonl`` (loss, and exact match / attribute accuracy of the EMA
weights on held-out scenes every ``--eval-every`` steps) and ``final/`` (EMA weights + tokenizer).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from train_utils import lr_at, optimizer_step, parse_with_config  # noqa: E402

from tdd.caption import caption  # noqa: E402
from tdd.checkpoint import atomic_write_text  # noqa: E402
from tdd.data.folder import CaptionFolder  # noqa: E402
from tdd.data.images import rgb_to_tensor  # noqa: E402
from tdd.data.scenes import MAX_CAPTION_WORDS, ScenesDataset, caption_metrics, make_scene, vocabulary  # noqa: E402
from tdd.data.tokenizer import MASK_ID, encode, save_tokenizer, word_tokenizer  # noqa: E402
from tdd.diffusion import TweedieDiffusion  # noqa: E402
from tdd.losses import masked_diffusion_loss  # noqa: E402
from tdd.masked import MaskedDiffusion  # noqa: E402
from tdd.models.captioner import ARCaptioner, CaptionerConfig, MDDCaptioner, TDDCaptioner  # noqa: E402
from tdd.training import OBJECTIVES, make_ema, sample_drop_mask, tdd_loss  # noqa: E402

METHODS = {"tdd": TDDCaptioner, "mdd": MDDCaptioner, "ar": ARCaptioner}


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, help="YAML file whose keys override these defaults")
    p.add_argument("--method", default="tdd", choices=sorted(METHODS))
    p.add_argument("--loss", default="ce", choices=OBJECTIVES, help="TDD objective")
    p.add_argument("--data", default="scenes", choices=["scenes", "folder"])
    p.add_argument("--data-dir", default=None, help="--data folder: the folder holding captions.txt")
    p.add_argument("--max-len", type=int, default=MAX_CAPTION_WORDS, help="--data folder: longest caption, words")
    p.add_argument("--train-size", type=int, default=50_000, help="distinct training scenes")
    p.add_argument("--eval-size", type=int, default=200, help="held-out scenes for evaluation")
    # model
    p.add_argument("--encoder", default="vit_tiny_patch16_224")
    p.add_argument(
        "--encoder-kwargs", type=json.loads, default=dataclasses.asdict(CaptionerConfig(1))["encoder_kwargs"]
    )
    p.add_argument("--pretrained-encoder", default=None)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--cond-depth", type=int, default=1)
    p.add_argument("--cond-heads", type=int, default=4)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    # diffusion
    p.add_argument("--schedule", default="linear", choices=["linear", "cosine"])
    p.add_argument("--num-timesteps", type=int, default=1000)
    p.add_argument("--kfold", type=int, default=4, help="TDD: timesteps per image (§3.3)")
    p.add_argument("--cond-drop", type=float, default=0.1)
    # optimisation
    p.add_argument("--steps", type=int, default=20_000, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-steps", type=int, default=500)
    p.add_argument("--grad-clip", type=float, default=3.0)
    p.add_argument("--ema-decay", type=float, default=0.999)
    # evaluation and run
    p.add_argument("--eval-steps", type=int, default=20, help="sampling steps for evaluation")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--output", default="runs/scenes_tdd")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    return p


def build_model(args: argparse.Namespace, vocab_size: int, max_len: int = MAX_CAPTION_WORDS):
    fields = {f.name for f in dataclasses.fields(CaptionerConfig)}
    config = CaptionerConfig(
        **{k: v for k, v in vars(args).items() if k in fields and k != "max_len"},
        vocab_size=vocab_size,
        max_len=max_len,
        mask_id=MASK_ID,
        parameterization="epsilon" if args.loss == "eps_mse" else "x0",
    )
    return METHODS[args.method](config, pretrained_encoder=args.pretrained_encoder)


def batch_loss(model, args, images, tokens, diffusion, process, g) -> torch.Tensor:
    """One batch's loss for the model's method; the image path runs once."""
    cond = model.encode(images)
    if args.method == "tdd":
        return tdd_loss(
            model, diffusion, cond, tokens, objective=args.loss, kfold=args.kfold, cond_drop=args.cond_drop, generator=g
        )
    drop = sample_drop_mask(len(tokens), args.cond_drop, generator=g)
    if args.method == "mdd":
        ratio = process.sample_ratio(len(tokens), generator=g)
        x_t, is_masked = process.q_sample(tokens, ratio, generator=g)
        return masked_diffusion_loss(model(x_t, ratio, cond, drop), tokens, is_masked, ratio)
    logits = model(tokens, cond, drop)  # AR, teacher forcing
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))


def evaluate(model, tokenizer, images, references, args) -> dict[str, float]:
    """Scenes: exact match and attribute accuracy (parsed). Folder data: exact string match, BLEU-4, CIDEr."""
    g = torch.Generator().manual_seed(0)
    result = caption(model, tokenizer, images, steps=args.eval_steps, generator=g)
    if args.data == "scenes":
        return caption_metrics(result.captions, references)
    from tdd.evaluation import text_similarity

    exact = sum(c == r for c, r in zip(result.captions, references)) / len(references)
    return {"exact_match": exact, **text_similarity(result.captions, [[r] for r in references])}


def load_data(args: argparse.Namespace):
    """(training dataset, tokenizer, max_len, evaluation images, evaluation references)."""
    if args.data == "scenes":
        data = ScenesDataset(args.train_size, "train", args.seed, args.image_size)
        held_out = [make_scene(i, 0, "test", args.image_size) for i in range(args.eval_size)]
        images = torch.stack([rgb_to_tensor(s.image) for s in held_out])
        return data, word_tokenizer(vocabulary()), MAX_CAPTION_WORDS, images, [s.description for s in held_out]
    if not args.data_dir:
        raise SystemExit("--data folder needs --data-dir DIR (a folder with captions.txt)")
    try:
        data = CaptionFolder(args.data_dir, args.image_size)
    except (FileNotFoundError, ValueError) as e:  # a clear message at once, not a traceback
        raise SystemExit(f"train_captioner.py: error: {e}") from None
    if data.max_words() > args.max_len:
        raise SystemExit(f"{args.data_dir}: a caption has {data.max_words()} words; raise --max-len")
    n = min(args.eval_size, len(data))
    pairs = [data[i] for i in range(n)]
    images = torch.stack([x for x, _ in pairs])
    return data, word_tokenizer(data.vocabulary()), data.max_words(), images, [t for _, t in pairs]


def main(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    data, tokenizer, max_len, eval_images, references = load_data(args)
    model = build_model(args, tokenizer.get_vocab_size(), max_len)
    ema = make_ema(model, decay=args.ema_decay)
    g = torch.Generator().manual_seed(args.seed)
    diffusion = TweedieDiffusion(model.config.vocab_size, args.schedule, args.num_timesteps)
    process = MaskedDiffusion(model.config.vocab_size, MASK_ID)
    loader = DataLoader(
        data, batch_size=min(args.batch_size, len(data)), shuffle=True, drop_last=True, generator=g
    )  # fmt: skip
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.95))
    print(f"{args.method} captioner, {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters", flush=True)

    metrics_path = out / "metrics.jsonl"
    metrics_path.unlink(missing_ok=True)
    step, start, losses, scores = 0, time.perf_counter(), [], {}
    while step < args.steps:
        for images, captions in loader:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, args.steps, args.warmup_steps, args.lr)
            tokens, _ = encode(tokenizer, captions, max_len)
            model.train()
            loss = batch_loss(model, args, images, tokens, diffusion, process, g)
            step = optimizer_step(loss, model, optimizer, ema, step, args.grad_clip)
            losses.append(loss.item())
            if step % args.eval_every == 0 or step == args.steps:
                ema.module.eval()
                scores = evaluate(ema.module, tokenizer, eval_images, references, args)
                row = {"step": step, "loss": sum(losses) / len(losses), **scores}
                row["seconds"] = round(time.perf_counter() - start, 1)
                if isinstance(data, CaptionFolder):
                    row["skipped_unreadable"], row["skipped_missing"] = data.unreadable, data.missing
                losses = []
                with open(metrics_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
            if step >= args.steps:
                break
    result = {**scores, "eval_steps": args.eval_steps, "train_seconds": round(time.perf_counter() - start, 1)}
    ema.module.save_pretrained(out / "final", extra={"train_args": vars(args), "result": result})
    save_tokenizer(tokenizer, out / "final")
    atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main(parse_with_config(get_parser()))
